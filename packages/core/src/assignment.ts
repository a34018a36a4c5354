import type { LeadflowConfig, Manager, Strategy, Team } from './config';
import { isOpen } from './hours';

/** What the adapter counts on write for each manager: open leads now, and when they last got one. */
export type ManagerLoad = { openLeads: number; lastAssignedAt?: string };

export type UnavailableReason =
  | 'inactive'
  | 'out_of_office'
  | 'outside_working_hours'
  | 'at_capacity'
  | 'passed_over';

export type Availability =
  | { available: true }
  | { available: false; reason: UnavailableReason; detail: string };

/** One manager an assignment looked at: whether they could take the lead, and why they did or did not. */
export interface Candidate {
  managerId: string;
  teamId: string;
  chosen: boolean;
  available: boolean;
  why: string;
}

export type AssignmentStrategy = 'sticky_owner' | 'substitution' | Strategy;

export interface AssignmentInput {
  config: LeadflowConfig;
  /** The team the routing rules chose. */
  teamId: string;
  /** The contact's current owner, if any. */
  ownerId?: string | undefined;
  /** Per manager id, as counted on write; a manager missing here has no open leads and was never assigned. */
  loads: Readonly<Record<string, ManagerLoad>>;
  /** A value drawn atomically from `teamId`'s cursor (1, 2, 3, …), once the plan asked for it. */
  cursor?: { teamId: string; value: number } | undefined;
  now: Date;
  /** Managers passed over this time (a lead being passed on skips its current owner). */
  exclude?: readonly string[] | undefined;
}

export type AssignmentPlan =
  /** The answer depends on this team's cursor: draw it once, and plan again with it (and on every retry). */
  | { kind: 'needs_cursor'; teamId: string }
  | {
      kind: 'assigned';
      managerId: string;
      /** The team the manager was chosen in: the owner's team for `sticky_owner` and `substitution`. */
      teamId: string;
      strategy: AssignmentStrategy;
      /** The cursor value the choice consumed (round robin and weighted round robin). */
      cursor?: number;
      /** Teams that had nobody available, in the order the lead fell back through them. */
      fallbackFrom?: string[];
      candidates: Candidate[];
      /** One line for the lead, its timeline and the manager's alert. */
      reason: string;
      /** The contact's owner, unavailable now, who keeps the contact: the adapter must not move ownership. */
      substitutedFor?: string;
    }
  | {
      kind: 'queued';
      /** The team whose queue the lead waits in, until someone there is available. */
      teamId: string;
      candidates: Candidate[];
      reason: string;
      /** Who gets the warning; the leads of the `fallbackFrom` teams are owed one too. */
      teamLeadId?: string;
      fallbackFrom?: string[];
    };

/** A manager's open-lead cap: their own, else their team's; undefined means no cap. */
export function capacityOf(manager: Manager, team: Team | undefined): number | undefined {
  return manager.capacity ?? team?.capacity;
}

/**
 * Whether a manager can take a lead now, and if not, why. `team` is the manager's own team (for its
 * default capacity). Only the manager's own working hours count: a team's business hours tag and time
 * leads, they never hold one back.
 */
export function availabilityOf(
  manager: Manager,
  team: Team | undefined,
  state: ManagerLoad | undefined,
  now: Date,
): Availability {
  if (!manager.active) return { available: false, reason: 'inactive', detail: 'inactive' };
  if (manager.outOfOfficeUntil && now.getTime() < Date.parse(manager.outOfOfficeUntil)) {
    return {
      available: false,
      reason: 'out_of_office',
      detail: `out of office until ${manager.outOfOfficeUntil}`,
    };
  }
  if (manager.workingHours && !isOpen(manager.workingHours, now)) {
    return {
      available: false,
      reason: 'outside_working_hours',
      detail: `outside working hours (${manager.workingHours.timeZone})`,
    };
  }
  const capacity = capacityOf(manager, team);
  const open = state?.openLeads ?? 0;
  if (capacity !== undefined && open >= capacity) {
    return {
      available: false,
      reason: 'at_capacity',
      detail: `at capacity (${open} of ${capacity} open leads)`,
    };
  }
  return { available: true };
}

/**
 * The smooth weighted round-robin order (nginx's SWRR) of one cycle: each id appears `weight` times in
 * `sum(weight)` slots, spread out rather than in bursts (2:1 gives a, b, a). Deterministic for a given
 * list; ties go to the earlier entry.
 */
