import type { StatsDelta, StatsItem } from '@leadflow/core';
import { z } from 'zod';
import type { QueryOp, UpdateOp } from './operations';

/**
 * The analytics items: one per scope (`ALL`, `TEAM#<team>`, `MANAGER#<manager>`) and business day, keyed
 *
 * | pk                  | sk                |
 * |---------------------|-------------------|
 * | ANALYTICS#<scope>   | DAY#<yyyy-mm-dd>  |
 *
 * with flat counters (`ADD`) and speed-sample lists (`list_append`) named as core's `statName` says.
 * Not under `STATS#`: the public ingest functions may write `STATS#*` (their daily counters), and the
 * managers' numbers stay out of their reach.
 */
const PARTITION = 'ANALYTICS#';
const DAY_PREFIX = 'DAY#';

export const analyticsKeys = {
  item: (scope: string, day: string) => ({ pk: `${PARTITION}${scope}`, sk: `${DAY_PREFIX}${day}` }),
};

const samplesSchema = z.array(z.number());

/** An analytics item as read: its scope and day from the key, every `…|…` attribute a counter or samples. */
export const analyticsItemSchema = z
  .looseObject({
    pk: z.string().startsWith(PARTITION),
    sk: z.string().regex(/^DAY#\d{4}-\d{2}-\d{2}$/),
  })
  .transform((item, ctx): StatsItem => {
    const counters: Record<string, number> = {};
    const speeds: Record<string, number[]> = {};
    for (const [name, value] of Object.entries(item)) {
      if (!name.includes('|')) continue;
      if (typeof value === 'number') counters[name] = value;
      else {
        const samples = samplesSchema.safeParse(value);
        if (samples.success) speeds[name] = samples.data;
        else ctx.addIssue({ code: 'custom', path: [name], message: 'a counter or a list of samples' });
      }
    }
    return {
      scope: item.pk.slice(PARTITION.length),
      day: item.sk.slice(DAY_PREFIX.length),
      counters,
      speeds,
    };
  });

export const analyticsItem = {
  key: analyticsKeys.item,
  /**
   * One delta as one update: `ADD` every counter (creating the item and its counters at zero), and append
   * speed samples to their lists. No condition: counting is commutative, so concurrent writers never
   * conflict on a condition (a transaction holding the item can still make a plain write wait: see
   * `recordAnalytics`).
   */
  update: (delta: StatsDelta): UpdateOp => {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const adds = Object.entries(delta.add).map(([name, value], index) => {
      names[`#c${index}`] = name;
      values[`:c${index}`] = value;
      return `#c${index} :c${index}`;
    });
    const appends = Object.entries(delta.speeds).map(([name, samples], index) => {
      names[`#s${index}`] = name;
      values[`:s${index}`] = [...samples];
      return `#s${index} = list_append(if_not_exists(#s${index}, :empty), :s${index})`;
    });
    if (appends.length > 0) values[':empty'] = [];
    const clauses = [
      ...(appends.length > 0 ? [`SET ${appends.join(', ')}`] : []),
      ...(adds.length > 0 ? [`ADD ${adds.join(', ')}`] : []),
    ];
    if (clauses.length === 0) throw new Error(`An empty analytics delta for ${delta.scope} ${delta.day}`);
    return {
      Key: analyticsKeys.item(delta.scope, delta.day),
      UpdateExpression: clauses.join(' '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  },
  /** A scope's items from one day to another, both included. */
  days: (scope: string, from: string, to: string): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
    ExpressionAttributeValues: {
      ':pk': analyticsKeys.item(scope, from).pk,
      ':from': analyticsKeys.item(scope, from).sk,
      ':to': analyticsKeys.item(scope, to).sk,
    },
  }),
};
