import {
  type Assignment,
  type CaptureEvent,
  type ContactDetails,
  MAX_IDENTITIES,
  MAX_POSSIBLE_DUPLICATES,
} from '@leadflow/core';
import type { MergeGains, MergeRecordItem } from '../merge-record';
import { DUPLICATES_ROOM, MAY_BE_MERGED_AWAY, NOT_MERGING } from './conditions';
import { hygieneItem, privacyKeys } from './privacy';
import { dayOf, keys } from './schema';

/**
 * The writes and queries of every single-table entity, declared once: each builder returns the pieces an
 * adapter hands to lib-dynamodb (the adapter adds only `TableName` and what is not about the item, such as
 * `ReturnValues`), so no other file spells a key, an update or a condition.
 */

export type Key = { readonly pk: string; readonly sk: string };
type Names = Record<string, string>;
type Values = Record<string, unknown>;

/** An `UpdateCommand`'s (or a transaction's `Update`'s) item-facing parameters. */
export interface UpdateOp {
  Key: Key | Record<string, string>;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Values;
}

/** A `PutCommand`'s (or a transaction's `Put`'s) item-facing parameters. */
export interface PutOp {
  Item: Record<string, unknown>;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Values;
}

/** A `DeleteCommand`'s (or a transaction's `Delete`'s) item-facing parameters. */
export interface DeleteOp {
  /** The key of an item as read: any item of a partition being moved. */
  Key: Record<string, unknown>;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues?: Values;
}

/** A transaction's `ConditionCheck`. */
export interface ConditionCheckOp {
  Key: Key;
  ConditionExpression: string;
}

/** A `QueryCommand`'s key condition. */
export interface QueryOp {
  KeyConditionExpression: string;
  ExpressionAttributeNames?: Names;
  ExpressionAttributeValues: Values;
}

/** Puts an item only where none is: a write that happens once. */
const once = (Item: Record<string, unknown>): PutOp => ({
  Item,
  ConditionExpression: 'attribute_not_exists(pk)',
});

/** The contact's owner changes only from the one a plan was made with (or from none). */
function ownerChange(input: {
  readonly previousOwner?: string | undefined;
  /** The owner the contact gets; undefined (or the previous owner) keeps it. */
  readonly contactOwnerId?: string | undefined;
  readonly now: string;
}) {
  const newOwner = input.contactOwnerId !== undefined && input.contactOwnerId !== input.previousOwner;
  return {
    set: newOwner ? 'ownerId = :owner, gsi1pk = :ownerKey, gsi1sk = if_not_exists(gsi1sk, :contactSk), ' : '',
    condition:
      input.previousOwner === undefined ? 'attribute_not_exists(ownerId)' : 'ownerId = :previousOwner',
    values: {
      ...(input.previousOwner === undefined ? {} : { ':previousOwner': input.previousOwner }),
      ...(newOwner
        ? {
            ':owner': input.contactOwnerId,
            ':ownerKey': keys.owner(input.contactOwnerId as string),
            ':contactSk': keys.contactIndexSk(input.now),
          }
        : {}),
    },
  };
}

/**
 * The contact map entry of a capture's conversation and the conversations it retires, as expression
 * fragments the contact updates below splice in (empty when the capture has no conversation).
 */
export interface ConversationFragments {
  /** `, conversations.#conversation = :conversation`, or empty. */
  readonly expression: string;
  /** ` REMOVE …` of the retired conversations, or empty. */
  readonly remove: string;
  /** ` AND …` conditions on the map as read, or empty. */
  readonly condition: string;
  readonly names: Names;
  readonly values: Values;
}

/** No conversation: nothing to splice in. */
const NO_CONVERSATION: ConversationFragments = {
  expression: '',
  remove: '',
  condition: '',
  names: {},
  values: {},
};

/**
 * The fragments of a capture's conversation: its entry set to `value`, the `retire`d ones removed, and the
 * map as read where it matters: a guarded (new lead's) conversation has no open lead since `windowStart`
 * (a concurrent message may have opened it), one counted as already there still is, and no concurrent
 * capture grew the map past `maxSizeBefore`.
 */