export function smoothWeightedSequence(entries: readonly { id: string; weight: number }[]): string[] {
  const total = entries.reduce((sum, entry) => sum + entry.weight, 0);
  const current = entries.map(() => 0);
  const sequence: string[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    entries.forEach((entry, index) => {
      current[index] = (current[index] ?? 0) + entry.weight;
      if ((current[index] ?? 0) > (current[best] ?? 0)) best = index;
    });
    current[best] = (current[best] ?? 0) - total;
    sequence.push((entries[best] as { id: string }).id);
  }
  return sequence;
}

/**
 * Who takes a lead, as a pure function of the configuration, the managers' loads, the team's cursor and
 * `now`, with every candidate and a one-line reason. The same input always gives the same plan, so an
 * adapter that reuses one drawn cursor value for every retry of a capture never skips a slot.
 *
 * - A returning contact goes to its owner while the owner is available (no cursor: ownership does not
 *   move the fairness counter). When the owner is not, the available teammate with the fewest open leads
 *   (then longest since their last assignment, then configured order) takes this lead as a substitution,
 *   again without a cursor, so nobody gains or loses a turn; the contact keeps its owner. With no teammate
 *   available, the target team's strategy decides, still on the owner's behalf (`substitutedFor`).
 * - Round robin and weighted round robin map the cursor onto the managers available now, so a change in
 *   availability shifts the slots (someone may get two in a row around the change), and a manager back
 *   from leave takes only their share from then on: nobody accumulates a debt of missed turns.
 * - Least loaded compares open leads, so leads still open from before a leave keep counting, and a
 *   manager whose leads were closed meanwhile is favoured until the counts even out.
 * - When nobody in a team is available, its `whenNobodyAvailable` sends the lead to the fallback team
 *   or to the team's queue (with the team lead to warn). A fallback that would loop queues instead.
 */
export function planAssignment(input: AssignmentInput): AssignmentPlan {
  const { config, ownerId } = input;
  const owner = ownerId ? config.managers.get(ownerId) : undefined;
  if (!ownerId) return planTeam(input, input.teamId, { candidates: [], notes: [], fallbackFrom: [] });
  if (!owner?.active) {
    return planTeam(input, input.teamId, {
      candidates: [],
      notes: [`Previous owner ${ownerId} is no longer active.`],
      fallbackFrom: [],
    });
  }

  const ownerTeam = config.teamOf(owner.id);
  if (!ownerTeam) throw new Error(`Manager ${owner.id} belongs to no team`);
  const self = evaluate(owner, ownerTeam, input);
  if (self.availability.available) {
    return {
      kind: 'assigned',
      managerId: owner.id,
      teamId: ownerTeam.id,
      strategy: 'sticky_owner',
      candidates: [candidate(self, true, "the contact's owner, available")],
      reason: `Returning contact: kept with their owner ${owner.id}.`,
    };
  }

  const teammates = ownerTeam.managers
    .filter((manager) => manager.id !== owner.id)
    .map((manager) => evaluate(manager, ownerTeam, input));
  const substitute = leastLoaded(teammates.filter(isAvailable));
  const candidates = [
    candidate(self, false, `owner, ${self.availability.detail}`),
    ...teammates.map((entry) =>
      entry === substitute?.chosen
        ? candidate(entry, true, `substitute for ${owner.id}: ${substitute.why}`)
        : unchosen(entry, `available, ${openLeads(entry.load.openLeads)}`),
    ),
  ];
  const absence = `Owner ${owner.id} is ${self.availability.detail}`;
  if (substitute) {
    const { id } = substitute.chosen.manager;
    return {
      kind: 'assigned',
      managerId: id,
      teamId: ownerTeam.id,
      strategy: 'substitution',
      candidates,
      reason: `${absence}: ${id} substitutes in ${ownerTeam.id} (${substitute.why}); the contact stays with ${owner.id}.`,
      substitutedFor: owner.id,
    };
  }
  // When the owner's team is the target, its own "nobody is available" sentence lists the teammates.
  const elsewhere =
    ownerTeam.id === input.teamId
      ? ''
      : `, and nobody else in ${ownerTeam.id} is available${inParentheses(skipped(teammates))}`;
  return planTeam(input, input.teamId, {
    candidates,
    notes: [`${absence}${elsewhere}; the contact stays with ${owner.id}.`],
    fallbackFrom: [],
    substitutedFor: owner.id,
  });
}

