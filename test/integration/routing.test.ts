import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getTimeline, nextCursor, resolveContact, routeCapture, SubmissionStore } from '@leadflow/aws';
import {
  type CaptureEvent,
  type ContactDetails,
  IdempotencyKeyReuseError,
  identityKeys,
  LeadflowConfig,
  type Notification,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeNotification } from '../../functions/notifier/compose';
import { person, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const config = new LeadflowConfig({
  forms: [],
  teams: [
    {
      id: 'trio',
      name: 'Trio',
      strategy: 'round_robin',
      managers: [
        { id: 'm1', name: 'M One', email: 'm1@example.com' },
        { id: 'm2', name: 'M Two', email: 'm2@example.com' },
        { id: 'm3', name: 'M Three', email: 'm3@example.com' },
      ],
    },
  ],
});

function capture(contact: CaptureEvent['contact'], overrides: Partial<CaptureEvent> = {}): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'trio',
    receivedAt: new Date().toISOString(),
    language: 'en',
    contact,
    consent: true,
    urgent: false,
    answers: {},
    source: { utm: {} },
    ...overrides,
  };
}

function resolve(details: ContactDetails) {
  return resolveContact(system.doc, system.tableName, identityKeys(details), details, {
    newContactId: ulid,
    now: new Date().toISOString(),
  });
}

function deps(sent: Notification[] = []) {
  return {
    doc: system.doc,
    tableName: system.tableName,
    config,
    newId: ulid,
    enqueueNotifications: async (notifications: readonly Notification[]) => {
      sent.push(...notifications);
    },
  };
}