function conversationFragments(input: {
  readonly conversationId?: string | undefined;
  readonly guarded: boolean;
  readonly windowStart: string;
  readonly isNew: boolean;
  readonly retire: readonly string[];
  readonly maxSizeBefore: number;
  readonly value: { leadId: string; lastAt: string; ownerId?: string };
}): ConversationFragments {
  if (!input.conversationId) return NO_CONVERSATION;
  const names: Names = { '#conversation': input.conversationId };
  const conditions = [
    ...(input.guarded
      ? [
          '(attribute_not_exists(conversations.#conversation) OR conversations.#conversation.lastAt < :windowStart)',
        ]
      : []),
    // Counted as already there: it must still be, or the write would grow the map after all.
    ...(input.isNew ? [] : ['attribute_exists(conversations.#conversation)']),
    'size(conversations) <= :conversationsBefore',
  ];
  input.retire.forEach((conversationId, index) => {
    names[`#retired${index}`] = conversationId;
    conditions.push(`attribute_exists(conversations.#retired${index})`);
  });
  return {
    expression: ', conversations.#conversation = :conversation',
    remove:
      input.retire.length > 0
        ? ` REMOVE ${input.retire.map((_, index) => `conversations.#retired${index}`).join(', ')}`
        : '',
    condition: conditions.map((condition) => ` AND ${condition}`).join(''),
    names,
    values: {
      ':conversation': input.value,
      ':conversationsBefore': input.maxSizeBefore,
      ...(input.guarded ? { ':windowStart': input.windowStart } : {}),
    },
  };
}

/**
 * The profile update that claims a capture's new identities: the admitted ones are listed (and marked
 * verified when the provider vouched), guarded so that identities listed concurrently by another router
 * cannot take the set past its bound; also the identities it now holds as verified and the contacts it
 * gains as possible duplicates.
 */
function claimIdentities(
  contactId: string,
  details: ContactDetails,
  added: readonly string[],
  now: string,
  more: { readonly verified: readonly string[]; readonly duplicates: readonly string[] },
): UpdateOp {
  const additions: string[] = [];
  const values: Values = { ':now': now };
  let condition = `attribute_exists(pk) AND ${NOT_MERGING}`;
  if (added.length > 0) {
    additions.push('identities :identities');
    values[':identities'] = new Set(added);
    condition += ' AND (attribute_not_exists(identities) OR size(identities) <= :listedBefore)';
    values[':listedBefore'] = MAX_IDENTITIES - added.length;
  }
  if (details.email && added.some((identity) => identity.startsWith('email:'))) {
    additions.push('emails :emails');
    values[':emails'] = new Set([details.email]);
  }
  if (details.phone && added.some((identity) => identity.startsWith('phone:'))) {
    additions.push('phones :phones');
    values[':phones'] = new Set([details.phone]);
  }
  if (more.verified.length > 0) {
    additions.push('verifiedIdentities :verifiedIdentities');
    values[':verifiedIdentities'] = new Set(more.verified);
  }
  let listed = '';
  if (more.duplicates.length > 0) {
    additions.push('possibleDuplicates :duplicates');
    values[':duplicates'] = new Set(more.duplicates);
    condition += ` AND ${DUPLICATES_ROOM}`;
    values[':duplicatesBefore'] = MAX_POSSIBLE_DUPLICATES - more.duplicates.length;
    // The admin's hygiene list of unresolved possible duplicates (gsi4).
    const hygiene = hygieneItem.duplicatesListed(contactId, now);
    listed = `, ${hygiene.set}`;
    Object.assign(values, hygiene.values);
  }
  const name = details.name ? ', #name = if_not_exists(#name, :name)' : '';
  if (details.name) values[':name'] = details.name;
  return {
    Key: keys.contact(contactId),
    UpdateExpression: `SET updatedAt = :now${name}${listed}${additions.length > 0 ? ` ADD ${additions.join(', ')}` : ''}`,
    ConditionExpression: condition,
    ...(details.name ? { ExpressionAttributeNames: { '#name': 'name' } } : {}),
    ExpressionAttributeValues: values,
  };
}

/**
 * The survivor's update for a merge, as planned: the sets it adds to (each guarded by its bound, as
 * `<attribute>Before`), the conversations it gains and retires (the map guarded by `maxSizeBefore`), and
 * the loser among the contacts it was merged from.
 */
