import { randomBytes } from 'node:crypto';
import { actionLinkFor, actionLinkUrl, signActionLink } from '@leadflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

/**
 * The alert's one-tap links through the running local system: the alert a lead sends its owner carries
 * "I'm on it" and "Pass it on"; a GET of a link (a mail scanner's prefetch) only shows a page; its POST acts
 * once, as the manager it names; used, tampered and expired links change nothing. And a manager's alert
 * preferences (`PATCH /v1/me`) keep a kind of alert out of their mailbox.
 */

let system: TestSystem;
const tokens: Record<string, string> = {};

const SALES = ['alice', 'bob'] as const;
const NAMES: Record<string, string> = { alice: 'Alice Kim', bob: 'Bob Srisuk' };

async function api(user: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[user]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

interface LeadView {
  leadId: string;
  ownerId?: string;
  acknowledged?: { at: string; by?: string };
}

async function lead(leadId: string): Promise<{ lead: LeadView; timeline: { kind: string; via?: string }[] }> {
  const response = await api('admin@example.com', 'GET', `/v1/leads/${leadId}`);
  expect(response.status).toBe(200);
  return response.body;
}

/** A page of a link: what a browser (or a mail scanner) gets. */
async function open(url: string, method: 'GET' | 'POST' = 'GET') {
  const response = await fetch(url, { method, redirect: 'manual' });
  return { status: response.status, headers: response.headers, html: await response.text() };
}

interface Alert {
  readonly email: SentEmail;
  readonly leadId: string;
  readonly ownerId: string;
  readonly acknowledge: string;
  readonly pass: string;
}

/** The manager alert for a person's lead, with its lead id and its two links. */
function alertIn(emails: SentEmail[], name: string, to?: string): Alert | undefined {
  const email = emails.find(
    (e) =>
      e.subject.includes(name) &&
      e.destination.to.some((address) =>
        to
          ? address.includes(`${to}@example.com`)
          : SALES.some((id) => address.includes(`${id}@example.com`)),
      ),
  );
  if (!email) return undefined;
  const text = email.body.text ?? '';
  const leadId = /^Lead id: (\S+)$/m.exec(text)?.[1];
  const acknowledge = /^I'm on it: (\S+)$/m.exec(text)?.[1];
  const pass = /^Pass it on: (\S+)$/m.exec(text)?.[1];
  const ownerId = SALES.find((id) => email.destination.to.some((address) => address.includes(`${id}@`)));
  if (!leadId || !acknowledge || !pass || !ownerId) throw new Error(`An alert without its links:\n${text}`);
  return { email, leadId, ownerId, acknowledge, pass };
}

/** Submits a sales lead and waits for its owner's alert. */
async function newLead(tag: string): Promise<Alert & { person: ReturnType<typeof person> }> {
  const p = person(tag);
  const response = await system.post('/v1/forms/demo-contact', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: p.name, email: p.email, phone: p.phoneKr, consent: true, message: 'Hello' }),
  });
  expect(response.status).toBe(202);
  const emails = await system.waitForEmails((list) => alertIn(list, p.name) !== undefined, 20_000);
  return { ...(alertIn(emails, p.name) as Alert), person: p };
}

