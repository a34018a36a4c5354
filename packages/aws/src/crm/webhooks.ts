import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConflictError,
  type DeliveryMessage,
  type DeliveryTarget,
  DOMAIN_EVENT_TYPES,
  type DomainEventType,
  isDeliverableUrl,
  NotFoundError,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
  webhookSecretOf,
} from '@leadflow/core';
import { z } from 'zod';
import {
  type ChatStateItem,
  chatStateItemSchema,
  type DeadLetterItem,
  deadLetterItem,
  deadLetterItemSchema,
  parseItem,
  type SubscriptionItem,
  subscriptionItemSchema,
  webhookItem,
  webhookKeys,
} from '../items';
import { AuditLog } from './audit';
import { actorOf, type DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';

/** Subscriptions one deployment may have: every event of every one is posted, so keep it small. */
export const MAX_SUBSCRIPTIONS = 20;

/** A new outbound webhook subscription. */
export const newWebhookSchema = z.strictObject({
  url: z.string().min(8).max(2000),
  events: z
    .array(z.enum(DOMAIN_EVENT_TYPES))
    .min(1)
    .max(DOMAIN_EVENT_TYPES.length)
    .refine((events) => new Set(events).size === events.length, 'list each event once'),
  description: z.string().trim().min(1).max(200).optional(),
});
export type NewWebhook = z.infer<typeof newWebhookSchema>;

/** A subscription as admins see it: never its secret (shown once, on creation). */
export interface WebhookView {
  readonly id: string;
  readonly url: string;
  readonly events: DomainEventType[];
  readonly description?: string | undefined;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly createdBy: string;
  readonly disabledAt?: string | undefined;
  readonly disabledReason?: string | undefined;
}

/** A team chat integration a 404/410 turned off (until its URL in the secrets changes). */
export interface DisabledIntegrationView {
  readonly teamId: string;
  readonly kind: 'slack' | 'teams';
  readonly disabledAt: string;
  readonly reason: string;
}

export interface DeadLetterView {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: DomainEventType;
  readonly target: DeliveryTarget;
  readonly attempts: number;
  readonly lastStatus?: number | undefined;
  readonly lastError: string;
  readonly queuedAt: string;
  readonly deadAt: string;
  readonly replayedAt?: string | undefined;
  readonly replayedBy?: string | undefined;
  /** The body that was posted (the event's JSON, or the chat message). */
  readonly payload: unknown;
}

export interface WebhookOptions {
  /** Accept `http://localhost` URLs (local runs); otherwise https only. */
  readonly allowLoopback: boolean;
  /** Queues a replayed delivery; without it, replay answers 409. */
  readonly enqueue?: ((messages: readonly DeliveryMessage[]) => Promise<void>) | undefined;
  /** Random bytes for secrets (tests inject them). */
  readonly randomBytes?: (size: number) => Uint8Array;
}

const deadLetterCursor = z.object({ before: z.string().min(1) });

/**
 * The admins' outbound webhooks: subscriptions (the `whsec_` secret shown once), the team chat
 * integrations a 404/410 turned off, and dead letters with their replay. Every change is audited.
 */
export class WebhookRepository {
  readonly #audit: AuditLog;

  constructor(
    private readonly data: DataContext,
    private readonly options: WebhookOptions,
  ) {
    this.#audit = new AuditLog(data);
  }

  async list(
    viewer: Viewer,
  ): Promise<{ items: WebhookView[]; disabledIntegrations: DisabledIntegrationView[] }> {
    admin(viewer);
    const { subscriptions, chat } = await this.targets();
    return {
      items: subscriptions.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(viewOf),
      disabledIntegrations: chat.map((state) => ({
        teamId: state.teamId,
        kind: state.kind,
        disabledAt: state.disabledAt,
        reason: state.disabledReason,
      })),
    };
  }

  /** A new subscription, active at once; the answer carries its secret, which is never shown again. */
  async create(viewer: Viewer, input: NewWebhook): Promise<WebhookView & { secret: string }> {
    admin(viewer);
    if (!isDeliverableUrl(input.url, { allowLoopback: this.options.allowLoopback })) {
      throw new ValidationError('The webhook URL is not one we post to.', [
        {
          field: 'url',
          code: 'insecure_url',
          message: this.options.allowLoopback
            ? 'use https (or http://localhost in local runs), without credentials in the URL'
            : 'use https, without credentials in the URL',
        },
      ]);
    }
    const { subscriptions } = await this.targets();
    if (subscriptions.length >= MAX_SUBSCRIPTIONS) {
      throw new ConflictError(
        `At most ${MAX_SUBSCRIPTIONS} subscriptions; delete one first.`,
        'too_many_webhooks',
      );
    }
    const subscriptionId = `wh_${this.data.newId()}`;
    const secret = webhookSecretOf((this.options.randomBytes ?? randomBytes)(32));
    const createdAt = this.data.clock().toISOString();
    const createdBy = actorOf(viewer);
    await this.data.doc.send(
      new PutCommand({
        TableName: this.data.tableName,
        ...webhookItem.create({
          subscriptionId,
          url: input.url,
          events: [...input.events],
          secret,
          description: input.description,
          createdAt,
          createdBy,
        }),
      }),
    );
    await this.#audit.record(
      viewer,
      'webhook.created',
      `webhook:${subscriptionId}`,
      `Webhook ${subscriptionId} created`,
      {
        // The URL's origin only: a path or query may carry a token of the receiver's.
        origin: new URL(input.url).origin,
        events: input.events,
      },
    );
    return {
      id: subscriptionId,
      url: input.url,
      events: [...input.events],
      ...(input.description ? { description: input.description } : {}),
      status: 'active',
      createdAt,
      createdBy,
      secret,
    };
  }

  async delete(viewer: Viewer, subscriptionId: string): Promise<void> {
    admin(viewer);
    try {
      await this.data.doc.send(
        new DeleteCommand({ TableName: this.data.tableName, ...webhookItem.remove(subscriptionId) }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new NotFoundError(`No webhook ${subscriptionId}.`);
      }
      throw error;
    }
    await this.#audit.record(
      viewer,
      'webhook.deleted',
      `webhook:${subscriptionId}`,
      `Webhook ${subscriptionId} deleted`,
    );
  }

  /** Deliveries that failed past their retries, newest first. */
  async deadLetters(
    viewer: Viewer,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<Page<DeadLetterView>> {
    admin(viewer);
    const start = decodeCursor(options.cursor, deadLetterCursor);
    const { Items, LastEvaluatedKey } = await this.data.doc.send(
      new QueryCommand({
        TableName: this.data.tableName,
        ...deadLetterItem.list(start?.before),
        ScanIndexForward: false,
        Limit: options.limit,
      }),
    );
    const items = (Items ?? []).map((item) => deadLetterView(parseItem(deadLetterItemSchema, item)));
    const last = items.at(-1);
    return {
      items,
      ...(LastEvaluatedKey && last ? { nextCursor: encodeCursor({ before: last.id }) } : {}),
    };
  }

  /**
   * Sends a dead letter again, as a new first attempt with the same `webhook-id` (the receiver deduplicates),
   * once: a second replay of the same dead letter is a 409. A disabled or deleted target refuses it.
   */
  async replay(
    viewer: Viewer,
    deadLetterId: string,
  ): Promise<{ id: string; deliveryId: string; replayedAt: string }> {
    admin(viewer);
    const { Item } = await this.data.doc.send(
      new GetCommand({
        TableName: this.data.tableName,
        Key: webhookKeys.deadLetter(deadLetterId),
        ConsistentRead: true,
      }),
    );
    if (!Item) throw new NotFoundError(`No dead letter ${deadLetterId}.`);
    const letter = parseItem(deadLetterItemSchema, Item);
    if (letter.replayedAt) {
      throw new ConflictError(
        `Dead letter ${deadLetterId} was replayed at ${letter.replayedAt}.`,
        'already_replayed',
      );
    }
    if (letter.target.kind === 'webhook') {
      const { Item: hook } = await this.data.doc.send(
        new GetCommand({
          TableName: this.data.tableName,
          Key: webhookKeys.subscription(letter.target.subscriptionId),
          ConsistentRead: true,
        }),
      );
      const subscription = hook ? parseItem(subscriptionItemSchema, hook) : undefined;
      if (!subscription) throw new ConflictError('Its webhook was deleted.', 'target_gone');
      if (subscription.status !== 'active')
        throw new ConflictError('Its webhook is disabled.', 'target_disabled');
    }
    const enqueue = this.options.enqueue;
    if (!enqueue) throw new ConflictError('Replays are not available here.', 'replay_unavailable');
    const replayedAt = this.data.clock().toISOString();
    const by = actorOf(viewer);
    try {
      await this.data.doc.send(
        new UpdateCommand({
          TableName: this.data.tableName,
          ...deadLetterItem.replayed(deadLetterId, { at: replayedAt, by }),
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new ConflictError(`Dead letter ${deadLetterId} was replayed meanwhile.`, 'already_replayed');
      }
      throw error;
    }
    await enqueue([
      {
        version: 1,
        deliveryId: letter.deliveryId,
        eventId: letter.eventId,
        eventType: letter.eventType,
        target: letter.target,
        body: letter.body,
        attempt: 0,
        throttled: 0,
        queuedAt: replayedAt,
        replayOf: deadLetterId,
      },
    ]);
    await this.#audit.record(
      viewer,
      'webhook.replayed',
      `dead-letter:${deadLetterId}`,
      `Replayed ${letter.eventType} to ${targetLabel(letter.target)}`,
      {
        eventId: letter.eventId,
        deliveryId: letter.deliveryId,
      },
    );
    return { id: deadLetterId, deliveryId: letter.deliveryId, replayedAt };
  }

  private async targets(): Promise<{ subscriptions: SubscriptionItem[]; chat: ChatStateItem[] }> {
    const subscriptions: SubscriptionItem[] = [];
    const chat: ChatStateItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.data.doc.send(
        new QueryCommand({
          TableName: this.data.tableName,
          ...webhookItem.targets(),
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.type === 'webhook') subscriptions.push(parseItem(subscriptionItemSchema, item));
        else if (item.type === 'chat_integration') chat.push(parseItem(chatStateItemSchema, item));
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return { subscriptions, chat };
  }
}

function admin(viewer: Viewer): void {
  if (viewer.role !== 'admin') throw new RoleForbiddenError('Webhooks are for admins.');
}

function viewOf(item: SubscriptionItem): WebhookView {
  return {
    id: item.subscriptionId,
    url: item.url,
    events: [...item.events],
    ...(item.description ? { description: item.description } : {}),
    status: item.status,
    createdAt: item.createdAt,
    createdBy: item.createdBy,
    ...(item.disabledAt ? { disabledAt: item.disabledAt } : {}),
    ...(item.disabledReason ? { disabledReason: item.disabledReason } : {}),
  };
}

function deadLetterView(item: DeadLetterItem): DeadLetterView {
  let payload: unknown;
  try {
    payload = JSON.parse(item.body);
  } catch {
    payload = item.body;
  }
  return {
    id: item.deadLetterId,
    eventId: item.eventId,
    eventType: item.eventType,
    target: item.target,
    attempts: item.attempts,
    ...(item.lastStatus === undefined ? {} : { lastStatus: item.lastStatus }),
    lastError: item.lastError,
    queuedAt: item.queuedAt,
    deadAt: item.deadAt,
    ...(item.replayedAt ? { replayedAt: item.replayedAt, replayedBy: item.replayedBy } : {}),
    payload,
  };
}

function targetLabel(target: DeliveryTarget): string {
  return target.kind === 'webhook'
    ? `webhook ${target.subscriptionId}`
    : `${target.kind} of team ${target.teamId}`;
}
