import { availabilityOf, type ManagerLoad, planAssignment } from './assignment';
import type { LeadflowConfig } from './config';
import type { Assignment } from './routing';

export interface ReassignInput {
  readonly config: LeadflowConfig;
  /** The lead as it stands: its team, owner and the assignment that put it there. */
  readonly lead: {
    readonly teamId: string;
    readonly ownerId?: string | undefined;
    readonly assignment: Assignment;
  };
  readonly loads: Readonly<Record<string, ManagerLoad>>;
  readonly now: Date;
  /** Who asks (a manager id or username), for the reason. */
  readonly actor: string;
  /** A named manager; unset: the next available one by the team's strategy. */
  readonly target?: string | undefined;
  /** Why, in the asker's words. */
  readonly reason?: string | undefined;
  readonly cursor?: { readonly teamId: string; readonly value: number } | undefined;
  /** Recorded as an escalation rather than a person's choice (the next issue's SLA reassignment). */
  readonly via?: 'manual' | 'escalation' | undefined;
}

export type ReassignPlan =
  | { readonly kind: 'needs_cursor'; readonly teamId: string }
  | { readonly kind: 'assigned'; readonly managerId: string; readonly assignment: Assignment }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

/**
 * Who a lead goes to when a person passes it on. A named manager must exist, be someone else, and be
 * available now (active, in office, within their hours, under capacity). Otherwise the lead's team picks
 * by its own strategy (`planAssignment`) with the current owner passed over, falling back as routing does;
 * when nobody else is available the lead stays where it is (refused), rather than going back to a queue.
 */
export function planReassignment(input: ReassignInput): ReassignPlan {
  const { config, lead, actor } = input;
  const why = input.reason ? `: ${input.reason}` : '';
  const by = input.via === 'escalation' ? 'Escalated' : `Reassigned by ${actor}`;
  if (input.target !== undefined) {
    const manager = config.managers.get(input.target);
    if (!manager) return { kind: 'refused', code: 'unknown_manager', message: `No manager ${input.target}.` };
    if (manager.id === lead.ownerId) {
      return { kind: 'refused', code: 'already_owner', message: `${manager.id} already has the lead.` };
    }
    const team = config.teamOf(manager.id);
    const availability = availabilityOf(manager, team, input.loads[manager.id], input.now);
    if (!availability.available) {
      return { kind: 'refused', code: 'unavailable', message: `${manager.id} is ${availability.detail}.` };
    }
    return {
      kind: 'assigned',
      managerId: manager.id,
      assignment: {
        ...carried(lead.assignment),
        ownerId: manager.id,
        teamId: team?.id ?? lead.teamId,
        rule: lead.assignment.rule,
        strategy: 'manual',
        reason: `${by} to ${manager.id}${why}${lead.ownerId ? ` (was ${lead.ownerId})` : ''}.`,
      },
    };
  }
  const plan = planAssignment({
    config,
    teamId: lead.teamId,
    loads: input.loads,
    cursor: input.cursor,
    now: input.now,
    exclude: lead.ownerId ? [lead.ownerId] : [],
  });
  if (plan.kind === 'needs_cursor') return plan;
  if (plan.kind === 'queued') {
    return {
      kind: 'refused',
      code: 'nobody_available',
      message: `Nobody else is available to take the lead: ${plan.reason}`,
    };
  }
  return {
    kind: 'assigned',
    managerId: plan.managerId,
    assignment: {
      ...carried(lead.assignment),
      ownerId: plan.managerId,
      teamId: plan.teamId,
      rule: lead.assignment.rule,
      strategy: plan.strategy,
      ...(plan.cursor === undefined ? {} : { cursor: plan.cursor }),
      ...(plan.fallbackFrom ? { fallbackFrom: plan.fallbackFrom } : {}),
      candidates: plan.candidates,
      reason: `${by}${why}${lead.ownerId ? ` (was ${lead.ownerId})` : ''}. ${plan.reason}`,
    },
  };
}

/** What a reassignment keeps of the lead's routing: its priority, score and tags. */
function carried(assignment: Assignment) {
  return {
    ...(assignment.priority ? { priority: assignment.priority } : {}),
    ...(assignment.score !== undefined ? { score: assignment.score } : {}),
    ...(assignment.tags ? { tags: assignment.tags } : {}),
  };
}
