import { z } from 'zod';
import type { LeadflowConfig } from './config';
import { RoleForbiddenError, ValidationError } from './errors';
import { COUNTED_STAGES, type CountedStage } from './funnel';
import type { Viewer } from './viewer';

/**
 * Analytics maintained on write, never by a scan. Every event about a lead becomes counters added to a
 * few stats items, one per scope and day:
 * - the day is the lead's capture day in the business's time zone (cohorts: a lead captured on the 3rd and
 *   won on the 20th counts as won on the 3rd), so "won / captured" over a range is a true conversion rate;
 * - the scopes are `ALL`, `TEAM#<teamId>` and `MANAGER#<managerId>`, so each viewer reads only the items
 *   of what they may see.
 *
 * A counter's attribute name is `<team>|<kind>|…`, every variable segment URI-encoded (so no segment holds
 * a `|`), whatever its scope:
 * - `<team>|ch|<channel>|<metric>`: captured, contacted, qualified, proposal, won, lost, breached;
 * - `<team>|src|<utm_source>|<metric>`: the same per `utm_source` (`(none)` when absent);
 * - `<team>|amt|ch|<channel>|<currency>` and `<team>|amt|src|<utm_source>|<currency>`: won amounts;
 * - `<team>|mgr|<manager>|<metric>`: assigned, pending, responded, unassigned, won, lost, breached;
 * - `<team>|spd|<manager>`: a list of speed-to-lead samples, in milliseconds.
 *
 * The team segment (the lead's team when the event happened) keeps overlapping scopes apart: a team lead
 * reads their teams' items plus their own manager items without the cells of those teams, so nothing is
 * counted twice. In a `MANAGER#` item the channel and source `captured` count the leads that came into the
 * manager's hands (assigned, less those taken away before a first response), not captures.
 */

export const MAX_ANALYTICS_DAYS = 366;
/** The range when none is asked for: the last 30 days, today included. */
export const DEFAULT_ANALYTICS_DAYS = 30;
/** The source key of leads without a `utm_source`. */
export const NO_UTM_SOURCE = '(none)';

export type AnalyticsScope = 'ALL' | `TEAM#${string}` | `MANAGER#${string}`;

export const analyticsScope = {
  all: 'ALL' as const,
  team: (teamId: string): AnalyticsScope => `TEAM#${teamId}`,
  manager: (managerId: string): AnalyticsScope => `MANAGER#${managerId}`,
};

// ---------------------------------------------------------------------------------------------------------
// Business days

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function businessDay(iso: string, timeZone: string): string {
  const instant = Date.parse(iso);
  if (Number.isNaN(instant)) throw new Error(`Not an ISO timestamp: ${iso}`);
  let format = dayFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      calendar: 'gregory',
      numberingSystem: 'latn',
    });
    dayFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  return `${String(parts.year).padStart(4, '0')}-${parts.month}-${parts.day}`;
}

function dayNumber(day: string): number {
  const match = DAY.exec(day);
  if (!match) throw new Error(`Not a day (YYYY-MM-DD): ${day}`);
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
}

function dayOfNumber(value: number): string {
  return new Date(value * DAY_MS).toISOString().slice(0, 10);
}

/** Whether a string is a real calendar day written YYYY-MM-DD (no 2025-02-30). */
export function isDay(value: string): boolean {
  return DAY.test(value) && dayOfNumber(dayNumber(value)) === value;
}

/** `day` moved by `days` (negative: back). */
export function addDays(day: string, days: number): string {
  return dayOfNumber(dayNumber(day) + days);
}

/** Every day from `from` to `to`, both included (empty when `from` is after `to`). */
export function daysOf(from: string, to: string): string[] {
  const first = dayNumber(from);
  const last = dayNumber(to);
  const days: string[] = [];
  for (let value = first; value <= last; value++) days.push(dayOfNumber(value));
  return days;
}

/** A query's day, as the API accepts it. */
export const daySchema = z.string().refine(isDay, 'a calendar day written YYYY-MM-DD');

/**
 * The range a report covers, in the business's days: `to` defaults to today (at `now`), `from` to 29 days
 * before `to`. 422 when a day is malformed, `from` is after `to`, or the range is longer than 366 days.
 */
