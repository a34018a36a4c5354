import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  ConflictError,
  canLead,
  canSeeLead,
  etagOf,
  ifMatchHolds,
  type LeadflowConfig,
  leadScope,
  ledManagers,
  type NewTask,
  NotFoundError,
  type Notification,
  type PRIORITIES,
  PreconditionFailedError,
  planAcknowledge,
  planReassignment,
  planStageChange,
  prioritySchema,
  RoleForbiddenError,
  type SlaRecord,
  type Stage,
  type StageChange,
  slaTimerFor,
  startSlaClock,
  stopSlaClock,
  type TaskPatch,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import { z } from 'zod';
import {
  contactItem,
  crmLeadItem,
  interactionItem,
  type Key,
  keys,
  type LeadItem,
  leadItemSchema,
  managerLoadItem,
  managerReleased,
  parseItem,
  type TaskItem,
  taskItem,
  taskItemSchema,
} from '../items';
import { nextCursor, readLoads } from '../leads';
import { scheduleTaskTimers } from '../timers/task';
import { type AnalyticsEvent, analyticsUpdates, leadFacts } from './analytics';
import { AuditLog } from './audit';
import { actorOf, type DataContext } from './context';
import { decodeCursor, encodeCursor, type Page } from './pages';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** What a lead listing can be narrowed by. */
export interface LeadQuery {
  readonly status?: readonly string[] | undefined;
  readonly channel?: readonly string[] | undefined;
  readonly priority?: readonly string[] | undefined;
  readonly tag?: string | undefined;
  /** Capture time bounds, ISO. */
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** A manager id (team leads and admins). */
  readonly owner?: string | undefined;
  /** `newest` (default) or `priority` (urgent first, newest first within a priority). */
  readonly sort?: 'newest' | 'priority' | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** A lead as the API shows it. */
export type LeadView = ReturnType<typeof leadView>;

/** A timeline entry as the API shows it. */
export interface TimelineView {
  readonly id: string;
  readonly at: string;
  readonly leadId?: string | undefined;
  readonly kind: string;
  readonly channel?: string | undefined;
  readonly actor?: string | undefined;
  readonly summary?: string | undefined;
  readonly [detail: string]: unknown;
}

const cursorSchema = z.object({ sk: z.string(), p: z.number().int().min(0).max(3).optional() });

/** A lead's public shape: everything but index keys and internal bookkeeping. */
export function leadView(item: LeadItem) {
  const { capture } = item;
  return {
    leadId: item.leadId,
    contactId: item.contactId,
    status: item.status as Stage,
    channel: item.channel ?? capture.channel,
    sourceId: item.sourceId ?? capture.sourceId,
    teamId: item.teamId,
    ownerId: item.ownerId,
    priority: item.priority,
    score: item.score,
    tags: item.tags,
    capturedAt: item.capturedAt,
    touchedAt: item.touchedAt ?? item.capturedAt,
    version: item.version,
    etag: etagOf(item.version),
    assignment: {
      rule: item.assignment.rule,
      strategy: item.assignment.strategy,
      reason: item.assignment.reason,
    },
    funnel: {
      contactedAt: item.contactedAt,
      qualifiedAt: item.qualifiedAt,
      proposalAt: item.proposalAt,
      wonAt: item.wonAt,
      lostAt: item.lostAt,
      closedAt: item.closedAt,
      lostReason: item.lostReason,
      amount: item.amount,
      currency: item.currency,
    },
    firstResponse: item.firstResponseAt
      ? {
          at: item.firstResponseAt,
          by: item.firstResponseBy,
          via: item.firstResponseVia,
          speedToLeadMs: item.speedToLeadMs,
        }
      : undefined,
    acknowledged: item.acknowledgedAt ? { at: item.acknowledgedAt, by: item.acknowledgedBy } : undefined,
    /** The first-response SLA clock: its deadline, how far it escalated, and what stopped it. */
    sla: item.sla,
    capture: {
      name: capture.contact.name,
      email: capture.contact.email,
      phone: capture.contact.phone,
      phoneExtension: capture.contact.phoneExtension,
      message: capture.message,
      language: capture.language,
      urgent: capture.urgent,
      consent: capture.consent,
      answers: capture.answers,
      utm: capture.source.utm,
      pageUrl: capture.source.pageUrl,
      referrer: capture.source.referrer,
      subject: capture.email?.subject,
      call: capture.call
        ? {
            status: capture.call.status,
            missed: capture.call.missed,
            durationSeconds: capture.call.durationSeconds,
          }
        : undefined,
    },
    erasedAt: item.erasedAt,
  };
}

/** A timeline item's public shape (index keys and routing internals left out). */
export function timelineView(item: Record<string, unknown>): TimelineView {
  const {
    pk: _pk,
    sk,
    gsi1pk: _a,
    gsi1sk: _b,
    type: _type,
    assignment: _assignment,
    notify: _notify,
    mergeUndo: _undo,
    ...rest
  } = item;
  const at = typeof rest.occurredAt === 'string' ? rest.occurredAt : String(sk).slice(3, 27);
  return {
    ...rest,
    id: String(rest.interactionId ?? sk),
    at,
    kind: typeof rest.event === 'string' ? rest.event : 'interaction',
  } as TimelineView;
}

/**
 * The managers' access to leads, always through a viewer: listings read only the index partitions the
 * viewer's scope names (`leadScope`), and every read by id is checked with `canSeeLead`; a lead the viewer
 * may not see is `NotFoundError`, exactly like one that does not exist.
 */
export class LeadRepository {
  private readonly audit: AuditLog;

