/**
 * What a merge records so that it can be undone exactly. The merge record item (`MERGE#<mergeId>`/`RECORD`)
 * is written after the fence and before anything moves: the loser's profile as it stood, the identities
 * it listed, and, once the survivor's update commits, what the survivor gained. Everything that moves
 * (the loser's leads, timeline items and identity claims) carries its own undo note, `mergeUndo`, so an
 * undo finds it by the merge id however many items moved and however they changed since.
 */

import type { OpenConversation } from '@leadflow/core';
import { z } from 'zod';

export type MergeStatus = 'started' | 'done' | 'undoing' | 'undone';

/** What the survivor's profile gained from a merge: exactly what an undo takes away again. */
export interface MergeGains {
  readonly identities: readonly string[];
  readonly emails: readonly string[];
  readonly phones: readonly string[];
  readonly verifiedIdentities: readonly string[];
  /** Contacts the loser was separated from (an undone merge), which the survivor now is too. */
  readonly separatedFrom: readonly string[];
  /** The loser's open conversations carried over. */
  readonly conversationsAdded: readonly string[];
  /** The survivor's own open conversations the merge retired, as they were. */
  readonly conversationsRetired: Readonly<Record<string, OpenConversation>>;
  /** Ids of the `identity_unlisted` entries the merge wrote on the survivor's timeline. */
  readonly unlistedEntries: readonly string[];
  /** The survivor's `updatedAt` before the merge, and the one the merge wrote. */
  readonly updatedAt: { readonly before?: string; readonly after: string };
}

/** The merge record item. */
export interface MergeRecordItem {
  readonly pk: string;
  readonly sk: 'RECORD';
  readonly type: 'merge';
  readonly mergeId: string;
  readonly survivorId: string;
  readonly loserId: string;
  readonly status: MergeStatus;
  /** When the loser was fenced: the merge's timeline entries are keyed by it. */
  readonly startedAt: string;
  readonly completedAt?: string;
  readonly undoneAt?: string;
  /** The loser's profile item as it stood before the merge. */
  readonly loser: Record<string, unknown>;
  /** The identities the loser listed; the ones it claimed past its bound are found on its timeline. */
  readonly identities: readonly string[];
  readonly gained?: MergeGains;
}

/**
 * The undo note on an item a merge changed: the earlier values of the attributes it changed (`set`), the
 * ones that were absent (`remove`), and the values it wrote (`after`), so an undo restores an attribute
 * only while it still holds what the merge wrote. A note already on the item (an earlier merge moved it
 * before) is kept inside, so undoing this merge brings that one back.
 */
export interface MergeUndo {
  readonly mergeId: string;
  readonly set: Readonly<Record<string, unknown>>;
  readonly remove: readonly string[];
  readonly after: Readonly<Record<string, unknown>>;
}

/** Attributes an undo always restores: where the item lives and whose it is. */
const PLACEMENT = new Set(['pk', 'sk', 'contactId']);

/** `item` with `changes` applied and the undo note that reverses them. */
export function withMergeUndo(
  item: Readonly<Record<string, unknown>>,
  changes: Readonly<Record<string, unknown>>,
  mergeId: string,
): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const key of [...Object.keys(changes), 'mergeUndo']) {
    if (item[key] === undefined) remove.push(key);
    else set[key] = item[key];
  }
  const undo: MergeUndo = { mergeId, set, remove, after: { ...changes } };
  return { ...item, ...changes, mergeUndo: undo };
}

/**
 * The item as it was before the merge `mergeId`: placement always, other changed attributes only if they
 * still hold what the merge wrote (a lead reassigned since keeps its new owner). Undefined when the item
 * carries no note of that merge.
 */
export function withoutMergeUndo(
  item: Readonly<Record<string, unknown>>,
  mergeId: string,
): Record<string, unknown> | undefined {
  const undo = item.mergeUndo as MergeUndo | undefined;
  if (!undo || undo.mergeId !== mergeId) return undefined;
  const restored: Record<string, unknown> = { ...item };
  delete restored.mergeUndo;
  const untouched = (key: string) => PLACEMENT.has(key) || sameValue(item[key], undo.after[key]);
  for (const key of undo.remove) if (key === 'mergeUndo' || untouched(key)) delete restored[key];
  for (const [key, value] of Object.entries(undo.set)) {
    if (key === 'mergeUndo' || untouched(key)) restored[key] = value;
  }
  return restored;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, setsAsArrays) === JSON.stringify(b, setsAsArrays);
}

function setsAsArrays(_: string, value: unknown): unknown {
  return value instanceof Set ? [...value].sort() : value;
}

/** The fence attributes a merge sets on the loser's profile, which its recorded profile leaves out. */
export const FENCE_ATTRIBUTES = ['mergingInto', 'mergingAt', 'mergeId'] as const;

const conversationSchema = z.object({ leadId: z.string(), lastAt: z.string() });

/** The merge record as read back: parsed, never cast (a malformed record is an error naming the merge). */
export const mergeRecordSchema = z.looseObject({
  pk: z.string(),
  sk: z.literal('RECORD'),
  type: z.literal('merge'),
  mergeId: z.string(),
  survivorId: z.string(),
  loserId: z.string(),
  status: z.enum(['started', 'done', 'undoing', 'undone']),
  startedAt: z.string(),
  completedAt: z.string().optional(),
  undoneAt: z.string().optional(),
  loser: z.record(z.string(), z.unknown()),
  identities: z.array(z.string()),
  gained: z
    .object({
      identities: z.array(z.string()),
      emails: z.array(z.string()),
      phones: z.array(z.string()),
      verifiedIdentities: z.array(z.string()),
      separatedFrom: z.array(z.string()).default([]),
      conversationsAdded: z.array(z.string()),
      conversationsRetired: z.record(z.string(), conversationSchema),
      unlistedEntries: z.array(z.string()),
      updatedAt: z.object({ before: z.string().optional(), after: z.string() }),
    })
    .optional(),
});

/** Reads a stored merge record; undefined when there is none. */
export function parseMergeRecord(item: unknown): MergeRecordItem | undefined {
  if (item === undefined) return undefined;
  const parsed = mergeRecordSchema.safeParse(item);
  if (!parsed.success) {
    const id = (item as { mergeId?: unknown }).mergeId;
    throw new Error(`Malformed merge record ${String(id)}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as MergeRecordItem;
}
