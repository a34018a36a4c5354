import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type ContactProfile, getProfile, getTimeline, type RouterDeps, routeCapture } from '@leadflow/aws';
import {
  type CaptureEvent,
  LeadflowConfig,
  MAX_IDENTITIES,
  MAX_OPEN_CONVERSATIONS,
  type Notification,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      id: 'duo',
      name: 'Duo',
      strategy: 'round_robin',
      managers: [
        { id: 'm1', name: 'M One', email: 'm1@example.com' },
        { id: 'm2', name: 'M Two', email: 'm2@example.com' },
      ],
    },
  ],
});

function deps(sent: Notification[] = []): RouterDeps {
  return {
    doc: system.doc,
    tableName: system.tableName,
    config,
    newId: ulid,
    enqueueNotifications: async (notifications) => {
      sent.push(...notifications);
    },
  };
}

const start = Date.parse('2026-11-20T09:00:00.000Z');
const at = (minute: number) => new Date(start + minute * 60_000).toISOString();

/** A chat message as the widget route captures it: the visitor id is a handle, the session a conversation. */
function chat(
  contact: CaptureEvent['contact'],
  visitor: string,
  session: string,
  minute: number,
): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'chat',
    sourceId: 'w1',
    teamId: 'duo',
    receivedAt: at(minute),
    language: 'en',
    contact,
    message: `hello from ${session}`,
    consent: false,
    urgent: false,
    answers: {},
    source: { utm: {} },
    handles: { chat: visitor },
    conversationId: `chat:w1:${session}`,
  };
}

function form(contact: CaptureEvent['contact'], minute: number): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'duo',
    receivedAt: at(minute),
    language: 'en',
    contact,
    consent: false,
    urgent: false,
    answers: {},
    source: { utm: {} },
  };
}

/** A Telegram message; a contact with a phone is one the user shared as their own (both verified). */
function telegram(contact: CaptureEvent['contact'], telegramId: string, minute: number): CaptureEvent {
  return {
    ...form(contact, minute),
    channel: 'telegram',
    sourceId: 'bot',
    message: contact.phone ? '[contact]' : 'hello',
    handles: { telegram: telegramId },
    verified: [`telegram:${telegramId}`, ...(contact.phone ? [`phone:${contact.phone}`] : [])],
    conversationId: `telegram:${telegramId}`,
  };
}

/** A text from a number: Twilio's From is a verified caller ID. */
function sms(phone: string, minute: number): CaptureEvent {
  return {
    ...form({ phone }, minute),
    channel: 'sms',
    sourceId: '+15550001111',
    message: 'hi',
    verified: [`phone:${phone}`],
    conversationId: `sms:${phone}`,
  };
}

/** A WhatsApp message: the wa_id and its number, both verified. */
function whatsapp(phone: string, minute: number): CaptureEvent {
  return {
    ...form({ phone }, minute),
    channel: 'whatsapp',
    sourceId: '106540352242922',
    message: 'hi',
    handles: { whatsapp: phone },
    verified: [`whatsapp:${phone}`, `phone:${phone}`],
    conversationId: `whatsapp:${phone.slice(1)}`,
  };
}

async function profileOf(contactId: string): Promise<ContactProfile> {
  const profile = await getProfile(system.doc, system.tableName, contactId);
  if (!profile) throw new Error(`No contact ${contactId}`);
  return profile;
}

/** The profile's size as stored, roughly: its JSON with sets as arrays. */
function sizeOf(profile: ContactProfile): number {
  return JSON.stringify(profile, (_, value) => (value instanceof Set ? [...value] : value)).length;
}

async function systemEntries(contactId: string) {
  return (await system.items()).filter(
    (item) =>
      item.pk === `CONTACT#${contactId}` && String(item.sk).startsWith('TL#') && item.channel === 'system',
  );
}

