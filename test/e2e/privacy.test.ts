import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys, markUndeliverable, routeCapture, SubmissionStore } from '@leadflow/aws';
import type { CaptureEvent } from '@leadflow/core';
import nodemailer from 'nodemailer';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { config } from '../../config';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

/**
 * Privacy and hygiene through the running local system: one person captured by a form, a chat message and an
 * inbound email (so raw mail sits in the local bucket), exported whole, erased, and then looked for in every
 * item of the table and every object of the bucket (this test may scan; the product never does). Every log
 * line the handlers write meanwhile is captured and searched for the same personal data.
 */

let system: TestSystem;
let s3: S3Client;
const tokens: Record<string, string> = {};
const logs: string[] = [];
const spies: MockInstance[] = [];

beforeAll(async () => {
  // Everything the handlers log, down to debug, is what is searched for personal data.
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  for (const stream of [process.stdout, process.stderr]) {
    spies.push(
      vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
        logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
        return true;
      }),
    );
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    spies.push(
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logs.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      }),
    );
  }
  system = await startTestSystem({ configCacheSeconds: 0 });
  s3 = new S3Client({
    endpoint: system.urls.sqs,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    forcePathStyle: true,
  });
  for (const user of ['admin@example.com', 'alice', 'carol']) tokens[user] = await system.token(user);
});

afterAll(async () => {
  s3?.destroy();
  await system?.stop();
  for (const spy of spies) spy.mockRestore();
  delete process.env.POWERTOOLS_LOG_LEVEL;
});

async function api(user: string | undefined, method: string, path: string) {
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: user ? { authorization: `Bearer ${tokens[user]}` } : {},
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const admin = (method: string, path: string) => api('admin@example.com', method, path);

/** JSON of anything, sets included (JSON.stringify writes a Set as `{}`). */
const json = (value: unknown) =>
  JSON.stringify(value, (_, inner) => (inner instanceof Set ? [...inner] : inner));

async function contactOf(emailKey: string) {
  const items = await system.items();
  const contactId = items.find((item) => item.pk === `IDENT#email:${emailKey}`)?.contactId as
    | string
    | undefined;
  const own = items.filter((item) => item.pk === `CONTACT#${contactId}`);
  return {
    contactId,
    profile: own.find((item) => item.sk === 'PROFILE'),
    leads: own.filter((item) => item.type === 'lead'),
    inbound: own.filter((item) => item.type === 'interaction' && item.direction === 'inbound'),
  };
}

async function rawMailObjects(): Promise<{ key: string; body: string }[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: system.rawMailBucket }));
  return Promise.all(
    (listed.Contents ?? []).map(async ({ Key }) => {
      const object = await s3.send(new GetObjectCommand({ Bucket: system.rawMailBucket, Key }));
      return { key: String(Key), body: (await object.Body?.transformToString('utf8')) ?? '' };
    }),
  );
}

function capture(overrides: Partial<CaptureEvent> & Pick<CaptureEvent, 'contact'>): CaptureEvent {
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'sales',
    receivedAt: new Date().toISOString(),
    language: 'en',
    consent: true,
    urgent: false,
    answers: {},
    source: { utm: {} },
    ...overrides,
  };
}

function routerDeps(clock?: () => Date) {
  return {
    doc: system.doc,
    tableName: system.tableName,
    config,
    newId: ulid,
    enqueueNotifications: async () => undefined,
    ...(clock ? { clock } : {}),
  };
}

