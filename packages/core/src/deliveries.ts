import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type DomainEvent, domainEventTypeSchema } from './domain-events';
import type { Channel } from './vocabulary';

/**
 * Deliveries of domain events: one queue message per event and target (an outbound webhook subscription, or
 * a team's Slack or Teams integration), the retry schedule, and the chat messages. Pure: the deliverer
 * reads the clock and posts; this module decides what a response means.
 */

export const CHAT_KINDS = ['slack', 'teams'] as const;
export type ChatKind = (typeof CHAT_KINDS)[number];

export const deliveryTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('webhook'), subscriptionId: z.string().min(1) }),
  z.object({ kind: z.literal('slack'), teamId: z.string().min(1) }),
  z.object({ kind: z.literal('teams'), teamId: z.string().min(1) }),
]);
export type DeliveryTarget = z.infer<typeof deliveryTargetSchema>;

/** A target's name in logs, metrics, rate items and dead letters (`webhook:wh_…`, `slack:sales`). */
export function targetName(target: DeliveryTarget): string {
  return target.kind === 'webhook' ? `webhook:${target.subscriptionId}` : `${target.kind}:${target.teamId}`;
}

/** The body of a message on the deliveries queue: one attempt at posting one event to one target. */
export const deliveryMessageSchema = z.object({
  version: z.literal(1),
  /** The same for every attempt and a replay: the deliverer's "already sent" marker is keyed by it. */
  deliveryId: z.string().min(1),
  /** The event id: `webhook-id` on every attempt, so receivers deduplicate. */
  eventId: z.string().min(1),
  eventType: domainEventTypeSchema,
  target: deliveryTargetSchema,
  /** The exact bytes posted (and signed): the event's JSON, or the rendered chat message. */
  body: z.string().min(2),
  /** Failed attempts so far (0 on the first). */
  attempt: z.number().int().nonnegative().default(0),
  /** 429 answers so far: rate limiting waits as asked, without using up the retry schedule (up to a cap). */
  throttled: z.number().int().nonnegative().default(0),
  queuedAt: z.iso.datetime(),
  /** Not to be posted before this time: a wait longer than SQS's 15-minute delay is re-sent until due. */
  notBefore: z.iso.datetime().optional(),
  lastStatus: z.number().int().optional(),
  lastError: z.string().max(500).optional(),
  /** The dead letter this message replays. */
  replayOf: z.string().optional(),
});
export type DeliveryMessage = z.infer<typeof deliveryMessageSchema>;

/** The delivery id of one event to one target: stable, so a repeated fan-out is recognised as sent. */
export function deliveryIdOf(eventId: string, target: DeliveryTarget): string {
  return `dlv_${createHash('sha256')
    .update(`${eventId}|${targetName(target)}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/**
 * Seconds to wait before each attempt (Standard Webhooks' schedule, stretched past 24 h): immediately,
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h. Eight attempts over about 41.6 hours.
 */
export const RETRY_DELAYS_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18_000, 36_000, 86_400];

/** 429s tolerated on one delivery before they count against the schedule like any failure. */
export const MAX_THROTTLED = 20;

/** The longest wait a Retry-After may ask for that is honoured as such (longer ones are capped). */
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** What one attempt came to: an HTTP status, or a network error or timeout (no status). */
export interface AttemptResult {
  readonly status?: number | undefined;
  /** The response's Retry-After, in seconds from now. */
  readonly retryAfterSeconds?: number | undefined;
  readonly error?: string | undefined;
}

export type DeliveryDecision =
  | { readonly kind: 'delivered' }
  /** Post again after `delaySeconds`, with the counters of the next message. */
  | {
      readonly kind: 'retry';
      readonly delaySeconds: number;
      readonly attempt: number;
      readonly throttled: number;
    }
  /** The endpoint is gone: turn the subscription or integration off and warn the admin. */
  | { readonly kind: 'disable'; readonly reason: string }
  /** The retries are used up: keep the delivery as a dead letter, replayable. */
  | { readonly kind: 'dead_letter'; readonly reason: string };

