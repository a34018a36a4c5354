import { createHmac } from 'node:crypto';
import {
  type CaptureEvent,
  captureEventSchema,
  captureGenericEvent,
  GENERIC_WEBHOOK_TOLERANCE_SECONDS,
  type GenericSource,
  genericWebhookSignature,
  MalformedBodyError,
  parseGenericEvent,
  ValidationError,
  verifyGenericWebhook,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIngestApp, type IngestDeps } from '../../../functions/ingest/app';
import { loadEvent } from '../../support/events';
import { demoConfig, FakeSubmissionStore, sequentialIds } from '../support';

const SECRET = 'test-generic-callcenter-secret';
const ROTATED = 'test-generic-callcenter-secret-2';
const NOW = new Date('2025-06-01T09:30:00.000Z');
const NOW_SECONDS = String(NOW.getTime() / 1000);
const encoder = new TextEncoder();

/** The signature header computed independently of the code under test. */
const hmac = (body: string | Uint8Array, timestamp = NOW_SECONDS, secret = SECRET) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
const raw = (name: string) => JSON.stringify(loadEvent(`generic/${name}.json`));
const source = (): GenericSource => {
  const found = demoConfig().channels.generic.find((candidate) => candidate.id === 'callcenter');
  if (!found) throw new Error('the demo config has no callcenter source');
  return found;
};
const context = (overrides: Partial<GenericSource> = {}) => ({
  submissionId: 'sub-1',
  receivedAt: NOW,
  source: { ...source(), ...overrides },
});
const verify = (
  body: string | Uint8Array,
  signature: string | undefined,
  timestamp = NOW_SECONDS,
  now = NOW,
) => verifyGenericWebhook({ secret: SECRET, timestamp, signature, body, now });

function validated(event: CaptureEvent): CaptureEvent {
  expect(captureEventSchema.parse(event)).toEqual(event);
  return event;
}

describe('X-Leadflow-Signature', () => {
  const body = raw('missed-call');

  it('accepts v1= the hex HMAC-SHA256 of "{timestamp}.{raw body}"', () => {
    expect(genericWebhookSignature(SECRET, NOW_SECONDS, body)).toBe(hmac(body));
    expect(verify(body, `v1=${hmac(body)}`)).toEqual({ ok: true });
    expect(verify(encoder.encode(body), `v1=${hmac(body).toUpperCase()}`)).toEqual({ ok: true });
  });

  it('accepts any of several signatures during a secret rotation', () => {
    const old = hmac(body, NOW_SECONDS, ROTATED);
    expect(verify(body, `v1=${old}, v1=${hmac(body)}`)).toEqual({ ok: true });
    expect(verify(body, `v0=abc,v1=${hmac(body)},v1=${old}`)).toEqual({ ok: true });
    expect(verify(body, `v1=${old}`)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects a tampered body, another secret, a malformed or missing signature', () => {
    const tampered = body.replace('081 234 5678', '081 234 5679');
    expect(verify(tampered, `v1=${hmac(body)}`)).toEqual({ ok: false, reason: 'signature_mismatch' });
    expect(verify(body, `v1=${hmac(body, NOW_SECONDS, 'another-secret-0000')}`).ok).toBe(false);
    expect(verify(body, hmac(body))).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify(body, undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verify(body, `v1=${hmac(body).slice(0, 63)}`)).toEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
    expect(verify(body, `v1=${hmac(body)}00`)).toEqual({ ok: false, reason: 'signature_mismatch' });
    expect(verify(body, `v1=${'z'.repeat(64)}`)).toEqual({ ok: false, reason: 'signature_mismatch' });
    // The timestamp is signed: moving it breaks the signature.
    const later = String(Number(NOW_SECONDS) + 1);
    expect(verify(body, `v1=${hmac(body)}`, later)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('rejects stale and future timestamps beyond 300 s, and a missing one', () => {
    const at = (offset: number) => String(Number(NOW_SECONDS) + offset);
    const signedAt = (offset: number) => verify(body, `v1=${hmac(body, at(offset))}`, at(offset));
    expect(signedAt(-GENERIC_WEBHOOK_TOLERANCE_SECONDS).ok).toBe(true);
    expect(signedAt(GENERIC_WEBHOOK_TOLERANCE_SECONDS).ok).toBe(true);
    expect(signedAt(-GENERIC_WEBHOOK_TOLERANCE_SECONDS - 1)).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(signedAt(GENERIC_WEBHOOK_TOLERANCE_SECONDS + 1)).toEqual({ ok: false, reason: 'stale_timestamp' });
    for (const timestamp of [undefined, '', 'yesterday', '1.5', String(NOW.getTime())]) {
      expect(
        verify(body, `v1=${hmac(body, timestamp ?? '')}`, timestamp as string).ok,
        String(timestamp),
      ).toBe(false);
    }
  });

  it('verifies any body signed with the key, and no body with a single byte changed (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (body, position, flip) => {
          const signature = `v1=${genericWebhookSignature(SECRET, NOW_SECONDS, body)}`;
          expect(verify(body, signature)).toEqual({ ok: true });
          const changed = Uint8Array.from(body);
          const index = position % changed.length;
          changed[index] = (changed[index] ?? 0) ^ flip;
          expect(verify(changed, signature)).toEqual({ ok: false, reason: 'signature_mismatch' });
        },
      ),
    );
  });
});

