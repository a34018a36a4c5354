import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  fireFollowUpTimer,
  recordSesEvent,
  routeCapture,
  SuppressionList,
  suppressionItem,
  type TimerDeps,
  type TimerScheduler,
  unsubscribeContact,
} from '@leadflow/aws';
import {
  type CaptureEvent,
  type Notification,
  sesEventSchema,
  type TimerOf,
  type TimerRequest,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context';
import { loadEvent } from '../support/events';
import { person, startTestSystem, type TestSystem } from '../support/system';
import { demoConfig } from '../unit/support';

// Follow-ups, unsubscribes and SES events on DynamoDB Local: what a step reads and writes, that a duplicate
// timer does nothing, that a reply on another channel ends the sequence, and that a bounce is applied once.
let system: TestSystem;
const config = demoConfig();

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const T0 = Date.parse('2026-03-10T01:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

function recorder() {
  const scheduled: TimerRequest[] = [];
  const scheduler: TimerScheduler = {
    timeScale: 1,
    async schedule(timers) {
      scheduled.push(...timers);
    },
  };
  return { scheduled, scheduler };
}

function formCapture(
  p: ReturnType<typeof person>,
  minutes: number,
  channel: 'web_form' | 'chat' = 'web_form',
) {
  return {
    version: 1,
    submissionId: ulid(),
    channel,
    sourceId: channel === 'web_form' ? 'demo-contact' : 'site-chat',
    teamId: 'sales',
    receivedAt: at(minutes).toISOString(),
    language: 'en',
    contact: { name: p.name, email: p.email, emailKey: p.emailKey },
    consent: channel === 'web_form',
    urgent: false,
    answers: {},
    source: { utm: {} },
    ...(channel === 'chat' ? { conversationId: `chat:${ulid()}`, message: 'Any news?' } : {}),
  } as CaptureEvent;
}

async function route(capture: CaptureEvent) {
  const timers = recorder();
  const routed = await routeCapture(
    {
      doc: system.doc,
      tableName: system.tableName,
      config,
      newId: ulid,
      enqueueNotifications: async () => {},
      clock: () => new Date(capture.receivedAt),
      timers: timers.scheduler,
    },
    capture,
  );
  const followUp = timers.scheduled.find((timer) => timer.kind === 'followup') as
    | (TimerOf<'followup'> & TimerRequest)
    | undefined;
  return { ...routed, followUp: followUp && ({ ...followUp, hops: 0 } as TimerOf<'followup'>) };
}

async function fire(timer: TimerOf<'followup'>, now: Date) {
  const sent: Notification[] = [];
  const timers = recorder();
  const deps: TimerDeps = {
    doc: system.doc,
    tableName: system.tableName,
    config: async () => config,
    enqueueNotifications: async (notifications) => {
      sent.push(...notifications);
    },
    timers: timers.scheduler,
    clock: () => now,
  };
  const outcome = await fireFollowUpTimer(deps, timer);
  const next = timers.scheduled.find((t) => t.kind === 'followup');
  return { outcome, sent, next: next && ({ ...next, hops: 0 } as TimerOf<'followup'>) };
}

async function events(contactId: string) {
  const { Items } = await system.doc.send(
    new QueryCommand({
      TableName: system.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
      ExpressionAttributeValues: { ':pk': `CONTACT#${contactId}`, ':tl': 'TL#' },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).filter((item) => typeof item.event === 'string');
}

describe('a follow-up step', () => {
  it('is scheduled for a form lead with consent, sends once, and schedules the next', async () => {
    const lead = await route(formCapture(person('fu'), 0));
    expect(lead.followUp).toMatchObject({
      kind: 'followup',
      leadId: lead.leadId,
      contactId: lead.contactId,
      sequenceId: 'web-form-consent',
      step: 0,
      dueAt: at(24 * 60).toISOString(),
    });
    const timer = lead.followUp as TimerOf<'followup'>;
    const first = await fire(timer, at(24 * 60));
    expect(first.outcome).toMatchObject({ acted: 'followup_sent' });
    expect(first.sent).toMatchObject([
      {
        kind: 'followup',
        notificationId: `${lead.leadId}:followup:web-form-consent:0`,
        template: 'followup-not-contacted',
        assignment: { ownerId: lead.assignment.ownerId },
      },
    ]);
    expect(first.next).toMatchObject({ step: 1, dueAt: at(3 * 24 * 60).toISOString() });

    // A duplicate of the same timer (SQS may deliver twice): recorded already, it does nothing at all.
    const again = await fire(timer, at(24 * 60 + 1));
    expect(again).toMatchObject({ outcome: { skipped: 'superseded' }, sent: [], next: undefined });
    expect((await events(lead.contactId)).filter((item) => item.event === 'followup_sent')).toHaveLength(1);
  });

  it('ends the sequence when the person writes again on another channel', async () => {
    const p = person('reply');
    const lead = await route(formCapture(p, 0));
    // A chat message from them an hour later (the same email: the same contact).
    const reply = await route(formCapture(p, 60, 'chat'));
    expect(reply.contactId).toBe(lead.contactId);
    const step = await fire(lead.followUp as TimerOf<'followup'>, at(24 * 60));
    expect(step).toMatchObject({
      outcome: { acted: 'followup_skipped', detail: { reason: 'replied' } },
      sent: [],
    });
    expect(step.next).toBeUndefined();
    expect(await events(lead.contactId)).toContainEqual(
      expect.objectContaining({ event: 'followup_skipped', reason: 'replied', stopped: true, step: 0 }),
    );
  });

  it('ends the sequence at once after an unsubscribe, which a second click does not change', async () => {
    const lead = await route(formCapture(person('unsub'), 0));
    const clock = () => at(30);
    const first = await unsubscribeContact(
      { doc: system.doc, tableName: system.tableName, clock },
      lead.contactId,
      'one_click',
    );
    expect(first).toEqual({ outcome: 'unsubscribed', contactId: lead.contactId, at: at(30).toISOString() });
    const second = await unsubscribeContact(
      { doc: system.doc, tableName: system.tableName, clock: () => at(40) },
      lead.contactId,
      'page',
    );
    expect(second).toEqual({ outcome: 'already', contactId: lead.contactId, at: at(30).toISOString() });
    expect((await events(lead.contactId)).filter((item) => item.event === 'unsubscribed')).toHaveLength(1);
    const step = await fire(lead.followUp as TimerOf<'followup'>, at(24 * 60));
    expect(step).toMatchObject({
      outcome: { detail: { reason: 'unsubscribed' } },
      sent: [],
      next: undefined,
    });
    expect(
      await unsubscribeContact(
        { doc: system.doc, tableName: system.tableName, clock },
        'no-such-contact',
        'page',
      ),
    ).toEqual({ outcome: 'gone' });
  });
});

describe('SES bounce and complaint events', () => {
  type SnsEvent = { Records: { Sns: { Message: string } }[] };
  /** A sample from events/ses, addressed to `address`. */
  function sample(file: string, address: string) {
    const event = loadEvent<SnsEvent>(`ses/${file}.json`);
    const text = (event.Records[0]?.Sns.Message ?? '').replaceAll('kim.minsu@example.org', address);
    return sesEventSchema.parse(JSON.parse(text));
  }
  const deps = () => ({ doc: system.doc, tableName: system.tableName, clock: () => at(0) });

  it('a permanent bounce suppresses the address, marks the contact and ends its sequence, once', async () => {
    const p = person('bounce');
    const lead = await route(formCapture(p, 0));
    const outcomes = await recordSesEvent(deps(), sample('bounce-permanent', p.emailKey));
    expect(outcomes).toEqual([
      { event: 'email_bounced', suppressed: true, contactId: lead.contactId, recorded: true },
    ]);
    // SNS delivers it again: nothing new.
    const again = await recordSesEvent(deps(), sample('bounce-permanent', p.emailKey));
    expect(again).toEqual([
      { event: 'email_bounced', suppressed: true, contactId: lead.contactId, recorded: false },
    ]);

    const suppression = new SuppressionList(system.doc, system.tableName);
    // Any spelling of the address is the same entry; the key holds no address.
    expect(await suppression.isSuppressed(p.email.toUpperCase())).toBe(true);
    const key = suppressionItem.key(p.emailKey);
    expect(key.pk).toMatch(/^SUPPRESS#[0-9a-f]{64}$/);
    const { Item } = await system.doc.send(new GetCommand({ TableName: system.tableName, Key: key }));
    expect(JSON.stringify(Item)).not.toContain(p.emailKey.split('@')[0]);
    expect(Item).toMatchObject({ reason: 'bounce', events: 2 });

    const { Item: profile } = await system.doc.send(
      new GetCommand({
        TableName: system.tableName,
        Key: { pk: `CONTACT#${lead.contactId}`, sk: 'PROFILE' },
      }),
    );
    expect(profile?.undeliverableAddresses).toEqual(new Set([p.emailKey]));
    expect((await events(lead.contactId)).filter((item) => item.event === 'email_bounced')).toHaveLength(1);

    const step = await fire(lead.followUp as TimerOf<'followup'>, at(24 * 60));
    expect(step).toMatchObject({
      outcome: { detail: { reason: 'undeliverable' } },
      sent: [],
      next: undefined,
    });
  });

  it('reach the sesEvents Lambda entry point as SNS delivers them (the samples in events/ses)', async () => {
    const p = person('entry');
    const lead = await route(formCapture(p, 0));
    // The handler reads its settings at import, like a cold start: the test system has set them.
    const { handler } = await import('../../functions/ses-events/handler');
    const event = loadEvent<SnsEvent>('ses/complaint.json');
    const record = event.Records[0] as { Sns: { Message: string } };
    record.Sns.Message = record.Sns.Message.replaceAll('kim.minsu@example.org', p.emailKey);
    const result = await handler(event, lambdaContext('sesEvents', 30, 256));
    expect(result).toEqual({
      outcomes: [{ event: 'email_complained', suppressed: true, contactId: lead.contactId, recorded: true }],
    });
    await expect(handler({ Records: [] }, lambdaContext('sesEvents', 30, 256))).rejects.toThrow();
  });

  it('a transient bounce is recorded only; a complaint suppresses like a permanent bounce', async () => {
    const p = person('transient');
    const lead = await route(formCapture(p, 0));
    expect(await recordSesEvent(deps(), sample('bounce-transient', p.emailKey))).toEqual([
      { event: 'email_bounced_transient', suppressed: false, contactId: lead.contactId, recorded: true },
    ]);
    const suppression = new SuppressionList(system.doc, system.tableName);
    expect(await suppression.isSuppressed(p.emailKey)).toBe(false);
    const step = await fire(lead.followUp as TimerOf<'followup'>, at(24 * 60));
    expect(step.outcome).toMatchObject({ acted: 'followup_sent' });

    expect(await recordSesEvent(deps(), sample('complaint', p.emailKey))).toMatchObject([
      { event: 'email_complained', suppressed: true, contactId: lead.contactId },
    ]);
    expect(await suppression.find(p.emailKey)).toMatchObject({ reason: 'complaint' });
    const next = await fire(step.next as TimerOf<'followup'>, at(3 * 24 * 60));
    expect(next).toMatchObject({ outcome: { detail: { reason: 'undeliverable' } }, sent: [] });
  });
});
