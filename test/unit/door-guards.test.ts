import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CaptureEvent, LeadflowConfig } from '@leadflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestApp, type IngestDeps, type IngestOutcome } from '../../functions/ingest/app';
import type { RateLimitInput } from '../../functions/ingest/deps';
import { verifyCaptcha } from '../../packages/aws/src/captcha';
import { FakeSubmissionStore, rawDemoConfig, sequentialIds } from './support';

const LEAD = { name: 'Kim Minsu', email: 'kim@example.com', consent: true };
const BACKEND_KEY = 'backend-key-0123456789-abcdef';
const ROTATED_KEY = 'backend-key-rotated-9876543210';
const CAPTCHA_SECRET = 'captcha-secret-for-tests';

/** A siteverify stub: answers like Turnstile, hCaptcha and reCAPTCHA, from the token it is given. */
let siteverify: Server;
let siteverifyUrl: string;
const verifications: URLSearchParams[] = [];

beforeAll(async () => {
  siteverify = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const params = new URLSearchParams(body);
      verifications.push(params);
      const token = params.get('response') ?? '';
      if (token === 'down') {
        response.writeHead(502).end('bad gateway');
        return;
      }
      const success = params.get('secret') === CAPTCHA_SECRET && token.startsWith('pass');
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          success,
          hostname: token === 'pass-elsewhere' ? 'evil.example' : 'www.example.com',
          'error-codes': success ? [] : ['invalid-input-response'],
          ...(token === 'pass-low-score' ? { score: 0.1 } : { score: 0.9 }),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => siteverify.listen(0, '127.0.0.1', resolve));
  siteverifyUrl = `http://127.0.0.1:${(siteverify.address() as AddressInfo).port}/siteverify`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => siteverify.close(() => resolve()));
});

function config(): LeadflowConfig {
  const raw = rawDemoConfig();
  const [contact] = raw.forms;
  if (!contact) throw new Error('The demo config has no form');
  raw.forms.push(
    { ...contact, id: 'with-captcha', captcha: { provider: 'turnstile', hostnames: ['www.example.com'] } },
    { ...contact, id: 'with-recaptcha', captcha: { provider: 'recaptcha', hostnames: [], minScore: 0.5 } },
    {
      ...contact,
      id: 'either',
      access: 'public_and_backend',
      captcha: { provider: 'hcaptcha', hostnames: [] },
    },
    { ...contact, id: 'limited', rateLimitPerClient: 2 },
  );
  return new LeadflowConfig(raw);
}

/**
 * The app with in-memory stores and a per-minute counter that behaves like the DynamoDB one (tested
 * against DynamoDB Local in test/integration/door.test.ts), the real siteverify client, and a client
 * address the test sets, as API Gateway or the socket would report it.
 */
function harness(options: { rateLimitPerClient?: number } = {}) {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const refused: string[] = [];
  const outcomes: IngestOutcome[] = [];
  const windows = new Map<string, number>();
  const limits: RateLimitInput[] = [];
  let address = '203.0.113.7';
  const deps: IngestDeps = {
    config: config(),
    store: store.store,
    enqueue: async (capture) => {
      queued.push(capture);
    },
    countSpam: async () => undefined,
    newId: sequentialIds('sub'),
    secrets: {
      generic: {},
      forms: {
        'demo-backend': { keys: [BACKEND_KEY, ROTATED_KEY] },
        either: { keys: [BACKEND_KEY], captchaSecret: CAPTCHA_SECRET },
        'with-captcha': { keys: [], captchaSecret: CAPTCHA_SECRET },
        'with-recaptcha': { keys: [], captchaSecret: CAPTCHA_SECRET },
      },
    },
    clientAddress: () => address,
    rateLimitPerClient: options.rateLimitPerClient ?? 3,
    rateLimit: async (input) => {
      limits.push(input);
      const key = `${input.scope} ${input.client}`;
      const hits = windows.get(key) ?? 0;
      if (hits >= input.limit) return { allowed: false, retryAfterSeconds: 42 };
      windows.set(key, hits + 1);
      return { allowed: true, retryAfterSeconds: 0 };
    },
    countRefused: async (endpoint, reason) => {
      refused.push(`${endpoint.kind === 'form' ? 'FORM' : 'WIDGET'}#${endpoint.id} ${reason}`);
    },
    verifyCaptcha: (input) => verifyCaptcha(input, { defaultVerifyUrl: siteverifyUrl }),
    observe: (event) => outcomes.push(event),
  };
  const app = createIngestApp(deps);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  return {
    app,
    store,
    queued,
    refused,
    outcomes,
    limits,
    post,
    setAddress: (value: string) => {
      address = value;
    },
  };
}

