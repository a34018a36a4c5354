import { z } from 'zod';
import type { Team } from './config';
import { type BusinessHours, isOpen, localTime, nextOpening, zonedInstant } from './hours';
import type { TimerOf } from './timers';
import { type Priority, prioritySchema } from './vocabulary';

/**
 * The first-response SLA: a target per priority, a clock (calendar time, or the owning team's business
 * hours), a warning to the owner shortly before the breach, and escalation levels after it. Everything here
 * is pure: the timer function re-reads the lead and asks `planSlaStep` what a firing timer does.
 */

const MINUTE = 60_000;
/** A week: no target, warning or escalation delay is longer. */
const MAX_MINUTES = 7 * 24 * 60;

const policyId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes');
const minutes = z.number().positive().max(MAX_MINUTES);

export const SLA_CLOCKS = ['calendar', 'business_hours'] as const;
export type SlaClock = (typeof SLA_CLOCKS)[number];

/** What an escalation level does: alert the team lead (`[Overdue]`), or pass the lead on. */
export const ESCALATION_ACTIONS = ['notify_team_lead', 'reassign'] as const;
export type EscalationAction = (typeof ESCALATION_ACTIONS)[number];

export const escalationLevelSchema = z.object({
  /** Minutes after the breach (the first pass) or after its pass began (a repeat); 0: at the breach. */
  afterMinutes: z.number().min(0).max(MAX_MINUTES),
  action: z.enum(ESCALATION_ACTIONS),
});
export type EscalationLevel = z.infer<typeof escalationLevelSchema>;

export const slaPolicySchema = z
  .object({
    /** `calendar`: wall-clock time; `business_hours`: only while the owning team is open. */
    clock: z.enum(SLA_CLOCKS).default('calendar'),
    /** Minutes to a first response, per priority; a priority left out has no clock. */
    targets: z.partialRecord(prioritySchema, minutes),
    /** The owner's warning this many minutes before the breach (at most half the target); unset: none. */
    warningMinutesBefore: minutes.optional(),
    escalation: z
      .object({
        /** In order of their delays; at most five (Freshdesk has four). */
        levels: z.array(escalationLevelSchema).min(1).max(5),
        /**
         * The levels run again `times` more times, each pass `everyMinutes` after the previous one began; a
         * reassignment ends its pass and the new owner's clock leads to the next one.
         */
        repeat: z
          .object({ times: z.number().int().min(0).max(10), everyMinutes: minutes })
          .default({ times: 0, everyMinutes: 60 }),
      })
      .default({
        levels: [{ afterMinutes: 0, action: 'notify_team_lead' }],
        repeat: { times: 0, everyMinutes: 60 },
      }),
  })
  .superRefine((policy, ctx) => {
    const { levels, repeat } = policy.escalation;
    levels.forEach((level, index) => {
      const before = levels[index - 1];
      if (before && level.afterMinutes < before.afterMinutes) {
        ctx.addIssue({
          code: 'custom',
          path: ['escalation', 'levels', index, 'afterMinutes'],
          message: 'levels are listed in the order they happen (afterMinutes never decreases)',
        });
      }
    });
    const last = levels[levels.length - 1]?.afterMinutes ?? 0;
    if (repeat.times > 0 && repeat.everyMinutes <= last) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalation', 'repeat', 'everyMinutes'],
        message: 'a pass must end before the next one begins: everyMinutes exceeds the last level',
      });
    }
    if (Object.keys(policy.targets).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'a policy needs a target for a priority' });
    }
  });
export type SlaPolicy = z.infer<typeof slaPolicySchema>;

/**
 * The `sla` section of the configuration: the policies by id, which applies to a lead (its routing rule's,
 * else its team's, else the default; none: no clock), and when an open task counts as overdue.
 */
export const slaConfigSchema = z.object({
  policies: z.record(policyId, slaPolicySchema),
  default: policyId.optional(),
  /** Team id → policy id. */
  teams: z.record(z.string(), policyId).default({}),
  /** Routing rule id → policy id (wins over the team's). */
  rules: z.record(z.string(), policyId).default({}),
  /** A task still open this long after its due time alerts the assignee's team lead. */
  taskOverdueAfterMinutes: minutes.default(60),
});
export type SlaConfig = z.infer<typeof slaConfigSchema>;

