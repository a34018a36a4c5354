import { assignmentSchema, captureEventSchema, slaRecordSchema } from '@leadflow/core';
import { z } from 'zod';

/**
 * The single-table items: every key builder and the zod schema each read is parsed with, in one module, so
 * no other file spells a key or trusts an unchecked item.
 *
 * Single-table key design. Every item has `pk`/`sk`; manager-facing listings use `gsi1`.
 *
 * | entity      | pk                         | sk                         | gsi1pk          | gsi1sk              |
 * |-------------|----------------------------|----------------------------|-----------------|---------------------|
 * | submission  | SUB#<idempotency hash>     | SUB                        |                 |                     |
 * | identity    | IDENT#<email:…/phone:…>    | IDENT                      |                 |                     |
 * | contact     | CONTACT#<contactId>        | PROFILE                    | OWNER#<manager> | CONTACT#<createdAt> |
 * | lead        | CONTACT#<contactId>        | LEAD#<leadId>              | OWNER#<manager> | LEAD#<createdAt>    |
 * | interaction | CONTACT#<contactId>        | TL#<occurredAt>#<id>       |                 |                     |
 * | rr cursor   | TEAM#<teamId>              | CURSOR                     |                 |                     |
 * | counters    | STATS#<dimension>          | DAY#<yyyy-mm-dd>           |                 |                     |
 * | send ledger | NOTIFY#<function>          | <hash of notification id>  |                 |                     |
 * | lead queued | CONTACT#<contactId>        | LEAD#<leadId>              | QUEUE#<team>    | LEAD#<capturedAt>   |
 * | mgr load    | MANAGER#<managerId>        | LOAD                       |                 |                     |
 * | alert prefs | MANAGER#<managerId>        | PREFS                      |                 |                     |
 * | link use    | LINK#<sha256 of the token> | USE                        |                 |                     |
 * | rate window | RATE#<scope>#<client key>  | MIN#<window start, epoch s>|                 |                     |
 * | ack mailbox | ACK#MAILBOX#<hash>         | ACK                        |                 |                     |
 * | ack domain  | ACK#DOMAIN#<form>#<domain> | HOUR#<yyyy-mm-ddThh>       |                 |                     |
 * | merge       | MERGE#<mergeId>            | RECORD                     |                 |                     |
 * | config      | CONFIG#routing             | CURRENT                    |                 |                     |
 * | config hist | CONFIG#routing             | V#<version, 10 digits>     |                 |                     |
 * | task        | CONTACT#<contactId>        | TASK#<taskId>              | OWNER#<assignee>| TASK#<dueAt>#<id>   |
 * | audit       | AUDIT#<yyyy-mm>            | <at>#<id>                  |                 |                     |
 * | segment     | SEGMENTS                   | SEGMENT#<segmentId>        |                 |                     |
 * | analytics   | ANALYTICS#<ALL|TEAM#t|MANAGER#m> | DAY#<business day>   |                 |                     |
 *
 * Further indexes (see resources.ts):
 * - gsi2: a lead under `TEAM#<teamId>` / `LEAD#<capturedAt>#<leadId>` (a team lead's and admin's listings);
 *   a contact profile under `CONTACTS` / `CONTACT#<createdAt>#<contactId>`.
 * - gsi3: a lead under `LEADID#<leadId>` / `LEAD`, a task under `TASKID#<taskId>` / `TASK`: reads by id,
 *   wherever the contact's partition is (a merge moves them); a stored submission under `SUBID#<submissionId>`
 *   (its own key is a hash of the request: erase finds it by the capture's id).
 * - gsi4: an open lead under `OPEN#<teamId>` / `<touchedAt>#<leadId>` (removed when it closes: stale leads);
 *   a contact under `HYGIENE#<problem>` / `<at>#<contactId>` (undeliverable addresses, duplicates).
 *
 * The routing configuration (teams, managers, rules, scoring) lives in `CONFIG#routing`: `CURRENT` is the
 * one routing reads, and every accepted change also writes its version as `V#…`, the change history.
 */
