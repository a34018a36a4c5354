import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type ContactDetails, identityKeys } from '@leadflow/core';
import { keys } from './keys';

export interface ResolvedContact {
  readonly contactId: string;
  /** True when this capture created the contact. */
  readonly created: boolean;
}

/** Thrown when identities keep changing under us; the message is retried by the queue. */
export class ContactResolutionConflict extends Error {
  override readonly name = 'ContactResolutionConflict';
}

const MAX_ATTEMPTS = 5;

/**
 * Finds or creates the one contact that owns the capture's identities (normalized email, E.164
 * phone). Identities are claimed with conditional writes in one transaction with the contact, so
 * two concurrent captures of one person can never create two contacts: the loser re-reads and joins.
 */
export async function resolveContact(
  doc: DynamoDBDocumentClient,
  tableName: string,
  details: ContactDetails,
  options: { newContactId: () => string; now: string },
): Promise<ResolvedContact> {
  const identities = identityKeys(details);
  if (identities.length === 0) throw new Error('A capture without email or phone cannot be resolved');

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const claims = await Promise.all(
      identities.map(async (identity) => {
        const { Item } = await doc.send(
          new GetCommand({ TableName: tableName, Key: keys.identity(identity), ConsistentRead: true }),
        );
        return { identity, contactId: Item?.contactId as string | undefined };
      }),
    );
    const owners = [...new Set(claims.flatMap((claim) => (claim.contactId ? [claim.contactId] : [])))];
    const unclaimed = claims.filter((claim) => !claim.contactId).map((claim) => claim.identity);

    // Identities of two different contacts: the strongest identity (email first) wins until merging
    // lands; the other identity stays with its contact and nothing is re-pointed.
    const contactId = owners[0] ?? options.newContactId();
    const created = owners.length === 0;
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
                      ConditionExpression: 'attribute_exists(pk)',
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
    return { contactId, created };
  }
  throw new ContactResolutionConflict(`Identities kept changing after ${MAX_ATTEMPTS} attempts`);
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
  return {
    UpdateExpression: `SET updatedAt = :now ADD ${additions.join(', ')}`,
    ExpressionAttributeValues: values,
  };
}

/** True when a transaction failed only because a condition lost a race (not throttling or errors). */
export function isConditionalConflict(error: TransactionCanceledException): boolean {
  const reasons = error.CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed');
}