describe('export and erase of one person, through the running system', () => {
  it('exports every piece stored, then erases it from the whole table and the raw-mail bucket', async () => {
    const p = person('privacy');
    const tag = randomUUID().slice(0, 8);
    const formText = `Please send the price list, form ${tag}`;
    const chatText = `Is there a trial for teams, chat ${tag}?`;
    const mailSubject = `Visit on Saturday ${tag}`;
    const mailText = `Can I come by the showroom, mail ${tag}?`;
    const visitorId = `visitor_${tag}`;

    // 1. A form, a chat message and an email from one person.
    const form = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: p.name,
        email: p.email,
        phone: p.phoneKr,
        message: formText,
        consent: true,
      }),
    });
    expect(form.status).toBe(202);
    const formId = ((await form.json()) as { id: string }).id;
    const byForm = await eventually(async () => {
      const state = await contactOf(p.emailKey);
      expect(state.leads).toHaveLength(1);
      return state;
    });
    const contactId = byForm.contactId as string;

    const chat = await system.post('/v1/chat/site-chat', {
      headers: { 'content-type': 'application/json', origin: 'https://www.example.com' },
      body: JSON.stringify({
        visitorId,
        sessionId: `session_${tag}`,
        messageId: `message_${tag}`,
        name: p.name,
        email: p.email,
        text: chatText,
      }),
    });
    expect(chat.status).toBe(202);
    const chatId = ((await chat.json()) as { id: string }).id;
    await eventually(async () => expect((await contactOf(p.emailKey)).inbound).toHaveLength(2));

    const { hostname, port } = new URL(system.urls.smtp);
    const smtp = nodemailer.createTransport({
      host: hostname,
      port: Number(port),
      secure: false,
      ignoreTLS: true,
    });
    try {
      await smtp.sendMail({
        from: `"${p.name}" <${p.emailKey}>`,
        to: 'sales@example.com',
        subject: mailSubject,
        text: mailText,
        messageId: `<${tag}@mail.example.org>`,
      });
    } finally {
      smtp.close();
    }
    const captured = await eventually(async () => {
      const state = await contactOf(p.emailKey);
      expect(state.inbound).toHaveLength(3);
      expect(state.contactId).toBe(contactId);
      return state;
    });
    expect((await rawMailObjects()).some((object) => object.body.includes(mailText))).toBe(true);
    // Raw payloads carry the retention the functions were given (30 days by default).
    const stored = (await system.items()).filter(
      (item) => item.type === 'submission' && json(item.capture).includes(tag),
    );
    expect(stored).toHaveLength(3);
    for (const item of stored) {
      expect(Number(item.ttl) - Number(item.windowEndsAt)).toBeGreaterThan(22 * 24 * 60 * 60);
      expect(Number(item.ttl) * 1000 - Date.now()).toBeLessThanOrEqual(30 * 24 * 60 * 60 * 1000 + 60_000);
    }

    // 2. Only an admin may export, erase, or read the hygiene lists and the audit trail.
    for (const user of ['alice', 'carol']) {
      expect((await api(user, 'GET', `/v1/admin/contacts/${contactId}/export`)).status).toBe(403);
      expect((await api(user, 'DELETE', `/v1/admin/contacts/${contactId}`)).status).toBe(403);
      expect((await api(user, 'GET', '/v1/admin/hygiene')).status).toBe(403);
      expect((await api(user, 'GET', '/v1/admin/audit')).status).toBe(403);
    }
    expect((await api(undefined, 'GET', `/v1/admin/contacts/${contactId}/export`)).status).toBe(401);
    expect((await api(undefined, 'DELETE', `/v1/admin/contacts/${contactId}`)).status).toBe(401);

    // 3. The export holds every piece: once the notifier has recorded every send routing asked for.
    const notifications = captured.inbound.reduce(
      (sum, entry) => sum + (entry.notify as unknown[]).length,
      0,
    );
    expect(notifications).toBeGreaterThanOrEqual(4);
    const exported = await eventually(async () => {
      const response = await admin('GET', `/v1/admin/contacts/${contactId}/export`);
      expect(response.status).toBe(200);
      expect(response.body.acknowledgements).toHaveLength(1);
      expect(response.body.notifications).toHaveLength(notifications);
      return response.body;
    }, 20_000);
    expect(exported.contactId).toBe(contactId);
    expect(exported.resolvedFrom).toBeUndefined();
    expect(exported.contact).toMatchObject({ contactId, name: p.name });
    expect(exported.contact.emails).toContain(p.emailKey);
    expect(exported.contact.phones).toContain(p.e164);
    expect(exported.identities.map((item: { pk: string }) => item.pk).sort()).toEqual(
      [`IDENT#chat:${visitorId}`, `IDENT#email:${p.emailKey}`, `IDENT#phone:${p.e164}`].sort(),
    );
    expect(exported.leads.map((lead: { channel: string }) => lead.channel).sort()).toEqual(
      ['chat', 'email', 'web_form'].sort(),
    );
    expect(exported.leads.find((lead: { leadId: string }) => lead.leadId === formId)?.capture).toMatchObject({
      message: formText,
      contact: { name: p.name, phone: p.e164 },
    });
    const inboundIds = captured.inbound.map((item) => item.interactionId).sort();
    expect(
      exported.timeline
        .filter((entry: { direction?: string }) => entry.direction === 'inbound')
        .map((entry: { interactionId: string }) => entry.interactionId)
        .sort(),
    ).toEqual(inboundIds);
    expect(json(exported.timeline)).toContain(chatText);
    expect(json(exported.timeline)).toContain(mailSubject);
    expect(exported.submissions.map((item: { submissionId: string }) => item.submissionId).sort()).toEqual(
      inboundIds,
    );
    expect(exported.submissions.map((item: { submissionId: string }) => item.submissionId)).toEqual(
      expect.arrayContaining([formId, chatId]),
    );
    expect(exported.notifications.every((item: { pk: string }) => item.pk === 'NOTIFY#notifier')).toBe(true);
    expect(exported.acknowledgements[0].pk).toMatch(/^ACK#MAILBOX#[0-9a-f]{64}$/);
    expect(exported.rawMail).toHaveLength(1);
    expect(exported.rawMail[0]).toMatchObject({ status: 'found', encoding: 'utf8', truncated: false });
    expect(exported.rawMail[0].key).toMatch(/^inbound\//);
    expect(exported.rawMail[0].content).toContain(mailText);
    expect(exported.rawMail[0].content).toContain(mailSubject);
    expect(exported.merges).toEqual([]);

    // 4. Erase: 200 with what went, then none of it anywhere.
    const erased = await admin('DELETE', `/v1/admin/contacts/${contactId}`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ contactId, alreadyErased: false, mergedContacts: [] });
    expect(erased.body.erased).toMatchObject({
      contacts: 1,
      identities: 3,
      leads: 3,
      submissions: 3,
      acknowledgementRecords: 1,
      rawMailObjects: 1,
    });
    expect(erased.body.erased.notificationRecords).toBe(exported.notifications.length);
    expect(erased.body.erased.timelineEntries).toBeGreaterThanOrEqual(3);

    const personal = [
      p.email,
      p.emailKey,
      p.name,
      p.e164,
      p.e164.slice(1),
      p.phoneKr,
      p.phoneKr.replace(/-/g, ''),
      visitorId,
      formText,
      chatText,
      mailSubject,
      mailText,
    ];
    const table = json(await system.items());
    const objects = json(await rawMailObjects());
    for (const value of personal) {
      expect(table, `the table still holds ${value}`).not.toContain(value);
      expect(objects, `the raw-mail bucket still holds ${value}`).not.toContain(value);
    }
    // What stays: the tombstone and the leads' ids, channels, statuses and times.
    const after = await system.items();
    const tombstone = after.find((item) => item.pk === `CONTACT#${contactId}` && item.sk === 'PROFILE');
    expect(tombstone).toMatchObject({ contactId, erasedAt: erased.body.erasedAt });
    expect(tombstone?.gsi1pk).toBeUndefined();
    const leads = after.filter((item) => item.pk === `CONTACT#${contactId}` && item.type === 'lead');
    expect(leads.map((lead) => lead.channel).sort()).toEqual(['chat', 'email', 'web_form']);
    for (const lead of leads) {
      expect(lead).toMatchObject({ status: 'new', erasedAt: erased.body.erasedAt });
      expect(lead.capturedAt).toEqual(expect.any(String));
      expect(lead.gsi4pk).toBeUndefined();
    }
    expect(after.some((item) => String(item.pk).startsWith('STATS#CHANNEL#'))).toBe(true);

    // 5. Erasing again answers the same way and finds nothing left; an unknown id is a 404.
    const again = await admin('DELETE', `/v1/admin/contacts/${contactId}`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ contactId, alreadyErased: true, erasedAt: erased.body.erasedAt });
    expect(Object.values(again.body.erased).every((count) => count === 0)).toBe(true);
    expect((await admin('DELETE', `/v1/admin/contacts/${ulid()}`)).status).toBe(404);
    expect((await admin('GET', `/v1/admin/contacts/${ulid()}/export`)).status).toBe(404);
    const tombstoneExport = await admin('GET', `/v1/admin/contacts/${contactId}/export`);
    expect(tombstoneExport.body.contact).toMatchObject({ erasedAt: erased.body.erasedAt });
    expect(tombstoneExport.body.identities).toEqual([]);

    // 6. The audit trail has the export and both erasures, newest first, without the personal data.
    const audit = await admin('GET', `/v1/admin/audit?target=${encodeURIComponent(`contact:${contactId}`)}`);
    expect(audit.status).toBe(200);
    const trail = audit.body.items as { action: string; at: string; actor: string }[];
    // The tombstone's export, both erasures, then the export(s) before them.
    expect(trail.map((entry) => entry.action).slice(0, 4)).toEqual([
      'contact.exported',
      'contact.erased',
      'contact.erased',
      'contact.exported',
    ]);
    expect(trail.map((entry) => entry.at)).toEqual(
      trail
        .map((entry) => entry.at)
        .sort()
        .reverse(),
    );
    expect(trail[1]?.actor).toBe('admin@example.com');
    const erasures = await admin('GET', '/v1/admin/audit?action=contact.erased&limit=100');
    expect(erasures.body.items.every((entry: { action: string }) => entry.action === 'contact.erased')).toBe(
      true,
    );
    for (const value of personal) expect(json(audit.body)).not.toContain(value);

    // 7. The erased contact is never revived: the person writing again is a new contact.
    const back = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: p.name, email: p.email, consent: true }),
    });
    expect(back.status).toBe(202);
    const returned = await eventually(async () => {
      const state = await contactOf(p.emailKey);
      expect(state.leads).toHaveLength(1);
      return state;
    });
    expect(returned.contactId).not.toBe(contactId);
    const stillTombstone = await system.doc.send(
      new GetCommand({ TableName: system.tableName, Key: keys.contact(contactId) }),
    );
    expect(json(stillTombstone.Item)).not.toContain(p.emailKey);

    // 8. Nothing personal was ever logged, and the handlers did log.
    const logged = logs.join('\n');
    expect(logged).toContain('Lead routed');
    expect(logged).toContain('Notification sent');
    expect(logged).toContain('Request handled');
    for (const value of personal) expect(logged, `a log line holds ${value}`).not.toContain(value);
  }, 90_000);
});

