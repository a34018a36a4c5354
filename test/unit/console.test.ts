import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { DataContext, LeadView } from '@leadflow/aws';
import { RoleForbiddenError, UnauthorizedError, type Viewer } from '@leadflow/core';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiDeps, createApiApp } from '../../functions/api/app';
import { SCRIPT, STYLESHEET } from '../../functions/api/console/assets';
import type { HostedLogin } from '../../functions/api/console/hosted-login';
import { escapeHtml, html } from '../../functions/api/console/html';
import {
  chooseLanguage,
  formatDuration,
  formatter,
  fromAcceptLanguage,
  messages,
  zonedToIso,
} from '../../functions/api/console/i18n';
import type { PageContext } from '../../functions/api/console/layout';
import { inboxOrder } from '../../functions/api/console/pages/inbox';
import { type LeadDetail, leadPage } from '../../functions/api/console/pages/lead';
import { csrfToken, safeNext } from '../../functions/api/console/session';
import { demoConfig } from './support';

/**
 * The managers' console's edge, with `app.request` and no database: sign-in (local and Cognito's managed
 * login with PKCE against a fake token endpoint), the session cookie, CSRF and origin checks, the pages'
 * headers, and the renderers' escaping. The pages with data run through the local system in
 * test/e2e/console.test.ts.
 */

const config = demoConfig();

function viewer(managerId: string, role: Viewer['role'] = 'manager'): Viewer {
  return {
    userId: `local|${managerId}`,
    username: managerId,
    role,
    managerId,
    memberOf: ['sales'],
    leads: role === 'team_lead' ? ['sales', 'enterprise'] : [],
  };
}

/** Tokens of the fake authenticator: `token-<manager>` is that manager; `expired` has ended. */
async function authenticate(authorization: string | undefined): Promise<Viewer> {
  const token = authorization?.replace(/^Bearer /, '') ?? '';
  if (token === 'expired') throw new UnauthorizedError('The token has expired.');
  if (token === 'roleless') throw new RoleForbiddenError('This user has no role in leadflow.');
  const match = /^token-(\w+)$/.exec(token);
  if (!match?.[1]) throw new UnauthorizedError('The token signature does not verify.');
  return viewer(match[1], match[1] === 'alice' ? 'team_lead' : 'manager');
}

/** A data context that only answers the configuration: any read of leads would fail the test. */
const configOnly = new Proxy({} as DataContext, {
  get: (_target, name) => {
    if (name === 'config') return async () => config;
    if (name === 'clock') return () => new Date('2026-12-01T01:00:00Z');
    throw new Error(
      `the data context was touched (${String(name)}) for a request that should be refused first`,
    );
  },
});

const signedIn: string[] = [];
const localSignIn: NonNullable<ApiDeps['localSignIn']> = {
  users: [
    { username: 'bob', label: 'Bob Srisuk (manager)' },
    { username: 'alice', label: 'Alice Kim (team lead)' },
  ],
  signIn: async (username) => {
    signedIn.push(username);
    return `token-${username}`;
  },
};

function consoleApp(extra: Partial<ApiDeps> = {}) {
  return createApiApp({ data: configOnly, authenticate, ...extra });
}

const local = consoleApp({ localSignIn });
const bare = consoleApp();

/** The cookies a response sets, by name, with their attributes as written. */
function cookies(response: Response): Map<string, string> {
  return new Map(
    response.headers.getSetCookie().map((line) => [line.slice(0, line.indexOf('=')), line] as const),
  );
}

function cookieValue(line: string | undefined): string {
  return decodeURIComponent(/^[^=]+=([^;]*)/.exec(line ?? '')?.[1] ?? '');
}

const ORIGIN = 'http://localhost';

