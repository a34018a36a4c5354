import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  isOpenStage,
  normalizeEmail,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import { z } from 'zod';
import { type HygieneProblem, hygieneItem, keys } from '../items';
import type { DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';

/**
 * The admins' hygiene lists, read from gsi4 and never scanned: contacts with an undeliverable address
 * (`HYGIENE#undeliverable`, put there by `markUndeliverable`), contacts with unresolved possible duplicates
 * (`HYGIENE#duplicates`, maintained when duplicates are linked and when a merge resolves them), and stale
 * leads (each team's `OPEN#<team>` partition, sorted by last touch, below a cutoff).
 *
 * A profile has one gsi4 slot: an undeliverable address takes it over duplicates, so such a contact is listed
 * under `undeliverable` only, with its count of possible duplicates.
 */

type Item = Record<string, unknown>;

/** The sections of the hygiene report. */
export const HYGIENE_SECTIONS = ['undeliverable', 'duplicates', 'stale'] as const;
export type HygieneSection = (typeof HYGIENE_SECTIONS)[number];

export interface UndeliverableContact {
  readonly contactId: string;
  readonly ownerId?: string | undefined;
  /** When the last address was found undeliverable, and why (as the bounce handler said). */
  readonly since: string;
  readonly reason: string;
  readonly addresses: string[];
  readonly possibleDuplicates: number;
}

export interface DuplicateContact {
  readonly contactId: string;
  readonly ownerId?: string | undefined;
  /** When the contact was first listed. */
  readonly since: string;
  /** Possible duplicates not merged into it, not separated from it and not erased (their live ids). */
  readonly duplicates: string[];
}

export interface StaleLead {
  readonly leadId: string;
  readonly contactId: string;
  readonly teamId: string;
  readonly ownerId?: string | undefined;
  readonly status: string;
  readonly channel?: string | undefined;
  readonly capturedAt?: string | undefined;
  readonly touchedAt: string;
  /** Whole days since the last touch. */
  readonly untouchedDays: number;
}

export interface HygieneQuery {
  /** A lead untouched this many days is stale. */
  readonly staleDays: number;
  readonly limit: number;
  /** One section only; a cursor implies its own. */
  readonly section?: HygieneSection | undefined;
  readonly cursor?: string | undefined;
}

export interface HygieneReport {
  readonly staleDays: number;
  /** Leads last touched before this are stale. */
  readonly staleBefore: string;
  readonly undeliverable?: Page<UndeliverableContact>;
  readonly duplicates?: Page<DuplicateContact>;
  readonly stale?: Page<StaleLead>;
}

const keySchema = z.object({ pk: z.string(), sk: z.string(), gsi4pk: z.string(), gsi4sk: z.string() });
const cursorSchema = z.discriminatedUnion('section', [
  z.object({ section: z.enum(['undeliverable', 'duplicates']), after: keySchema }),
  z.object({ section: z.literal('stale'), team: z.number().int().min(0), after: keySchema.optional() }),
]);

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_HOPS = 10;

/** The hygiene lists; admins only. */
export class HygieneRepository {
  constructor(private readonly data: DataContext) {}

  async report(viewer: Viewer, query: HygieneQuery): Promise<HygieneReport> {
    if (viewer.role !== 'admin') throw new RoleForbiddenError('The hygiene lists are for admins.');
    const cursor = decodeCursor(query.cursor, cursorSchema);
    if (cursor && query.section && cursor.section !== query.section) {
      throw new ValidationError('The cursor belongs to another section.', [
        {
          field: 'cursor',
          code: 'invalid_cursor',
          message: `this cursor pages the ${cursor.section} section`,
        },
      ]);
    }
    const section = cursor?.section ?? query.section;
    const now = this.data.clock();
    const staleBefore = new Date(now.getTime() - query.staleDays * DAY_MS).toISOString();
    const wants = (name: HygieneSection) => section === undefined || section === name;
    const after = cursor && cursor.section !== 'stale' ? cursor.after : undefined;
    const [undeliverable, duplicates, stale] = await Promise.all([
      wants('undeliverable') ? this.undeliverable(query.limit, after) : undefined,
      wants('duplicates') ? this.duplicates(query.limit, after) : undefined,
      wants('stale')
        ? this.stale(query.limit, staleBefore, now, cursor?.section === 'stale' ? cursor : undefined)
        : undefined,
    ]);
    return {
      staleDays: query.staleDays,
      staleBefore,
      ...(undeliverable ? { undeliverable } : {}),
      ...(duplicates ? { duplicates } : {}),
      ...(stale ? { stale } : {}),
    };
  }

  private undeliverable(limit: number, after?: Item) {
    return this.listed('undeliverable', limit, after, async (profile) => {
      if (profile.erasedAt !== undefined || profile.mergedInto !== undefined) return undefined;
      const view: UndeliverableContact = {
        contactId: String(profile.contactId),
        ...(typeof profile.ownerId === 'string' ? { ownerId: profile.ownerId } : {}),
        since: String(profile.undeliverableAt ?? String(profile.gsi4sk).split('#')[0]),
        reason: String(profile.undeliverableReason ?? 'undeliverable'),
        addresses: setOf(profile.undeliverableAddresses).sort(),
        possibleDuplicates: setOf(profile.possibleDuplicates).length,
      };
      return view;
    });
  }

  private duplicates(limit: number, after?: Item) {
    return this.listed('duplicates', limit, after, async (profile) => {
      if (profile.erasedAt !== undefined || profile.mergedInto !== undefined) return undefined;
      const duplicates = await unresolvedDuplicates(this.data.doc, this.data.tableName, profile);
      if (duplicates.length === 0) return undefined;
      const view: DuplicateContact = {
        contactId: String(profile.contactId),
        ...(typeof profile.ownerId === 'string' ? { ownerId: profile.ownerId } : {}),
        since: String(profile.gsi4sk).split('#')[0] ?? '',
        duplicates,
      };
      return view;
    });
  }

  /** One problem's contacts, newest first, each viewed (or passed over) by `view`. */
  private async listed<T>(
    problem: HygieneProblem,
    limit: number,
    after: Item | undefined,
    view: (profile: Item) => Promise<T | undefined>,
  ): Promise<Page<T>> {
    const items: T[] = [];
    let start: Item | undefined = after;
    for (;;) {
      const page = await this.data.doc.send(
        new QueryCommand({
          TableName: this.data.tableName,
          IndexName: 'gsi4',
          ...hygieneItem.listed(problem),
          ScanIndexForward: false,
          Limit: limit + 1,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const found = page.Items ?? [];
      for (const [index, profile] of found.entries()) {
        const shown = await view(profile);
        if (shown !== undefined) items.push(shown);
        if (items.length === limit) {
          const more = index < found.length - 1 || page.LastEvaluatedKey !== undefined;
          return more
            ? { items, nextCursor: encodeCursor({ section: problem, after: indexKey(profile) }) }
            : { items };
        }
      }
      if (!page.LastEvaluatedKey) return { items };
      start = page.LastEvaluatedKey;
    }
  }

  /** Open leads untouched since `staleBefore`, team by team (as configured), stalest first. */
  private async stale(
    limit: number,
    staleBefore: string,
    now: Date,
    cursor: { team: number; after?: Item | undefined } | undefined,
  ): Promise<Page<StaleLead>> {
    const config = await this.data.config();
    const teams = [...config.teams.keys()].sort();
    const items: StaleLead[] = [];
    for (let team = cursor?.team ?? 0; team < teams.length; team++) {
      const teamId = teams[team] as string;
      let start: Item | undefined = cursor?.team === team ? cursor.after : undefined;
      for (;;) {
        const page = await this.data.doc.send(
          new QueryCommand({
            TableName: this.data.tableName,
            IndexName: 'gsi4',
            ...hygieneItem.stale(teamId, staleBefore),
            Limit: limit + 1,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const lead of page.Items ?? []) {
          if (lead.type !== 'lead' || lead.erasedAt !== undefined || !isOpenStage(String(lead.status)))
            continue;
          const touchedAt = String(lead.touchedAt ?? String(lead.gsi4sk).split('#')[0]);
          items.push({
            leadId: String(lead.leadId),
            contactId: String(lead.contactId),
            teamId,
            ...(typeof lead.ownerId === 'string' ? { ownerId: lead.ownerId } : {}),
            status: String(lead.status),
            ...(typeof lead.channel === 'string' ? { channel: lead.channel } : {}),
            ...(typeof lead.capturedAt === 'string' ? { capturedAt: lead.capturedAt } : {}),
            touchedAt,
            untouchedDays: Math.floor((now.getTime() - Date.parse(touchedAt)) / DAY_MS),
          });
          if (items.length === limit) {
            // Possibly more: the rest of this team's page, or the next teams'.
            return { items, nextCursor: encodeCursor({ section: 'stale', team, after: indexKey(lead) }) };
          }
        }
        if (!page.LastEvaluatedKey) break;
        start = page.LastEvaluatedKey;
      }
    }
    return { items };
  }
}

/**
 * Lists the contact that holds `address` (an email; its live contact if it was merged) under
 * `HYGIENE#undeliverable`, with the address and the reason: what the bounce and complaint handler calls.
 * Returns the contact, or undefined when no contact has the address (or it is not an email address).
 */
export async function markUndeliverable(
  data: Pick<DataContext, 'doc' | 'tableName' | 'clock'>,
  address: string,
  reason: string,
): Promise<{ contactId: string } | undefined> {
  const email = normalizeEmail(address);
  if (!email.ok) return undefined;
  const why = reason.trim().slice(0, 200) || 'undeliverable';
  const { Item: claim } = await data.doc.send(
    new GetCommand({
      TableName: data.tableName,
      Key: keys.identity(`email:${email.value.key}`),
      ConsistentRead: true,
    }),
  );
  if (typeof claim?.contactId !== 'string') return undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const contactId = await liveContact(data.doc, data.tableName, claim.contactId);
    if (!contactId) return undefined;
    try {
      await data.doc.send(
        new UpdateCommand({
          TableName: data.tableName,
          ...hygieneItem.undeliverable(contactId, {
            address: email.value.key,
            reason: why,
            at: data.clock().toISOString(),
          }),
        }),
      );
      return { contactId };
    } catch (error) {
      // Merged (or being merged) meanwhile: follow it to where it went; erased: nobody to mark.
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
  return undefined;
}

/**
 * Takes a contact off the duplicates list once every possible duplicate it had is resolved (merged into it,
 * separated from it, or erased): called when a merge completes. False when it stays listed.
 */
export async function settleDuplicateHygiene(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<boolean> {
  const { Item: profile } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.contact(contactId), ConsistentRead: true }),
  );
  if (!profile || profile.gsi4pk !== keys.hygiene('duplicates')) return false;
  if ((await unresolvedDuplicates(doc, tableName, profile)).length > 0) return false;
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        ...hygieneItem.duplicatesSettled(contactId, setOf(profile.possibleDuplicates).length),
      }),
    );
    return true;
  } catch (error) {
    // A new duplicate was linked meanwhile (or it moved to another list): it stays where it is.
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * The possible duplicates of a contact that are still another person's contact: each followed to the contact
 * it lives on now, leaving out the ones merged into this contact, separated from it, gone or erased.
 */
export async function unresolvedDuplicates(
  doc: DynamoDBDocumentClient,
  tableName: string,
  profile: Item,
): Promise<string[]> {
  const self = String(profile.contactId);
  const separated = new Set(setOf(profile.separatedFrom));
  const candidates = setOf(profile.possibleDuplicates).filter((id) => id !== self && !separated.has(id));
  const live = await Promise.all(candidates.map((id) => liveContact(doc, tableName, id)));
  return [
    ...new Set(live.filter((id): id is string => id !== undefined && id !== self && !separated.has(id))),
  ].sort();
}

/** The contact an id lives on now (following merges), or undefined when it is gone or erased. */
async function liveContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<string | undefined> {
  let id = contactId;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.contact(id), ConsistentRead: true }),
    );
    if (!Item || Item.erasedAt !== undefined) return undefined;
    const next = Item.mergedInto ?? Item.mergingInto;
    if (typeof next !== 'string') return id;
    id = next;
  }
  return undefined;
}

/** An item's table and gsi4 keys: where a listing resumes. */
function indexKey(item: Item) {
  return {
    pk: String(item.pk),
    sk: String(item.sk),
    gsi4pk: String(item.gsi4pk),
    gsi4sk: String(item.gsi4sk),
  };
}

function setOf(value: unknown): string[] {
  if (value instanceof Set) return [...value].filter((entry): entry is string => typeof entry === 'string');
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return [];
}
