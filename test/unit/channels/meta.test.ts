import { createHmac } from 'node:crypto';
import {
  type CaptureEvent,
  captureEventSchema,
  describeMessaging,
  describeWhatsApp,
  MalformedBodyError,
  type MetaWebhook,
  metaCaptures,
  metaChallengeResponse,
  metaSignature,
  parseMetaWebhook,
  verifyMetaSignature,
  type WhatsAppMessage,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createIngestApp, type IngestOutcome } from '../../../functions/ingest/app';
import { loadEvent } from '../../support/events';
import { demoConfig, FakeSubmissionStore, sequentialIds } from '../support';

const SECRET = 'test-meta-app-secret';
const VERIFY_TOKEN = 'test-meta-verify-token';
const NOW = new Date('2025-06-08T21:00:00.000Z');
const THAI = { teamId: 'sales', language: 'en', defaultRegion: 'TH' } as const;

/** The signature computed independently of the code under test. */
const sign = (body: string | Uint8Array, secret = SECRET) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const bytes = (text: string) => new TextEncoder().encode(text);
const context = () => ({ newId: sequentialIds('sub'), receivedAt: NOW });
const sample = (name: string) => loadEvent<MetaWebhook>(`meta/${name}.json`);
const capturesOf = (name: string) => metaCaptures(sample(name), THAI, context());

describe('X-Hub-Signature-256 verification', () => {
  const body = bytes(JSON.stringify(sample('whatsapp-text')));

  it('accepts the HMAC-SHA256 of the raw body with the app secret', () => {
    expect(verifyMetaSignature(body, sign(body), SECRET)).toBe(true);
    expect(verifyMetaSignature(body, sign(body).toUpperCase().replace('SHA256=', 'sha256='), SECRET)).toBe(
      true,
    );
    expect(metaSignature(body, SECRET)).toBe(sign(body));
  });

  it('rejects another secret, a tampered byte, a missing header, another prefix or length', () => {
    const tampered = Uint8Array.from(body);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    const hex = sign(body).slice('sha256='.length);
    expect(verifyMetaSignature(body, sign(body, 'another-secret'), SECRET)).toBe(false);
    expect(verifyMetaSignature(tampered, sign(body), SECRET)).toBe(false);
    expect(verifyMetaSignature(body, undefined, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, null, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, '', SECRET)).toBe(false);
    expect(verifyMetaSignature(body, hex, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, `sha1=${hex}`, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, `sha256=${hex.slice(0, 63)}`, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, `sha256=${hex}00`, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, `sha256=${hex.slice(0, 62)}zz`, SECRET)).toBe(false);
    expect(verifyMetaSignature(body, `sha256=${'0'.repeat(64)}`, SECRET)).toBe(false);
  });

  it('verifies any body signed with the secret and fails on any single-byte change', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (body, secret, at, flip) => {
          const header = sign(body, secret);
          expect(verifyMetaSignature(body, header, secret)).toBe(true);
          const changed = Uint8Array.from(body);
          const index = at % changed.length;
          changed[index] = (changed[index] ?? 0) ^ flip;
          expect(verifyMetaSignature(changed, header, secret)).toBe(false);
        },
      ),
    );
  });
});

describe('hub.challenge handshake', () => {
  it('echoes the challenge for a subscription with our verify token only', () => {
    const query = { mode: 'subscribe', verifyToken: VERIFY_TOKEN, challenge: '1158201444' };
    expect(metaChallengeResponse(query, VERIFY_TOKEN)).toBe('1158201444');
    expect(metaChallengeResponse({ ...query, verifyToken: 'wrong' }, VERIFY_TOKEN)).toBeUndefined();
    expect(
      metaChallengeResponse({ ...query, verifyToken: `${VERIFY_TOKEN}x` }, VERIFY_TOKEN),
    ).toBeUndefined();
    expect(metaChallengeResponse({ ...query, verifyToken: undefined }, VERIFY_TOKEN)).toBeUndefined();
    expect(metaChallengeResponse({ ...query, mode: 'unsubscribe' }, VERIFY_TOKEN)).toBeUndefined();
    expect(metaChallengeResponse({ ...query, challenge: undefined }, VERIFY_TOKEN)).toBeUndefined();
  });
});

