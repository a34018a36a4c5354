import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  admitIdentities,
  admitMergedPoints,
  type ContactDetails,
  MAX_IDENTITIES,
  MAX_OPEN_CONVERSATIONS,
  planConversationMerge,
} from '@leadflow/core';
import { keys } from './keys';

export interface ContactProfile {
  readonly contactId: string;
  readonly createdAt: string;
  readonly ownerId?: string;
  readonly mergedInto?: string;
  /** Set first when a merge starts: the contact takes no new writes while it is moved. */
  readonly mergingInto?: string;
  readonly mergingAt?: string;
  /** On a survivor: merges fenced but not yet finished. */
  readonly pendingMerges?: Set<string>;
  /** At most `MAX_IDENTITIES`; identities claimed past that are recorded on the timeline instead. */
  readonly identities?: Set<string>;
  readonly emails?: Set<string>;
  readonly phones?: Set<string>;
  /**
   * Open conversations: conversation id → the lead it belongs to and its last message time. At most
   * `MAX_OPEN_CONVERSATIONS`; past that the oldest are retired.
   */
  readonly conversations?: Record<string, { leadId: string; lastAt: string }>;
  readonly lastAcknowledgedAt?: string;
  /** When the contact's latest lead was captured. */
  readonly lastLeadAt?: string;
}

export interface MergeRecord {
  readonly survivorId: string;
  readonly mergedIds: readonly string[];
}

export interface ResolvedContact {
  readonly contactId: string;
  /** True when this capture created the contact. */
  readonly created: boolean;
  /** The contact's profile as it stands after this resolution (undefined when just created). */
  readonly profile?: ContactProfile;
  /** Contacts this capture proved to be the same person, merged into `contactId`. */
  readonly merged?: MergeRecord;
  /** New identities claimed for the contact but not listed on its profile, which is at its bound. */
  readonly unlisted?: readonly string[];
}

/** A contact that is being merged, or was, takes no new writes: they belong to the survivor. */
export const NOT_MERGING = 'attribute_not_exists(mergedInto) AND attribute_not_exists(mergingInto)';

/** Another router fenced one of the contacts first; resolution starts over with fresh reads. */
class MergeFenceConflict extends Error {
  override readonly name = 'MergeFenceConflict';
}

/** Thrown when identities keep changing under us; the message is retried by the queue. */
export class ContactResolutionConflict extends Error {
  override readonly name = 'ContactResolutionConflict';
}

const MAX_ATTEMPTS = 5;

/**
 * Finds or creates the one contact that owns the capture's identities (normalized email, E.164
 * phone, platform handles). Identities are claimed with conditional writes in one transaction with
 * the contact, so two concurrent captures of one person can never create two contacts: the loser
 * re-reads and joins. When the identities belong to several contacts, they are merged into one.
 *
 * A profile lists at most `MAX_IDENTITIES`. A new identity past that is still claimed for the contact,
 * so it keeps finding this person without growing the profile item, and the claim is recorded on the
 * timeline (`interactionId`/`occurredAt` key that entry; pass the capture's, so it sits beside it).
 */
