import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AttemptResult,
  CHAT_EVENT_TYPES,
  CHAT_KINDS,
  type ChatKind,
  chatBody,
  type DeliveryMessage,
  type DeliveryTarget,
  type DomainEvent,
  deliveryIdOf,
  deliveryMessageSchema,
  describeResult,
  domainEventsOf,
  entryNeeds,
  isDeliverableUrl,
  type LeadflowConfig,
  type LeadSnapshot,
  parseRetryAfter,
  planDelivery,
  targetName,
  toMessageBody,
  webhookBody,
} from '@leadflow/core';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import {
  auditItem,
  type ChatStateItem,
  chatStateItemSchema,
  crmLeadItem,
  deadLetterItem,
  deliveryItem,
  parseItem,
  type SubscriptionItem,
  subscriptionItemSchema,
  webhookItem,
  webhookKeys,
} from './items';
import type { ChannelSecrets } from './secrets';

/**
 * Outbound deliveries of domain events: the fan-out of committed entries to the deliveries queue (the events
 * function), and the posting, signing, retrying, disabling and dead-lettering of each delivery (the
 * deliverer). Chat and webhook posts never share a message with the email alert: they are queued from the
 * table's stream after the commit, so a slow or failing Slack cannot hold an alert back.
 */

/** SQS's longest per-message delay; longer waits are re-sent until due (`notBefore`). */
export const MAX_QUEUE_DELAY_SECONDS = 900;
/** How long a delivered message is remembered, so a repeated fan-out or redelivery is not posted again. */
const SENT_MARKER_DAYS = 7;
/** How long a dead letter can be replayed. */
export const DEAD_LETTER_DAYS = 30;
/** A receiver that takes longer than this to answer failed the attempt. */
const POST_TIMEOUT_MS = 10_000;
/** Posts per second per chat webhook (Slack's incoming webhooks allow about one). */
const CHAT_POSTS_PER_SECOND: Readonly<Record<ChatKind, boolean>> = { slack: true, teams: false };

// ---- Queue ------------------------------------------------------------------------------------------

/** One message for the deliveries queue, and how long SQS holds it back (0–900 s). */
export interface QueuedDelivery {
  readonly message: DeliveryMessage;
  readonly delaySeconds?: number;
}

/** Queues deliveries, ten per batch call; throws if any entry failed so the caller retries. */
export async function enqueueDeliveries(
  sqs: SQSClient,
  queueUrl: string,
  deliveries: readonly QueuedDelivery[],
): Promise<void> {
  for (let start = 0; start < deliveries.length; start += 10) {
    const chunk = deliveries.slice(start, start + 10);
    if (chunk.length === 1 && chunk[0]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...entryOf(chunk[0]) }));
      continue;
    }
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((delivery, index) => ({ Id: String(index), ...entryOf(delivery) })),
      }),
    );
    if (result.Failed && result.Failed.length > 0) {
      const codes = result.Failed.map((entry) => entry.Code).join(', ');
      throw new Error(`Could not queue ${result.Failed.length} deliveries: ${codes}`);
    }
  }
}

function entryOf({ message, delaySeconds }: QueuedDelivery) {
  return {
    // Characters beyond the BMP are escaped: fauxqs (and older SQS clients) refuse them raw.
    MessageBody: toMessageBody(message),
    DelaySeconds: Math.min(Math.max(Math.ceil(delaySeconds ?? 0), 0), MAX_QUEUE_DELAY_SECONDS),
    MessageAttributes: {
      target: { DataType: 'String', StringValue: message.target.kind },
      eventType: { DataType: 'String', StringValue: message.eventType },
    },
  };
}

/** A delivery message from a queue body; a malformed one throws (retried, then the queue's DLQ). */
export function parseDeliveryMessage(body: string): DeliveryMessage {
  return deliveryMessageSchema.parse(JSON.parse(body));
}

// ---- Targets ----------------------------------------------------------------------------------------

/** Every subscription and every disabled chat integration, as one read of the `WEBHOOKS` partition. */
export interface TargetsSnapshot {
  readonly subscriptions: readonly SubscriptionItem[];
  readonly chat: readonly ChatStateItem[];
}