describe('parsing and mapping Meta deliveries', () => {
  it('reads every sample as a Meta envelope', () => {
    for (const name of [
      'whatsapp-text',
      'whatsapp-batched',
      'whatsapp-status',
      'messenger-text',
      'messenger-echo',
      'instagram-text',
    ]) {
      const parsed = parseMetaWebhook(bytes(JSON.stringify(sample(name))));
      expect(parsed.entry.length, name).toBeGreaterThan(0);
    }
  });

  it('maps a WhatsApp text to a capture with the E.164 phone, name, handle and thread', () => {
    const { captures, ignored, invalid } = capturesOf('whatsapp-text');
    expect({ ignored, invalid }).toEqual({ ignored: 0, invalid: 0 });
    expect(captures).toHaveLength(1);
    const [capture] = captures;
    expect(capture).toEqual({
      version: 1,
      submissionId: 'sub-1',
      channel: 'whatsapp',
      sourceId: '106540352242922',
      teamId: 'sales',
      receivedAt: NOW.toISOString(),
      language: 'en',
      contact: { name: 'Somchai Jaidee', phone: '+66812345678' },
      message: 'Hello, do you deliver to Chiang Mai?',
      consent: false,
      urgent: false,
      answers: {},
      source: { utm: {} },
      externalId: 'wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQUVCMEY2QjFGMDQ2RTU4QjA1NwA=',
      handles: { whatsapp: '+66812345678' },
      verified: ['whatsapp:+66812345678', 'phone:+66812345678'],
      conversationId: 'whatsapp:66812345678',
    });
    expect(captureEventSchema.parse(capture)).toBeTruthy();
  });

  it('splits a batched delivery into one capture per message and ignores statuses', () => {
    const { captures, ignored, invalid } = capturesOf('whatsapp-batched');
    expect(captures.map((capture) => capture.externalId)).toEqual([
      'wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQUVCMTFBNzM0QjNCMDk2QzlGRAA=',
      'wamid.HBgLNjY4MTIzNDU2NzgVAgASGBQzQUVCMjhEOUM1NjQ4MTM4NjE4QgA=',
    ]);
    expect(new Set(captures.map((capture) => capture.submissionId)).size).toBe(2);
    expect(captures[0]?.message).toBe('I would like a quote for 20 units.');
    expect(captures[1]?.message).toBe(
      '[location: 18.7964,98.9681] Our shop, 1 Nimmanhaemin Rd, Suthep, Chiang Mai',
    );
    expect(ignored).toBe(1);
    expect(invalid).toBe(0);
    for (const capture of captures) expect(captureEventSchema.safeParse(capture).success).toBe(true);
  });

  it('creates nothing for a status-only delivery or a Messenger echo', () => {
    expect(capturesOf('whatsapp-status')).toEqual({ captures: [], ignored: 1, invalid: 0 });
    expect(capturesOf('messenger-echo')).toEqual({ captures: [], ignored: 1, invalid: 0 });
  });

  it('maps Messenger and Instagram messages to their PSID / IGSID handles and threads', () => {
    const [messenger] = capturesOf('messenger-text').captures;
    expect(messenger).toMatchObject({
      channel: 'messenger',
      sourceId: '109876543210987',
      contact: {},
      message: 'Hi! Is the summer package still available?',
      handles: { messenger: '6543210987654321' },
      conversationId: 'messenger:6543210987654321',
      externalId: expect.stringMatching(/^m_/),
    });
    const [instagram] = capturesOf('instagram-text').captures;
    expect(instagram).toMatchObject({
      channel: 'instagram',
      sourceId: '17841405793187218',
      handles: { instagram: '1234567890123456' },
      conversationId: 'instagram:1234567890123456',
      message: 'Love the new collection, how much is the blue jacket?',
    });
    for (const capture of [messenger, instagram]) {
      expect(captureEventSchema.safeParse(capture).success).toBe(true);
    }
  });

  it('refuses what is not a Meta envelope, and ignores objects and fields it does not handle', () => {
    expect(() => parseMetaWebhook(bytes('{"object":'))).toThrow(MalformedBodyError);
    expect(() => parseMetaWebhook(Uint8Array.of(0xff, 0xfe))).toThrow(MalformedBodyError);
    expect(() => parseMetaWebhook(bytes('{}'))).toThrow(MalformedBodyError);
    expect(() => parseMetaWebhook(bytes('{"object":"page","entry":{}}'))).toThrow(MalformedBodyError);
    const user = parseMetaWebhook(
      bytes('{"object":"user","entry":[{"id":"1","time":1,"changes":[{"field":"email","value":{}}]}]}'),
    );
    expect(metaCaptures(user, THAI, context())).toEqual({ captures: [], ignored: 1, invalid: 0 });
    const template = sample('whatsapp-text');
    const change = template.entry[0]?.changes?.[0];
    if (!change) throw new Error('sample has no change');
    change.field = 'message_template_status_update';
    change.value = { event: 'APPROVED', message_template_id: 123 };
    expect(metaCaptures(template, THAI, context())).toEqual({ captures: [], ignored: 1, invalid: 0 });
  });

  it('keeps the good messages of a batch when one item is malformed, and reads unknown fields', () => {
    const delivery = sample('whatsapp-batched') as unknown as {
      entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
    };
    const messages = delivery.entry[0]?.changes[0]?.value.messages ?? [];
    delete messages[0]?.from;
    (messages[1] as Record<string, unknown>).brand_new_field = { nested: true };
    const result = metaCaptures(delivery as unknown as MetaWebhook, THAI, context());
    expect(result.invalid).toBe(1);
    expect(result.captures).toHaveLength(1);
    expect(result.captures[0]?.message).toContain('[location:');

    // A content object whose shape changed is read as absent, not as a failed delivery.
    (messages[1] as { location: { latitude: unknown } }).location.latitude = 'north';
    const changed = metaCaptures(delivery as unknown as MetaWebhook, THAI, context());
    expect(changed.captures.map((capture) => capture.message)).toEqual(['[location]']);
  });

  it('names the WhatsApp sender from the matching contact, and keeps an unvalidated wa_id as a handle', () => {
    const delivery = sample('whatsapp-text');
    const value = delivery.entry[0]?.changes?.[0]?.value as {
      contacts: { wa_id: string }[];
      messages: { from: string }[];
    };
    value.contacts[0] = { ...value.contacts[0], wa_id: '999' } as { wa_id: string };
    (value.messages[0] as { from: string }).from = '999';
    const [capture] = metaCaptures(delivery, THAI, context()).captures;
    expect(capture?.contact).toEqual({ name: 'Somchai Jaidee' });
    expect(capture?.handles).toEqual({ whatsapp: '+999' });
    expect(capture?.conversationId).toBe('whatsapp:999');
  });

  it('describes non-text WhatsApp messages so the manager sees what was sent', () => {
    const message = (fields: Partial<WhatsAppMessage>): WhatsAppMessage => ({
      from: '66812345678',
      id: 'wamid.x',
      type: 'text',
      ...fields,
    });
    expect(describeWhatsApp(message({ type: 'image', image: { caption: 'This one' } }))).toBe(
      '[image] This one',
    );
    expect(describeWhatsApp(message({ type: 'image', image: {} }))).toBe('[image]');
    expect(describeWhatsApp(message({ type: 'audio', audio: { voice: true } }))).toBe('[voice message]');
    expect(describeWhatsApp(message({ type: 'document', document: { filename: 'rfq.pdf' } }))).toBe(
      '[document: rfq.pdf]',
    );
    expect(
      describeWhatsApp(
        message({
          type: 'interactive',
          interactive: { type: 'button_reply', button_reply: { id: 'b1', title: 'Yes' } },
        }),
      ),
    ).toBe('[reply: Yes]');
    expect(describeWhatsApp(message({ type: 'button', button: { text: 'Call me' } }))).toBe(
      '[button: Call me]',
    );
    expect(
      describeWhatsApp(
        message({
          type: 'contacts',
          contacts: [{ name: { formatted_name: 'Ann' }, phones: [{ phone: '+1 555' }] }],
        }),
      ),
    ).toBe('[contact: Ann +1 555]');
    expect(describeWhatsApp(message({ type: 'order' }))).toBe('[order]');
    expect(describeWhatsApp(message({ type: 'text', text: { body: '  ' } }))).toBe('[text]');
  });

  it('ignores WhatsApp reactions and system notices, and describes Messenger attachments', () => {
    const delivery = sample('whatsapp-text');
    const value = delivery.entry[0]?.changes?.[0]?.value as { messages: Record<string, unknown>[] };
    value.messages.push({ ...value.messages[0], id: 'wamid.r', type: 'reaction', reaction: { emoji: '👍' } });
    value.messages.push({ ...value.messages[0], id: 'wamid.s', type: 'system', system: { body: 'changed' } });
    const result = metaCaptures(delivery, THAI, context());
    expect(result.captures).toHaveLength(1);
    expect(result.ignored).toBe(2);

    const event = { sender: { id: '1' }, recipient: { id: '2' } };
    expect(
      describeMessaging({
        ...event,
        message: {
          mid: 'm',
          text: 'see',
          attachments: [
            { type: 'image' },
            { type: 'location', payload: { coordinates: { lat: 1.5, long: 2 } } },
          ],
        },
      }),
    ).toBe('see\n[image]\n[location: 1.5,2]');
    expect(describeMessaging({ ...event, message: { mid: 'm' } })).toBe('[message]');
    expect(describeMessaging({ ...event, postback: { title: 'Get Started', mid: 'm' } })).toBe(
      '[button: Get Started]',
    );
    expect(describeMessaging(event)).toBeUndefined();
  });
});

