import { randomUUID } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ContactProfile,
  getMergeRecord,
  getProfile,
  MergeAlreadyUndone,
  type ResolvedContact,
  type RouterDeps,
  resolveContact,
  routeCapture,
  UnmergeRefused,
  unmergeContacts,
} from '@leadflow/aws';
import {
  type CaptureEvent,
  LeadflowConfig,
  MAX_POSSIBLE_DUPLICATES,
  type Notification,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { person, startTestSystem, type TestSystem } from '../support/system';

// Identities we can trust, and merges that can be undone (issue 8), on DynamoDB Local.
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
    {
      // Used by one test only, so its first two leads go to two different managers.
      id: 'pair',
      name: 'Pair',
      strategy: 'round_robin',
      managers: [
        { id: 'p1', name: 'P One', email: 'p1@example.com' },
        { id: 'p2', name: 'P Two', email: 'p2@example.com' },
      ],
    },
  ],
});

function deps(sent: Notification[] = [], doc: DynamoDBDocumentClient = system.doc): RouterDeps {
  return {
    doc,
    tableName: system.tableName,
    config,
    newId: ulid,
    enqueueNotifications: async (notifications) => {
      sent.push(...notifications);
    },
  };
}

function base(contact: CaptureEvent['contact'], overrides: Partial<CaptureEvent> = {}): CaptureEvent {
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

/** A public form: whatever is typed in it is claimed. */
const form = (contact: CaptureEvent['contact'], teamId = 'trio') => base(contact, { teamId });

/** A text from a number: Twilio's From is a verified caller ID. */
const sms = (phone: string, teamId = 'trio') =>
  base(
    { phone },
    {
      channel: 'sms',
      sourceId: '+15550001111',
      teamId,
      message: 'Do you have a showroom?',
      consent: false,
      conversationId: `sms:${phone}`,
      verified: [`phone:${phone}`],
    },
  );

/** A Telegram message; with a phone, a contact the user shared as their own (both verified). */
const telegram = (telegramId: string, phone?: string, teamId = 'trio') =>
  base(phone ? { phone } : {}, {
    channel: 'telegram',
    sourceId: 'bot',
    teamId,
    message: phone ? '[contact]' : 'hello',
    consent: false,
    handles: { telegram: telegramId },
    conversationId: `telegram:${telegramId}`,
    verified: [`telegram:${telegramId}`, ...(phone ? [`phone:${phone}`] : [])],
  });

/** Mail whose sender passed DMARC. */
const email = (address: string) =>
  base(
    { email: address, emailKey: address.toLowerCase() },
    {
      channel: 'email',
      sourceId: 'sales@example.com',
      message: 'A question',
      consent: false,
      email: { messageId: `${randomUUID()}@example.net`, dmarc: 'pass', attachments: [] },
      verified: [`email:${address.toLowerCase()}`],
    },
  );

const telegramId = () => String(5_000_000_000 + Math.floor(Math.random() * 1e9));

async function item(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await system.doc.send(
    new GetCommand({ TableName: system.tableName, Key: { pk, sk }, ConsistentRead: true }),
  );
  return Item;
}

async function profileOf(contactId: string): Promise<ContactProfile> {
  const profile = await getProfile(system.doc, system.tableName, contactId);
  if (!profile) throw new Error(`No contact ${contactId}`);
  return profile;
}

async function partition(pk: string): Promise<Record<string, unknown>[]> {
  return (await system.items())
    .filter((i) => i.pk === pk)
    .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
}

/** A document client that runs `before` ahead of every command it sends: a window into a race. */
function hooked(
  doc: DynamoDBDocumentClient,
  before: (command: unknown) => Promise<void> | void,
): DynamoDBDocumentClient {
  const wrapper = Object.create(doc) as DynamoDBDocumentClient;
  const send = doc.send.bind(doc) as (...args: unknown[]) => Promise<unknown>;
  wrapper.send = (async (command: unknown, ...rest: unknown[]) => {
    await before(command);
    return send(command, ...rest);
  }) as unknown as DynamoDBDocumentClient['send'];
  return wrapper;
}

function resolveVerified(identities: readonly string[], doc: DynamoDBDocumentClient = system.doc) {
  return resolveContact(
    doc,
    system.tableName,
    identities,
    {},
    {
      newContactId: ulid,
      now: new Date().toISOString(),
      verified: identities,
    },
  );
}

describe('the public-form takeover', () => {
  it('does not attach a form’s email to a customer who called: a linked contact, the same owner, no merge', async () => {
    const p = person('takeover');
    const mallory = `mallory.${randomUUID().slice(0, 8)}@example.net`;
    const called = sms(p.e164);
    const call = await routeCapture(deps(), called);
    const owner = call.assignment.ownerId;
    expect(owner).toBeDefined();

    // Someone types the customer's number and another address into a public form.
    const sent: Notification[] = [];
    const takeover = form({ name: 'Mallory', email: mallory, emailKey: mallory, phone: p.e164 });
    const routed = await routeCapture(deps(sent), takeover);
    expect(routed.contactId).not.toBe(call.contactId);
    expect(routed.merged).toBeUndefined();
    // Speed to lead is kept: the lead goes to the customer's owner, whose alert it is.
    expect(routed.assignment).toMatchObject({ ownerId: owner, strategy: 'sticky_owner' });
    expect(sent.filter((n) => n.kind === 'manager_alert').map((n) => n.assignment.ownerId)).toEqual([owner]);

    const customer = await profileOf(call.contactId);
    expect(customer.identities).toEqual(new Set([`phone:${p.e164}`]));
    expect(customer.verifiedIdentities).toEqual(new Set([`phone:${p.e164}`]));
    expect(customer.emails).toBeUndefined();
    expect(customer.name).toBeUndefined();
    expect(customer.possibleDuplicates).toEqual(new Set([routed.contactId]));
    const linked = await profileOf(routed.contactId);
    expect(linked).toMatchObject({ duplicateOf: call.contactId, ownerId: owner, name: 'Mallory' });
    expect(linked.identities).toEqual(new Set([`email:${mallory}`]));
    expect(linked.verifiedIdentities).toBeUndefined();
    expect(linked.possibleDuplicates).toEqual(new Set([call.contactId]));

    // Each identity records its provenance and the capture that first brought it.
    expect(await item(`IDENT#phone:${p.e164}`, 'IDENT')).toMatchObject({
      contactId: call.contactId,
      provenance: 'verified',
      firstCaptureId: called.submissionId,
      firstSeenAt: called.receivedAt,
    });
    expect(await item(`IDENT#email:${mallory}`, 'IDENT')).toMatchObject({
      contactId: routed.contactId,
      provenance: 'claimed',
      firstCaptureId: takeover.submissionId,
      firstSeenAt: takeover.receivedAt,
    });

    // The customer's history holds the call and a note of the possible duplicate, nothing of the form.
    const own = await partition(`CONTACT#${call.contactId}`);
    expect(own.filter((i) => i.type === 'lead')).toHaveLength(1);
    expect(own.filter((i) => i.event === 'possible_duplicate').map((i) => i.possibleDuplicate)).toEqual([
      routed.contactId,
    ]);
    expect(own.some((i) => i.interactionId === takeover.submissionId)).toBe(false);
    expect((await system.items()).some((i) => String(i.pk).startsWith('MERGE#'))).toBe(false);

    // A redelivery lands on the same linked contact; so does the same person's next form.
    const again = await routeCapture(deps(), takeover);
    expect(again).toMatchObject({ contactId: routed.contactId, createdNow: false });
    const next = await routeCapture(deps(), form({ email: mallory, emailKey: mallory, phone: p.e164 }));
    expect(next.contactId).toBe(routed.contactId);
    expect((await profileOf(call.contactId)).identities).toEqual(new Set([`phone:${p.e164}`]));
  });

  it('keeps a customer’s list of possible duplicates bounded however many forms carry its number', async () => {
    const p = person('bounded');
    const call = await routeCapture(deps(), sms(p.e164));
    const full = new Set(Array.from({ length: MAX_POSSIBLE_DUPLICATES }, () => ulid()));
    await system.doc.send(
      new UpdateCommand({
        TableName: system.tableName,
        Key: { pk: `CONTACT#${call.contactId}`, sk: 'PROFILE' },
        UpdateExpression: 'SET possibleDuplicates = :full',
        ExpressionAttributeValues: { ':full': full },
      }),
    );
    const address = `spam.${randomUUID().slice(0, 8)}@example.net`;
    const routed = await routeCapture(deps(), form({ email: address, emailKey: address, phone: p.e164 }));
    expect(routed.contactId).not.toBe(call.contactId);
    expect((await profileOf(call.contactId)).possibleDuplicates).toEqual(full);
    expect((await profileOf(routed.contactId)).duplicateOf).toBe(call.contactId);
    // The link is still on the customer's timeline.
    const entries = (await partition(`CONTACT#${call.contactId}`)).filter(
      (i) => i.event === 'possible_duplicate',
    );
    expect(entries.map((i) => i.possibleDuplicate)).toEqual([routed.contactId]);
  });

  it('links, never merges, two customers whose identities one form carries', async () => {
    const a = person('caller');
    const c = person('writer');
    const caller = await routeCapture(deps(), sms(a.e164));
    const writer = await routeCapture(deps(), email(c.emailKey));

    const routed = await routeCapture(
      deps(),
      form({ email: c.emailKey, emailKey: c.emailKey, phone: a.e164 }),
    );
    expect(routed.merged).toBeUndefined();
    // The strongest identity (the email) finds the contact; the lead goes to its owner.
    expect(routed.contactId).toBe(writer.contactId);
    expect(routed.assignment.ownerId).toBe(writer.assignment.ownerId);

    const [callerProfile, writerProfile] = [
      await profileOf(caller.contactId),
      await profileOf(writer.contactId),
    ];
    expect(callerProfile.mergedInto).toBeUndefined();
    expect(writerProfile.mergedInto).toBeUndefined();
    expect(callerProfile.identities).toEqual(new Set([`phone:${a.e164}`]));
    expect(writerProfile.identities).toEqual(new Set([`email:${c.emailKey}`]));
    expect(callerProfile.possibleDuplicates).toEqual(new Set([writer.contactId]));
    expect(writerProfile.possibleDuplicates).toEqual(new Set([caller.contactId]));
    expect(await item(`IDENT#phone:${a.e164}`, 'IDENT')).toMatchObject({ contactId: caller.contactId });
  });

  it('lets a contact typed in a form take more claims until a provider vouches for one of its identities', async () => {
    const p = person('upgrade');
    const first = await routeCapture(deps(), form({ name: p.name, phone: p.e164 }));
    // Nothing vouches for this contact yet: the same phone with an email joins it, as before.
    const second = await routeCapture(deps(), form({ email: p.email, emailKey: p.emailKey, phone: p.e164 }));
    expect(second.contactId).toBe(first.contactId);
    // The person texts from that number: the phone is now verified on the contact.
    const texted = sms(p.e164);
    const text = await routeCapture(deps(), texted);
    expect(text.contactId).toBe(first.contactId);
    expect((await profileOf(first.contactId)).verifiedIdentities).toEqual(new Set([`phone:${p.e164}`]));
    expect(await item(`IDENT#phone:${p.e164}`, 'IDENT')).toMatchObject({
      provenance: 'verified',
      verifiedBy: texted.submissionId,
    });
    // From now on a form's new address no longer joins it.
    const other = `other.${randomUUID().slice(0, 8)}@example.net`;
    const later = await routeCapture(deps(), form({ email: other, emailKey: other, phone: p.e164 }));
    expect(later.contactId).not.toBe(first.contactId);
    expect((await profileOf(later.contactId)).duplicateOf).toBe(first.contactId);
  });
});

describe('merges on verified evidence, undone exactly', () => {
  it('merges when a Telegram user shares as their own a number that texted, and the undo restores every item', async () => {
    const p = person('undo');
    const tg = telegramId();
    const texted = await routeCapture(deps([], system.doc), sms(p.e164, 'pair'));
    const chatted = await routeCapture(deps([], system.doc), telegram(tg, undefined, 'pair'));
    expect(chatted.assignment.ownerId).not.toBe(texted.assignment.ownerId);
    await routeCapture(deps(), { ...telegram(tg, undefined, 'pair'), message: 'are you there?' });

    const keysOf = [
      `CONTACT#${texted.contactId}`,
      `CONTACT#${chatted.contactId}`,
      `IDENT#phone:${p.e164}`,
      `IDENT#telegram:${tg}`,
    ];
    const snapshot = async () =>
      (await system.items())
        .filter((i) => keysOf.includes(String(i.pk)))
        .sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
    const before = await snapshot();

    // What a Telegram shared contact resolves to: both identities verified, on two contacts.
    const merged = await resolveVerified([`phone:${p.e164}`, `telegram:${tg}`]);
    expect(merged.contactId).toBe(texted.contactId);
    expect(merged.merged?.mergedIds).toEqual([chatted.contactId]);
    const mergeId = merged.merged?.mergeIds[0] as string;
    expect(mergeId).toMatch(/^merge-/);
    expect(merged.matchedBy).toMatchObject({ provenance: 'verified', contactId: texted.contactId });

    const record = await getMergeRecord(system.doc, system.tableName, mergeId);
    expect(record).toMatchObject({
      status: 'done',
      survivorId: texted.contactId,
      loserId: chatted.contactId,
      identities: [`telegram:${tg}`],
      gained: { identities: [`telegram:${tg}`], verifiedIdentities: [`telegram:${tg}`] },
    });
    const moved = (await partition(`CONTACT#${texted.contactId}`)).filter(
      (i) => (i.mergeUndo as { mergeId?: string } | undefined)?.mergeId === mergeId,
    );
    expect(moved.map((i) => i.type).sort()).toEqual(['interaction', 'interaction', 'lead']);
    // The moved lead went to the survivor's owner.
    expect(moved.find((i) => i.type === 'lead')).toMatchObject({
      ownerId: texted.assignment.ownerId,
      previousOwnerId: chatted.assignment.ownerId,
    });
    const entry = (await partition(`CONTACT#${texted.contactId}`)).find((i) => i.event === 'merged');
    expect(entry?.summary).toContain(mergeId);
    expect(entry?.summary).toContain(`unmerge ${mergeId}`);
    expect(await partition(`CONTACT#${chatted.contactId}`)).toHaveLength(1);

    const undone = await unmergeContacts(system.doc, system.tableName, mergeId);
    expect(undone).toMatchObject({
      survivorId: texted.contactId,
      loserId: chatted.contactId,
      itemsMovedBack: 3,
    });

    const after = await snapshot();
    const added = after.filter((i) => i.event === 'merged' || i.event === 'unmerged');
    expect(added.map((i) => `${i.pk} ${i.event} ${i.mergeId}`).sort()).toEqual(
      [
        `CONTACT#${chatted.contactId} unmerged ${mergeId}`,
        `CONTACT#${texted.contactId} merged ${mergeId}`,
        `CONTACT#${texted.contactId} unmerged ${mergeId}`,
      ].sort(),
    );
    // The two profiles remember that an administrator separated them; nothing else differs.
    const separated = Object.fromEntries(
      after.filter((i) => i.sk === 'PROFILE').map((i) => [i.pk, i.separatedFrom]),
    );
    expect(separated).toEqual({
      [`CONTACT#${texted.contactId}`]: new Set([chatted.contactId]),
      [`CONTACT#${chatted.contactId}`]: new Set([texted.contactId]),
    });
    const restored = after
      .filter((i) => !added.includes(i))
      .map((i) => {
        const { separatedFrom: _, ...rest } = i;
        return i.sk === 'PROFILE' ? rest : i;
      });
    expect(restored).toEqual(before);
    expect(await getMergeRecord(system.doc, system.tableName, mergeId)).toMatchObject({ status: 'undone' });

    // Once only.
    await expect(unmergeContacts(system.doc, system.tableName, mergeId)).rejects.toBeInstanceOf(
      MergeAlreadyUndone,
    );
    // The same evidence does not merge them again: the capture goes to the contact it found first.
    const again = await resolveVerified([`phone:${p.e164}`, `telegram:${tg}`]);
    expect(again.merged).toBeUndefined();
    expect(again.contactId).toBe(texted.contactId);
    expect((await profileOf(chatted.contactId)).mergedInto).toBeUndefined();
  });

  it('writes the merge record before anything moves', async () => {
    const [a, b] = [telegramId(), telegramId()];
    const older = await resolveVerified([`telegram:${a}`]);
    const newer = await resolveVerified([`telegram:${b}`]);
    await putTimeline(newer.contactId, 2);
    const seen: unknown[] = [];
    const doc = hooked(system.doc, async (command) => {
      if (!(command instanceof TransactWriteCommand)) return;
      const moving = command.input.TransactItems?.some(
        (i) => i.Delete?.Key?.pk === `CONTACT#${newer.contactId}`,
      );
      if (!moving || seen.length > 0) return;
      const loser = await profileOf(newer.contactId);
      seen.push(await getMergeRecord(system.doc, system.tableName, loser.mergeId as string));
    });
    const merged = await resolveVerified([`telegram:${a}`, `telegram:${b}`], doc);
    expect(merged.merged?.survivorId).toBe(older.contactId);
    expect(seen).toEqual([
      expect.objectContaining({
        status: 'started',
        loserId: newer.contactId,
        loser: expect.objectContaining({
          contactId: newer.contactId,
          identities: new Set([`telegram:${b}`]),
        }),
      }),
    ]);
  });

  it('refuses to undo a merge whose survivor was merged away since, until that merge is undone', async () => {
    const [a, b, c] = [telegramId(), telegramId(), telegramId()];
    const first = await resolveVerified([`telegram:${a}`]);
    const second = await resolveVerified([`telegram:${b}`]);
    const third = await resolveVerified([`telegram:${c}`]);
    const inner = await resolveVerified([`telegram:${b}`, `telegram:${c}`]);
    expect(inner.merged?.mergedIds).toEqual([third.contactId]);
    const outer = await resolveVerified([`telegram:${a}`, `telegram:${b}`]);
    expect(outer.merged?.mergedIds).toEqual([second.contactId]);

    const innerId = inner.merged?.mergeIds[0] as string;
    await expect(unmergeContacts(system.doc, system.tableName, innerId)).rejects.toBeInstanceOf(
      UnmergeRefused,
    );
    await unmergeContacts(system.doc, system.tableName, outer.merged?.mergeIds[0] as string);
    await unmergeContacts(system.doc, system.tableName, innerId);
    for (const [key, contact] of [
      [a, first],
      [b, second],
      [c, third],
    ] as const) {
      expect((await item(`IDENT#telegram:${key}`, 'IDENT'))?.contactId).toBe(contact.contactId);
      const profile = await profileOf(contact.contactId);
      expect(profile.mergedInto).toBeUndefined();
      expect(profile.identities).toEqual(new Set([`telegram:${key}`]));
    }
  });
});

describe('the merge race', () => {
  it('does not merge away a contact that is receiving a merge until that merge has finished', async () => {
    const [a, b, c] = [telegramId(), telegramId(), telegramId()];
    const first = await resolveVerified([`telegram:${a}`]);
    const second = await resolveVerified([`telegram:${b}`]);
    const third = await resolveVerified([`telegram:${c}`]);
    await putTimeline(second.contactId, 2);
    await putTimeline(third.contactId, 3);

    // Between this router's reads and its fence of the second contact (as the loser into the first),
    // another router fences the third contact into the second and pauses mid-copy.
    let paused = false;
    const doc = hooked(system.doc, async (command) => {
      if (paused || !(command instanceof TransactWriteCommand)) return;
      const fence = command.input.TransactItems?.find(
        (i) =>
          i.Update?.Key?.pk === `CONTACT#${second.contactId}` &&
          i.Update.UpdateExpression?.includes('mergingInto'),
      );
      if (!fence) return;
      paused = true;
      await fenceMerge(third.contactId, second.contactId, `merge-paused-${randomUUID().slice(0, 8)}`);
    });
    const resolved = await resolveVerified([`telegram:${a}`, `telegram:${b}`], doc);
    expect(paused).toBe(true);
    expect(resolved.contactId).toBe(first.contactId);
    expect(resolved.merged?.mergedIds).toEqual([second.contactId]);

    // The paused merge was finished first, so nothing was left behind in either merged contact.
    await expectAllIn(first.contactId, [second.contactId, third.contactId], [a, b, c], 5);
    expect((await profileOf(third.contactId)).mergedInto).toBe(second.contactId);
    expect((await profileOf(second.contactId)).mergedInto).toBe(first.contactId);
  });

  it('ends with one contact holding everything when the two merges race', async () => {
    for (let trial = 0; trial < 4; trial++) {
      const [a, b, c] = [telegramId(), telegramId(), telegramId()];
      const first = await resolveVerified([`telegram:${a}`]);
      const second = await resolveVerified([`telegram:${b}`]);
      const third = await resolveVerified([`telegram:${c}`]);
      await putTimeline(second.contactId, 2);
      await putTimeline(third.contactId, 3);
      // One capture proves the second and third are one person, another the first and second.
      const outcomes = await Promise.all([
        asTheQueueRetries(() => resolveVerified([`telegram:${b}`, `telegram:${c}`])),
        asTheQueueRetries(() => resolveVerified([`telegram:${a}`, `telegram:${b}`])),
      ]);
      expect(outcomes.every((outcome) => outcome.contactId !== third.contactId)).toBe(true);
      await expectAllIn(first.contactId, [second.contactId, third.contactId], [a, b, c], 5);
    }
  });
});

/** Timeline items a contact had before the merge, to see where they end. */
async function putTimeline(contactId: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const interactionId = `note-${randomUUID().slice(0, 8)}`;
    const occurredAt = new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString();
    await system.doc.send(
      new PutCommand({
        TableName: system.tableName,
        Item: {
          pk: `CONTACT#${contactId}`,
          sk: `TL#${occurredAt}#${interactionId}`,
          type: 'interaction',
          interactionId,
          contactId,
          channel: 'telegram',
          direction: 'inbound',
          occurredAt,
          summary: 'a note',
        },
      }),
    );
  }
}