/** A short hash of a chat webhook URL: the disabled state names the URL it was for, never the URL. */
export function urlHash(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** The subscriptions and chat states in the table: read per delivery, cached for the fan-out. */
export class DeliveryTargets {
  #cached: { at: number; value: TargetsSnapshot } | undefined;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: { readonly ttlSeconds?: number; readonly now?: () => number } = {},
  ) {}

  /** Every target, re-read at most every `ttlSeconds` (a new subscription is heard within that). */
  async current(): Promise<TargetsSnapshot> {
    const now = (this.options.now ?? Date.now)();
    const ttl = (this.options.ttlSeconds ?? 10) * 1000;
    if (this.#cached && now - this.#cached.at < ttl) return this.#cached.value;
    const subscriptions: SubscriptionItem[] = [];
    const chat: ChatStateItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.tableName, ...webhookItem.targets(), ExclusiveStartKey }),
      );
      for (const item of page.Items ?? []) {
        if (item.type === 'webhook') subscriptions.push(parseItem(subscriptionItemSchema, item));
        else if (item.type === 'chat_integration') chat.push(parseItem(chatStateItemSchema, item));
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const value = { subscriptions, chat };
    this.#cached = { at: now, value };
    return value;
  }

  async subscription(subscriptionId: string): Promise<SubscriptionItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: webhookKeys.subscription(subscriptionId),
        ConsistentRead: true,
      }),
    );
    return Item ? parseItem(subscriptionItemSchema, Item) : undefined;
  }

  async chatState(teamId: string, kind: ChatKind): Promise<ChatStateItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: webhookKeys.chat(teamId, kind),
        ConsistentRead: true,
      }),
    );
    return Item ? parseItem(chatStateItemSchema, Item) : undefined;
  }

  /** Turns a subscription off; false when it was off already (or deleted): warn only once. */
  async disableSubscription(subscriptionId: string, at: string, reason: string): Promise<boolean> {
    return conditional(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          ...webhookItem.disable(subscriptionId, { at, reason }),
        }),
      ),
    );
  }

  /** Turns a team's chat integration off for this URL; false when it was off for it already. */
  async disableChat(
    teamId: string,
    kind: ChatKind,
    url: string,
    at: string,
    reason: string,
  ): Promise<boolean> {
    return conditional(
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          ...webhookItem.disableChat({ teamId, kind, urlHash: urlHash(url), at, reason }),
        }),
      ),
    );
  }
}