export async function resolveContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identities: readonly string[],
  details: ContactDetails,
  options: { newContactId: () => string; now: string; interactionId?: string; occurredAt?: string },
): Promise<ResolvedContact> {
  if (identities.length === 0) throw new Error('A capture without email, phone or handle cannot be resolved');

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const claims = await Promise.all(
      identities.map(async (identity) => {
        const { Item } = await doc.send(
          new GetCommand({ TableName: tableName, Key: keys.identity(identity), ConsistentRead: true }),
        );
        return { identity, contactId: Item?.contactId as string | undefined };
      }),
    );
    const claimedBy = [...new Set(claims.flatMap((claim) => (claim.contactId ? [claim.contactId] : [])))];
    const unclaimed = claims.filter((claim) => !claim.contactId).map((claim) => claim.identity);

    let contactId: string;
    let merged: MergeRecord | undefined;
    /** What the identity bound is decided on: the surviving profile as it stands after any merge. */
    let listed: ReadonlySet<string> | undefined;
    if (claimedBy.length === 0) contactId = options.newContactId();
    else {
      const profiles = await readLiveProfiles(doc, tableName, claimedBy);
      const survivor = chooseSurvivor(profiles);
      const losers = profiles.filter((profile) => profile.contactId !== survivor.contactId);
      contactId = survivor.contactId;
      try {
        // A merge a crashed router fenced but did not finish is finished first.
        for (const pending of survivor.pendingMerges ?? []) {
          const loser = await getProfile(doc, tableName, pending);
          if (loser) await mergeInto(doc, tableName, survivor, loser, options.now);
        }
        for (const loser of losers) await mergeInto(doc, tableName, survivor, loser, options.now);
      } catch (error) {
        if (error instanceof MergeFenceConflict) continue;
        throw error;
      }
      if (losers.length > 0) {
        merged = { survivorId: survivor.contactId, mergedIds: losers.map((loser) => loser.contactId) };
      }
      const mergedAny = losers.length > 0 || (survivor.pendingMerges?.size ?? 0) > 0;
      listed = (mergedAny ? await getProfile(doc, tableName, contactId) : survivor)?.identities;
    }
    const created = claimedBy.length === 0;
    const admission = admitIdentities(listed, unclaimed, MAX_IDENTITIES);
    const listedAfter = (listed?.size ?? 0) + admission.add.length;
    const entryAt = options.occurredAt ?? options.now;
    const entryId = options.interactionId ?? `resolve-${options.now}`;
    try {
      if (created || unclaimed.length > 0) {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              created
                ? {
                    Put: {
                      TableName: tableName,
                      Item: {
                        ...keys.contact(contactId),
                        type: 'contact',
                        contactId,
                        createdAt: options.now,
                        updatedAt: options.now,
                        conversations: {},
                        ...profileAttributes(details, admission.add),
                      },
                      ConditionExpression: 'attribute_not_exists(pk)',
                    },
                  }
                : {
                    Update: {
                      TableName: tableName,
                      ...addIdentities(contactId, details, admission.add, options.now),
                    },
                  },
              ...unclaimed.map((identity) => ({
                Put: {
                  TableName: tableName,
                  Item: { ...keys.identity(identity), type: 'identity', contactId, claimedAt: options.now },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
              // In the transaction of the claim, which happens once: a redelivery records nothing again.
              ...admission.refused.map((identity) => ({
                Put: {
                  TableName: tableName,
                  Item: unlistedIdentityEntry(
                    contactId,
                    identity,
                    entryAt,
                    `${entryId}:identity:${identity}`,
                    listedAfter,
                  ),
                },
              })),
            ],
          }),
        );
      }
    } catch (error) {
      if (error instanceof TransactionCanceledException && isConditionalConflict(error)) continue;
      throw error;
    }
    const bounded = admission.refused.length > 0 ? { unlisted: admission.refused } : {};
    if (created) return { contactId, created, ...bounded };
    const profile = await getProfile(doc, tableName, contactId);
    if (!profile) throw new Error(`Contact ${contactId} is referenced by an identity but does not exist`);
    return { contactId, created, profile, ...(merged ? { merged } : {}), ...bounded };
  }
  throw new ContactResolutionConflict(`Identities kept changing after ${MAX_ATTEMPTS} attempts`);
}

export async function getProfile(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<ContactProfile | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.contact(contactId), ConsistentRead: true }),
  );
  return Item as ContactProfile | undefined;
}

/** Profiles of the claiming contacts, following `mergedInto`/`mergingInto` to the contact absorbing each. */
async function readLiveProfiles(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactIds: readonly string[],
): Promise<ContactProfile[]> {
  const live = new Map<string, ContactProfile>();
  let pending = [...contactIds];
  for (let hop = 0; pending.length > 0 && hop < 5; hop++) {
    const profiles = await Promise.all(pending.map((id) => getProfile(doc, tableName, id)));
    pending = [];
    profiles.forEach((profile, index) => {
      if (!profile)
        throw new Error(`Contact ${contactIds[index]} is referenced by an identity but does not exist`);
      const absorbedBy = profile.mergedInto ?? profile.mergingInto;
      if (absorbedBy) pending.push(absorbedBy);
      else live.set(profile.contactId, profile);
    });
  }
  return [...live.values()];
}

/**
 * The contact that survives a merge: one that has an owner, then the oldest, then the smallest id.
 * Deterministic, so concurrent routers that discover the same duplicates merge the same way.
 */