describe('per-client rate limits', () => {
  it('answers 429 with Retry-After over the limit, stores nothing and counts it per form', async () => {
    const { post, store, queued, refused } = harness();
    for (let i = 0; i < 3; i++) {
      expect((await post('/v1/forms/demo-contact', { ...LEAD, message: `try ${i}` })).status).toBe(202);
    }
    const response = await post('/v1/forms/demo-contact', { ...LEAD, message: 'one too many' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('42');
    expect(await response.json()).toMatchObject({ error: 'rate_limited' });
    expect(store.calls).toHaveLength(3);
    expect(queued).toHaveLength(3);
    expect(refused).toEqual(['FORM#demo-contact rateLimited']);
  });

  it('limits per form and per client address, IPv6 by its /64', async () => {
    const { post, limits, setAddress } = harness({ rateLimitPerClient: 1 });
    expect((await post('/v1/forms/demo-contact', LEAD)).status).toBe(202);
    expect((await post('/v1/forms/demo-contact-ko', LEAD)).status).toBe(202);
    setAddress('198.51.100.1');
    expect((await post('/v1/forms/demo-contact', LEAD)).status).toBe(202);
    setAddress('2001:db8:1:2:aaaa::1');
    expect((await post('/v1/forms/demo-contact', LEAD)).status).toBe(202);
    setAddress('2001:db8:1:2:bbbb::9');
    expect((await post('/v1/forms/demo-contact', LEAD)).status).toBe(429);
    expect(limits.map((limit) => `${limit.scope} ${limit.client}`)).toEqual([
      'form:demo-contact 203.0.113.7',
      'form:demo-contact-ko 203.0.113.7',
      'form:demo-contact 198.51.100.1',
      'form:demo-contact 2001:db8:1:2::/64',
      'form:demo-contact 2001:db8:1:2::/64',
    ]);
  });

  it('takes a form’s own limit over the default, and never reads X-Forwarded-For', async () => {
    const { post, store } = harness({ rateLimitPerClient: 100 });
    const spoofed = (n: number) => ({ 'x-forwarded-for': `192.0.2.${n}` });
    expect((await post('/v1/forms/limited', LEAD, spoofed(1))).status).toBe(202);
    expect((await post('/v1/forms/limited', LEAD, spoofed(2))).status).toBe(202);
    expect((await post('/v1/forms/limited', LEAD, spoofed(3))).status).toBe(429);
    expect(store.calls).toHaveLength(2);
  });

  it('limits the chat widget per widget and client', async () => {
    const { post, refused } = harness({ rateLimitPerClient: 1 });
    const message = (n: number) => ({
      visitorId: 'visitor-0001',
      sessionId: 'session-0001',
      text: `hi ${n}`,
    });
    expect((await post('/v1/chat/site-chat', message(1))).status).toBe(202);
    const response = await post('/v1/chat/site-chat', message(2));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('42');
    expect(refused).toEqual(['WIDGET#site-chat rateLimited']);
  });

  it('is off when the limit is 0', async () => {
    const { post, limits } = harness({ rateLimitPerClient: 0 });
    for (let i = 0; i < 5; i++) expect((await post('/v1/forms/demo-contact', LEAD)).status).toBe(202);
    expect(limits).toEqual([]);
  });
});

describe('posts from a site backend with the form key', () => {
  it('are never limited, with either key of a rotation', async () => {
    const { post, store, limits } = harness({ rateLimitPerClient: 1 });
    for (const key of [BACKEND_KEY, ROTATED_KEY, BACKEND_KEY, ROTATED_KEY]) {
      const response = await post(
        '/v1/forms/demo-backend',
        { ...LEAD, message: key },
        { 'x-leadflow-form-key': key },
      );
      expect(response.status).toBe(202);
    }
    expect(store.calls).toHaveLength(4);
    expect(limits).toEqual([]);
  });

  it('are refused with a wrong key, without a key on a backend-only form, and on a public form', async () => {
    const { post, store } = harness();
    const cases: [string, Record<string, string>, number, string][] = [
      ['/v1/forms/demo-backend', { 'x-leadflow-form-key': `${BACKEND_KEY}x` }, 403, 'invalid_form_key'],
      ['/v1/forms/demo-backend', {}, 403, 'form_key_required'],
      ['/v1/forms/demo-contact', { 'x-leadflow-form-key': BACKEND_KEY }, 403, 'form_key_not_accepted'],
    ];
    for (const [path, headers, status, code] of cases) {
      const response = await post(path, LEAD, headers);
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ fields: [{ field: 'X-Leadflow-Form-Key', code }] });
    }
    expect(store.calls).toHaveLength(0);
  });

  it('skip the CAPTCHA of a form that takes both', async () => {
    const { post, store } = harness();
    const backend = await post('/v1/forms/either', LEAD, { 'x-leadflow-form-key': BACKEND_KEY });
    expect(backend.status).toBe(202);
    const browser = await post('/v1/forms/either', LEAD);
    expect(browser.status).toBe(403);
    expect(store.calls).toHaveLength(1);
  });
});

