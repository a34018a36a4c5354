import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  AcknowledgementLedger,
  hygieneItem,
  notifierIdempotency,
  privacyItem,
  privacyKeys,
  SubmissionStore,
} from '@leadflow/aws';
import { describe, expect, it } from 'vitest';
import { captureFixture } from './support';

// Erasure computes the keys of items other code writes: each is checked here against the writer itself.

/** A document client that records what it is sent and answers as an empty success. */
function recordingDoc() {
  const sent: { name: string; input: Record<string, unknown> }[] = [];
  const doc = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ name: command.constructor.name, input: command.input });
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc, sent };
}

describe('the keys erasure computes', () => {
  it('finds the notifier’s Powertools record of a notification id', async () => {
    const written: Record<string, { S?: string }>[] = [];
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    client.middlewareStack.add(
      () => async (args) => {
        const input = args.input as { Item?: Record<string, { S?: string }> };
        if (input.Item) written.push(input.Item);
        return { output: { $metadata: {} }, response: {} };
      },
      { step: 'initialize' },
    );
    // As functions/notifier/handler.ts configures it (without a Lambda context, Powertools warns once).
    const config = new IdempotencyConfig({ eventKeyJmesPath: 'notificationId' });
    config.registerLambdaContext({ getRemainingTimeInMillis: () => 30_000 } as Parameters<
      IdempotencyConfig['registerLambdaContext']
    >[0]);
    const send = makeIdempotent(async (_: { notificationId: string }) => ({ messageId: 'm' }), {
      persistenceStore: new DynamoDBPersistenceLayer({
        tableName: 'leadflow',
        keyAttr: 'pk',
        sortKeyAttr: 'sk',
        staticPkValue: notifierIdempotency.staticPkValue,
        expiryAttr: 'ttl',
        awsSdkV3Client: client,
      }),
      config,
      keyPrefix: notifierIdempotency.keyPrefix,
    });
    await send({ notificationId: '01JD000000000000000000000A:manager_alert' });
    const key = privacyKeys.notifyRecord('01JD000000000000000000000A:manager_alert');
    expect(written[0]?.pk?.S).toBe(key.pk);
    expect(written[0]?.sk?.S).toBe(key.sk);
    client.destroy();
  });

  it('finds the acknowledgement ledger’s item of an address, however it was folded', async () => {
    const { doc, sent } = recordingDoc();
    await new AcknowledgementLedger(doc, 'leadflow').reserve({
      address: 'Jiwoo.Lee+quote@Example.COM',
      formId: 'demo-contact',
      domainHourlyCap: 30,
      notificationId: 'n1',
    });
    const items = (sent[0]?.input.TransactItems as { Put?: { Item: { pk: string; sk: string } } }[]) ?? [];
    const reserved = items.find((item) => item.Put)?.Put?.Item;
    expect(privacyKeys.ackMailbox('jiwoo.lee@example.com')).toEqual({ pk: reserved?.pk, sk: reserved?.sk });
  });

  it('links a stored submission to its capture and gives it the retention, at least its window', async () => {
    const { doc, sent } = recordingDoc();
    const now = new Date('2026-03-02T10:00:00.000Z');
    const seconds = now.getTime() / 1000;
    const capture = captureFixture();
    const store = new SubmissionStore(doc, 'leadflow', { retentionDays: 2 });
    await store.store({ idempotencyHash: 'h1', requestHash: 'r', windowSeconds: 600, capture }, now);
    await store.store({ idempotencyHash: 'h2', requestHash: 'r', windowSeconds: 7 * 86_400, capture }, now);
    const [short, long] = sent.map((call) => call.input.Item as Record<string, unknown>);
    expect(short).toMatchObject({
      ...privacyKeys.submissionRef(capture.submissionId),
      windowEndsAt: seconds + 600,
      ttl: seconds + 2 * 86_400,
    });
    expect(long).toMatchObject({ windowEndsAt: seconds + 7 * 86_400, ttl: seconds + 7 * 86_400 });
    await new SubmissionStore(doc, 'leadflow').store(
      { idempotencyHash: 'h3', requestHash: 'r', windowSeconds: 600, capture },
      now,
    );
    expect(sent[2]?.input.Item).toMatchObject({ ttl: seconds + 30 * 86_400 });
  });
});

describe('the scrub and hygiene writes', () => {
  it('sets and removes attributes by escaped name, only on an item that still exists', () => {
    expect(
      privacyItem.scrub(
        { pk: 'CONTACT#c1', sk: 'PROFILE', name: 'x' },
        { set: { erasedAt: 't' }, remove: ['name', 'emails'] },
      ),
    ).toEqual({
      Key: { pk: 'CONTACT#c1', sk: 'PROFILE' },
      UpdateExpression: 'SET #s0 = :s0 REMOVE #r0, #r1',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#s0': 'erasedAt', '#r0': 'name', '#r1': 'emails' },
      ExpressionAttributeValues: { ':s0': 't' },
    });
    expect(privacyItem.scrub({ pk: 'p', sk: 's' }, { set: {}, remove: ['name'] })).not.toHaveProperty(
      'ExpressionAttributeValues',
    );
    expect(() => privacyItem.scrub({ pk: 'p', sk: 's' }, { set: {}, remove: [] })).toThrow();
  });

  it('lists an undeliverable contact under its problem, never an erased or merged one', () => {
    const update = hygieneItem.undeliverable('c1', {
      address: 'a@example.com',
      reason: 'hard_bounce',
      at: 'T',
    });
    expect(update.ExpressionAttributeValues).toMatchObject({ ':pk': 'HYGIENE#undeliverable', ':sk': 'T#c1' });
    expect(update.ConditionExpression).toContain('attribute_not_exists(erasedAt)');
    expect(update.ConditionExpression).toContain('attribute_not_exists(mergedInto)');
    expect(hygieneItem.stale('sales', 'C')).toEqual({
      KeyConditionExpression: 'gsi4pk = :pk AND gsi4sk < :cutoff',
      ExpressionAttributeValues: { ':pk': 'OPEN#sales', ':cutoff': 'C' },
    });
  });
});
