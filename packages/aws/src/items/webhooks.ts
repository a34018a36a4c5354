import { CHAT_KINDS, DOMAIN_EVENT_TYPES, deliveryTargetSchema } from '@leadflow/core';
import { z } from 'zod';
import type { DeleteOp, Key, PutOp, QueryOp, UpdateOp } from './operations';

/**
 * Outbound deliveries' items:
 *
 * | entity            | pk                      | sk                      | notes                                  |
 * |-------------------|-------------------------|-------------------------|----------------------------------------|
 * | subscription      | WEBHOOKS                | HOOK#<subscriptionId>   | url, events, `whsec_` secret, status   |
 * | chat integration  | WEBHOOKS                | CHAT#<teamId>#<kind>    | only once disabled (404/410): URL hash |
 * | dead letter       | WEBHOOKDLQ              | DL#<deadLetterId>       | the payload and last error; ttl        |
 * | rate slot         | HOOKRATE#<target>       | S#<epoch second>        | one chat post per second per webhook   |
 * | sent marker       | HOOKSENT#<deliveryId>   | SENT                    | a delivered message is not posted again|
 *
 * One small partition (`WEBHOOKS`) holds every target's state, so the events function reads it in one query.
 * Dead-letter ids are ULIDs: the partition sorts by time.
 */

const WEBHOOKS = 'WEBHOOKS';
const DEAD_LETTERS = 'WEBHOOKDLQ';

export const webhookKeys = {
  subscription: (subscriptionId: string): Key => ({ pk: WEBHOOKS, sk: `HOOK#${subscriptionId}` }),
  chat: (teamId: string, kind: string): Key => ({ pk: WEBHOOKS, sk: `CHAT#${teamId}#${kind}` }),
  deadLetter: (deadLetterId: string): Key => ({ pk: DEAD_LETTERS, sk: `DL#${deadLetterId}` }),
  rate: (target: string, epochSecond: number): Key => ({ pk: `HOOKRATE#${target}`, sk: `S#${epochSecond}` }),
  sent: (deliveryId: string): Key => ({ pk: `HOOKSENT#${deliveryId}`, sk: 'SENT' }),
} as const;

/** Partition-key patterns of these items, for the IAM `dynamodb:LeadingKeys` of the functions that use them. */
export const WEBHOOK_LEADING_KEYS = {
  targets: WEBHOOKS,
  deadLetters: DEAD_LETTERS,
  rate: 'HOOKRATE#*',
  sent: 'HOOKSENT#*',
} as const;

export const SUBSCRIPTION_STATUSES = ['active', 'disabled'] as const;

/** A webhook subscription as stored; the secret never leaves the table but to sign. */
export const subscriptionItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  subscriptionId: z.string(),
  url: z.string(),
  events: z.array(z.enum(DOMAIN_EVENT_TYPES)).min(1),
  secret: z.string(),
  description: z.string().optional(),
  status: z.enum(SUBSCRIPTION_STATUSES),
  createdAt: z.string(),
  createdBy: z.string(),
  disabledAt: z.string().optional(),
  disabledReason: z.string().optional(),
});
export type SubscriptionItem = z.infer<typeof subscriptionItemSchema>;

/** A chat integration someone's 404/410 turned off: until its URL (by hash) changes in the secret. */
export const chatStateItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  teamId: z.string(),
  kind: z.enum(CHAT_KINDS),
  urlHash: z.string(),
  disabledAt: z.string(),
  disabledReason: z.string(),
});
export type ChatStateItem = z.infer<typeof chatStateItemSchema>;

export const deadLetterItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  deadLetterId: z.string(),
  deliveryId: z.string(),
  eventId: z.string(),
  eventType: z.enum(DOMAIN_EVENT_TYPES),
  target: deliveryTargetSchema,
  body: z.string(),
  attempts: z.coerce.number().int(),
  lastStatus: z.coerce.number().int().optional(),
  lastError: z.string(),
  queuedAt: z.string(),
  deadAt: z.string(),
  replayedAt: z.string().optional(),
  replayedBy: z.string().optional(),
});
export type DeadLetterItem = z.infer<typeof deadLetterItemSchema>;

