import { TransactionConflictException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type AnalyticsEvent,
  type AnalyticsReport,
  analyticsRange,
  planAnalyticsRead,
  type StatsItem,
  selectTeams,
  statsDeltas,
  summarize,
  type Viewer,
} from '@leadflow/core';
import { analyticsItem, analyticsItemSchema, parseItem } from '../items';
import type { DataContext } from './context';

export { type AnalyticsEvent, type LeadFacts, leadFacts } from '@leadflow/core';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * The analytics writes of `events` as transaction items, one `Update` per stats item (scope × capture day),
 * for a caller's own `TransactWriteItems`: the numbers then move exactly when the lead does. None of them
 * may be an item the caller's transaction already writes (DynamoDB allows one operation per item), and each
 * counts against the 100-item limit (a lead's events touch at most 3 items, 4 for a reassignment).
 */
export function analyticsUpdates(
  tableName: string,
  events: readonly AnalyticsEvent[],
  timeZone: string,
): TransactItem[] {
  return statsDeltas(events, timeZone).map((delta) => ({
    Update: { TableName: tableName, ...analyticsItem.update(delta) },
  }));
}

/** Tries of one plain update while a transaction holds its item. */
const CONFLICT_ATTEMPTS = 5;

/**
 * Applies `events` outside any transaction: one `UpdateCommand` per stats item, in parallel. A plain write
 * to an item a transaction holds fails with `TransactionConflictException`, which the SDK does not retry:
 * it is retried here after a short jittered pause. Not idempotent: a caller records once per change it
 * committed, and a crash between the commit and this write undercounts.
 */
export async function recordAnalytics(
  doc: DynamoDBDocumentClient,
  tableName: string,
  events: readonly AnalyticsEvent[],
  timeZone: string,
): Promise<void> {
  await Promise.all(
    statsDeltas(events, timeZone).map(async (delta) => {
      const command = new UpdateCommand({ TableName: tableName, ...analyticsItem.update(delta) });
      for (let attempt = 1; ; attempt++) {
        try {
          await doc.send(command);
          return;
        } catch (error) {
          if (!(error instanceof TransactionConflictException) || attempt >= CONFLICT_ATTEMPTS) throw error;
          await new Promise((done) => setTimeout(done, 2 ** attempt * 10 + Math.random() * 20));
        }
      }
    }),
  );
}

/** One scope's items from `from` to `to` (at most 366, usually a page or two). */
async function scopeDays(data: DataContext, scope: string, from: string, to: string): Promise<StatsItem[]> {
  const items: StatsItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await data.doc.send(
      new QueryCommand({
        TableName: data.tableName,
        ...analyticsItem.days(scope, from, to),
        ExclusiveStartKey,
      }),
    );
    for (const raw of page.Items ?? []) items.push(parseItem(analyticsItemSchema, raw));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/**
 * The analytics report a viewer may see (`GET /v1/analytics`): a manager their own numbers, a team lead
 * their teams' (plus their own), an admin everything or one team (`planAnalyticsRead` in core decides;
 * 403 for a team the team lead does not lead). `from`/`to` are business days (default: the last 30 days;
 * at most 366, else 422). One Query per scope over its day items; never a scan.
 */
export async function readAnalytics(
  data: DataContext,
  viewer: Viewer,
  query: {
    readonly from?: string | undefined;
    readonly to?: string | undefined;
    readonly team?: string | undefined;
  },
): Promise<AnalyticsReport> {
  const config = await data.config();
  const plan = planAnalyticsRead(viewer, query, config);
  const { from, to } = analyticsRange(query, data.clock(), config.timeZone);
  const items = await Promise.all(
    plan.reads.map(async (read) =>
      (await scopeDays(data, read.scope, from, to)).map((item) => selectTeams(item, read)),
    ),
  );
  return summarize(items.flat(), { from, to, managers: plan.managers, timeZone: config.timeZone });
}
