import { type CaptureEvent, MAX_BODY_BYTES } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { createIngestApp, type IngestOutcome } from '../../functions/ingest/app';
import { demoConfig, FakeSubmissionStore, sequentialIds } from './support';

const NOW = new Date('2025-06-01T09:30:00.000Z');
const FORM_URL = '/v1/forms/demo-contact';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const LEAD = { name: 'Kim Minsu', email: 'Kim.MinSu@Example.COM', phone: '010-1234-5678', consent: 'on' };

/** The app wired to in-memory fakes that record what the outside world would have seen. */
function harness() {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const spam: string[] = [];
  const outcomes: IngestOutcome[] = [];
  const enqueueFailures: Error[] = [];
  const app = createIngestApp({
    config: demoConfig(),
    store: store.store,
    enqueue: async (capture) => {
      const failure = enqueueFailures.shift();
      if (failure) throw failure;
      queued.push(capture);
    },
    countSpam: async (formId) => {
      spam.push(formId);
    },
    newId: sequentialIds('sub'),
    clock: () => NOW,
    observe: (event) => outcomes.push(event),
  });
  const postJson = (body: unknown, headers: Record<string, string> = {}, url = FORM_URL) =>
    app.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  return { app, store, queued, spam, outcomes, enqueueFailures, postJson };
}

