import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { interactionItem } from './items';

/** One entry of a contact's timeline: an interaction on any channel, or a system event such as a merge. */
export interface TimelineEntry {
  readonly interactionId: string;
  readonly occurredAt: string;
  readonly channel: string;
  readonly direction: string;
  readonly summary: string;
  readonly leadId?: string;
  readonly mode?: 'lead' | 'message';
}

/**
 * A contact's timeline in time order (the sort key starts with the ISO time), every channel together.
 * Pass `limit` for the newest entries first, as a lead view shows them.
 */
export async function getTimeline(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
  options: { newestFirst?: boolean; limit?: number } = {},
): Promise<TimelineEntry[]> {
  const entries: TimelineEntry[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        ...interactionItem.timeline(contactId),
        ProjectionExpression: 'interactionId, occurredAt, channel, direction, summary, leadId, #mode',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ScanIndexForward: !options.newestFirst,
        ...(options.limit ? { Limit: options.limit - entries.length } : {}),
        ExclusiveStartKey,
      }),
    );
    entries.push(...((page.Items ?? []) as TimelineEntry[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey && (!options.limit || entries.length < options.limit));
  return entries;
}
