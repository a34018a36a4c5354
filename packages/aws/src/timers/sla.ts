import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  describeSlaStep,
  type LeadflowConfig,
  leadFacts,
  type Notification,
  type Priority,
  planReassignment,
  planSlaStep,
  prioritySchema,
  type SlaRecord,
  type SlaStep,
  scaleSlaPolicy,
  slaTimerFor,
  startSlaClock,
  type TimerOf,
} from '@leadflow/core';
import { type AnalyticsEvent, analyticsUpdates } from '../crm/analytics';
import {
  auditItem,
  crmLeadItem,
  escalationLoad,
  interactionItem,
  type LeadItem,
  leadItemSchema,
  managerReleased,
  parseItem,
  slaItem,
} from '../items';
import { readLoads } from '../leads';
import { peekCursor } from '../routing-state';
import type { TimerScheduler } from '../timers';
import type { TimerDeps } from './deps';
import type { TimerOutcome } from './outcome';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Re-reads per firing when the lead changed between the read and the write. */
const ATTEMPTS = 3;

/** What a clock is started for: the lead as it will be once the write that starts it commits. */
export interface SlaLead {
  readonly leadId: string;
  readonly contactId: string;
  readonly teamId: string;
  readonly ownerId?: string | undefined;
  readonly status: string;
  readonly acknowledgedAt?: string | undefined;
  readonly priority?: string | undefined;
  readonly rule?: string | undefined;
  readonly sla?: SlaRecord | undefined;
}

/**
 * The clock a lead's owner gets now (a new lead, a dequeue, a reassignment), to write with the change that
 * gives them the lead; undefined when none runs (no owner, already answered, no policy or target).
 */
export function slaClockFor(
  config: LeadflowConfig,
  lead: SlaLead,
  start: Date,
  reason: SlaRecord['reason'],
  options: { timeScale: number; round?: number | undefined },
): SlaRecord | undefined {
  const priority = prioritySchema.safeParse(lead.priority);
  return startSlaClock({
    lead: { ...lead, priority: priority.success ? priority.data : ('normal' as Priority) },
    sla: config.sla,
    team: config.teams.get(lead.teamId),
    start,
    reason,
    previous: lead.sla,
    round: options.round,
    scale: options.timeScale,
  });
}

/** Schedules the timer of a clock's next step (nothing when the clock has none). */
export async function scheduleSlaTimer(
  timers: TimerScheduler,
  lead: { readonly leadId: string; readonly contactId: string },
  sla: SlaRecord | undefined,
): Promise<void> {
  const timer = slaTimerFor(lead, sla);
  if (timer) await timers.schedule([timer]);
}

/** Finds a lead by id (gsi3), then reads it consistently: a merge may have moved it to another contact. */
export async function findLeadById(
  doc: DynamoDBDocumentClient,
  tableName: string,
  leadId: string,
): Promise<LeadItem | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const { Items } = await doc.send(
      new QueryCommand({ TableName: tableName, IndexName: 'gsi3', ...crmLeadItem.byId(leadId), Limit: 1 }),
    );
    const ref = Items?.[0];
    if (!ref) return undefined;
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: { pk: ref.pk, sk: ref.sk }, ConsistentRead: true }),
    );
    if (Item) return parseItem(leadItemSchema, Item);
  }
  return undefined;
}

/**
 * Fires one SLA timer. It re-reads the lead and asks the pure plan (`planSlaStep`) what to do: nothing
 * when the lead was acknowledged, contacted or closed, or a newer clock or step made the timer stale;
 * otherwise the due steps. Their notifications and the next step's timer are queued first (their ids are
 * the step's, so a repeat queues nothing new), then the clock, the timeline and the analytics are written
 * in one transaction on condition that the clock is still as read; a lost race re-reads and decides again.
 */
export async function fireSlaTimer(deps: TimerDeps, timer: TimerOf<'sla'>): Promise<TimerOutcome> {
  const config = await deps.config();
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const lead = await findLeadById(deps.doc, deps.tableName, timer.leadId);
    if (!lead || lead.erasedAt) return { skipped: 'not_found' };
    const found = lead.sla ? config.sla?.policies[lead.sla.policyId] : undefined;
    const now = deps.clock();
    const policy = found ? scaleSlaPolicy(found, deps.timers.timeScale) : undefined;
    const plan = planSlaStep(
      { lead, sla: lead.sla, timer },
      // Without its policy the clock can still be found stale or stopped; only acting needs it.
      policy ?? {
        clock: 'calendar',
        targets: {},
        escalation: { levels: [], repeat: { times: 0, everyMinutes: 1 } },
      },
      now,
    );
    if (plan.kind === 'skip') {
      return { skipped: plan.reason, detail: { generation: lead.sla?.generation, step: lead.sla?.step } };
    }
    // The policy was removed from the configuration since the clock started: it goes no further.
    if (!policy) return { skipped: 'no_policy', detail: { policyId: lead.sla?.policyId } };
    const sla = lead.sla as SlaRecord;
    const outcome = await act(deps, config, lead, sla, plan, now);
    if (outcome) return outcome;
  }
  throw new Error(`The lead ${timer.leadId} kept changing under its SLA timer; it will be retried`);
}