interface Evaluated {
  readonly manager: Manager;
  readonly team: Team;
  readonly load: ManagerLoad;
  readonly availability: Availability;
}

/** What the steps before this team decided: carried into the plan this team makes. */
interface Trail {
  readonly candidates: readonly Candidate[];
  /** Sentences that precede the strategy's own: the owner's absence, fallbacks. */
  readonly notes: readonly string[];
  readonly fallbackFrom: readonly string[];
  readonly substitutedFor?: string;
}

/** Plans in one team: its strategy over the managers available now, else its `whenNobodyAvailable`. */
function planTeam(input: AssignmentInput, teamId: string, trail: Trail): AssignmentPlan {
  const team = input.config.team(teamId);
  const evaluated = team.managers.map((manager) => evaluate(manager, team, input));
  const available = evaluated.filter(isAvailable);
  // The owner's teammates, when the owner's team is also the target, are listed once.
  const listed = new Set(trail.candidates.map((entry) => entry.managerId));
  const candidatesWith = (describe: (entry: Evaluated) => Candidate): Candidate[] => [
    ...trail.candidates,
    ...evaluated.filter((entry) => !listed.has(entry.manager.id)).map(describe),
  ];
  const fallbackFrom = trail.fallbackFrom.length > 0 ? { fallbackFrom: [...trail.fallbackFrom] } : {};

  if (available.length === 0) {
    const nobody = `Nobody is available in ${team.id}${inParentheses(skipped(evaluated))}`;
    const candidates = candidatesWith((entry) => unchosen(entry, ''));
    const action = team.whenNobodyAvailable;
    const visited = [...trail.fallbackFrom, team.id];
    if (action.action === 'fallback' && !visited.includes(action.teamId)) {
      return planTeam(input, action.teamId, {
        ...trail,
        candidates,
        notes: [...trail.notes, `${nobody}; fell back to ${action.teamId}.`],
        fallbackFrom: visited,
      });
    }
    // Configuration validation forbids a fallback loop; should one slip through, the lead waits here.
    const loop = action.action === 'fallback' ? `; its fallback to ${action.teamId} would loop, so` : ';';
    const warned = team.teamLead ? `; team lead ${team.teamLead} warned` : '';
    return {
      kind: 'queued',
      teamId: team.id,
      candidates,
      reason: [...trail.notes, `${nobody}${loop} it waits in ${team.id}'s queue${warned}.`].join(' '),
      ...(team.teamLead ? { teamLeadId: team.teamLead } : {}),
      ...fallbackFrom,
    };
  }

  const assigned = (
    pick: Pick,
    others: (entry: Evaluated) => string,
    summary: string,
    cursor?: number,
  ): AssignmentPlan => ({
    kind: 'assigned',
    managerId: pick.chosen.manager.id,
    teamId: team.id,
    strategy: team.strategy,
    ...(cursor === undefined ? {} : { cursor }),
    ...fallbackFrom,
    candidates: candidatesWith((entry) =>
      entry === pick.chosen ? candidate(entry, true, pick.why) : unchosen(entry, others(entry)),
    ),
    reason: [
      ...trail.notes,
      `${LABELS[team.strategy]} in ${team.id}: ${summary}${skipped(evaluated)
        .map((line) => `; ${line.replace(': ', ' skipped: ')}`)
        .join('')}.`,
    ].join(' '),
    ...(trail.substitutedFor ? { substitutedFor: trail.substitutedFor } : {}),
  });

  if (team.strategy === 'least_loaded') {
    const pick = leastLoaded(available) as Pick;
    return assigned(
      pick,
      (entry) => `available, ${openLeads(entry.load.openLeads)}`,
      `${pick.chosen.manager.id}, ${pick.why}`,
    );
  }

  if (input.cursor?.teamId !== team.id) return { kind: 'needs_cursor', teamId: team.id };
  const cursor = input.cursor.value;
  if (!Number.isSafeInteger(cursor) || cursor < 1)
    throw new RangeError(`Cursor must be a positive integer, got ${cursor}`);

  if (team.strategy === 'weighted_round_robin') {
    const sequence = smoothWeightedSequence(
      available.map((entry) => ({ id: entry.manager.id, weight: entry.manager.weight })),
    );
    const total = sequence.length;
    const position = (cursor - 1) % total;
    const chosen = available.find((entry) => entry.manager.id === sequence[position]) as Evaluated;
    const weight = (entry: Evaluated) => `weight ${entry.manager.weight} of ${total}`;
    const place = `position ${position + 1} of ${total} (cursor ${cursor})`;
    return assigned(
      { chosen, why: `next in weighted round robin (${place}), ${weight(chosen)}` },
      (entry) => `available, ${weight(entry)}`,
      `${chosen.manager.id}, ${weight(chosen)}, ${place}`,
      cursor,
    );
  }

  const slot = (cursor - 1) % available.length;
  const chosen = available[slot] as Evaluated;
  const slotOf = (entry: Evaluated) => `slot ${available.indexOf(entry) + 1} of ${available.length}`;
  return assigned(
    { chosen, why: `next in round robin (cursor ${cursor}, ${slotOf(chosen)})` },
    (entry) => `available, ${slotOf(entry)}`,
    `${chosen.manager.id}, ${slotOf(chosen)} (cursor ${cursor})`,
    cursor,
  );
}

