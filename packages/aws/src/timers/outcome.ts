/** What a fired timer did: the timer function logs and counts it, and tests assert on it. */
export type TimerOutcome =
  | { readonly acted: string; readonly detail?: Readonly<Record<string, unknown>> }
  | { readonly skipped: TimerSkip; readonly detail?: Readonly<Record<string, unknown>> };

/**
 * Why a timer did nothing: the lead (or task) is gone, its clock was stopped by an acknowledgement or by
 * contact, a newer clock or step replaced it, the task is done, or it is not yet due (sent again).
 */
export type TimerSkip =
  | 'not_found'
  | 'acknowledged'
  | 'contacted'
  | 'closed'
  | 'superseded'
  | 'done'
  | 'no_policy'
  | 'no_recipient'
  | 'not_due'
  | 'waiting';