/** The state a router leaves when it has fenced a merge and not yet copied anything. */
async function fenceMerge(loserId: string, survivorId: string, mergeId: string): Promise<void> {
  const now = new Date().toISOString();
  await system.doc.send(
    new UpdateCommand({
      TableName: system.tableName,
      Key: { pk: `CONTACT#${loserId}`, sk: 'PROFILE' },
      UpdateExpression: 'SET mergingInto = :survivor, mergingAt = :now, mergeId = :mergeId',
      ExpressionAttributeValues: { ':survivor': survivorId, ':now': now, ':mergeId': mergeId },
    }),
  );
  await system.doc.send(
    new UpdateCommand({
      TableName: system.tableName,
      Key: { pk: `CONTACT#${survivorId}`, sk: 'PROFILE' },
      UpdateExpression: 'ADD pendingMerges :loser',
      ExpressionAttributeValues: { ':loser': new Set([loserId]) },
    }),
  );
}

/** Redelivers like the leads queue: a resolution that lost every race is tried again. */
async function asTheQueueRetries(resolve: () => Promise<ResolvedContact>): Promise<ResolvedContact> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolve();
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/** Everything of the merged contacts is on the survivor: their items, identities, and no pending marks. */
async function expectAllIn(
  survivorId: string,
  mergedIds: readonly string[],
  telegramIds: readonly string[],
  notes: number,
): Promise<void> {
  for (const id of mergedIds) {
    const left = await partition(`CONTACT#${id}`);
    expect(left.map((i) => i.sk)).toEqual(['PROFILE']);
    expect(left[0]?.pendingMerges).toBeUndefined();
  }
  const survivor = await partition(`CONTACT#${survivorId}`);
  expect(survivor.filter((i) => i.summary === 'a note')).toHaveLength(notes);
  expect(survivor.find((i) => i.sk === 'PROFILE')?.pendingMerges).toBeUndefined();
  expect(survivor.find((i) => i.sk === 'PROFILE')?.identities).toEqual(
    new Set(telegramIds.map((id) => `telegram:${id}`)),
  );
  for (const id of telegramIds) {
    expect((await item(`IDENT#telegram:${id}`, 'IDENT'))?.contactId).toBe(survivorId);
  }
  const records = (await system.items()).filter(
    (i) => String(i.pk).startsWith('MERGE#') && mergedIds.includes(String(i.loserId)),
  );
  expect(records.map((r) => r.status)).toEqual(mergedIds.map(() => 'done'));
}