export function analyticsRange(
  query: { readonly from?: string | undefined; readonly to?: string | undefined },
  now: Date,
  timeZone: string,
): { readonly from: string; readonly to: string } {
  for (const field of ['from', 'to'] as const) {
    const value = query[field];
    if (value !== undefined && !isDay(value)) {
      throw new ValidationError('The range has invalid fields.', [
        { field, code: 'invalid_day', message: 'a calendar day written YYYY-MM-DD' },
      ]);
    }
  }
  const to = query.to ?? businessDay(now.toISOString(), timeZone);
  const from = query.from ?? addDays(to, -(DEFAULT_ANALYTICS_DAYS - 1));
  const length = dayNumber(to) - dayNumber(from) + 1;
  if (length < 1) {
    throw new ValidationError('The range ends before it starts.', [
      { field: 'from', code: 'invalid_range', message: 'from must be on or before to' },
    ]);
  }
  if (length > MAX_ANALYTICS_DAYS) {
    throw new ValidationError('The range is too long.', [
      {
        field: 'from',
        code: 'range_too_long',
        message: `at most ${MAX_ANALYTICS_DAYS} days; this range has ${length}`,
      },
    ]);
  }
  return { from, to };
}

// ---------------------------------------------------------------------------------------------------------
// Events

/** What every analytics event carries about its lead: what its counters are attributed to. */
export interface LeadFacts {
  /** When the lead was captured: its cohort day (in the business's time zone). */
  readonly capturedAt: string;
  readonly channel: string;
  /** The capture's `utm_source`, as given (absent: none). */
  readonly utmSource?: string | undefined;
  /** The lead's team when the event happens. */
  readonly teamId: string;
  /** The lead's owner when the event happens (absent while it waits in a queue). */
  readonly ownerId?: string | undefined;
  /** The lead already had its first response (a later assignment does not wait for one). */
  readonly responded?: boolean | undefined;
}

/**
 * One thing that happened to a lead, for the analytics. Build `lead` with `leadFacts`. Several events
 * (of one lead or several) may be merged into one write with `statsDeltas`.
 */
export type AnalyticsEvent =
  /** A lead was created (the router). Counts `captured` per channel and source in `ALL` and its team. */
  | { readonly kind: 'captured'; readonly lead: LeadFacts }
  /**
   * The lead was given to `managerId` (the router, the drain, a reassignment; `lead.ownerId` and
   * `lead.teamId` as they are after it). Counts `assigned`, and, unless `lead.responded`, one lead awaiting
   * the manager's first response. It enters the manager's own channel and source numbers.
   */
  | { readonly kind: 'assigned'; readonly lead: LeadFacts; readonly managerId: string }
  /**
   * The lead was taken away from `managerId` before their first response (a reassignment; `lead` as it
   * was before). Undoes what `assigned` added to the manager's open numbers. Ignored once `lead.responded`:
   * after a first response the lead stays in the manager's numbers.
   */
  | { readonly kind: 'unassigned'; readonly lead: LeadFacts; readonly managerId: string }
  /**
   * The lead's first response (acknowledged or contacted), `speedMs` after capture. `managerId` is the
   * manager the lead awaited (its owner), whose awaiting count it settles, even if someone else answered.
   */
  | {
      readonly kind: 'first_response';
      readonly lead: LeadFacts;
      readonly managerId: string;
      readonly speedMs: number;
    }
  /**
   * A stage reached for the first time (`StagePlan.reached`): once per lead and stage. `won` carries its
   * amount and currency. Counted per channel and source, and for `lead.ownerId` (won and lost).
   */
  | {
      readonly kind: 'reached';
      readonly lead: LeadFacts;
      readonly stage: CountedStage;
      readonly amount?: number | undefined;
      readonly currency?: string | undefined;
    }
  /** The lead's response SLA was breached; counted for `managerId` (default: the owner) and its channel. */
  | { readonly kind: 'breached'; readonly lead: LeadFacts; readonly managerId?: string | undefined };

export type AnalyticsEventKind = AnalyticsEvent['kind'];

/** The facts of a lead as stored (or as the router is about to write it). */
export function leadFacts(lead: {
  readonly capturedAt: string;
  readonly teamId: string;
  readonly ownerId?: string | undefined;
  readonly channel?: string | undefined;
  readonly firstResponseAt?: string | undefined;
  readonly capture: {
    readonly channel: string;
    readonly source: { readonly utm: Readonly<Record<string, string>> };
  };
}): LeadFacts {
  const utmSource = lead.capture.source.utm.utm_source;
  return {
    capturedAt: lead.capturedAt,
    channel: lead.channel ?? lead.capture.channel,
    teamId: lead.teamId,
    ...(utmSource === undefined ? {} : { utmSource }),
    ...(lead.ownerId === undefined ? {} : { ownerId: lead.ownerId }),
    ...(lead.firstResponseAt === undefined ? {} : { responded: true }),
  };
}

