import { createHash } from 'node:crypto';
import { mailboxKey, sha256 } from '@leadflow/core';
import { NOT_MERGING } from './conditions';
import type { DeleteOp, Key, QueryOp, UpdateOp } from './operations';
import { keys } from './schema';

/**
 * The items privacy and hygiene reach beyond a contact's own partition, and the writes that scrub them:
 *
 * | what                      | key                                                     | found by                        |
 * |---------------------------|---------------------------------------------------------|---------------------------------|
 * | stored submission         | `SUB#<idempotency hash>` / `SUB`                        | gsi3 `SUBID#<submissionId>`/`SUB` |
 * | notifier send record      | `NOTIFY#notifier` / `notifier#<md5 of the notification id>` | the notification id        |
 * | acknowledgement ledger    | `ACK#MAILBOX#<sha256 of the folded mailbox>` / `ACK`    | the contact's email addresses   |
 * | hygiene (on the profile)  | gsi4 `HYGIENE#<problem>` / `<at>#<contactId>`           | the problem                     |
 * | stale leads (on the lead) | gsi4 `OPEN#<teamId>` / `<touchedAt>#<leadId>`           | the team and a cutoff           |
 */

/**
 * The notifier's Powertools idempotency records: one partition, and a fixed key prefix so that the record of
 * a notification id can be computed anywhere (the default prefix is the Lambda's physical name).
 */
export const notifierIdempotency = {
  staticPkValue: 'NOTIFY#notifier',
  keyPrefix: 'notifier',
} as const;

export const privacyKeys = {
  /** gsi3: a stored submission by the id of the capture it holds, whatever hash keys it. */
  submissionRef: (submissionId: string) => ({ gsi3pk: `SUBID#${submissionId}`, gsi3sk: 'SUB' }),
  /**
   * The notifier's record of one notification id, as Powertools keys it: `<prefix>#` and the base64 MD5 of
   * the JSON of the value at `eventKeyJmesPath` (the notification id, a string).
   */
  notifyRecord: (notificationId: string): Key => ({
    pk: notifierIdempotency.staticPkValue,
    sk: `${notifierIdempotency.keyPrefix}#${createHash('md5').update(JSON.stringify(notificationId)).digest('base64')}`,
  }),
  /** The acknowledgement ledger's item of the mailbox an address folds to (as `AcknowledgementLedger` keys it). */
  ackMailbox: (address: string): Key => keys.ackMailbox(sha256(`mailbox\n${mailboxKey(address).mailbox}`)),
  /** gsi4 attributes of a contact listed under a hygiene problem. */
  hygiene: (problem: HygieneProblem, at: string, contactId: string) => ({
    gsi4pk: keys.hygiene(problem),
    gsi4sk: `${at}#${contactId}`,
  }),
} as const;

/** The hygiene problems a contact profile can be listed under (gsi4). */
export type HygieneProblem = 'undeliverable' | 'duplicates';

/**
 * An update that sets some attributes and removes others (names escaped), only on an item that still exists:
 * how erasure scrubs an item without recreating one that moved or was deleted meanwhile.
 */
