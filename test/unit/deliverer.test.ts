import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type ChatStateItem,
  type DeadLetterEntry,
  type DelivererDeps,
  type DeliveryOutcome,
  deliver,
  MAX_QUEUE_DELAY_SECONDS,
  parseDeliveryMessage,
  postJson,
  type SubscriptionItem,
  standardWebhookHeaders,
  urlHash,
} from '@leadflow/aws';
import {
  type ChatKind,
  type DeliveryMessage,
  type DeliveryTarget,
  deliveryIdOf,
  planDelivery,
  RETRY_DELAYS_SECONDS,
  webhookSecretOf,
} from '@leadflow/core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedRequest, Receiver } from '../support/receiver';

/**
 * An independent check of a Standard Webhooks signature, from the specification rather than the package we
 * sign with: HMAC-SHA256 with the base64-decoded secret after `whsec_`, over `id.timestamp.body`, base64,
 * compared in constant time with each `v1,` signature of the header.
 */
function verifyBySpec(secret: string, request: ReceivedRequest): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((signature) => {
      const [version, value] = signature.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** The package's own verification, as a receiver would call it (it checks the timestamp against now). */
function verifyByPackage(secret: string, request: ReceivedRequest): unknown {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  });
}

/** In-memory targets and ledger, a simulated clock and a simulated queue around the real deliverer and HTTP. */
class Harness {
  readonly subscriptions = new Map<string, SubscriptionItem>();
  readonly chatStates = new Map<string, ChatStateItem>();
  readonly chatUrls = new Map<string, string>();
  readonly sent = new Set<string>();
  readonly claimed = new Set<string>();
  readonly deadLetters: DeadLetterEntry[] = [];
  readonly audits: { action: string; target: string; summary: string }[] = [];
  /** Messages sent back to the queue, with their delay. */
  readonly queue: { message: DeliveryMessage; delaySeconds: number }[] = [];
  clock = Date.now();
  #ids = 0;

  readonly deps: DelivererDeps = {
    now: () => new Date(this.clock),
    newId: () => `id-${++this.#ids}`,
    targets: {
      subscription: async (id) => this.subscriptions.get(id),
      chatState: async (teamId, kind) => this.chatStates.get(`${teamId}#${kind}`),
      disableSubscription: async (id, at, reason) => {
        const subscription = this.subscriptions.get(id);
        if (subscription?.status !== 'active') return false;
        this.subscriptions.set(id, {
          ...subscription,
          status: 'disabled',
          disabledAt: at,
          disabledReason: reason,
        });
        return true;
      },
      disableChat: async (teamId, kind, url, at, reason) => {
        const key = `${teamId}#${kind}`;
        if (this.chatStates.get(key)?.urlHash === urlHash(url)) return false;
        this.chatStates.set(key, {
          pk: 'WEBHOOKS',
          sk: `CHAT#${key}`,
          teamId,
          kind,
          urlHash: urlHash(url),
          disabledAt: at,
          disabledReason: reason,
        });
        return true;
      },
    },
    ledger: {
      wasSent: async (id) => this.sent.has(id),
      markSent: async (id) => {
        this.sent.add(id);
      },
      claimSecond: async (target, second) => {
        const key = `${target}@${second}`;
        if (this.claimed.has(key)) return false;
        this.claimed.add(key);
        return true;
      },
      deadLetter: async (entry) => {
        this.deadLetters.push(entry);
      },
      audit: async (entry) => {
        this.audits.push(entry);
      },
    },
    chatUrl: (teamId: string, kind: ChatKind) => this.chatUrls.get(`${teamId}#${kind}`),
    requeue: async (message, delaySeconds) => {
      expect(delaySeconds).toBeGreaterThanOrEqual(0);
      expect(delaySeconds).toBeLessThanOrEqual(MAX_QUEUE_DELAY_SECONDS);
      // Through the queue's own wire format and schema, as the handler reads it back.
      this.queue.push({ message: parseDeliveryMessage(JSON.stringify(message)), delaySeconds });
    },
    post: (url, body, headers) => postJson(url, body, headers, { timeoutMs: 2000 }),
  };

  subscribe(url: string, secret: string, id = 'wh_1'): SubscriptionItem {
    const subscription: SubscriptionItem = {
      pk: 'WEBHOOKS',
      sk: `HOOK#${id}`,
      subscriptionId: id,
      url,
      events: ['lead.created'],
      secret,
      status: 'active',
      createdAt: new Date(this.clock).toISOString(),
      createdBy: 'admin',
    };
    this.subscriptions.set(id, subscription);
    return subscription;
  }

