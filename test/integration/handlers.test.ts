import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context';
import { loadEvent } from '../support/events';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

// The Lambda entry points themselves, fed the real-shaped samples in events/, with the emulators behind them.
let system: TestSystem;
type Handler<E, R> = (event: E, context: Context) => Promise<R>;
let ingest: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
let router: Handler<SQSEvent, SQSBatchResponse>;
let notifier: Handler<SQSEvent, SQSBatchResponse>;

beforeAll(async () => {
  system = await startTestSystem();
  ingest = (await import('../../functions/ingest/handler')).handler as unknown as typeof ingest;
  router = (await import('../../functions/router/handler')).handler as unknown as typeof router;
  notifier = (await import('../../functions/notifier/handler')).handler as unknown as typeof notifier;
});

afterAll(async () => {
  await system?.stop();
});

const context = (name: string) => lambdaContext(name, 10, 512);

describe('ingest handler with API Gateway HTTP API (payload 2.0) events', () => {
  it('accepts a JSON form post with 202 and a quotable id', async () => {
    const result = await ingest(loadEvent('http/form-json.json'), context('ingest'));
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      status: 'accepted',
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
    });
    expect(result.headers?.['access-control-allow-origin']).toBe('https://www.example.com');
  });

  it('decodes a base64 urlencoded browser post and redirects with 303', async () => {
    const result = await ingest(loadEvent('http/form-urlencoded.json'), context('ingest'));
    expect(result.statusCode).toBe(303);
    expect(result.headers?.location).toBe('https://www.example.com/thank-you');
    await system.waitForEmails((emails) =>
      emails.some((e) => e.destination.to.some((to) => to.includes('somchai@example.co.th'))),
    );
  });

  it('answers the CORS preflight', async () => {
    const result = await ingest(loadEvent('http/form-preflight.json'), context('ingest'));
    expect(result.statusCode).toBe(204);
    expect(result.headers?.['access-control-allow-methods']).toContain('POST');
    expect(result.headers?.['access-control-allow-headers']).toMatch(/idempotency-key/i);
  });

  it('rejects an unsupported content type with 415 and a JSON body', async () => {
    const result = await ingest(loadEvent('http/form-unsupported-type.json'), context('ingest'));
    expect(result.statusCode).toBe(415);
    expect(JSON.parse(result.body ?? '{}').error).toBe('unsupported_media_type');
  });
});

describe('router and notifier handlers with SQS events', () => {
  it('routes a queued capture, reports no failure, and the notifier sends each email once', async () => {
    const leads = loadEvent<SQSEvent>('sqs/leads-capture.json');
    const submissionId = ulid();
    const record = leads.Records[0];
    if (!record) throw new Error('sample has no record');
    const body = JSON.parse(record.body);
    body.submissionId = submissionId;
    body.contact = {
      name: 'Sample Person',
      email: `sample.${submissionId}@example.com`,
      emailKey: `sample.${submissionId}@example.com`.toLowerCase(),
    };
    record.body = JSON.stringify(body);
    expect(await router(leads, context('router'))).toEqual({ batchItemFailures: [] });
    await eventually(async () => {
      const items = await system.items();
      expect(items.some((item) => item.type === 'lead' && item.leadId === submissionId)).toBe(true);
    });

    const notifications = loadEvent<SQSEvent>('sqs/notifications.json');
    for (const r of notifications.Records) {
      const n = JSON.parse(r.body);
      n.notificationId = `${ulid()}:${n.kind}`;
      n.capture.contact.email = `notify.${submissionId}@example.com`;
      r.body = JSON.stringify(n);
    }
    const count = async () =>
      (await system.emails()).filter(
        (e) =>
          e.destination.to.some((to) => to.includes(`notify.${submissionId}`)) ||
          e.replyTo.some((to) => to.includes(`notify.${submissionId}`)),
      ).length;
    expect(await notifier(notifications, context('notifier'))).toEqual({ batchItemFailures: [] });
    expect(await count()).toBe(2);
    // The same delivery again: idempotent sends, nothing new.
    expect(await notifier(notifications, context('notifier'))).toEqual({ batchItemFailures: [] });
    expect(await count()).toBe(2);
  });

  it('reports only the malformed record as failed, and throws when the whole batch fails', async () => {
    const leads = loadEvent<SQSEvent>('sqs/leads-capture.json');
    const good = leads.Records[0];
    if (!good) throw new Error('sample has no record');
    const id = ulid();
    const body = JSON.parse(good.body);
    body.submissionId = id;
    body.contact = {
      email: `partial.${id}@example.com`,
      emailKey: `partial.${id}@example.com`.toLowerCase(),
    };
    good.body = JSON.stringify(body);
    const bad = structuredClone(good);
    bad.messageId = 'bad-record';
    bad.attributes.MessageGroupId = 'another-person';
    bad.body = '{"version":1,"channel":"web_form"}';
    leads.Records.push(bad);
    expect(await router(leads, context('router'))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'bad-record' }],
    });

    // Lambda retries a thrown batch whole, so nothing is deleted: what the processor does when all fail.
    await expect(router({ Records: [bad] }, context('router'))).rejects.toThrow(/All records failed/);
  });
});