function scrub(
  key: Record<string, unknown>,
  input: { readonly set: Readonly<Record<string, unknown>>; readonly remove: readonly string[] },
): UpdateOp {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(input.set).map(([name, value], index) => {
    names[`#s${index}`] = name;
    values[`:s${index}`] = value;
    return `#s${index} = :s${index}`;
  });
  const removes = input.remove.map((name, index) => {
    names[`#r${index}`] = name;
    return `#r${index}`;
  });
  if (sets.length + removes.length === 0) throw new Error('A scrub needs something to set or remove');
  return {
    Key: { pk: String(key.pk), sk: String(key.sk) },
    UpdateExpression: [
      sets.length > 0 ? `SET ${sets.join(', ')}` : '',
      removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
    ]
      .filter((part) => part !== '')
      .join(' '),
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: names,
    ...(sets.length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}

export const privacyItem = {
  scrub,
  /** Deletes an item by its key as read (a no-op when it is gone already). */
  remove: (key: Record<string, unknown>): DeleteOp => ({ Key: { pk: key.pk, sk: key.sk } }),
  /** Deletes an identity claim (its key as read) only while it still points to `contactId` (a merge may have re-pointed it). */
  removeClaim: (key: Record<string, unknown>, contactId: string): DeleteOp => ({
    Key: { pk: key.pk, sk: key.sk },
    ConditionExpression: 'contactId = :contact',
    ExpressionAttributeValues: { ':contact': contactId },
  }),
  /** The stored submissions of one capture (gsi3). */
  submissions: (submissionId: string): QueryOp => {
    const ref = privacyKeys.submissionRef(submissionId);
    return {
      KeyConditionExpression: 'gsi3pk = :ref AND gsi3sk = :kind',
      ExpressionAttributeValues: { ':ref': ref.gsi3pk, ':kind': ref.gsi3sk },
    };
  },
  /** Another contact's timeline entries that name `otherId` as a possible duplicate. */
  duplicateMentions: (contactId: string, otherId: string): QueryOp & { FilterExpression: string } => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
    FilterExpression: 'possibleDuplicate = :other',
    ExpressionAttributeValues: {
      ':pk': keys.contact(contactId).pk,
      ':tl': keys.timelinePrefix,
      ':other': otherId,
    },
  }),
};

/** Guards of a write to a live contact: it exists, is not merged or being merged, and was not erased. */
const LIVE_CONTACT = `attribute_exists(pk) AND ${NOT_MERGING} AND attribute_not_exists(erasedAt)`;

export const hygieneItem = {
  /**
   * A contact with an address mail cannot be delivered to: listed under `HYGIENE#undeliverable` (which takes
   * the contact's one gsi4 slot over `duplicates`), with the address, the reason and when.
   */
  undeliverable: (contactId: string, input: { address: string; reason: string; at: string }): UpdateOp => {
    const index = privacyKeys.hygiene('undeliverable', input.at, contactId);
    return {
      Key: keys.contact(contactId),
      UpdateExpression:
        'SET gsi4pk = :pk, gsi4sk = :sk, undeliverableAt = :at, undeliverableReason = :reason ADD undeliverableAddresses :address',
      ConditionExpression: LIVE_CONTACT,
      ExpressionAttributeValues: {
        ':pk': index.gsi4pk,
        ':sk': index.gsi4sk,
        ':at': input.at,
        ':reason': input.reason,
        ':address': new Set([input.address]),
      },
    };
  },
  /**
   * The attributes of a contact's duplicates listing that a link adds, kept when the contact is already listed
   * (under duplicates, or under undeliverable, which goes first): spliced into the profile updates that link.
   */
  duplicatesListed: (contactId: string, at: string) => {
    const index = privacyKeys.hygiene('duplicates', at, contactId);
    return {
      set: 'gsi4pk = if_not_exists(gsi4pk, :hygienePk), gsi4sk = if_not_exists(gsi4sk, :hygieneSk)',
      values: { ':hygienePk': index.gsi4pk, ':hygieneSk': index.gsi4sk },
    };
  },
  /**
   * Takes a contact off the duplicates listing once none of its possible duplicates is unresolved, only while
   * it is listed there and still has the number of possible duplicates that decision was made on.
   */
  duplicatesSettled: (contactId: string, duplicates: number): UpdateOp => ({
    Key: keys.contact(contactId),
    UpdateExpression: 'REMOVE gsi4pk, gsi4sk',
    ConditionExpression:
      'gsi4pk = :listed AND (attribute_not_exists(possibleDuplicates) OR size(possibleDuplicates) = :count)',
    ExpressionAttributeValues: { ':listed': keys.hygiene('duplicates'), ':count': duplicates },
  }),
  /** Contacts listed under a problem, from a position on (newest first is the caller's order). */
  listed: (problem: HygieneProblem): QueryOp => ({
    KeyConditionExpression: 'gsi4pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.hygiene(problem) },
  }),
  /** A team's open leads last touched before `cutoff` (ISO), stalest first in the index's order. */
  stale: (teamId: string, cutoff: string): QueryOp => ({
    KeyConditionExpression: 'gsi4pk = :pk AND gsi4sk < :cutoff',
    ExpressionAttributeValues: { ':pk': keys.open(teamId), ':cutoff': cutoff },
  }),
};