export const keys = {
  submission: (idempotencyHash: string) => ({ pk: `SUB#${idempotencyHash}`, sk: 'SUB' }),
  identity: (identity: string) => ({ pk: `IDENT#${identity}`, sk: 'IDENT' }),
  contact: (contactId: string) => ({ pk: `CONTACT#${contactId}`, sk: 'PROFILE' }),
  lead: (contactId: string, leadId: string) => ({ pk: `CONTACT#${contactId}`, sk: `LEAD#${leadId}` }),
  interaction: (contactId: string, occurredAt: string, interactionId: string) => ({
    pk: `CONTACT#${contactId}`,
    sk: `TL#${occurredAt}#${interactionId}`,
  }),
  cursor: (teamId: string) => ({ pk: `TEAM#${teamId}`, sk: 'CURSOR' }),
  stats: (dimension: string, day: string) => ({ pk: `STATS#${dimension}`, sk: `DAY#${day}` }),
  owner: (managerId: string) => `OWNER#${managerId}`,
  /** gsi1 sort keys: a manager's (or a queue's) leads by capture time, their contacts by creation time. */
  leadIndexSk: (capturedAt: string, leadId: string) => `LEAD#${capturedAt}#${leadId}`,
  contactIndexSk: (createdAt: string) => `CONTACT#${createdAt}`,
  /** The sort-key prefix of a contact's timeline entries. */
  timelinePrefix: 'TL#',
  /** Dimensions of the daily counters. */
  channelStats: (channel: string) => `CHANNEL#${channel}`,
  formStats: (formId: string) => `FORM#${formId}`,
  widgetStats: (widgetId: string) => `WIDGET#${widgetId}`,
  /** The gsi1 partition of a team's queue of leads waiting for an available manager. */
  queue: (teamId: string) => `QUEUE#${teamId}`,
  /** A manager's open-lead count and last assignment, maintained on write. */
  managerLoad: (managerId: string) => ({ pk: `MANAGER#${managerId}`, sk: 'LOAD' }),
  /** One client's requests to one form or widget in one minute (the client key is an IP or an IPv6 /64). */
  rate: (scope: string, client: string, windowStart: number) => ({
    pk: `RATE#${scope}#${client}`,
    sk: `MIN#${windowStart}`,
  }),
  /** What one merge of two contacts moved, so it can be undone. */
  merge: (mergeId: string) => ({ pk: `MERGE#${mergeId}`, sk: 'RECORD' as const }),
  /** The last acknowledgement sent to a mailbox (hashed: the key names no address). */
  ackMailbox: (mailboxHash: string) => ({ pk: `ACK#MAILBOX#${mailboxHash}`, sk: 'ACK' }),
  /** Acknowledgements one form sent to one recipient domain in one hour. */
  ackDomain: (formId: string, domain: string, hour: string) => ({
    pk: `ACK#DOMAIN#${formId}#${domain}`,
    sk: `HOUR#${hour}`,
  }),
  /** gsi2: a team's leads by capture time. */
  team: (teamId: string) => `TEAM#${teamId}`,
  /** gsi2: every contact profile, by creation time. */
  contacts: 'CONTACTS',
  contactsIndexSk: (createdAt: string, contactId: string) => `CONTACT#${createdAt}#${contactId}`,
  /** gsi3: a lead by its id alone. */
  leadRef: (leadId: string) => ({ gsi3pk: `LEADID#${leadId}`, gsi3sk: 'LEAD' }),
  /** gsi3: a task by its id alone. */
  taskRef: (taskId: string) => ({ gsi3pk: `TASKID#${taskId}`, gsi3sk: 'TASK' }),
  /** gsi4: a team's open leads by last touch. */
  open: (teamId: string) => `OPEN#${teamId}`,
  openSk: (touchedAt: string, leadId: string) => `${touchedAt}#${leadId}`,
  /** gsi4: contacts with a hygiene problem (`undeliverable`, `duplicates`). */
  hygiene: (problem: string) => `HYGIENE#${problem}`,
  /** A task on a lead, in its contact's partition. */
  task: (contactId: string, taskId: string) => ({ pk: `CONTACT#${contactId}`, sk: `TASK#${taskId}` }),
  taskIndexSk: (dueAt: string, taskId: string) => `TASK#${dueAt}#${taskId}`,
  /** The audit trail, one partition per month, newest first by sort key. */
  audit: (at: string, auditId: string) => ({ pk: `AUDIT#${at.slice(0, 7)}`, sk: `${at}#${auditId}` }),
  auditMonth: (month: string) => `AUDIT#${month}`,
  /** A saved contact filter. */
  segment: (segmentId: string) => ({ pk: 'SEGMENTS', sk: `SEGMENT#${segmentId}` }),
  segmentPartition: 'SEGMENTS',
  /**
   * The runtime routing configuration: `CURRENT` without a version, else that version's history item
   * (zero-padded, so the history sorts by version).
   */
  config: (version?: number) => ({
    pk: 'CONFIG#routing',
    sk: version === undefined ? 'CURRENT' : `V#${String(version).padStart(10, '0')}`,
  }),
} as const;

/** The UTC day of an ISO timestamp, for daily counters. */
export function dayOf(iso: string): string {
  return iso.slice(0, 10);
}

const key = { pk: z.string(), sk: z.string() };