function mergeSurvivor(input: {
  readonly survivorId: string;
  readonly loserId: string;
  readonly now: string;
  /** Identities, emails and phones added, each guarded: the set held at most `bound - added` before. */
  readonly bounded: Readonly<Record<string, readonly string[]>>;
  readonly bound: number;
  readonly verified: readonly string[];
  readonly separated: readonly string[];
  /** Conversations added, with the entry each gets. */
  readonly conversationsAdded: readonly (readonly [string, unknown])[];
  readonly conversationsRetired: readonly string[];
  readonly conversationsBefore: number;
}): UpdateOp {
  const sets = ['updatedAt = :now'];
  const removes: string[] = [];
  const additions = ['mergedFrom :merged'];
  const conditions = ['attribute_exists(pk)'];
  const names: Names = {};
  const values: Values = {};
  for (const [attribute, add] of Object.entries(input.bounded)) {
    if (add.length === 0) continue;
    additions.push(`${attribute} :${attribute}`);
    values[`:${attribute}`] = new Set(add);
    conditions.push(`(attribute_not_exists(${attribute}) OR size(${attribute}) <= :${attribute}Before)`);
    values[`:${attribute}Before`] = input.bound - add.length;
  }
  if (input.verified.length > 0) {
    additions.push('verifiedIdentities :verifiedIdentities');
    values[':verifiedIdentities'] = new Set(input.verified);
  }
  if (input.separated.length > 0) {
    additions.push('separatedFrom :separatedFrom');
    values[':separatedFrom'] = new Set(input.separated);
  }
  input.conversationsAdded.forEach(([conversationId, entry], index) => {
    names[`#c${index}`] = conversationId;
    values[`:c${index}`] = entry;
    sets.push(`#cs.#c${index} = :c${index}`);
  });
  input.conversationsRetired.forEach((conversationId, index) => {
    names[`#r${index}`] = conversationId;
    removes.push(`#cs.#r${index}`);
    // A retirement counts only if the entry is still there to remove.
    conditions.push(`attribute_exists(#cs.#r${index})`);
  });
  if (Object.keys(names).length > 0) {
    names['#cs'] = 'conversations';
    conditions.push('size(#cs) <= :conversationsBefore');
    values[':conversationsBefore'] = input.conversationsBefore;
  }
  return {
    Key: keys.contact(input.survivorId),
    UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''} ADD ${additions.join(', ')}`,
    ConditionExpression: conditions.join(' AND '),
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ExpressionAttributeValues: { ...values, ':now': input.now, ':merged': new Set([input.loserId]) },
  };
}

export const contactItem = {
  key: keys.contact,
  conversation: conversationFragments,
  /** A new contact's profile, written once; born with possible duplicates, it is on the hygiene list. */
  create: (contactId: string, attributes: Record<string, unknown>): PutOp => {
    const duplicates = attributes.possibleDuplicates;
    const listed =
      duplicates instanceof Set && duplicates.size > 0 && attributes.gsi4pk === undefined
        ? privacyKeys.hygiene('duplicates', String(attributes.createdAt), contactId)
        : {};
    return once({ ...keys.contact(contactId), ...attributes, ...listed });
  },
  claimIdentities,
  /**
   * Links possible duplicates to a contact, within the bound (`duplicatesBefore`), never mid-merge; the
   * contact goes on the hygiene list of unresolved duplicates (gsi4) unless it is listed already.
   */
  linkDuplicates: (
    contactId: string,
    now: string,
    duplicates: readonly string[],
    duplicatesBefore: number,
  ): UpdateOp => {
    const hygiene = hygieneItem.duplicatesListed(contactId, now);
    return {
      Key: keys.contact(contactId),
      UpdateExpression: `SET updatedAt = :now, ${hygiene.set} ADD possibleDuplicates :duplicates`,
      ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING} AND ${DUPLICATES_ROOM}`,
      ExpressionAttributeValues: {
        ':now': now,
        ':duplicates': new Set(duplicates),
        ':duplicatesBefore': duplicatesBefore,
        ...hygiene.values,
      },
    };
  },
  /** Every item of a contact's partition (its profile, leads and timeline). */
  partition: (contactId: string): QueryOp => ({
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.contact(contactId).pk },
  }),
  /** The merge fence on the loser: it takes no new writes; the first merge id and time are kept. */
  fence: (loserId: string, survivorId: string, now: string, mergeId: string): UpdateOp => ({
    Key: keys.contact(loserId),
    UpdateExpression:
      'SET mergingInto = :survivor, mergingAt = if_not_exists(mergingAt, :now), mergeId = if_not_exists(mergeId, :mergeId)',
    ConditionExpression: MAY_BE_MERGED_AWAY,
    ExpressionAttributeValues: { ':survivor': survivorId, ':now': now, ':mergeId': mergeId },
  }),
  /** The survivor's side of the fence: the merge it is receiving. */
  mergePending: (survivorId: string, loserId: string): UpdateOp => ({
    Key: keys.contact(survivorId),
    UpdateExpression: 'ADD pendingMerges :loser',
    ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}`,
    ExpressionAttributeValues: { ':loser': new Set([loserId]) },
  }),
  /** Clears the survivor's pending mark, last. */
  mergeCleared: (survivorId: string, loserId: string): UpdateOp => ({
    Key: keys.contact(survivorId),
    UpdateExpression: 'DELETE pendingMerges :loser',
    ExpressionAttributeValues: { ':loser': new Set([loserId]) },
  }),
  mergeSurvivor,
  /** The loser, fenced for this survivor, marked merged into it and out of the owner index. */
  merged: (loserId: string, survivorId: string, now: string): UpdateOp => ({
    Key: keys.contact(loserId),
    UpdateExpression:
      'SET mergedInto = :survivor, mergedAt = :now REMOVE gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi4pk, gsi4sk',
    ConditionExpression: 'mergingInto = :survivor',
    ExpressionAttributeValues: { ':survivor': survivorId, ':now': now },
  }),
  /** The survivor exists and is not being merged away itself. */
  notMerging: (contactId: string): ConditionCheckOp => ({
    Key: keys.contact(contactId),
    ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}`,
  }),
  /**
   * The contact's side of a new lead: its owner (only from the one read), its last lead and open
   * conversation, never while it is being merged into another.
   */
  leadWritten(input: {
    readonly contactId: string;
    readonly previousOwner?: string | undefined;
    readonly contactOwnerId?: string | undefined;
    readonly receivedAt: string;
    readonly now: string;
    readonly acknowledge: boolean;
    /** The capture's channel and source (form, widget…): what segments filter contacts by. */
    readonly channel: string;
    readonly sourceId: string;
    /** Whether the capture has a conversation: only then are attribute names sent. */
    readonly hasConversation: boolean;
    readonly conversation: ConversationFragments;
  }): UpdateOp {
    const { conversation } = input;
    const owner = ownerChange(input);
    const acknowledged = input.acknowledge ? ', lastAcknowledgedAt = :at' : '';
    return {
      Key: keys.contact(input.contactId),
      UpdateExpression: `SET ${owner.set}lastLeadAt = :at, updatedAt = :now${conversation.expression}${acknowledged}${conversation.remove} ADD leadCount :one, channels :channel, sources :source`,
      // Never while the contact is being merged into another.
      ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING} AND ${owner.condition}${conversation.condition}`,
      ...(input.hasConversation ? { ExpressionAttributeNames: conversation.names } : {}),
      ExpressionAttributeValues: {
        ...owner.values,
        ':at': input.receivedAt,
        ':now': input.now,
        ':one': 1,
        ':channel': new Set([input.channel]),
        ':source': new Set([input.sourceId]),
        ...conversation.values,
      },
    };
  },
  /** The contact's side of a message joining an open lead: its conversation's clock. */
  messageWritten(input: {
    readonly contactId: string;
    readonly now: string;
    readonly hasConversation: boolean;
    readonly conversation: ConversationFragments;
  }): UpdateOp {
    const { conversation } = input;
    return {
      Key: keys.contact(input.contactId),
      UpdateExpression: `SET updatedAt = :now${conversation.expression}${conversation.remove}`,
      ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}${conversation.condition}`,
      ...(input.hasConversation ? { ExpressionAttributeNames: conversation.names } : {}),
      ExpressionAttributeValues: { ':now': input.now, ...conversation.values },
    };
  },
  /** The contact's side of a dequeued lead: its owner (unless a substitute took it), never mid-merge. */
  leadDequeued(input: {
    readonly contactId: string;
    readonly previousOwner?: string | undefined;
    readonly contactOwnerId: string;
    readonly now: string;
  }): UpdateOp {
    const owner = ownerChange(input);
    return {
      Key: keys.contact(input.contactId),
      UpdateExpression: `SET ${owner.set}updatedAt = :now`,
      // The owner is still the one the plan was made with, and no merge has started.
      ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING} AND ${owner.condition}`,
      ExpressionAttributeValues: { ':now': input.now, ...owner.values },
    };
  },
};

export const leadItem = {
  key: keys.lead,
  /** A new lead, written once. */
  put: (contactId: string, leadId: string, attributes: Record<string, unknown>): PutOp =>
    once({ ...keys.lead(contactId, leadId), ...attributes }),
  /** Sets the score if it is higher than the lead's (scores only go up). */
  raiseScore: (contactId: string, leadId: string, score: number): UpdateOp => ({
    Key: keys.lead(contactId, leadId),
    UpdateExpression: 'SET score = :score',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(score) OR score < :score)',
    ExpressionAttributeValues: { ':score': score },
  }),
  /** A message joined the open lead. */
  messageAdded: (contactId: string, leadId: string, at: string): UpdateOp => ({
    Key: keys.lead(contactId, leadId),
    UpdateExpression: 'SET lastMessageAt = :at ADD messageCount :one',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeValues: { ':at': at, ':one': 1 },
  }),
  /**
   * A queued lead given to its owner: it moves to the owner's index partition (gsi1sk keeps its place in
   * time), only if still unowned and still in this team's queue.
   */
  dequeued: (
    key: Key,
    input: {
      teamId: string;
      owner: string;
      record: Assignment;
      now: string;
      /** The owner's SLA clock, started with the assignment. */
      sla?: Record<string, unknown> | undefined;
    },
  ): UpdateOp => ({
    Key: { pk: key.pk, sk: key.sk },
    UpdateExpression: `SET ownerId = :owner, gsi1pk = :ownerKey, assignment = :assignment, teamId = :team, dequeuedAt = :now, gsi2pk = :teamKey, gsi4pk = :openKey${
      input.sla ? ', sla = :sla' : ''
    } REMOVE queuedAt`,
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(ownerId) AND gsi1pk = :queue',
    ExpressionAttributeValues: {
      ':owner': input.owner,
      ':ownerKey': keys.owner(input.owner),
      ':assignment': input.record,
      ':team': input.record.teamId,
      ':teamKey': keys.team(input.record.teamId),
      ':openKey': keys.open(input.record.teamId),
      ':now': input.now,
      ':queue': keys.queue(input.teamId),
      ...(input.sla ? { ':sla': input.sla } : {}),
    },
  }),
  /** A team's queue of leads waiting for a manager, oldest first (on gsi1). */
  queue: (teamId: string): QueryOp => ({
    KeyConditionExpression: 'gsi1pk = :queue',
    ExpressionAttributeValues: { ':queue': keys.queue(teamId) },
  }),
};

export const interactionItem = {
  key: keys.interaction,
  /** A timeline entry, written once. */
  put: (item: Record<string, unknown>): PutOp => once(item),
  /**
   * A system event on a contact's timeline (a merge, an undo, a retired conversation, an unlisted or skipped
   * identity, a possible duplicate, a dequeue): the one shape they all share, plus what the event carries.
   */
  system: (entry: {
    contactId: string;
    occurredAt: string;
    interactionId: string;
    event: string;
    summary: string;
    [detail: string]: unknown;
  }): Record<string, unknown> => {
    const { contactId, occurredAt, interactionId, event, summary, ...details } = entry;
    return {
      ...keys.interaction(contactId, occurredAt, interactionId),
      type: 'interaction',
      interactionId,
      channel: 'system',
      direction: 'internal',
      occurredAt,
      event,
      ...details,
      summary,
    };
  },
  /** A contact's timeline entries (the sort key starts with the entry's ISO time). */
  timeline: (contactId: string): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
    ExpressionAttributeValues: { ':pk': keys.contact(contactId).pk, ':tl': keys.timelinePrefix },
  }),
};

export const identityItem = {
  key: keys.identity,
  /** A new identity claim, written once. */
  claim: (identity: string, attributes: Record<string, unknown>): PutOp =>
    once({ ...keys.identity(identity), ...attributes }),
  /** Marks a claim verified, if it still points to this contact. */
  verify: (
    identity: string,
    input: { at: string; contactId: string; captureId?: string | undefined },
  ): UpdateOp => ({
    Key: keys.identity(identity),
    UpdateExpression: `SET provenance = :verified, verifiedAt = :at${input.captureId ? ', verifiedBy = :capture' : ''}`,
    ConditionExpression: 'contactId = :contact',
    ExpressionAttributeValues: {
      ':verified': 'verified',
      ':at': input.at,
      ':contact': input.contactId,
      ...(input.captureId ? { ':capture': input.captureId } : {}),
    },
  }),
  /** Points a claim at a merge's survivor with its undo note, if it still points to the loser. */
  repoint: (identity: string, input: { loserId: string; survivorId: string; undo: unknown }): UpdateOp => ({
    Key: keys.identity(identity),
    UpdateExpression: 'SET contactId = :survivor, mergedFrom = :loser, mergeUndo = :undo',
    ConditionExpression: 'contactId = :loser',
    ExpressionAttributeValues: {
      ':survivor': input.survivorId,
      ':loser': input.loserId,
      ':undo': input.undo,
    },
  }),
};

export const cursorItem = {
  key: keys.cursor,
  /** Draws the team's next round-robin position. */
  draw: (teamId: string): UpdateOp => ({
    Key: keys.cursor(teamId),
    UpdateExpression: 'ADD #position :one',
    ExpressionAttributeNames: { '#position': 'position' },
    ExpressionAttributeValues: { ':one': 1 },
  }),
};

export const counterItem = {
  key: keys.stats,
  /** Adds one to a counter of a dimension's day. */
  add: (dimension: string, day: string, counter: string): UpdateOp => ({
    Key: keys.stats(dimension, day),
    UpdateExpression: 'ADD #counter :one',
    ExpressionAttributeNames: { '#counter': counter },
    ExpressionAttributeValues: { ':one': 1 },
  }),
  /** A channel's daily lead or message count. */
  channel: (capture: Pick<CaptureEvent, 'channel' | 'receivedAt'>, counter: 'leads' | 'messages'): UpdateOp =>
    counterItem.add(keys.channelStats(capture.channel), dayOf(capture.receivedAt), counter),
  /** A form's daily honeypot hits. */
  spam: (formId: string, day: string): UpdateOp => ({
    Key: keys.stats(keys.formStats(formId), day),
    UpdateExpression: 'ADD spam :one',
    ExpressionAttributeValues: { ':one': 1 },
  }),
  /** A form's or widget's daily refusals, by reason. */
  refused: (endpoint: { kind: 'form' | 'chat'; id: string }, reason: string, day: string): UpdateOp => ({
    Key: keys.stats(
      endpoint.kind === 'form' ? keys.formStats(endpoint.id) : keys.widgetStats(endpoint.id),
      day,
    ),
    UpdateExpression: 'ADD #reason :one',
    ExpressionAttributeNames: { '#reason': reason },
    ExpressionAttributeValues: { ':one': 1 },
  }),
};

export const managerLoadItem = {
  key: keys.managerLoad,
  /** One more open lead for the manager, assigned now. */
  assigned: (managerId: string, now: string): UpdateOp => ({
    Key: keys.managerLoad(managerId),
    UpdateExpression: 'SET managerId = :manager, lastAssignedAt = :now ADD openLeads :one',
    ExpressionAttributeValues: { ':manager': managerId, ':now': now, ':one': 1 },
  }),
};

export const submissionItem = {
  key: keys.submission,
  /** A submission, unless one with the same idempotency hash is still inside its window. */
  put: (
    idempotencyHash: string,
    attributes: Record<string, unknown> & { windowEndsAt: number },
    nowSeconds: number,
  ): PutOp => ({
    Item: { ...keys.submission(idempotencyHash), ...attributes },
    ConditionExpression: 'attribute_not_exists(pk) OR windowEndsAt < :now',
    ExpressionAttributeValues: { ':now': nowSeconds },
  }),
};

export const rateWindowItem = {
  key: keys.rate,
  /** Counts one request in the window, refused once it holds `limit`; the item expires an hour on. */
  hit: (scope: string, client: string, windowStart: number, limit: number): UpdateOp => ({
    Key: keys.rate(scope, client, windowStart),
    UpdateExpression: 'ADD hits :one SET #ttl = if_not_exists(#ttl, :ttl)',
    ConditionExpression: 'attribute_not_exists(hits) OR hits < :limit',
    ExpressionAttributeNames: { '#ttl': 'ttl' },
    ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':ttl': windowStart + 3600 },
  }),
};

export const ackLedgerItem = {
  mailboxKey: keys.ackMailbox,
  domainKey: keys.ackDomain,
  /**
   * The mailbox's last acknowledgement: taken if it has none since `since`, or if it is this same
   * notification's (a retry re-uses its own reservation).
   */
  mailbox: (
    mailboxHash: string,
    input: { at: string; since: string; notificationId: string; ttl: number },
  ): PutOp => ({
    Item: {
      ...keys.ackMailbox(mailboxHash),
      type: 'ack_mailbox',
      lastAt: input.at,
      notificationId: input.notificationId,
      ttl: input.ttl,
    },
    ConditionExpression: 'attribute_not_exists(pk) OR lastAt < :since OR notificationId = :id',
    ExpressionAttributeValues: { ':since': input.since, ':id': input.notificationId },
  }),
  /** One more acknowledgement to the domain this hour, refused at the cap. */
  domain: (formId: string, domain: string, hour: string, input: { cap: number; ttl: number }): UpdateOp => ({
    Key: keys.ackDomain(formId, domain, hour),
    UpdateExpression: 'ADD sent :one SET #ttl = if_not_exists(#ttl, :ttl)',
    ConditionExpression: 'attribute_not_exists(sent) OR sent < :cap',
    ExpressionAttributeNames: { '#ttl': 'ttl' },
    ExpressionAttributeValues: { ':one': 1, ':cap': input.cap, ':ttl': input.ttl },
  }),
};

/** The condition under which the seed writes version 1: no configuration in the table yet. */
const SEED = 'attribute_not_exists(pk)';

export const configItem = {
  key: keys.config,
  seedCondition: SEED,
  /** Version 1's current and history items, written only while the table has no configuration. */
  seed: (items: { current: Record<string, unknown>; history: Record<string, unknown> }): [PutOp, PutOp] => [
    { Item: items.current, ConditionExpression: SEED },
    { Item: items.history, ConditionExpression: SEED },
  ],
  /** The current item, if the table is still at `expectedVersion` (0: nothing stored yet). */
  current: (item: Record<string, unknown>, expectedVersion: number): PutOp =>
    expectedVersion === 0
      ? { Item: item, ConditionExpression: 'attribute_not_exists(pk)' }
      : {
          Item: item,
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': expectedVersion },
        },
  /** A version's history entry: written once, never overwritten. */
  history: (item: Record<string, unknown>): PutOp => once(item),
  /** The change history (the `V#…` items). */
  versions: (): QueryOp => ({
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
    ExpressionAttributeValues: { ':pk': keys.config().pk, ':v': 'V#' },
  }),
};

