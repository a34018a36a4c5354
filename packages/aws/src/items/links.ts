import { ACTION_LINK_ACTIONS, ALERT_EVENTS, type AlertEvent, type AlertPreferences } from '@leadflow/core';
import { z } from 'zod';
import type { DeleteOp, Key, PutOp, UpdateOp } from './operations';

/**
 * The alert's action links and the managers' alert preferences.
 *
 * | entity       | pk                   | sk    |
 * |--------------|----------------------|-------|
 * | link use     | LINK#<sha256(token)> | USE   |
 * | alert prefs  | MANAGER#<managerId>  | PREFS |
 *
 * A link's use is keyed by a hash of its token, so the table never holds a token that would still work;
 * it is claimed once (`pending`), then settled with what happened, or released when nothing did.
 */
export const linkKeys = {
  use: (tokenHash: string): Key => ({ pk: `LINK#${tokenHash}`, sk: 'USE' }),
  /** Beside the manager's load item (`MANAGER#<id>`/`LOAD`). */
  alertPreferences: (managerId: string): Key => ({ pk: `MANAGER#${managerId}`, sk: 'PREFS' }),
} as const;

/** What a link use says happened: it is being acted on, or the action's result. */
export const LINK_OUTCOMES = ['pending', 'acknowledged', 'already_acknowledged', 'passed'] as const;
export type LinkOutcome = (typeof LINK_OUTCOMES)[number];

export const linkUseItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  leadId: z.string(),
  action: z.enum(ACTION_LINK_ACTIONS),
  managerId: z.string(),
  /** When it was used (ISO). */
  at: z.string(),
  outcome: z.enum(LINK_OUTCOMES),
  /** Whom a passed lead went to. */
  passedTo: z.string().optional(),
});
export type LinkUseItem = z.infer<typeof linkUseItemSchema>;

const PENDING: LinkOutcome = 'pending';

export const linkUseItem = {
  key: linkKeys.use,
  /** Claims the token's one use, unless it was used already; the item expires at `ttl` (epoch s). */
  claim: (
    tokenHash: string,
    use: { leadId: string; action: string; managerId: string; at: string; ttl: number },
  ): PutOp => ({
    Item: { ...linkKeys.use(tokenHash), type: 'link_use', ...use, outcome: PENDING },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** Records what a claimed use did. */
  settled: (tokenHash: string, outcome: Exclude<LinkOutcome, 'pending'>, passedTo?: string): UpdateOp => ({
    Key: linkKeys.use(tokenHash),
    UpdateExpression: `SET #outcome = :outcome${passedTo === undefined ? '' : ', passedTo = :passedTo'}`,
    ConditionExpression: '#outcome = :pending',
    ExpressionAttributeNames: { '#outcome': 'outcome' },
    ExpressionAttributeValues: {
      ':outcome': outcome,
      ':pending': PENDING,
      ...(passedTo === undefined ? {} : { ':passedTo': passedTo }),
    },
  }),
  /** Gives a claimed use back when the action changed nothing, so the link still works. */
  release: (tokenHash: string): DeleteOp => ({
    Key: linkKeys.use(tokenHash),
    ConditionExpression: '#outcome = :pending',
    ExpressionAttributeNames: { '#outcome': 'outcome' },
    ExpressionAttributeValues: { ':pending': PENDING },
  }),
};

/** A manager's alert preferences: one boolean per event they set (an event left out is on). */
export const alertPreferencesItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  managerId: z.string(),
  updatedAt: z.string().optional(),
  ...Object.fromEntries(ALERT_EVENTS.map((event) => [event, z.boolean().optional()])),
});

/** The stored choices of an item (only the events, nothing else of it). */
export function alertPreferencesOf(item: unknown): AlertPreferences {
  const parsed = alertPreferencesItemSchema.parse(item) as Record<string, unknown>;
  const alerts: AlertPreferences = {};
  for (const event of ALERT_EVENTS) {
    const value = parsed[event];
    if (typeof value === 'boolean') alerts[event] = value;
  }
  return alerts;
}

export const alertPreferencesItem = {
  key: linkKeys.alertPreferences,
  /** Sets the given events (the others stay as stored): one update, no read first. */
  set: (managerId: string, alerts: Partial<Record<AlertEvent, boolean>>, at: string): UpdateOp => {
    const events = ALERT_EVENTS.filter((event) => alerts[event] !== undefined);
    return {
      Key: linkKeys.alertPreferences(managerId),
      UpdateExpression: `SET managerId = :managerId, updatedAt = :at, #type = :type${events
        .map((event) => `, #${event} = :${event}`)
        .join('')}`,
      ExpressionAttributeNames: {
        '#type': 'type',
        ...Object.fromEntries(events.map((event) => [`#${event}`, event])),
      },
      ExpressionAttributeValues: {
        ':managerId': managerId,
        ':at': at,
        ':type': 'alert_preferences',
        ...Object.fromEntries(events.map((event) => [`:${event}`, alerts[event]])),
      },
    };
  },
};