/** The events of a lead just created: captured, and assigned when it has an owner. */
export function newLeadEvents(lead: LeadFacts): AnalyticsEvent[] {
  return [
    { kind: 'captured', lead },
    ...(lead.ownerId === undefined ? [] : [{ kind: 'assigned' as const, lead, managerId: lead.ownerId }]),
  ];
}

/** The key a `utm_source` is counted under: trimmed, lowercased, at most 100 characters. */
export function utmSourceKey(utmSource: string | undefined): string {
  const key = (utmSource ?? '').trim().replace(/\s+/g, ' ').toLowerCase().slice(0, 100);
  return key === '' ? NO_UTM_SOURCE : key;
}

// ---------------------------------------------------------------------------------------------------------
// Counter names

export const FUNNEL_METRICS = ['captured', ...COUNTED_STAGES, 'breached'] as const;
export type FunnelMetric = (typeof FUNNEL_METRICS)[number];
export const MANAGER_METRICS = [
  'assigned',
  'pending',
  'responded',
  'unassigned',
  'won',
  'lost',
  'breached',
] as const;
export type ManagerMetric = (typeof MANAGER_METRICS)[number];

const enc = encodeURIComponent;

/** Builds the attribute names of the counters (see the module comment). */
export const statName = {
  channel: (team: string, channel: string, metric: FunnelMetric) =>
    `${enc(team)}|ch|${enc(channel)}|${metric}`,
  source: (team: string, source: string, metric: FunnelMetric) => `${enc(team)}|src|${enc(source)}|${metric}`,
  amount: (team: string, dimension: 'ch' | 'src', key: string, currency: string) =>
    `${enc(team)}|amt|${dimension}|${enc(key)}|${enc(currency)}`,
  manager: (team: string, managerId: string, metric: ManagerMetric) =>
    `${enc(team)}|mgr|${enc(managerId)}|${metric}`,
  speeds: (team: string, managerId: string) => `${enc(team)}|spd|${enc(managerId)}`,
};

export type StatName =
  | {
      readonly kind: 'ch' | 'src';
      readonly team: string;
      readonly key: string;
      readonly metric: FunnelMetric;
    }
  | {
      readonly kind: 'amt';
      readonly team: string;
      readonly dimension: 'ch' | 'src';
      readonly key: string;
      readonly currency: string;
    }
  | {
      readonly kind: 'mgr';
      readonly team: string;
      readonly managerId: string;
      readonly metric: ManagerMetric;
    }
  | { readonly kind: 'spd'; readonly team: string; readonly managerId: string };

const isFunnelMetric = (value: string): value is FunnelMetric =>
  (FUNNEL_METRICS as readonly string[]).includes(value);
const isManagerMetric = (value: string): value is ManagerMetric =>
  (MANAGER_METRICS as readonly string[]).includes(value);