describe('hygiene lists, through the running system', () => {
  it('lists unresolved possible duplicates until a merge resolves them', async () => {
    const p = person('dupes');
    const phone = `phone:${p.e164}`;
    const email = `email:${p.emailKey}`;
    // A texter the provider vouches for, then a form claiming that phone with an email: two linked contacts.
    const texter = await routeCapture(
      routerDeps(),
      capture({ channel: 'sms', sourceId: '+14155552671', contact: { phone: p.e164 }, verified: [phone] }),
    );
    const byForm = await routeCapture(
      routerDeps(),
      capture({ contact: { name: p.name, email: p.email, emailKey: p.emailKey, phone: p.e164 } }),
    );
    expect(byForm.contactId).not.toBe(texter.contactId);
    const listed = await admin('GET', '/v1/admin/hygiene?section=duplicates&limit=100');
    expect(listed.status).toBe(200);
    expect(listed.body.undeliverable).toBeUndefined();
    const duplicatesOf = (id: string) =>
      listed.body.duplicates.items.find((entry: { contactId: string }) => entry.contactId === id)?.duplicates;
    expect(duplicatesOf(texter.contactId)).toEqual([byForm.contactId]);
    expect(duplicatesOf(byForm.contactId)).toEqual([texter.contactId]);

    // The mail provider vouches for the address, then one capture proves both: the two merge.
    await routeCapture(
      routerDeps(),
      capture({
        channel: 'email',
        sourceId: 'sales@example.com',
        contact: { email: p.email, emailKey: p.emailKey },
        verified: [email],
      }),
    );
    const merged = await routeCapture(
      routerDeps(),
      capture({ contact: { email: p.email, emailKey: p.emailKey, phone: p.e164 }, verified: [email, phone] }),
    );
    expect(merged.merged?.mergedIds).toHaveLength(1);
    const after = await admin('GET', '/v1/admin/hygiene?section=duplicates&limit=100');
    const ids = after.body.duplicates.items.map((entry: { contactId: string }) => entry.contactId);
    expect(ids).not.toContain(texter.contactId);
    expect(ids).not.toContain(byForm.contactId);
    const survivor = await system.doc.send(
      new GetCommand({ TableName: system.tableName, Key: keys.contact(merged.contactId) }),
    );
    expect(survivor.Item?.gsi4pk).toBeUndefined();

    // A merged-away id exports (and would erase) the contact it was merged into, and says so.
    const loserId = merged.merged?.mergedIds[0] as string;
    const exported = await admin('GET', `/v1/admin/contacts/${loserId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body).toMatchObject({ contactId: merged.contactId, resolvedFrom: loserId });
    expect(exported.body.mergedContacts.map((item: { contactId: string }) => item.contactId)).toEqual([
      loserId,
    ]);
    expect(exported.body.merges).toHaveLength(1);

    // Erased, the merge record keeps no trace of the person either.
    const erased = await admin('DELETE', `/v1/admin/contacts/${loserId}`);
    expect(erased.body).toMatchObject({
      contactId: merged.contactId,
      resolvedFrom: loserId,
      mergedContacts: [loserId],
    });
    expect(erased.body.erased).toMatchObject({ contacts: 2, mergeRecords: 1 });
    const table = json(await system.items());
    for (const value of [p.email, p.emailKey, p.name, p.e164]) expect(table).not.toContain(value);
  });

  it('lists contacts whose address bounced', async () => {
    const p = person('bounce');
    const routed = await routeCapture(
      routerDeps(),
      capture({ contact: { name: p.name, email: p.email, emailKey: p.emailKey } }),
    );
    const data = { doc: system.doc, tableName: system.tableName, clock: () => new Date() };
    expect(await markUndeliverable(data, ` ${p.email.toUpperCase()} `, 'hard_bounce')).toEqual({
      contactId: routed.contactId,
    });
    expect(
      await markUndeliverable(data, `nobody.${randomUUID()}@example.com`, 'hard_bounce'),
    ).toBeUndefined();
    expect(await markUndeliverable(data, 'not an address', 'hard_bounce')).toBeUndefined();
    const listed = await admin('GET', '/v1/admin/hygiene?section=undeliverable&limit=100');
    expect(listed.body.undeliverable.items).toContainEqual(
      expect.objectContaining({
        contactId: routed.contactId,
        reason: 'hard_bounce',
        addresses: [p.emailKey],
      }),
    );
  });

  it('lists open leads untouched for N days, stalest first, a page at a time', async () => {
    const days = (n: number) => () => new Date(Date.now() - n * 24 * 60 * 60 * 1000);
    const someone = () => {
      const address = `stale.${randomUUID()}@example.com`;
      return { email: address, emailKey: address };
    };
    const older = await routeCapture(routerDeps(days(40)), capture({ contact: someone() }));
    const old = await routeCapture(routerDeps(days(20)), capture({ contact: someone() }));
    const leadIds = async (query: string) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const response = await admin(
          'GET',
          `/v1/admin/hygiene?section=stale&${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(response.status).toBe(200);
        ids.push(...response.body.stale.items.map((lead: { leadId: string }) => lead.leadId));
        cursor = response.body.stale.nextCursor;
      } while (cursor);
      return ids;
    };
    const fortnight = await leadIds('staleDays=14&limit=1');
    expect(fortnight).toEqual(expect.arrayContaining([older.leadId, old.leadId]));
    if (older.assignment.teamId === old.assignment.teamId) {
      expect(fortnight.indexOf(older.leadId)).toBeLessThan(fortnight.indexOf(old.leadId));
    }
    const month = await leadIds('staleDays=30&limit=100');
    expect(month).toContain(older.leadId);
    expect(month).not.toContain(old.leadId);
    expect((await admin('GET', '/v1/admin/hygiene?staleDays=0')).status).toBe(422);
    expect((await admin('GET', '/v1/admin/hygiene?section=stale&cursor=nonsense')).status).toBe(422);
  });
});