/**
 * What a response means for a delivery that had `attempt` failures and `throttled` 429s before it:
 * - 2xx delivered;
 * - `410 Gone` disables a webhook subscription, and `404` or `410` a chat integration (Slack answers 404 for
 *   a removed hook; a webhook's 404 may be a deploy in progress, so it is retried);
 * - `429` waits as long as Retry-After says (1 s without it for chat, the schedule's next step otherwise),
 *   without using up the schedule, up to `MAX_THROTTLED` times;
 * - anything else (5xx, other 4xx, a timeout, a refused connection, a redirect, which is never followed) is
 *   retried on the schedule, never sooner than a Retry-After asks; past the last step it is dead-lettered.
 */
export function planDelivery(
  target: DeliveryTarget,
  counters: { readonly attempt: number; readonly throttled: number },
  result: AttemptResult,
): DeliveryDecision {
  const { status } = result;
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'delivered' };
  const retryAfter =
    result.retryAfterSeconds === undefined
      ? undefined
      : Math.min(Math.max(Math.ceil(result.retryAfterSeconds), 1), MAX_RETRY_AFTER_SECONDS);
  if (status === 410 || (status === 404 && target.kind !== 'webhook')) {
    return { kind: 'disable', reason: `The endpoint answered ${status}: it is gone.` };
  }
  const next = RETRY_DELAYS_SECONDS[counters.attempt + 1];
  if (status === 429 && counters.throttled < MAX_THROTTLED) {
    const fallback = target.kind === 'webhook' ? (next ?? 1) : 1;
    return {
      kind: 'retry',
      delaySeconds: retryAfter ?? fallback,
      attempt: counters.attempt,
      throttled: counters.throttled + 1,
    };
  }
  if (next === undefined) {
    return {
      kind: 'dead_letter',
      reason: `${RETRY_DELAYS_SECONDS.length} attempts failed; the last: ${describeResult(result)}`,
    };
  }
  return {
    kind: 'retry',
    delaySeconds: Math.max(next, retryAfter ?? 0),
    attempt: counters.attempt + 1,
    throttled: counters.throttled,
  };
}

/** `HTTP 503` or the error's message, for logs and dead letters (never the response body). */
export function describeResult(result: AttemptResult): string {
  if (result.status !== undefined) return `HTTP ${result.status}`;
  return (result.error ?? 'no response').slice(0, 300);
}

/**
 * Seconds a Retry-After header asks to wait: delta-seconds, or an HTTP date relative to `now`. Undefined
 * when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/**
 * A webhook or chat URL we may post to: https, or plain http to a loopback host when `allowLoopback`
 * (local runs and tests), and never with credentials in it.
 */
export function isDeliverableUrl(url: string, options: { readonly allowLoopback: boolean }): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false;
  if (parsed.protocol === 'https:') return true;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  return options.allowLoopback && loopback && parsed.protocol === 'http:';
}

/** The secret of a new subscription: `whsec_` and 32 random bytes in base64, as Standard Webhooks spells it. */
export function webhookSecretOf(randomBytes: Uint8Array): string {
  if (randomBytes.length < 24) throw new Error('A webhook secret needs at least 24 random bytes');
  return `whsec_${Buffer.from(randomBytes).toString('base64')}`;
}

/** A `whsec_` secret's form: the prefix and base64 of 24 to 64 bytes. */
export const webhookSecretSchema = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'a whsec_ secret: whsec_ and base64')
  .refine((secret) => {
    const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
    return bytes >= 24 && bytes <= 64;
  }, 'the secret must decode to 24-64 bytes');

// ---- Chat messages ----------------------------------------------------------------------------------

/** What a chat message names besides the event: display names and the lead's link. */
export interface ChatContext {
  readonly teamName?: string | undefined;
  readonly ownerName?: string | undefined;
  /** The lead in the console; no link without it. */
  readonly leadUrl?: string | undefined;
}

interface ChatFacts {
  readonly title: string;
  readonly line: string;
  readonly facts: readonly (readonly [string, string])[];
}

const CHANNEL_LABELS: Readonly<Record<Channel, string>> = {
  web_form: 'Web form',
  phone_call: 'Phone call',
  sms: 'SMS',
  email: 'Email',
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  telegram: 'Telegram',
  chat: 'Website chat',
};
const channelLabel = (channel: string): string => CHANNEL_LABELS[channel as Channel] ?? channel;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

/**
 * The facts a chat message shows. Chat channels keep what is posted to them, beyond the reach of an
 * erasure, so a chat message names no person: no name, address or phone, and never the message. The link
 * leads to the console, where the viewer's rights apply.
 */
