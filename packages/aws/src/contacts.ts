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
  readonly identities?: Set<string>;
  /** Open conversations: conversation id → the lead it belongs to and its last message time. */
  readonly conversations?: Record<string, { leadId: string; lastAt: string }>;
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
      if (losers.length > 0) {
        for (const loser of losers) await mergeInto(doc, tableName, survivor, loser, options.now);
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
                      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(mergedInto)',
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

/** Profiles of the claiming contacts, following `mergedInto` to the contact that absorbed each. */
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
      if (profile.mergedInto) pending.push(profile.mergedInto);
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
 * Moves everything of `loser` into `survivor`: leads and timeline entries are copied before they are
 * deleted, identities are re-pointed, the survivor gains the loser's emails, phones and handles, the
 * loser is marked `mergedInto`, and the merge is recorded on the survivor's timeline. Every step can
 * be repeated, so a crash midway is finished by the retry.
 */
async function mergeInto(
  doc: DynamoDBDocumentClient,
  tableName: string,
  survivor: ContactProfile,
  loser: ContactProfile,
  now: string,
): Promise<void> {
  const items = await queryContact(doc, tableName, loser.contactId);
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
  const identities = [...(loser.identities ?? [])];
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
  const profile = items.find((item) => item.sk === 'PROFILE') ?? {};
  const additions: string[] = [];
  const values: Record<string, unknown> = { ':now': now, ':loser': [loser.contactId], ':empty': [] };
  for (const attribute of ['identities', 'emails', 'phones'] as const) {
    const set = profile[attribute];
    if (set instanceof Set && set.size > 0) {
      additions.push(`${attribute} :${attribute}`);
      values[`:${attribute}`] = set;
    }
  }
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.contact(survivor.contactId),
      UpdateExpression: `SET updatedAt = :now, mergedFrom = list_append(if_not_exists(mergedFrom, :empty), :loser)${
        additions.length > 0 ? ` ADD ${additions.join(', ')}` : ''
      }`,
      ExpressionAttributeValues: values,
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...keys.interaction(survivor.contactId, now, `merge-${loser.contactId}`),
        type: 'interaction',
        interactionId: `merge-${loser.contactId}`,
        channel: 'system',
        direction: 'internal',
        occurredAt: now,
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
      ExpressionAttributeValues: { ':survivor': survivor.contactId, ':now': now },
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