/** True when the write happened, false when its condition failed. */
async function conditional(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * A team's chat webhook URL from the channel secrets (`integrations`), when set and one we post to: https,
 * or plain http to a loopback receiver (local runs and tests; a Lambda has none).
 */
export function chatUrlOf(secrets: ChannelSecrets, teamId: string, kind: ChatKind): string | undefined {
  const url = secrets.integrations?.[teamId]?.[kind]?.webhookUrl;
  return url && isDeliverableUrl(url, { allowLoopback: true }) ? url : undefined;
}

// ---- Fan-out (the events function) ------------------------------------------------------------------

const leadReadSchema = z.looseObject({
  leadId: z.string(),
  contactId: z.string(),
  teamId: z.string(),
  ownerId: z.string().optional(),
  status: z.string(),
  priority: z.string().optional(),
  channel: z.string().optional(),
  sourceId: z.string().optional(),
  capturedAt: z.string().optional(),
  amount: z.coerce.number().optional(),
  currency: z.string().optional(),
  erasedAt: z.string().optional(),
  capture: z
    .looseObject({
      channel: z.string().optional(),
      contact: z
        .looseObject({
          name: z.string().optional(),
          email: z.string().optional(),
          phone: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
});

/** A lead by id (gsi3), as an event needs it; undefined when it is gone. */
export async function readLeadSnapshot(
  doc: DynamoDBDocumentClient,
  tableName: string,
  leadId: string,
): Promise<LeadSnapshot | undefined> {
  const { Items } = await doc.send(
    new QueryCommand({ TableName: tableName, IndexName: 'gsi3', ...crmLeadItem.byId(leadId), Limit: 1 }),
  );
  const item = Items?.[0];
  if (!item) return undefined;
  const lead = parseItem(leadReadSchema, item);
  const erased = lead.erasedAt !== undefined;
  const contact = lead.capture?.contact;
  return {
    leadId: lead.leadId,
    contactId: lead.contactId,
    teamId: lead.teamId,
    ownerId: lead.ownerId,
    status: lead.status,
    priority: lead.priority,
    channel: lead.channel ?? lead.capture?.channel,
    sourceId: lead.sourceId,
    capturedAt: lead.capturedAt,
    amount: lead.amount,
    currency: lead.currency,
    erased,
    ...(contact && !erased
      ? { contact: { name: contact.name, email: contact.email, phone: contact.phone } }
      : {}),
  };
}

export interface FanOutDeps {
  readonly targets: () => Promise<TargetsSnapshot>;
  readonly readLead: (leadId: string) => Promise<LeadSnapshot | undefined>;
  readonly secrets: ChannelSecrets;
  readonly config: () => Promise<LeadflowConfig>;
  /** The console's lead page base (`…/console/leads`): chat messages link to `<base>/<leadId>`. */
  readonly leadLinkBaseUrl?: string | undefined;
  readonly now: () => Date;
}

/** The events of one committed entry and the deliveries they make. */
export interface FanOut {
  readonly events: readonly DomainEvent[];
  readonly deliveries: readonly DeliveryMessage[];
}

/**
 * The deliveries of one committed timeline or audit entry (a stream record's new image): one per webhook
 * subscription that asked for the event, and for new leads, escalations and outcomes one per chat
 * integration of the lead's team that is not disabled for its current URL.
 */
export async function fanOut(item: Record<string, unknown>, deps: FanOutDeps): Promise<FanOut> {
  const needs = entryNeeds(item);
  if (!needs) return { events: [], deliveries: [] };
  const targets = await deps.targets();
  // Nobody listens (no active subscription, no chat integration): the lead is not even read.
  const listened =
    targets.subscriptions.some((subscription) => subscription.status === 'active') ||
    Object.keys(deps.secrets.integrations ?? {}).length > 0;
  if (!listened) return { events: [], deliveries: [] };
  const lead = needs.leadId ? await deps.readLead(needs.leadId) : undefined;
  const events = domainEventsOf(item, lead);
  if (events.length === 0) return { events, deliveries: [] };
  const queuedAt = deps.now().toISOString();
  const deliveries: DeliveryMessage[] = [];
  const add = (event: DomainEvent, target: DeliveryTarget, body: string) =>
    deliveries.push({
      version: 1,
      deliveryId: deliveryIdOf(event.id, target),
      eventId: event.id,
      eventType: event.type,
      target,
      body,
      attempt: 0,
      throttled: 0,
      queuedAt,
    });

  for (const event of events) {
    for (const subscription of targets.subscriptions) {
      if (subscription.status !== 'active' || !subscription.events.includes(event.type)) continue;
      add(event, { kind: 'webhook', subscriptionId: subscription.subscriptionId }, webhookBody(event));
    }
    const teamId = typeof event.data.teamId === 'string' ? event.data.teamId : undefined;
    if (!teamId || !CHAT_EVENT_TYPES.includes(event.type)) continue;
    for (const kind of CHAT_KINDS) {
      const url = chatUrlOf(deps.secrets, teamId, kind);
      if (!url) continue;
      const state = targets.chat.find((chat) => chat.teamId === teamId && chat.kind === kind);
      if (state && state.urlHash === urlHash(url)) continue;
      const body = chatBody(kind, event, await chatContext(event, teamId, deps));
      if (body) add(event, { kind, teamId }, body);
    }
  }
  return { events, deliveries };
}

async function chatContext(event: DomainEvent, teamId: string, deps: FanOutDeps) {
  const config = await deps.config();
  const ownerId = typeof event.data.ownerId === 'string' ? event.data.ownerId : undefined;
  const leadId = typeof event.data.leadId === 'string' ? event.data.leadId : undefined;
  return {
    teamName: config.teams.get(teamId)?.name,
    ownerName: ownerId ? (config.managers.get(ownerId)?.name ?? ownerId) : undefined,
    leadUrl:
      leadId && deps.leadLinkBaseUrl
        ? `${deps.leadLinkBaseUrl.replace(/\/$/, '')}/${encodeURIComponent(leadId)}`
        : undefined,
  };
}

// ---- Posting (the deliverer) ------------------------------------------------------------------------

/**
 * The Standard Webhooks headers of one attempt, signed with the subscription's `whsec_` secret by the
 * `standardwebhooks` package: `webhook-id` (the event id, the same on every attempt), `webhook-timestamp`
 * (this attempt's time, in seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`).
 */
export function standardWebhookHeaders(
  secret: string,
  webhookId: string,
  at: Date,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(webhookId, at, body),
  };
}

/**
 * Posts a JSON body and says what came of it: the status and Retry-After, or the error. Never follows a
 * redirect (the target is what was configured), and gives up after `timeoutMs`.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  options: { readonly timeoutMs?: number; readonly now?: () => Date } = {},
): Promise<AttemptResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'leadflow-webhooks/1', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? POST_TIMEOUT_MS),
    });
    // The body is not needed: drain it so the connection is reused.
    await response.body?.cancel().catch(() => undefined);
    const retryAfterSeconds = parseRetryAfter(
      response.headers.get('retry-after'),
      (options.now ?? (() => new Date()))(),
    );
    return { status: response.status, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const message = error instanceof Error ? error.message : String(error);
    return { error: cause ? `${message} (${cause})` : message };
  }
}

/** The deliverer's writes besides the targets: sent markers, rate slots, dead letters, the audit trail. */
export class DeliveryLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async wasSent(deliveryId: string): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: webhookKeys.sent(deliveryId), ConsistentRead: true }),
    );
    return Item !== undefined;
  }

  async markSent(deliveryId: string, at: Date): Promise<void> {
    const ttl = Math.floor(at.getTime() / 1000) + SENT_MARKER_DAYS * 86_400;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        ...deliveryItem.sent(deliveryId, { at: at.toISOString(), ttl }),
      }),
    );
  }

  /** Takes `target`'s slot for this second; false when another post took it. */
  async claimSecond(target: string, epochSecond: number): Promise<boolean> {
    return conditional(
      this.doc.send(
        new PutCommand({ TableName: this.tableName, ...deliveryItem.claimSecond(target, epochSecond) }),
      ),
    );
  }

  async deadLetter(entry: DeadLetterEntry): Promise<void> {
    const ttl = Math.floor(Date.parse(entry.deadAt) / 1000) + DEAD_LETTER_DAYS * 86_400;
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, ...deadLetterItem.put({ ...entry, ttl }) }),
    );
  }

  /** A system entry in the audit trail (a target disabled): no customer data, as every audit entry. */
  async audit(entry: {
    auditId: string;
    at: string;
    action: 'webhook.disabled' | 'integration.disabled';
    target: string;
    summary: string;
    details?: Record<string, unknown>;
  }): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        ...auditItem.put({ ...entry, actor: 'system', role: 'system' }),
      }),
    );
  }
}