describe('a contact at its bounds, on DynamoDB Local', () => {
  it('retires the oldest conversation and stops listing identities, and the capture still becomes a lead and an alert', async () => {
    const p = person('bound');
    const contact = { email: p.email, emailKey: p.emailKey };
    const tag = randomUUID().slice(0, 8);
    const visitor = (i: number) => `visitor-${tag}-${i}`;
    const session = (i: number) => `session-${tag}-${i}`;

    // Someone posts chat messages with the customer's email and fresh visitor and session ids: each adds
    // an identity and an open conversation, up to exactly the bounds (the email is one identity).
    const first = await routeCapture(deps(), chat(contact, visitor(0), session(0), 0));
    const contactId = first.contactId;
    for (let i = 1; i < MAX_OPEN_CONVERSATIONS; i++) {
      const routed = await routeCapture(
        deps(),
        chat(contact, visitor(Math.min(i, MAX_IDENTITIES - 2)), session(i), i),
      );
      expect(routed.contactId).toBe(contactId);
    }
    const full = await profileOf(contactId);
    expect(full.identities?.size).toBe(MAX_IDENTITIES);
    expect(Object.keys(full.conversations ?? {})).toHaveLength(MAX_OPEN_CONVERSATIONS);
    expect(await systemEntries(contactId)).toEqual([]);

    // One more of each.
    const sent: Notification[] = [];
    const extra = chat(contact, visitor(1000), session(1000), 1000);
    const routed = await routeCapture(deps(sent), extra);
    expect(routed).toMatchObject({ contactId, mode: 'lead', leadId: extra.submissionId, createdNow: true });
    expect(sent.map((n) => n.notificationId)).toEqual([`${extra.submissionId}:manager_alert`]);

    const after = await profileOf(contactId);
    expect(after.identities?.size).toBe(MAX_IDENTITIES);
    expect(after.identities?.has(`chat:${visitor(1000)}`)).toBe(false);
    expect(Object.keys(after.conversations ?? {})).toHaveLength(MAX_OPEN_CONVERSATIONS);
    expect(after.conversations?.[`chat:w1:${session(0)}`]).toBeUndefined();
    expect(after.conversations?.[`chat:w1:${session(1)}`]).toBeDefined();
    expect(after.conversations?.[`chat:w1:${session(1000)}`]).toEqual({
      leadId: extra.submissionId,
      lastAt: extra.receivedAt,
      ownerId: after.ownerId,
    });
    expect(sizeOf(after)).toBeLessThan(20_000);

    const timeline = await getTimeline(system.doc, system.tableName, contactId);
    const notes = timeline.filter((entry) => entry.channel === 'system').map((entry) => entry.summary);
    expect(notes).toHaveLength(2);
    expect(notes).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^Conversation chat:w1:${session(0)} retired: the contact has ${MAX_OPEN_CONVERSATIONS} open`,
        ),
      ),
    );
    expect(notes).toContainEqual(
      expect.stringMatching(
        new RegExp(`^Identity chat:${visitor(1000)} not added: the contact has ${MAX_IDENTITIES} identities`),
      ),
    );
    // The entries sit beside the capture that caused them.
    expect(
      timeline.filter((entry) => entry.channel === 'system').every((e) => e.occurredAt === extra.receivedAt),
    ).toBe(true);

    // A redelivery finds its lead, queues the same alert again, and records nothing twice.
    const again: Notification[] = [];
    const redelivered = await routeCapture(deps(again), extra);
    expect(redelivered).toMatchObject({ contactId, leadId: extra.submissionId, createdNow: false });
    expect(again.map((n) => n.notificationId)).toEqual([`${extra.submissionId}:manager_alert`]);
    expect(await systemEntries(contactId)).toHaveLength(2);

    // The unlisted visitor is still claimed for the customer: their next message, without the email,
    // reaches the same contact and continues their conversation.
    const items = await system.items();
    expect(items.find((item) => item.pk === `IDENT#chat:${visitor(1000)}`)?.contactId).toBe(contactId);
    const followUp = await routeCapture(deps(), chat({}, visitor(1000), session(1000), 1001));
    expect(followUp).toMatchObject({ contactId, mode: 'message', leadId: extra.submissionId });
    expect(await systemEntries(contactId)).toHaveLength(2);
  }, 120_000);

  it('lists one identity and retires one conversation per new one when captures of a nearly full contact race', async () => {
    const p = person('race');
    const tag = randomUUID().slice(0, 8);
    const first = await routeCapture(deps(), form({ email: p.email, emailKey: p.emailKey }, 0));
    // Room for one more identity; no room for another conversation.
    await fill(first.contactId, `email:${p.emailKey}`, `r-${tag}`, 0, MAX_IDENTITIES - 1);
    const racers = Array.from({ length: 4 }, (_, i) =>
      chat({ email: p.email, emailKey: p.emailKey }, `v-${tag}-${i}`, `new-${tag}-${i}`, 500 + i),
    );
    const sent: Notification[] = [];
    const routed = await Promise.all(racers.map((capture) => routeCapture(deps(sent), capture)));
    expect(routed.map((r) => r.mode)).toEqual(['lead', 'lead', 'lead', 'lead']);
    expect(sent.map((n) => n.kind)).toEqual([
      'manager_alert',
      'manager_alert',
      'manager_alert',
      'manager_alert',
    ]);

    const profile = await profileOf(first.contactId);
    const open = profile.conversations ?? {};
    expect(Object.keys(open)).toHaveLength(MAX_OPEN_CONVERSATIONS);
    for (let i = 0; i < 4; i++) expect(open[`chat:w1:new-${tag}-${i}`]).toBeDefined();
    const entries = await systemEntries(first.contactId);
    const retired = entries.flatMap((entry) =>
      entry.event === 'conversation_retired'
        ? [(entry.retired as { conversationId: string }).conversationId]
        : [],
    );
    expect(retired.sort()).toEqual([0, 1, 2, 3].map((i) => `chat:w1:r-${tag}-${i}`));

    // Exactly one of the new visitors made it onto the profile; the others are claimed and recorded.
    const visitors = [0, 1, 2, 3].map((i) => `chat:v-${tag}-${i}`);
    expect(profile.identities?.size).toBe(MAX_IDENTITIES);
    const listedNow = visitors.filter((identity) => profile.identities?.has(identity));
    expect(listedNow).toHaveLength(1);
    const unlisted = entries.flatMap((entry) =>
      entry.event === 'identity_unlisted' ? [entry.unlistedIdentity] : [],
    );
    expect(unlisted.sort()).toEqual(visitors.filter((identity) => !listedNow.includes(identity)).sort());
    const items = await system.items();
    for (const identity of visitors) {
      expect(items.find((item) => item.pk === `IDENT#${identity}`)?.contactId).toBe(first.contactId);
    }
  });

  it('shrinks a map that grew past the bound before there was one, at most a bound per capture', async () => {
    const p = person('legacy');
    const tag = randomUUID().slice(0, 8);
    const contact = { email: p.email, emailKey: p.emailKey };
    const first = await routeCapture(deps(), form(contact, 0));
    await fill(first.contactId, `email:${p.emailKey}`, `l-${tag}`, 0, MAX_IDENTITIES, 120);

    const one = await routeCapture(deps(), chat(contact, `l-${tag}-0`, `l-new-${tag}-1`, 500));
    expect(one.mode).toBe('lead');
    expect(Object.keys((await profileOf(first.contactId)).conversations ?? {})).toHaveLength(120 + 1 - 50);
    const two = await routeCapture(deps(), chat(contact, `l-${tag}-0`, `l-new-${tag}-2`, 501));
    expect(two.mode).toBe('lead');
    const open = (await profileOf(first.contactId)).conversations ?? {};
    expect(Object.keys(open)).toHaveLength(MAX_OPEN_CONVERSATIONS);
    // The newest 48 of the old ones stay, with both new ones.
    expect(Object.keys(open).sort()).toEqual(
      [
        ...Array.from({ length: 48 }, (_, i) => `chat:w1:l-${tag}-${120 - 48 + i}`),
        `chat:w1:l-new-${tag}-1`,
        `chat:w1:l-new-${tag}-2`,
      ].sort(),
    );
    expect(await systemEntries(first.contactId)).toHaveLength(120 - 48);
  });

  it('keeps a merge of two full contacts within the bounds, with every identity still finding the survivor', async () => {
    const b = person('mergeB');
    const tag = randomUUID().slice(0, 8);
    const telegramId = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
    // The older contact survives (both have an owner). Both know the person by verified identities: a
    // Telegram id, a caller ID.
    const first = await routeCapture(deps(), telegram({}, telegramId, 0));
    const second = await routeCapture(deps(), sms(b.e164, 1));
    await fill(first.contactId, `telegram:${telegramId}`, `a-${tag}`, 0);
    await fill(second.contactId, `phone:${b.e164}`, `b-${tag}`, 10);
    // B is full: one more identity (the WhatsApp id of its number) is claimed for it but not listed.
    const unlisted = `whatsapp:${b.e164}`;
    await routeCapture(deps(), whatsapp(b.e164, 200));
    expect((await profileOf(second.contactId)).identities?.has(unlisted)).toBe(false);
    // The WhatsApp message retired B's oldest conversation (b-0) to make room for its own.

    // One capture proves A and B are one person: the Telegram user shares B's number as their own.
    const sent: Notification[] = [];
    const both = telegram({ phone: b.e164 }, telegramId, 300);
    const routed = await routeCapture(deps(sent), both);
    expect(routed.contactId).toBe(first.contactId);
    expect(routed.merged?.mergedIds).toEqual([second.contactId]);
    expect(sent.map((n) => n.notificationId)).toEqual([`${both.submissionId}:manager_alert`]);

    const survivor = await profileOf(first.contactId);
    expect(survivor.identities?.size).toBe(MAX_IDENTITIES);
    expect(survivor.emails).toBeUndefined();
    expect(survivor.phones).toBeUndefined();
    // Of both contacts' conversations (A's at minutes 0-49, B's at 11-59 and 200) the newest stay open:
    // A's older ones are retired, B's older ones not carried over.
    const open = survivor.conversations ?? {};
    expect(Object.keys(open)).toHaveLength(MAX_OPEN_CONVERSATIONS);
    expect(open[`whatsapp:${b.e164.slice(1)}`]).toBeDefined();
    expect(sizeOf(survivor)).toBeLessThan(30_000);

    const entries = await systemEntries(first.contactId);
    const merge = entries.find((entry) => entry.interactionId === routed.merged?.mergeIds[0]);
    const record = merge?.merge as { retiredConversations: string[]; droppedConversations: string[] };
    const minuteOf = (id: string) => Number(id.split('-').pop()) + (id.startsWith(`chat:w1:b-`) ? 10 : 0);
    const oldestKept = Math.min(
      ...Object.values(open).map((entry) => (Date.parse(entry.lastAt) - start) / 60_000),
    );
    expect(record.retiredConversations.length).toBeGreaterThan(0);
    expect(record.droppedConversations.length).toBeGreaterThan(0);
    expect(record.retiredConversations.length + record.droppedConversations.length).toBe(
      MAX_OPEN_CONVERSATIONS,
    );
    expect(record.retiredConversations.every((id) => id.startsWith(`chat:w1:a-${tag}`))).toBe(true);
    expect(record.droppedConversations.every((id) => id.startsWith(`chat:w1:b-${tag}`))).toBe(true);
    for (const id of [...record.retiredConversations, ...record.droppedConversations]) {
      expect(minuteOf(id)).toBeLessThanOrEqual(oldestKept);
      expect(open[id]).toBeUndefined();
    }
    expect(merge?.summary).toContain(
      `${record.retiredConversations.length} oldest open conversations retired and ${record.droppedConversations.length} not carried over`,
    );
    // Each of B's identities is recorded as not listed, B's extra one by its own moved entry.
    const unlistedOnSurvivor = entries.flatMap((entry) =>
      typeof entry.unlistedIdentity === 'string' ? [entry.unlistedIdentity] : [],
    );
    expect(new Set(unlistedOnSurvivor)).toEqual(new Set([...(await listed(second.contactId)), unlisted]));
    expect(unlistedOnSurvivor).toHaveLength(MAX_IDENTITIES + 1);

    // Listed or not, every identity of B now points straight at the survivor.
    const items = await system.items();
    for (const identity of [...(await listed(second.contactId)), unlisted]) {
      expect(items.find((item) => item.pk === `IDENT#${identity}`)?.contactId).toBe(first.contactId);
    }
    const byWhatsApp = await routeCapture(deps(), whatsapp(b.e164, 400));
    expect(byWhatsApp.contactId).toBe(first.contactId);
    const byVisitor = await routeCapture(deps(), chat({}, `b-${tag}-3`, `later-${tag}`, 400));
    expect(byVisitor.contactId).toBe(first.contactId);
  }, 120_000);
});

