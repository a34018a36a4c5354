import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { deadLetterItem } from '@leadflow/aws';
import { webhookSecretOf } from '@leadflow/core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedRequest, Receiver } from '../support/receiver';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

/**
 * Notifications beyond email and outbound webhooks through the running local system: one local receiver
 * stands in for the demo team's Slack and Teams webhooks and for the demo subscription to every event
 * (`SLACK_WEBHOOK_URL`, `TEAMS_WEBHOOK_URL`, `WEBHOOK_URL`, `WEBHOOK_SECRET`, read by `npm start`).
 */

let system: TestSystem;
let receiver: Receiver;
const secret = webhookSecretOf(randomBytes(32));
const tokens: Record<string, string> = {};

interface WebhookEvent {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

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

async function submit(tag: string) {
  const p = person(tag);
  const response = await system.post('/v1/forms/demo-contact', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: p.name,
      email: p.email,
      phone: p.phoneKr,
      message: 'A quote, please',
      consent: true,
    }),
  });
  expect(response.status).toBe(202);
  return p;
}

/** The Standard Webhooks check written from the specification, independent of the package that signed. */
function verifiedBySpec(request: ReceivedRequest): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${id}.${timestamp}.${request.body}`)
    .digest();
  return String(request.headers['webhook-signature'])
    .split(' ')
    .some((signature) => {
      const [version, value] = signature.split(',');
      const given = Buffer.from(value ?? '', 'base64');
      return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** The webhook events the subscriber got (every signature checked both ways), by type. */
function webhookEvents(): (WebhookEvent & { request: ReceivedRequest })[] {
  return receiver.to('/hooks').map((request) => {
    expect(verifiedBySpec(request)).toBe(true);
    const verified = new Webhook(secret).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    }) as WebhookEvent;
    expect(request.headers['webhook-id']).toBe(verified.id);
    return { ...verified, request };
  });
}

const eventsOfLead = (leadId: string, type: string) =>
  webhookEvents().filter((event) => event.type === type && event.data.leadId === leadId);

async function leadOf(p: ReturnType<typeof person>) {
  return eventually(async () => {
    const page = await api('admin@example.com', 'GET', '/v1/leads?limit=100');
    const lead = (page.body.items as { leadId: string; ownerId?: string; capture: { name?: string } }[]).find(
      (item) => item.capture.name === p.name,
    );
    expect(lead?.ownerId).toBeDefined();
    return lead as { leadId: string; ownerId: string };
  }, 20_000);
}

beforeAll(async () => {
  receiver = await new Receiver().start();
  // Read by the local system at start, as `npm start` reads them.
  process.env.SLACK_WEBHOOK_URL = `${receiver.url}/slack`;
  process.env.TEAMS_WEBHOOK_URL = `${receiver.url}/teams`;
  process.env.WEBHOOK_URL = `${receiver.url}/hooks`;
  process.env.WEBHOOK_SECRET = secret;
  system = await startTestSystem({ configCacheSeconds: 0 });
  for (const user of ['alice', 'bob', 'admin@example.com']) tokens[user] = await system.token(user);
}, 90_000);

afterAll(async () => {
  await system?.stop();
  await receiver?.stop();
});

describe('a new form lead', () => {
  let p: ReturnType<typeof person>;
  let leadId: string;

  beforeAll(async () => {
    p = await submit('chat1');
    leadId = (await leadOf(p)).leadId;
  }, 30_000);

  it('posts a Block Kit message with a text fallback to the team’s Slack, naming nobody', async () => {
    const [slack] = await eventually(async () => {
      const found = receiver.to('/slack').filter((request) => request.body.includes(leadId));
      expect(found).toHaveLength(1);
      return found;
    }, 20_000);
    const body = JSON.parse(slack?.body ?? '{}');
    expect(body.text).toMatch(/^New lead for Sales via Web form, assigned to /);
    expect(body.blocks.map((block: { type: string }) => block.type)).toEqual([
      'header',
      'section',
      'section',
      'actions',
    ]);
    expect(slack?.headers['content-type']).toBe('application/json');
    expect(slack?.body).not.toContain(p.name);
    expect(slack?.body).not.toContain(p.emailKey);
    expect(slack?.body).not.toContain('quote');
  });

  it('posts an Adaptive Card to the team’s Teams workflow', async () => {
    const [teams] = await eventually(async () => {
      const found = receiver.to('/teams').filter((request) => request.body.includes(leadId));
      expect(found).toHaveLength(1);
      return found;
    }, 20_000);
    const body = JSON.parse(teams?.body ?? '{}');
    expect(body.type).toBe('message');
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
  });

  it('sends the subscriber a signed lead.created, with the contact’s details and no message text', async () => {
    const [created] = await eventually(async () => {
      const found = eventsOfLead(leadId, 'lead.created');
      expect(found).toHaveLength(1);
      return found;
    }, 20_000);
    expect(created?.data).toMatchObject({
      leadId,
      channel: 'web_form',
      sourceId: 'demo-contact',
      teamId: 'sales',
      status: 'new',
      contact: { name: p.name, phone: p.e164 },
    });
    const contact = created?.data.contact as { email?: string } | undefined;
    expect(contact?.email?.toLowerCase()).toBe(p.emailKey);
    expect(created?.request.body).not.toContain('quote');
    expect(created?.id).toMatch(/^evt_/);
    // The initial assignment is an event of its own.
    await eventually(async () => expect(eventsOfLead(leadId, 'lead.assigned')).toHaveLength(1), 10_000);
  });

  it('sends lead.status_changed and lead.won when the owner wins it', async () => {
    const { ownerId } = await leadOf(p);
    const contacted = await api(ownerId, 'PATCH', `/v1/leads/${leadId}`, { status: 'contacted' });
    expect(contacted.status).toBe(200);
    const won = await api(
      ownerId,
      'PATCH',
      `/v1/leads/${leadId}`,
      { status: 'won', amount: 1200, currency: 'USD' },
      { 'if-match': contacted.headers.get('etag') as string },
    );
    expect(won.status).toBe(200);
    const changes = await eventually(async () => {
      const found = eventsOfLead(leadId, 'lead.status_changed');
      expect(found.map((event) => event.data.to).sort()).toEqual(['contacted', 'won']);
      return found;
    }, 20_000);
    expect(changes.find((event) => event.data.to === 'won')?.data).toMatchObject({
      from: 'contacted',
      actor: ownerId,
    });
    const [wonEvent] = await eventually(async () => {
      const found = eventsOfLead(leadId, 'lead.won');
      expect(found).toHaveLength(1);
      return found;
    }, 20_000);
    expect(wonEvent?.data).toMatchObject({ amount: 1200, currency: 'USD', ownerId, status: 'won' });
    // Won is announced in chat too.
    await eventually(async () => {
      const found = receiver
        .to('/slack')
        .filter((request) => JSON.parse(request.body).text.includes('won a lead'));
      expect(found.some((request) => request.body.includes(leadId))).toBe(true);
    }, 20_000);
  });
});

describe('a failing Slack', () => {
  it('never holds back the email alert, and its message is retried until Slack answers', async () => {
    receiver.answer('/slack', { status: 500, body: 'internal_error' });
    const p = await submit('chat2');
    // The positive signal: the alert reached the manager's mailbox while Slack was failing.
    await system.waitForEmails(
      (emails) =>
        emails.some((email) => email.subject.includes(p.name) && email.subject.includes('New lead')),
      20_000,
    );
    const { leadId } = await leadOf(p);
    await eventually(async () => {
      expect(receiver.to('/slack').filter((request) => request.body.includes(leadId)).length).toBeGreaterThan(
        0,
      );
    }, 20_000);
    // Slack recovers: the next attempt (5 s after the first) gets through with the same message.
    receiver.answer('/slack', { status: 200, body: 'ok' });
    const attempts = await eventually(async () => {
      const found = receiver.to('/slack').filter((request) => request.body.includes(leadId));
      expect(found.length).toBeGreaterThanOrEqual(2);
      return found;
    }, 30_000);
    expect(new Set(attempts.map((request) => request.body)).size).toBe(1);
    expect((attempts.at(-1)?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(4_000);
  }, 60_000);
});

describe('the admin API', () => {
  it('lists the demo subscription without its secret, to admins only', async () => {
    const list = await api('admin@example.com', 'GET', '/v1/admin/webhooks');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: 'wh_local_demo', url: `${receiver.url}/hooks`, status: 'active' }),
    ]);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    expect((await api('alice', 'GET', '/v1/admin/webhooks')).status).toBe(403);
  });

  it('creates a subscription (https, or localhost locally), shows its secret once, and deletes it', async () => {
    const insecure = await api('admin@example.com', 'POST', '/v1/admin/webhooks', {
      url: 'http://crm.example.com/hooks',
      events: ['lead.created'],
    });
    expect(insecure.status).toBe(422);
    expect(insecure.body.fields[0]).toMatchObject({ field: 'url', code: 'insecure_url' });
    const unknown = await api('admin@example.com', 'POST', '/v1/admin/webhooks', {
      url: 'https://crm.example.com/hooks',
      events: ['lead.exploded'],
    });
    expect(unknown.status).toBe(422);

    const created = await api('admin@example.com', 'POST', '/v1/admin/webhooks', {
      url: 'https://crm.example.com/hooks',
      events: ['lead.won', 'lead.lost'],
      description: 'Our CRM',
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(created.body.secret.slice(6), 'base64')).toHaveLength(32);
    const listed = await api('admin@example.com', 'GET', '/v1/admin/webhooks');
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);

    expect((await api('admin@example.com', 'DELETE', `/v1/admin/webhooks/${created.body.id}`)).status).toBe(
      204,
    );
    expect((await api('admin@example.com', 'DELETE', `/v1/admin/webhooks/${created.body.id}`)).status).toBe(
      404,
    );
    const audit = await api('admin@example.com', 'GET', `/v1/admin/audit?target=webhook:${created.body.id}`);
    expect(audit.body.items.map((entry: { action: string }) => entry.action).sort()).toEqual([
      'webhook.created',
      'webhook.deleted',
    ]);
  });

  it('disables a subscription whose endpoint answers 410, and records it in the audit trail', async () => {
    receiver.answer('/gone', { status: 410, body: 'gone' });
    const created = await api('admin@example.com', 'POST', '/v1/admin/webhooks', {
      url: `${receiver.url}/gone`,
      events: ['lead.created'],
    });
    expect(created.status).toBe(201);
    await submit('gone1');
    const disabled = await eventually(async () => {
      const list = await api('admin@example.com', 'GET', '/v1/admin/webhooks');
      const found = list.body.items.find((item: { id: string }) => item.id === created.body.id);
      expect(found).toMatchObject({ status: 'disabled', disabledReason: expect.stringContaining('410') });
      return found;
    }, 20_000);
    expect(disabled.disabledAt).toBeDefined();
    const audit = await api('admin@example.com', 'GET', `/v1/admin/audit?target=webhook:${created.body.id}`);
    expect(
      audit.body.items.filter((entry: { action: string }) => entry.action === 'webhook.disabled'),
    ).toEqual([expect.objectContaining({ actor: 'system', role: 'system' })]);
    // Once disabled, nothing more is posted to it: the next lead reaches the demo subscriber only.
    const next = await submit('gone2');
    const { leadId } = await leadOf(next);
    await eventually(async () => expect(eventsOfLead(leadId, 'lead.created')).toHaveLength(1), 20_000);
    expect(receiver.to('/gone')).toHaveLength(1);
    expect((await api('admin@example.com', 'DELETE', `/v1/admin/webhooks/${created.body.id}`)).status).toBe(
      204,
    );
  }, 40_000);

  it('lists dead letters and replays one once, with its original webhook-id', async () => {
    const eventId = 'evt_deadbeefdeadbeefdeadbeefdeadbeef';
    const body = JSON.stringify({
      id: eventId,
      type: 'lead.lost',
      timestamp: new Date().toISOString(),
      data: { leadId: 'lead-replayed', teamId: 'sales', status: 'lost' },
    });
    const deadLetterId = '01JZZZZZZZZZZZZZZZZZZZZZZZ';
    // As the deliverer leaves one after the last retry (41 h are not waited for here).
    await system.doc.send(
      new PutCommand({
        TableName: system.tableName,
        ...deadLetterItem.put({
          deadLetterId,
          deliveryId: 'dlv_replayed',
          eventId,
          eventType: 'lead.lost',
          target: { kind: 'webhook', subscriptionId: 'wh_local_demo' },
          body,
          attempts: 8,
          lastStatus: 503,
          lastError: 'HTTP 503',
          queuedAt: new Date(Date.now() - 42 * 3600_000).toISOString(),
          deadAt: new Date().toISOString(),
          ttl: Math.floor(Date.now() / 1000) + 3600,
        }),
      }),
    );
    const list = await api('admin@example.com', 'GET', '/v1/admin/webhooks/dead-letters');
    expect(list.status).toBe(200);
    expect(list.body.items).toContainEqual(
      expect.objectContaining({
        id: deadLetterId,
        eventId,
        attempts: 8,
        lastError: 'HTTP 503',
        payload: JSON.parse(body),
      }),
    );
    expect((await api('bob', 'POST', `/v1/admin/webhooks/dead-letters/${deadLetterId}/replay`)).status).toBe(
      403,
    );
    const replay = await api(
      'admin@example.com',
      'POST',
      `/v1/admin/webhooks/dead-letters/${deadLetterId}/replay`,
    );
    expect(replay.status).toBe(202);
    const again = await api(
      'admin@example.com',
      'POST',
      `/v1/admin/webhooks/dead-letters/${deadLetterId}/replay`,
    );
    expect(again.status).toBe(409);
    expect(
      (await api('admin@example.com', 'POST', '/v1/admin/webhooks/dead-letters/nope/replay')).status,
    ).toBe(404);
    const [replayed] = await eventually(async () => {
      const found = webhookEvents().filter((event) => event.id === eventId);
      expect(found).toHaveLength(1);
      return found;
    }, 20_000);
    expect(replayed?.request.headers['webhook-id']).toBe(eventId);
    expect(replayed?.request.body).toBe(body);
  });
});