/** The ingest app wired to in-memory fakes, with the Meta secrets set unless a test removes them. */
function harness(secrets: { metaAppSecret?: string; metaVerifyToken?: string } = {}) {
  const store = new FakeSubmissionStore();
  const queued: CaptureEvent[] = [];
  const outcomes: IngestOutcome[] = [];
  const failures: Error[] = [];
  const app = createIngestApp({
    config: demoConfig(),
    store: async (input) => {
      const failure = failures.shift();
      if (failure) throw failure;
      return store.store(input);
    },
    enqueue: async (capture) => {
      queued.push(capture);
    },
    countSpam: async () => undefined,
    newId: sequentialIds('sub'),
    clock: () => NOW,
    secrets: { metaAppSecret: SECRET, metaVerifyToken: VERIFY_TOKEN, generic: {}, ...secrets },
    observe: (event) => outcomes.push(event),
  });
  /** `null` sends no signature header at all. */
  const deliver = (body: string, signature: string | null = sign(body)) =>
    app.request('/v1/webhooks/meta', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
      },
      body,
    });
  return { app, store, queued, outcomes, failures, deliver };
}

describe('the Meta webhook routes', () => {
  it('answers the subscription handshake with the challenge as text, and 403 otherwise', async () => {
    const { app } = harness();
    const ok = await app.request(
      `/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await app.request(
      '/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1',
    );
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('forbidden');
  });

  it('answers 404 when the channel has no secret', async () => {
    const { app, deliver } = harness({ metaAppSecret: undefined, metaVerifyToken: undefined });
    expect((await app.request('/v1/webhooks/meta?hub.mode=subscribe')).status).toBe(404);
    expect((await deliver(JSON.stringify(sample('whatsapp-text')))).status).toBe(404);
  });

  it('stores and queues every message of a batch before the 200, and a redelivery adds nothing', async () => {
    const { deliver, store, queued } = harness();
    const body = JSON.stringify(sample('whatsapp-batched'));
    const first = await deliver(body);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('EVENT_RECEIVED');
    expect(store.size).toBe(2);
    expect(queued.map((capture) => capture.message)).toEqual([
      'I would like a quote for 20 units.',
      expect.stringContaining('[location:'),
    ]);
    const again = await deliver(body);
    expect(again.status).toBe(200);
    expect(store.size).toBe(2);
    expect(store.calls.slice(2).every((call) => call.result?.replay)).toBe(true);
    // The replay re-queues the first captures (same submission ids), which FIFO deduplication drops.
    expect(new Set(queued.map((capture) => capture.submissionId))).toEqual(new Set(['sub-1', 'sub-2']));
  });

  it('refuses a bad or missing signature with 403 and stores nothing', async () => {
    const { deliver, store, queued } = harness();
    const body = JSON.stringify(sample('whatsapp-text'));
    for (const signature of [null, '', sign(body, 'wrong'), sign(`${body} `), 'sha256=abc']) {
      const response = await deliver(body, signature);
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: 'forbidden' });
    }
    expect(store.calls).toHaveLength(0);
    expect(queued).toHaveLength(0);
  });

  it('answers 400 for a signed body that is not a Meta envelope, and 200 for statuses only', async () => {
    const { deliver, store, outcomes } = harness();
    expect((await deliver('{"hello":"world"}')).status).toBe(400);
    expect((await deliver('not json')).status).toBe(400);
    expect((await deliver(JSON.stringify(sample('whatsapp-status')))).status).toBe(200);
    expect(store.calls).toHaveLength(0);
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'ignored', source: 'meta', status: 200 });
  });

  it('answers 500 when storing fails, so Meta retries', async () => {
    const { deliver, failures, queued } = harness();
    failures.push(new Error('DynamoDB unavailable'));
    const response = await deliver(JSON.stringify(sample('whatsapp-text')));
    expect(response.status).toBe(500);
    expect(queued).toHaveLength(0);
  });
});
