import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

// Administration, /me and segments through the running local system's HTTP API, with tokens of its local
// issuer. The functions re-read the runtime configuration every CONFIG_CACHE_SECONDS (3 s here, 10 s
// deployed): a change over HTTP is seen by routing within that time, which the first test measures.
const CACHE_SECONDS = 3;
let system: TestSystem;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

beforeAll(async () => {
  system = await startTestSystem({ configCacheSeconds: CACHE_SECONDS });
});

afterAll(async () => {
  await system?.stop();
});

const ADMIN = 'admin@example.com';

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field in the assertions.
  body: any;
}

const tokens = new Map<string, string>();

/** One request to the managers' API as `user` (a seeded user: a manager id or admin@example.com). */
async function call(
  user: string,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  let token = tokens.get(user);
  if (!token) {
    token = await system.token(user);
    tokens.set(user, token);
  }
  const response = await fetch(`${system.urls.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.includes('json');
  return { status: response.status, headers: response.headers, body: isJson ? JSON.parse(text) : text };
}

/** Posts a lead to a form; returns the person. */
async function postLead(tag: string, formId: string, message = 'Hello') {
  const lead = person(tag);
  const response = await system.post(`/v1/forms/${formId}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: lead.name, email: lead.email, message, consent: true }),
  });
  expect(response.status).toBe(202);
  return lead;
}

/** The lead and contact routing wrote for a person, once it has (the table is the positive signal). */
async function routed(emailKey: string, timeoutMs = 15_000) {
  return eventually(async () => {
    const items = await system.items();
    const contactId = items.find((item) => item.pk === `IDENT#email:${emailKey}`)?.contactId;
    const lead = items.find(
      (item) => item.pk === `CONTACT#${contactId}` && String(item.sk).startsWith('LEAD#') && item.ownerId,
    );
    expect(lead).toBeDefined();
    return { contactId: String(contactId), teamId: String(lead?.teamId), ownerId: String(lead?.ownerId) };
  }, timeoutMs);
}

async function history(): Promise<{ version: number; updatedBy?: string; change?: string }[]> {
  const answer = await call(ADMIN, 'GET', '/v1/admin/config/history?limit=100');
  expect(answer.status).toBe(200);
  return answer.body.items;
}

/** A routing rule as an operator writes it (JSON text: `then` is the configuration's word). */
const rule = (json: string): Record<string, unknown> => JSON.parse(json);

const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