export function chooseSurvivor(profiles: readonly ContactProfile[]): ContactProfile {
  const sorted = [...profiles].sort(
    (a, b) =>
      Number(!a.ownerId) - Number(!b.ownerId) ||
      a.createdAt.localeCompare(b.createdAt) ||
      a.contactId.localeCompare(b.contactId),
  );
  const survivor = sorted[0];
  if (!survivor) throw new Error('No contact to choose from');
  return survivor;
}

/**
 * Moves everything of `loser` into `survivor`. First a fence, atomically: the loser is marked
 * `mergingInto` (so routing writes to it fail and are retried against the survivor) and the survivor
 * records the pending merge; refused when either side is already being merged, so two routers can never
 * merge A into B and B into A. Then leads and timeline entries are copied before they are deleted,
 * identities are re-pointed, the survivor gains the loser's emails, phones, handles and open
 * conversations (within the bounds: the newest conversations of both stay open, identities past the bound
 * stay claimed but unlisted) atomically with the merge's timeline entry, the loser is marked `mergedInto`,
 * and the pending mark is cleared last. Every step can be repeated: a crash midway is finished by the next
 * resolution.
 */
async function mergeInto(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivor: ContactProfile,
  loser: ContactProfile,
  now: string,
): Promise<void> {
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: keys.contact(loser.contactId),
              UpdateExpression: 'SET mergingInto = :survivor, mergingAt = if_not_exists(mergingAt, :now)',
              ConditionExpression:
                'attribute_exists(pk) AND attribute_not_exists(mergedInto) AND (attribute_not_exists(mergingInto) OR mergingInto = :survivor)',
              ExpressionAttributeValues: { ':survivor': survivor.contactId, ':now': now },
            },
          },
          {
            Update: {
              TableName: tableName,
              Key: keys.contact(survivor.contactId),
              UpdateExpression: 'ADD pendingMerges :loser',
              ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}`,
              ExpressionAttributeValues: { ':loser': new Set([loser.contactId]) },
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException && isConditionalConflict(error)) {
      // Already merged by an earlier attempt: only the pending mark may be left to clear.
      const current = await getProfile(doc, tableName, loser.contactId);
      if (current?.mergedInto === survivor.contactId) {
        await clearPending(doc, tableName, survivor.contactId, loser.contactId);
        return;
      }
      throw new MergeFenceConflict(
        `Contact ${loser.contactId} or ${survivor.contactId} is being merged elsewhere`,
      );
    }
    throw error;
  }

  // Read after the fence: nothing can be added to the loser any more, so this copy is complete.
  const items = await queryContact(doc, tableName, loser.contactId);
  const profile = (items.find((item) => item.sk === 'PROFILE') ?? {}) as ContactProfile &
    Record<string, unknown>;
  const mergeAt = profile.mergingAt ?? now;
  const owner = survivor.ownerId;
  const identities = [...(profile.identities ?? [])];
  // Identities the loser claimed past its bound are listed only on its timeline: re-pointed before
  // those entries move, so a crash midway cannot lose track of them.
  const unlisted = items.flatMap((item) =>
    item.sk !== 'PROFILE' && typeof item.unlistedIdentity === 'string' ? [item.unlistedIdentity] : [],
  );
  for (const identity of new Set([...unlisted, ...identities])) {
    await repoint(doc, tableName, identity, loser.contactId, survivor.contactId);
  }
  for (const item of items) {
    if (item.sk === 'PROFILE') continue;
    const moved: Record<string, unknown> = {
      ...item,
      pk: keys.contact(survivor.contactId).pk,
      contactId: survivor.contactId,
    };
    if (item.type === 'lead' && owner && item.ownerId !== owner) {
      Object.assign(moved, { previousOwnerId: item.ownerId, ownerId: owner, gsi1pk: keys.owner(owner) });
    }
    await doc.send(new PutCommand({ TableName: tableName, Item: moved }));
    await doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk } }));
  }

  const mergeId = `merge-${loser.contactId}`;
  const summary = `Merged contact ${loser.contactId} (created ${loser.createdAt}${
    loser.ownerId ? `, owner ${loser.ownerId}` : ''
  }): ${identities.length} identities, ${items.length - 1} timeline items and leads`;
  for (let attempt = 1; ; attempt++) {
    // The survivor as it stands now: concurrent captures may have added identities or conversations.
    const current = await getProfile(doc, tableName, survivor.contactId);
    if (!current) throw new Error(`Contact ${survivor.contactId} vanished while merging`);
    const plan = planMergeUpdate(current, profile, unlisted);
    // Refusals only grow as the survivor fills, so recording them ahead of the update stays true.
    for (const identity of plan.refused) {
      if (unlisted.includes(identity)) continue; // already on the moved timeline
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: unlistedIdentityEntry(
            survivor.contactId,
            identity,
            mergeAt,
            `${mergeId}:identity:${identity}`,
            plan.listedAfter,
          ),
        }),
      );
    }
    try {
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: keys.contact(survivor.contactId),
                UpdateExpression: plan.updateExpression,
                ConditionExpression: plan.conditionExpression,
                ...(Object.keys(plan.names).length > 0 ? { ExpressionAttributeNames: plan.names } : {}),
                ExpressionAttributeValues: {
                  ...plan.values,
                  ':now': now,
                  ':merged': new Set([loser.contactId]),
                },
              },
            },
            {
              // Written once, with the update it describes: a repeat of the merge finds it and stops.
              Put: {
                TableName: tableName,
                Item: {
                  ...keys.interaction(survivor.contactId, mergeAt, mergeId),
                  type: 'interaction',
                  interactionId: mergeId,
                  channel: 'system',
                  direction: 'internal',
                  occurredAt: mergeAt,
                  summary: `${summary}${plan.summary}`,
                  merge: {
                    survivorId: survivor.contactId,
                    mergedId: loser.contactId,
                    identities,
                    ...plan.record,
                  },
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      break;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [update, entry] = error.CancellationReasons ?? [];
      if (entry?.Code === 'ConditionalCheckFailed') break; // an earlier attempt of this merge did it
      if (update?.Code !== 'ConditionalCheckFailed') throw error;
      if (attempt >= MAX_ATTEMPTS) {
        throw new MergeFenceConflict(`Contact ${survivor.contactId} kept changing while merging`);
      }
    }
  }
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.contact(loser.contactId),
      UpdateExpression: 'SET mergedInto = :survivor, mergedAt = :now REMOVE gsi1pk, gsi1sk',
      ConditionExpression: 'mergingInto = :survivor',
      ExpressionAttributeValues: { ':survivor': survivor.contactId, ':now': now },
    }),
  );
  await clearPending(doc, tableName, survivor.contactId, loser.contactId);
}

async function clearPending(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivorId: string,
  loserId: string,
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.contact(survivorId),
      UpdateExpression: 'DELETE pendingMerges :loser',
      ExpressionAttributeValues: { ':loser': new Set([loserId]) },
    }),
  );
}

/** Points a claimed identity at the survivor, unless a third merge already took it elsewhere. */
async function repoint(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identity: string,
  loserId: string,
  survivorId: string,
): Promise<void> {
  await doc
    .send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.identity(identity),
        UpdateExpression: 'SET contactId = :survivor, mergedFrom = :loser',
        ConditionExpression: 'contactId = :loser OR contactId = :survivor',
        ExpressionAttributeValues: { ':survivor': survivorId, ':loser': loserId },
      }),
    )
    .catch((error: unknown) => {
      // Re-pointed elsewhere meanwhile (a third merge): that contact now owns it.
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    });
}

/**
 * The survivor's update for a merge, within the bounds: the loser's identities, emails and phones while
 * the survivor has room, and the newest open conversations of both. Guarded so that a concurrent capture
 * growing the survivor meanwhile makes the update fail and be planned again.
 */
function planMergeUpdate(survivor: ContactProfile, loser: ContactProfile, unlisted: readonly string[]) {
  const sets = ['updatedAt = :now'];
  const removes: string[] = [];
  const additions = ['mergedFrom :merged'];
  const conditions = ['attribute_exists(pk)'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const admitted = admitMergedPoints(survivor, loser, unlisted, MAX_IDENTITIES);
  const additionsBySet = {
    identities: admitted.identities.add,
    emails: admitted.emails,
    phones: admitted.phones,
  };
  for (const [attribute, add] of Object.entries(additionsBySet)) {
    if (add.length === 0) continue;
    additions.push(`${attribute} :${attribute}`);
    values[`:${attribute}`] = new Set(add);
    conditions.push(`(attribute_not_exists(${attribute}) OR size(${attribute}) <= :${attribute}Before)`);
    values[`:${attribute}Before`] = MAX_IDENTITIES - add.length;
  }
  const conversations = planConversationMerge(survivor.conversations, loser.conversations);
  Object.entries(conversations.add).forEach(([conversationId, entry], index) => {
    names[`#c${index}`] = conversationId;
    values[`:c${index}`] = entry;
    sets.push(`#cs.#c${index} = :c${index}`);
  });
  conversations.retire.forEach((conversationId, index) => {
    names[`#r${index}`] = conversationId;
    removes.push(`#cs.#r${index}`);
    // A retirement counts only if the entry is still there to remove.
    conditions.push(`attribute_exists(#cs.#r${index})`);
  });
  if (Object.keys(names).length > 0) {
    names['#cs'] = 'conversations';
    conditions.push('size(#cs) <= :conversationsBefore');
    values[':conversationsBefore'] = conversations.maxSizeBefore;
  }
  const refused = admitted.identities.refused;
  const listedAfter = (survivor.identities?.size ?? 0) + admitted.identities.add.length;
  const notes = [
    ...(conversations.retire.length + conversations.dropped.length > 0
      ? [
          `${conversations.retire.length} oldest open conversations retired and ${conversations.dropped.length} not carried over: the contact keeps at most ${MAX_OPEN_CONVERSATIONS}`,
        ]
      : []),
    ...(refused.length > 0
      ? [`${refused.length} identities not added: the contact has ${listedAfter} identities`]
      : []),
  ];
  return {
    updateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''} ADD ${additions.join(', ')}`,
    conditionExpression: conditions.join(' AND '),
    names,
    values,
    refused,
    listedAfter,
    summary: notes.length > 0 ? `; ${notes.join('; ')}` : '',
    record: {
      ...(conversations.retire.length > 0 ? { retiredConversations: conversations.retire } : {}),
      // Bounded: the loser's profile keeps its map, so the full list is never lost.
      ...(conversations.dropped.length > 0
        ? { droppedConversations: conversations.dropped.slice(-MAX_OPEN_CONVERSATIONS) }
        : {}),
      ...(refused.length > 0 ? { unlistedIdentities: refused.slice(0, MAX_IDENTITIES) } : {}),
    },
  };
}

/**
 * The timeline entry of an identity claimed for a contact but not listed on its profile. The entry is
 * also how a later merge of this contact finds the claim to re-point it.
 */
function unlistedIdentityEntry(
  contactId: string,
  identity: string,
  occurredAt: string,
  interactionId: string,
  listed: number,
) {
  return {
    ...keys.interaction(contactId, occurredAt, interactionId),
    type: 'interaction',
    interactionId,
    channel: 'system',
    direction: 'internal',
    occurredAt,
    event: 'identity_unlisted',
    unlistedIdentity: identity,
    summary: `Identity ${identity} not added: the contact has ${listed} identities, at most ${MAX_IDENTITIES} are kept; captures with it still reach this contact`,
  };
}

async function queryContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.contact(contactId).pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

function profileAttributes(details: ContactDetails, identities: readonly string[]) {
  return {
    ...(details.name ? { name: details.name } : {}),
    identities: new Set(identities),
    ...(details.email && identities.some((identity) => identity.startsWith('email:'))
      ? { emails: new Set([details.email]) }
      : {}),
    ...(details.phone && identities.some((identity) => identity.startsWith('phone:'))
      ? { phones: new Set([details.phone]) }
      : {}),
  };
}

/**
 * The profile update that claims a capture's new identities: the admitted ones are listed, guarded so
 * that identities listed concurrently by another router cannot take the set past its bound.
 */
function addIdentities(contactId: string, details: ContactDetails, added: readonly string[], now: string) {
  const additions: string[] = [];
  const values: Record<string, unknown> = { ':now': now };
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
  const name = details.name ? ', #name = if_not_exists(#name, :name)' : '';
  if (details.name) values[':name'] = details.name;
  return {
    Key: keys.contact(contactId),
    UpdateExpression: `SET updatedAt = :now${name}${additions.length > 0 ? ` ADD ${additions.join(', ')}` : ''}`,
    ConditionExpression: condition,
    ...(details.name ? { ExpressionAttributeNames: { '#name': 'name' } } : {}),
    ExpressionAttributeValues: values,
  };
}

/** True when a transaction failed only because a condition lost a race (not throttling or errors). */
export function isConditionalConflict(error: TransactionCanceledException): boolean {
  const reasons = error.CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}
