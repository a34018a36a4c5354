import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { RoleForbiddenError, type Viewer } from '@leadflow/core';
import { z } from 'zod';
import { auditItem } from '../items';
import { actorOf, type DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';

/** What the audit trail records: configuration, assignments, merges, erasures, availability. */
export const AUDIT_ACTIONS = [
  'config.changed',
  'manager.changed',
  'availability.changed',
  'lead.assigned',
  'contact.merged',
  'merge.undone',
  'contact.erased',
  'contact.exported',
  'segment.changed',
  'webhook.created',
  'webhook.deleted',
  'webhook.disabled',
  'webhook.replayed',
  'integration.disabled',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  readonly auditId: string;
  readonly at: string;
  /** Who: a manager id or a username, never an email or phone of a customer. */
  readonly actor: string;
  readonly role: Viewer['role'] | 'system';
  readonly action: AuditAction;
  /** What it was done to: `lead:<id>`, `contact:<id>`, `config:v<version>`, `manager:<id>`… */
  readonly target: string;
  /** One line without PII. */
  readonly summary: string;
  readonly details?: Record<string, unknown> | undefined;
}

const entrySchema = z.looseObject({
  auditId: z.string(),
  at: z.string(),
  actor: z.string(),
  role: z.string(),
  action: z.string(),
  target: z.string(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const cursorSchema = z.object({ month: z.string().regex(/^\d{4}-\d{2}$/), sk: z.string() });

/** Months the trail is read back through before a page is declared the last (about ten years). */
const MONTHS_BACK = 120;

/** The audit trail: who changed what. Entries are written once and never contain customer PII. */
export class AuditLog {
  constructor(private readonly data: DataContext) {}

  /** The item to write in the same transaction as the change it records. */
  entry(
    viewer: Viewer | 'system',
    action: AuditAction,
    target: string,
    summary: string,
    details?: Record<string, unknown>,
  ) {
    const at = this.data.clock().toISOString();
    const entry: AuditEntry = {
      auditId: this.data.newId(),
      at,
      actor: viewer === 'system' ? 'system' : actorOf(viewer),
      role: viewer === 'system' ? 'system' : viewer.role,
      action,
      target,
      summary,
      ...(details ? { details } : {}),
    };
    return { entry, put: { TableName: this.data.tableName, ...auditItem.put({ ...entry }) } };
  }

  /** Records a change on its own (when it is not part of a transaction). */
  async record(...args: Parameters<AuditLog['entry']>): Promise<AuditEntry> {
    const { entry, put } = this.entry(...args);
    await this.data.doc.send(new PutCommand(put));
    return entry;
  }

  /** Newest first, admins only; `action` and `target` filter the page. */
  async list(
    viewer: Viewer,
    options: {
      limit: number;
      cursor?: string | undefined;
      action?: string | undefined;
      target?: string | undefined;
    },
  ): Promise<Page<AuditEntry>> {
    if (viewer.role !== 'admin') throw new RoleForbiddenError('The audit trail is for admins.');
    const start = decodeCursor(options.cursor, cursorSchema);
    const items: AuditEntry[] = [];
    let month = start?.month ?? this.data.clock().toISOString().slice(0, 7);
    let before = start?.sk;
    for (let step = 0; step < MONTHS_BACK && items.length < options.limit; step++) {
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const result = await this.data.doc.send(
          new QueryCommand({
            TableName: this.data.tableName,
            ...auditItem.month(month, before),
            ScanIndexForward: false,
            Limit: options.limit * 2,
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        );
        for (const raw of result.Items ?? []) {
          const entry = entrySchema.parse(raw) as unknown as AuditEntry & { sk: string };
          before = String((raw as { sk: string }).sk);
          if (options.action && entry.action !== options.action) continue;
          if (options.target && entry.target !== options.target) continue;
          items.push({
            auditId: entry.auditId,
            at: entry.at,
            actor: entry.actor,
            role: entry.role,
            action: entry.action,
            target: entry.target,
            summary: entry.summary,
            ...(entry.details ? { details: entry.details } : {}),
          });
          if (items.length === options.limit) {
            return { items, nextCursor: encodeCursor({ month, sk: before }) };
          }
        }
        exclusiveStartKey = result.LastEvaluatedKey;
      } while (exclusiveStartKey);
      month = previousMonth(month);
      before = undefined;
    }
    return { items };
  }
}

function previousMonth(month: string): string {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${year - 1}-12` : `${year}-${String(m - 1).padStart(2, '0')}`;
}