type ActPlan = Extract<ReturnType<typeof planSlaStep>, { kind: 'act' }>;

/** Takes the plan's steps; undefined when the lead changed under it (the caller re-reads). */
async function act(
  deps: TimerDeps,
  config: LeadflowConfig,
  lead: LeadItem,
  sla: SlaRecord,
  plan: ActPlan,
  now: Date,
): Promise<TimerOutcome | undefined> {
  const at = now.toISOString();
  const teamLead = config.teams.get(lead.teamId)?.teamLead;
  const reassignStep = plan.reassigns ? plan.steps[plan.steps.length - 1] : undefined;
  const reassignment = reassignStep ? await planEscalation(deps, config, lead, now) : undefined;
  const reassigned = reassignment?.kind === 'assigned' ? reassignment : undefined;

  // The clock after these steps: the new owner's (a reassignment), else this one going on.
  const record: SlaRecord =
    plan.reassigns && !reassigned && plan.after ? { ...plan.record, nextAt: plan.after.at } : plan.record;
  const nextClock = reassigned
    ? slaClockFor(
        config,
        { ...lead, ownerId: reassigned.managerId, teamId: reassigned.assignment.teamId, sla: record },
        now,
        'escalated',
        {
          timeScale: deps.timers.timeScale,
          round: reassignStep?.kind === 'escalation' ? reassignStep.round + 1 : sla.round + 1,
        },
      )
    : undefined;

  const base = {
    leadId: lead.leadId,
    contactId: lead.contactId,
    capture: lead.capture,
    assignment: lead.assignment,
    returning: false,
  };
  const notifications: Notification[] = [];
  const entries: Record<string, unknown>[] = [];
  const events: AnalyticsEvent[] = [];
  const stepId = (step: SlaStep) =>
    `${lead.leadId}:sla:${sla.generation}:${step.kind === 'escalation' ? `level${step.level}` : step.kind}`;
  const notice = (step: SlaStep) => ({
    policyId: sla.policyId,
    priority: sla.priority,
    ownerId: sla.ownerId,
    dueAt: sla.dueAt,
    level: step.kind === 'escalation' ? step.level : 0,
  });
  for (const step of plan.steps) {
    const entry = {
      contactId: lead.contactId,
      occurredAt: at,
      interactionId: stepId(step),
      leadId: lead.leadId,
      generation: sla.generation,
      policyId: sla.policyId,
      dueAt: sla.dueAt,
      ownerId: sla.ownerId,
    };
    if (step.kind === 'warning') {
      entries.push(
        interactionItem.system({ ...entry, event: 'sla_warning', summary: describeSlaStep(step, sla) }),
      );
      notifications.push({
        kind: 'sla_warning',
        notificationId: `${stepId(step)}:sla_warning`,
        recipientId: sla.ownerId,
        sla: notice(step),
        ...base,
      });
    } else if (step.kind === 'breach') {
      entries.push(
        interactionItem.system({ ...entry, event: 'sla_breached', summary: describeSlaStep(step, sla) }),
      );
      events.push({ kind: 'breached', lead: leadFacts(lead), managerId: sla.ownerId });
    } else if (step.action === 'notify_team_lead') {
      entries.push(
        interactionItem.system({
          ...entry,
          event: 'escalated',
          level: step.level,
          action: step.action,
          ...(teamLead ? { to: teamLead } : {}),
          summary: teamLead
            ? describeSlaStep(step, sla)
            : `Escalated (level ${step.level}): team ${lead.teamId} has no team lead to alert`,
        }),
      );
      if (teamLead) {
        notifications.push({
          kind: 'sla_overdue',
          notificationId: `${stepId(step)}:sla_overdue`,
          recipientId: teamLead,
          sla: notice(step),
          ...base,
        });
      }
    } else {
      entries.push(
        interactionItem.system({
          ...entry,
          event: 'escalated',
          level: step.level,
          action: step.action,
          ...(reassigned ? { from: sla.ownerId, to: reassigned.managerId } : {}),
          summary: reassigned
            ? `Escalated (level ${step.level}): ${reassigned.assignment.reason}`
            : `Escalated (level ${step.level}): not passed on, ${reassignment?.kind === 'refused' ? reassignment.message : 'nobody else is available'}; it stays with ${sla.ownerId}`,
        }),
      );
      if (reassigned) {
        notifications.push({
          kind: 'manager_alert',
          notificationId: `${stepId(step)}:manager_alert`,
          ...base,
          assignment: reassigned.assignment,
        });
      }
    }
  }

  // The alerts and the next timer first, keyed by this step: if the write below loses a race, the timer
  // finds its clock moved on and does nothing, and a repeat of this firing queues the same ids again.
  await deps.enqueueNotifications(notifications);
  if (reassigned) await scheduleSlaTimer(deps.timers, lead, nextClock);
  else await scheduleSlaTimer(deps.timers, lead, record);

  const key = { pk: lead.pk, sk: lead.sk };
  const items: TransactItem[] = [
    reassigned
      ? {
          Update: {
            TableName: deps.tableName,
            ...slaItem.escalated(key, {
              version: lead.version,
              generation: sla.generation,
              step: sla.step,
              previousOwner: sla.ownerId,
              ownerId: reassigned.managerId,
              assignment: reassigned.assignment,
              // No clock for the new owner (no target): the old one ends here, stopped by nothing.
              record: nextClock ?? record,
              now: at,
              leadId: lead.leadId,
            }),
          },
        }
      : {
          Update: {
            TableName: deps.tableName,
            ...slaItem.stepped(key, {
              generation: sla.generation,
              step: sla.step,
              ownerId: sla.ownerId,
              record,
            }),
          },
        },
    ...entries.map((entry) => ({ Put: { TableName: deps.tableName, ...interactionItem.put(entry) } })),
  ];
  if (reassigned) {
    const facts = leadFacts(lead);
    events.push(
      { kind: 'unassigned', lead: facts, managerId: sla.ownerId },
      {
        kind: 'assigned',
        lead: { ...facts, teamId: reassigned.assignment.teamId, ownerId: reassigned.managerId },
        managerId: reassigned.managerId,
      },
    );
    items.push(
      { Update: { TableName: deps.tableName, ...escalationLoad(reassigned.managerId) } },
      { Update: { TableName: deps.tableName, ...managerReleased(sla.ownerId) } },
      {
        Put: {
          TableName: deps.tableName,
          ...auditItem.put({
            at,
            auditId: `${lead.leadId}-sla-${sla.generation}-${record.step}`,
            actor: 'sla',
            role: 'system',
            action: 'lead.assigned',
            target: `lead:${lead.leadId}`,
            summary: reassigned.assignment.reason,
            details: { from: sla.ownerId, to: reassigned.managerId, via: 'escalation' },
          }),
        },
      },
    );
  }
  items.push(...analyticsUpdates(deps.tableName, events, config.timeZone));
  try {
    await deps.doc.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      const reasons = error.CancellationReasons ?? [];
      if (
        reasons.some(
          (reason) => reason.Code === 'ConditionalCheckFailed' || reason.Code === 'TransactionConflict',
        )
      )
        return undefined;
    }
    throw error;
  }
  return {
    acted: plan.steps
      .map((step) => (step.kind === 'escalation' ? `${step.action}_${step.level}` : step.kind))
      .join('+'),
    detail: {
      generation: sla.generation,
      step: record.step,
      ...(reassigned ? { reassignedTo: reassigned.managerId } : {}),
      ...(record.nextAt && !reassigned ? { nextAt: record.nextAt } : {}),
    },
  };
}