describe('generic events', () => {
  it('parses every sample', () => {
    for (const name of ['missed-call', 'call', 'lead']) {
      expect(() => parseGenericEvent(encoder.encode(raw(name))), name).not.toThrow();
    }
  });

  it('maps a missed call to an urgent phone_call with the caller normalized by the source region', () => {
    const event = validated(
      captureGenericEvent(parseGenericEvent(encoder.encode(raw('missed-call'))), context()),
    );
    expect(event).toEqual({
      version: 1,
      submissionId: 'sub-1',
      channel: 'phone_call',
      sourceId: 'callcenter',
      teamId: 'sales',
      receivedAt: NOW.toISOString(),
      language: 'en',
      contact: { name: 'Somchai Jaidee', phone: '+66812345678' },
      message: 'Missed call (no-answer) — call back.',
      consent: false,
      urgent: true,
      answers: {},
      source: { utm: {} },
      externalId: 'evt_01JZ8Q4M2K7X3V9B6N5T1R0P2C',
      conversationId: 'phone:+66812345678',
      call: { sid: 'call_8842913', status: 'no-answer', durationSeconds: 0, missed: true, to: '+6621234567' },
    });
  });

  it('maps an answered call to a timeline entry with the recording', () => {
    const event = validated(captureGenericEvent(parseGenericEvent(encoder.encode(raw('call'))), context()));
    expect(event).toMatchObject({
      channel: 'phone_call',
      urgent: false,
      contact: { phone: '+66897654321' },
      call: { status: 'completed', durationSeconds: 312, missed: false },
    });
    expect(event.call?.recordingUrl).toMatch(/^https:\/\/recordings\./);
    expect(event.message).toContain(event.call?.recordingUrl);
  });

  it('treats a call with a missed status as missed', () => {
    const call = JSON.parse(raw('call'));
    call.call.status = 'voicemail';
    const event = captureGenericEvent(parseGenericEvent(encoder.encode(JSON.stringify(call))), context());
    expect(event).toMatchObject({ urgent: true, call: { missed: true } });
  });

  it("maps a lead to the source's channel with answers, UTM and page", () => {
    const event = validated(captureGenericEvent(parseGenericEvent(encoder.encode(raw('lead'))), context()));
    expect(event).toMatchObject({
      channel: 'phone_call',
      urgent: false,
      contact: {
        name: 'Nok Srisuk',
        email: 'Nok.Srisuk@example.co.th',
        emailKey: 'nok.srisuk@example.co.th',
        phone: '+66891234567',
      },
      message: 'Interested in the premium plan for 20 seats. Please send a quote.',
      answers: { company: 'Srisuk Trading', seats: '20' },
      source: {
        utm: { utm_source: 'partner', utm_campaign: 'q3-promo' },
        pageUrl: 'https://partner.example.net/offers/premium?utm_source=partner',
      },
    });
    expect(event.call).toBeUndefined();
    const asForm = captureGenericEvent(
      parseGenericEvent(encoder.encode(raw('lead'))),
      context({ channel: 'web_form' }),
    );
    expect(asForm.channel).toBe('web_form');
    expect(asForm.conversationId).toBeUndefined();
  });

  it('maps an sms to the sender’s sms conversation', () => {
    const sms = {
      id: 'evt_sms_1',
      type: 'sms',
      from: { phone: '089 765 4321' },
      message: 'Still available?',
    };
    const event = validated(
      captureGenericEvent(parseGenericEvent(encoder.encode(JSON.stringify(sms))), context()),
    );
    expect(event).toMatchObject({
      channel: 'sms',
      conversationId: 'sms:+66897654321',
      message: 'Still available?',
    });
  });

  it('keeps the extension of the caller apart from the number', () => {
    const lead = { id: 'evt_ext_1', type: 'lead', from: { phone: '๐๒ ๑๒๓ ๔๕๖๗ ต่อ ๘๙' } };
    const event = validated(
      captureGenericEvent(parseGenericEvent(encoder.encode(JSON.stringify(lead))), context()),
    );
    expect(event.contact).toEqual({ phone: '+6621234567', phoneExtension: '89' });
  });

  it('answers 400 to bytes that are not JSON', () => {
    for (const body of ['{"id":', 'not json', '\u00ff']) {
      expect(() => parseGenericEvent(encoder.encode(body))).toThrow(MalformedBodyError);
    }
    expect(() => parseGenericEvent(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrow(MalformedBodyError);
  });

  it('answers 422 naming each invalid field', () => {
    const fieldsOf = (value: unknown) => {
      try {
        captureGenericEvent(parseGenericEvent(encoder.encode(JSON.stringify(value))), context());
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).fields.map((issue) => issue.field).sort();
      }
      throw new Error('expected a validation error');
    };
    expect(fieldsOf([])).toEqual(['body']);
    expect(fieldsOf({ type: 'fax', from: {} })).toEqual(['id', 'type']);
    expect(fieldsOf({ id: 'e1', type: 'call', from: { phone: '12' } })).toEqual(['from.phone']);
    expect(fieldsOf({ id: 'e1', type: 'sms', from: { email: 'a@example.com' } })).toEqual(['from.phone']);
    expect(fieldsOf({ id: 'e1', type: 'lead', from: { name: 'Nobody' } })).toEqual(['from']);
    expect(fieldsOf({ id: 'e1', type: 'lead', from: { email: 'nope' } })).toEqual(['from.email']);
    expect(
      fieldsOf({
        id: 'e 1',
        type: 'lead',
        occurredAt: 'yesterday',
        from: { email: 'a@example.com' },
        call: { durationSeconds: -1, recordingUrl: 'javascript:alert(1)' },
        utm: { source: 'x' },
      }),
    ).toEqual(['call.durationSeconds', 'call.recordingUrl', 'id', 'occurredAt', 'utm.source']);
  });

  it('keeps a lead whose name the provider got wrong', () => {
    const lead = { id: 'e1', type: 'lead', from: { email: 'a@example.com', name: '12345' } };
    const event = captureGenericEvent(parseGenericEvent(encoder.encode(JSON.stringify(lead))), context());
    expect(event.contact).toEqual({ email: 'a@example.com', emailKey: 'a@example.com' });
  });
});

/** The ingest app with in-memory fakes. */
function harness(overrides: Partial<IngestDeps> = {}) {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const app = createIngestApp({
    config: demoConfig(),
    store: store.store,
    enqueue: async (event) => {
      queued.push(event);
    },
    countSpam: async () => undefined,
    newId: sequentialIds('sub'),
    clock: () => NOW,
    secrets: { generic: { callcenter: SECRET } },
    ...overrides,
  });
  const post = (
    body: string,
    headers: Record<string, string> = {},
    path = '/v1/webhooks/generic/callcenter',
  ) =>
    app.request(path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-leadflow-timestamp': NOW_SECONDS,
        'x-leadflow-signature': `v1=${hmac(body)}`,
        ...headers,
      },
      body,
    });
  return { store, queued, post };
}