/** The identities listed on a (merged) contact's profile. */
async function listed(contactId: string): Promise<string[]> {
  return [...((await profileOf(contactId)).identities ?? [])];
}

/**
 * Brings a contact to its bounds as captures would have: identities claimed (and listed) up to
 * `identities`, and `conversationCount` chat sessions, the oldest at `fromMinute`.
 */
async function fill(
  contactId: string,
  primary: string,
  prefix: string,
  fromMinute: number,
  identities = MAX_IDENTITIES,
  conversationCount = MAX_OPEN_CONVERSATIONS,
): Promise<void> {
  const visitors = Array.from({ length: identities - 1 }, (_, i) => `chat:${prefix}-${i}`);
  for (const identity of visitors) {
    await system.doc.send(
      new PutCommand({
        TableName: system.tableName,
        Item: {
          pk: `IDENT#${identity}`,
          sk: 'IDENT',
          type: 'identity',
          contactId,
          claimedAt: at(fromMinute),
        },
      }),
    );
  }
  const conversations = Object.fromEntries(
    Array.from({ length: conversationCount }, (_, i) => [
      `chat:w1:${prefix}-${i}`,
      { leadId: ulid(), lastAt: at(fromMinute + i) },
    ]),
  );
  await system.doc.send(
    new UpdateCommand({
      TableName: system.tableName,
      Key: { pk: `CONTACT#${contactId}`, sk: 'PROFILE' },
      UpdateExpression: 'SET identities = :identities, conversations = :conversations',
      ExpressionAttributeValues: {
        ':identities': new Set([primary, ...visitors]),
        ':conversations': conversations,
      },
    }),
  );
}