  constructor(private readonly data: DataContext) {
    this.audit = new AuditLog(data);
  }

  /** The viewer's leads, newest (or most urgent) first. */
  async list(viewer: Viewer, query: LeadQuery): Promise<Page<LeadView>> {
    const config = await this.data.config();
    const partitions = this.partitionsFor(viewer, query.owner, config);
    const start = decodeCursor(query.cursor, cursorSchema);
    const filterBase = {
      status: query.status,
      channel: query.channel,
      priority: query.priority,
      tag: query.tag,
    };
    const seen = new Set<string>();
    const items: LeadView[] = [];
    if (query.sort === 'priority') {
      // One pass per priority, most urgent first; within a priority, newest first.
      for (let p = start?.p ?? 0; p < PRIORITIES_BY_URGENCY.length; p++) {
        const priority = PRIORITIES_BY_URGENCY[p] as string;
        if (query.priority && !query.priority.includes(priority)) continue;
        const before = p === start?.p ? start.sk : undefined;
        const page = await this.merged(
          viewer,
          config,
          partitions,
          { ...filterBase, priority: [priority] },
          query,
          before,
          query.limit - items.length,
          seen,
        );
        items.push(...page.items);
        if (items.length >= query.limit) {
          return {
            items,
            ...(page.more || p < 3 ? { nextCursor: encodeCursor({ sk: page.lastSk, p }) } : {}),
          };
        }
      }
      return { items };
    }
    const page = await this.merged(
      viewer,
      config,
      partitions,
      filterBase,
      query,
      start?.sk,
      query.limit,
      seen,
    );
    items.push(...page.items);
    return { items, ...(page.more ? { nextCursor: encodeCursor({ sk: page.lastSk }) } : {}) };
  }

  /** The index partitions a viewer's listing reads: never more than their scope. */
  private partitionsFor(viewer: Viewer, owner: string | undefined, config: LeadflowConfig) {
    const scope = leadScope(viewer);
    if (owner !== undefined) {
      if (scope.kind === 'owner' && owner !== scope.managerId) {
        throw new RoleForbiddenError(
          'A manager lists only their own leads; owner is for team leads and admins.',
        );
      }
      if (scope.kind === 'teams' && owner !== viewer.managerId && !ledManagers(viewer, config).has(owner)) {
        throw new RoleForbiddenError(`${owner} is not a manager of a team you lead.`);
      }
      return [{ index: 'gsi1' as const, partition: keys.owner(owner) }];
    }
    if (scope.kind === 'owner') return [{ index: 'gsi1' as const, partition: keys.owner(scope.managerId) }];
    const teams = scope.kind === 'all' ? [...config.teams.keys()] : scope.teams;
    return [
      ...teams.map((teamId) => ({ index: 'gsi2' as const, partition: keys.team(teamId) })),
      // A team lead's own leads may sit in a team they do not lead.
      ...(scope.kind === 'teams' && scope.managerId
        ? [{ index: 'gsi1' as const, partition: keys.owner(scope.managerId) }]
        : []),
    ];
  }

