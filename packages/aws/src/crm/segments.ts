import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type ContactField,
  type FieldIssue,
  type LeadflowConfig,
  ledManagers,
  NotFoundError,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import { z } from 'zod';
import {
  type ContactListingOp,
  contactListing,
  type SegmentFilter,
  type SegmentItem,
  segmentFilterSchema,
  segmentItem,
  segmentItemSchema,
} from '../items';
import { table } from '../resources';
import { AuditLog } from './audit';
import { actorOf, type DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';

/**
 * Segments: saved filters over contacts by tag, channel, source (form or widget id) and custom field. Anyone
 * signed in reads the definitions; team leads and admins save them; the creator or an admin deletes one.
 * A segment's contacts are only those the viewer may see: a manager's own (their owner partition of gsi1), a
 * team lead's managers' (one owner partition each, merged newest first), an admin's all (gsi2 `CONTACTS`),
 * each read with the segment's conditions as a FilterExpression. Never a scan.
 */

/** A segment to save. */
export const newSegmentSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  filter: segmentFilterSchema,
});
export type NewSegment = z.infer<typeof newSegmentSchema>;

/** A segment as the API shows it. */
export interface SegmentView {
  readonly id: string;
  readonly name: string;
  readonly filter: SegmentFilter;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** A contact in a segment's listing: who, since when, whose, and what the filters look at. */
export interface SegmentContact {
  readonly id: string;
  readonly name?: string | undefined;
  readonly createdAt: string;
  readonly ownerId?: string | undefined;
  readonly tags: string[];
  readonly channels: string[];
}

const stringSet = z
  .union([z.set(z.string()), z.array(z.string())])
  .optional()
  .transform((value) => [...(value ?? [])].sort());

const listedProfileSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  contactId: z.string(),
  createdAt: z.string(),
  name: z.string().optional(),
  ownerId: z.string().optional(),
  tags: stringSet,
  channels: stringSet,
});

/** Where each partition of a listing resumes: after a key, or `null` when it is read to the end. */
const contactsCursorSchema = z.object({
  p: z.record(z.string(), z.record(z.string(), z.string()).nullable()),
});
const segmentsCursorSchema = z.object({ sk: z.string() });

/** Queries each partition may make for one page (each reads at most `READ_SIZE` items). */
const MAX_ROUNDS = 5;
const READ_SIZE = 100;

export class SegmentRepository {
  private readonly audit: AuditLog;

  constructor(private readonly data: DataContext) {
    this.audit = new AuditLog(data);
  }

