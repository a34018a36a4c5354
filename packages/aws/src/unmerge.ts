import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type ContactProfile, getProfile, queryContact } from './contacts';
import { interactionItem, keys, mergeItem } from './items';
import { type MergeRecordItem, parseMergeRecord, withoutMergeUndo } from './merge-record';

/** No merge has this id. */
export class MergeNotFound extends Error {
  override readonly name = 'MergeNotFound';
}

/** The merge was undone already; an undo is done once. */
export class MergeAlreadyUndone extends Error {
  override readonly name = 'MergeAlreadyUndone';
}

/** The merge cannot be undone now; the message says why and what to do first. */
export class UnmergeRefused extends Error {
  override readonly name = 'UnmergeRefused';
}

export interface UnmergeResult {
  readonly mergeId: string;
  readonly survivorId: string;
  readonly loserId: string;
  /** Leads and timeline items moved back to the restored contact. */
  readonly itemsMovedBack: number;
  /** Identity claims pointed back at the restored contact. */
  readonly identitiesRestored: number;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Undoes one merge exactly, from its record (`MERGE#<mergeId>`) and the undo notes on what it moved: the
 * merged contact's profile is written back as it was, its leads and timeline items move back (keeping
 * what happened to them since, except that an owner the merge set is put back), its identities point at
 * it again, the survivor loses what it gained (identities, emails, phones, verified marks, carried-over
 * conversations; its retired conversations come back), `mergedInto` is gone, both get an `unmerged`
 * timeline entry and remember the other in `separatedFrom`, so the same evidence never merges them again
 * automatically. The record is marked undone. Resumable: a run that stopped midway is finished by the
 * next one; refused once undone (`MergeAlreadyUndone`), while the merge is unfinished, or when the survivor
 * was itself merged away since (undo that merge first). Captures that reached the survivor after the merge
 * stay with it.
 */
export async function unmergeContacts(
  doc: DynamoDBDocumentClient,
  tableName: string,
  mergeId: string,
  options: { readonly now?: string } = {},
): Promise<UnmergeResult> {
  const now = options.now ?? new Date().toISOString();
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.merge(mergeId), ConsistentRead: true }),
  );
  const record = parseMergeRecord(Item);
  if (!record) throw new MergeNotFound(`No merge ${mergeId}`);
  if (record.status === 'undone') {
    throw new MergeAlreadyUndone(`Merge ${mergeId} was undone at ${record.undoneAt ?? 'an earlier time'}`);
  }
  if (record.status === 'started' || !record.gained) {
    throw new UnmergeRefused(
      `Merge ${mergeId} has not finished; the next capture of contact ${record.survivorId} finishes it`,
    );
  }
  if ((Item as { erasedAt?: unknown } | undefined)?.erasedAt !== undefined) {
    throw new UnmergeRefused(`Merge ${mergeId} belongs to an erased contact: there is nothing to separate`);
  }
  const { survivorId, loserId } = record;
  const survivor = await getProfile(doc, tableName, survivorId);
  if (!survivor) throw new UnmergeRefused(`Contact ${survivorId} does not exist`);
  if (survivor.erasedAt !== undefined) throw new UnmergeRefused(`Contact ${survivorId} was erased`);
  const absorbedBy = survivor.mergedInto ?? survivor.mergingInto;
  if (absorbedBy) {
    throw new UnmergeRefused(
      `Contact ${survivorId} was merged into ${absorbedBy} since${
        survivor.mergeId ? ` (${survivor.mergeId})` : ''
      }: undo that merge first`,
    );
  }

  // 1. Mark both: the record is being undone, and the survivor can neither be merged away meanwhile nor
  // merged with the contact it is losing again.
  await begin(doc, tableName, record);
  // 2. The merged contact's profile as it was, separated from the survivor and guarded while it fills.
  await restoreProfile(doc, tableName, record);
  // 3. Its leads and timeline items, and 4. its identities.
  const itemsMovedBack = await moveBack(doc, tableName, record);
  const identitiesRestored = await repointBack(doc, tableName, record);
  // 5. The survivor without what it gained, both entries, the record undone: one transaction.
  await finish(doc, tableName, record, now, { itemsMovedBack, identitiesRestored });
  return { mergeId, survivorId, loserId, itemsMovedBack, identitiesRestored };
}

async function begin(doc: DynamoDBDocumentClient, tableName: string, record: MergeRecordItem) {
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              ...mergeItem.undoing(record.mergeId),
            },
          },
          {
            Update: {
              TableName: tableName,
              ...mergeItem.survivorUndoing(record.survivorId, record.mergeId, record.loserId),
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      throw new UnmergeRefused(
        `Merge ${record.mergeId} or contact ${record.survivorId} changed while starting the undo; try again`,
        { cause: error },
      );
    }
    throw error;
  }
}

async function restoreProfile(doc: DynamoDBDocumentClient, tableName: string, record: MergeRecordItem) {
  const before = record.loser as Partial<ContactProfile> & Record<string, unknown>;
  const profile = {
    ...before,
    separatedFrom: new Set([...(before.separatedFrom ?? []), record.survivorId]),
    unmerging: record.mergeId,
  };
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        ...mergeItem.restoreLoser(profile, record.survivorId, record.mergeId),
      }),
    );
  } catch (error) {
    if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    const current = await getProfile(doc, tableName, record.loserId);
    // Restored by an earlier run of this undo.
    if (current?.unmerging === record.mergeId) return;
    throw new UnmergeRefused(`Contact ${record.loserId} is not as merge ${record.mergeId} left it`);
  }
}

