import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  assignmentSchema,
  captureEventSchema,
  type LeadflowConfig,
  leadFacts,
  type Notification,
  planDequeue,
  prioritySchema,
  type SlaRecord,
  slaRecordSchema,
  slaTimerFor,
  startSlaClock,
} from '@leadflow/core';
import { z } from 'zod';
import { isCancelledBy } from './config-store';
import { getProfile } from './contacts';
import { recordAnalytics } from './crm/analytics';
import { contactItem, interactionItem, keys, leadItem, managerLoadItem } from './items';
import { nextCursor, readLoads } from './leads';
import { table } from './resources';
import type { TimerScheduler } from './timers';

export interface DrainDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly config: LeadflowConfig;
  readonly enqueueNotifications: (notifications: readonly Notification[]) => Promise<void>;
  readonly clock?: () => Date;
  /** Leads looked at in one call at most; the rest wait for the next run. */
  readonly maxLeads?: number;
  /** The timers queue: a dequeued lead's owner gets a new SLA clock (none without it). */
  readonly timers?: TimerScheduler | undefined;
}

export interface DequeuedLead {
  readonly leadId: string;
  readonly contactId: string;
  readonly managerId: string;
  readonly waitedSeconds: number;
}

export interface DrainResult {
  readonly teamId: string;
  readonly assigned: readonly DequeuedLead[];
  /**
   * Leads passed over this time: being merged (the survivor's copy comes next time), taken by another run
   * meanwhile, or unreadable (logged by the caller from `unreadable`).
   */
  readonly skipped: number;
  /** Ids of queued items that are not leads as this code writes them; they never block the queue. */
  readonly unreadable: readonly string[];
  /** `empty`: the end of the queue was reached; `nobody_available`: a lead still has nobody; `limit`: more next run. */
  readonly stopped: 'empty' | 'nobody_available' | 'limit';
  /** Why nobody could take the lead that stopped the drain. */
  readonly reason?: string;
}

/** A lead as the queue's index returns it: what the dequeue plan and the alert need. */
const queuedItemSchema = z.object({
  pk: z.string(),
  sk: z.string(),
  leadId: z.string(),
  contactId: z.string(),
  teamId: z.string(),
  ownerId: z.string().optional(),
  queuedAt: z.string().optional(),
  /** Someone answered the lead while it waited (a team lead moved it on): its owner awaits no response. */
  firstResponseAt: z.string().optional(),
  assignment: assignmentSchema,
  capture: captureEventSchema,
  status: z.string().default('new'),
  priority: prioritySchema.optional(),
  acknowledgedAt: z.string().optional(),
  /** The clock of an earlier owner, if the lead had one (a new clock is its next generation). */
  sla: slaRecordSchema.optional(),
});
type QueuedItem = z.infer<typeof queuedItemSchema>;

const PAGE_SIZE = 25;
const DEFAULT_MAX_LEADS = 200;
/** Tries per lead when its contact changes under us (a new owner, a merge starting). */
const ATTEMPTS_PER_LEAD = 3;

/**
 * Assigns the leads waiting in a team's queue (the `QUEUE#<team>` partition of gsi1, oldest first; never
 * a scan) while someone can take them. For each lead the pure planner (`planDequeue` in core) picks the
 * manager, drawing the team's cursor once when it asks; then one transaction, conditioned on the lead
 * still waiting, gives the lead its owner, moves it to the owner's index partition, records the
 * assignment and a `dequeued` timeline entry, counts the manager's load and, unless a substitute took it,
 * sets the contact's owner. Then the owner's alert is queued, its id `<leadId>:dequeued:manager_alert`
 * keeping it one email. Stops at the first lead nobody can take. Safe to run concurrently with itself and
 * with the router: a lead another run took is skipped, and its drawn cursor value serves the next lead.
 */