  /**
   * Delivers `message` and every message it sends back to the queue, advancing the clock by each delay as
   * SQS would hold it; returns every outcome in order.
   */
  async run(message: DeliveryMessage, maxSteps = 100): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    let next: DeliveryMessage | undefined = message;
    for (let step = 0; next && step < maxSteps; step++) {
      outcomes.push(await deliver(next, this.deps));
      const queued = this.queue.shift();
      if (queued) this.clock += queued.delaySeconds * 1000;
      next = queued?.message;
    }
    return outcomes;
  }
}

function messageFor(target: DeliveryTarget, body: string, eventId = 'evt_0123456789abcdef0123456789abcdef') {
  return {
    version: 1 as const,
    deliveryId: deliveryIdOf(eventId, target),
    eventId,
    eventType: 'lead.created' as const,
    target,
    body,
    attempt: 0,
    throttled: 0,
    queuedAt: new Date().toISOString(),
  };
}

const eventBody = JSON.stringify({
  id: 'evt_0123456789abcdef0123456789abcdef',
  type: 'lead.created',
  timestamp: '2025-06-01T09:30:00.000Z',
  data: { leadId: 'lead-1', teamId: 'sales', channel: 'web_form' },
});

let receiver: Receiver;
beforeAll(async () => {
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver.stop();
});