function decode(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Reads a counter's attribute name; undefined for anything that is not one. */
export function parseStatName(name: string): StatName | undefined {
  const parts = name.split('|');
  const [teamPart, kind] = parts;
  const team = decode(teamPart);
  if (team === undefined) return undefined;
  if ((kind === 'ch' || kind === 'src') && parts.length === 4) {
    const key = decode(parts[2]);
    const metric = parts[3] ?? '';
    return key !== undefined && isFunnelMetric(metric) ? { kind, team, key, metric } : undefined;
  }
  if (kind === 'amt' && parts.length === 5 && (parts[2] === 'ch' || parts[2] === 'src')) {
    const key = decode(parts[3]);
    const currency = decode(parts[4]);
    return key !== undefined && currency !== undefined
      ? { kind, team, dimension: parts[2], key, currency }
      : undefined;
  }
  if (kind === 'mgr' && parts.length === 4) {
    const managerId = decode(parts[2]);
    const metric = parts[3] ?? '';
    return managerId !== undefined && isManagerMetric(metric) ? { kind, team, managerId, metric } : undefined;
  }
  if (kind === 'spd' && parts.length === 3) {
    const managerId = decode(parts[2]);
    return managerId !== undefined ? { kind, team, managerId } : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Deltas

/** What one write adds to one stats item: counters to `ADD`, speed samples to append, per attribute name. */
export interface StatsDelta {
  readonly scope: AnalyticsScope;
  readonly day: string;
  readonly add: Readonly<Record<string, number>>;
  readonly speeds: Readonly<Record<string, readonly number[]>>;
}

/** A stats item as read: its counters and speed samples (the sum of every delta written to it). */
export interface StatsItem {
  readonly scope: string;
  readonly day: string;
  readonly counters: Readonly<Record<string, number>>;
  readonly speeds: Readonly<Record<string, readonly number[]>>;
}

interface Contribution {
  readonly scope: AnalyticsScope;
  readonly name: string;
  readonly add?: number;
  readonly speed?: number;
}

/** The counters one event adds, scope by scope. */
function contributions(event: AnalyticsEvent): Contribution[] {
  const { lead } = event;
  const team = lead.teamId;
  const source = utmSourceKey(lead.utmSource);
  const scopes = (managerId: string | undefined): AnalyticsScope[] => [
    analyticsScope.all,
    analyticsScope.team(team),
    ...(managerId === undefined ? [] : [analyticsScope.manager(managerId)]),
  ];
  const out: Contribution[] = [];
  const each = (targets: readonly AnalyticsScope[], name: string, add: number) => {
    for (const scope of targets) out.push({ scope, name, add });
  };
  const funnel = (targets: readonly AnalyticsScope[], metric: FunnelMetric, add: number) => {
    each(targets, statName.channel(team, lead.channel, metric), add);
    each(targets, statName.source(team, source, metric), add);
  };
  switch (event.kind) {
    case 'captured':
      funnel(scopes(undefined), 'captured', 1);
      break;
    case 'assigned': {
      const m = event.managerId;
      each(scopes(m), statName.manager(team, m, 'assigned'), 1);
      if (!lead.responded) each(scopes(m), statName.manager(team, m, 'pending'), 1);
      funnel([analyticsScope.manager(m)], 'captured', 1);
      break;
    }
    case 'unassigned': {
      if (lead.responded) break;
      const m = event.managerId;
      each(scopes(m), statName.manager(team, m, 'unassigned'), 1);
      each(scopes(m), statName.manager(team, m, 'pending'), -1);
      funnel([analyticsScope.manager(m)], 'captured', -1);
      break;
    }
    case 'first_response': {
      const m = event.managerId;
      each(scopes(m), statName.manager(team, m, 'responded'), 1);
      each(scopes(m), statName.manager(team, m, 'pending'), -1);
      const speed = Math.max(0, Math.round(event.speedMs));
      for (const scope of scopes(m)) out.push({ scope, name: statName.speeds(team, m), speed });
      break;
    }
    case 'reached': {
      const owner = lead.ownerId;
      const targets = scopes(owner);
      funnel(targets, event.stage, 1);
      if (event.stage === 'won' && event.amount !== undefined && event.currency !== undefined) {
        const currency = event.currency.toUpperCase();
        each(targets, statName.amount(team, 'ch', lead.channel, currency), event.amount);
        each(targets, statName.amount(team, 'src', source, currency), event.amount);
      }
      if (owner !== undefined && (event.stage === 'won' || event.stage === 'lost')) {
        each(targets, statName.manager(team, owner, event.stage), 1);
      }
      break;
    }
    case 'breached': {
      const m = event.managerId ?? lead.ownerId;
      const targets = scopes(m);
      funnel(targets, 'breached', 1);
      if (m !== undefined) each(targets, statName.manager(team, m, 'breached'), 1);
      break;
    }
  }
  return out;
}

/**
 * Merges any number of events into one delta per stats item (scope × capture day), as DynamoDB
 * transactions allow one operation per item: one stage change can reach contacted, qualified and won and
 * be the first response at once. Counters that cancel out are left out, and so is an item with nothing left.
 */
export function statsDeltas(events: readonly AnalyticsEvent[], timeZone: string): StatsDelta[] {
  const items = new Map<
    string,
    { scope: AnalyticsScope; day: string; add: Map<string, number>; speeds: Map<string, number[]> }
  >();
  for (const event of events) {
    const day = businessDay(event.lead.capturedAt, timeZone);
    for (const part of contributions(event)) {
      const id = `${part.scope}\n${day}`;
      let item = items.get(id);
      if (!item) {
        item = { scope: part.scope, day, add: new Map(), speeds: new Map() };
        items.set(id, item);
      }
      if (part.add !== undefined) item.add.set(part.name, (item.add.get(part.name) ?? 0) + part.add);
      if (part.speed !== undefined) {
        const samples = item.speeds.get(part.name) ?? [];
        samples.push(part.speed);
        item.speeds.set(part.name, samples);
      }
    }
  }
  const deltas: StatsDelta[] = [];
  for (const item of items.values()) {
    const add = Object.fromEntries([...item.add].filter(([, value]) => value !== 0));
    const speeds = Object.fromEntries(item.speeds);
    if (Object.keys(add).length === 0 && Object.keys(speeds).length === 0) continue;
    deltas.push({ scope: item.scope, day: item.day, add, speeds });
  }
  return deltas;
}

// ---------------------------------------------------------------------------------------------------------
// Who reads what

/** One scope a report reads, and which of its teams' cells count. */
export interface AnalyticsRead {
  readonly scope: AnalyticsScope;
  /** Only the cells of these teams. */
  readonly onlyTeams?: readonly string[] | undefined;
  /** Not the cells of these teams (already read from their own items). */
  readonly exceptTeams?: readonly string[] | undefined;
}

export interface AnalyticsReadPlan {
  readonly reads: readonly AnalyticsRead[];
  /** Managers listed in the report even without numbers, in this order. */
  readonly managers: readonly string[];
}

const membersOf = (config: LeadflowConfig, teams: readonly string[]) =>
  teams.flatMap((teamId) => config.teams.get(teamId)?.managers.map((manager) => manager.id) ?? []);

/**
 * The stats items a viewer's report reads, with the visibility rules of the leads: an admin reads `ALL`
 * (or `TEAM#team`); a team lead the teams they lead plus their own `MANAGER#` items without those teams'
 * cells (`team` must be one they lead: else 403); a manager their own `MANAGER#` items (`team` narrows them).
 */
export function planAnalyticsRead(
  viewer: Viewer,
  query: { readonly team?: string | undefined },
  config: LeadflowConfig,
): AnalyticsReadPlan {
  const unique = (ids: readonly string[]) => [...new Set(ids)];
  const { team } = query;
  if (viewer.role === 'admin') {
    if (team === undefined)
      return { reads: [{ scope: analyticsScope.all }], managers: [...config.managers.keys()] };
    if (!config.teams.has(team)) {
      throw new ValidationError('No such team.', [
        { field: 'team', code: 'unknown_team', message: `there is no team ${team}` },
      ]);
    }
    return { reads: [{ scope: analyticsScope.team(team) }], managers: membersOf(config, [team]) };
  }
  if (viewer.role === 'team_lead') {
    if (team !== undefined) {
      if (!viewer.leads.includes(team)) {
        throw new RoleForbiddenError(`You lead ${viewer.leads.join(', ')}; not ${team}.`);
      }
      return { reads: [{ scope: analyticsScope.team(team) }], managers: membersOf(config, [team]) };
    }
    return {
      reads: [
        ...viewer.leads.map((teamId) => ({ scope: analyticsScope.team(teamId) })),
        ...(viewer.managerId === undefined
          ? []
          : [{ scope: analyticsScope.manager(viewer.managerId), exceptTeams: viewer.leads }]),
      ],
      managers: unique([
        ...membersOf(config, viewer.leads),
        ...(viewer.managerId === undefined ? [] : [viewer.managerId]),
      ]),
    };
  }
  if (viewer.managerId === undefined) throw new RoleForbiddenError('A manager viewer without a manager id.');
  return {
    reads: [
      {
        scope: analyticsScope.manager(viewer.managerId),
        ...(team === undefined ? {} : { onlyTeams: [team] }),
      },
    ],
    managers: [viewer.managerId],
  };
}

/** The item with only the cells a read counts (`onlyTeams`, `exceptTeams`). */
export function selectTeams(item: StatsItem, read: Omit<AnalyticsRead, 'scope'>): StatsItem {
  const { onlyTeams, exceptTeams } = read;
  if (onlyTeams === undefined && exceptTeams === undefined) return item;
  const keep = (name: string) => {
    const team = parseStatName(name)?.team;
    if (team === undefined) return false;
    if (onlyTeams !== undefined && !onlyTeams.includes(team)) return false;
    return !(exceptTeams?.includes(team) ?? false);
  };
  return {
    scope: item.scope,
    day: item.day,
    counters: Object.fromEntries(Object.entries(item.counters).filter(([name]) => keep(name))),
    speeds: Object.fromEntries(Object.entries(item.speeds).filter(([name]) => keep(name))),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The report

/** The nearest-rank percentile (`p` in 0–100) of samples; null when there are none. */
export function nearestRank(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? null;
}

const count = z.number();
const rate = z.number().nullable().describe('null when the denominator is zero');
const amounts = z.record(z.string(), z.number()).describe('Won amount per ISO 4217 currency');

const speedToLeadSchema = z
  .object({
    samples: z.number().int(),
    medianMs: z.number().nullable(),
    p90Ms: z.number().nullable(),
  })
  .describe('Capture to first response (acknowledged or contacted): nearest-rank median and p90');

const funnelCountsSchema = z.object({
  captured: count,
  contacted: count,
  qualified: count,
  proposal: count,
  won: count,
  lost: count,
  breached: count,
  conversionRate: rate.describe('won / captured'),
  wonAmount: amounts,
});
export type FunnelCounts = z.infer<typeof funnelCountsSchema>;

const managerRowSchema = z.object({
  managerId: z.string(),
  assigned: count,
  firstResponses: count,
  unassigned: count,
  unacknowledged: count.describe('assigned leads still awaiting their first response'),
  speedToLead: speedToLeadSchema,
  won: count,
  lost: count,
  winRate: rate.describe('won / (won + lost)'),
  breached: count,
});
export type ManagerRow = z.infer<typeof managerRowSchema>;

const dailySchema = z.object({
  day: z.string(),
  captured: count,
  contacted: count,
  qualified: count,
  proposal: count,
  won: count,
  lost: count,
  assigned: count,
  firstResponses: count,
});

/** The analytics report (`GET /v1/analytics`): every number is of the leads captured in the range. */
export const analyticsReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  timeZone: z.string().optional(),
  totals: funnelCountsSchema.extend({ speedToLead: speedToLeadSchema }),
  channels: z.array(funnelCountsSchema.extend({ channel: z.string() })),
  sources: z.array(funnelCountsSchema.extend({ source: z.string() })),
  managers: z.array(managerRowSchema),
  daily: z.array(dailySchema).describe('One entry per day of the range, in the business time zone'),
});
export type AnalyticsReport = z.infer<typeof analyticsReportSchema>;

type FunnelAcc = Record<FunnelMetric, number> & { wonAmount: Record<string, number> };
const funnelAcc = (): FunnelAcc => ({
  captured: 0,
  contacted: 0,
  qualified: 0,
  proposal: 0,
  won: 0,
  lost: 0,
  breached: 0,
  wonAmount: {},
});
type ManagerAcc = Record<ManagerMetric, number> & { samples: number[] };
const managerAcc = (): ManagerAcc => ({
  assigned: 0,
  pending: 0,
  responded: 0,
  unassigned: 0,
  won: 0,
  lost: 0,
  breached: 0,
  samples: [],
});

/** Sums of decimal amounts without binary noise (DynamoDB adds them exactly; the report should too). */
const roundAmount = (value: number) => Math.round(value * 1e6) / 1e6;

function funnelOut(acc: FunnelAcc): FunnelCounts {
  return {
    captured: acc.captured,
    contacted: acc.contacted,
    qualified: acc.qualified,
    proposal: acc.proposal,
    won: acc.won,
    lost: acc.lost,
    breached: acc.breached,
    conversionRate: acc.captured > 0 ? acc.won / acc.captured : null,
    wonAmount: Object.fromEntries(
      Object.entries(acc.wonAmount)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([currency, value]) => [currency, roundAmount(value)]),
    ),
  };
}

/** A channel or source row is listed when it has any number (a lead assigned and taken away nets zero). */
const hasNumbers = (acc: FunnelAcc) =>
  FUNNEL_METRICS.some((metric) => acc[metric] !== 0) || Object.values(acc.wonAmount).some((v) => v !== 0);

function speedOf(samples: readonly number[]) {
  return { samples: samples.length, medianMs: nearestRank(samples, 50), p90Ms: nearestRank(samples, 90) };
}

const byCapturedThenKey =
  <K extends string>(key: K) =>
  (a: FunnelCounts & Record<K, string>, b: FunnelCounts & Record<K, string>) =>
    b.captured - a.captured || a[key].localeCompare(b[key]);

/**
 * The report over stats items (already narrowed to what the viewer may see): per channel, per
 * `utm_source`, per manager, totals and one daily entry per day of `from..to` (zeros included). Items
 * outside the range are ignored; `managers` are listed even without numbers, first and in their order.
 */
export function summarize(
  items: readonly StatsItem[],
  options: {
    readonly from: string;
    readonly to: string;
    readonly managers?: readonly string[] | undefined;
    readonly timeZone?: string | undefined;
  },
): AnalyticsReport {
  const days = daysOf(options.from, options.to);
  const inRange = new Set(days);
  const totals = funnelAcc();
  const channels = new Map<string, FunnelAcc>();
  const sources = new Map<string, FunnelAcc>();
  const managers = new Map<string, ManagerAcc>((options.managers ?? []).map((id) => [id, managerAcc()]));
  const daily = new Map(days.map((day) => [day, { ...funnelAcc(), assigned: 0, firstResponses: 0 }]));
  const acc = <T>(map: Map<string, T>, key: string, make: () => T): T => {
    let value = map.get(key);
    if (value === undefined) {
      value = make();
      map.set(key, value);
    }
    return value;
  };
  for (const item of items) {
    const day = daily.get(item.day);
    if (!inRange.has(item.day) || !day) continue;
    for (const [name, value] of Object.entries(item.counters)) {
      const stat = parseStatName(name);
      if (!stat) continue;
      if (stat.kind === 'ch' || stat.kind === 'src') {
        const target = acc(stat.kind === 'ch' ? channels : sources, stat.key, funnelAcc);
        target[stat.metric] += value;
        if (stat.kind === 'ch') {
          totals[stat.metric] += value;
          day[stat.metric] += value;
        }
      } else if (stat.kind === 'amt') {
        const target = acc(stat.dimension === 'ch' ? channels : sources, stat.key, funnelAcc);
        target.wonAmount[stat.currency] = (target.wonAmount[stat.currency] ?? 0) + value;
        if (stat.dimension === 'ch') {
          totals.wonAmount[stat.currency] = (totals.wonAmount[stat.currency] ?? 0) + value;
        }
      } else if (stat.kind === 'mgr') {
        acc(managers, stat.managerId, managerAcc)[stat.metric] += value;
        if (stat.metric === 'assigned') day.assigned += value;
        if (stat.metric === 'responded') day.firstResponses += value;
      }
    }
    for (const [name, samples] of Object.entries(item.speeds)) {
      const stat = parseStatName(name);
      if (stat?.kind === 'spd') acc(managers, stat.managerId, managerAcc).samples.push(...samples);
    }
  }
  const listed = new Set(options.managers ?? []);
  const managerIds = [
    ...(options.managers ?? []),
    ...[...managers.keys()].filter((id) => !listed.has(id)).sort((a, b) => a.localeCompare(b)),
  ].filter((id, index, all) => all.indexOf(id) === index);
  const allSamples = [...managers.values()].flatMap((manager) => manager.samples);
  return {
    from: options.from,
    to: options.to,
    ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
    totals: { ...funnelOut(totals), speedToLead: speedOf(allSamples) },
    channels: [...channels]
      .filter(([, value]) => hasNumbers(value))
      .map(([channel, value]) => ({ channel, ...funnelOut(value) }))
      .sort(byCapturedThenKey('channel')),
    sources: [...sources]
      .filter(([, value]) => hasNumbers(value))
      .map(([source, value]) => ({ source, ...funnelOut(value) }))
      .sort(byCapturedThenKey('source')),
    managers: managerIds.map((managerId) => {
      const m = managers.get(managerId) ?? managerAcc();
      const closed = m.won + m.lost;
      return {
        managerId,
        assigned: m.assigned,
        firstResponses: m.responded,
        unassigned: m.unassigned,
        unacknowledged: Math.max(0, m.pending),
        speedToLead: speedOf(m.samples),
        won: m.won,
        lost: m.lost,
        winRate: closed > 0 ? m.won / closed : null,
        breached: m.breached,
      };
    }),
    daily: days.map((dayKey) => {
      const d = daily.get(dayKey) ?? { ...funnelAcc(), assigned: 0, firstResponses: 0 };
      return {
        day: dayKey,
        captured: d.captured,
        contacted: d.contacted,
        qualified: d.qualified,
        proposal: d.proposal,
        won: d.won,
        lost: d.lost,
        assigned: d.assigned,
        firstResponses: d.firstResponses,
      };
    }),
  };
}