describe('POST /v1/webhooks/generic/{sourceId}', () => {
  it('stores and queues a signed event, and answers a redelivery with the same id', async () => {
    const { post, store, queued } = harness();
    const first = await post(raw('missed-call'));
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ id: 'sub-1', status: 'accepted' });
    const again = await post(raw('missed-call'));
    expect(await again.json()).toEqual({ id: 'sub-1', status: 'accepted' });
    expect(store.size).toBe(1);
    expect(queued[0]).toMatchObject({ channel: 'phone_call', urgent: true, sourceId: 'callcenter' });
  });

  it('answers 403 to a bad, missing, stale or future signature and stores nothing', async () => {
    const { post, store, queued } = harness();
    const body = raw('lead');
    const stale = String(Number(NOW_SECONDS) - 301);
    const future = String(Number(NOW_SECONDS) + 301);
    const cases: Record<string, string>[] = [
      { 'x-leadflow-signature': `v1=${hmac(body, NOW_SECONDS, 'another-secret-0000')}` },
      { 'x-leadflow-signature': '' },
      { 'x-leadflow-timestamp': '' },
      { 'x-leadflow-timestamp': stale, 'x-leadflow-signature': `v1=${hmac(body, stale)}` },
      { 'x-leadflow-timestamp': future, 'x-leadflow-signature': `v1=${hmac(body, future)}` },
    ];
    for (const headers of cases) {
      const response = await post(body, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
    }
    const tampered = await post(body.replace('20 seats', '200 seats'), {
      'x-leadflow-signature': `v1=${hmac(body)}`,
    });
    expect(tampered.status).toBe(403);
    expect(store.calls).toHaveLength(0);
    expect(queued).toHaveLength(0);
  });

  it('answers 404 to an unknown source or one without a secret', async () => {
    const { post } = harness();
    expect((await post(raw('lead'), {}, '/v1/webhooks/generic/nobody')).status).toBe(404);
    const noSecret = harness({ secrets: { generic: {} } });
    expect((await noSecret.post(raw('lead'))).status).toBe(404);
  });

  it('answers 400, 422, 415 and 413 after the signature, and stores nothing', async () => {
    const { post, store } = harness();
    expect((await post('{"id":')).status).toBe(400);
    const invalid = await post(JSON.stringify({ id: 'e1', type: 'call', from: {} }));
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual([
      'from.phone',
    ]);
    expect((await post(raw('lead'), { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(
      415,
    );
    expect((await post(raw('lead'), { 'content-type': 'application/json; charset=latin1' })).status).toBe(
      415,
    );
    const big = JSON.stringify({ ...JSON.parse(raw('lead')), message: 'x'.repeat(70 * 1024) });
    expect((await post(big)).status).toBe(413);
    expect(store.calls).toHaveLength(0);
  });
});