describe('the deliverer against a local receiver', () => {
  it('retries a 500 and a 429 (honouring Retry-After), then delivers, with one webhook-id and valid signatures', async () => {
    const harness = new Harness();
    const secret = webhookSecretOf(randomBytes(32));
    const path = '/hooks/retry';
    receiver.script(path, { status: 500 }, { status: 429, headers: { 'retry-after': '7' } }, { status: 200 });
    harness.subscribe(`${receiver.url}${path}`, secret);
    const started = harness.clock;

    const outcomes = await harness.run(messageFor({ kind: 'webhook', subscriptionId: 'wh_1' }, eventBody));
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['retry', 'retry', 'delivered']);
    expect(outcomes[0]).toMatchObject({
      kind: 'retry',
      delaySeconds: RETRY_DELAYS_SECONDS[1],
      result: 'HTTP 500',
    });
    expect(outcomes[1]).toMatchObject({ kind: 'retry', delaySeconds: 7, result: 'HTTP 429' });

    const requests = receiver.to(path);
    expect(requests).toHaveLength(3);
    // The same webhook-id on every attempt (the event id), so the receiver deduplicates.
    expect(new Set(requests.map((request) => request.headers['webhook-id']))).toEqual(
      new Set(['evt_0123456789abcdef0123456789abcdef']),
    );
    // Each attempt is signed at its own time: 5 s after the first, then the 7 s the 429 asked for.
    expect(requests.map((request) => Number(request.headers['webhook-timestamp']))).toEqual([
      Math.floor(started / 1000),
      Math.floor((started + 5_000) / 1000),
      Math.floor((started + 12_000) / 1000),
    ]);
    for (const request of requests) {
      expect(request.body).toBe(eventBody);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
      expect(verifyBySpec(secret, request)).toBe(true);
      expect(verifyByPackage(secret, request)).toEqual(JSON.parse(eventBody));
    }
    // A tampered body or another secret does not verify.
    const [first] = requests;
    if (!first) throw new Error('no request');
    expect(verifyBySpec(secret, { ...first, body: `${first.body} ` })).toBe(false);
    expect(verifyBySpec(webhookSecretOf(randomBytes(32)), first)).toBe(false);
    expect(harness.sent.size).toBe(1);
  });

  it('does not post a delivery again once it was delivered (a redelivered message, a repeated fan-out)', async () => {
    const harness = new Harness();
    const path = '/hooks/once';
    harness.subscribe(`${receiver.url}${path}`, webhookSecretOf(randomBytes(32)));
    const message = messageFor({ kind: 'webhook', subscriptionId: 'wh_1' }, eventBody);
    expect((await deliver(message, harness.deps)).kind).toBe('delivered');
    expect((await deliver(message, harness.deps)).kind).toBe('duplicate');
    expect(receiver.to(path)).toHaveLength(1);
  });

  it('disables a subscription whose endpoint answers 410, warns once in the audit trail, and posts no more', async () => {
    const harness = new Harness();
    const path = '/hooks/gone';
    receiver.answer(path, { status: 410 });
    harness.subscribe(`${receiver.url}${path}`, webhookSecretOf(randomBytes(32)));

    const outcomes = await harness.run(messageFor({ kind: 'webhook', subscriptionId: 'wh_1' }, eventBody));
    expect(outcomes).toEqual([{ kind: 'disabled', warnedNow: true, result: 'HTTP 410' }]);
    expect(harness.subscriptions.get('wh_1')).toMatchObject({ status: 'disabled' });
    expect(harness.audits).toEqual([
      expect.objectContaining({ action: 'webhook.disabled', target: 'webhook:wh_1' }),
    ]);
    const later = messageFor(
      { kind: 'webhook', subscriptionId: 'wh_1' },
      eventBody,
      'evt_ffffffffffffffffffffffffffffffff',
    );
    expect(await deliver(later, harness.deps)).toEqual({
      kind: 'dropped',
      reason: 'the subscription is disabled',
    });
    expect(receiver.to(path)).toHaveLength(1);
  });

  it('retries a webhook’s 404 (a deploy in progress), but disables a Slack hook that answers 404', async () => {
    expect(
      planDelivery(
        { kind: 'webhook', subscriptionId: 'wh_1' },
        { attempt: 0, throttled: 0 },
        { status: 404 },
      ),
    ).toMatchObject({ kind: 'retry', delaySeconds: 5 });

    const harness = new Harness();
    const path = '/slack/removed';
    receiver.answer(path, { status: 404, body: 'no_service' });
    harness.chatUrls.set('sales#slack', `${receiver.url}${path}`);
    const message = messageFor({ kind: 'slack', teamId: 'sales' }, '{"text":"New lead"}');
    expect(await deliver(message, harness.deps)).toEqual({
      kind: 'disabled',
      warnedNow: true,
      result: 'HTTP 404',
    });
    expect(harness.audits).toEqual([
      expect.objectContaining({ action: 'integration.disabled', target: 'slack:sales' }),
    ]);
    expect((await deliver({ ...message, deliveryId: 'dlv_other' }, harness.deps)).kind).toBe('dropped');
    expect(receiver.to(path)).toHaveLength(1);

    // A new URL in the secrets turns the integration on again.
    const fixed = '/slack/new';
    harness.chatUrls.set('sales#slack', `${receiver.url}${fixed}`);
    harness.clock += 1000; // the hook's next second
    expect((await deliver({ ...message, deliveryId: 'dlv_third' }, harness.deps)).kind).toBe('delivered');
    expect(receiver.to(fixed)).toHaveLength(1);
    // Chat posts are not signed: the URL is the credential.
    expect(receiver.to(fixed)[0]?.headers['webhook-signature']).toBeUndefined();
  });

  it('posts at most once a second per Slack hook, and waits out Slack’s 429 Retry-After', async () => {
    const harness = new Harness();
    const path = '/slack/busy';
    receiver.script(path, { status: 200 }, { status: 429, headers: { 'retry-after': '3' } }, { status: 200 });
    harness.chatUrls.set('sales#slack', `${receiver.url}${path}`);
    const first = messageFor({ kind: 'slack', teamId: 'sales' }, '{"text":"one"}', 'evt_1');
    const second = messageFor({ kind: 'slack', teamId: 'sales' }, '{"text":"two"}', 'evt_2');
    expect((await deliver(first, harness.deps)).kind).toBe('delivered');
    // Same second: not posted, sent back for a second.
    expect(await deliver(second, harness.deps)).toEqual({ kind: 'waiting', delaySeconds: 1 });
    expect(receiver.to(path)).toHaveLength(1);
    const waiting = harness.queue.shift();
    if (!waiting) throw new Error('nothing queued');
    expect(waiting.message.attempt).toBe(0);
    harness.clock += 1000;
    const outcomes = await harness.run(waiting.message);
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(['retry', 'delivered']);
    expect(outcomes[0]).toMatchObject({ delaySeconds: 3 });
    const requests = receiver.to(path);
    expect(requests).toHaveLength(3);
    expect(requests.map((request) => request.body)).toEqual([
      '{"text":"one"}',
      '{"text":"two"}',
      '{"text":"two"}',
    ]);
  });

  it('treats a refused connection and a redirect as failures, and never follows the redirect', async () => {
    const harness = new Harness();
    const path = '/hooks/moved';
    receiver.answer(path, { status: 302, headers: { location: `${receiver.url}/hooks/elsewhere` } });
    harness.subscribe(`${receiver.url}${path}`, webhookSecretOf(randomBytes(32)));
    const moved = await deliver(
      messageFor({ kind: 'webhook', subscriptionId: 'wh_1' }, eventBody),
      harness.deps,
    );
    expect(moved).toMatchObject({ kind: 'retry', result: 'HTTP 302' });
    expect(receiver.to('/hooks/elsewhere')).toHaveLength(0);

    const closed = new Receiver();
    await closed.start();
    const url = closed.url;
    await closed.stop();
    harness.subscribe(`${url}/hooks`, webhookSecretOf(randomBytes(32)), 'wh_2');
    const refused = await deliver(
      messageFor({ kind: 'webhook', subscriptionId: 'wh_2' }, eventBody),
      harness.deps,
    );
    expect(refused).toMatchObject({ kind: 'retry', delaySeconds: 5 });
    expect(harness.queue.at(-1)?.message).toMatchObject({
      attempt: 1,
      lastError: expect.stringMatching(/fetch failed|ECONNREFUSED/),
    });
  });

  it('keeps retrying for more than 24 hours on the schedule, re-delaying waits past 15 minutes, then dead-letters', async () => {
    const harness = new Harness();
    const path = '/hooks/down';
    receiver.answer(path, { status: 503 });
    harness.subscribe(`${receiver.url}${path}`, webhookSecretOf(randomBytes(32)));
    const started = harness.clock;

    const outcomes = await harness.run(
      messageFor({ kind: 'webhook', subscriptionId: 'wh_1' }, eventBody),
      500,
    );
    const retries = outcomes.filter((outcome) => outcome.kind === 'retry');
    expect(retries.map((outcome) => (outcome.kind === 'retry' ? outcome.delaySeconds : 0))).toEqual(
      RETRY_DELAYS_SECONDS.slice(1),
    );
    expect(outcomes.at(-1)).toMatchObject({ kind: 'dead_letter', result: 'HTTP 503' });
    // SQS holds a message 15 minutes at most: a 2 h wait is sent back eight times before it is due.
    const waits = outcomes.filter((outcome) => outcome.kind === 'waiting');
    expect(waits.length).toBe(
      RETRY_DELAYS_SECONDS.slice(1).reduce(
        (sum, delay) => sum + Math.ceil(delay / MAX_QUEUE_DELAY_SECONDS) - 1,
        0,
      ),
    );
    const requests = receiver.to(path);
    expect(requests).toHaveLength(RETRY_DELAYS_SECONDS.length);
    // The last attempt comes more than 24 h after the first: 5 s + 5 min + 30 min + 2 h + 5 h + 10 h + 24 h.
    const span = (harness.clock - started) / 1000;
    expect(span).toBe(RETRY_DELAYS_SECONDS.reduce((sum, delay) => sum + delay, 0));
    expect(span).toBeGreaterThan(24 * 3600);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(harness.deadLetters).toEqual([
      expect.objectContaining({
        eventId: 'evt_0123456789abcdef0123456789abcdef',
        target: { kind: 'webhook', subscriptionId: 'wh_1' },
        body: eventBody,
        attempts: RETRY_DELAYS_SECONDS.length,
        lastStatus: 503,
        lastError: 'HTTP 503',
      }),
    ]);
  });
});