/** Problems with the section's references (policies, teams, rules), for the configuration's own check. */
export function slaReferenceIssues(
  sla: SlaConfig,
  known: { readonly teams: ReadonlySet<string>; readonly rules: ReadonlySet<string> },
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const policy = (path: (string | number)[], id: string) => {
    if (!Object.hasOwn(sla.policies, id)) issues.push({ path, message: `unknown SLA policy ${id}` });
  };
  if (sla.default !== undefined) policy(['sla', 'default'], sla.default);
  for (const [teamId, id] of Object.entries(sla.teams)) {
    if (!known.teams.has(teamId))
      issues.push({ path: ['sla', 'teams', teamId], message: `unknown team ${teamId}` });
    policy(['sla', 'teams', teamId], id);
  }
  for (const [ruleId, id] of Object.entries(sla.rules)) {
    if (!known.rules.has(ruleId))
      issues.push({ path: ['sla', 'rules', ruleId], message: `unknown rule ${ruleId}` });
    policy(['sla', 'rules', ruleId], id);
  }
  return issues;
}

/** The policy a lead is held to: its rule's, else its team's, else the default; undefined: none. */
export function slaPolicyFor(
  sla: SlaConfig | undefined,
  lead: { readonly teamId: string; readonly rule?: string | undefined },
): { readonly policyId: string; readonly policy: SlaPolicy } | undefined {
  if (!sla) return undefined;
  const id =
    (lead.rule !== undefined ? sla.rules[lead.rule] : undefined) ?? sla.teams[lead.teamId] ?? sla.default;
  const policy = id === undefined ? undefined : sla.policies[id];
  return id !== undefined && policy ? { policyId: id, policy } : undefined;
}

/**
 * The policy with every target, warning and escalation delay multiplied by `scale` (SLA_TIME_SCALE in
 * local runs and tests; 1 leaves it as it is).
 */
