import { type ChannelSecrets, type FanOutDeps, fanOut, type SubscriptionItem, urlHash } from '@leadflow/aws';
import { deliveryMessageSchema, type LeadSnapshot } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { demoConfig } from './support';

const entry = {
  pk: 'CONTACT#c1',
  sk: 'TL#2025-06-01T09:30:00.000Z#sub-1',
  type: 'interaction',
  interactionId: 'sub-1',
  leadId: 'lead-1',
  mode: 'lead',
  assignment: { teamId: 'sales', ownerId: 'alice', rule: 'default', strategy: 'round_robin', reason: 'x' },
  channel: 'web_form',
  direction: 'inbound',
  occurredAt: '2025-06-01T09:30:00.000Z',
  summary: 'Web form from Kim Minsu',
};

const lead: LeadSnapshot = {
  leadId: 'lead-1',
  contactId: 'c1',
  teamId: 'sales',
  ownerId: 'alice',
  status: 'new',
  channel: 'web_form',
  erased: false,
  contact: { name: 'Kim Minsu', email: 'kim@example.com' },
};

function subscription(
  id: string,
  events: SubscriptionItem['events'],
  status: 'active' | 'disabled' = 'active',
) {
  return {
    pk: 'WEBHOOKS',
    sk: `HOOK#${id}`,
    subscriptionId: id,
    url: `https://crm.example.com/${id}`,
    events,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    status,
    createdAt: '2025-01-01T00:00:00.000Z',
    createdBy: 'admin',
  } satisfies SubscriptionItem;
}

const slackUrl = 'https://hooks.slack.com/services/T000/B000/XXXX';
const secrets: ChannelSecrets = {
  generic: {},
  integrations: {
    sales: { slack: { webhookUrl: slackUrl }, teams: { webhookUrl: 'https://example.webhook.office.com/x' } },
    thai: { slack: { webhookUrl: 'https://hooks.slack.com/services/T000/B000/YYYY' } },
  },
};

function deps(overrides: Partial<FanOutDeps> = {}): FanOutDeps & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    targets: async () => ({
      subscriptions: [
        subscription('wh_all', ['lead.created', 'lead.assigned']),
        subscription('wh_won', ['lead.won']),
        subscription('wh_off', ['lead.created'], 'disabled'),
      ],
      chat: [],
    }),
    readLead: async (leadId) => {
      reads.push(leadId);
      return lead;
    },
    secrets,
    config: async () => demoConfig(),
    leadLinkBaseUrl: 'https://crm.example.com/console/leads/',
    now: () => new Date('2025-06-01T09:30:01.000Z'),
    ...overrides,
  };
}

describe('fan-out of a committed entry', () => {
  it('queues one delivery per subscription that asked for the event, and the team’s chat for a new lead', async () => {
    const { events, deliveries } = await fanOut(entry, deps());
    expect(events.map((event) => event.type)).toEqual(['lead.created', 'lead.assigned']);
    expect(deliveries.map((delivery) => [delivery.eventType, delivery.target])).toEqual([
      ['lead.created', { kind: 'webhook', subscriptionId: 'wh_all' }],
      ['lead.created', { kind: 'slack', teamId: 'sales' }],
      ['lead.created', { kind: 'teams', teamId: 'sales' }],
      ['lead.assigned', { kind: 'webhook', subscriptionId: 'wh_all' }],
    ]);
    for (const delivery of deliveries) {
      expect(deliveryMessageSchema.parse(delivery)).toEqual(delivery);
      expect(delivery).toMatchObject({ attempt: 0, throttled: 0, queuedAt: '2025-06-01T09:30:01.000Z' });
    }
    const [webhook, slack] = deliveries;
    expect(JSON.parse(webhook?.body ?? '')).toMatchObject({ id: webhook?.eventId, type: 'lead.created' });
    expect(JSON.parse(slack?.body ?? '').text).toBe(
      'New lead for Sales via Web form, assigned to Alice Kim.',
    );
    expect(slack?.body).toContain('https://crm.example.com/console/leads/lead-1');
  });

  it('gives the same delivery ids when the same entry comes again', async () => {
    const first = await fanOut(entry, deps());
    const again = await fanOut({ ...entry }, deps());
    expect(again.deliveries.map((delivery) => delivery.deliveryId)).toEqual(
      first.deliveries.map((delivery) => delivery.deliveryId),
    );
    expect(new Set(first.deliveries.map((delivery) => delivery.deliveryId)).size).toBe(
      first.deliveries.length,
    );
  });

  it('skips a chat integration disabled for its current URL, and posts again once the URL changed', async () => {
    const disabled = (hash: string) =>
      deps({
        targets: async () => ({
          subscriptions: [],
          chat: [
            {
              pk: 'WEBHOOKS',
              sk: 'CHAT#sales#slack',
              teamId: 'sales',
              kind: 'slack',
              urlHash: hash,
              disabledAt: '2025-05-01T00:00:00.000Z',
              disabledReason: 'HTTP 404',
            },
          ],
        }),
      });
    const off = await fanOut(entry, disabled(urlHash(slackUrl)));
    expect(off.deliveries.map((delivery) => delivery.target.kind)).toEqual(['teams']);
    const replaced = await fanOut(entry, disabled(urlHash('https://hooks.slack.com/services/old')));
    expect(replaced.deliveries.map((delivery) => delivery.target.kind)).toEqual(['slack', 'teams']);
  });

  it('does not read the lead when nobody listens', async () => {
    const quiet = deps({
      targets: async () => ({
        subscriptions: [subscription('wh_off', ['lead.created'], 'disabled')],
        chat: [],
      }),
      secrets: { generic: {} },
    });
    expect(await fanOut(entry, quiet)).toEqual({ events: [], deliveries: [] });
    expect(quiet.reads).toEqual([]);
  });

  it('announces in chat only new leads, escalations and outcomes', async () => {
    const acknowledged = {
      ...entry,
      sk: 'TL#2025-06-01T09:31:00.000Z#lead-1:acknowledged',
      channel: 'system',
      event: 'acknowledged',
      mode: undefined,
      assignment: undefined,
    };
    const { deliveries } = await fanOut(
      acknowledged,
      deps({
        targets: async () => ({ subscriptions: [subscription('wh_ack', ['lead.acknowledged'])], chat: [] }),
      }),
    );
    expect(deliveries.map((delivery) => delivery.target)).toEqual([
      { kind: 'webhook', subscriptionId: 'wh_ack' },
    ]);
  });
});