describe('signing', () => {
  it('signs per Standard Webhooks: the spec’s HMAC and the package agree', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const at = new Date('2025-06-01T09:30:00.000Z');
    const headers = standardWebhookHeaders(
      secret,
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      at,
      '{"test": 2432232314}',
    );
    expect(headers['webhook-id']).toBe('msg_p5jXN8AQM9LWM0D4loKWxJek');
    expect(headers['webhook-timestamp']).toBe(String(at.getTime() / 1000));
    const expected = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))
      .update(`msg_p5jXN8AQM9LWM0D4loKWxJek.${at.getTime() / 1000}.{"test": 2432232314}`)
      .digest('base64');
    expect(headers['webhook-signature']).toBe(`v1,${expected}`);
  });
});

describe('the retry plan', () => {
  const webhook: DeliveryTarget = { kind: 'webhook', subscriptionId: 'wh_1' };
  it('delivers on any 2xx, never retries sooner than Retry-After, and stops counting 429s at the cap', () => {
    expect(planDelivery(webhook, { attempt: 3, throttled: 0 }, { status: 204 })).toEqual({
      kind: 'delivered',
    });
    expect(
      planDelivery(webhook, { attempt: 0, throttled: 0 }, { status: 503, retryAfterSeconds: 120 }),
    ).toEqual({
      kind: 'retry',
      delaySeconds: 120,
      attempt: 1,
      throttled: 0,
    });
    expect(
      planDelivery(webhook, { attempt: 1, throttled: 0 }, { status: 503, retryAfterSeconds: 1 }),
    ).toMatchObject({
      delaySeconds: 300,
    });
    expect(
      planDelivery(webhook, { attempt: 2, throttled: 20 }, { status: 429, retryAfterSeconds: 1 }),
    ).toMatchObject({
      kind: 'retry',
      attempt: 3,
      delaySeconds: 1800,
    });
    expect(planDelivery(webhook, { attempt: 7, throttled: 0 }, { error: 'timeout' })).toMatchObject({
      kind: 'dead_letter',
    });
  });
});
