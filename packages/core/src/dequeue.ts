import { type ManagerLoad, planAssignment } from './assignment';
import type { LeadflowConfig } from './config';
import type { Assignment } from './routing';

/** What a queued lead carries into its dequeue plan, as stored. */
export interface QueuedLead {
  readonly leadId: string;
  /** The team whose queue the lead waits in. */
  readonly teamId: string;
  /** The assignment recorded when the lead was queued: its rule, priority, score and tags stay. */
  readonly assignment: Assignment;
  /** When the lead entered the queue. */
  readonly queuedAt?: string | undefined;
}

export interface DequeueInput {
  readonly config: LeadflowConfig;
  readonly lead: QueuedLead;
  /** The contact's owner now, if any: a returning contact goes back to them when they are available. */
  readonly contactOwnerId?: string | undefined;
  readonly loads: Readonly<Record<string, ManagerLoad>>;
  /** The team's cursor, drawn once by the adapter when the plan asked for it. */
  readonly cursor?: { readonly teamId: string; readonly value: number } | undefined;
  readonly now: Date;
}

export type DequeuePlan =
  | { readonly kind: 'needs_cursor'; readonly teamId: string }
  /** Nobody who could take it is available: the lead stays in the queue, and so do the ones behind it. */
  | { readonly kind: 'wait'; readonly reason: string }
  | {
      readonly kind: 'assign';
      readonly managerId: string;
      /** The lead's new assignment: the queued one's rule, priority, score and tags, with its owner now. */
      readonly record: Assignment;
      /** The owner the contact has after this: unchanged for a substitution. */
      readonly contactOwnerId: string;
      /** Whole seconds the lead waited in the queue. */
      readonly waitedSeconds: number;
    };

/**
 * Who takes a lead waiting in its team's queue, now that someone may be available: the same
 * `planAssignment` the router uses, on the queue's team and on the contact's owner, so a returning
 * contact goes back to their owner and round robin keeps its turns (no one gets the queue's backlog in a
 * burst on their return). The lead's rule, priority, score and tags stay as they were decided.
 */
export function planDequeue(input: DequeueInput): DequeuePlan {
  const { lead, now } = input;
  const plan = planAssignment({
    config: input.config,
    teamId: lead.teamId,
    ownerId: input.contactOwnerId,
    loads: input.loads,
    cursor: input.cursor,
    now,
  });
  if (plan.kind === 'needs_cursor') return plan;
  // Still nobody, or the team now falls back to another team that has nobody either.
  if (plan.kind === 'queued') return { kind: 'wait', reason: plan.reason };

  const since = lead.queuedAt ? Date.parse(lead.queuedAt) : Number.NaN;
  const waitedSeconds = Number.isNaN(since) ? 0 : Math.max(0, Math.round((now.getTime() - since) / 1000));
  const {
    ownerId: _queued,
    cursor: _cursor,
    substitutedFor: _for,
    fallbackFrom: _from,
    ...kept
  } = lead.assignment;
  return {
    kind: 'assign',
    managerId: plan.managerId,
    record: {
      ...kept,
      ownerId: plan.managerId,
      teamId: plan.teamId,
      strategy: plan.strategy,
      reason: `Waited ${waited(waitedSeconds)} in ${lead.teamId}'s queue, then: ${plan.reason}`,
      candidates: plan.candidates,
      ...(plan.cursor === undefined ? {} : { cursor: plan.cursor }),
      ...(plan.substitutedFor ? { substitutedFor: plan.substitutedFor } : {}),
      ...(plan.fallbackFrom && plan.fallbackFrom.length > 0 ? { fallbackFrom: [...plan.fallbackFrom] } : {}),
    },
    // As when routing: a substitute takes this lead, the contact stays with its owner.
    contactOwnerId: plan.substitutedFor ?? plan.managerId,
    waitedSeconds,
  };
}

function waited(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}