  /**
   * Up to `limit` leads across partitions, newest first, below `before`: each partition yields at most
   * `limit` matches (so the global first `limit` are among them), merged by sort key.
   */
  private async merged(
    viewer: Viewer,
    config: LeadflowConfig,
    partitions: readonly { index: 'gsi1' | 'gsi2'; partition: string }[],
    filter: Parameters<typeof crmLeadItem.filter>[0],
    query: LeadQuery,
    before: string | undefined,
    limit: number,
    seen: Set<string>,
  ): Promise<{ items: LeadView[]; more: boolean; lastSk: string }> {
    const { FilterExpression, ExpressionAttributeNames, values } = crmLeadItem.filter(filter);
    const results = await Promise.all(
      partitions.map(async ({ index, partition }) => {
        const op = crmLeadItem.list({ index, partition, from: query.from, to: query.to, before });
        const found: { sk: string; item: LeadItem }[] = [];
        let exclusiveStartKey: Record<string, unknown> | undefined;
        let exhausted = false;
        while (found.length < limit) {
          const result = await this.data.doc.send(
            new QueryCommand({
              TableName: this.data.tableName,
              IndexName: index,
              ...op,
              ...(FilterExpression ? { FilterExpression } : {}),
              ExpressionAttributeNames: { ...op.ExpressionAttributeNames, ...ExpressionAttributeNames },
              ExpressionAttributeValues: { ...op.ExpressionAttributeValues, ...values },
              ScanIndexForward: false,
              Limit: Math.max(limit, 25),
              ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
            }),
          );
          for (const raw of result.Items ?? []) {
            const sk = String(raw[`${index}sk`]);
            // The key condition's bound is inclusive: the cursor's own item was on the previous page.
            if (before !== undefined && sk >= before) continue;
            found.push({ sk, item: parseItem(leadItemSchema, raw) });
          }
          exclusiveStartKey = result.LastEvaluatedKey;
          if (!exclusiveStartKey) {
            exhausted = true;
            break;
          }
        }
        return { found, exhausted };
      }),
    );
    const all = results
      .flatMap((result) => result.found)
      .sort((a, b) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0));
    const items: LeadView[] = [];
    let lastSk = before ?? '';
    let taken = 0;
    for (const entry of all) {
      if (items.length >= limit) break;
      taken++;
      lastSk = entry.sk;
      if (seen.has(entry.item.leadId)) continue;
      seen.add(entry.item.leadId);
      // The index reached only the viewer's partitions; the check on each item holds it so regardless.
      if (!canSeeLead(viewer, entry.item, config)) continue;
      items.push(leadView(entry.item));
    }
    const more = taken < all.length || results.some((result) => !result.exhausted);
    return { items, more, lastSk };
  }

  /** A lead by id as stored, if the viewer may see it; otherwise `NotFoundError`. */
  async read(viewer: Viewer, leadId: string): Promise<{ item: LeadItem; config: LeadflowConfig }> {
    const config = await this.data.config();
    const item = await this.find(leadId);
    if (!item || !canSeeLead(viewer, item, config)) throw new NotFoundError(`No lead ${leadId}.`);
    return { item, config };
  }

