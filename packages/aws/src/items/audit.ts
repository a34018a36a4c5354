import type { PutOp, QueryOp } from './operations';
import { keys } from './schema';

/** The audit trail: one item per change, in its month's partition, written once. */
export const auditItem = {
  put: (entry: { at: string; auditId: string } & Record<string, unknown>): PutOp => ({
    Item: { ...keys.audit(entry.at, entry.auditId), type: 'audit', ...entry },
    ConditionExpression: 'attribute_not_exists(pk)',
  }),
  /** One month's entries, optionally only those before a sort key (newest first is the query's order). */
  month: (month: string, before?: string): QueryOp => ({
    KeyConditionExpression: before === undefined ? 'pk = :pk' : 'pk = :pk AND sk < :before',
    ExpressionAttributeValues: {
      ':pk': keys.auditMonth(month),
      ...(before === undefined ? {} : { ':before': before }),
    },
  }),
};