/** The survivor's update that takes away what a merge gave it, while its undo holds it. */
function unmergeSurvivor(input: {
  readonly survivorId: string;
  readonly loserId: string;
  readonly mergeId: string;
  readonly gained: MergeGains;
  /** The `updatedAt` the survivor gets. */
  readonly updatedAt: string;
  /** The survivor's `updatedAt` as read: it must be unchanged. */
  readonly seenUpdatedAt: string | undefined;
}): UpdateOp {
  const { gained } = input;
  const sets = ['updatedAt = :updatedAt'];
  const removes = ['unmerging'];
  const deletes = ['mergedFrom :loser'];
  const names: Names = {};
  const values: Values = {
    ':updatedAt': input.updatedAt,
    ':loser': new Set([input.loserId]),
    ':mergeId': input.mergeId,
  };
  const taken = {
    identities: gained.identities,
    emails: gained.emails,
    phones: gained.phones,
    verifiedIdentities: gained.verifiedIdentities,
    separatedFrom: gained.separatedFrom ?? [],
  };
  for (const [attribute, removed] of Object.entries(taken)) {
    if (removed.length === 0) continue;
    deletes.push(`${attribute} :${attribute}`);
    values[`:${attribute}`] = new Set(removed);
  }
  gained.conversationsAdded.forEach((conversationId, index) => {
    names[`#a${index}`] = conversationId;
    removes.push(`#cs.#a${index}`);
  });
  Object.entries(gained.conversationsRetired).forEach(([conversationId, entry], index) => {
    names[`#r${index}`] = conversationId;
    values[`:r${index}`] = entry;
    sets.push(`#cs.#r${index} = if_not_exists(#cs.#r${index}, :r${index})`);
  });
  if (Object.keys(names).length > 0) names['#cs'] = 'conversations';
  const seen = input.seenUpdatedAt === undefined ? 'attribute_not_exists(updatedAt)' : 'updatedAt = :seen';
  if (input.seenUpdatedAt !== undefined) values[':seen'] = input.seenUpdatedAt;
  return {
    Key: keys.contact(input.survivorId),
    UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')} DELETE ${deletes.join(', ')}`,
    ConditionExpression: `attribute_exists(pk) AND unmerging = :mergeId AND ${seen}`,
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ExpressionAttributeValues: values,
  };
}

