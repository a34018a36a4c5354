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
import type { ContactDetails } from '@leadflow/core';
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
  readonly identities?: Set<string>;
  /** Open conversations: conversation id → the lead it belongs to and its last message time. */
  readonly conversations?: Record<string, { leadId: string; lastAt: string }>;
  readonly lastAcknowledgedAt?: string;
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
 */
export async function resolveContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  identities: readonly string[],
  details: ContactDetails,
  options: { newContactId: () => string; now: string },
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
    }
    const created = claimedBy.length === 0;
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
                        ...profileAttributes(details, identities),
                      },
                      ConditionExpression: 'attribute_not_exists(pk)',
                    },
                  }
                : {
                    Update: {
                      TableName: tableName,
                      Key: keys.contact(contactId),
                      ...addIdentities(details, unclaimed, options.now),
                      ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}`,
                    },
                  },
              ...unclaimed.map((identity) => ({
                Put: {
                  TableName: tableName,
                  Item: { ...keys.identity(identity), type: 'identity', contactId, claimedAt: options.now },
                  ConditionExpression: 'attribute_not_exists(pk)',
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
    if (created) return { contactId, created };
    const profile = await getProfile(doc, tableName, contactId);
    if (!profile) throw new Error(`Contact ${contactId} is referenced by an identity but does not exist`);
    return { contactId, created, profile, ...(merged ? { merged } : {}) };
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
 * conversations, the merge is recorded on its timeline, the loser is marked `mergedInto`, and the pending
 * mark is cleared last. Every step can be repeated: a crash midway is finished by the next resolution.
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
  const identities = [...(profile.identities ?? [])];
  for (const identity of identities) {
    await doc
      .send(
        new UpdateCommand({
          TableName: tableName,
          Key: keys.identity(identity),
          UpdateExpression: 'SET contactId = :survivor, mergedFrom = :loser',
          ConditionExpression: 'contactId = :loser OR contactId = :survivor',
          ExpressionAttributeValues: { ':survivor': survivor.contactId, ':loser': loser.contactId },
        }),
      )
      .catch((error: unknown) => {
        // Re-pointed elsewhere meanwhile (a third merge): that contact now owns it.
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      });
  }

  const additions: string[] = [];
  const sets: string[] = ['updatedAt = :now'];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':now': now };
  for (const attribute of ['identities', 'emails', 'phones'] as const) {
    const set = profile[attribute];
    if (set instanceof Set && set.size > 0) {
      additions.push(`${attribute} :${attribute}`);
      values[`:${attribute}`] = set;
    }
  }
  // The loser's open conversations carry on with the survivor, unless the survivor has the same one.
  Object.entries(profile.conversations ?? {}).forEach(([conversationId, entry], index) => {
    if (survivor.conversations?.[conversationId]) return;
    names[`#c${index}`] = conversationId;
    values[`:c${index}`] = entry;
    sets.push(`conversations.#c${index} = :c${index}`);
  });
  values[':merged'] = new Set([loser.contactId]);
  additions.push('mergedFrom :merged');
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.contact(survivor.contactId),
      UpdateExpression: `SET ${sets.join(', ')} ADD ${additions.join(', ')}`,
      ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: values,
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...keys.interaction(survivor.contactId, mergeAt, `merge-${loser.contactId}`),
        type: 'interaction',
        interactionId: `merge-${loser.contactId}`,
        channel: 'system',
        direction: 'internal',
        occurredAt: mergeAt,
        summary: `Merged contact ${loser.contactId} (created ${loser.createdAt}${
          loser.ownerId ? `, owner ${loser.ownerId}` : ''
        }): ${identities.length} identities, ${items.length - 1} timeline items and leads`,
        merge: { survivorId: survivor.contactId, mergedId: loser.contactId, identities },
      },
    }),
  );
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
    ...(details.email ? { emails: new Set([details.email]) } : {}),
    ...(details.phone ? { phones: new Set([details.phone]) } : {}),
  };
}

function addIdentities(details: ContactDetails, unclaimed: readonly string[], now: string) {
  const additions = ['identities :identities'];
  const values: Record<string, unknown> = { ':identities': new Set(unclaimed), ':now': now };
  if (details.email && unclaimed.some((identity) => identity.startsWith('email:'))) {
    additions.push('emails :emails');
    values[':emails'] = new Set([details.email]);
  }
  if (details.phone && unclaimed.some((identity) => identity.startsWith('phone:'))) {
    additions.push('phones :phones');
    values[':phones'] = new Set([details.phone]);
  }
  const name = details.name ? ', #name = if_not_exists(#name, :name)' : '';
  if (details.name) values[':name'] = details.name;
  return {
    UpdateExpression: `SET updatedAt = :now${name} ADD ${additions.join(', ')}`,
    ...(details.name ? { ExpressionAttributeNames: { '#name': 'name' } } : {}),
    ExpressionAttributeValues: values,
  };
}

/** True when a transaction failed only because a condition lost a race (not throttling or errors). */
export function isConditionalConflict(error: TransactionCanceledException): boolean {
  const reasons = error.CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}