  /** Every saved segment, oldest first (the definitions; the contacts are filtered per viewer). */
  async list(
    _viewer: Viewer,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<Page<SegmentView>> {
    const after = decodeCursor(options.cursor, segmentsCursorSchema);
    const { Items, LastEvaluatedKey } = await this.data.doc.send(
      new QueryCommand({
        TableName: this.data.tableName,
        ...segmentItem.list(),
        Limit: options.limit,
        ...(after ? { ExclusiveStartKey: { ...segmentItem.key(''), sk: after.sk } } : {}),
      }),
    );
    const items = (Items ?? []).map((item) => segmentView(segmentItemSchema.parse(item)));
    return LastEvaluatedKey
      ? { items, nextCursor: encodeCursor({ sk: String(LastEvaluatedKey.sk) }) }
      : { items };
  }

  async get(_viewer: Viewer, segmentId: string): Promise<SegmentView> {
    return segmentView(await this.read(segmentId));
  }

  /**
   * Saves a segment (team leads and admins). A custom-field condition must name a field the configuration
   * declares, with a value of its type: a `ValidationError` otherwise.
   */
  async create(viewer: Viewer, input: NewSegment): Promise<SegmentView> {
    if (viewer.role === 'manager')
      throw new RoleForbiddenError('Saving a segment needs the role team_lead or admin.');
    const config = await this.data.config();
    const issues = fieldIssues(input.filter, config);
    if (issues.length > 0) throw new ValidationError('The segment has invalid fields.', issues);
    const segment = {
      segmentId: this.data.newId(),
      name: input.name,
      filter: input.filter,
      createdAt: this.data.clock().toISOString(),
      createdBy: actorOf(viewer),
      createdByUserId: viewer.userId,
    };
    await this.data.doc.send(new PutCommand({ TableName: this.data.tableName, ...segmentItem.put(segment) }));
    await this.audit.record(
      viewer,
      'segment.changed',
      `segment:${segment.segmentId}`,
      `segment ${segment.segmentId} saved (${conditionKinds(input.filter)})`,
    );
    return segmentView({ ...segmentItem.key(segment.segmentId), ...segment });
  }

  /** Deletes a segment: its creator or an admin (`RoleForbiddenError` for anyone else). */
  async delete(viewer: Viewer, segmentId: string): Promise<void> {
    const segment = await this.read(segmentId);
    if (viewer.role !== 'admin' && segment.createdByUserId !== viewer.userId) {
      throw new RoleForbiddenError('Only the creator of a segment or an admin deletes it.');
    }
    try {
      await this.data.doc.send(
        new DeleteCommand({ TableName: this.data.tableName, ...segmentItem.delete(segmentId) }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new NotFoundError(`No segment ${segmentId}.`);
      throw error;
    }
    await this.audit.record(
      viewer,
      'segment.changed',
      `segment:${segmentId}`,
      `segment ${segmentId} deleted`,
    );
  }

  /**
   * The contacts of a segment the viewer may see, newest first, a page at a time. A page may hold fewer than
   * `limit` contacts when the filter passes few of those read; `nextCursor` says whether more may follow.
   */
  async contacts(
    viewer: Viewer,
    segmentId: string,
    options: { limit: number; cursor?: string | undefined },
  ): Promise<Page<SegmentContact>> {
    const segment = await this.read(segmentId);
    const config = await this.data.config();
    const listings = scopeOf(viewer, config).map((scope) =>
      scope === 'all' ? contactListing.all(segment.filter) : contactListing.owner(scope, segment.filter),
    );
    const start = decodeCursor(options.cursor, contactsCursorSchema);
    return this.merged(listings, options.limit, start?.p ?? {});
  }

  private async read(segmentId: string): Promise<SegmentItem> {
    const { Item } = await this.data.doc.send(
      new GetCommand({ TableName: this.data.tableName, Key: segmentItem.key(segmentId) }),
    );
    if (!Item) throw new NotFoundError(`No segment ${segmentId}.`);
    return segmentItemSchema.parse(Item);
  }

  /**
   * Reads the partitions in rounds (each at most `MAX_ROUNDS` queries) and merges them by sort key, newest
   * first. An item is handed out only when no partition still holds unread items that sort before it: its
   * sort key is at least the last one read from every partition not yet read to its end. Each partition
   * resumes after the last item it handed out (re-reading what the filter passed over is cheaper than
   * losing an item).
   */
  private async merged(
    listings: readonly ContactListingOp[],
    limit: number,
    positions: Readonly<Record<string, Record<string, string> | null>>,
  ): Promise<Page<SegmentContact>> {
    const streams = listings.map((listing) => {
      const position = positions[listing.partition];
      return {
        listing,
        indexName: indexNameOf(listing.index),
        // Never trust the cursor's partition: the viewer's scope decides which partitions are read.
        start: position ? { ...position, [listing.partitionKey]: listing.partition } : undefined,
        next: undefined as Record<string, unknown> | undefined,
        ended: position === null,
        read: [] as Record<string, unknown>[],
      };
    });
    for (const stream of streams) stream.next = stream.start;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const pending = streams.filter((stream) => !stream.ended && stream.read.length < limit);
      if (pending.length === 0) break;
      await Promise.all(
        pending.map(async (stream) => {
          const page = await this.data.doc.send(
            new QueryCommand({
              TableName: this.data.tableName,
              IndexName: stream.indexName,
              ...stream.listing.query,
              ScanIndexForward: false,
              Limit: READ_SIZE,
              ...(stream.next ? { ExclusiveStartKey: stream.next } : {}),
            }),
          );
          stream.read.push(...(page.Items ?? []));
          stream.next = page.LastEvaluatedKey;
          if (!page.LastEvaluatedKey) stream.ended = true;
        }),
      );
    }
    const sortKeyOf = (stream: (typeof streams)[number], item: Record<string, unknown> | undefined) =>
      String(item?.[stream.listing.sortKey] ?? '');
    // The lowest sort key every unfinished partition has been read down to.
    const frontier = streams
      .filter((stream) => !stream.ended)
      .map((stream) => sortKeyOf(stream, stream.next))
      .reduce<string | undefined>((max, key) => (max === undefined || key > max ? key : max), undefined);
    const candidates = streams
      .flatMap((stream) => stream.read.map((item) => ({ stream, item, sortKey: sortKeyOf(stream, item) })))
      .filter((entry) => frontier === undefined || entry.sortKey >= frontier)
      .sort((a, b) =>
        a.sortKey === b.sortKey
          ? String(b.item.pk).localeCompare(String(a.item.pk))
          : b.sortKey.localeCompare(a.sortKey),
      );
    const page = candidates.slice(0, limit);
    const next: Record<string, Record<string, string> | null> = {};
    let more = false;
    for (const stream of streams) {
      const handedOut = page.filter((entry) => entry.stream === stream);
      const last = handedOut.at(-1);
      if (handedOut.length === stream.read.length) {
        // Everything read was handed out: resume where reading stopped.
        next[stream.listing.partition] = stream.ended ? null : startKey(stream.listing, stream.next);
        if (!stream.ended) more = true;
      } else {
        // Resume after the last item handed out; with none, where this page started (absent: the top).
        const resume = last ? startKey(stream.listing, last.item) : positions[stream.listing.partition];
        if (resume) next[stream.listing.partition] = resume;
        more = true;
      }
    }
    const items = page.map((entry) => summaryOf(entry.item));
    return more ? { items, nextCursor: encodeCursor({ p: next }) } : { items };
  }
}

/** The partitions a viewer's contact listing reads: every contact, or these managers' own. */
function scopeOf(viewer: Viewer, config: LeadflowConfig): ('all' | string)[] {
  if (viewer.role === 'admin') return ['all'];
  const managers = viewer.role === 'team_lead' ? ledManagers(viewer, config) : new Set<string>();
  if (viewer.managerId) managers.add(viewer.managerId);
  return [...managers].sort();
}

function indexNameOf(index: ContactListingOp['index']): string {
  const found = table.globalSecondaryIndexes.find((definition) => definition.indexName === index);
  if (!found) throw new Error(`The table has no index ${index}`);
  return found.indexName;
}

/** The index start key of an item (its table key and index key), for a cursor. */
function startKey(
  listing: ContactListingOp,
  item: Record<string, unknown> | undefined,
): Record<string, string> {
  if (!item) return {};
  const key: Record<string, string> = {};
  for (const attribute of ['pk', 'sk', listing.partitionKey, listing.sortKey]) {
    if (typeof item[attribute] === 'string') key[attribute] = item[attribute] as string;
  }
  return key;
}

function summaryOf(item: Record<string, unknown>): SegmentContact {
  const profile = listedProfileSchema.parse(item);
  return {
    id: profile.contactId,
    ...(profile.name === undefined ? {} : { name: profile.name }),
    createdAt: profile.createdAt,
    ...(profile.ownerId === undefined ? {} : { ownerId: profile.ownerId }),
    tags: profile.tags,
    channels: profile.channels,
  };
}

function segmentView(item: SegmentItem): SegmentView {
  return {
    id: item.segmentId,
    name: item.name,
    filter: item.filter,
    createdAt: item.createdAt,
    createdBy: item.createdBy,
  };
}

/** Which conditions a segment has, without their values (the audit trail's summary). */
function conditionKinds(filter: SegmentFilter): string {
  return Object.entries(filter)
    .filter(([, value]) => value !== undefined)
    .map(([kind]) => (kind === 'field' && filter.field ? `field ${filter.field.key}` : kind))
    .join(', ');
}

/** A custom-field condition checked against the configuration's declared fields and their types. */
function fieldIssues(filter: SegmentFilter, config: LeadflowConfig): FieldIssue[] {
  if (!filter.field) return [];
  const declared = config.contactFields.find((field) => field.key === filter.field?.key);
  if (!declared) {
    return [
      {
        field: 'filter.field.key',
        code: 'unknown_field',
        message: `not a declared contact field; declared: ${config.contactFields.map((f) => f.key).join(', ') || 'none'}`,
      },
    ];
  }
  const problem = valueProblem(declared, filter.field.equals);
  return problem ? [{ field: 'filter.field.equals', code: 'invalid_value', message: problem }] : [];
}

function valueProblem(field: ContactField, value: string | number | boolean): string | undefined {
  switch (field.type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${field.key} is a number`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${field.key} is true or false`;
    case 'date':
      return typeof value === 'string' && z.iso.date().safeParse(value).success
        ? undefined
        : `${field.key} is a date, YYYY-MM-DD`;
    case 'select':
      return typeof value === 'string' && field.options?.includes(value)
        ? undefined
        : `${field.key} is one of ${field.options?.join(', ')}`;
    default:
      return typeof value === 'string' && value.length <= field.maxLength
        ? undefined
        : `${field.key} is text of at most ${field.maxLength} characters`;
  }
}