/** Moves every item the merge moved (found by its undo note) back, one atomic move each. */
async function moveBack(doc: DynamoDBDocumentClient, tableName: string, record: MergeRecordItem) {
  let moved = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        ...mergeItem.moved(record.survivorId, record.mergeId),
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const original = withoutMergeUndo(item, record.mergeId);
      if (!original) continue;
      try {
        await doc.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: tableName, Item: original } },
              {
                Delete: {
                  TableName: tableName,
                  ...mergeItem.deleteMoved(item, record.mergeId),
                },
              },
            ],
          }),
        );
        moved++;
      } catch (error) {
        // Moved back by a concurrent run of this undo.
        if (!(error instanceof TransactionCanceledException)) throw error;
        if (error.CancellationReasons?.[1]?.Code !== 'ConditionalCheckFailed') throw error;
      }
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return moved;
}

/**
 * Points the merged contact's identities back at it: the ones it listed (on the record) and the ones it
 * claimed past its bound (on its timeline, moved back by now).
 */
async function repointBack(doc: DynamoDBDocumentClient, tableName: string, record: MergeRecordItem) {
  const unlisted = (await queryContact(doc, tableName, record.loserId)).flatMap((item) =>
    typeof item.unlistedIdentity === 'string' ? [item.unlistedIdentity] : [],
  );
  let restored = 0;
  for (const identity of new Set([...record.identities, ...unlisted])) {
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.identity(identity), ConsistentRead: true }),
    );
    const original = Item && Item.contactId === record.survivorId && withoutMergeUndo(Item, record.mergeId);
    if (!original) continue;
    await doc
      .send(
        new PutCommand({
          TableName: tableName,
          ...mergeItem.restoreIdentity(original, record.survivorId, record.mergeId),
        }),
      )
      .then(() => restored++)
      .catch((error: unknown) => {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      });
  }
  return restored;
}

async function finish(
  doc: DynamoDBDocumentClient,
  tableName: string,
  record: MergeRecordItem,
  now: string,
  counts: { itemsMovedBack: number; identitiesRestored: number },
) {
  const gained = record.gained;
  if (!gained) throw new UnmergeRefused(`Merge ${record.mergeId} recorded nothing to undo`);
  for (let attempt = 1; ; attempt++) {
    const survivor = await getProfile(doc, tableName, record.survivorId);
    if (!survivor) throw new UnmergeRefused(`Contact ${record.survivorId} does not exist`);
    // Untouched since the merge: the time it was last updated before it; else this undo is its update.
    const updatedAt = survivor.updatedAt === gained.updatedAt.after ? (gained.updatedAt.before ?? now) : now;
    const update = survivorUpdate(record, updatedAt, survivor.updatedAt);
    const entry = (contactId: string, other: string, summary: string) => {
      const interactionId = `unmerge-${record.mergeId}`;
      return {
        Put: {
          TableName: tableName,
          Item: interactionItem.system({
            contactId,
            occurredAt: now,
            interactionId,
            event: 'unmerged',
            mergeId: record.mergeId,
            separatedFrom: other,
            summary,
          }),
        },
      };
    };
    const moved = `${counts.identitiesRestored} identities and ${counts.itemsMovedBack} leads and timeline items`;
    const items: TransactItem[] = [
      { Update: { TableName: tableName, ...update } },
      {
        Update: {
          TableName: tableName,
          ...mergeItem.loserRestored(record.loserId, record.mergeId),
        },
      },
      entry(
        record.loserId,
        record.survivorId,
        `Merge ${record.mergeId} undone: separated again from contact ${record.survivorId}; ${moved} moved back`,
      ),
      entry(
        record.survivorId,
        record.loserId,
        `Merge ${record.mergeId} undone: contact ${record.loserId} separated again; ${moved} moved back to it`,
      ),
      {
        Update: {
          TableName: tableName,
          ...mergeItem.undone(record.mergeId, now),
        },
      },
      ...gained.unlistedEntries.map((interactionId) => ({
        Delete: {
          TableName: tableName,
          Key: keys.interaction(record.survivorId, record.startedAt, interactionId),
        },
      })),
    ];
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (reasons[4]?.Code === 'ConditionalCheckFailed') {
        throw new MergeAlreadyUndone(`Merge ${record.mergeId} was undone meanwhile`);
      }
      // The survivor changed between the read and the write: read it again.
      if (attempt >= 5) throw error;
    }
  }
}

/** The survivor's update that takes away what the merge gave it. */
function survivorUpdate(record: MergeRecordItem, updatedAt: string, seenUpdatedAt: string | undefined) {
  return mergeItem.survivorRestored({
    survivorId: record.survivorId,
    loserId: record.loserId,
    mergeId: record.mergeId,
    gained: record.gained as NonNullable<MergeRecordItem['gained']>,
    updatedAt,
    seenUpdatedAt,
  });
}

/** A merge's record, for the admin command and tests. */
export async function getMergeRecord(
  doc: DynamoDBDocumentClient,
  tableName: string,
  mergeId: string,
): Promise<MergeRecordItem | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.merge(mergeId), ConsistentRead: true }),
  );
  return parseMergeRecord(Item);
}
