import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { privacyKeys } from '@leadflow/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../config';
import { eventually, person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

/**
 * Follow-ups through the running local system, with the demo sequence (+1 day if still not contacted, +3
 * days if no reply) shrunk by SLA_TIME_SCALE to +8 s and +24 s: the steps go out on schedule as subscription
 * mail, and stop for a status change, a one-click unsubscribe and a bounce.
 */
const DAY_SECONDS = 8;
const SCALE = DAY_SECONDS / 86_400;
const run = promisify(execFile);

let system: TestSystem;
let admin: string;

interface TimelineEntry {
  readonly kind: string;
  readonly step?: number;
  readonly reason?: string;
  readonly stopped?: boolean;
  readonly [key: string]: unknown;
}
interface LeadDetail {
  readonly lead: { leadId: string; contactId: string; ownerId?: string; status: string; etag: string };
  readonly timeline: TimelineEntry[];
}

async function api(token: string, method: string, path: string, body?: unknown, headers = {}) {
  return fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function leadDetail(leadId: string): Promise<LeadDetail> {
  const response = await api(admin, 'GET', `/v1/leads/${leadId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as LeadDetail;
}

/** The follow-up outcomes on a lead's timeline, by step. */
async function followUpEntries(leadId: string): Promise<TimelineEntry[]> {
  return (await leadDetail(leadId)).timeline.filter((entry) => entry.kind.startsWith('followup_'));
}

const to = (address: string) => (emails: SentEmail[]) =>
  emails.filter((email) => email.destination.to.some((each) => each.toLowerCase() === address.toLowerCase()));
const header = (email: SentEmail | undefined, name: string) =>
  email?.headers?.find((each) => each.name.toLowerCase() === name.toLowerCase())?.value;

/** Posts a form lead with consent; answers its lead id and when it was posted (epoch seconds). */
async function formLead(lead: ReturnType<typeof person>, formId = 'demo-contact') {
  const postedAt = Date.now() / 1000;
  const response = await system.post(`/v1/forms/${formId}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: lead.name, email: lead.email, message: 'A quote, please', consent: true }),
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  return { leadId: id, postedAt, address: lead.emailKey };
}

/** `npm run -s ses-event -- <kind> <address>` against this system's table: what the README tells people. */
async function sesEvent(kind: 'bounce' | 'complaint', address: string) {
  const { stdout } = await run(
    'npm',
    [
      'run',
      '-s',
      'ses-event',
      '--',
      kind,
      address,
      '--table',
      system.tableName,
      '--endpoint',
      system.urls.dynamodb,
    ],
    { env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
  );
  return JSON.parse(stdout.trim()) as {
    outcomes: { event: string; suppressed: boolean; contactId?: string; recorded: boolean }[];
  };
}

const SUBJECT_NOT_CONTACTED = 'Leadflow Demo: we have not forgotten your message';
const SUBJECT_STILL_INTERESTED = 'Still interested? Leadflow Demo';

type Posted = Awaited<ReturnType<typeof formLead>>;
let full: Posted;
let contacted: Posted;
let unsubscribing: Posted;
let bouncing: Posted;

beforeAll(async () => {
  system = await startTestSystem({ slaTimeScale: SCALE });
  admin = await system.token('admin@example.com');
  // Every sequence starts now, so all four run their course in the same 24 s.
  [full, contacted, unsubscribing, bouncing] = await Promise.all([
    formLead(person('seq')),
    formLead(person('status')),
    formLead(person('unsub'), 'demo-contact-ko'),
    formLead(person('bounce')),
  ]);
});

afterAll(async () => {
  await system?.stop();
});

// Concurrent: each scenario acts at its own moment of the same 24 s, as the sequences run side by side.
describe.concurrent('a follow-up sequence', () => {
  it('sends its steps on schedule, as subscription mail from the owner', async () => {
    const emails = await system.waitForEmails((all) => to(full.address)(all).length >= 3, 45_000);
    const [ack, first, second] = to(full.address)(emails).sort((a, b) => a.at - b.at);

    // The acknowledgement answers the person's own request: transactional, no List-Unsubscribe.
    expect(ack?.subject).toBe('Leadflow Demo received your message');
    expect(ack?.from).toMatch(/<leads@example\.com>$/);
    expect(header(ack, 'List-Unsubscribe')).toBeUndefined();
    expect(header(ack, 'List-Unsubscribe-Post')).toBeUndefined();

    // +1 day and +3 days after the capture, under the time scale (SES local keeps whole seconds).
    expect(first?.subject).toBe(SUBJECT_NOT_CONTACTED);
    expect(second?.subject).toBe(SUBJECT_STILL_INTERESTED);
    expect((first?.at ?? 0) - full.postedAt).toBeGreaterThanOrEqual(DAY_SECONDS - 1);
    expect((second?.at ?? 0) - full.postedAt).toBeGreaterThanOrEqual(3 * DAY_SECONDS - 1);

    const { lead } = await leadDetail(full.leadId);
    const owner = config.managers.get(lead.ownerId ?? '');
    expect(owner).toBeDefined();
    for (const email of [first, second]) {
      // Another sender than the transactional mail, the owner's name on it, replies to the owner.
      expect(email?.from).toBe(`"${owner?.name}" <news@example.com>`);
      expect(email?.replyTo).toEqual([`"${owner?.name}" <${owner?.email}>`]);
      const link = header(email, 'List-Unsubscribe') ?? '';
      expect(link.startsWith(`<${system.urls.api}/u/`)).toBe(true);
      expect(link).toMatch(/\/u\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}>$/);
      expect(header(email, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(email?.body.text).toContain(owner?.name);
      expect(email?.body.html).toContain('/u/');
    }
    const entries = await followUpEntries(full.leadId);
    expect(entries.map(({ kind, step }) => ({ kind, step }))).toEqual([
      { kind: 'followup_sent', step: 0 },
      { kind: 'followup_sent', step: 1 },
    ]);
  }, 60_000);

  it('stops when the lead’s status changes', async () => {
    // The owner moves the lead on, through the API, long before the first step is due. (At this time scale
    // an SLA escalation may reassign it meanwhile: then the new owner does, with the new ETag.)
    await eventually(async () => {
      const { lead } = await leadDetail(contacted.leadId);
      expect(lead.ownerId).toBeDefined();
      const owner = await system.token(lead.ownerId as string);
      const moved = await api(
        owner,
        'PATCH',
        `/v1/leads/${contacted.leadId}`,
        { status: 'contacted' },
        {
          'if-match': lead.etag,
        },
      );
      expect(moved.status).toBe(200);
    }, 5_000);

    const [stop] = await eventually(async () => {
      const entries = await followUpEntries(contacted.leadId);
      expect(entries).toHaveLength(1);
      return entries;
    }, 30_000);
    expect(stop).toMatchObject({
      kind: 'followup_skipped',
      step: 0,
      reason: 'status_changed',
      stopped: true,
    });
    // Ended: no later step is scheduled, and the only mail the person got is the acknowledgement.
    const mail = to(contacted.address)(await system.emails());
    expect(mail.map((email) => email.subject)).toEqual(['Leadflow Demo received your message']);
  }, 60_000);

  it('stops at once after a one-click unsubscribe (RFC 8058)', async () => {
    const emails = await system.waitForEmails((all) => to(unsubscribing.address)(all).length >= 2, 30_000);
    const first = to(unsubscribing.address)(emails).find((email) => header(email, 'List-Unsubscribe'));
    // The Korean form's lead gets Korean follow-ups.
    expect(first?.subject).toMatch(/: 문의하신 내용을 잊지 않았습니다$/);
    const url = /^<([^>]+)>$/.exec(header(first, 'List-Unsubscribe') ?? '')?.[1] as string;

    // A prefetch (a GET) changes nothing: it is a page with a button, in the lead's language.
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html lang="ko">');

    // What a mailbox provider sends: a POST with the one-click body, no cookie, no credentials.
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const { lead, timeline } = await leadDetail(unsubscribing.leadId);
    const contact = await api(admin, 'GET', `/v1/contacts/${lead.contactId}`);
    const { contact: profile } = (await contact.json()) as { contact: { unsubscribedAt?: string } };
    expect(profile.unsubscribedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(timeline.some((entry) => entry.kind === 'unsubscribed' && entry.via === 'one_click')).toBe(true);

    // The next step's timer fires and sends nothing.
    const entries = await eventually(async () => {
      const found = await followUpEntries(unsubscribing.leadId);
      expect(found).toHaveLength(2);
      return found;
    }, 30_000);
    expect(entries[1]).toMatchObject({
      kind: 'followup_skipped',
      step: 1,
      reason: 'unsubscribed',
      stopped: true,
    });
    expect(to(unsubscribing.address)(await system.emails())).toHaveLength(2);
  }, 60_000);

  it('after `ses-event bounce`, the address receives nothing more: its sequence ends', async () => {
    await system.waitForEmails((all) => to(bouncing.address)(all).length >= 1, 15_000);
    const printed = await sesEvent('bounce', bouncing.address);
    expect(printed.outcomes).toMatchObject([{ event: 'email_bounced', suppressed: true }]);
    const sentBefore = to(bouncing.address)(await system.emails()).length;

    // The address is undeliverable on its contact, and the bounce is on its timeline.
    const { lead, timeline } = await leadDetail(bouncing.leadId);
    expect(timeline.some((entry) => entry.kind === 'email_bounced')).toBe(true);
    const contact = (await (await api(admin, 'GET', `/v1/contacts/${lead.contactId}`)).json()) as {
      contact: { undeliverable?: { reason?: string; addresses: string[] } };
    };
    expect(contact.contact.undeliverable).toMatchObject({
      reason: 'bounce: Permanent General (5.1.1)',
      addresses: [bouncing.address],
    });

    // A new form from the address: a new lead, whose own sequence ends at once too.
    const again = await formLead({
      ...person('bounce'),
      email: bouncing.address,
      emailKey: bouncing.address,
    });
    const stops = await eventually(async () => {
      const found = await Promise.all(
        [bouncing.leadId, again.leadId].map(async (leadId) =>
          (await followUpEntries(leadId)).find((entry) => entry.stopped === true),
        ),
      );
      expect(found.every((entry) => entry !== undefined)).toBe(true);
      return found;
    }, 40_000);
    for (const stop of stops)
      expect(stop).toMatchObject({ kind: 'followup_skipped', reason: 'undeliverable' });
    expect(to(bouncing.address)(await system.emails())).toHaveLength(sentBefore);
  }, 90_000);

  it('after `ses-event bounce` of an address, even the acknowledgement of its first form is not sent', async () => {
    const fresh = person('bounced-first');
    const printed = await sesEvent('bounce', fresh.emailKey);
    // Nobody has the address yet: it is suppressed all the same.
    expect(printed.outcomes).toEqual([{ event: 'email_bounced', suppressed: true, recorded: false }]);
    const posted = await formLead(fresh);
    // The notifier's record of the acknowledgement: skipped for the suppression, before anything was sent.
    const record = await eventually(async () => {
      const { Item } = await system.doc.send(
        new GetCommand({
          TableName: system.tableName,
          Key: privacyKeys.notifyRecord(`${posted.leadId}:acknowledgement`),
        }),
      );
      expect(Item?.status).toBe('COMPLETED');
      return Item;
    }, 15_000);
    const data = typeof record?.data === 'string' ? JSON.parse(record.data) : record?.data;
    expect(data).toEqual({ skipped: 'suppressed' });
    // The lead itself is there, and alerted to its owner.
    const { lead } = await leadDetail(posted.leadId);
    expect(lead.status).toBe('new');
    expect(to(fresh.emailKey)(await system.emails())).toEqual([]);
  }, 60_000);
});