const LABELS: Record<Strategy, string> = {
  round_robin: 'Round robin',
  weighted_round_robin: 'Weighted round robin',
  least_loaded: 'Least loaded',
};

function evaluate(manager: Manager, team: Team, input: AssignmentInput): Evaluated {
  const load = input.loads[manager.id] ?? { openLeads: 0 };
  if (input.exclude?.includes(manager.id)) {
    return {
      manager,
      team,
      load,
      availability: { available: false, reason: 'passed_over', detail: 'passing the lead on' },
    };
  }
  return { manager, team, load, availability: availabilityOf(manager, team, load, input.now) };
}

function isAvailable(entry: Evaluated): boolean {
  return entry.availability.available;
}

interface Pick {
  readonly chosen: Evaluated;
  readonly why: string;
}

/** Milliseconds of the last assignment; never assigned (or unreadable) sorts first. */
function lastAssigned(load: ManagerLoad): number {
  const at = load.lastAssignedAt ? Date.parse(load.lastAssignedAt) : Number.NaN;
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

/**
 * Fewest open leads, then whoever waited longest since their last assignment (never assigned first),
 * then configured order, which decides only between managers equal on both.
 */
function leastLoaded(available: readonly Evaluated[]): Pick | undefined {
  const sorted = [...available].sort(
    (a, b) => a.load.openLeads - b.load.openLeads || lastAssigned(a.load) - lastAssigned(b.load),
  );
  const [chosen, runnerUp] = sorted;
  if (!chosen) return undefined;
  let why = `fewest open leads (${chosen.load.openLeads})`;
  if (runnerUp && runnerUp.load.openLeads === chosen.load.openLeads) {
    why +=
      lastAssigned(runnerUp.load) === lastAssigned(chosen.load)
        ? ', first in configured order among equals'
        : `, longest since last assignment (${chosen.load.lastAssignedAt ?? 'never assigned'})`;
  }
  return { chosen, why };
}

function openLeads(count: number): string {
  return `${count} open lead${count === 1 ? '' : 's'}`;
}

function candidate(entry: Evaluated, chosen: boolean, why: string): Candidate {
  return {
    managerId: entry.manager.id,
    teamId: entry.team.id,
    chosen,
    available: entry.availability.available,
    why,
  };
}

/** A manager who was not chosen: why they were skipped, or `whyAvailable` when someone else won. */
function unchosen(entry: Evaluated, whyAvailable: string): Candidate {
  return candidate(entry, false, entry.availability.available ? whyAvailable : entry.availability.detail);
}

/** `bob: out of office until …` for each unavailable manager; inactive ones have left and go unmentioned. */
function skipped(entries: readonly Evaluated[]): string[] {
  return entries.flatMap(({ manager, availability }) =>
    !availability.available && availability.reason !== 'inactive'
      ? [`${manager.id}: ${availability.detail}`]
      : [],
  );
}

function inParentheses(lines: readonly string[]): string {
  return lines.length > 0 ? ` (${lines.join(', ')})` : '';
}