/** A contact's profile. Sets come back from DynamoDB as `Set`s; every list is optional on old items. */
export const profileItemSchema = z.looseObject({
  ...key,
  contactId: z.string(),
  createdAt: z.string(),
  ownerId: z.string().optional(),
  mergedInto: z.string().optional(),
  mergingInto: z.string().optional(),
  mergingAt: z.string().optional(),
  pendingMerges: z.set(z.string()).optional(),
  identities: z.set(z.string()).optional(),
  emails: z.set(z.string()).optional(),
  phones: z.set(z.string()).optional(),
  conversations: z
    .record(z.string(), z.object({ leadId: z.string(), lastAt: z.string(), ownerId: z.string().optional() }))
    .optional(),
  lastAcknowledgedAt: z.string().optional(),
  lastLeadAt: z.string().optional(),
  verifiedIdentities: z.set(z.string()).optional(),
  duplicateOf: z.string().optional(),
  possibleDuplicates: z.set(z.string()).optional(),
  separatedFrom: z.set(z.string()).optional(),
});

/** An identity claim: the contact it points to, and whether a provider vouched for it. */
export const identityItemSchema = z.looseObject({
  ...key,
  contactId: z.string(),
  provenance: z.enum(['verified', 'claimed']).optional(),
  firstCaptureId: z.string().optional(),
  firstSeenAt: z.string().optional(),
});

/** A lead: its owner (absent while queued), where routing sent it, and the capture that opened it. */
export const leadItemSchema = z.looseObject({
  ...key,
  leadId: z.string(),
  contactId: z.string(),
  status: z.string(),
  teamId: z.string(),
  ownerId: z.string().optional(),
  assignment: assignmentSchema,
  capturedAt: z.string(),
  capture: captureEventSchema,
  channel: z.string().optional(),
  sourceId: z.string().optional(),
  priority: z.string().default('normal'),
  tags: z.array(z.string()).default([]),
  score: z.coerce.number().default(0),
  /** Optimistic concurrency: every change by a person bumps it; the API's ETag. Old items are version 1. */
  version: z.coerce.number().int().positive().default(1),
  touchedAt: z.string().optional(),
  contactedAt: z.string().optional(),
  qualifiedAt: z.string().optional(),
  proposalAt: z.string().optional(),
  wonAt: z.string().optional(),
  lostAt: z.string().optional(),
  closedAt: z.string().optional(),
  lostReason: z.string().optional(),
  amount: z.coerce.number().optional(),
  currency: z.string().optional(),
  acknowledgedAt: z.string().optional(),
  acknowledgedBy: z.string().optional(),
  firstResponseAt: z.string().optional(),
  firstResponseBy: z.string().optional(),
  firstResponseVia: z.enum(['acknowledged', 'contacted']).optional(),
  speedToLeadMs: z.coerce.number().optional(),
  erasedAt: z.string().optional(),
  /** The first-response SLA clock (core `slaRecordSchema`); absent: none runs. */
  sla: slaRecordSchema.optional(),
});
export type LeadItem = z.infer<typeof leadItemSchema>;

/** A task on a lead. */
export const taskItemSchema = z.looseObject({
  ...key,
  taskId: z.string(),
  leadId: z.string(),
  contactId: z.string(),
  teamId: z.string().optional(),
  ownerId: z.string().optional(),
  taskType: z.enum(['call', 'meeting', 'email']),
  dueAt: z.string(),
  assigneeId: z.string(),
  title: z.string().optional(),
  notes: z.string().optional(),
  status: z.enum(['open', 'done']),
  createdAt: z.string(),
  createdBy: z.string(),
  doneAt: z.string().optional(),
  doneBy: z.string().optional(),
  version: z.coerce.number().int().positive().default(1),
});
export type TaskItem = z.infer<typeof taskItemSchema>;

const notifySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(['manager_alert', 'message_alert', 'acknowledgement']) }),
  z.object({
    kind: z.literal('team_warning'),
    recipientId: z.string(),
    warning: z.enum(['queued', 'fallback']),
  }),
]);

/** A routed capture's timeline entry: what it became, as a redelivery re-reads it. */
export const interactionItemSchema = z.looseObject({
  ...key,
  interactionId: z.string(),
  leadId: z.string(),
  mode: z.enum(['lead', 'message']).default('lead'),
  assignment: assignmentSchema,
  acknowledge: z.boolean().default(false),
  notify: z.array(notifySchema).optional(),
});

export const cursorItemSchema = z.looseObject({ ...key, position: z.coerce.number().int().nonnegative() });

export const managerLoadItemSchema = z.looseObject({
  ...key,
  managerId: z.string(),
  openLeads: z.coerce.number().int().default(0),
  lastAssignedAt: z.string().optional(),
});

/** Parses an item read from the table; a malformed item is an error that names the key, never a cast. */
export function parseItem<T extends z.ZodType>(schema: T, item: unknown): z.infer<T> {
  const parsed = schema.safeParse(item);
  if (parsed.success) return parsed.data;
  const where =
    item && typeof item === 'object'
      ? `${String((item as { pk?: unknown }).pk)} ${String((item as { sk?: unknown }).sk)}`
      : '?';
  throw new Error(`Malformed item ${where}: ${z.prettifyError(parsed.error)}`);
}