export const webhookItem = {
  /** A new subscription, written once. */
  create: (subscription: {
    subscriptionId: string;
    url: string;
    events: readonly string[];
    secret: string;
    description?: string | undefined;
    createdAt: string;
    createdBy: string;
  }): PutOp => ({
    Item: {
      ...webhookKeys.subscription(subscription.subscriptionId),
      type: 'webhook',
      status: 'active',
      ...subscription,
    },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** The local demo subscription (`npm start`'s WEBHOOK_URL), written over on every start. */
  seed: (subscription: {
    subscriptionId: string;
    url: string;
    events: readonly string[];
    secret: string;
    description?: string | undefined;
    createdAt: string;
    createdBy: string;
  }): PutOp => ({
    Item: {
      ...webhookKeys.subscription(subscription.subscriptionId),
      type: 'webhook',
      status: 'active',
      ...subscription,
    },
  }),
  /** Every subscription and every disabled chat integration: the one partition. */
  targets: (): QueryOp => ({
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': WEBHOOKS },
  }),
  /** Removes a subscription, if it exists. */
  remove: (subscriptionId: string): DeleteOp => ({
    Key: webhookKeys.subscription(subscriptionId),
    ConditionExpression: 'attribute_exists(pk)',
  }),
  /** Turns a subscription off (its endpoint answered 410), once: false when it was already off or is gone. */
  disable: (subscriptionId: string, input: { at: string; reason: string }): UpdateOp => ({
    Key: webhookKeys.subscription(subscriptionId),
    UpdateExpression: 'SET #status = :disabled, disabledAt = :at, disabledReason = :reason',
    ConditionExpression: 'attribute_exists(pk) AND #status = :active',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':disabled': 'disabled',
      ':active': 'active',
      ':at': input.at,
      ':reason': input.reason,
    },
  }),
  /** Turns a team's chat integration off for this URL; a new URL in the secret turns it on again. */
  disableChat: (input: {
    teamId: string;
    kind: string;
    urlHash: string;
    at: string;
    reason: string;
  }): PutOp => ({
    Item: {
      ...webhookKeys.chat(input.teamId, input.kind),
      type: 'chat_integration',
      teamId: input.teamId,
      kind: input.kind,
      urlHash: input.urlHash,
      disabledAt: input.at,
      disabledReason: input.reason,
    },
    // Once per URL: a second 404 for the same hook (a message in flight) records and warns nothing more.
    ConditionExpression: 'attribute_not_exists(pk) OR urlHash <> :hash',
    ExpressionAttributeValues: { ':hash': input.urlHash },
  }),
};

export const deadLetterItem = {
  put: (item: { deadLetterId: string; ttl: number; [attribute: string]: unknown }): PutOp => ({
    Item: { ...webhookKeys.deadLetter(item.deadLetterId), type: 'webhook_dead_letter', ...item },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** Dead letters newest first is the caller's `ScanIndexForward: false`; `before` is an exclusive cursor. */
  list: (before?: string): QueryOp => ({
    KeyConditionExpression: before === undefined ? 'pk = :pk' : 'pk = :pk AND sk < :before',
    ExpressionAttributeValues: {
      ':pk': DEAD_LETTERS,
      ...(before === undefined ? {} : { ':before': webhookKeys.deadLetter(before).sk }),
    },
  }),
  /** Marks a dead letter replayed, once. */
  replayed: (deadLetterId: string, input: { at: string; by: string }): UpdateOp => ({
    Key: webhookKeys.deadLetter(deadLetterId),
    UpdateExpression: 'SET replayedAt = :at, replayedBy = :by',
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(replayedAt)',
    ExpressionAttributeValues: { ':at': input.at, ':by': input.by },
  }),
};

export const deliveryItem = {
  /** Claims a target's slot for one second: fails (conditional) when a post already took it. */
  claimSecond: (target: string, epochSecond: number): PutOp => ({
    Item: { ...webhookKeys.rate(target, epochSecond), ttl: epochSecond + 3600 },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** Records a delivered message, kept `ttl` (epoch seconds). */
  sent: (deliveryId: string, input: { at: string; ttl: number }): PutOp => ({
    Item: { ...webhookKeys.sent(deliveryId), sentAt: input.at, ttl: input.ttl },
  }),
};
