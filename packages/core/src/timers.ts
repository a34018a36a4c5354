import { z } from 'zod';

/**
 * Timers are delayed messages on the timers queue (SQS `DelaySeconds`, at most 15 minutes; a timer due
 * later is sent again with the rest of its delay). A timer is only a wake-up call: whoever handles it
 * re-reads the state it is about and acts only when that state still asks for it.
 */

/** SQS's longest per-message delay on a standard queue. */
export const MAX_TIMER_DELAY_SECONDS = 900;

const iso = z.iso.datetime({ offset: true });

const timerBase = {
  /** Unique per scheduled timer (its re-sends keep it): the logs' and the metrics' handle. */
  timerId: z.string().min(1).max(200),
  /** When it is meant to fire (real time, the time scale already applied). */
  dueAt: iso,
  /** How many times it was sent again because SQS cannot delay it that long at once. */
  hops: z.number().int().nonnegative().default(0),
};

/** The SLA clock of one lead: the timer names the clock's generation and step it was set for. */
export const slaTimerSchema = z.object({
  kind: z.literal('sla'),
  ...timerBase,
  leadId: z.string().min(1),
  contactId: z.string().min(1),
  /** A new clock (a new owner, a new policy) is a new generation: timers of an older one do nothing. */
  generation: z.number().int().positive(),
  /** How many steps of this generation were taken when it was set: a step taken since makes it stale. */
  step: z.number().int().nonnegative(),
});

const taskTimer = {
  ...timerBase,
  taskId: z.string().min(1),
  leadId: z.string().min(1),
  contactId: z.string().min(1),
  /** The task's due time it was set for: a task moved since has newer timers, so this one does nothing. */
  taskDueAt: iso,
};

/** Reminds a task's assignee at its due time. */
export const taskReminderTimerSchema = z.object({ kind: z.literal('task_reminder'), ...taskTimer });
/** Tells the assignee's team lead a task is still open a while after its due time. */
export const taskOverdueTimerSchema = z.object({ kind: z.literal('task_overdue'), ...taskTimer });

/** A step of a lead's follow-up sequence falls due: decided then, from the lead's state at that time. */
export const followUpTimerSchema = z.object({
  kind: z.literal('followup'),
  ...timerBase,
  leadId: z.string().min(1),
  /** The lead's contact when it was scheduled (a merge may have moved it: the lead is found by id). */
  contactId: z.string().min(1),
  sequenceId: z.string().min(1),
  /** The step's index in its sequence. */
  step: z.number().int().nonnegative(),
});

/**
 * The body of a message on the timers queue. Each kind is one entry here (and one handler in the timer
 * function's dispatch table).
 */
export const timerMessageSchema = z.discriminatedUnion('kind', [
  slaTimerSchema,
  taskReminderTimerSchema,
  taskOverdueTimerSchema,
  followUpTimerSchema,
]);
export type TimerMessage = z.infer<typeof timerMessageSchema>;
export type TimerKind = TimerMessage['kind'];
/** A timer of one kind. */
export type TimerOf<K extends TimerKind> = Extract<TimerMessage, { kind: K }>;
/** What a scheduler is given: `hops` is the queue's own bookkeeping. */
export type TimerRequest = TimerMessage extends infer T
  ? T extends unknown
    ? Omit<T, 'hops'>
    : never
  : never;

/**
 * A delay under the time scale: `SLA_TIME_SCALE` (local runs and tests only) shrinks every SLA,
 * escalation, follow-up and reminder delay; 1 leaves it, and anything that is not a positive finite
 * number is treated as 1, so production can never be sped up by accident.
 */
export function scaledDelay(ms: number, scale: number): number {
  const factor = Number.isFinite(scale) && scale > 0 ? scale : 1;
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.round(ms * factor);
}

/**
 * Seconds the queue should hold a timer now: its remaining wait, whole seconds rounded up, at most SQS's
 * 900; 0 when it is due. A timer whose wait is longer is sent again when this delay ends.
 */
export function timerDelaySeconds(dueAt: string | Date, now: Date): number {
  const remainingMs = new Date(dueAt).getTime() - now.getTime();
  if (!(remainingMs > 0)) return 0;
  return Math.min(MAX_TIMER_DELAY_SECONDS, Math.ceil(remainingMs / 1000));
}

/**
 * Whether a fired timer is early enough that it must wait again (re-sent with the rest of its delay)
 * rather than act: more than `toleranceMs` before its due time.
 */
export function timerWaitsLonger(dueAt: string, now: Date, toleranceMs = 1000): boolean {
  return new Date(dueAt).getTime() - now.getTime() > toleranceMs;
}
