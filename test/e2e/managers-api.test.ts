import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

/**
 * The managers' API through the running local system, with the seeded users' tokens: who sees what, the
 * funnel, and the analytics it moves, computed here independently of the server's own sums.
 */

let system: TestSystem;
const tokens: Record<string, string> = {};

async function api(
  user: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[user]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

interface Lead {
  leadId: string;
  contactId: string;
  ownerId?: string;
  status: string;
  etag: string;
  capturedAt: string;
  channel: string;
  firstResponse?: { at: string; speedToLeadMs: number; via: string };
  acknowledged?: { at: string; by: string };
  capture: { name?: string };
}

const leadsOf: Record<string, Lead[]> = {};

async function submit(form: string, tag: string, extra: Record<string, unknown> = {}) {
  const p = person(tag);
  const response = await system.post(`/v1/forms/${form}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: p.name, email: p.email, phone: p.phoneKr, consent: true, ...extra }),
  });
  expect(response.status).toBe(202);
  return p;
}

beforeAll(async () => {
  system = await startTestSystem();
  for (const user of ['alice', 'bob', 'somchai', 'nok', 'carol', 'dave', 'admin@example.com']) {
    tokens[user] = await system.token(user);
  }
  await submit('demo-contact', 'api1', { message: 'Catalogue please' });
  await submit('demo-contact', 'api2', { message: 'Price list please' });
  await submit('demo-contact-th', 'api3', { message: 'สวัสดีครับ', phone: undefined });
  const all = await eventually(async () => {
    const page = await api('admin@example.com', 'GET', '/v1/leads?limit=100');
    expect(page.status).toBe(200);
    const owned = (page.body.items as Lead[]).filter((lead) => lead.ownerId);
    expect(owned).toHaveLength(3);
    return owned;
  }, 20_000);
  for (const lead of all) {
    const owner = lead.ownerId as string;
    leadsOf[owner] = [...(leadsOf[owner] ?? []), lead];
  }
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

describe('tokens', () => {
  it('answers 401 to a missing, expired, tampered or foreign-key token, with nothing revealed', async () => {
    const missing = await fetch(`${system.urls.api}/v1/leads`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const expired = await system.token('bob', { expiresInSeconds: -60 });
    tokens.expired = expired;
    expect((await api('expired', 'GET', '/v1/leads')).status).toBe(401);

    const [header, payload, signature] = (tokens.bob as string).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    tokens.tampered = [
      header,
      Buffer.from(JSON.stringify({ ...claims, username: 'alice', 'cognito:groups': ['admin'] })).toString(
        'base64url',
      ),
      signature,
    ].join('.');
    expect((await api('tampered', 'GET', '/v1/leads')).status).toBe(401);

    // A well-formed token with the right claims, signed by a key the issuer never published.
    const { privateKey } = await generateKeyPair('RS256');
    const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid as string;
    tokens.foreign = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(privateKey);
    const foreign = await api('foreign', 'GET', '/v1/leads');
    expect(foreign.status).toBe(401);
    expect(JSON.stringify(foreign.body)).not.toContain(String(leadsOf.bob?.[0]?.leadId));
  });

  it('answers 403 to a role that lacks the right', async () => {
    expect((await api('bob', 'GET', '/v1/admin/config')).status).toBe(403);
    expect((await api('bob', 'GET', '/v1/admin/audit')).status).toBe(403);
    expect((await api('bob', 'POST', `/v1/leads/${leadsOf.bob?.[0]?.leadId}/assign`, {})).status).toBe(403);
  });
});

describe('who may see what, over HTTP', () => {
  it("each manager lists, reads and changes only their own leads; another's answers 404", async () => {
    // Team leads (alice of sales, somchai of the Thai desk) see more: their case is the next test.
    for (const [owner, own] of Object.entries(leadsOf).filter(([id]) => !['alice', 'somchai'].includes(id))) {
      const list = await api(owner, 'GET', '/v1/leads');
      expect(list.status).toBe(200);
      expect((list.body.items as Lead[]).map((lead) => lead.leadId).sort()).toEqual(
        own.map((lead) => lead.leadId).sort(),
      );
    }
    const bobs = leadsOf.bob?.[0] as Lead;
    for (const stranger of ['carol', 'nok', 'somchai']) {
      expect((await api(stranger, 'GET', `/v1/leads/${bobs.leadId}`)).status).toBe(404);
      expect((await api(stranger, 'PATCH', `/v1/leads/${bobs.leadId}`, { status: 'contacted' })).status).toBe(
        404,
      );
      expect((await api(stranger, 'POST', `/v1/leads/${bobs.leadId}/notes`, { text: 'hi' })).status).toBe(
        404,
      );
      expect((await api(stranger, 'GET', `/v1/contacts/${bobs.contactId}`)).status).toBe(404);
    }
    // The same 404 as for a lead that does not exist.
    const none = await api('carol', 'GET', '/v1/leads/01NOSUCHLEAD0000000000000');
    const hidden = await api('carol', 'GET', `/v1/leads/${bobs.leadId}`);
    expect(hidden.status).toBe(none.status);
    expect(hidden.body.error).toBe(none.body.error);
  });

  it("a team lead sees their teams' leads, and the admin sees all", async () => {
    const sales = [...(leadsOf.alice ?? []), ...(leadsOf.bob ?? [])].map((lead) => lead.leadId).sort();
    const alice = await api('alice', 'GET', '/v1/leads');
    expect((alice.body.items as Lead[]).map((lead) => lead.leadId).sort()).toEqual(sales);
    const thai = [...(leadsOf.somchai ?? []), ...(leadsOf.nok ?? [])].map((lead) => lead.leadId).sort();
    const somchai = await api('somchai', 'GET', '/v1/leads');
    expect((somchai.body.items as Lead[]).map((lead) => lead.leadId).sort()).toEqual(thai);
    const admin = await api('admin@example.com', 'GET', '/v1/leads');
    expect((admin.body.items as Lead[]).map((lead) => lead.leadId).sort()).toEqual(
      [...sales, ...thai].sort(),
    );
    expect((await api('alice', 'GET', `/v1/leads/${thai[0]}`)).status).toBe(404);
  });
});

/** Nearest-rank percentile, as a person computes it by hand. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

describe('the funnel moves the analytics exactly', () => {
  it("capture → contacted → qualified → won moves channel conversion and the manager's speed to lead", async () => {
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(new Date());
    const before = await api('admin@example.com', 'GET', `/v1/analytics?from=${day}&to=${day}`);
    expect(before.status).toBe(200);
    const channelBefore = (before.body.channels as { channel: string }[]).find(
      (c) => c.channel === 'web_form',
    );
    const p = await submit('demo-contact', 'funnel', {
      message: 'Quote for 20 units',
      utm_source: 'newsletter',
    });
    const lead = await eventually(async () => {
      const page = await api('admin@example.com', 'GET', '/v1/leads?limit=100');
      const found = (page.body.items as Lead[]).find((candidate) => candidate.capture.name === p.name);
      expect(found?.ownerId).toBeDefined();
      return found as Lead;
    }, 20_000);
    const owner = lead.ownerId as string;

    const ack = await api(owner, 'POST', `/v1/leads/${lead.leadId}/acknowledge`);
    expect(ack.status).toBe(200);
    const acknowledgedAt = ack.body.lead.acknowledged.at as string;
    const expectedSpeed = Date.parse(acknowledgedAt) - Date.parse(lead.capturedAt);
    expect(ack.body.lead.firstResponse.speedToLeadMs).toBe(expectedSpeed);

    let etag = ack.headers.get('etag') as string;
    for (const status of ['contacted', 'qualified']) {
      const moved = await api(owner, 'PATCH', `/v1/leads/${lead.leadId}`, { status }, { 'if-match': etag });
      expect(moved.status).toBe(200);
      etag = moved.headers.get('etag') as string;
    }
    const stale = await api(
      owner,
      'PATCH',
      `/v1/leads/${lead.leadId}`,
      { status: 'proposal' },
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(412);
    const noAmount = await api(
      owner,
      'PATCH',
      `/v1/leads/${lead.leadId}`,
      { status: 'won' },
      { 'if-match': etag },
    );
    expect(noAmount.status).toBe(422);
    expect((noAmount.body.fields as { field: string }[]).map((f) => f.field).sort()).toEqual([
      'amount',
      'currency',
    ]);
    const won = await api(
      owner,
      'PATCH',
      `/v1/leads/${lead.leadId}`,
      { status: 'won', amount: 2_400_000, currency: 'KRW' },
      { 'if-match': etag },
    );
    expect(won.status).toBe(200);
    expect(won.body.status).toBe('won');

    const after = await api('admin@example.com', 'GET', `/v1/analytics?from=${day}&to=${day}`);
    const channel = (after.body.channels as Record<string, unknown>[]).find(
      (c) => c.channel === 'web_form',
    ) as Record<string, number>;
    const delta = (name: string) =>
      (channel[name] ?? 0) - ((channelBefore as Record<string, number> | undefined)?.[name] ?? 0);
    expect([delta('captured'), delta('contacted'), delta('qualified'), delta('won'), delta('lost')]).toEqual([
      1, 1, 1, 1, 0,
    ]);
    expect(channel.conversionRate).toBeCloseTo(Number(channel.won) / Number(channel.captured), 10);
    const source = (after.body.sources as Record<string, unknown>[]).find(
      (s) => s.source === 'newsletter',
    ) as Record<string, unknown>;
    expect(source).toMatchObject({ captured: 1, contacted: 1, qualified: 1, won: 1, conversionRate: 1 });
    expect(source.wonAmount).toEqual({ KRW: 2_400_000 });

    // The owner's own numbers: every lead they were given today, with the speeds computed here.
    const mine = await api(owner, 'GET', `/v1/analytics?from=${day}&to=${day}`);
    expect(mine.status).toBe(200);
    const managers = mine.body.managers as Record<string, unknown>[];
    // A team lead (alice) also sees her team's managers; a manager only themselves.
    if (owner === 'bob') expect(managers.map((m) => m.managerId)).toEqual([owner]);
    const stats = managers.find((m) => m.managerId === owner) as {
      assigned: number;
      unacknowledged: number;
      won: number;
      winRate: number;
      speedToLead: { medianMs: number; p90Ms: number; samples: number };
    };
    const ownLeads = (await api(owner, 'GET', `/v1/leads?limit=100&owner=${owner}`)).body.items as Lead[];
    const speeds = ownLeads
      .flatMap((l) => (l.firstResponse ? [l.firstResponse.speedToLeadMs] : []))
      .sort((a, b) => a - b);
    expect(speeds).toContain(expectedSpeed);
    expect(stats.assigned).toBe(ownLeads.length);
    expect(stats.unacknowledged).toBe(ownLeads.filter((l) => !l.firstResponse).length);
    expect(stats.speedToLead.samples).toBe(speeds.length);
    expect(stats.speedToLead.medianMs).toBe(percentile(speeds, 50));
    expect(stats.speedToLead.p90Ms).toBe(percentile(speeds, 90));
    expect(stats.won).toBe(1);
    expect(stats.winRate).toBe(1);

    // Another manager sees only their own numbers, never this owner's.
    const other = owner === 'bob' ? 'carol' : 'bob';
    const theirs = await api(other, 'GET', `/v1/analytics?from=${day}&to=${day}`);
    expect((theirs.body.managers as { managerId: string }[]).map((m) => m.managerId)).toEqual([other]);
  });
});

describe('the API description', () => {
  it('serves the OpenAPI document and the reference page without a token', async () => {
    const doc = await fetch(`${system.urls.api}/openapi.json`);
    expect(doc.status).toBe(200);
    const spec = (await doc.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toMatch(/^3\.1/);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/v1/leads', '/v1/leads/{id}', '/v1/analytics']),
    );
    const docs = await fetch(`${system.urls.api}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("default-src 'self'");
  });
});