describe('contact resolution on DynamoDB Local', () => {
  it('creates exactly one contact when ten captures of one new person race', async () => {
    const p = person('race');
    const contact = { emailKey: p.emailKey, email: p.email, phone: p.e164 };
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        resolveContact(system.doc, system.tableName, identityKeys(contact), contact, {
          newContactId: ulid,
          now: new Date().toISOString(),
        }),
      ),
    );
    expect(new Set(results.map((r) => r.contactId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const items = await system.items();
    const identities = items.filter(
      (i) => i.pk === `IDENT#email:${p.emailKey}` || i.pk === `IDENT#phone:${p.e164}`,
    );
    expect(identities.map((i) => i.contactId)).toEqual([results[0]?.contactId, results[0]?.contactId]);
    expect(
      items.filter((i) => i.type === 'contact' && (i.identities as Set<string>).has(`email:${p.emailKey}`)),
    ).toHaveLength(1);
  });

  it('joins a phone-only contact when the same phone later comes with an email', async () => {
    const p = person('join');
    const byPhone = await resolve({ phone: p.e164 });
    const withEmail = await resolve({ phone: p.e164, email: p.email, emailKey: p.emailKey });
    expect(withEmail.contactId).toBe(byPhone.contactId);
    expect(withEmail.created).toBe(false);
    const byEmail = await resolve({ emailKey: p.emailKey });
    expect(byEmail.contactId).toBe(byPhone.contactId);
  });
});

describe('round-robin cursor', () => {
  it('hands out every position exactly once under concurrency', async () => {
    const team = `team-${randomUUID().slice(0, 8)}`;
    const positions = await Promise.all(
      Array.from({ length: 25 }, () => nextCursor(system.doc, system.tableName, team)),
    );
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });
});

describe('routeCapture', () => {
  it('is idempotent: a repeated capture finds its lead and re-queues the same notification ids', async () => {
    const p = person('route');
    const event = capture({ name: p.name, email: p.email, emailKey: p.emailKey });
    const sent: Notification[] = [];
    const first = await routeCapture(deps(sent), event);
    const second = await routeCapture(deps(sent), event);
    expect(first.createdNow).toBe(true);
    expect(second.createdNow).toBe(false);
    expect(second.assignment).toEqual(first.assignment);
    expect(sent.map((n) => n.notificationId)).toEqual([
      `${event.submissionId}:manager_alert`,
      `${event.submissionId}:acknowledgement`,
      `${event.submissionId}:manager_alert`,
      `${event.submissionId}:acknowledgement`,
    ]);
    const own = (await system.items()).filter((i) => i.pk === `CONTACT#${first.contactId}`);
    expect(own.filter((i) => i.type === 'lead')).toHaveLength(1);
    expect(own.filter((i) => i.type === 'interaction')).toHaveLength(1);
    expect(own.find((i) => i.type === 'contact')?.leadCount).toBe(1);
  });

  it('spreads concurrent new contacts over every manager and keeps returning ones sticky', async () => {
    const people = Array.from({ length: 6 }, (_, i) => person(`spread${i}`));
    const routed = await Promise.all(
      people.map((p) => routeCapture(deps(), capture({ email: p.email, emailKey: p.emailKey }))),
    );
    const counts = new Map<string, number>();
    for (const r of routed)
      counts.set(String(r.assignment.ownerId), (counts.get(String(r.assignment.ownerId)) ?? 0) + 1);
    expect([...counts.values()]).toEqual([2, 2, 2]);
    const cursors = routed.map((r) => r.assignment.cursor);
    expect(new Set(cursors).size).toBe(6);

    const back = people[0] as (typeof people)[number];
    const again = await routeCapture(
      deps(),
      capture({ email: back.email.toUpperCase(), emailKey: back.emailKey }),
    );
    expect(again.assignment.strategy).toBe('sticky_owner');
    expect(again.assignment.ownerId).toBe(routed[0]?.assignment.ownerId);
  });

  it('does not acknowledge a lead without consent or without an email', async () => {
    const p = person('noack');
    const sent: Notification[] = [];
    await routeCapture(deps(sent), capture({ email: p.email, emailKey: p.emailKey }, { consent: false }));
    await routeCapture(deps(sent), capture({ phone: p.e164 }));
    expect(sent.map((n) => n.kind)).toEqual(['manager_alert', 'manager_alert']);
  });
});

describe('SubmissionStore', () => {
  it('stores once per idempotency hash and refuses a reused key with another body', async () => {
    const store = new SubmissionStore(system.doc, system.tableName);
    const p = person('store');
    const hash = randomUUID();
    const first = capture({ email: p.email, emailKey: p.emailKey });
    const stored = await store.store({
      idempotencyHash: hash,
      requestHash: 'r1',
      windowSeconds: 60,
      capture: first,
    });
    expect(stored.replay).toBe(false);
    const retry = await store.store({
      idempotencyHash: hash,
      requestHash: 'r1',
      windowSeconds: 60,
      capture: { ...first, submissionId: ulid() },
    });
    expect(retry).toEqual({ replay: true, capture: first });
    await expect(
      store.store({ idempotencyHash: hash, requestHash: 'r2', windowSeconds: 60, capture: first }),
    ).rejects.toBeInstanceOf(IdempotencyKeyReuseError);
  });

  it('accepts the same content again once its window has passed', async () => {
    const store = new SubmissionStore(system.doc, system.tableName);
    const p = person('window');
    const hash = randomUUID();
    const first = capture({ email: p.email, emailKey: p.emailKey });
    await store.store(
      { idempotencyHash: hash, requestHash: 'same', windowSeconds: 1, capture: first },
      new Date(Date.now() - 5000),
    );
    const later = { ...first, submissionId: ulid() };
    const stored = await store.store({
      idempotencyHash: hash,
      requestHash: 'same',
      windowSeconds: 1,
      capture: later,
    });
    expect(stored).toEqual({ replay: false, capture: later });
  });
});

describe('one customer across channels', () => {
  async function contactItems(contactId: string) {
    return (await system.items()).filter((i) => i.pk === `CONTACT#${contactId}`);
  }

  // One capture proves it only with verified evidence: a Telegram user shares as their own the number
  // that texted before. (A form carrying both identities proved it before provenance; it no longer does.)
  it('merges two contacts that one capture proves to be the same person, keeping the owner and timeline', async () => {
    const p = person('merge');
    const sms = await routeCapture(
      deps(),
      capture(
        { phone: p.e164 },
        {
          channel: 'sms',
          sourceId: '+15550001111',
          message: 'hi',
          conversationId: `sms:${p.e164}`,
          verified: [`phone:${p.e164}`],
        },
      ),
    );
    const telegramId = String(Date.now() + Math.floor(Math.random() * 1e6));
    const telegram = (contact: CaptureEvent['contact'], message: string) =>
      capture(contact, {
        channel: 'telegram',
        sourceId: 'bot',
        handles: { telegram: telegramId },
        verified: [`telegram:${telegramId}`, ...(contact.phone ? [`phone:${contact.phone}`] : [])],
        conversationId: `telegram:${telegramId}`,
        message,
        consent: false,
      });
    const chat = await routeCapture(deps(), telegram({ name: p.name }, 'hello'));
    expect(chat.contactId).not.toBe(sms.contactId);

    const both = await routeCapture(deps(), telegram({ name: p.name, phone: p.e164 }, '[contact]'));
    expect(both.merged?.mergedIds).toEqual([chat.contactId]);
    const survivor = both.contactId;
    // The older contact with an owner survives: here the SMS contact, created first.
    expect(survivor).toBe(sms.contactId);
    expect(both.assignment).toMatchObject({ strategy: 'sticky_owner', ownerId: sms.assignment.ownerId });

    const items = await system.items();
    expect(items.find((i) => i.pk === `IDENT#telegram:${telegramId}`)?.contactId).toBe(survivor);
    expect(items.find((i) => i.pk === `IDENT#phone:${p.e164}`)?.contactId).toBe(survivor);
    const loser = items.find((i) => i.pk === `CONTACT#${chat.contactId}` && i.sk === 'PROFILE');
    expect(loser?.mergedInto).toBe(survivor);
    expect(items.filter((i) => i.pk === `CONTACT#${chat.contactId}` && i.sk !== 'PROFILE')).toHaveLength(0);

    const own = await contactItems(survivor);
    const timeline = own.filter((i) => String(i.sk).startsWith('TL#'));
    expect(timeline.filter((i) => i.channel !== 'system')).toHaveLength(3);
    expect(timeline.filter((i) => i.channel === 'system')).toHaveLength(1);
    expect(
      own.filter((i) => i.type === 'lead').every((lead) => lead.ownerId === sms.assignment.ownerId),
    ).toBe(true);
    const profile = own.find((i) => i.sk === 'PROFILE');
    expect(profile?.identities).toEqual(new Set([`telegram:${telegramId}`, `phone:${p.e164}`]));
    expect(profile?.verifiedIdentities).toEqual(new Set([`telegram:${telegramId}`, `phone:${p.e164}`]));

    // The next capture by either identity goes straight to the survivor.
    const later = await routeCapture(deps(), telegram({}, 'still there?'));
    expect(later.contactId).toBe(survivor);
    expect(later.merged).toBeUndefined();
  });

  it('queues a lead nobody can take, acknowledges it in the team lead’s name, and adds later messages to it', async () => {
    const away = new LeadflowConfig({
      ...config.raw,
      teams: [
        {
          id: 'trio',
          name: 'Trio',
          teamLead: 'm1',
          managers: ['m1', 'm2', 'm3'].map((id) => ({
            id,
            name: id,
            email: `${id}@example.com`,
            outOfOfficeUntil: '2099-01-01T00:00:00Z',
          })),
        },
      ],
    });
    const p = person('queued');
    const sent: Notification[] = [];
    const chat = (minutes: number, text: string) =>
      capture(
        { email: p.email, emailKey: p.emailKey },
        {
          channel: 'chat',
          sourceId: 'site-chat',
          conversationId: `chat:site-chat:${p.emailKey}`,
          message: text,
          receivedAt: new Date(Date.parse('2026-11-20T09:00:00.000Z') + minutes * 60_000).toISOString(),
        },
      );
    const first = await routeCapture({ ...deps(sent), config: away }, chat(0, 'hello'));
    expect(first.assignment).toMatchObject({ strategy: 'queue', teamId: 'trio' });
    expect(first.assignment.ownerId).toBeUndefined();
    expect(sent.map((n) => n.kind)).toEqual(['team_warning', 'acknowledgement']);
    // The acknowledgement can be written: it names the team lead, who was warned.
    const ack = sent.find((n) => n.kind === 'acknowledgement');
    if (!ack) throw new Error('no acknowledgement');
    const email = composeNotification(ack, {
      config: away,
      settings: { sesFromAddress: 'leads@example.com', leadLinkBaseUrl: 'https://crm.example.com/leads' },
    });
    expect(email.replyTo).toMatchObject({ address: 'm1@example.com' });

    // The person writes again while the lead waits: the message joins it, with nobody to alert yet.
    const second = await routeCapture({ ...deps(sent), config: away }, chat(5, 'anyone there?'));
    expect(second).toMatchObject({ mode: 'message', leadId: first.leadId, createdNow: true });
    expect(sent).toHaveLength(2);
  });

  it('raises a lead’s score when a later message of its conversation scores higher, never lowers it', async () => {
    const scored = new LeadflowConfig({
      ...config.raw,
      scoring: { channel: { telegram: 10 }, keywords: [{ keyword: 'quote', points: 30 }] },
    });
    const p = person('score');
    const handles = { telegram: `tg-${p.emailKey}` };
    const message = (minutes: number, text: string) =>
      capture(
        {},
        {
          channel: 'telegram',
          sourceId: 'bot',
          handles,
          conversationId: `telegram:${handles.telegram}`,
          message: text,
          consent: false,
          receivedAt: new Date(Date.parse('2026-11-20T09:00:00.000Z') + minutes * 60_000).toISOString(),
        },
      );
    const first = await routeCapture({ ...deps(), config: scored }, message(0, 'hello'));
    const scoreOf = async () =>
      (await contactItems(first.contactId)).find((i) => i.type === 'lead' && i.leadId === first.leadId)
        ?.score;
    expect(await scoreOf()).toBe(10);
    await routeCapture({ ...deps(), config: scored }, message(5, 'can I get a quote?'));
    expect(await scoreOf()).toBe(40);
    await routeCapture({ ...deps(), config: scored }, message(10, 'thanks'));
    expect(await scoreOf()).toBe(40);
  });

  it('adds messages of one conversation inside the window to the open lead, and opens a new lead after it', async () => {
    const p = person('conv');
    const handles = { telegram: `tg-${p.emailKey}` };
    const start = Date.parse('2026-11-20T09:00:00.000Z');
    const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
    const message = (minutes: number, text: string) =>
      capture(
        {},
        {
          channel: 'telegram',
          sourceId: 'bot',
          handles,
          conversationId: `telegram:${handles.telegram}`,
          message: text,
          consent: false,
          receivedAt: at(minutes),
        },
      );
    const sent: Notification[] = [];
    const first = await routeCapture(deps(sent), message(0, 'hello'));
    const followUp = message(30, 'are you there?');
    const second = await routeCapture(deps(sent), followUp);
    const again = await routeCapture(deps(sent), followUp);
    expect(first.mode).toBe('lead');
    expect(second).toMatchObject({
      mode: 'message',
      leadId: first.leadId,
      contactId: first.contactId,
      createdNow: true,
    });
    expect(again).toMatchObject({ mode: 'message', leadId: first.leadId, createdNow: false });
    expect(sent.map((n) => n.kind)).toEqual(['manager_alert', 'message_alert', 'message_alert']);
    expect(sent[1]?.notificationId).toBe(sent[2]?.notificationId);

    const late = await routeCapture(deps(sent), message(30 + 24 * 60 + 1, 'back after two days'));
    expect(late.mode).toBe('lead');
    expect(late.leadId).not.toBe(first.leadId);

    const own = await contactItems(first.contactId);
    const timeline = own
      .filter((i) => String(i.sk).startsWith('TL#'))
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
    expect(timeline.map((i) => i.message)).toEqual(['hello', 'are you there?', 'back after two days']);
    expect(timeline.map((i) => i.leadId)).toEqual([first.leadId, first.leadId, late.leadId]);
    const lead = own.find((i) => i.type === 'lead' && i.leadId === first.leadId);
    expect(lead?.messageCount).toBe(2);

    const listed = await getTimeline(system.doc, system.tableName, first.contactId);
    expect(listed.map((entry) => [entry.channel, entry.direction, entry.mode])).toEqual([
      ['telegram', 'inbound', 'lead'],
      ['telegram', 'inbound', 'message'],
      ['telegram', 'inbound', 'lead'],
    ]);
    expect(listed[1]?.summary).toContain('are you there?');
    const newest = await getTimeline(system.doc, system.tableName, first.contactId, {
      newestFirst: true,
      limit: 1,
    });
    expect(newest.map((entry) => entry.summary)).toEqual([listed[2]?.summary]);
  });
});

describe('merge fences', () => {
  it('finishes a merge a crashed router fenced, and routes the fenced contact’s identities to the survivor', async () => {
    const p = person('fence');
    const byPhone = await routeCapture(
      deps(),
      capture({ phone: p.e164 }, { channel: 'sms', message: 'first' }),
    );
    const byEmail = await routeCapture(deps(), capture({ email: p.email, emailKey: p.emailKey }));
    // The state a router leaves when it dies right after the fence: the loser takes no writes.
    await system.doc.send(
      new UpdateCommand({
        TableName: system.tableName,
        Key: { pk: `CONTACT#${byEmail.contactId}`, sk: 'PROFILE' },
        UpdateExpression: 'SET mergingInto = :survivor, mergingAt = :at',
        ExpressionAttributeValues: { ':survivor': byPhone.contactId, ':at': new Date().toISOString() },
      }),
    );
    await system.doc.send(
      new UpdateCommand({
        TableName: system.tableName,
        Key: { pk: `CONTACT#${byPhone.contactId}`, sk: 'PROFILE' },
        UpdateExpression: 'ADD pendingMerges :loser',
        ExpressionAttributeValues: { ':loser': new Set([byEmail.contactId]) },
      }),
    );

    // The next capture by the fenced contact's email lands on the survivor and completes the merge.
    const next = await routeCapture(
      deps(),
      capture({ email: p.email, emailKey: p.emailKey }, { message: 'again' }),
    );
    expect(next.contactId).toBe(byPhone.contactId);
    const items = await system.items();
    expect(items.find((i) => i.pk === `CONTACT#${byEmail.contactId}` && i.sk === 'PROFILE')?.mergedInto).toBe(
      byPhone.contactId,
    );
    expect(items.filter((i) => i.pk === `CONTACT#${byEmail.contactId}` && i.sk !== 'PROFILE')).toHaveLength(
      0,
    );
    expect(items.find((i) => i.pk === `IDENT#email:${p.emailKey}`)?.contactId).toBe(byPhone.contactId);
    const survivor = items.find((i) => i.pk === `CONTACT#${byPhone.contactId}` && i.sk === 'PROFILE');
    expect(survivor?.pendingMerges).toBeUndefined();
    const timeline = items.filter(
      (i) => i.pk === `CONTACT#${byPhone.contactId}` && String(i.sk).startsWith('TL#'),
    );
    expect(timeline.filter((i) => i.channel !== 'system')).toHaveLength(3);
    expect(timeline.filter((i) => i.channel === 'system')).toHaveLength(1);
  });

  it('never merges two contacts into each other when routers race', async () => {
    const p = person('cycle');
    const telegramId = String(Date.now() + Math.floor(Math.random() * 1e6));
    const telegram = (contact: CaptureEvent['contact']) =>
      capture(contact, {
        channel: 'telegram',
        sourceId: 'bot',
        handles: { telegram: telegramId },
        verified: [`telegram:${telegramId}`, ...(contact.phone ? [`phone:${contact.phone}`] : [])],
        consent: false,
      });
    await routeCapture(
      deps(),
      capture({ phone: p.e164 }, { channel: 'sms', message: 'a', verified: [`phone:${p.e164}`] }),
    );
    await routeCapture(deps(), telegram({}));
    // A Telegram user shares the number as their own, twice at once: verified evidence, raced.
    const both = () => telegram({ phone: p.e164 });
    const results = await Promise.allSettled([routeCapture(deps(), both()), routeCapture(deps(), both())]);
    const routed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(routed.length).toBeGreaterThanOrEqual(1);
    expect(new Set(routed.map((r) => r.contactId)).size).toBe(1);
    const items = await system.items();
    const profiles = items.filter(
      (i) => i.sk === 'PROFILE' && (i.identities as Set<string> | undefined)?.has(`phone:${p.e164}`),
    );
    const live = profiles.filter((i) => !i.mergedInto && !i.mergingInto);
    expect(live).toHaveLength(1);
    expect(items.find((i) => i.pk === `IDENT#telegram:${telegramId}`)?.contactId).toBe(live[0]?.contactId);
  });
});

describe('conversation guard', () => {
  it('opens one lead when two first messages of one conversation of a returning contact race', async () => {
    const p = person('guard');
    const handles = { telegram: `tg-${p.emailKey}` };
    await routeCapture(deps(), capture({ email: p.email, emailKey: p.emailKey }));
    await routeCapture(
      deps(),
      capture(
        { email: p.email, emailKey: p.emailKey },
        { channel: 'telegram', handles, message: 'link', consent: false },
      ),
    );
    const message = (text: string) =>
      capture(
        {},
        {
          channel: 'telegram',
          handles,
          conversationId: `telegram:race-${p.emailKey}`,
          message: text,
          consent: false,
        },
      );
    const routed = await Promise.all([
      routeCapture(deps(), message('one')),
      routeCapture(deps(), message('two')),
    ]);
    expect(routed.map((r) => r.mode).sort()).toEqual(['lead', 'message']);
    expect(new Set(routed.map((r) => r.leadId)).size).toBe(1);
  });

  it('acknowledges a contact at most once a day, and records it', async () => {
    const p = person('ackonce');
    const sent: Notification[] = [];
    await routeCapture(deps(sent), capture({ email: p.email, emailKey: p.emailKey }));
    await routeCapture(deps(sent), capture({ email: p.email, emailKey: p.emailKey }));
    expect(sent.filter((n) => n.kind === 'acknowledgement')).toHaveLength(1);
    expect(sent.filter((n) => n.kind === 'manager_alert')).toHaveLength(2);
  });
});