describe('raw payload retention', () => {
  it('gives stored submissions the retention, never shorter than their idempotency window', async () => {
    const store = new SubmissionStore(system.doc, system.tableName, { retentionDays: 1 });
    const now = new Date();
    const seconds = Math.floor(now.getTime() / 1000);
    const ttlOf = async (hash: string) =>
      (await system.doc.send(new GetCommand({ TableName: system.tableName, Key: keys.submission(hash) })))
        .Item?.ttl;
    const shortHash = `retention-${randomUUID()}`;
    const first = capture({ contact: { emailKey: 'a@example.com' } });
    await store.store(
      { idempotencyHash: shortHash, requestHash: 'r', windowSeconds: 600, capture: first },
      now,
    );
    expect(await ttlOf(shortHash)).toBe(seconds + 24 * 60 * 60);
    // The 10-minute duplicate check still answers the first capture.
    const repeat = await store.store(
      { idempotencyHash: shortHash, requestHash: 'r', windowSeconds: 600, capture: capture({ contact: {} }) },
      new Date(now.getTime() + 60_000),
    );
    expect(repeat).toMatchObject({ replay: true, capture: { submissionId: first.submissionId } });
    const longHash = `retention-${randomUUID()}`;
    await store.store(
      {
        idempotencyHash: longHash,
        requestHash: 'r',
        windowSeconds: 7 * 24 * 60 * 60,
        capture: capture({ contact: {} }),
      },
      now,
    );
    expect(await ttlOf(longHash)).toBe(seconds + 7 * 24 * 60 * 60);
  });
});