/** What a dead letter keeps: the delivery as it last was, and why it failed. */
export interface DeadLetterEntry {
  readonly deadLetterId: string;
  readonly deliveryId: string;
  readonly eventId: string;
  readonly eventType: DeliveryMessage['eventType'];
  readonly target: DeliveryTarget;
  readonly body: string;
  readonly attempts: number;
  readonly lastStatus?: number | undefined;
  readonly lastError: string;
  readonly queuedAt: string;
  readonly deadAt: string;
}

export interface DelivererDeps {
  readonly now: () => Date;
  readonly newId: () => string;
  readonly targets: Pick<
    DeliveryTargets,
    'subscription' | 'chatState' | 'disableSubscription' | 'disableChat'
  >;
  readonly ledger: Pick<DeliveryLedger, 'wasSent' | 'markSent' | 'claimSecond' | 'deadLetter' | 'audit'>;
  /** The team's chat webhook URL from the secrets. */
  readonly chatUrl: (teamId: string, kind: ChatKind) => string | undefined;
  /** Sends the message to the deliveries queue again, held back `delaySeconds` (≤ 900). */
  readonly requeue: (message: DeliveryMessage, delaySeconds: number) => Promise<void>;
  readonly post: (
    url: string,
    body: string,
    headers: Readonly<Record<string, string>>,
  ) => Promise<AttemptResult>;
}

export type DeliveryOutcome =
  | { readonly kind: 'delivered'; readonly attempts: number }
  /** Posted before (a redelivered message, a repeated fan-out): nothing sent. */
  | { readonly kind: 'duplicate' }
  /** Not due yet, or the chat webhook's second was taken: sent back to wait. */
  | { readonly kind: 'waiting'; readonly delaySeconds: number }
  | { readonly kind: 'retry'; readonly delaySeconds: number; readonly result: string }
  | { readonly kind: 'disabled'; readonly warnedNow: boolean; readonly result: string }
  | { readonly kind: 'dead_letter'; readonly deadLetterId: string; readonly result: string }
  /** The target is gone or off (deleted, disabled, its URL removed): nothing to post to. */
  | { readonly kind: 'dropped'; readonly reason: string };

/** Where and how one delivery is posted, or why it is not. */
type Resolved =
  | { readonly url: string; readonly headers: (at: Date) => Record<string, string> }
  | { readonly dropped: string };