export function scaleSlaPolicy(policy: SlaPolicy, scale: number): SlaPolicy {
  if (!(Number.isFinite(scale) && scale > 0) || scale === 1) return policy;
  const by = (value: number) => value * scale;
  return {
    ...policy,
    targets: Object.fromEntries(Object.entries(policy.targets).map(([p, value]) => [p, by(value)])),
    ...(policy.warningMinutesBefore === undefined
      ? {}
      : { warningMinutesBefore: by(policy.warningMinutesBefore) }),
    escalation: {
      levels: policy.escalation.levels.map((level) => ({ ...level, afterMinutes: by(level.afterMinutes) })),
      repeat: { ...policy.escalation.repeat, everyMinutes: by(policy.escalation.repeat.everyMinutes) },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Business time

/** The end of the opening block `at` falls in (hours open at `at`), as an instant. */
function blockEnd(hours: BusinessHours, at: Date): number {
  const local = localTime(at, hours.timeZone);
  const block = (hours.weekly[local.weekday] ?? [])
    .map((text) =>
      text.split('-').map((time) => {
        const [h = 0, m = 0] = time.split(':').map(Number);
        return h * 60 + m;
      }),
    )
    .find(([start = 0, end = 0]) => local.minute >= start && local.minute < end);
  const endMinute = block?.[1] ?? local.minute + 1;
  const end =
    endMinute >= 24 * 60
      ? zonedInstant(nextDate(local.date), 0, hours.timeZone).getTime()
      : zonedInstant(local.date, endMinute, hours.timeZone).getTime();
  // A DST change inside the block can put its local end at or before now: move on a minute at least.
  return Math.max(end, Math.floor(at.getTime() / MINUTE) * MINUTE + MINUTE);
}

function nextDate(date: string): string {
  const [y = 0, m = 1, d = 1] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/**
 * The instant `ms` of open business time after `start`: time outside the hours (nights, weekends,
 * holidays, a lunch break) does not count. Undefined when the hours never open within two weeks.
 */
export function addBusinessTime(hours: BusinessHours, start: Date, ms: number): Date | undefined {
  let at = start.getTime();
  let left = Math.max(0, ms);
  // Each round consumes one opening block; a year of blocks is far more than any target needs.
  for (let round = 0; round < 1000; round++) {
    if (!isOpen(hours, new Date(at))) {
      const opening = nextOpening(hours, new Date(at));
      if (!opening) return undefined;
      at = Math.max(at, opening.getTime());
    }
    const end = blockEnd(hours, new Date(at));
    if (at + left <= end) return new Date(at + left);
    left -= end - at;
    at = end;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The clock

/** A lead's SLA clock as stored on the lead (`sla`): what every firing timer is checked against. */
export const slaRecordSchema = z.object({
  policyId: z.string(),
  clock: z.enum(SLA_CLOCKS),
  priority: prioritySchema,
  /** The manager whose clock it is. */
  ownerId: z.string(),
  /** 1 for the lead's first clock; each new owner (a reassignment, a dequeue) gets the next. */
  generation: z.number().int().positive(),
  /** Why this clock started. */
  reason: z.enum(['created', 'dequeued', 'reassigned', 'escalated']),
  startedAt: z.string(),
  /** The breach: the first-response deadline. */
  dueAt: z.string(),
  warnAt: z.string().optional(),
  /** Steps of this clock taken so far (a warning, the breach, each escalation level). */
  step: z.number().int().nonnegative(),
  /** The highest escalation level reached, over every clock of the lead (0: none). */
  level: z.number().int().nonnegative(),
  /** Passes of the escalation levels before this clock (a reassignment ends one). */
  round: z.number().int().nonnegative(),
  /** When the next step is due; absent: nothing more will happen. */
  nextAt: z.string().optional(),
  warnedAt: z.string().optional(),
  breachedAt: z.string().optional(),
  escalatedAt: z.string().optional(),
  /** What stopped the clock, and when: the owner's acknowledgement, or the lead reaching `contacted`. */
  stoppedAt: z.string().optional(),
  stoppedBy: z.enum(['acknowledged', 'contacted']).optional(),
});
export type SlaRecord = z.infer<typeof slaRecordSchema>;

/**
 * The deadline (and the warning time) of a clock that starts at `start` for a lead of this priority:
 * `start` plus the target, in calendar time or in the team's open hours (a team without hours, or hours
 * that never open, count calendar time). Undefined when the policy has no target for the priority.
 */
export function slaDeadline(
  lead: { readonly priority: Priority },
  policy: SlaPolicy,
  team: Pick<Team, 'businessHours'> | undefined,
  start: Date,
): { readonly dueAt: Date; readonly warnAt?: Date } | undefined {
  const target = policy.targets[lead.priority];
  if (target === undefined) return undefined;
  const targetMs = target * MINUTE;
  const hours = policy.clock === 'business_hours' ? team?.businessHours : undefined;
  const after = (ms: number) =>
    (hours ? addBusinessTime(hours, start, ms) : undefined) ?? new Date(start.getTime() + ms);
  const dueAt = after(targetMs);
  if (policy.warningMinutesBefore === undefined) return { dueAt };
  // "Shortly before": never earlier than half-way, so a short target does not warn at once.
  const before = Math.min(policy.warningMinutesBefore * MINUTE, targetMs / 2);
  const warnAt = after(targetMs - before);
  return warnAt.getTime() < dueAt.getTime() ? { dueAt, warnAt } : { dueAt };
}

export interface SlaStartInput {
  readonly lead: {
    readonly priority: Priority;
    readonly teamId: string;
    readonly rule?: string | undefined;
    readonly ownerId?: string | undefined;
    readonly status: string;
    readonly acknowledgedAt?: string | undefined;
  };
  readonly sla: SlaConfig | undefined;
  readonly team: Pick<Team, 'businessHours'> | undefined;
  /** When the clock starts (a new lead: its capture time; otherwise the assignment's). */
  readonly start: Date;
  readonly reason: SlaRecord['reason'];
  /** The lead's clock so far, if it had one: the new one is its next generation. */
  readonly previous?: SlaRecord | undefined;
  /** Passes of the escalation levels already run (an escalation's reassignment carries them on). */
  readonly round?: number | undefined;
  /** SLA_TIME_SCALE (1 in production). */
  readonly scale?: number | undefined;
}

/**
 * A new clock for the lead's owner, or undefined when none runs: no owner (queued), a first response
 * already given (acknowledged, or past `new`), no policy, or no target for the lead's priority.
 */
export function startSlaClock(input: SlaStartInput): SlaRecord | undefined {
  const { lead } = input;
  if (!lead.ownerId || lead.status !== 'new' || lead.acknowledgedAt !== undefined) return undefined;
  const found = slaPolicyFor(input.sla, lead);
  if (!found) return undefined;
  const policy = scaleSlaPolicy(found.policy, input.scale ?? 1);
  const deadline = slaDeadline(lead, policy, input.team, input.start);
  if (!deadline) return undefined;
  const record: SlaRecord = {
    policyId: found.policyId,
    clock: policy.clock,
    priority: lead.priority,
    ownerId: lead.ownerId,
    generation: (input.previous?.generation ?? 0) + 1,
    reason: input.reason,
    startedAt: input.start.toISOString(),
    dueAt: deadline.dueAt.toISOString(),
    ...(deadline.warnAt ? { warnAt: deadline.warnAt.toISOString() } : {}),
    step: 0,
    level: input.previous?.level ?? 0,
    round: input.round ?? 0,
  };
  const first = slaSteps(record, policy)[0];
  return first ? { ...record, nextAt: first.at } : record;
}

/** One step of a clock: the owner's warning, the breach, or an escalation level. */
export type SlaStep =
  | { readonly kind: 'warning'; readonly at: string }
  | { readonly kind: 'breach'; readonly at: string }
  | {
      readonly kind: 'escalation';
      readonly at: string;
      /** 1-based over every pass: level 3 of a two-level policy is the first level's second pass. */
      readonly level: number;
      /** The pass (0-based) this level belongs to. */
      readonly round: number;
      readonly action: EscalationAction;
    };

/** Every step of the clock, in time order: the warning, the breach, then each pass of the levels left. */
export function slaSteps(record: SlaRecord, policy: SlaPolicy): SlaStep[] {
  const steps: SlaStep[] = [];
  const due = Date.parse(record.dueAt);
  if (record.warnAt && Date.parse(record.warnAt) < due) steps.push({ kind: 'warning', at: record.warnAt });
  steps.push({ kind: 'breach', at: record.dueAt });
  const { levels, repeat } = policy.escalation;
  for (let round = record.round; round <= repeat.times; round++) {
    const passStart = due + (round - record.round) * repeat.everyMinutes * MINUTE;
    levels.forEach((level, index) => {
      steps.push({
        kind: 'escalation',
        at: new Date(passStart + level.afterMinutes * MINUTE).toISOString(),
        level: round * levels.length + index + 1,
        round,
        action: level.action,
      });
    });
  }
  return steps;
}

/** What a clock's timer found: the lead as it is now, its clock, and the timer's own generation and step. */
export interface SlaState {
  readonly lead: {
    readonly status: string;
    readonly ownerId?: string | undefined;
    readonly acknowledgedAt?: string | undefined;
  };
  readonly sla?: SlaRecord | undefined;
  readonly timer: Pick<TimerOf<'sla'>, 'generation' | 'step'>;
}

/** Why a firing clock timer does nothing. */
export type SlaSkip = 'acknowledged' | 'contacted' | 'closed' | 'superseded' | 'not_due' | 'done';

export type SlaStepPlan =
  | { readonly kind: 'skip'; readonly reason: SlaSkip }
  | {
      readonly kind: 'act';
      /** The steps to take now, in order (a warning overtaken by a later step is left out). */
      readonly steps: readonly SlaStep[];
      /** The clock after them (its next step, or none after a reassignment: a new clock replaces it). */
      readonly record: SlaRecord;
      /** The next step of this clock, should a reassignment among `steps` not happen (nobody available). */
      readonly after?: { readonly at: string; readonly step: number } | undefined;
      /** The last step is a reassignment: when it happens, this clock ends and the new owner's begins. */
      readonly reassigns: boolean;
    };

const CLOSED = new Set(['won', 'lost']);

/**
 * What a firing clock timer does, decided from the lead as it is now, never from the timer alone: nothing
 * once the lead is acknowledged, contacted or closed, when a newer clock or a taken step made the timer
 * stale, or before the step is due (within `toleranceMs`); otherwise every step due by `now`, up to and
 * including a reassignment, and when the next one is due.
 */
export function planSlaStep(state: SlaState, policy: SlaPolicy, now: Date, toleranceMs = 1000): SlaStepPlan {
  const { lead, sla, timer } = state;
  const skip = (reason: SlaSkip): SlaStepPlan => ({ kind: 'skip', reason });
  if (!sla || sla.generation !== timer.generation) return skip('superseded');
  if (sla.stoppedBy) return skip(sla.stoppedBy);
  if (lead.acknowledgedAt !== undefined) return skip('acknowledged');
  if (CLOSED.has(lead.status)) return skip('closed');
  if (lead.status !== 'new') return skip('contacted');
  if (lead.ownerId !== sla.ownerId || timer.step !== sla.step) return skip('superseded');
  const steps = slaSteps(sla, policy);
  const horizon = now.getTime() + toleranceMs;
  const first = steps[sla.step];
  if (!first) return skip('done');
  if (Date.parse(first.at) > horizon) return skip('not_due');
  const due: SlaStep[] = [];
  let next = sla.step;
  for (; next < steps.length; next++) {
    const step = steps[next] as SlaStep;
    if (Date.parse(step.at) > horizon) break;
    due.push(step);
    if (step.kind === 'escalation' && step.action === 'reassign') {
      next++;
      break;
    }
  }
  const taken = due.filter((step, index) => step.kind !== 'warning' || index === due.length - 1);
  const at = now.toISOString();
  const levels = taken.flatMap((step) => (step.kind === 'escalation' ? [step.level] : []));
  const last = due[due.length - 1];
  const reassigns = last?.kind === 'escalation' && last.action === 'reassign';
  const following = steps[next];
  const after = following ? { at: following.at, step: next } : undefined;
  const { nextAt: _nextAt, ...rest } = sla;
  return {
    kind: 'act',
    steps: taken,
    record: {
      ...rest,
      step: next,
      level: Math.max(sla.level, ...levels),
      ...(taken.some((step) => step.kind === 'warning') ? { warnedAt: at } : {}),
      ...(taken.some((step) => step.kind === 'breach') ? { breachedAt: at } : {}),
      ...(levels.length > 0 ? { escalatedAt: at } : {}),
      ...(after && !reassigns ? { nextAt: after.at } : {}),
    },
    after,
    reassigns,
  };
}

/** The clock stopped by a first response now, or undefined when no clock runs (none, or already stopped). */
export function stopSlaClock(
  sla: SlaRecord | undefined,
  by: 'acknowledged' | 'contacted',
  at: Date,
):
  | { readonly stoppedAt: string; readonly stoppedBy: 'acknowledged' | 'contacted'; readonly summary: string }
  | undefined {
  if (!sla || sla.stoppedBy) return undefined;
  const leftMs = Date.parse(sla.dueAt) - at.getTime();
  const seconds = (ms: number) => `${Math.round(Math.abs(ms) / 1000)} s`;
  const how = by === 'acknowledged' ? 'acknowledged' : 'contacted';
  return {
    stoppedAt: at.toISOString(),
    stoppedBy: by,
    summary: `SLA clock stopped: ${how} ${leftMs >= 0 ? `${seconds(leftMs)} before` : `${seconds(leftMs)} after`} the ${sla.priority} deadline (${sla.policyId})`,
  };
}

/** The timer that wakes the clock for its next step; undefined when nothing more is due. */
export function slaTimerFor(
  lead: { readonly leadId: string; readonly contactId: string },
  sla: SlaRecord | undefined,
): Omit<TimerOf<'sla'>, 'hops'> | undefined {
  if (!sla || sla.nextAt === undefined || sla.stoppedBy) return undefined;
  return {
    kind: 'sla',
    timerId: `${lead.leadId}:sla:${sla.generation}:${sla.step}`,
    dueAt: sla.nextAt,
    leadId: lead.leadId,
    contactId: lead.contactId,
    generation: sla.generation,
    step: sla.step,
  };
}

/** A step in a line, for the timeline and the logs. */
export function describeSlaStep(step: SlaStep, sla: SlaRecord): string {
  switch (step.kind) {
    case 'warning':
      return `SLA warning: the ${sla.priority} first-response deadline is ${sla.dueAt} (${sla.policyId}); ${sla.ownerId} was reminded`;
    case 'breach':
      return `SLA breached: no first response from ${sla.ownerId} by the ${sla.priority} deadline ${sla.dueAt} (${sla.policyId})`;
    case 'escalation':
      return step.action === 'notify_team_lead'
        ? `Escalated (level ${step.level}): the team lead was alerted that ${sla.ownerId} has not responded`
        : `Escalated (level ${step.level}): passed on from ${sla.ownerId} to the next available manager`;
  }
}