export async function drainQueue(deps: DrainDeps, teamId: string): Promise<DrainResult> {
  const maxLeads = deps.maxLeads ?? DEFAULT_MAX_LEADS;
  const assigned: DequeuedLead[] = [];
  const unreadable: string[] = [];
  let skipped = 0;
  const result = (stopped: DrainResult['stopped'], reason?: string): DrainResult => ({
    teamId,
    assigned,
    skipped,
    unreadable,
    stopped,
    ...(reason === undefined ? {} : { reason }),
  });
  // Drawn but not consumed by a committed assignment (another run took its lead): the next lead uses it.
  const held = new Map<string, number>();
  let seen = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await deps.doc.send(
      new QueryCommand({
        TableName: deps.tableName,
        IndexName: table.globalSecondaryIndexes[0]?.indexName,
        ...leadItem.queue(teamId),
        ScanIndexForward: true,
        Limit: PAGE_SIZE,
        ExclusiveStartKey,
      }),
    );
    for (const raw of page.Items ?? []) {
      if (seen >= maxLeads) return result('limit');
      seen++;
      const item = queuedItemSchema.safeParse(raw);
      if (!item.success) {
        // One malformed item must not hold every lead behind it.
        unreadable.push(`${String(raw.pk)}/${String(raw.sk)}`);
        skipped++;
        continue;
      }
      const outcome = await dequeueOne(deps, teamId, item.data, held);
      if (outcome.kind === 'wait') return result('nobody_available', outcome.reason);
      if (outcome.kind === 'assigned') assigned.push(outcome.lead);
      else skipped++;
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return result('empty');
}

type Outcome =
  | { kind: 'assigned'; lead: DequeuedLead }
  | { kind: 'wait'; reason: string }
  | { kind: 'skipped' };

/** Plans and commits one queued lead, re-reading it when a race was lost. */
async function dequeueOne(
  deps: DrainDeps,
  teamId: string,
  first: QueuedItem,
  held: Map<string, number>,
): Promise<Outcome> {
  const { doc, tableName, config } = deps;
  let item: QueuedItem | undefined = first;
  for (let attempt = 1; item && attempt <= ATTEMPTS_PER_LEAD; attempt++) {
    // The index is eventually consistent: a lead assigned a moment ago may still be listed.
    if (item.ownerId !== undefined) return { kind: 'skipped' };
    const profile = await getProfile(doc, tableName, item.contactId);
    // Being merged: the merge moves the lead to the surviving contact, whose copy a later run finds.
    if (!profile || profile.mergedInto || profile.mergingInto) return { kind: 'skipped' };
    const now = (deps.clock ?? (() => new Date()))();
    const loads = await readLoads(doc, tableName, [...config.managers.keys()]);
    const input = {
      config,
      lead: {
        leadId: item.leadId,
        teamId: item.teamId,
        assignment: item.assignment,
        queuedAt: item.queuedAt,
      },
      contactOwnerId: profile.ownerId,
      loads,
      now,
    };
    let cursor: { teamId: string; value: number } | undefined;
    let plan = planDequeue(input);
    if (plan.kind === 'needs_cursor') {
      let value = held.get(plan.teamId);
      if (value === undefined) {
        value = await nextCursor(doc, tableName, plan.teamId);
        held.set(plan.teamId, value);
      }
      cursor = { teamId: plan.teamId, value };
      plan = planDequeue({ ...input, cursor });
    }
    if (plan.kind === 'needs_cursor')
      throw new Error(`The dequeue plan of ${item.leadId} kept asking for a cursor`);
    if (plan.kind === 'wait') return plan;

    // The owner's SLA clock starts now, with the lead.
    const sla = deps.timers
      ? startSlaClock({
          lead: {
            priority: item.priority ?? plan.record.priority ?? 'normal',
            teamId: plan.record.teamId,
            rule: plan.record.rule,
            ownerId: plan.managerId,
            status: item.status,
            acknowledgedAt: item.acknowledgedAt ?? item.firstResponseAt,
          },
          sla: config.sla,
          team: config.teams.get(plan.record.teamId),
          start: now,
          reason: 'dequeued',
          previous: item.sla,
          scale: deps.timers.timeScale,
        })
      : undefined;
    const committed = await commitDequeue(deps, teamId, item, plan.record, {
      now,
      previousOwner: profile.ownerId,
      contactOwnerId: plan.contactOwnerId,
      waitedSeconds: plan.waitedSeconds,
      sla,
    });
    if (!committed) {
      // Another run took the lead, or the contact changed (an owner set, a merge started): decide again.
      item = await readQueued(deps, teamId, item);
      continue;
    }
    if (cursor && plan.record.cursor === cursor.value) held.delete(cursor.teamId);
    // The analytics outside the transaction, as the router counts (a team's day item is written by every
    // router): a crash right after the commit undercounts the assignment by one. The alert goes either way.
    const lead = leadFacts({
      capturedAt: item.capture.receivedAt,
      teamId: plan.record.teamId,
      ownerId: plan.managerId,
      firstResponseAt: item.firstResponseAt,
      capture: item.capture,
    });
    const slaTimer = slaTimerFor(item, sla);
    const enqueued = deps.enqueueNotifications([
      {
        kind: 'manager_alert',
        notificationId: `${item.leadId}:dequeued:manager_alert`,
        leadId: item.leadId,
        contactId: item.contactId,
        capture: item.capture,
        assignment: plan.record,
        returning: Number((profile as { leadCount?: unknown }).leadCount ?? 1) > 1,
      },
    ]);
    await Promise.all([
      enqueued,
      // The clock's first timer beside the alert, never before it.
      slaTimer && deps.timers ? enqueued.then(() => deps.timers?.schedule([slaTimer])) : undefined,
      recordAnalytics(
        doc,
        tableName,
        [{ kind: 'assigned', lead, managerId: plan.managerId }],
        config.timeZone,
      ),
    ]);
    return {
      kind: 'assigned',
      lead: {
        leadId: item.leadId,
        contactId: item.contactId,
        managerId: plan.managerId,
        waitedSeconds: plan.waitedSeconds,
      },
    };
  }
  return { kind: 'skipped' };
}

/** The lead as it is now, if it still waits in this team's queue. */
async function readQueued(
  deps: DrainDeps,
  teamId: string,
  item: QueuedItem,
): Promise<QueuedItem | undefined> {
  const { Item } = await deps.doc.send(
    new GetCommand({ TableName: deps.tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
  );
  if (!Item || Item.ownerId !== undefined || Item.gsi1pk !== keys.queue(teamId)) return undefined;
  return queuedItemSchema.parse(Item);
}

/** The dequeue transaction; false when one of its conditions lost a race. */
async function commitDequeue(
  deps: DrainDeps,
  teamId: string,
  item: QueuedItem,
  record: Assignment,
  write: {
    now: Date;
    previousOwner?: string | undefined;
    contactOwnerId: string;
    waitedSeconds: number;
    sla?: SlaRecord | undefined;
  },
): Promise<boolean> {
  const { doc, tableName } = deps;
  const owner = record.ownerId as string;
  const now = write.now.toISOString();
  const interactionId = `${item.leadId}:dequeued`;
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              // The owner's index partition; gsi1sk (LEAD#<capturedAt>#<leadId>) keeps its place in time.
              ...leadItem.dequeued(item, { teamId, owner, record, now, sla: write.sla }),
            },
          },
          {
            Put: {
              TableName: tableName,
              ...interactionItem.put(
                interactionItem.system({
                  contactId: item.contactId,
                  occurredAt: now,
                  interactionId,
                  event: 'dequeued',
                  leadId: item.leadId,
                  assignment: record,
                  waitedSeconds: write.waitedSeconds,
                  summary: `Lead ${item.leadId} assigned to ${owner} from ${teamId}'s queue. ${record.reason}`,
                }),
              ),
            },
          },
          {
            Update: {
              TableName: tableName,
              ...managerLoadItem.assigned(owner, now),
            },
          },
          {
            Update: {
              TableName: tableName,
              // A substitute takes the lead and the contact keeps its owner; otherwise the contact gets this
              // owner, only from the one the plan was made with and before any merge has started.
              ...contactItem.leadDequeued({
                contactId: item.contactId,
                previousOwner: write.previousOwner,
                contactOwnerId: write.contactOwnerId,
                now,
              }),
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    // A condition lost a race, or a router was writing the same load or contact at that moment.
    if (isCancelledBy(error, 'ConditionalCheckFailed', 'TransactionConflict')) return false;
    throw error;
  }
}