describe('CAPTCHA, verified against a siteverify stub', () => {
  it('accepts a solved token, sending the secret, the token and the client address', async () => {
    const { post, store } = harness();
    verifications.length = 0;
    const response = await post('/v1/forms/with-captcha', { ...LEAD, 'cf-turnstile-response': 'pass-1' });
    expect(response.status).toBe(202);
    expect(store.calls).toHaveLength(1);
    expect(verifications).toHaveLength(1);
    expect(Object.fromEntries(verifications[0] ?? [])).toMatchObject({
      secret: CAPTCHA_SECRET,
      response: 'pass-1',
      remoteip: '203.0.113.7',
    });
    expect(verifications[0]?.get('idempotency_key')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // The token is not a field of the lead.
    expect(JSON.stringify(store.calls[0]?.capture)).not.toContain('pass-1');
  });

  it.each([
    ['a missing token', {}, 'captcha_required'],
    ['a refused token', { 'cf-turnstile-response': 'fail' }, 'captcha_failed'],
    ['a token solved on another site', { 'cf-turnstile-response': 'pass-elsewhere' }, 'captcha_failed'],
  ])('answers 403 with a field error and stores nothing for %s', async (_, extra, code) => {
    const { post, store, refused } = harness();
    const response = await post('/v1/forms/with-captcha', { ...LEAD, ...extra });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      error: 'forbidden',
      fields: [{ field: 'cf-turnstile-response', code }],
    });
    expect(store.calls).toHaveLength(0);
    expect(refused).toEqual(['FORM#with-captcha captchaFailed']);
  });

  it('recognises a resubmission with a freshly solved CAPTCHA as the same submission', async () => {
    const { post, store } = harness();
    const first = await post('/v1/forms/with-captcha', {
      ...LEAD,
      message: 'same',
      'cf-turnstile-response': 'pass-a',
    });
    const again = await post('/v1/forms/with-captcha', {
      ...LEAD,
      message: 'same',
      'cf-turnstile-response': 'pass-b',
    });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    expect(store.calls.map((call) => call.requestHash)).toEqual([
      store.calls[0]?.requestHash,
      store.calls[0]?.requestHash,
    ]);
  });

  it('refuses a reCAPTCHA v3 score below the form minimum', async () => {
    const { post, store } = harness();
    const low = await post('/v1/forms/with-recaptcha', { ...LEAD, 'g-recaptcha-response': 'pass-low-score' });
    expect(low.status).toBe(403);
    const high = await post('/v1/forms/with-recaptcha', { ...LEAD, 'g-recaptcha-response': 'pass-ok' });
    expect(high.status).toBe(202);
    expect(store.calls).toHaveLength(1);
  });

  it('answers 503 and stores nothing when the provider cannot answer', async () => {
    const { post, store } = harness();
    const response = await post('/v1/forms/with-captcha', { ...LEAD, 'cf-turnstile-response': 'down' });
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: 'captcha_unavailable' });
    expect(store.calls).toHaveLength(0);
  });

  it('validates the fields first, so a typo does not spend the token', async () => {
    const { post } = harness();
    verifications.length = 0;
    const response = await post('/v1/forms/with-captcha', {
      name: 'Kim',
      email: 'not an email',
      consent: true,
      'cf-turnstile-response': 'pass-2',
    });
    expect(response.status).toBe(422);
    expect(verifications).toHaveLength(0);
  });
});