function post(
  app: ReturnType<typeof consoleApp>,
  path: string,
  fields: Record<string, string>,
  headers = {},
) {
  return app.request(path, {
    method: 'POST',
    headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

describe('the local sign-in', () => {
  it('is not there when the app is built without it: /console/login and its post answer 404', async () => {
    expect((await bare.request('/console/login')).status).toBe(404);
    expect((await post(bare, '/console/login', { user: 'bob' })).status).toBe(404);
    expect((await bare.request('/console/callback?code=x&state=y')).status).toBe(404);
    // Even beside Cognito's managed login, nobody can pick a user.
    const hosted = consoleApp({ hostedLogin: fakeHosted('https://auth.example.com') });
    const picked = await post(hosted, '/console/login', { user: 'bob' });
    expect(picked.status).toBe(404);
    expect(picked.headers.getSetCookie()).toEqual([]);
  });

  it('lists the seeded users, each a button that signs in and returns to the page asked for', async () => {
    const page = await local.request('/console/login?next=%2Fconsole%2Fleads%2FL1');
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('value="bob"');
    expect(text).toContain('Sign in as Alice Kim (team lead)');
    expect(text).toContain('name="next" value="/console/leads/L1"');

    const response = await post(local, '/console/login', { user: 'bob', next: '/console/leads/L1' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/leads/L1');
    const session = cookies(response).get('lf_session') ?? '';
    expect(cookieValue(session)).toBe('token-bob');
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; SameSite=Lax/);
    expect(session).toMatch(/; Path=\/console(;|$)/);
    expect(signedIn).toContain('bob');
  });

  it('refuses a sign-in posted from another origin, and an unknown user', async () => {
    const foreign = await post(local, '/console/login', { user: 'bob' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.getSetCookie()).toEqual([]);
    const missing = await post(local, '/console/login', { user: 'bob' }, { origin: '' });
    expect(missing.status).toBe(403);
    const unknown = await post(local, '/console/login', { user: 'mallory' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.getSetCookie()).toEqual([]);
  });

  it.each([
    ['https://evil.example/console/leads', '/console/leads'],
    ['//evil.example/console/leads', '/console/leads'],
    ['/\\evil.example', '/console/leads'],
    ['/console/../v1/leads', '/console/leads'],
    ['/v1/leads', '/console/leads'],
    ['/console/login', '/console/leads'],
    ['/console/leads/L1?done=note', '/console/leads/L1?done=note'],
    ['/console/analytics?team=sales', '/console/analytics?team=sales'],
  ])('returns only to a console path of this origin: %s → %s', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });
});

describe('the session', () => {
  it('sends a page asked for without a session to the sign-in, and back to it afterwards', async () => {
    const response = await local.request('/console/leads/L1?done=note');
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '', ORIGIN);
    expect(location.pathname).toBe('/console/login');
    expect(location.searchParams.get('next')).toBe('/console/leads/L1?done=note');
  });

  it('sends an ended session to the sign-in, says so, and clears the cookie', async () => {
    const response = await local.request('/console/leads/L1', { headers: { cookie: 'lf_session=expired' } });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '', ORIGIN);
    expect(location.searchParams.get('next')).toBe('/console/leads/L1');
    expect(location.searchParams.get('expired')).toBe('1');
    expect(cookies(response).get('lf_session')).toMatch(/Max-Age=0/);
    const page = await local.request(`${location.pathname}${location.search}`);
    expect(await page.text()).toContain('Your session has ended');
  });

  it('answers 403 to a user the API would refuse a role', async () => {
    const response = await local.request('/console/leads', { headers: { cookie: 'lf_session=roleless' } });
    expect(response.status).toBe(403);
  });

  it('refuses a post without the session’s CSRF token, or from another origin, before reading any lead', async () => {
    const cookie = { cookie: 'lf_session=token-bob' };
    const noToken = await post(local, '/console/leads/L1/acknowledge', {}, cookie);
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('another page or an old session');
    const wrongToken = await post(
      local,
      '/console/leads/L1/acknowledge',
      { csrf: csrfToken('token-alice') },
      cookie,
    );
    expect(wrongToken.status).toBe(403);
    const foreign = await post(
      local,
      '/console/leads/L1/notes',
      { csrf: csrfToken('token-bob'), text: 'hi' },
      { ...cookie, origin: 'https://evil.example' },
    );
    expect(foreign.status).toBe(403);
    // A post without a session signs in first and returns to the lead, not to the action.
    const anonymous = await post(local, '/console/leads/L1/acknowledge', {});
    expect(new URL(anonymous.headers.get('location') ?? '', ORIGIN).searchParams.get('next')).toBe(
      '/console/leads/L1',
    );
  });

  it('signs out: the cookie is cleared and the page says so', async () => {
    const response = await post(
      local,
      '/console/logout',
      { csrf: csrfToken('token-bob') },
      {
        cookie: 'lf_session=token-bob',
      },
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/signed-out');
    expect(cookies(response).get('lf_session')).toMatch(/Max-Age=0/);
  });

  it('switches the language with a cookie, and returns to the page', async () => {
    const response = await post(local, '/console/language', { lang: 'th', next: '/console/login' });
    expect(response.status).toBe(303);
    expect(cookieValue(cookies(response).get('lf_lang'))).toBe('th');
    const page = await local.request('/console/login', { headers: { cookie: 'lf_lang=th' } });
    const text = await page.text();
    expect(text).toContain('<html lang="th">');
    expect(text).toContain('เข้าสู่ระบบ');
    // With a session, the switch needs the session's token like every other post.
    const forged = await post(local, '/console/language', { lang: 'ko' }, { cookie: 'lf_session=token-bob' });
    expect(forged.status).toBe(403);
  });

  it('answers its own 404 page to an id that is markup, a path or too long, echoing nothing of it', async () => {
    for (const id of [
      encodeURIComponent('<script>alert(1)</script>'),
      encodeURIComponent('x" onmouseover="alert(1)'),
      'a'.repeat(130),
    ]) {
      const response = await local.request(`/console/leads/${id}`, {
        headers: { cookie: 'lf_session=token-bob' },
      });
      expect(response.status).toBe(404);
      const text = await response.text();
      expect(text).not.toMatch(/<script>|onmouseover=|aaaaaaaaaa/);
    }
  });
});

function fakeHosted(domainUrl: string): HostedLogin {
  return {
    domainUrl,
    clientId: 'console-client',
    redirectUri: 'https://api.example.com/console/callback',
    logoutUri: 'https://api.example.com/console/signed-out',
  };
}

describe("Cognito's managed login (authorization code with PKCE)", () => {
  const received: URLSearchParams[] = [];
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  let server: ReturnType<typeof serve>;
  let domain = '';

  beforeAll(async () => {
    // A tiny stand-in for the hosted domain's token endpoint.
    const fake = new Hono();
    fake.post('/oauth2/token', async (c) => {
      received.push(new URLSearchParams(await c.req.text()));
      return c.json(answer.body as object, answer.status as 200);
    });
    await new Promise<void>((ready) => {
      server = serve({ fetch: fake.fetch, port: 0, hostname: '127.0.0.1' }, () => ready());
    });
    domain = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  const hostedApp = () =>
    consoleApp({ hostedLogin: fakeHosted(domain), publicBaseUrl: 'https://api.example.com' });

  async function startSignIn(app: ReturnType<typeof hostedApp>, next = '/console/leads/L7') {
    const response = await app.request(`/console/login?next=${encodeURIComponent(next)}`);
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    const cookie = cookies(response).get('lf_signin') ?? '';
    const remembered = JSON.parse(Buffer.from(cookieValue(cookie), 'base64url').toString()) as {
      state: string;
      verifier: string;
      next: string;
    };
    return { location, cookie, remembered };
  }

  it('sends the browser to /oauth2/authorize with an S256 challenge and a state kept in a short cookie', async () => {
    const { location, cookie, remembered } = await startSignIn(hostedApp());
    expect(`${location.origin}${location.pathname}`).toBe(`${domain}/oauth2/authorize`);
    const query = location.searchParams;
    expect(query.get('response_type')).toBe('code');
    expect(query.get('client_id')).toBe('console-client');
    expect(query.get('redirect_uri')).toBe('https://api.example.com/console/callback');
    expect(query.get('scope')).toBe('openid email profile');
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('code_challenge')).toBe(
      createHash('sha256').update(remembered.verifier).digest('base64url'),
    );
    expect(query.get('state')).toBe(remembered.state);
    expect(remembered.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(remembered.next).toBe('/console/leads/L7');
    expect(cookie).toMatch(/; Path=\/console\/callback/);
    expect(cookie).toMatch(/; Max-Age=600/);
    expect(cookie).toMatch(/; HttpOnly; Secure; SameSite=Lax/);
  });

  it('exchanges the code with its verifier, keeps the access token in the session, and returns to the page', async () => {
    const app = hostedApp();
    const { remembered } = await startSignIn(app);
    answer = {
      status: 200,
      body: { access_token: 'token-bob', id_token: 'x', token_type: 'Bearer', expires_in: 3600 },
    };
    received.length = 0;
    const signinCookie = `lf_signin=${Buffer.from(JSON.stringify(remembered)).toString('base64url')}`;
    const response = await app.request(`/console/callback?code=the-code&state=${remembered.state}`, {
      headers: { cookie: signinCookie },
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/console/leads/L7');
    expect(cookieValue(cookies(response).get('lf_session'))).toBe('token-bob');
    expect(cookies(response).get('lf_signin')).toMatch(/Max-Age=0/);
    expect(received).toHaveLength(1);
    expect(Object.fromEntries(received[0] ?? [])).toEqual({
      grant_type: 'authorization_code',
      client_id: 'console-client',
      code: 'the-code',
      redirect_uri: 'https://api.example.com/console/callback',
      code_verifier: remembered.verifier,
    });
  });

  it('starts no session for a state that does not match, a refused code, or a token without a role', async () => {
    const app = hostedApp();
    const { remembered } = await startSignIn(app);
    const signinCookie = `lf_signin=${Buffer.from(JSON.stringify(remembered)).toString('base64url')}`;
    received.length = 0;
    const forged = await app.request('/console/callback?code=c&state=forged', {
      headers: { cookie: signinCookie },
    });
    expect(forged.status).toBe(400);
    expect(cookies(forged).has('lf_session')).toBe(false);
    expect(received).toHaveLength(0);

    answer = { status: 400, body: { error: 'invalid_grant' } };
    const refused = await app.request(`/console/callback?code=c&state=${remembered.state}`, {
      headers: { cookie: signinCookie },
    });
    expect(refused.status).toBe(400);
    expect(cookies(refused).has('lf_session')).toBe(false);
    expect(await refused.text()).not.toContain('invalid_grant');

    answer = { status: 200, body: { access_token: 'roleless' } };
    const roleless = await app.request(`/console/callback?code=c&state=${remembered.state}`, {
      headers: { cookie: signinCookie },
    });
    expect(roleless.status).toBe(403);
    expect(cookies(roleless).has('lf_session')).toBe(false);
  });

  it("signs out through Cognito's own sign-out, which the pages' form-action allows", async () => {
    const app = hostedApp();
    const response = await post(
      app,
      '/console/logout',
      { csrf: csrfToken('token-bob') },
      {
        cookie: 'lf_session=token-bob',
        origin: 'https://api.example.com',
      },
    );
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(`${domain}/logout`);
    expect(location.searchParams.get('logout_uri')).toBe('https://api.example.com/console/signed-out');
    const page = await app.request('/console/signed-out');
    expect(page.headers.get('content-security-policy')).toContain(`form-action 'self' ${domain}`);
  });
});

describe('the pages', () => {
  it('are served with a strict CSP, never cached, never framed, with no inline script or style', async () => {
    const response = await local.request('/console/login');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const text = await response.text();
    expect(
      [...text.matchAll(/<script\b([^>]*)>/g)].every((match) => /\bsrc="\/console\//.test(match[1] ?? '')),
    ).toBe(true);
    expect(text).not.toMatch(/<style|\bstyle=|\bon[a-z]+=/);
  });

  it.each([
    [STYLESHEET.path, /^text\/css/],
    [SCRIPT.path, /^text\/javascript/],
  ])('serves %s from this origin, cached for a year under its content hash', async (path, type) => {
    const response = await local.request(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(type);
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(await response.text()).not.toMatch(/localStorage|sessionStorage|https?:\/\//);
  });

  it('answers 404 to an asset it does not have', async () => {
    expect((await local.request('/console/assets/other.js')).status).toBe(404);
  });
});

function context(language: 'en' | 'ko' | 'th' = 'en'): PageContext {
  return {
    t: messages(language),
    language,
    format: formatter(language, 'Asia/Seoul'),
    viewer: viewer('bob'),
    viewerName: 'Bob Srisuk',
    csrf: 'the-csrf-token',
    path: '/console/leads/L1',
  };
}

const NOW = new Date('2026-12-01T01:00:00Z');

function leadFixture(overrides: Partial<LeadView> = {}): LeadView {
  return {
    leadId: 'L1',
    contactId: 'C1',
    status: 'new',
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId: 'sales',
    ownerId: 'bob',
    priority: 'normal',
    score: 10,
    tags: [],
    capturedAt: '2026-12-01T00:57:00.000Z',
    touchedAt: '2026-12-01T00:57:00.000Z',
    version: 1,
    etag: '"1"',
    assignment: { rule: 'round_robin', strategy: 'round_robin', reason: 'r' },
    funnel: {},
    firstResponse: undefined,
    acknowledged: undefined,
    capture: { name: 'Kim Minsu', email: 'kim@example.com', consent: true, urgent: false, answers: {} },
    erasedAt: undefined,
    ...overrides,
  } as LeadView;
}

describe('the renderers', () => {
  const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';

  it('escape every piece of user text: names, messages, notes, identities', () => {
    const lead = leadFixture({
      capture: {
        name: hostile,
        message: hostile,
        email: `a"b@example.com`,
        consent: true,
        urgent: false,
        answers: {},
      },
    } as Partial<LeadView>);
    const detail = {
      lead,
      contact: {
        contactId: 'C1',
        name: hostile,
        emails: [],
        phones: [],
        tags: [],
        createdAt: NOW.toISOString(),
      },
      otherLeads: [],
      tasks: [],
      timeline: [
        {
          id: 'T1',
          at: '2026-12-01T00:58:00.000Z',
          kind: 'note',
          actor: 'bob',
          text: hostile,
          summary: hostile,
        },
      ],
    } as unknown as LeadDetail;
    const page = leadPage(context(), {
      detail,
      contact: {
        contactId: 'C1',
        name: hostile,
        emails: [],
        phones: [],
        identities: [
          { identity: `email:${hostile}`, provenance: 'claimed' },
          { identity: 'phone:+821012345678', provenance: 'verified' },
        ],
        tags: [],
        fields: {},
        channels: [],
        sources: [],
        possibleDuplicates: [],
        mergedFrom: [],
        createdAt: NOW.toISOString(),
        version: 0,
        etag: '"0"',
      } as never,
      isOwner: true,
      canLead: false,
      teamManagers: [],
      nameOf: (id) => id ?? '',
      defaultCurrency: 'KRW',
      now: NOW,
    });
    expect(page).not.toContain('<script>alert');
    expect(page).not.toMatch(/<img/);
    expect(page).toContain(escapeHtml(hostile));
    expect(page).toContain('value="the-csrf-token"');
    // Provenance is written in words, not shown by colour alone.
    expect(page).toMatch(/phone: \+821012345678<\/span> <span class="badge verified">verified/);
    expect(page).toContain('claimed, not verified');
    // The owner of an unanswered lead gets the one-tap button, and the clock runs from its capture.
    expect(page).toContain('I&#39;m on it');
    expect(page).toContain('data-since="2026-12-01T00:57:00.000Z">3 min<');
  });

  it('splice only markup made by the template itself', () => {
    expect(html`<p>${'<b>'}</p>`.value).toBe('<p>&lt;b&gt;</p>');
    expect(html`<p>${html`<b>${'&'}</b>`}</p>`.value).toBe('<p><b>&amp;</b></p>');
    expect(html`<p title="${`" onclick="x`}">`.value).toBe('<p title="&quot; onclick=&quot;x">');
  });

  it('order the inbox urgent and overdue first, then newest', () => {
    const overdue = leadFixture({
      leadId: 'overdue',
      capturedAt: '2026-11-30T00:00:00.000Z',
      sla: { dueAt: '2026-11-30T01:00:00.000Z' },
    } as Partial<LeadView>);
    const answered = leadFixture({
      leadId: 'answered-late',
      capturedAt: '2026-11-29T00:00:00.000Z',
      sla: { dueAt: '2026-11-29T01:00:00.000Z' },
      firstResponse: { at: '2026-11-29T00:10:00.000Z', speedToLeadMs: 600_000 },
    } as Partial<LeadView>);
    const urgent = leadFixture({
      leadId: 'urgent',
      priority: 'urgent',
      capturedAt: '2026-11-28T00:00:00.000Z',
    });
    const newest = leadFixture({ leadId: 'newest', capturedAt: '2026-12-01T00:59:00.000Z' });
    const older = leadFixture({ leadId: 'older', capturedAt: '2026-12-01T00:10:00.000Z' });
    expect(
      inboxOrder([older, answered, urgent, newest, overdue, urgent], NOW).map((lead) => lead.leadId),
    ).toEqual(['overdue', 'urgent', 'newest', 'older', 'answered-late']);
  });
});

describe('languages, dates and durations', () => {
  it('chooses the switch, then the user’s setting, then Accept-Language, else English', () => {
    expect(chooseLanguage({ chosen: 'th', setting: 'ko', acceptLanguage: 'en' })).toBe('th');
    expect(chooseLanguage({ chosen: 'xx', setting: 'ko', acceptLanguage: 'th' })).toBe('ko');
    expect(chooseLanguage({ acceptLanguage: 'fr-FR, th;q=0.5, ko-KR;q=0.8' })).toBe('ko');
    expect(chooseLanguage({ acceptLanguage: 'fr, de;q=0.9' })).toBe('en');
    expect(fromAcceptLanguage('ko;q=0, th')).toBe('th');
  });

  it('reads a datetime-local value in the viewer’s time zone', () => {
    expect(zonedToIso('2026-12-04T10:00', 'Asia/Seoul')).toBe('2026-12-04T01:00:00.000Z');
    expect(zonedToIso('2026-12-04T10:00', 'Asia/Bangkok')).toBe('2026-12-04T03:00:00.000Z');
    // Across a daylight-saving change: New York is UTC-4 in July.
    expect(zonedToIso('2026-07-01T09:30', 'America/New_York')).toBe('2026-07-01T13:30:00.000Z');
    expect(zonedToIso('tomorrow', 'Asia/Seoul')).toBeUndefined();
    expect(formatter('en', 'Asia/Seoul').localInput('2026-12-04T01:00:00.000Z')).toBe('2026-12-04T10:00');
  });

  it('writes durations, numbers and money with Intl in each language', () => {
    expect(formatDuration('en', 45_000)).toBe('45 sec');
    expect(formatDuration('en', 3 * 60_000 + 5_000)).toBe('3 min');
    expect(formatDuration('en', (2 * 60 + 5) * 60_000)).toBe('2 hr 5 min');
    expect(formatDuration('ko-KR', 3 * 60_000)).toBe('3분');
    expect(formatter('ko', 'Asia/Seoul').money(2_400_000, 'KRW')).toBe('₩2,400,000');
    expect(formatter('th', 'Asia/Bangkok').money(1500, 'THB')).toMatch(/1,500/);
    expect(formatter('en', 'Asia/Seoul').dateTime('2026-12-04T01:00:00.000Z')).toMatch(/10:00/);
  });
});