// First: segments need leads routed with the bundled availability (the tests below change it).
describe('segments', () => {
  it('show each viewer only the contacts they may see, page by page', async () => {
    // Two sales leads (alice and bob take turns) and one for the Thai desk, all by web form.
    const sales = [await postLead('seg-a', 'demo-contact'), await postLead('seg-b', 'demo-contact')];
    const thai = await postLead('seg-th', 'demo-contact-th');
    const salesRouted = [await routed(sales[0]?.emailKey ?? ''), await routed(sales[1]?.emailKey ?? '')];
    const thaiRouted = await routed(thai.emailKey);
    expect(thaiRouted.teamId).toBe('thai');

    // A tag and a custom field on one sales contact (as PATCH /v1/contacts does).
    const tagged = salesRouted[0] as { contactId: string; ownerId: string };
    await system.doc.send(
      new UpdateCommand({
        TableName: system.tableName,
        Key: { pk: `CONTACT#${tagged.contactId}`, sk: 'PROFILE' },
        UpdateExpression: 'SET #fields = :fields ADD tags :tags',
        ExpressionAttributeNames: { '#fields': 'fields' },
        ExpressionAttributeValues: { ':fields': { industry: 'retail' }, ':tags': new Set(['vip']) },
      }),
    );

    expect(
      (await call('bob', 'POST', '/v1/segments', { body: { name: 'mine', filter: { channel: 'web_form' } } }))
        .status,
    ).toBe(403);
    const unknownField = await call('alice', 'POST', '/v1/segments', {
      body: { name: 'bad', filter: { field: { key: 'shoe_size', equals: '42' } } },
    });
    expect(unknownField.status).toBe(422);
    expect(unknownField.body.fields).toEqual([expect.objectContaining({ field: 'filter.field.key' })]);
    const wrongType = await call('alice', 'POST', '/v1/segments', {
      body: { name: 'bad', filter: { field: { key: 'industry', equals: 'mining' } } },
    });
    expect(wrongType.status).toBe(422);

    const created = await call('alice', 'POST', '/v1/segments', {
      body: { name: 'Web forms', filter: { channel: 'web_form', source: 'demo-contact' } },
    });
    expect(created.status).toBe(201);
    const segmentId = created.body.id as string;
    expect((await call('bob', 'GET', `/v1/segments/${segmentId}`)).body).toMatchObject({
      name: 'Web forms',
      createdBy: 'alice',
    });
    expect((await call('bob', 'GET', '/v1/segments')).body.items.map((s: { id: string }) => s.id)).toContain(
      segmentId,
    );

    /** Every contact of the segment the user sees, following the cursor one contact at a time. */
    const contactsOf = async (user: string, id: string, limit = 1) => {
      const all: { id: string; ownerId: string; createdAt: string; channels: string[] }[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 200; pages++) {
        const page = await call(
          user,
          'GET',
          `/v1/segments/${id}/contacts?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(limit);
        all.push(...page.body.items);
        cursor = page.body.nextCursor;
        if (!cursor) break;
      }
      expect(cursor).toBeUndefined();
      return all;
    };

    const bobs = await contactsOf('bob', segmentId);
    expect(new Set(bobs.map((contact) => contact.ownerId))).toEqual(new Set(['bob']));
    const alices = await contactsOf('alice', segmentId);
    const ids = alices.map((contact) => contact.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const contact of alices) expect(['alice', 'bob', 'carol', 'dave']).toContain(contact.ownerId);
    for (const one of salesRouted) expect(ids).toContain(one.contactId);
    expect(ids).not.toContain(thaiRouted.contactId);
    // Newest first across the merged owner partitions, and the same set as one big page.
    const createdTimes = alices.map((contact) => contact.createdAt);
    expect(createdTimes).toEqual([...createdTimes].sort().reverse());
    expect(new Set((await contactsOf('alice', segmentId, 100)).map((contact) => contact.id))).toEqual(
      new Set(ids),
    );

    const admins = (await contactsOf(ADMIN, segmentId, 2)).map((contact) => contact.id);
    for (const one of salesRouted) expect(admins).toContain(one.contactId);
    expect(admins).not.toContain(thaiRouted.contactId); // another form
    const somchai = await contactsOf('somchai', segmentId);
    for (const contact of somchai) expect(['somchai', 'nok']).toContain(contact.ownerId);

    // Tag and custom field, together.
    const vip = await call('somchai', 'POST', '/v1/segments', {
      body: { name: 'VIP retail', filter: { tag: 'vip', field: { key: 'industry', equals: 'retail' } } },
    });
    expect(vip.status).toBe(201);
    expect((await contactsOf(ADMIN, vip.body.id)).map((contact) => contact.id)).toEqual([tagged.contactId]);
    expect((await contactsOf(tagged.ownerId, vip.body.id)).map((contact) => contact.id)).toEqual([
      tagged.contactId,
    ]);
    expect(await contactsOf('somchai', vip.body.id)).toEqual([]);

    // Deleted by its creator or an admin only.
    expect((await call('somchai', 'DELETE', `/v1/segments/${segmentId}`)).status).toBe(403);
    expect((await call('alice', 'DELETE', `/v1/segments/${segmentId}`)).status).toBe(204);
    expect((await call('alice', 'GET', `/v1/segments/${segmentId}`)).status).toBe(404);
    expect((await call(ADMIN, 'DELETE', `/v1/segments/${vip.body.id}`)).status).toBe(204);
  }, 60_000);
});

describe('the configuration over HTTP', () => {
  it('applies a rule change to routing within seconds, and refuses stale, unconditional and invalid changes', async () => {
    const read = await call(ADMIN, 'GET', '/v1/admin/config');
    expect(read.status).toBe(200);
    const version = read.body.version as number;
    expect(read.headers.get('etag')).toBe(`"${version}"`);
    const before = await history();

    // Without If-Match: 428; with a stale one: 412. Neither changes anything.
    const section = { teams: read.body.teams, routing: read.body.routing, scoring: read.body.scoring };
    expect((await call(ADMIN, 'PUT', '/v1/admin/config', { body: section })).status).toBe(428);
    const stale = await call(ADMIN, 'PUT', '/v1/admin/config', {
      body: section,
      headers: { 'if-match': `"${version - 1}"` },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.error).toBe('precondition_failed');

    // Invalid (a malformed field; a rule naming no team): refused with the field's path, nothing changed.
    const badEmail = structuredClone(section);
    badEmail.teams[0].managers[0].email = 'not-an-email';
    const ghostTeam = structuredClone(section);
    ghostTeam.routing.rules.unshift(rule('{"id": "nowhere", "then": {"teamId": "ghost"}}'));
    for (const [invalid, path] of [
      [badEmail, 'teams.0.managers.0.email'],
      [ghostTeam, 'routing.rules.0.then.teamId'],
    ] as const) {
      const refused = await call(ADMIN, 'PUT', '/v1/admin/config', {
        body: invalid,
        headers: { 'if-match': `"${version}"` },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.fields.map((field: { field: string }) => field.field)).toContain(path);
    }
    expect(await history()).toEqual(before);
    expect((await call(ADMIN, 'GET', '/v1/admin/config')).body.version).toBe(version);

    // A rule that sends a marked word to the Thai desk: a demo-contact lead otherwise goes to sales.
    const marker = `zebra${Math.random().toString(36).slice(2, 8)}`;
    const changed = structuredClone(section);
    changed.routing.rules.unshift(
      rule(`{"id": "e2e-marker", "when": {"keywords": ["${marker}"]}, "then": {"teamId": "thai"}}`),
    );
    const put = await call(ADMIN, 'PUT', '/v1/admin/config', {
      body: changed,
      headers: { 'if-match': `W/"${version}"` },
    });
    expect(put.status).toBe(200);
    const changedAt = Date.now();
    expect(put.body.version).toBe(version + 1);
    expect(put.headers.get('etag')).toBe(`"${version + 1}"`);

    // Leads until one goes where only the new rule sends it; each waits for its own routing, no sleeps.
    let tookEffectAfter: number | undefined;
    for (let attempt = 0; tookEffectAfter === undefined; attempt++) {
      const postedAfter = Date.now() - changedAt;
      expect(postedAfter, 'routing did not follow the change within 10 s').toBeLessThan(10_000);
      const lead = await postLead(`marker${attempt}`, 'demo-contact', `about ${marker}`);
      if ((await routed(lead.emailKey)).teamId === 'thai') tookEffectAfter = postedAfter;
    }
    expect(tookEffectAfter).toBeLessThan(10_000);

    const [latest] = await history();
    expect(latest).toMatchObject({
      version: version + 1,
      updatedBy: ADMIN,
      change: 'rules added: e2e-marker',
    });
    // The audit trail has the change by version, without anyone's address.
    const audit = (await system.items()).filter(
      (item) => String(item.pk).startsWith('AUDIT#') && item.action === 'config.changed',
    );
    expect(audit).toEqual([
      expect.objectContaining({
        actor: ADMIN,
        target: `config:v${version + 1}`,
        summary: 'rules added: e2e-marker',
      }),
    ]);

    // Back as it was, from the version now in force.
    const restored = await call(ADMIN, 'PUT', '/v1/admin/config', {
      body: section,
      headers: { 'if-match': `"${version + 1}"` },
    });
    expect(restored.status).toBe(200);
    expect(restored.body.change).toBe('rules removed: e2e-marker');
  }, 60_000);

  it('pages through the history with a cursor', async () => {
    const all = await history();
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(
        ADMIN,
        'GET',
        `/v1/admin/config/history?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((item: { version: number }) => item.version));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((item) => item.version));
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it('is for admins: a manager and a team lead get 403', async () => {
    for (const user of ['bob', 'alice']) {
      expect((await call(user, 'GET', '/v1/admin/config')).status).toBe(403);
      expect((await call(user, 'GET', '/v1/admin/config/history')).status).toBe(403);
      expect(
        (await call(user, 'PUT', '/v1/admin/config', { body: { teams: [] }, headers: { 'if-match': '"1"' } }))
          .status,
      ).toBe(403);
      expect(
        (await call(user, 'POST', '/v1/admin/routing/dry-run', { body: { formId: 'demo-contact' } })).status,
      ).toBe(403);
    }
    expect((await call('bob', 'PATCH', '/v1/admin/managers/bob', { body: { weight: 2 } })).status).toBe(403);
  });
});

describe('managers over HTTP', () => {
  it('lets a team lead set the out of office of their team, not of another team, nor the weight', async () => {
    const versionOf = async () => (await call(ADMIN, 'GET', '/v1/admin/config')).body.version as number;
    const before = await versionOf();
    // alice leads sales (bob's team); somchai leads thai (nok's).
    const until = inHours(24);
    const away = await call('alice', 'PATCH', '/v1/admin/managers/bob', {
      body: { outOfOfficeUntil: until },
    });
    expect(away.status).toBe(200);
    expect(away.body).toMatchObject({
      managerId: 'bob',
      teamId: 'sales',
      version: before + 1,
      manager: { outOfOfficeUntil: until },
      availability: { available: false, reason: 'out_of_office' },
    });
    expect(away.body.drained).toBeUndefined();

    expect(
      (await call('alice', 'PATCH', '/v1/admin/managers/nok', { body: { outOfOfficeUntil: until } })).status,
    ).toBe(403);
    expect((await call('alice', 'PATCH', '/v1/admin/managers/bob', { body: { weight: 3 } })).status).toBe(
      403,
    );
    expect((await call('alice', 'PATCH', '/v1/admin/managers/bob', { body: { active: false } })).status).toBe(
      403,
    );
    expect((await call(ADMIN, 'PATCH', '/v1/admin/managers/nobody', { body: { weight: 2 } })).status).toBe(
      404,
    );
    const past = await call(ADMIN, 'PATCH', '/v1/admin/managers/bob', {
      body: { outOfOfficeUntil: '2020-01-01T00:00:00+09:00' },
    });
    expect(past.status).toBe(422);
    expect(past.body.fields).toEqual([expect.objectContaining({ field: 'outOfOfficeUntil' })]);
    expect(await versionOf()).toBe(before + 1);

    // Back: a new version, and the team's queue drained at once.
    const back = await call('alice', 'PATCH', '/v1/admin/managers/bob', { body: { outOfOfficeUntil: null } });
    expect(back.status).toBe(200);
    expect(back.body.version).toBe(before + 2);
    expect(back.body.manager.outOfOfficeUntil).toBeUndefined();
    expect(back.body.availability.available).toBe(true);
    expect(back.body.drained).toMatchObject({ teamId: 'sales', stopped: 'empty' });

    // The admin changes anything, and each change is audited as manager.changed.
    const weighted = await call(ADMIN, 'PATCH', '/v1/admin/managers/nok', {
      body: { weight: 2, capacity: 50 },
    });
    expect(weighted.status).toBe(200);
    expect(weighted.body.manager).toMatchObject({ weight: 2, capacity: 50 });
    const audit = (await system.items()).filter(
      (item) => String(item.pk).startsWith('AUDIT#') && item.action === 'manager.changed',
    );
    expect(audit.map((item) => [item.actor, item.target])).toEqual(
      expect.arrayContaining([
        ['alice', 'manager:bob'],
        [ADMIN, 'manager:nok'],
      ]),
    );
    expect(
      (await call(ADMIN, 'PATCH', '/v1/admin/managers/nok', { body: { weight: 1, capacity: null } })).status,
    ).toBe(200);
  });

  it('assigns a waiting lead the moment its team has someone again', async () => {
    const until = inHours(24);
    for (const id of ['alice', 'bob']) {
      const away = await call(ADMIN, 'PATCH', `/v1/admin/managers/${id}`, {
        body: { outOfOfficeUntil: until },
      });
      expect(away.status).toBe(200);
    }
    // Routing reads the change within the cache time: a lead posted until then may still go to alice or bob.
    let queuedLead: string | undefined;
    const deadline = Date.now() + 10_000;
    while (!queuedLead) {
      expect(Date.now()).toBeLessThan(deadline);
      const lead = await postLead('queued', 'demo-contact');
      const item = await eventually(async () => {
        const items = await system.items();
        const contactId = items.find((entry) => entry.pk === `IDENT#email:${lead.emailKey}`)?.contactId;
        const found = items.find(
          (entry) => entry.pk === `CONTACT#${contactId}` && String(entry.sk).startsWith('LEAD#'),
        );
        expect(found).toBeDefined();
        return found as Record<string, unknown>;
      });
      if (item.ownerId === undefined) queuedLead = String(item.leadId);
    }
    const back = await call('bob', 'PATCH', '/v1/me/availability', { body: { outOfOfficeUntil: null } });
    expect(back.status).toBe(200);
    expect(back.body.drained.assigned).toEqual([{ leadId: queuedLead, managerId: 'bob' }]);
    expect(
      (await call(ADMIN, 'PATCH', '/v1/admin/managers/alice', { body: { outOfOfficeUntil: null } })).status,
    ).toBe(200);
  });
});

describe('me', () => {
  it('tells who you are and lets a manager go out of office and come back', async () => {
    const bob = await call('bob', 'GET', '/v1/me');
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({
      username: 'bob',
      role: 'manager',
      managerId: 'bob',
      teams: { memberOf: ['sales'], leads: [] },
      availability: { available: true, active: true },
      language: 'en',
    });
    expect(typeof bob.body.availability.openLeads).toBe('number');

    const alice = await call('alice', 'GET', '/v1/me');
    expect(alice.body).toMatchObject({ role: 'team_lead', teams: { leads: ['sales', 'enterprise'] } });
    const admin = await call(ADMIN, 'GET', '/v1/me');
    expect(admin.body).toMatchObject({ role: 'admin', managerId: null, availability: null });

    expect(
      (await call(ADMIN, 'PATCH', '/v1/me/availability', { body: { outOfOfficeUntil: inHours(2) } })).status,
    ).toBe(403);
    const tooFar = await call('bob', 'PATCH', '/v1/me/availability', {
      body: { outOfOfficeUntil: inHours(24 * 400) },
    });
    expect(tooFar.status).toBe(422);
    const noOffset = await call('bob', 'PATCH', '/v1/me/availability', {
      body: { outOfOfficeUntil: '2099-01-01T09:00:00' },
    });
    expect(noOffset.status).toBe(422);

    const until = inHours(2);
    const away = await call('bob', 'PATCH', '/v1/me/availability', { body: { outOfOfficeUntil: until } });
    expect(away.status).toBe(200);
    const now = await call('bob', 'GET', '/v1/me');
    expect(now.body.availability).toMatchObject({
      available: false,
      reason: 'out_of_office',
      outOfOfficeUntil: until,
    });
    const audit = (await system.items()).filter(
      (item) => String(item.pk).startsWith('AUDIT#') && item.action === 'availability.changed',
    );
    expect(audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: 'bob', target: 'manager:bob' })]),
    );

    expect(
      (await call('bob', 'PATCH', '/v1/me/availability', { body: { outOfOfficeUntil: null } })).status,
    ).toBe(200);
    expect((await call('bob', 'GET', '/v1/me')).body.availability.available).toBe(true);
  });
});