async function resolve(message: DeliveryMessage, deps: DelivererDeps): Promise<Resolved> {
  const { target } = message;
  if (target.kind === 'webhook') {
    const subscription = await deps.targets.subscription(target.subscriptionId);
    if (!subscription) return { dropped: 'the subscription was deleted' };
    if (subscription.status !== 'active') return { dropped: 'the subscription is disabled' };
    return {
      url: subscription.url,
      headers: (at) => standardWebhookHeaders(subscription.secret, message.eventId, at, message.body),
    };
  }
  const url = deps.chatUrl(target.teamId, target.kind);
  if (!url) return { dropped: `team ${target.teamId} has no ${target.kind} webhook any more` };
  const state = await deps.targets.chatState(target.teamId, target.kind);
  if (state && state.urlHash === urlHash(url))
    return { dropped: `the ${target.kind} integration is disabled` };
  return { url, headers: () => ({}) };
}

/**
 * One attempt at one delivery. A message not yet due, or a Slack hook whose second is taken, goes back to
 * wait; then the target is posted to, and the response decides (core `planDelivery`): delivered, retried
 * later (the message re-sent with a delay), the target disabled and the admin warned (audit trail, metric,
 * alarm), or the delivery dead-lettered. Throws only when the queue or table cannot be reached, so SQS
 * delivers the message again.
 */
export async function deliver(message: DeliveryMessage, deps: DelivererDeps): Promise<DeliveryOutcome> {
  const now = deps.now();
  if (message.notBefore) {
    const wait = Math.ceil((Date.parse(message.notBefore) - now.getTime()) / 1000);
    if (wait > 1) {
      const delaySeconds = Math.min(wait, MAX_QUEUE_DELAY_SECONDS);
      await deps.requeue(message, delaySeconds);
      return { kind: 'waiting', delaySeconds };
    }
  }
  if (await deps.ledger.wasSent(message.deliveryId)) return { kind: 'duplicate' };
  const resolved = await resolve(message, deps);
  if ('dropped' in resolved) return { kind: 'dropped', reason: resolved.dropped };

  const { target } = message;
  if (target.kind !== 'webhook' && CHAT_POSTS_PER_SECOND[target.kind]) {
    const second = Math.floor(now.getTime() / 1000);
    if (!(await deps.ledger.claimSecond(targetName(target), second))) {
      await deps.requeue({ ...message, notBefore: undefined }, 1);
      return { kind: 'waiting', delaySeconds: 1 };
    }
  }

  const result = await deps.post(resolved.url, message.body, resolved.headers(now));
  const decision = planDelivery(target, message, result);
  const described = describeResult(result);
  switch (decision.kind) {
    case 'delivered':
      await deps.ledger.markSent(message.deliveryId, deps.now());
      return { kind: 'delivered', attempts: message.attempt + message.throttled + 1 };
    case 'retry': {
      const dueAt = new Date(now.getTime() + decision.delaySeconds * 1000).toISOString();
      const next: DeliveryMessage = {
        ...message,
        attempt: decision.attempt,
        throttled: decision.throttled,
        notBefore: dueAt,
        ...(result.status === undefined ? { lastStatus: undefined } : { lastStatus: result.status }),
        lastError: described,
      };
      await deps.requeue(next, Math.min(decision.delaySeconds, MAX_QUEUE_DELAY_SECONDS));
      return { kind: 'retry', delaySeconds: decision.delaySeconds, result: described };
    }
    case 'disable': {
      const at = deps.now().toISOString();
      const reason = `${decision.reason} (${described} to ${message.eventType} ${message.eventId})`;
      const warnedNow =
        target.kind === 'webhook'
          ? await deps.targets.disableSubscription(target.subscriptionId, at, reason)
          : await deps.targets.disableChat(target.teamId, target.kind, resolved.url, at, reason);
      if (warnedNow) {
        await deps.ledger.audit({
          auditId: deps.newId(),
          at,
          action: target.kind === 'webhook' ? 'webhook.disabled' : 'integration.disabled',
          target: targetName(target),
          summary:
            target.kind === 'webhook'
              ? `Webhook ${target.subscriptionId} disabled: its endpoint answered ${described}.`
              : `The ${target.kind} integration of team ${target.teamId} disabled: its webhook answered ${described}. Put a new webhook URL in the secrets to turn it on again.`,
          details: { status: result.status, eventId: message.eventId, eventType: message.eventType },
        });
      }
      return { kind: 'disabled', warnedNow, result: described };
    }
    case 'dead_letter': {
      const deadLetterId = deps.newId();
      await deps.ledger.deadLetter({
        deadLetterId,
        deliveryId: message.deliveryId,
        eventId: message.eventId,
        eventType: message.eventType,
        target,
        body: message.body,
        attempts: message.attempt + 1,
        lastStatus: result.status,
        lastError: described,
        queuedAt: message.queuedAt,
        deadAt: deps.now().toISOString(),
      });
      return { kind: 'dead_letter', deadLetterId, result: described };
    }
  }
}