  /** Finds a lead by id through gsi3, then reads it consistently from the table. */
  private async find(leadId: string): Promise<LeadItem | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { Items } = await this.data.doc.send(
        new QueryCommand({
          TableName: this.data.tableName,
          IndexName: 'gsi3',
          ...crmLeadItem.byId(leadId),
          Limit: 1,
        }),
      );
      const ref = Items?.[0];
      if (!ref) return undefined;
      const { Item } = await this.data.doc.send(
        new GetCommand({
          TableName: this.data.tableName,
          Key: { pk: ref.pk, sk: ref.sk },
          ConsistentRead: true,
        }),
      );
      // A merge moved it since the index was written: ask the index again.
      if (Item) return parseItem(leadItemSchema, Item);
    }
    return undefined;
  }

  /** The lead, its contact and the timeline the viewer may see, in time order. */
  async get(viewer: Viewer, leadId: string) {
    const { item, config } = await this.read(viewer, leadId);
    const partition = await this.partition(item.contactId);
    const profile = partition.find((entry) => entry.sk === 'PROFILE');
    const leads = partition
      .filter((entry) => entry.type === 'lead')
      .map((entry) => parseItem(leadItemSchema, entry));
    const visibleLeads = new Set(
      leads.filter((lead) => canSeeLead(viewer, lead, config)).map((lead) => lead.leadId),
    );
    const timeline = partition
      .filter((entry) => String(entry.sk).startsWith(keys.timelinePrefix))
      .filter((entry) => typeof entry.leadId !== 'string' || visibleLeads.has(entry.leadId))
      .map(timelineView)
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    const tasks = partition
      .filter((entry) => entry.type === 'task' && entry.leadId === leadId)
      .map((entry) => taskView(parseItem(taskItemSchema, entry)));
    return {
      lead: leadView(item),
      contact: profile ? contactSummary(profile) : { contactId: item.contactId },
      otherLeads: leads
        .filter((lead) => lead.leadId !== leadId && visibleLeads.has(lead.leadId))
        .map((lead) => ({
          leadId: lead.leadId,
          status: lead.status,
          channel: lead.channel,
          capturedAt: lead.capturedAt,
        })),
      tasks,
      timeline,
    };
  }

  private async partition(contactId: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const result = await this.data.doc.send(
        new QueryCommand({
          TableName: this.data.tableName,
          ...contactItem.partition(contactId),
          ConsistentRead: true,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      items.push(...(result.Items ?? []));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return items;
  }

  /** Moves the lead through the funnel (owner, or a team lead or admin over it), guarded by `If-Match`. */
  async changeStage(viewer: Viewer, leadId: string, change: StageChange, ifMatch: string | undefined) {
    const { item, config } = await this.read(viewer, leadId);
    this.mayWork(viewer, item, config);
    if (!ifMatchHolds(ifMatch, item.version)) {
      throw new PreconditionFailedError(
        `The lead changed since you read it: it is now at ${etagOf(item.version)}.`,
      );
    }
    const now = this.data.clock();
    const actor = actorOf(viewer);
    const plan = planStageChange(stateOf(item), change, actor, now);
    if (!plan.ok) {
      const fields = plan.fields.map((problem) => ({ ...problem, code: plan.code }));
      if (plan.status === 409)
        throw new ConflictError(fields[0]?.message ?? 'The lead is closed.', plan.code, fields);
      throw new ValidationError('The change is not a valid move through the funnel.', fields);
    }
    if (!plan.changed) return leadView(item);
    const at = now.toISOString();
    // Reaching `contacted` (or beyond) stops the SLA clock: recorded on the clock and the timeline.
    const stop = plan.to === 'new' ? undefined : stopSlaClock(item.sla, 'contacted', now);
    const events: AnalyticsEvent[] = [
      ...plan.reached.map((stage) => ({
        kind: 'reached' as const,
        lead: leadFacts(item),
        stage,
        ...(stage === 'won' ? { amount: change.amount, currency: change.currency } : {}),
      })),
      ...firstResponseEvents(item, plan.firstResponse),
    ];
    await this.commit(
      [
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.changed(leadKey(item), {
              version: item.version,
              set: plan.set,
              now: at,
              leadId,
              open: !plan.closes,
              slaStop: stop,
            }),
          },
        },
        ...(stop ? [this.slaStoppedEntry(item, at, actor, stop)] : []),
        this.entry(item, at, `${leadId}:status:${plan.to}:${item.version}`, {
          event: 'status_changed',
          actor,
          from: plan.from,
          to: plan.to,
          ...(change.reason ? { reason: change.reason } : {}),
          ...(change.amount !== undefined ? { amount: change.amount, currency: change.currency } : {}),
          summary: plan.summary,
        }),
        ...(plan.closes && item.ownerId
          ? [{ Update: { TableName: this.data.tableName, ...managerReleased(item.ownerId) } }]
          : []),
        ...analyticsUpdates(this.data.tableName, events, config.timeZone),
      ],
      item,
    );
    return this.view(viewer, leadId);
  }

  /** "I'm on it": the owner records their first response; a repeat changes nothing. */
  async acknowledge(viewer: Viewer, leadId: string) {
    const { item, config } = await this.read(viewer, leadId);
    if (item.ownerId === undefined || item.ownerId !== viewer.managerId) {
      throw new RoleForbiddenError(
        item.ownerId === undefined
          ? 'The lead waits in its team queue: assign it first.'
          : `Only the lead's owner (${item.ownerId}) acknowledges it.`,
      );
    }
    const now = this.data.clock();
    const actor = actorOf(viewer);
    const plan = planAcknowledge(stateOf(item), actor, now);
    if (!plan.changed) return { lead: leadView(item), acknowledgedNow: false };
    const at = now.toISOString();
    // "I'm on it" stops the SLA clock: recorded on the clock and the timeline.
    const stop = stopSlaClock(item.sla, 'acknowledged', now);
    const events = firstResponseEvents(item, plan.firstResponse);
    await this.commit(
      [
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.changed(leadKey(item), {
              version: item.version,
              set: plan.set,
              now: at,
              leadId,
              open: isOpen(item),
              unacknowledged: true,
              slaStop: stop,
            }),
          },
        },
        ...(stop ? [this.slaStoppedEntry(item, at, actor, stop)] : []),
        this.entry(item, at, `${leadId}:acknowledged`, {
          event: 'acknowledged',
          actor,
          summary: plan.summary,
        }),
        ...analyticsUpdates(this.data.tableName, events, config.timeZone),
      ],
      item,
      // A concurrent acknowledgement won: repeating it is harmless, so answer as if this one had.
      async () => ({ lead: await this.view(viewer, leadId), acknowledgedNow: false }),
    );
    return { lead: await this.view(viewer, leadId), acknowledgedNow: true };
  }

  /** A note on the lead's timeline, by anyone who may see the lead. */
  async addNote(viewer: Viewer, leadId: string, text: string) {
    const { item } = await this.read(viewer, leadId);
    const at = this.data.clock().toISOString();
    const noteId = this.data.newId();
    const actor = actorOf(viewer);
    const entry = this.entry(item, at, noteId, {
      event: 'note',
      actor,
      text,
      summary: `Note by ${actor}`,
    });
    await this.commit(
      [
        entry,
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.touched(leadKey(item), { now: at, leadId, open: isOpen(item) }),
          },
        },
      ],
      undefined,
    );
    return timelineView(entry.Put.Item);
  }

  /** A task on the lead, for its owner (or, set by a team lead or admin, for a manager of its team). */
  async addTask(viewer: Viewer, leadId: string, task: NewTask) {
    const { item, config } = await this.read(viewer, leadId);
    const assigneeId = task.assigneeId ?? viewer.managerId ?? item.ownerId;
    if (!assigneeId) {
      throw new ValidationError('Name the assignee.', [
        { field: 'assigneeId', code: 'required', message: 'you are not a manager: name who does it' },
      ]);
    }
    const assignee = config.managers.get(assigneeId);
    if (!assignee) {
      throw new ValidationError('Unknown assignee.', [
        { field: 'assigneeId', code: 'unknown_manager', message: `no manager ${assigneeId}` },
      ]);
    }
    const leading = canLead(viewer, item, config);
    if (assigneeId !== viewer.managerId && assigneeId !== item.ownerId && !leading) {
      throw new RoleForbiddenError("You may give tasks to yourself or to the lead's owner.");
    }
    const at = this.data.clock().toISOString();
    const taskId = this.data.newId();
    const actor = actorOf(viewer);
    const stored = {
      contactId: item.contactId,
      taskId,
      leadId,
      teamId: item.teamId,
      ...(item.ownerId ? { ownerId: item.ownerId } : {}),
      taskType: task.type,
      dueAt: new Date(task.dueAt).toISOString(),
      assigneeId,
      ...(task.title ? { title: task.title } : {}),
      ...(task.notes ? { notes: task.notes } : {}),
      status: 'open' as const,
      createdAt: at,
      createdBy: actor,
    };
    await this.commit(
      [
        { Put: { TableName: this.data.tableName, ...taskItem.put(stored) } },
        this.entry(item, at, `${taskId}:created`, {
          event: 'task_created',
          actor,
          taskId,
          taskType: task.type,
          dueAt: stored.dueAt,
          assigneeId,
          summary: `Task (${task.type}) for ${assigneeId}, due ${stored.dueAt}, by ${actor}`,
        }),
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.touched(leadKey(item), { now: at, leadId, open: isOpen(item) }),
          },
        },
      ],
      undefined,
    );
    // Its reminder at the due time and the team lead's alert if it is still open a while later.
    if (this.data.timers) await scheduleTaskTimers(this.data.timers, config, stored, new Date(at));
    return taskView(
      parseItem(taskItemSchema, { ...keys.task(item.contactId, taskId), ...stored, version: 1 }),
    );
  }

  /** Marks a task done (or open again), or moves its due time: its assignee, or whoever may work the lead. */
  async updateTask(viewer: Viewer, leadId: string, taskId: string, patch: TaskPatch, ifMatch?: string) {
    const { item, config } = await this.read(viewer, leadId);
    const task = await this.findTask(taskId);
    if (!task || task.leadId !== leadId) throw new NotFoundError(`No task ${taskId} on lead ${leadId}.`);
    if (
      task.assigneeId !== viewer.managerId &&
      item.ownerId !== viewer.managerId &&
      !canLead(viewer, item, config)
    ) {
      throw new RoleForbiddenError("Only the assignee, the lead's owner or a team lead changes this task.");
    }
    if (!ifMatchHolds(ifMatch, task.version))
      throw new PreconditionFailedError('The task changed since you read it.');
    const at = this.data.clock().toISOString();
    const actor = actorOf(viewer);
    const set: Record<string, unknown> = {};
    const remove: string[] = [];
    if (patch.status === 'done' && task.status !== 'done')
      Object.assign(set, { status: 'done', doneAt: at, doneBy: actor });
    if (patch.status === 'open' && task.status !== 'open') {
      set.status = 'open';
      remove.push('doneAt', 'doneBy');
    }
    if (patch.dueAt !== undefined) {
      set.dueAt = new Date(patch.dueAt).toISOString();
      set.gsi1sk = keys.taskIndexSk(set.dueAt as string, taskId);
    }
    if (Object.keys(set).length === 0) return taskView(task);
    const summary =
      set.status === 'done'
        ? `Task (${task.taskType}) done by ${actor}`
        : set.status === 'open'
          ? `Task (${task.taskType}) reopened by ${actor}`
          : `Task (${task.taskType}) moved to ${String(set.dueAt)} by ${actor}`;
    await this.commit(
      [
        {
          Update: {
            TableName: this.data.tableName,
            ...taskItem.changed({ pk: task.pk, sk: task.sk }, { version: task.version, set, remove }),
          },
        },
        this.entry(item, at, `${taskId}:v${task.version + 1}`, {
          event: set.status === 'done' ? 'task_done' : 'task_changed',
          actor,
          taskId,
          summary,
        }),
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.touched(leadKey(item), { now: at, leadId, open: isOpen(item) }),
          },
        },
      ],
      undefined,
    );
    const updated = await this.findTask(taskId);
    if (!updated) throw new NotFoundError(`No task ${taskId}.`);
    // A moved or reopened task gets timers for its due time; the old ones find it moved (or done) and do nothing.
    if (this.data.timers && (set.dueAt !== undefined || set.status === 'open')) {
      await scheduleTaskTimers(this.data.timers, config, updated, new Date(at));
    }
    return taskView(updated);
  }

  private async findTask(taskId: string): Promise<TaskItem | undefined> {
    const { Items } = await this.data.doc.send(
      new QueryCommand({
        TableName: this.data.tableName,
        IndexName: 'gsi3',
        ...taskItem.byId(taskId),
        Limit: 1,
      }),
    );
    const ref = Items?.[0];
    if (!ref) return undefined;
    const { Item } = await this.data.doc.send(
      new GetCommand({
        TableName: this.data.tableName,
        Key: { pk: ref.pk, sk: ref.sk },
        ConsistentRead: true,
      }),
    );
    return Item ? parseItem(taskItemSchema, Item) : undefined;
  }

  /** The viewer's own tasks by due time (open first is the caller's filter). */
  async myTasks(
    viewer: Viewer,
    options: { status?: 'open' | 'done' | undefined; limit: number; cursor?: string | undefined },
  ) {
    if (!viewer.managerId) return { items: [] };
    const start = decodeCursor(options.cursor, z.object({ sk: z.string() }));
    const items: ReturnType<typeof taskView>[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    let lastSk: string | undefined;
    do {
      const result = await this.data.doc.send(
        new QueryCommand({
          TableName: this.data.tableName,
          IndexName: 'gsi1',
          ...taskItem.assigned(viewer.managerId, start?.sk),
          Limit: options.limit,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      for (const raw of result.Items ?? []) {
        const task = parseItem(taskItemSchema, raw);
        lastSk = String(raw.gsi1sk);
        if (options.status && task.status !== options.status) continue;
        items.push(taskView(task));
        if (items.length === options.limit) return { items, nextCursor: encodeCursor({ sk: lastSk }) };
      }
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return { items };
  }

  /**
   * Gives the lead to another manager (team leads over their teams, admins): a named manager, who must be
   * available, or the next available one by the team's own fairness rules (the current owner passed
   * over). The reason is recorded on the lead, its timeline and the audit trail, and the new owner is
   * alerted.
   */
  async assign(
    viewer: Viewer,
    leadId: string,
    request: { managerId?: string | undefined; reason?: string | undefined },
    ifMatch?: string,
  ) {
    const { item, config } = await this.read(viewer, leadId);
    if (!canLead(viewer, item, config))
      throw new RoleForbiddenError('Reassigning is for team leads and admins.');
    return this.reassign(viewer, item, config, request, ifMatch);
  }

  /**
   * "Pass it on": the lead's owner gives it to the next available manager of its team, by the team's own
   * fairness rules (`assign`'s planning without a target), recorded as passed on by them. Anyone but the
   * owner is refused (`RoleForbiddenError`, or `NotFoundError` for a lead they may not see); nobody else
   * available is a `ConflictError` (`nobody_available`) and the lead stays with them.
   */
  async passOn(viewer: Viewer, leadId: string, reason: string) {
    const { item, config } = await this.read(viewer, leadId);
    if (item.ownerId === undefined || item.ownerId !== viewer.managerId) {
      throw new RoleForbiddenError("Only the lead's owner passes it on.");
    }
    return this.reassign(viewer, item, config, { reason }, undefined, 'passed_on');
  }

  private async reassign(
    viewer: Viewer,
    item: LeadItem,
    config: LeadflowConfig,
    request: { managerId?: string | undefined; reason?: string | undefined },
    ifMatch: string | undefined,
    via?: 'passed_on',
  ) {
    const { leadId } = item;
    if (!isOpen(item))
      throw new ConflictError(`The lead is ${item.status}; a closed lead is not reassigned.`, 'lead_closed');
    if (!ifMatchHolds(ifMatch, item.version))
      throw new PreconditionFailedError('The lead changed since you read it.');
    const now = this.data.clock();
    const actor = actorOf(viewer);
    const loads = await readLoads(this.data.doc, this.data.tableName, [...config.managers.keys()]);
    let cursor: { teamId: string; value: number } | undefined;
    let plan = planReassignment({
      config,
      lead: { teamId: item.teamId, ownerId: item.ownerId, assignment: item.assignment },
      loads,
      now,
      actor,
      target: request.managerId,
      reason: request.reason,
    });
    if (plan.kind === 'needs_cursor') {
      cursor = {
        teamId: plan.teamId,
        value: await nextCursor(this.data.doc, this.data.tableName, plan.teamId),
      };
      plan = planReassignment({
        config,
        lead: { teamId: item.teamId, ownerId: item.ownerId, assignment: item.assignment },
        loads,
        now,
        actor,
        target: request.managerId,
        reason: request.reason,
        cursor,
      });
    }
    if (plan.kind === 'needs_cursor') throw new Error('The reassignment kept asking for a cursor');
    if (plan.kind === 'refused') {
      throw new ConflictError(plan.message, plan.code, [
        { field: request.managerId ? 'managerId' : '(request)', code: plan.code, message: plan.message },
      ]);
    }
    const at = now.toISOString();
    const previous = item.ownerId;
    // The new owner's SLA clock (the lead's next generation), while the lead still awaits a first response.
    const clock = this.data.timers
      ? startSlaClock({
          lead: {
            priority: prioritySchema.catch('normal').parse(item.priority),
            teamId: plan.assignment.teamId,
            rule: plan.assignment.rule,
            ownerId: plan.managerId,
            status: item.status,
            acknowledgedAt: item.acknowledgedAt,
          },
          sla: config.sla,
          team: config.teams.get(plan.assignment.teamId),
          start: now,
          reason: 'reassigned',
          previous: item.sla,
          scale: this.data.timers.timeScale,
        })
      : undefined;
    const events: AnalyticsEvent[] = [
      ...(previous && !item.firstResponseAt
        ? [{ kind: 'unassigned' as const, lead: leadFacts(item), managerId: previous }]
        : []),
      {
        kind: 'assigned',
        lead: { ...leadFacts(item), teamId: plan.assignment.teamId, ownerId: plan.managerId },
        managerId: plan.managerId,
      },
    ];
    const { put: auditPut } = this.audit.entry(
      viewer,
      'lead.assigned',
      `lead:${leadId}`,
      plan.assignment.reason,
      {
        from: previous ?? null,
        to: plan.managerId,
        strategy: plan.assignment.strategy,
        ...(via ? { via } : {}),
      },
    );
    await this.commit(
      [
        {
          Update: {
            TableName: this.data.tableName,
            ...crmLeadItem.reassigned(leadKey(item), {
              version: item.version,
              ownerId: plan.managerId,
              assignment: plan.assignment,
              now: at,
              leadId,
              open: true,
              sla: clock,
            }),
          },
        },
        this.entry(item, at, `${leadId}:assigned:${item.version}`, {
          event: 'assigned',
          actor,
          from: previous,
          to: plan.managerId,
          strategy: plan.assignment.strategy,
          ...(via ? { via } : {}),
          summary: plan.assignment.reason,
        }),
        { Update: { TableName: this.data.tableName, ...managerLoadItem.assigned(plan.managerId, at) } },
        ...(previous ? [{ Update: { TableName: this.data.tableName, ...managerReleased(previous) } }] : []),
        { Put: auditPut },
        ...analyticsUpdates(this.data.tableName, events, config.timeZone),
      ],
      item,
    );
    const alert: Notification = {
      kind: 'manager_alert',
      notificationId: `${leadId}:reassigned:${item.version + 1}:manager_alert`,
      leadId,
      contactId: item.contactId,
      capture: item.capture,
      assignment: plan.assignment,
      returning: false,
    };
    await this.data.enqueueNotifications([alert]);
    // The new clock's first timer, beside the alert and never before it.
    const slaTimer = slaTimerFor(item, clock);
    if (slaTimer) await this.data.timers?.schedule([slaTimer]);
    return this.view(viewer, leadId);
  }

  /** The lead as the viewer sees it now; a reassignment may have taken it out of their sight. */
  private async view(viewer: Viewer, leadId: string): Promise<LeadView> {
    const config = await this.data.config();
    const item = await this.find(leadId);
    if (!item) throw new NotFoundError(`No lead ${leadId}.`);
    if (!canSeeLead(viewer, item, config)) return { ...leadView(item), capture: {} as LeadView['capture'] };
    return leadView(item);
  }

  /** The owner works their lead; a team lead or admin over it may too. */
  private mayWork(viewer: Viewer, item: LeadItem, config: LeadflowConfig): void {
    if (item.ownerId !== undefined && item.ownerId === viewer.managerId) return;
    if (canLead(viewer, item, config)) return;
    throw new RoleForbiddenError("Only the lead's owner or a team lead over it changes its stage.");
  }

  /** The timeline entry of a first response stopping the lead's SLA clock. */
  private slaStoppedEntry(
    item: LeadItem,
    at: string,
    actor: string,
    stop: NonNullable<ReturnType<typeof stopSlaClock>>,
  ) {
    const sla = item.sla as SlaRecord;
    return this.entry(item, at, `${item.leadId}:sla:${sla.generation}:stopped`, {
      event: 'sla_stopped',
      actor,
      generation: sla.generation,
      policyId: sla.policyId,
      dueAt: sla.dueAt,
      stoppedBy: stop.stoppedBy,
      summary: stop.summary,
    });
  }

  /** A timeline entry of this lead, written once (a retried request writes the same entry). */
  private entry(
    item: LeadItem,
    at: string,
    id: string,
    detail: { event: string; summary: string; [key: string]: unknown },
  ) {
    return {
      Put: {
        TableName: this.data.tableName,
        ...interactionItem.put(
          interactionItem.system({
            contactId: item.contactId,
            occurredAt: at,
            interactionId: id,
            leadId: item.leadId,
            ...detail,
          }),
        ),
      },
    };
  }

  /**
   * Commits a change; a lost version race (someone changed the lead in between) is a 412, a transaction
   * held by another writer is retried a few times.
   */
  private async commit<T>(
    items: readonly TransactItem[],
    lead: LeadItem | undefined,
    onConflict?: () => Promise<T>,
  ): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.data.doc.send(new TransactWriteCommand({ TransactItems: [...items] }));
        return undefined;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons.some((reason) => reason.Code === 'TransactionConflict') && attempt < 4) {
          await new Promise((done) => setTimeout(done, 10 * attempt + Math.random() * 20));
          continue;
        }
        if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) {
          if (onConflict) return onConflict();
          throw new PreconditionFailedError(
            lead
              ? `The lead changed while you saved (it was ${etagOf(lead.version)}): read it again.`
              : 'The item changed: read it again.',
          );
        }
        throw error;
      }
    }
  }
}