/**
 * The escalation's reassignment: the next available manager of the lead's team by its own strategy,
 * passing over the owner. The round-robin cursor is peeked, never drawn, and the load does not move the
 * manager's last-assignment time: an escalated lead costs nobody their turn.
 */
async function planEscalation(
  deps: TimerDeps,
  config: LeadflowConfig,
  lead: LeadItem,
  now: Date,
): Promise<
  | { kind: 'assigned'; managerId: string; assignment: Assignment }
  | { kind: 'refused'; code: string; message: string }
> {
  const loads = await readLoads(deps.doc, deps.tableName, [...config.managers.keys()]);
  const input = {
    config,
    lead: { teamId: lead.teamId, ownerId: lead.ownerId, assignment: lead.assignment },
    loads,
    now,
    actor: 'sla',
    reason: 'no first response by the SLA deadline',
    via: 'escalation' as const,
  };
  let plan = planReassignment(input);
  if (plan.kind === 'needs_cursor') {
    const value = await peekCursor(deps.doc, deps.tableName, plan.teamId);
    plan = planReassignment({ ...input, cursor: { teamId: plan.teamId, value } });
  }
  if (plan.kind === 'needs_cursor')
    return { kind: 'refused', code: 'cursor', message: 'the plan kept asking for a cursor' };
  if (plan.kind !== 'assigned') return plan;
  // Recorded as an escalation; the peeked cursor value was not consumed, so it is not recorded either.
  const { cursor: _peeked, ...assignment } = plan.assignment;
  return {
    kind: 'assigned',
    managerId: plan.managerId,
    assignment: { ...assignment, strategy: 'escalation' },
  };
}