describe('routing preview over HTTP', () => {
  it('answers the dry-run exactly as the command does for the same lead and time', async () => {
    const lead = person('preview');
    const input = {
      channel: 'web_form',
      formId: 'demo-contact',
      name: lead.name,
      email: lead.email,
      phone: '+66 81 765 4321',
      message: 'ขอใบเสนอราคา',
    };
    const at = new Date().toISOString();
    const child = execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/routing.ts',
        'dry-run',
        '--endpoint',
        system.urls.dynamodb,
        '--table',
        system.tableName,
        '--at',
        at,
      ],
      { cwd: repoRoot, env: { ...process.env, ...system.env } },
    );
    child.stdin?.end(JSON.stringify(input));
    const printed = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (chunk) => {
        text += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    const http = await call(ADMIN, 'POST', `/v1/admin/routing/dry-run?at=${encodeURIComponent(at)}`, {
      body: input,
    });
    expect(http.status).toBe(200);
    expect(http.body).toEqual(JSON.parse(printed));
    expect(http.body).toMatchObject({ rule: 'thai', team: 'thai', at });

    const refused = await call(ADMIN, 'POST', '/v1/admin/routing/dry-run', {
      body: { formId: 'no-such-form' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.fields).toEqual([expect.objectContaining({ field: 'formId' })]);
  });

  it('replays a rule set over the period', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const replayed = await call(ADMIN, 'POST', '/v1/admin/routing/replay', {
      body: { from: today, to: today, rules: [] },
    });
    expect(replayed.status).toBe(200);
    expect(replayed.body.leads).toBeGreaterThan(0);
    const actual = replayed.body.rows.reduce((sum: number, row: { actual: number }) => sum + row.actual, 0);
    expect(actual).toBe(replayed.body.leads);
    // No rules: every lead would go to its form's team (sales).
    expect(
      replayed.body.rows.filter(
        (row: { team: string; proposed: number }) => row.proposed > 0 && row.team !== 'sales',
      ),
    ).toEqual([]);

    const bad = await call(ADMIN, 'POST', '/v1/admin/routing/replay', {
      body: { from: today, to: today, rules: [rule('{"id": "x", "then": {"teamId": "ghost"}}')] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((field: { field: string }) => field.field)).toContain('rules.0.then.teamId');
  });
});
