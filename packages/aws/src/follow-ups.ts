import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  followUpItem,
  interactionItem,
  parseItem,
  type SuppressionReason,
  suppressionItem,
  suppressionItemSchema,
} from './items';

/** At most this many merge hops are followed to a contact's survivor. */
const MAX_HOPS = 10;

/**
 * The suppression list: addresses that bounced permanently or complained. Every send to a lead's address
 * (acknowledgements included) asks it first; the bounce and complaint handler adds to it.
 */
export class SuppressionList {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The address's entry, if it is suppressed. */
  async find(address: string): Promise<{ reason: SuppressionReason; since: string } | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: suppressionItem.key(address), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const item = parseItem(suppressionItemSchema, Item);
    return { reason: item.reason, since: item.since };
  }

  async isSuppressed(address: string): Promise<boolean> {
    return (await this.find(address)) !== undefined;
  }

  /** Suppresses an address from now on (again: the first report's time is kept). */
  async suppress(address: string, input: { reason: SuppressionReason; at: string }): Promise<void> {
    await this.doc.send(
      new UpdateCommand({ TableName: this.tableName, ...suppressionItem.suppressed(address, input) }),
    );
  }
}

/**
 * The newest inbound interaction (any channel, a new lead or a message) of a contact after `after`, other
 * than `except` (the lead's own capture): what tells a follow-up that the person wrote again.
 */
export async function latestInboundAfter(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
  after: string,
  except: string,
): Promise<string | undefined> {
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        ...followUpItem.inboundAfter(contactId, after, except),
        ScanIndexForward: false,
        ProjectionExpression: 'occurredAt',
        ExclusiveStartKey,
      }),
    );
    const found = page.Items?.find((item) => typeof item.occurredAt === 'string');
    if (found) return found.occurredAt as string;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return undefined;
}

/**
 * Puts a timeline entry once (its id decides); false when it was there already (a repeat does nothing).
 */
export async function putTimelineEntryOnce(
  doc: DynamoDBDocumentClient,
  tableName: string,
  entry: Parameters<typeof interactionItem.system>[0],
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({ TableName: tableName, ...interactionItem.put(interactionItem.system(entry)) }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** What an unsubscribe did: the contact it was recorded on, and whether it already was. */
export type UnsubscribeResult =
  | { readonly outcome: 'unsubscribed' | 'already'; readonly contactId: string; readonly at: string }
  /** No such contact any more (erased, or gone): nobody gets mail, so there is nothing to stop. */
  | { readonly outcome: 'gone' };

/**
 * Unsubscribes a contact from all subscription mail, at once: `unsubscribedAt` on the live contact (a merged
 * one is followed to its survivor) and an `unsubscribed` timeline entry. Repeating it changes nothing.
 */
export async function unsubscribeContact(
  data: { readonly doc: DynamoDBDocumentClient; readonly tableName: string; readonly clock: () => Date },
  contactId: string,
  via: 'one_click' | 'page',
): Promise<UnsubscribeResult> {
  const { doc, tableName } = data;
  let id = contactId;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const at = data.clock().toISOString();
    try {
      const { Attributes } = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          ...followUpItem.unsubscribed(id, at),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const since = String(Attributes?.unsubscribedAt ?? at);
      const already = since !== at;
      if (!already) {
        await putTimelineEntryOnce(doc, tableName, {
          contactId: id,
          occurredAt: since,
          interactionId: `unsubscribed:${id}`,
          event: 'unsubscribed',
          via,
          summary:
            via === 'one_click'
              ? 'Unsubscribed from follow-ups with the one-click link (RFC 8058): no more subscription mail'
              : 'Unsubscribed from follow-ups on the unsubscribe page: no more subscription mail',
        });
      }
      return { outcome: already ? 'already' : 'unsubscribed', contactId: id, at: since };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Merged (or being merged) into another contact: unsubscribe that one; erased or gone: nobody.
      const { Item } = await doc.send(
        new GetCommand({
          TableName: tableName,
          Key: followUpItem.unsubscribed(id, at).Key,
          ConsistentRead: true,
        }),
      );
      const next = Item?.mergedInto ?? Item?.mergingInto;
      if (!Item || Item.erasedAt !== undefined || typeof next !== 'string') return { outcome: 'gone' };
      if (Item.mergingInto !== undefined && Item.mergedInto === undefined) {
        // Mid-merge: the survivor receives the profile's flags when it completes; wait a moment for it.
        await new Promise((done) => setTimeout(done, 50));
      }
      id = next;
    }
  }
  return { outcome: 'gone' };
}