const PRIORITIES_BY_URGENCY = [
  'urgent',
  'high',
  'normal',
  'low',
] as const satisfies readonly (typeof PRIORITIES)[number][];

/** The lead's first response, counted for its owner (the manager it awaited), if this change is it. */
function firstResponseEvents(item: LeadItem, response: { speedMs: number } | undefined): AnalyticsEvent[] {
  return response && item.ownerId
    ? [{ kind: 'first_response', lead: leadFacts(item), managerId: item.ownerId, speedMs: response.speedMs }]
    : [];
}

function leadKey(item: LeadItem): Key {
  return { pk: item.pk, sk: item.sk };
}

function isOpen(item: LeadItem): boolean {
  return !['won', 'lost'].includes(item.status);
}

function stateOf(item: LeadItem) {
  return {
    status: item.status as Stage,
    capturedAt: item.capturedAt,
    ownerId: item.ownerId,
    contactedAt: item.contactedAt,
    qualifiedAt: item.qualifiedAt,
    proposalAt: item.proposalAt,
    wonAt: item.wonAt,
    lostAt: item.lostAt,
    acknowledgedAt: item.acknowledgedAt,
    firstResponseAt: item.firstResponseAt,
  };
}

/** A task's public shape. */
export function taskView(task: TaskItem) {
  return {
    taskId: task.taskId,
    leadId: task.leadId,
    contactId: task.contactId,
    type: task.taskType,
    title: task.title,
    notes: task.notes,
    dueAt: task.dueAt,
    assigneeId: task.assigneeId,
    status: task.status,
    createdAt: task.createdAt,
    createdBy: task.createdBy,
    doneAt: task.doneAt,
    doneBy: task.doneBy,
    version: task.version,
    etag: etagOf(task.version),
  };
}

/** A contact's profile in brief, as a lead shows it. */
export function contactSummary(profile: Record<string, unknown>) {
  const list = (value: unknown) =>
    value instanceof Set ? [...value].map(String).sort() : Array.isArray(value) ? value.map(String) : [];
  return {
    contactId: String(profile.contactId),
    name: typeof profile.name === 'string' ? profile.name : undefined,
    emails: list(profile.emails),
    phones: list(profile.phones),
    ownerId: typeof profile.ownerId === 'string' ? profile.ownerId : undefined,
    tags: list(profile.tags),
    createdAt: String(profile.createdAt),
  };
}

export type { Assignment };