function chatFacts(event: DomainEvent, context: ChatContext): ChatFacts | undefined {
  const data = event.data;
  const channel = text(data.channel);
  const team = context.teamName ?? text(data.teamId) ?? 'unknown team';
  const owner = context.ownerName ?? text(data.ownerId);
  const priority = text(data.priority);
  const facts: [string, string][] = [
    ['Team', team],
    ...(channel ? [['Channel', channelLabel(channel)] as [string, string]] : []),
    ...(priority ? [['Priority', priority] as [string, string]] : []),
    ['Owner', owner ?? 'waiting in the team queue'],
  ];
  const via = channel ? ` via ${channelLabel(channel)}` : '';
  switch (event.type) {
    case 'lead.created':
      return {
        title: priority === 'urgent' ? 'New urgent lead' : 'New lead',
        line: `New ${priority === 'urgent' ? 'urgent ' : ''}lead for ${team}${via}${
          owner ? `, assigned to ${owner}` : ', waiting in the team queue'
        }.`,
        facts,
      };
    case 'sla.breached':
      return {
        title: 'Overdue lead',
        line: `A ${team} lead${owner ? ` owned by ${owner}` : ''} passed its first-response target without an answer.`,
        facts: [
          ...facts,
          ...(text(data.level) ? [['Escalation level', String(data.level)] as [string, string]] : []),
        ],
      };
    case 'lead.won': {
      const amount = text(data.amount);
      const currency = text(data.currency);
      const value = amount ? `${amount}${currency ? ` ${currency}` : ''}` : undefined;
      return {
        title: 'Lead won',
        line: `${owner ?? team} won a lead${value ? ` worth ${value}` : ''}.`,
        facts: [...facts, ...(value ? [['Amount', value] as [string, string]] : [])],
      };
    }
    case 'lead.lost':
      return { title: 'Lead lost', line: `A ${team} lead${owner ? ` of ${owner}` : ''} was lost.`, facts };
    default:
      return undefined;
  }
}

/** Slack mrkdwn needs `&`, `<` and `>` escaped; anything else is shown as written. */
function slackEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack incoming-webhook body: Block Kit blocks, with `text` as the notification and fallback. */
export function slackMessage(event: DomainEvent, context: ChatContext): Record<string, unknown> | undefined {
  const facts = chatFacts(event, context);
  if (!facts) return undefined;
  return {
    text: facts.line,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: facts.title, emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(facts.line) } },
      {
        type: 'section',
        fields: facts.facts.map(([label, value]) => ({
          type: 'mrkdwn',
          text: `*${slackEscape(label)}*\n${slackEscape(value)}`,
        })),
      },
      ...(context.leadUrl
        ? [
            {
              type: 'actions',
              elements: [
                {
                  type: 'button',
                  text: { type: 'plain_text', text: 'Open lead', emoji: false },
                  url: context.leadUrl,
                  action_id: 'open_lead',
                },
              ],
            },
          ]
        : []),
    ],
  };
}

/**
 * A Microsoft Teams Workflows webhook body: a message whose attachment is an Adaptive Card (Office 365
 * connectors' MessageCard is retired).
 */
export function teamsMessage(event: DomainEvent, context: ChatContext): Record<string, unknown> | undefined {
  const facts = chatFacts(event, context);
  if (!facts) return undefined;
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: facts.title, weight: 'Bolder', size: 'Medium', wrap: true },
            { type: 'TextBlock', text: facts.line, wrap: true },
            { type: 'FactSet', facts: facts.facts.map(([title, value]) => ({ title, value })) },
          ],
          ...(context.leadUrl
            ? { actions: [{ type: 'Action.OpenUrl', title: 'Open lead', url: context.leadUrl }] }
            : {}),
        },
      },
    ],
  };
}

/** The body a chat target posts for `event`, or undefined when that kind of event is not announced. */
export function chatBody(kind: ChatKind, event: DomainEvent, context: ChatContext): string | undefined {
  const message = kind === 'slack' ? slackMessage(event, context) : teamsMessage(event, context);
  return message ? JSON.stringify(message) : undefined;
}

/** The body a webhook subscription receives: the event itself (`id`, `type`, `timestamp`, `data`). */
export function webhookBody(event: DomainEvent): string {
  return JSON.stringify(event);
}
