import { normalizeEmail, sha256 } from '@leadflow/core';
import { z } from 'zod';
import { NOT_MERGING } from './conditions';
import type { Key, QueryOp, UpdateOp } from './operations';
import { keys } from './schema';

/**
 * Follow-ups, unsubscribes and the suppression list.
 *
 * | entity            | pk                                 | sk       |
 * |-------------------|------------------------------------|----------|
 * | suppressed address| SUPPRESS#<sha256 of the address>   | SUPPRESS |
 *
 * The suppression list is keyed by a hash of the lowercased address (the key names no address, and the item
 * holds none): the notifier hashes the address it is about to mail and reads one item. An unsubscribe is on
 * the contact's profile (`unsubscribedAt`); a follow-up step's outcome is a timeline entry of the contact.
 */
export const followUpKeys = {
  suppression: (addressHash: string): Key => ({ pk: `SUPPRESS#${addressHash}`, sk: 'SUPPRESS' }),
  /** The IAM `dynamodb:LeadingKeys` pattern of the suppression list. */
  suppressionLeadingKey: 'SUPPRESS#*',
} as const;

/** The hash a suppressed address is keyed by: of the normalized (lowercased) address. */
export function suppressionHash(address: string): string {
  const email = normalizeEmail(address);
  return sha256(`suppress\n${email.ok ? email.value.key : address.trim().toLowerCase()}`);
}

/** Why an address is suppressed. */
export const SUPPRESSION_REASONS = ['bounce', 'complaint'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export const suppressionItemSchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  reason: z.enum(SUPPRESSION_REASONS),
  /** When it was first and last reported (ISO). */
  since: z.string(),
  lastAt: z.string(),
  events: z.coerce.number().int().default(1),
});
export type SuppressionItem = z.infer<typeof suppressionItemSchema>;

export const suppressionItem = {
  key: (address: string) => followUpKeys.suppression(suppressionHash(address)),
  /** Suppresses an address (again): the first report's time is kept, the latest reason and time win. */
  suppressed: (address: string, input: { reason: SuppressionReason; at: string }): UpdateOp => ({
    Key: followUpKeys.suppression(suppressionHash(address)),
    UpdateExpression:
      'SET #type = :type, reason = :reason, since = if_not_exists(since, :at), lastAt = :at ADD events :one',
    ExpressionAttributeNames: { '#type': 'type' },
    ExpressionAttributeValues: {
      ':type': 'suppression',
      ':reason': input.reason,
      ':at': input.at,
      ':one': 1,
    },
  }),
};

/** A live contact: exists, not merged or being merged, not erased. */
const LIVE_CONTACT = `attribute_exists(pk) AND ${NOT_MERGING}`;

export const followUpItem = {
  /**
   * The contact unsubscribed from subscription mail, at once and for good: the first time is kept (a second
   * click changes nothing), only on a live contact (a merged one is followed to its survivor by the caller).
   */
  unsubscribed: (contactId: string, at: string): UpdateOp => ({
    Key: keys.contact(contactId),
    UpdateExpression: 'SET unsubscribedAt = if_not_exists(unsubscribedAt, :at), updatedAt = :at',
    ConditionExpression: LIVE_CONTACT,
    ExpressionAttributeValues: { ':at': at },
  }),
  /**
   * The contact's inbound interactions (any channel) after `after` (ISO), newest first with the caller's
   * `ScanIndexForward: false`, other than the interaction `except` (the lead's own capture).
   */
  inboundAfter: (
    contactId: string,
    after: string,
    except: string,
  ): QueryOp & { FilterExpression: string; ExpressionAttributeNames: Record<string, string> } => ({
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :after AND :end',
    FilterExpression: '#direction = :inbound AND interactionId <> :except',
    ExpressionAttributeNames: { '#direction': 'direction' },
    ExpressionAttributeValues: {
      ':pk': keys.contact(contactId).pk,
      // Entries sort by their ISO time: `TL#<after>` is before every entry at or after it.
      ':after': `${keys.timelinePrefix}${after}`,
      // `$` follows `#`: the end of the timeline, before anything else of the partition.
      ':end': 'TL$',
      ':inbound': 'inbound',
      ':except': except,
    },
  }),
};
