import { z } from 'zod';

/**
 * The sales funnel: `new → contacted → qualified → proposal → won | lost`. Pure rules over a lead's state
 * and `now`; the adapter commits a plan's changes with the lead's version as its condition.
 */
export const STAGES = ['new', 'contacted', 'qualified', 'proposal', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];
export const stageSchema = z.enum(STAGES);
export const OPEN_STAGES: readonly Stage[] = ['new', 'contacted', 'qualified', 'proposal'];
export const CLOSED_STAGES: readonly Stage[] = ['won', 'lost'];

/** Stages whose first arrival is counted (and stamped `<stage>At`) once per lead. */
export const COUNTED_STAGES = ['contacted', 'qualified', 'proposal', 'won', 'lost'] as const;
export type CountedStage = (typeof COUNTED_STAGES)[number];

const rank: Record<Stage, number> = { new: 0, contacted: 1, qualified: 2, proposal: 3, won: 4, lost: 4 };

export function isOpenStage(stage: string): boolean {
  return (OPEN_STAGES as readonly string[]).includes(stage);
}

const CURRENCIES = new Set(
  (Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('currency'),
);

/** A stage change as a client asks for it (`PATCH /v1/leads/{id}`). */
export const stageChangeSchema = z
  .object({
    status: stageSchema,
    /** Why the lead was lost (required for `lost`). */
    reason: z.string().trim().min(1).max(500).optional(),
    /** What was won (required for `won`), in `currency`'s major unit. */
    amount: z.number().positive().max(1e12).optional(),
    currency: z
      .string()
      .trim()
      .toUpperCase()
      .refine((code) => CURRENCIES.has(code), 'an ISO 4217 currency code such as USD, KRW or THB')
      .optional(),
  })
  .strict();
export type StageChange = z.infer<typeof stageChangeSchema>;

/** The funnel state of a lead, as stored. */
export interface FunnelState {
  readonly status: Stage;
  readonly capturedAt: string;
  readonly ownerId?: string | undefined;
  readonly contactedAt?: string | undefined;
  readonly qualifiedAt?: string | undefined;
  readonly proposalAt?: string | undefined;
  readonly wonAt?: string | undefined;
  readonly lostAt?: string | undefined;
  readonly acknowledgedAt?: string | undefined;
  readonly firstResponseAt?: string | undefined;
}

/** The lead's first response: what speed to lead is measured to. */
export interface FirstResponse {
  readonly at: string;
  readonly by: string;
  readonly via: 'acknowledged' | 'contacted';
  /** Capture to first response, in milliseconds (never negative). */
  readonly speedMs: number;
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export type StagePlan =
  | {
      readonly ok: true;
      readonly changed: boolean;
      readonly from: Stage;
      readonly to: Stage;
      /** Attributes to set on the lead. */
      readonly set: Readonly<Record<string, unknown>>;
      /** Stages this change reaches for the first time: each counts once in the analytics. */
      readonly reached: readonly CountedStage[];
      /** Set when this change is the lead's first response. */
      readonly firstResponse?: FirstResponse | undefined;
      /** `won` or `lost`: the lead no longer counts as open for its owner. */
      readonly closes: boolean;
      /** One line for the timeline. */
      readonly summary: string;
    }
  | {
      readonly ok: false;
      readonly status: 409 | 422;
      readonly code: string;
      readonly fields: FieldProblem[];
    };

function firstResponse(state: FunnelState, by: string, via: FirstResponse['via'], now: Date): FirstResponse {
  return {
    at: now.toISOString(),
    by,
    via,
    speedMs: Math.max(0, now.getTime() - Date.parse(state.capturedAt)),
  };
}

/**
 * Plans a stage change by `actor` (a manager id or a username) at `now`:
 * - `won` and `lost` are final (409 `lead_closed`); no lead goes back to `new`;
 * - open stages may move forward or back (a correction), skipping stages forward stamps them reached;
 * - `won` needs the lead to have been contacted, an amount and a currency; `lost` needs a reason;
 * - reaching `contacted` (or beyond) is the first response when nobody acknowledged before.
 */
export function planStageChange(
  state: FunnelState,
  change: StageChange,
  actor: string,
  now: Date,
): StagePlan {
  const from = state.status;
  const to = change.status;
  const refuse = (status: 409 | 422, code: string, ...fields: FieldProblem[]): StagePlan => ({
    ok: false,
    status,
    code,
    fields,
  });
  if (!isOpenStage(from)) {
    if (from === to)
      return { ok: true, changed: false, from, to, set: {}, reached: [], closes: false, summary: '' };
    return refuse(409, 'lead_closed', {
      field: 'status',
      message: `the lead is ${from}; a closed lead stays closed`,
    });
  }
  if (from === to)
    return { ok: true, changed: false, from, to, set: {}, reached: [], closes: false, summary: '' };
  if (to === 'new')
    return refuse(422, 'invalid_transition', { field: 'status', message: 'a lead never goes back to new' });
  const problems: FieldProblem[] = [];
  if (to === 'won') {
    if (!state.contactedAt)
      problems.push({
        field: 'status',
        message: 'a lead is won only after it was contacted: move it to contacted first',
      });
    if (change.amount === undefined) problems.push({ field: 'amount', message: 'won needs the amount' });
    if (change.currency === undefined)
      problems.push({ field: 'currency', message: 'won needs the currency' });
  }
  if (to === 'lost' && change.reason === undefined)
    problems.push({ field: 'reason', message: 'lost needs a reason' });
  if (to !== 'won' && (change.amount !== undefined || change.currency !== undefined))
    problems.push({ field: 'amount', message: 'an amount and currency belong to won only' });
  if (to !== 'lost' && change.reason !== undefined)
    problems.push({ field: 'reason', message: 'a reason belongs to lost only' });
  if (problems.length > 0) return refuse(422, 'invalid_transition', ...problems);

  const at = now.toISOString();
  const set: Record<string, unknown> = { status: to, statusChangedAt: at, statusChangedBy: actor };
  const reached: CountedStage[] = [];
  const stamp = (stage: CountedStage) => {
    const field = `${stage}At` as keyof FunnelState;
    if (state[field] === undefined) {
      set[field] = at;
      reached.push(stage);
    }
  };
  // Moving forward past a stage reaches it too (new → qualified was contacted on the way); `lost` does
  // not: a lead lost before anyone reached it was never contacted.
  if (to !== 'lost') {
    for (const stage of ['contacted', 'qualified', 'proposal'] as const)
      if (rank[stage] <= rank[to]) stamp(stage);
  }
  if (to === 'won' || to === 'lost') stamp(to);
  if (to === 'won') {
    set.amount = change.amount;
    set.currency = change.currency;
  }
  if (to === 'lost') set.lostReason = change.reason;
  const response =
    state.firstResponseAt === undefined && to !== 'lost'
      ? firstResponse(state, actor, 'contacted', now)
      : undefined;
  if (response) {
    set.firstResponseAt = response.at;
    set.firstResponseBy = response.by;
    set.firstResponseVia = response.via;
    set.speedToLeadMs = response.speedMs;
  }
  const closes = to === 'won' || to === 'lost';
  if (closes) set.closedAt = at;
  const detail =
    to === 'won'
      ? ` (${change.amount} ${change.currency})`
      : to === 'lost'
        ? ` (reason: ${change.reason})`
        : '';
  return {
    ok: true,
    changed: true,
    from,
    to,
    set,
    reached,
    firstResponse: response,
    closes,
    summary: `Status ${from} → ${to}${detail} by ${actor}`,
  };
}

export type AcknowledgePlan =
  | { readonly changed: false; readonly acknowledgedAt: string }
  | {
      readonly changed: true;
      readonly set: Readonly<Record<string, unknown>>;
      readonly firstResponse?: FirstResponse | undefined;
      readonly summary: string;
    };

/** "I'm on it": the first acknowledgement is recorded (and is the first response if none came before); a repeat changes nothing. */
export function planAcknowledge(state: FunnelState, actor: string, now: Date): AcknowledgePlan {
  if (state.acknowledgedAt) return { changed: false, acknowledgedAt: state.acknowledgedAt };
  const at = now.toISOString();
  const response =
    state.firstResponseAt === undefined ? firstResponse(state, actor, 'acknowledged', now) : undefined;
  return {
    changed: true,
    set: {
      acknowledgedAt: at,
      acknowledgedBy: actor,
      ...(response
        ? {
            firstResponseAt: response.at,
            firstResponseBy: response.by,
            firstResponseVia: response.via,
            speedToLeadMs: response.speedMs,
          }
        : {}),
    },
    firstResponse: response,
    summary: `Acknowledged by ${actor} ("I'm on it")`,
  };
}

/** The lead's entity tag: its version, quoted as RFC 9110 asks. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/** Whether an `If-Match` header matches the version (`*` matches any); absent means no precondition. */
export function ifMatchHolds(header: string | undefined, version: number): boolean {
  if (header === undefined || header.trim() === '') return true;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etagOf(version));
}

/** A task on a lead: a call, meeting or email due at a time, with an assignee. */
export const TASK_TYPES = ['call', 'meeting', 'email'] as const;
export const newTaskSchema = z
  .object({
    type: z.enum(TASK_TYPES),
    dueAt: z.iso.datetime({ offset: true }),
    /** A manager id; unset: the viewer themselves. */
    assigneeId: z.string().min(1).max(64).optional(),
    title: z.string().trim().min(1).max(200).optional(),
    notes: z.string().trim().max(2000).optional(),
  })
  .strict();
export type NewTask = z.infer<typeof newTaskSchema>;

export const taskPatchSchema = z
  .object({ status: z.enum(['open', 'done']).optional(), dueAt: z.iso.datetime({ offset: true }).optional() })
  .strict()
  .refine((patch) => patch.status !== undefined || patch.dueAt !== undefined, 'give status or dueAt');
export type TaskPatch = z.infer<typeof taskPatchSchema>;

export const newNoteSchema = z.object({ text: z.string().trim().min(1).max(5000) }).strict();