beforeAll(async () => {
  system = await startTestSystem();
  for (const user of ['alice', 'bob', 'admin@example.com']) tokens[user] = await system.token(user);
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

describe('the alert’s links', () => {
  it('point at the public base URL, one per action, in the alert’s HTML and text', async () => {
    const alert = await newLead('links');
    for (const url of [alert.acknowledge, alert.pass]) {
      expect(url.startsWith(`${system.env.PUBLIC_BASE_URL}/a/`)).toBe(true);
      expect(alert.email.body.html).toContain(`href="${url}"`);
    }
    expect(alert.acknowledge).not.toBe(alert.pass);
    expect(alert.email.body.html).toContain('I&#39;m on it</a>');
    expect(alert.email.body.html).toContain('Pass it on</a>');
    expect(alert.email.body.html).toContain('Open the lead</a>');
    // No personal data in a link: the person's name and address appear nowhere in it.
    for (const url of [alert.acknowledge, alert.pass]) {
      const decoded = Buffer.from(url.split('/a/')[1]?.split('.')[0] as string, 'base64url').toString();
      expect(decoded).not.toContain(alert.person.emailKey);
      expect(decoded).not.toContain(alert.person.name);
      expect(JSON.parse(decoded)).toMatchObject({ l: alert.leadId, m: alert.ownerId });
    }
  }, 40_000);

  it('"I’m on it": a GET only shows the page; the POST acknowledges as the owner, once', async () => {
    const alert = await newLead('ack');

    // A prefetch, as a mail scanner does: a page with a button, and nothing else.
    const prefetch = await open(alert.acknowledge);
    expect(prefetch.status).toBe(200);
    expect(prefetch.headers.get('cache-control')).toBe('no-store');
    expect(prefetch.headers.get('referrer-policy')).toBe('no-referrer');
    expect(prefetch.headers.get('x-robots-tag')).toMatch(/noindex/);
    expect(prefetch.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(prefetch.html).toContain(
      '<form method="post"><button type="submit">I&#39;m on it</button></form>',
    );
    expect(prefetch.html).toContain(alert.leadId);
    expect(prefetch.html).not.toContain(alert.person.name);
    expect(prefetch.html).not.toMatch(/<script/i);
    const before = await lead(alert.leadId);
    expect(before.lead.ownerId).toBe(alert.ownerId);
    expect(before.lead.acknowledged).toBeUndefined();
    // The prefetch left the SLA clock running.
    expect((before.lead as { sla?: { stoppedBy?: string } }).sla?.stoppedBy).toBeUndefined();
    // The token in a query string is no token.
    expect(
      (await open(`${system.urls.api}/a?token=${alert.acknowledge.split('/a/')[1]}`, 'POST')).status,
    ).toBe(404);
    expect((await lead(alert.leadId)).lead.acknowledged).toBeUndefined();

    const done = await open(alert.acknowledge, 'POST');
    expect(done.status).toBe(200);
    expect(done.html).toContain(`Done: you are on lead ${alert.leadId}.`);
    const after = await lead(alert.leadId);
    expect(after.lead.acknowledged?.by).toBe(alert.ownerId);
    expect(after.timeline.filter((entry) => entry.kind === 'acknowledged')).toHaveLength(1);
    // The tap stopped the SLA clock: no warning or [Overdue] alert follows for this lead.
    expect((after.lead as { sla?: { stoppedBy?: string } }).sla?.stoppedBy).toBe('acknowledged');
    expect(after.timeline.filter((entry) => entry.kind === 'sla_stopped')).toHaveLength(1);

    // Again: the page says who used it and when; nothing changes.
    for (const method of ['POST', 'GET'] as const) {
      const again = await open(alert.acknowledge, method);
      expect(again.status).toBe(409);
      expect(again.html).toContain('This link was already used');
      expect(again.html).toMatch(
        new RegExp(
          `used by ${NAMES[alert.ownerId]} \\(${alert.ownerId}\\) at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC`,
        ),
      );
      expect(again.html).toContain('Nothing was changed.');
    }
    const still = await lead(alert.leadId);
    expect(still.lead.acknowledged).toEqual(after.lead.acknowledged);
    expect(still.timeline.filter((entry) => entry.kind === 'acknowledged')).toHaveLength(1);
  }, 40_000);

  it('two taps at once act once: one passes the lead on, the other hears it was used', async () => {
    const alert = await newLead('race');
    const pages = await Promise.all([
      open(alert.pass, 'POST'),
      open(alert.pass, 'POST'),
      open(alert.pass, 'POST'),
    ]);
    expect(pages.map((page) => page.status).sort()).toEqual([200, 409, 409]);
    for (const page of pages.filter((p) => p.status === 409)) {
      expect(page.html).toContain('This link was already used');
    }
    const after = await lead(alert.leadId);
    expect(after.lead.ownerId).not.toBe(alert.ownerId);
    expect(
      after.timeline.filter((entry) => entry.kind === 'assigned' && entry.via === 'passed_on'),
    ).toHaveLength(1);
  }, 40_000);

  it('a tampered link gets a clear page and changes nothing', async () => {
    const alert = await newLead('tamper');
    const token = alert.acknowledge.split('/a/')[1] as string;
    const at = 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    // The untouched link works (a page), so the refusal below is about the change alone.
    expect((await open(alert.acknowledge)).status).toBe(200);
    for (const method of ['GET', 'POST'] as const) {
      const page = await open(actionLinkUrl(system.urls.api, tampered), method);
      expect(page.status).toBe(403);
      expect(page.html).toContain('This link is not valid');
      expect(page.html).toContain('Nothing was changed.');
    }
    const malformed = await open(`${system.urls.api}/a/not-a-token`, 'POST');
    expect(malformed.status).toBe(400);
    expect((await lead(alert.leadId)).lead.acknowledged).toBeUndefined();
  }, 40_000);

  it('an expired link gets a clear page and changes nothing', async () => {
    const alert = await newLead('expired');
    const key = system.env.LINK_SECRET as string;
    expect(key.length).toBeGreaterThanOrEqual(32);
    const expired = signActionLink(
      actionLinkFor({
        leadId: alert.leadId,
        action: 'acknowledge',
        managerId: alert.ownerId,
        now: new Date(Date.now() - 25 * 3600_000),
        nonce: randomBytes(12).toString('base64url'),
      }),
      key,
    );
    // Signed with the system's own key: a link for another lead with it would work (a control).
    for (const method of ['GET', 'POST'] as const) {
      const page = await open(actionLinkUrl(system.urls.api, expired), method);
      expect(page.status).toBe(410);
      expect(page.html).toContain('This link has expired');
      expect(page.html).toContain('Nothing was changed.');
    }
    expect((await lead(alert.leadId)).lead.acknowledged).toBeUndefined();
    // The alert's own link still works.
    expect((await open(alert.acknowledge, 'POST')).status).toBe(200);
    expect((await lead(alert.leadId)).lead.acknowledged?.by).toBe(alert.ownerId);
  }, 40_000);

  it('"Pass it on" moves the lead to the other sales manager and alerts them', async () => {
    const alert = await newLead('pass');
    const other = SALES.find((id) => id !== alert.ownerId) as string;
    expect((await open(alert.pass)).status).toBe(200);
    expect((await lead(alert.leadId)).lead.ownerId).toBe(alert.ownerId);

    const done = await open(alert.pass, 'POST');
    expect(done.status).toBe(200);
    expect(done.html).toContain(`went to ${NAMES[other]} (${other})`);
    const after = await lead(alert.leadId);
    expect(after.lead.ownerId).toBe(other);
    expect(after.timeline.some((entry) => entry.kind === 'assigned' && entry.via === 'passed_on')).toBe(true);

    // The new owner's alert, with links of their own.
    const emails = await system.waitForEmails(
      (list) => alertIn(list, alert.person.name, other) !== undefined,
      20_000,
    );
    const passed = alertIn(emails, alert.person.name, other) as Alert;
    expect(passed.leadId).toBe(alert.leadId);
    expect(passed.acknowledge).not.toBe(alert.acknowledge);

    // The first owner's links are no authority over the lead any more; the new owner's are.
    const stale = await open(alert.acknowledge, 'POST');
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('This lead is no longer yours');
    expect((await lead(alert.leadId)).lead.acknowledged).toBeUndefined();
    expect((await open(passed.acknowledge, 'POST')).status).toBe(200);
    expect((await lead(alert.leadId)).lead.acknowledged?.by).toBe(other);
    // The pass link was used once: again, it says so.
    const again = await open(alert.pass, 'POST');
    expect(again.status).toBe(409);
    expect(again.html).toContain('This link was already used');
  }, 60_000);
});

describe('alert preferences (PATCH /v1/me)', () => {
  it('are all on by default, and a team lead cannot turn escalations off', async () => {
    const me = await api('bob', 'GET', '/v1/me');
    expect(me.status).toBe(200);
    expect(me.body.alerts).toEqual({
      new_lead: true,
      message: true,
      sla_warning: true,
      escalation: true,
      task_reminder: true,
    });
    const refused = await api('alice', 'PATCH', '/v1/me', { alerts: { escalation: false } });
    expect(refused.status).toBe(422);
    expect(refused.body.fields).toEqual([expect.objectContaining({ field: 'alerts.escalation' })]);
    expect((await api('alice', 'GET', '/v1/me')).body.alerts.escalation).toBe(true);
    expect((await api('bob', 'PATCH', '/v1/me', { alerts: { sideways: false } })).status).toBe(422);
    expect((await api('admin@example.com', 'PATCH', '/v1/me', { alerts: { new_lead: false } })).status).toBe(
      403,
    );
  });

  it('a manager who turned off new_lead gets no alert for their next lead; the customer still hears back', async () => {
    const off = await api('bob', 'PATCH', '/v1/me', { alerts: { new_lead: false } });
    expect(off.status).toBe(200);
    expect(off.body.alerts).toMatchObject({ new_lead: false, message: true, escalation: true });
    expect((await api('bob', 'GET', '/v1/me')).body.alerts.new_lead).toBe(false);
    try {
      // Round robin between alice and bob: within a few leads, one is bob's.
      for (let attempt = 1; attempt <= 4; attempt++) {
        const p = person(`prefs${attempt}`);
        const response = await system.post('/v1/forms/demo-contact', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: p.name, email: p.email, consent: true, message: 'Hello' }),
        });
        expect(response.status).toBe(202);
        // The lead is routed (and to whom), and its acknowledgement reached the person.
        const owned = await eventually(async () => {
          const page = await api('admin@example.com', 'GET', '/v1/leads?limit=100');
          const found = (page.body.items as (LeadView & { capture: { email?: string } })[]).find(
            (item) => item.capture.email?.toLowerCase() === p.emailKey,
          );
          expect(found?.ownerId).toBeDefined();
          return found as LeadView;
        }, 20_000);
        await system.waitForEmails(
          (list) => list.some((e) => e.destination.to.some((to) => to.toLowerCase() === p.emailKey)),
          20_000,
        );
        // Every notification of that lead has been handled.
        await eventually(
          async () => expect(await system.depth(system.queues.notifications.url)).toBe(0),
          20_000,
        );
        const emails = await system.emails();
        if (owned.ownerId === 'alice') {
          // The control: alice kept her alerts.
          expect(alertIn(emails, p.name, 'alice')).toBeDefined();
          continue;
        }
        expect(owned.ownerId).toBe('bob');
        expect(emails.filter((e) => e.subject.includes(p.name))).toEqual([]);
        expect(
          emails.some(
            (e) =>
              e.destination.to.some((to) => to.includes('bob@example.com')) &&
              (e.body.text ?? '').includes(owned.leadId),
          ),
        ).toBe(false);
        return;
      }
      throw new Error('No lead went to bob in four tries');
    } finally {
      expect((await api('bob', 'PATCH', '/v1/me', { alerts: { new_lead: true } })).status).toBe(200);
    }
  }, 120_000);
});