describe('ingest app', () => {
  it('answers the health check', async () => {
    const { app } = harness();
    const response = await app.request('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  describe('accepting a lead', () => {
    it('answers a JSON client 202 with the id, after storing and queueing the normalized capture', async () => {
      const { postJson, store, queued, outcomes } = harness();
      const response = await postJson(LEAD, {
        origin: 'https://www.example.com',
        referer: 'https://www.example.com/pricing?utm_source=google',
      });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ id: 'sub-1', status: 'accepted' });

      expect(store.calls).toHaveLength(1);
      expect(queued).toHaveLength(1);
      const capture = queued[0];
      expect(capture).toEqual(store.calls[0]?.capture);
      expect(capture).toMatchObject({
        submissionId: 'sub-1',
        sourceId: 'demo-contact',
        receivedAt: NOW.toISOString(),
        contact: {
          email: 'Kim.MinSu@example.com',
          emailKey: 'kim.minsu@example.com',
          phone: '+821012345678',
        },
        source: {
          utm: { utm_source: 'google' },
          pageUrl: 'https://www.example.com/pricing?utm_source=google',
          origin: 'https://www.example.com/',
        },
      });
      expect(outcomes).toEqual([
        { outcome: 'accepted', source: 'demo-contact', submissionId: 'sub-1', status: 202 },
      ]);
    });

    it('redirects a browser posting a urlencoded form with 303 to the redirect URL', async () => {
      const { app, queued } = harness();
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER_ACCEPT },
        body: new URLSearchParams(LEAD).toString(),
      });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('https://www.example.com/thank-you');
      expect(queued).toHaveLength(1);
    });

    it('shows a thank-you page in the form language when the form has no redirect URL', async () => {
      const { app } = harness();
      const response = await app.request('/v1/forms/demo-contact-ko', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER_ACCEPT },
        body: new URLSearchParams(LEAD).toString(),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('lang="ko"');
      expect(html).toContain('감사합니다');
    });

    it('answers 202 JSON to a urlencoded post that asks for JSON', async () => {
      const { app } = harness();
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(LEAD).toString(),
      });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ id: 'sub-1', status: 'accepted' });
    });

    it('accepts multipart/form-data', async () => {
      const { app, queued } = harness();
      const form = new FormData();
      for (const [name, value] of Object.entries(LEAD)) form.append(name, value);
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { accept: 'application/json' },
        body: form,
      });
      expect(response.status).toBe(202);
      expect(queued[0]?.contact.phone).toBe('+821012345678');
    });
  });

  describe('refusing a request', () => {
    it('answers 404 for an unknown form, storing nothing', async () => {
      const { postJson, store, queued } = harness();
      const response = await postJson(LEAD, {}, '/v1/forms/no-such-form');
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found' });
      expect(store.calls).toHaveLength(0);
      expect(queued).toHaveLength(0);
    });

    it('answers 404 JSON for an unknown route', async () => {
      const { app } = harness();
      const response = await app.request('/v2/whatever', { method: 'POST' });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: 'not_found' });
    });

    it('answers 415 for a content type it does not read', async () => {
      const { app, store } = harness();
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
      });
      expect(response.status).toBe(415);
      expect(await response.json()).toMatchObject({ error: 'unsupported_media_type' });
      expect(store.calls).toHaveLength(0);
    });

    it('answers 413 for a body over 64 KiB', async () => {
      const { postJson, store, outcomes } = harness();
      const response = await postJson({ ...LEAD, message: 'x'.repeat(MAX_BODY_BYTES) });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: 'payload_too_large' });
      expect(store.calls).toHaveLength(0);
      expect(outcomes).toEqual([{ outcome: 'payload_too_large', source: 'demo-contact', status: 413 }]);
    });

    it('answers 413 from the declared Content-Length before reading the body', async () => {
      const { app } = harness();
      const body = JSON.stringify({ ...LEAD, message: 'x'.repeat(MAX_BODY_BYTES) });
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
        body,
      });
      expect(response.status).toBe(413);
    });

    it('answers 400 for a malformed body', async () => {
      const { app } = harness();
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name": ',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'malformed_body' });
    });

    it('answers 422 naming every invalid field', async () => {
      const { postJson, store, queued } = harness();
      const response = await postJson({ name: '', email: 'kim@', phone: '12' });
      expect(response.status).toBe(422);
      const body = (await response.json()) as { error: string; fields: { field: string; code: string }[] };
      expect(body.error).toBe('validation_failed');
      expect(body.fields.map((issue) => [issue.field, issue.code])).toEqual([
        ['name', 'required'],
        ['email', 'invalid_email'],
        ['phone', 'invalid_phone'],
        ['consent', 'consent_required'],
      ]);
      expect(store.calls).toHaveLength(0);
      expect(queued).toHaveLength(0);
    });
  });

  describe('spam', () => {
    it('answers a honeypot hit like a lead, but only counts it', async () => {
      const { postJson, store, queued, spam, outcomes } = harness();
      const response = await postJson({ ...LEAD, website: 'https://spam.example' });
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ id: expect.any(String), status: 'accepted' });
      expect(store.calls).toHaveLength(0);
      expect(queued).toHaveLength(0);
      expect(spam).toEqual(['demo-contact']);
      expect(outcomes).toEqual([{ outcome: 'spam', source: 'demo-contact', status: 202 }]);
    });

    it('redirects a bot posting like a browser, as it would a person', async () => {
      const { app, spam } = harness();
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: BROWSER_ACCEPT },
        body: new URLSearchParams({ website: 'x' }).toString(),
      });
      expect(response.status).toBe(303);
      expect(spam).toEqual(['demo-contact']);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string) => ({
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,idempotency-key',
      },
    });

    it('answers the preflight of an allowed origin', async () => {
      const { app } = harness();
      const response = await app.request(FORM_URL, preflight('http://localhost:3000'));
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'idempotency-key',
      );
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('vary')).toContain('Origin');
    });

    it('does not allow an origin the form does not list', async () => {
      const { app } = harness();
      const response = await app.request(FORM_URL, preflight('https://evil.example'));
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      // The Korean form does not list https://www.example.com although the English one does.
      const other = await app.request('/v1/forms/demo-contact-ko', preflight('https://www.example.com'));
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('lets an allowed origin read the answer, errors included', async () => {
      const { postJson } = harness();
      const accepted = await postJson(LEAD, { origin: 'http://localhost:8080' });
      expect(accepted.headers.get('access-control-allow-origin')).toBe('http://localhost:8080');
      const invalid = await postJson({ name: 'Kim' }, { origin: 'http://localhost:8080' });
      expect(invalid.status).toBe(422);
      expect(invalid.headers.get('access-control-allow-origin')).toBe('http://localhost:8080');
      const foreign = await postJson(LEAD, { origin: 'https://evil.example' });
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('idempotency', () => {
    it('answers a retry with the same Idempotency-Key with the first id', async () => {
      const { postJson, store, queued, outcomes } = harness();
      const first = await postJson(LEAD, { 'idempotency-key': 'order-42' });
      const second = await postJson(LEAD, { 'idempotency-key': 'order-42' });
      expect(first.status).toBe(202);
      expect(second.status).toBe(202);
      expect(await second.json()).toEqual(await first.json());
      expect(store.calls.map((call) => call.result)).toEqual([
        { submissionId: 'sub-1', replay: false },
        { submissionId: 'sub-1', replay: true },
      ]);
      expect(store.calls.map((call) => call.windowSeconds)).toEqual([86_400, 86_400]);
      expect(store.calls[0]?.idempotencyHash).toBe(store.calls[1]?.idempotencyHash);
      // Re-sent on a replay so a first attempt that died before queueing is completed.
      expect(queued.map((capture) => capture.submissionId)).toEqual(['sub-1', 'sub-1']);
      expect(outcomes.map((event) => event.outcome)).toEqual(['accepted', 'replay']);
    });

    it('refuses the same Idempotency-Key with a different body with 422', async () => {
      const { postJson, queued } = harness();
      await postJson(LEAD, { 'idempotency-key': 'order-42' });
      const reused = await postJson({ ...LEAD, name: 'Lee' }, { 'idempotency-key': 'order-42' });
      expect(reused.status).toBe(422);
      expect(await reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
      expect(queued).toHaveLength(1);
    });

    it('scopes an Idempotency-Key to its form', async () => {
      const { postJson, store } = harness();
      const english = await postJson(LEAD, { 'idempotency-key': 'k1' });
      const korean = await postJson(LEAD, { 'idempotency-key': 'k1' }, '/v1/forms/demo-contact-ko');
      expect(await english.json()).toMatchObject({ id: 'sub-1' });
      expect(await korean.json()).toMatchObject({ id: 'sub-2' });
      expect(store.size).toBe(2);
    });

    it('treats an identical key-less body as a double submit within a short window, whatever the field order', async () => {
      const { app, postJson, store } = harness();
      const first = await postJson(LEAD);
      const reordered = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ consent: 'on', phone: LEAD.phone, email: LEAD.email, name: LEAD.name }),
      });
      expect(await reordered.json()).toEqual(await first.json());
      expect(store.calls.map((call) => call.windowSeconds)).toEqual([600, 600]);
      expect(store.calls[1]?.result).toEqual({ submissionId: 'sub-1', replay: true });
      const changed = await postJson({ ...LEAD, message: 'One more thing' });
      expect(await changed.json()).toMatchObject({ id: 'sub-3' });
    });

    it.each([
      ['empty', ''],
      ['with a space', 'order 42'],
      ['longer than 255 characters', 'k'.repeat(256)],
      ['not ASCII', 'clé'],
    ])('answers 400 to an Idempotency-Key %s', async (_, key) => {
      const { postJson, store } = harness();
      const response = await postJson(LEAD, { 'idempotency-key': key });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: 'malformed_body',
        fields: [expect.objectContaining({ field: 'Idempotency-Key', code: 'invalid_header' })],
      });
      expect(store.calls).toHaveLength(0);
    });

    it('accepts a 255-character visible-ASCII key', async () => {
      const { postJson } = harness();
      expect((await postJson(LEAD, { 'idempotency-key': '!'.repeat(255) })).status).toBe(202);
    });
  });

  describe('failures', () => {
    it('answers 500 with a generic body when queueing fails, and a retry completes with the same id', async () => {
      const { postJson, store, queued, outcomes, enqueueFailures } = harness();
      enqueueFailures.push(new Error('SQS said no: arn:aws:sqs:ap-northeast-2:123456789012:leads.fifo'));

      const failed = await postJson(LEAD, { 'idempotency-key': 'retry-me' });
      expect(failed.status).toBe(500);
      const text = await failed.text();
      expect(JSON.parse(text)).toEqual({
        error: 'internal_error',
        message: 'The submission was not accepted; please retry.',
      });
      expect(text).not.toContain('arn:aws');
      expect(queued).toHaveLength(0);
      expect(outcomes[0]).toMatchObject({
        outcome: 'internal_error',
        status: 500,
        error: expect.stringContaining('SQS said no'),
      });

      const retried = await postJson(LEAD, { 'idempotency-key': 'retry-me' });
      expect(retried.status).toBe(202);
      expect(await retried.json()).toEqual({ id: 'sub-1', status: 'accepted' });
      expect(store.calls.map((call) => call.result)).toEqual([
        { submissionId: 'sub-1', replay: false },
        { submissionId: 'sub-1', replay: true },
      ]);
      expect(queued.map((capture) => capture.submissionId)).toEqual(['sub-1']);
    });

    it('answers 500 without internals when the store fails', async () => {
      const app = createIngestApp({
        config: demoConfig(),
        store: async () => {
          throw new Error('ProvisionedThroughputExceededException on table leadflow-prod');
        },
        enqueue: async () => {},
        countSpam: async () => {},
        newId: sequentialIds(),
      });
      const response = await app.request(FORM_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(LEAD),
      });
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('leadflow-prod');
    });
  });
});
