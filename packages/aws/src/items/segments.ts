import { z } from 'zod';
import type { DeleteOp, PutOp, QueryOp } from './operations';
import { keys } from './schema';

/**
 * Saved contact filters (`SEGMENTS`/`SEGMENT#<id>`) and the contact listings they run over: a manager's
 * own contacts (gsi1 `OWNER#<id>`, sort keys `CONTACT#…`) or every contact (gsi2 `CONTACTS`), each with a
 * FilterExpression for the segment's conditions. Never a scan.
 */

/** What a segment filters on; every condition given must hold (AND). */
export const segmentFilterSchema = z
  .strictObject({
    /** A tag the contact carries (`tags`, a string set). */
    tag: z.string().min(1).max(100).optional(),
    /** A channel any of the contact's leads came by (`channels`, a string set). */
    channel: z.string().min(1).max(40).optional(),
    /** A form or widget id any of the contact's leads came from (`sources`, a string set). */
    source: z.string().min(1).max(100).optional(),
    /** A custom field (declared in the configuration's `contactFields`) equal to a value. */
    field: z
      .strictObject({
        key: z.string().min(1).max(40),
        equals: z.union([z.string().max(2000), z.number(), z.boolean()]),
      })
      .optional(),
  })
  .refine((filter) => Object.values(filter).some((value) => value !== undefined), {
    message: 'give at least one of tag, channel, source or field',
  });
export type SegmentFilter = z.infer<typeof segmentFilterSchema>;

/** A segment as stored. */
export const segmentItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  segmentId: z.string(),
  name: z.string(),
  filter: segmentFilterSchema,
  createdAt: z.string(),
  /** The creator as the audit trail names people (a manager id or a username). */
  createdBy: z.string(),
  /** The creator's token subject: who may delete it besides an admin. */
  createdByUserId: z.string(),
});
export type SegmentItem = z.infer<typeof segmentItemSchema>;

/** A listing of contacts on one index partition, newest first by its sort key. */
export interface ContactListingOp {
  readonly index: 'gsi1' | 'gsi2';
  /** The index key attributes: what a start key and the merge of several partitions are made of. */
  readonly partitionKey: 'gsi1pk' | 'gsi2pk';
  readonly sortKey: 'gsi1sk' | 'gsi2sk';
  /** The partition's value. */
  readonly partition: string;
  readonly query: QueryOp & { FilterExpression?: string };
}

/** The FilterExpression of a segment's conditions (names throughout: none is then a reserved word). */
function segmentFilter(filter: SegmentFilter) {
  const conditions: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (filter.tag !== undefined) {
    conditions.push('contains(#tags, :tag)');
    names['#tags'] = 'tags';
    values[':tag'] = filter.tag;
  }
  if (filter.channel !== undefined) {
    conditions.push('contains(#channels, :channel)');
    names['#channels'] = 'channels';
    values[':channel'] = filter.channel;
  }
  if (filter.source !== undefined) {
    conditions.push('contains(#sources, :source)');
    names['#sources'] = 'sources';
    values[':source'] = filter.source;
  }
  if (filter.field !== undefined) {
    conditions.push('#fields.#fieldKey = :fieldValue');
    names['#fields'] = 'fields';
    names['#fieldKey'] = filter.field.key;
    values[':fieldValue'] = filter.field.equals;
  }
  return { conditions, names, values };
}

function listing(
  index: 'gsi1' | 'gsi2',
  partition: string,
  prefix: string,
  filter: SegmentFilter | undefined,
): ContactListingOp {
  const pk = index === 'gsi1' ? 'gsi1pk' : 'gsi2pk';
  const sk = index === 'gsi1' ? 'gsi1sk' : 'gsi2sk';
  const matched = filter ? segmentFilter(filter) : { conditions: [], names: {}, values: {} };
  return {
    index,
    partitionKey: pk,
    sortKey: sk,
    partition,
    query: {
      KeyConditionExpression: `${pk} = :partition AND begins_with(${sk}, :prefix)`,
      ...(matched.conditions.length > 0 ? { FilterExpression: matched.conditions.join(' AND ') } : {}),
      ...(Object.keys(matched.names).length > 0 ? { ExpressionAttributeNames: matched.names } : {}),
      ExpressionAttributeValues: { ':partition': partition, ':prefix': prefix, ...matched.values },
    },
  };
}

export const segmentItem = {
  key: keys.segment,
  /** A new segment, written once. */
  put: (segment: {
    segmentId: string;
    name: string;
    filter: SegmentFilter;
    createdAt: string;
    createdBy: string;
    createdByUserId: string;
  }): PutOp => ({
    Item: { ...keys.segment(segment.segmentId), type: 'segment', ...segment },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** Every segment, by id. */
  list: (): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :segment)',
    ExpressionAttributeValues: { ':pk': keys.segmentPartition, ':segment': keys.segment('').sk },
  }),
  /** Deletes a segment that is still there. */
  delete: (segmentId: string): DeleteOp => ({
    Key: keys.segment(segmentId),
    ConditionExpression: 'attribute_exists(pk)',
  }),
};

export const contactListing = {
  /** A manager's own contacts (gsi1 `OWNER#<id>`, sort keys `CONTACT#<since>`), filtered. */
  owner: (managerId: string, filter?: SegmentFilter): ContactListingOp =>
    listing('gsi1', keys.owner(managerId), keys.contactIndexSk(''), filter),
  /** Every contact profile (gsi2 `CONTACTS`, sort keys `CONTACT#<createdAt>#<id>`), filtered. */
  all: (filter?: SegmentFilter): ContactListingOp =>
    listing('gsi2', keys.contacts, keys.contactIndexSk(''), filter),
};

/**
 * Leads captured in [from, to] on one gsi1 partition (a manager's or a team queue's): routing replay's
 * read, the other index listing the administration runs.
 */
export const leadWindowItem = {
  capturedBetween: (partition: string, from: string, to: string): QueryOp => ({
    KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
    ExpressionAttributeValues: {
      ':pk': partition,
      ':from': `LEAD#${from}`,
      ':to': `LEAD#${to}`,
    },
  }),
};