export const mergeItem = {
  key: keys.merge,
  /** The merge's record, written once (a router finishing the same merge finds it written). */
  record: (record: MergeRecordItem): PutOp => once({ ...record }),
  /** The merge done, with what the survivor gained. */
  done: (mergeId: string, now: string, gained: MergeGains): UpdateOp => ({
    Key: keys.merge(mergeId),
    UpdateExpression: 'SET #status = :done, completedAt = :now, gained = :gained',
    ConditionExpression: 'attribute_exists(pk)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':done': 'done', ':now': now, ':gained': gained },
  }),
  /** Deletes a moved item's original, if it is still there. */
  deleteOriginal: (key: Record<string, unknown>): DeleteOp => ({
    Key: { pk: key.pk, sk: key.sk },
    ConditionExpression: 'attribute_exists(pk)',
  }),
  /** Starts (or resumes) an undo: only of a done merge, or one whose undo is under way. */
  undoing: (mergeId: string): UpdateOp => ({
    Key: keys.merge(mergeId),
    UpdateExpression: 'SET #status = :undoing',
    ConditionExpression: '#status IN (:done, :undoing)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':undoing': 'undoing', ':done': 'done' },
  }),
  /** Ends an undo, once. */
  undone: (mergeId: string, now: string): UpdateOp => ({
    Key: keys.merge(mergeId),
    UpdateExpression: 'SET #status = :undone, undoneAt = :now',
    ConditionExpression: '#status = :undoing',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':undone': 'undone', ':undoing': 'undoing', ':now': now },
  }),
  /** The survivor's items a merge moved there, found by their undo note. */
  moved: (survivorId: string, mergeId: string): QueryOp & { FilterExpression: string } => ({
    KeyConditionExpression: 'pk = :pk',
    FilterExpression: 'mergeUndo.mergeId = :mergeId',
    ExpressionAttributeValues: { ':pk': keys.contact(survivorId).pk, ':mergeId': mergeId },
  }),
  /** Deletes a moved item's copy, if it still carries this merge's undo note. */
  deleteMoved: (key: Record<string, unknown>, mergeId: string): DeleteOp => ({
    Key: { pk: key.pk, sk: key.sk },
    ConditionExpression: 'mergeUndo.mergeId = :mergeId',
    ExpressionAttributeValues: { ':mergeId': mergeId },
  }),
  /** The survivor, held by the undo (and separated from the loser), unless it is being merged itself. */
  survivorUndoing: (survivorId: string, mergeId: string, loserId: string): UpdateOp => ({
    Key: keys.contact(survivorId),
    UpdateExpression: 'SET unmerging = :mergeId ADD separatedFrom :loser',
    ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}`,
    ExpressionAttributeValues: { ':mergeId': mergeId, ':loser': new Set([loserId]) },
  }),
  /** The loser's profile as it stood, put back over its merged stub (only that merge's). */
  restoreLoser: (profile: Record<string, unknown>, survivorId: string, mergeId: string): PutOp => ({
    Item: profile,
    ConditionExpression: 'mergedInto = :survivor AND mergeId = :mergeId',
    ExpressionAttributeValues: { ':survivor': survivorId, ':mergeId': mergeId },
  }),
  /** An identity claim pointed back, if it still points to the survivor with this merge's note. */
  restoreIdentity: (original: Record<string, unknown>, survivorId: string, mergeId: string): PutOp => ({
    Item: original,
    ConditionExpression: 'mergeUndo.mergeId = :mergeId AND contactId = :survivor',
    ExpressionAttributeValues: { ':mergeId': mergeId, ':survivor': survivorId },
  }),
  /** Releases the restored loser from the undo. */
  loserRestored: (loserId: string, mergeId: string): UpdateOp => ({
    Key: keys.contact(loserId),
    UpdateExpression: 'REMOVE unmerging',
    ConditionExpression: 'unmerging = :mergeId',
    ExpressionAttributeValues: { ':mergeId': mergeId },
  }),
  survivorRestored: unmergeSurvivor,
};
