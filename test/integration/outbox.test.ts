import { createHash, randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '@leadflow/aws';
import type { CaptureEvent } from '@leadflow/core';
import type { DynamoDBRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let captureOf: (record: DynamoDBRecord) => CaptureEvent | undefined;

beforeAll(async () => {
  system = await startTestSystem();
  // The handler reads its settings at import; the system has set them.
  ({ captureOf } = await import('../../functions/outbox/handler'));
});

afterAll(async () => {
  await system?.stop();
});

function capture(contact: CaptureEvent['contact']): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'sales',
    receivedAt: new Date().toISOString(),
    language: 'en',
    contact,
    consent: true,
    urgent: false,
    answers: {},
    source: { utm: {} },
  };
}

async function leadsOf(emailKey: string) {
  const items = await system.items();
  const identity = items.find((item) => item.pk === `IDENT#email:${emailKey}`);
  if (!identity) return [];
  return items.filter(
    (item) => item.pk === `CONTACT#${identity.contactId as string}` && String(item.sk).startsWith('LEAD#'),
  );
}

const alertsFor = async (name: string) =>
  (await system.emails()).filter((e) => e.subject === `New lead: ${name} via web form`);

describe('outbox (table stream to the leads queue)', () => {
  it('routes a stored submission whose queue send never happened', async () => {
    const lead = person('outbox');
    const stored = capture({ name: lead.name, email: lead.emailKey, emailKey: lead.emailKey });
    const hash = createHash('sha256').update(randomUUID()).digest('hex');
    // What ingest leaves behind when the store succeeded and the SQS send failed.
    await system.doc.send(
      new PutCommand({
        TableName: system.tableName,
        Item: {
          ...keys.submission(hash),
          type: 'submission',
          submissionId: stored.submissionId,
          requestHash: 'r',
          channel: stored.channel,
          sourceId: stored.sourceId,
          capture: stored,
          windowEndsAt: Math.floor(Date.now() / 1000) + 60,
        },
      }),
    );

    const leads = await eventually(async () => {
      const found = await leadsOf(lead.emailKey);
      expect(found).toHaveLength(1);
      return found;
    }, 15_000);
    expect(leads[0]?.leadId).toBe(stored.submissionId);
    await eventually(async () => expect(await alertsFor(lead.name)).toHaveLength(1), 15_000);
  });

  it('still gives a normal form post exactly one lead and one alert', async () => {
    const lead = person('once');
    const response = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: lead.name, email: lead.email, consent: true }),
    });
    expect(response.status).toBe(202);
    await eventually(async () => expect(await alertsFor(lead.name)).toHaveLength(1), 15_000);
    await eventually(async () => expect(await leadsOf(lead.emailKey)).toHaveLength(1), 15_000);
    // Give the stream copy time to arrive and be dropped.
    await new Promise((done) => setTimeout(done, 2_000));
    expect(await alertsFor(lead.name)).toHaveLength(1);
    expect(await leadsOf(lead.emailKey)).toHaveLength(1);
    expect(await system.depth(system.queues.leads.url)).toBe(0);
  });

  it('takes only inserted or modified submissions, and rejects one without a valid capture', () => {
    const record = (
      eventName: DynamoDBRecord['eventName'],
      pk: string,
      image?: NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
    ): DynamoDBRecord => ({
      eventName,
      dynamodb: { Keys: { pk: { S: pk }, sk: { S: 'SUB' } }, ...(image ? { NewImage: image } : {}) },
    });
    const valid = capture({ name: 'Unit', email: 'unit@example.com' });
    const image = { pk: { S: 'SUB#x' }, capture: { S: 'placeholder' } };
    expect(captureOf(record('REMOVE', 'SUB#x', image))).toBeUndefined();
    expect(captureOf(record('INSERT', 'CONTACT#x', image))).toBeUndefined();
    expect(() => captureOf(record('INSERT', 'SUB#x', image))).toThrow();
    expect(() => captureOf(record('MODIFY', 'SUB#x'))).toThrow(/NewImage/);
    const marshalled = {
      pk: { S: 'SUB#x' },
      capture: {
        M: {
          version: { N: '1' },
          submissionId: { S: valid.submissionId },
          channel: { S: 'web_form' },
          sourceId: { S: 'demo-contact' },
          teamId: { S: 'sales' },
          receivedAt: { S: valid.receivedAt },
          language: { S: 'en' },
          contact: { M: { name: { S: 'Unit' }, email: { S: 'unit@example.com' } } },
          consent: { BOOL: true },
          urgent: { BOOL: false },
          answers: { M: {} },
          source: { M: { utm: { M: {} } } },
        },
      },
    };
    expect(captureOf(record('INSERT', 'SUB#x', marshalled))?.submissionId).toBe(valid.submissionId);
    expect(captureOf(record('MODIFY', 'SUB#x', marshalled))?.submissionId).toBe(valid.submissionId);
  });
});
