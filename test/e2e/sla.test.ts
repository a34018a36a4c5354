import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEvent } from '../support/events';
import { eventually, person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

// The SLA clock through the running local system, 20 times faster than real (SLA_TIME_SCALE 0.05): an
// urgent lead's 2-minute target is 6 s, its warning comes at 3 s, a task due in a minute reminds in 3 s.
const SCALE = 0.05;
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ slaTimeScale: SCALE });
});

afterAll(async () => {
  await system?.stop();
});

type Params = Record<string, string>;
type LeadItem = Record<string, unknown> & {
  leadId: string;
  contactId: string;
  ownerId?: string;
  sla?: { dueAt: string; stoppedBy?: string; stoppedAt?: string; breachedAt?: string; generation: number };
};

/** A missed call from `from`, as Twilio posts it, signed with the official library: an urgent lead. */
async function missedCall(from: string): Promise<void> {
  const params = loadEvent<Params>('twilio/voice-missed-call.json');
  for (const key of ['From', 'Caller']) if (key in params) params[key] = from;
  params.CallSid = `CA${randomBytes(16).toString('hex')}`;
  const url = `${system.urls.api}/v1/webhooks/twilio/voice`;
  const token = system.env.TWILIO_AUTH_TOKEN ?? '';
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  expect(response.status).toBe(200);
}

/** The lead whose capture has this phone (or email), once routed with its SLA clock. */
async function leadOf(marker: string): Promise<LeadItem> {
  return eventually(async () => {
    const lead = (await system.items()).find(
      (item) =>
        item.type === 'lead' && JSON.stringify((item as { capture?: unknown }).capture).includes(marker),
    ) as LeadItem | undefined;
    expect(lead?.sla).toBeDefined();
    return lead as LeadItem;
  }, 15_000);
}

const overdueAbout = (emails: SentEmail[], marker: string) =>
  emails.filter((email) => email.subject.startsWith('[Overdue]') && email.subject.includes(marker));

async function api(user: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${await system.token(user)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('the SLA clock end to end (SLA_TIME_SCALE 0.05)', () => {
  it('sends the team lead an [Overdue] alert when an urgent lead is not acknowledged in time', async () => {
    const caller = person('overdue');
    await missedCall(caller.e164);
    const lead = await leadOf(caller.e164);
    const dueAt = Date.parse(lead.sla?.dueAt ?? '');
    // 2 minutes at 0.05: six seconds after the call came in.
    expect(dueAt - Date.parse(String(lead.capturedAt))).toBe(2 * 60_000 * SCALE);

    const emails = await system.waitForEmails((all) => overdueAbout(all, caller.e164).length > 0, 20_000);
    const [overdue] = overdueAbout(emails, caller.e164);
    // To the sales team lead, on schedule: not before the deadline, and within seconds of it.
    expect(overdue?.destination.to.join()).toContain('alice@example.com');
    expect((overdue?.at ?? 0) * 1000).toBeGreaterThanOrEqual(Math.floor(dueAt / 1000) * 1000);
    expect((overdue?.at ?? 0) * 1000).toBeLessThan(dueAt + 8_000);
    // The owner was warned shortly before.
    const warning = emails.find(
      (email) =>
        email.destination.to.some((to) => to.includes(`${lead.ownerId}@example.com`)) &&
        email.subject.startsWith('[URGENT] Respond to') &&
        email.subject.includes(caller.e164),
    );
    expect(warning).toBeDefined();
    expect((warning?.at ?? 0) * 1000).toBeLessThanOrEqual((overdue?.at ?? 0) * 1000);

    const detail = await api('admin@example.com', 'GET', `/v1/leads/${lead.leadId}`);
    expect(detail.body.lead.sla).toMatchObject({ level: 1, breachedAt: expect.any(String) });
    const kinds = (detail.body.timeline as { kind: string }[]).map((entry) => entry.kind);
    expect(kinds).toEqual(expect.arrayContaining(['sla_warning', 'sla_breached', 'escalated']));
  });

  it('stops the clock when the owner acknowledges through the API before the breach', async () => {
    const caller = person('acked');
    await missedCall(caller.e164);
    const lead = await leadOf(caller.e164);
    const owner = lead.ownerId as string;
    const acknowledged = await api(owner, 'POST', `/v1/leads/${lead.leadId}/acknowledge`);
    expect(acknowledged.status).toBe(200);
    const dueAt = Date.parse(lead.sla?.dueAt ?? '');
    expect(Date.now()).toBeLessThan(dueAt);

    // The clock records what stopped it, and when; the timeline says so.
    const detail = await api(owner, 'GET', `/v1/leads/${lead.leadId}`);
    expect(detail.body.lead.sla).toMatchObject({ stoppedBy: 'acknowledged', stoppedAt: expect.any(String) });
    expect((detail.body.timeline as { kind: string }[]).map((entry) => entry.kind)).toContain('sla_stopped');

    // Well past the deadline: the breach timer fired and found the lead acknowledged.
    await new Promise((done) => setTimeout(done, Math.max(0, dueAt - Date.now()) + 4_000));
    const after = await api(owner, 'GET', `/v1/leads/${lead.leadId}`);
    expect(after.body.lead.sla.breachedAt).toBeUndefined();
    expect((after.body.timeline as { kind: string }[]).map((entry) => entry.kind)).not.toContain(
      'sla_breached',
    );
    expect(overdueAbout(await system.emails(), caller.e164)).toEqual([]);
  }, 30_000);

  it('reminds a task’s assignee when it is due', async () => {
    const p = person('task');
    const response = await system.post('/v1/forms/demo-contact', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: p.name, email: p.email, consent: true, message: 'Call me' }),
    });
    expect(response.status).toBe(202);
    const lead = await leadOf(p.emailKey);
    const owner = lead.ownerId as string;
    const title = `Call back ${p.name}`;
    const created = await api(owner, 'POST', `/v1/leads/${lead.leadId}/tasks`, {
      type: 'call',
      // A minute from now: three seconds at 0.05.
      dueAt: new Date(Date.now() + 60_000).toISOString(),
      title,
    });
    expect(created.status).toBe(201);
    const emails = await system.waitForEmails(
      (all) => all.some((email) => email.subject.startsWith('[Task]') && email.subject.includes(title)),
      15_000,
    );
    const reminder = emails.find((email) => email.subject.includes(title));
    expect(reminder?.destination.to.join()).toContain(`${owner}@example.com`);
  });
});
