import {
  type AssignmentPlan,
  availabilityOf,
  LeadflowConfig,
  type ManagerLoad,
  planAssignment,
  STRATEGIES,
  smoothWeightedSequence,
  type Team,
  WEEKDAYS,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demoConfig, rawDemoConfig } from './support';

type RawConfig = ReturnType<typeof rawDemoConfig>;
type RawTeam = RawConfig['teams'][number];
type RawManager = RawTeam['managers'][number];
type Loads = Record<string, ManagerLoad>;
type Final = Exclude<AssignmentPlan, { kind: 'needs_cursor' }>;
type Assigned = Extract<AssignmentPlan, { kind: 'assigned' }>;

/** Wednesday 2026-12-02, 12:00 in Seoul, 10:00 in Bangkok. */
const NOW = new Date('2026-12-02T03:00:00Z');
const BACK = '2026-12-03T09:00:00Z';
const ALWAYS = {
  timeZone: 'Asia/Seoul',
  weekly: Object.fromEntries(WEEKDAYS.map((day) => [day, ['00:00-24:00']])),
};
const NEVER = { timeZone: 'Asia/Seoul', weekly: {} };

/** The demo configuration with a change: teams are edited in place by id. */
function configWith(change: (teams: Record<string, RawTeam>, raw: RawConfig) => void): LeadflowConfig {
  const raw = rawDemoConfig();
  change(Object.fromEntries(raw.teams.map((team) => [team.id, team])), raw);
  return new LeadflowConfig(raw);
}

function manager(team: RawTeam, id: string): RawManager {
  const found = team.managers.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`No manager ${id} in ${team.id}`);
  return found;
}

function teamOf(teams: Record<string, RawTeam>, id: string): RawTeam {
  const found = teams[id];
  if (!found) throw new Error(`No team ${id}`);
  return found;
}

/**
 * What the adapter does: plan; when the plan asks for a cursor, draw the team's next value once and plan
 * again with it. Returns the final plan and leaves `cursors` advanced by what was drawn.
 */
function route(
  config: LeadflowConfig,
  teamId: string,
  cursors: Record<string, number>,
  options: { ownerId?: string; loads?: Loads; now?: Date } = {},
): Final {
  const input = {
    config,
    teamId,
    loads: options.loads ?? {},
    now: options.now ?? NOW,
    ownerId: options.ownerId,
  };
  const first = planAssignment(input);
  if (first.kind !== 'needs_cursor') return first;
  const value = (cursors[first.teamId] ?? 0) + 1;
  cursors[first.teamId] = value;
  const second = planAssignment({ ...input, cursor: { teamId: first.teamId, value } });
  if (second.kind === 'needs_cursor') throw new Error(`Asked twice for a cursor: ${JSON.stringify(second)}`);
  return second;
}

function assigned(plan: AssignmentPlan): Assigned {
  if (plan.kind !== 'assigned') throw new Error(`Expected an assignment, got ${JSON.stringify(plan)}`);
  return plan;
}

/** Managers for `count` new leads in a row to a team, each lead counted as open for its manager. */
function leadsTo(
  config: LeadflowConfig,
  teamId: string,
  count: number,
  state: { cursors: Record<string, number>; loads?: Loads; now?: Date } = { cursors: {} },
): string[] {
  return Array.from({ length: count }, () => {
    const plan = assigned(route(config, teamId, state.cursors, state));
    if (state.loads) {
      const load = state.loads[plan.managerId] ?? { openLeads: 0 };
      state.loads[plan.managerId] = { openLeads: load.openLeads + 1, lastAssignedAt: NOW.toISOString() };
    }
    return plan.managerId;
  });
}

function count(ids: readonly string[], id: string): number {
  return ids.filter((each) => each === id).length;
}

describe('availabilityOf', () => {
  const config = demoConfig();
  const sales = config.team('sales');
  const alice = sales.managers[0] as Team['managers'][number];

  it('takes an active manager with room, in or out of the team business hours', () => {
    expect(availabilityOf(alice, sales, undefined, NOW)).toEqual({ available: true });
    const sundayNight = new Date('2026-12-06T15:00:00Z');
    expect(availabilityOf(alice, sales, { openLeads: 500 }, sundayNight)).toEqual({ available: true });
  });

  it('skips an inactive manager', () => {
    expect(availabilityOf({ ...alice, active: false }, sales, undefined, NOW)).toEqual({
      available: false,
      reason: 'inactive',
      detail: 'inactive',
    });
  });

  it('skips a manager until their time out of office ends', () => {
    const away = { ...alice, outOfOfficeUntil: BACK };
    expect(availabilityOf(away, sales, undefined, NOW)).toEqual({
      available: false,
      reason: 'out_of_office',
      detail: `out of office until ${BACK}`,
    });
    expect(availabilityOf(away, sales, undefined, new Date(BACK))).toEqual({ available: true });
  });

  it('holds a lead back only for the manager’s own working hours', () => {
    const hours = {
      timeZone: 'Asia/Seoul',
      weekly: { wed: ['09:00-12:00', '13:00-18:00'] },
      holidays: [],
    };
    const withHours = { ...alice, workingHours: hours };
    expect(availabilityOf(withHours, sales, undefined, new Date('2026-12-02T02:00:00Z'))).toEqual({
      available: true,
    });
    // 12:30 in Seoul: the lunch break.
    expect(availabilityOf(withHours, sales, undefined, new Date('2026-12-02T03:30:00Z'))).toEqual({
      available: false,
      reason: 'outside_working_hours',
      detail: 'outside working hours (Asia/Seoul)',
    });
  });

  it('caps open leads at the manager’s capacity, else the team’s', () => {
    const enterprise = config.team('enterprise');
    const carol = config.managers.get('carol');
    if (!carol) throw new Error('no carol');
    expect(availabilityOf(carol, enterprise, { openLeads: 2 }, NOW)).toEqual({ available: true });
    expect(availabilityOf(carol, enterprise, { openLeads: 3 }, NOW)).toEqual({
      available: false,
      reason: 'at_capacity',
      detail: 'at capacity (3 of 3 open leads)',
    });
    expect(availabilityOf({ ...carol, capacity: 5 }, enterprise, { openLeads: 4 }, NOW)).toEqual({
      available: true,
    });
    expect(availabilityOf({ ...alice, capacity: 1 }, sales, { openLeads: 1 }, NOW)).toMatchObject({
      reason: 'at_capacity',
      detail: 'at capacity (1 of 1 open leads)',
    });
  });
});

describe('round robin', () => {
  it('asks for the team cursor, then maps cursor 1, 2, 3… onto the managers in configured order', () => {
    const config = demoConfig();
    expect(planAssignment({ config, teamId: 'sales', loads: {}, now: NOW })).toEqual({
      kind: 'needs_cursor',
      teamId: 'sales',
    });
    expect(leadsTo(config, 'sales', 5)).toEqual(['alice', 'bob', 'alice', 'bob', 'alice']);
  });

  it('records the strategy, the cursor, every candidate and a one-line reason', () => {
    const config = configWith((teams) => {
      manager(teamOf(teams, 'sales'), 'bob').outOfOfficeUntil = BACK;
    });
    const plan = planAssignment({
      config,
      teamId: 'sales',
      loads: {},
      cursor: { teamId: 'sales', value: 7 },
      now: NOW,
    });
    expect(plan).toEqual({
      kind: 'assigned',
      managerId: 'alice',
      teamId: 'sales',
      strategy: 'round_robin',
      cursor: 7,
      candidates: [
        {
          managerId: 'alice',
          teamId: 'sales',
          chosen: true,
          available: true,
          why: 'next in round robin (cursor 7, slot 1 of 1)',
        },
        {
          managerId: 'bob',
          teamId: 'sales',
          chosen: false,
          available: false,
          why: `out of office until ${BACK}`,
        },
      ],
      reason: `Round robin in sales: alice, slot 1 of 1 (cursor 7); bob skipped: out of office until ${BACK}.`,
    });
    expect(assigned(plan).reason).not.toMatch(/\n/);
  });

  it('asks for its own team’s cursor when it was given another team’s', () => {
    const config = demoConfig();
    expect(
      planAssignment({ config, teamId: 'sales', loads: {}, cursor: { teamId: 'thai', value: 3 }, now: NOW }),
    ).toEqual({ kind: 'needs_cursor', teamId: 'sales' });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses the cursor %s', (value) => {
    const config = demoConfig();
    expect(() =>
      planAssignment({ config, teamId: 'sales', loads: {}, cursor: { teamId: 'sales', value }, now: NOW }),
    ).toThrow(RangeError);
  });

  it('lists available managers who were not chosen with their slot', () => {
    const plan = assigned(route(demoConfig(), 'sales', { sales: 1 }));
    expect(plan.candidates).toEqual([
      { managerId: 'alice', teamId: 'sales', chosen: false, available: true, why: 'available, slot 1 of 2' },
      {
        managerId: 'bob',
        teamId: 'sales',
        chosen: true,
        available: true,
        why: 'next in round robin (cursor 2, slot 2 of 2)',
      },
    ]);
  });
});

describe('weighted round robin', () => {
  it('spreads weights smoothly, not in bursts', () => {
    expect(
      smoothWeightedSequence([
        { id: 'somchai', weight: 2 },
        { id: 'nok', weight: 1 },
      ]),
    ).toEqual(['somchai', 'nok', 'somchai']);
    expect(
      smoothWeightedSequence([
        { id: 'a', weight: 5 },
        { id: 'b', weight: 1 },
        { id: 'c', weight: 1 },
      ]),
    ).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('sends the demo thai desk two to one in every window of three leads, from any cursor', () => {
    const config = demoConfig();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 3, max: 30 }),
        (start, length) => {
          const picks = leadsTo(config, 'thai', length, { cursors: { thai: start } });
          for (let at = 0; at + 3 <= picks.length; at++) {
            const window = picks.slice(at, at + 3);
            expect(count(window, 'somchai')).toBe(2);
            expect(count(window, 'nok')).toBe(1);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('records the weight and the position in the cycle', () => {
    const config = demoConfig();
    expect(assigned(route(config, 'thai', { thai: 6 }))).toMatchObject({
      managerId: 'somchai',
      strategy: 'weighted_round_robin',
      cursor: 7,
      reason: 'Weighted round robin in thai: somchai, weight 2 of 3, position 1 of 3 (cursor 7).',
    });
    expect(assigned(route(config, 'thai', { thai: 7 })).candidates).toEqual([
      {
        managerId: 'somchai',
        teamId: 'thai',
        chosen: false,
        available: true,
        why: 'available, weight 2 of 3',
      },
      {
        managerId: 'nok',
        teamId: 'thai',
        chosen: true,
        available: true,
        why: 'next in weighted round robin (position 2 of 3 (cursor 8)), weight 1 of 3',
      },
    ]);
  });

  /** A weighted team of 1..5 managers with weights 1..12, all available. */
  const weightedTeams = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 });

  function weightedConfig(weights: readonly number[]): LeadflowConfig {
    return configWith((teams) => {
      const thai = teamOf(teams, 'thai');
      thai.teamLead = 'm0';
      thai.managers = weights.map((weight, index) => ({
        id: `m${index}`,
        name: `M${index}`,
        email: `m${index}@example.com`,
        weight,
      }));
    });
  }

  it('gives each manager exactly its weight in any run of total-weight consecutive cursors', () => {
    fc.assert(
      fc.property(weightedTeams, fc.integer({ min: 0, max: 1_000_000 }), (weights, start) => {
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        const picks = leadsTo(weightedConfig(weights), 'thai', total, { cursors: { thai: start } });
        weights.forEach((weight, index) => {
          expect(count(picks, `m${index}`)).toBe(weight);
        });
      }),
      { numRuns: 60 },
    );
  });

  it('keeps two managers within one lead of their exact share in every window', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
        fc.integer({ min: 0, max: 1_000_000 }),
        ([a, b], start) => {
          const picks = leadsTo(weightedConfig([a, b]), 'thai', 2 * (a + b), { cursors: { thai: start } });
          for (let from = 0; from < picks.length; from++) {
            for (let to = from + 1; to <= picks.length; to++) {
              const share = ((to - from) * a) / (a + b);
              expect(Math.abs(count(picks.slice(from, to), 'm0') - share)).toBeLessThan(1);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('least loaded', () => {
  const config = demoConfig();

  it('needs no cursor and picks the fewest open leads', () => {
    const plan = planAssignment({
      config,
      teamId: 'enterprise',
      loads: { carol: { openLeads: 2 }, dave: { openLeads: 1 } },
      now: NOW,
    });
    expect(plan).toEqual({
      kind: 'assigned',
      managerId: 'dave',
      teamId: 'enterprise',
      strategy: 'least_loaded',
      candidates: [
        {
          managerId: 'carol',
          teamId: 'enterprise',
          chosen: false,
          available: true,
          why: 'available, 2 open leads',
        },
        {
          managerId: 'dave',
          teamId: 'enterprise',
          chosen: true,
          available: true,
          why: 'fewest open leads (1)',
        },
      ],
      reason: 'Least loaded in enterprise: dave, fewest open leads (1).',
    });
  });

  it('breaks ties by who waited longest since their last assignment, never assigned first', () => {
    const pick = (loads: Loads) => assigned(route(config, 'enterprise', {}, { loads }));
    expect(
      pick({
        carol: { openLeads: 1, lastAssignedAt: '2026-12-02T02:00:00Z' },
        dave: { openLeads: 1, lastAssignedAt: '2026-12-01T02:00:00Z' },
      }),
    ).toMatchObject({
      managerId: 'dave',
      reason:
        'Least loaded in enterprise: dave, fewest open leads (1), longest since last assignment (2026-12-01T02:00:00Z).',
    });
    expect(
      pick({ carol: { openLeads: 1, lastAssignedAt: '2026-12-01T02:00:00Z' }, dave: { openLeads: 1 } })
        .managerId,
    ).toBe('dave');
    expect(pick({}).managerId).toBe('carol');
    expect(pick({}).candidates[0]?.why).toBe('fewest open leads (0), first in configured order among equals');
  });

  it('evens out a burst of leads: counts are what it compares', () => {
    const loads: Loads = {};
    const picks = leadsTo(config, 'enterprise', 6, { cursors: {}, loads });
    expect(count(picks, 'carol')).toBe(3);
    expect(count(picks, 'dave')).toBe(3);
  });
});

/** Random teams named as the demo's (its rules point at them), with random availability and loads. */
const scenarios = fc
  .record({
    teams: fc.tuple(
      ...(['sales', 'thai', 'enterprise'] as const).map((teamId) =>
        fc.record({
          strategy: fc.constantFrom(...STRATEGIES),
          capacity: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
          fallback: fc.boolean(),
          managers: fc.array(
            fc.record({
              active: fc.boolean(),
              weight: fc.integer({ min: 1, max: 4 }),
              capacity: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
              hours: fc.constantFrom('none', 'open', 'closed'),
              away: fc.constantFrom('none', 'past', 'future'),
              openLeads: fc.integer({ min: 0, max: 4 }),
              lastAssignedAt: fc.option(
                fc
                  .integer({ min: 0, max: 1_000 })
                  .map((minutes) => new Date(NOW.getTime() - minutes * 60_000).toISOString()),
                { nil: undefined },
              ),
            }),
            { minLength: 1, maxLength: 4 },
          ),
          teamId: fc.constant(teamId),
        }),
      ),
    ),
    target: fc.constantFrom('sales', 'thai', 'enterprise'),
    owner: fc.option(fc.constantFrom('sales-0', 'sales-1', 'thai-0', 'thai-2', 'enterprise-1', 'ghost'), {
      nil: undefined,
    }),
    cursor: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .map((scenario) => {
    const loads: Loads = {};
    const config = configWith((teams) => {
      for (const spec of scenario.teams) {
        const team = teamOf(teams, spec.teamId);
        team.strategy = spec.strategy;
        team.capacity = spec.capacity;
        team.teamLead = `${spec.teamId}-0`;
        // Fallbacks only ever lead towards sales, which queues: validation forbids loops.
        team.whenNobodyAvailable =
          spec.teamId !== 'sales' && spec.fallback
            ? { action: 'fallback', teamId: 'sales' }
            : { action: 'queue' };
        team.managers = spec.managers.map((m, index) => {
          const id = `${spec.teamId}-${index}`;
          if (m.openLeads > 0 || m.lastAssignedAt)
            loads[id] = {
              openLeads: m.openLeads,
              ...(m.lastAssignedAt ? { lastAssignedAt: m.lastAssignedAt } : {}),
            };
          return {
            id,
            name: id,
            email: `${id}@example.com`,
            // A team needs one active manager; the first is, but may well be away or full.
            active: index === 0 || m.active,
            weight: m.weight,
            capacity: m.capacity,
            ...(m.hours === 'none' ? {} : { workingHours: m.hours === 'open' ? ALWAYS : NEVER }),
            ...(m.away === 'none'
              ? {}
              : { outOfOfficeUntil: m.away === 'past' ? '2026-11-01T00:00:00Z' : BACK }),
          };
        });
      }
    });
    return { config, loads, target: scenario.target, ownerId: scenario.owner, cursor: scenario.cursor };
  });

describe('availability', () => {
  it('never gives a lead to a manager who is unavailable, and explains every candidate', () => {
    fc.assert(
      fc.property(scenarios, ({ config, loads, target, ownerId, cursor }) => {
        const plan = route(
          config,
          target,
          { sales: cursor, thai: cursor, enterprise: cursor },
          { loads, ownerId },
        );
        const chosen = plan.candidates.filter((candidate) => candidate.chosen);
        for (const candidate of plan.candidates) {
          const m = config.managers.get(candidate.managerId);
          if (!m) throw new Error(`Unknown candidate ${candidate.managerId}`);
          const availability = availabilityOf(m, config.teamOf(m.id), loads[m.id], NOW);
          expect(candidate.available).toBe(availability.available);
          if (!availability.available) expect(candidate.why).toContain(availability.detail);
          expect(candidate.teamId).toBe(config.teamOf(m.id)?.id);
        }
        expect(new Set(plan.candidates.map((c) => c.managerId)).size).toBe(plan.candidates.length);
        if (plan.kind === 'assigned') {
          const m = config.managers.get(plan.managerId);
          if (!m) throw new Error(`Unknown manager ${plan.managerId}`);
          expect(availabilityOf(m, config.teamOf(m.id), loads[m.id], NOW)).toEqual({ available: true });
          expect(chosen.map((c) => c.managerId)).toEqual([plan.managerId]);
          expect(config.teamOf(plan.managerId)?.id).toBe(plan.teamId);
        } else {
          expect(chosen).toEqual([]);
          for (const m of config.team(plan.teamId).managers) {
            expect(availabilityOf(m, config.team(plan.teamId), loads[m.id], NOW).available).toBe(false);
          }
          expect(plan.teamLeadId).toBe(`${plan.teamId}-0`);
        }
        expect(plan.reason).not.toMatch(/[\r\n]/);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same plan for the same input, so a retry with the same cursor value skips no slot', () => {
    fc.assert(
      fc.property(scenarios, ({ config, loads, target, ownerId, cursor }) => {
        const input = { config, teamId: target, ownerId, loads, now: NOW };
        const first = planAssignment(input);
        const withCursor = (plan: AssignmentPlan) =>
          plan.kind === 'needs_cursor' ? { cursor: { teamId: plan.teamId, value: cursor + 1 } } : {};
        const once = planAssignment({ ...input, ...withCursor(first) });
        const loadsBefore = structuredClone(loads);
        const again = planAssignment({
          ...input,
          loads: structuredClone(loads),
          now: new Date(NOW.getTime()),
          ...withCursor(first),
        });
        expect(again).toEqual(once);
        expect(loads).toEqual(loadsBefore);
        expect(JSON.parse(JSON.stringify(once))).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });
});

describe('sticky owner', () => {
  it('keeps a returning contact with an available owner without touching the cursor', () => {
    const config = demoConfig();
    // The rules sent this lead to thai, but the contact belongs to bob in sales.
    expect(planAssignment({ config, teamId: 'thai', ownerId: 'bob', loads: {}, now: NOW })).toEqual({
      kind: 'assigned',
      managerId: 'bob',
      teamId: 'sales',
      strategy: 'sticky_owner',
      candidates: [
        {
          managerId: 'bob',
          teamId: 'sales',
          chosen: true,
          available: true,
          why: "the contact's owner, available",
        },
      ],
      reason: 'Returning contact: kept with their owner bob.',
    });
  });

  it('substitutes an available teammate while the owner is away, and the contact keeps its owner', () => {
    const config = configWith((teams) => {
      manager(teamOf(teams, 'sales'), 'bob').outOfOfficeUntil = BACK;
    });
    expect(planAssignment({ config, teamId: 'thai', ownerId: 'bob', loads: {}, now: NOW })).toEqual({
      kind: 'assigned',
      managerId: 'alice',
      teamId: 'sales',
      strategy: 'substitution',
      substitutedFor: 'bob',
      candidates: [
        {
          managerId: 'bob',
          teamId: 'sales',
          chosen: false,
          available: false,
          why: `owner, out of office until ${BACK}`,
        },
        {
          managerId: 'alice',
          teamId: 'sales',
          chosen: true,
          available: true,
          why: 'substitute for bob: fewest open leads (0)',
        },
      ],
      reason: `Owner bob is out of office until ${BACK}: alice substitutes in sales (fewest open leads (0)); the contact stays with bob.`,
    });
  });

  it('picks the substitute with the fewest open leads, then the longest wait, then configured order', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      sales.managers.push(
        { id: 'erin', name: 'Erin', email: 'erin@example.com' },
        { id: 'frank', name: 'Frank', email: 'frank@example.com' },
      );
      manager(sales, 'alice').outOfOfficeUntil = BACK;
    });
    const substitute = (loads: Loads) =>
      assigned(planAssignment({ config, teamId: 'sales', ownerId: 'alice', loads, now: NOW })).managerId;
    expect(substitute({ bob: { openLeads: 2 }, erin: { openLeads: 1 }, frank: { openLeads: 3 } })).toBe(
      'erin',
    );
    expect(
      substitute({
        bob: { openLeads: 1, lastAssignedAt: '2026-12-01T00:00:00Z' },
        erin: { openLeads: 1, lastAssignedAt: '2026-12-02T00:00:00Z' },
        frank: { openLeads: 1 },
      }),
    ).toBe('frank');
    expect(substitute({})).toBe('bob');
  });

  it('with no teammate available, lets the target team decide, still on the owner’s behalf', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      manager(sales, 'bob').outOfOfficeUntil = BACK;
      manager(sales, 'alice').capacity = 2;
    });
    const input = { config, teamId: 'thai', ownerId: 'bob', loads: { alice: { openLeads: 2 } }, now: NOW };
    expect(planAssignment(input)).toEqual({ kind: 'needs_cursor', teamId: 'thai' });
    const plan = planAssignment({ ...input, cursor: { teamId: 'thai', value: 1 } });
    expect(plan).toMatchObject({
      kind: 'assigned',
      managerId: 'somchai',
      teamId: 'thai',
      strategy: 'weighted_round_robin',
      cursor: 1,
      substitutedFor: 'bob',
      reason:
        `Owner bob is out of office until ${BACK}, and nobody else in sales is available ` +
        '(alice: at capacity (2 of 2 open leads)); the contact stays with bob. ' +
        'Weighted round robin in thai: somchai, weight 2 of 3, position 1 of 3 (cursor 1).',
    });
    expect(assigned(plan).candidates.map((c) => [c.managerId, c.chosen])).toEqual([
      ['bob', false],
      ['alice', false],
      ['somchai', true],
      ['nok', false],
    ]);
  });

  it('queues for the owner’s own team when nobody there is available, listing each manager once', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      manager(sales, 'bob').outOfOfficeUntil = BACK;
      manager(sales, 'alice').capacity = 2;
    });
    const plan = planAssignment({
      config,
      teamId: 'sales',
      ownerId: 'bob',
      loads: { alice: { openLeads: 2 } },
      now: NOW,
    });
    expect(plan).toMatchObject({
      kind: 'queued',
      teamId: 'sales',
      teamLeadId: 'alice',
      reason:
        `Owner bob is out of office until ${BACK}; the contact stays with bob. Nobody is available in sales ` +
        `(alice: at capacity (2 of 2 open leads), bob: out of office until ${BACK}); ` +
        "it waits in sales's queue; team lead alice warned.",
    });
    expect(plan.kind === 'queued' && plan.candidates.map((c) => [c.managerId, c.why])).toEqual([
      ['bob', `owner, out of office until ${BACK}`],
      ['alice', 'at capacity (2 of 2 open leads)'],
    ]);
  });

  it('treats an owner who left (inactive or removed) as no owner', () => {
    const config = configWith((teams) => {
      manager(teamOf(teams, 'sales'), 'bob').active = false;
    });
    for (const ownerId of ['bob', 'zoe']) {
      const plan = assigned(route(config, 'sales', { sales: 4 }, { ownerId }));
      expect(plan).toMatchObject({
        managerId: 'alice',
        strategy: 'round_robin',
        reason: `Previous owner ${ownerId} is no longer active. Round robin in sales: alice, slot 1 of 1 (cursor 5).`,
      });
      expect(plan.substitutedFor).toBeUndefined();
    }
  });
});

describe('fairness', () => {
  it('a substitution or a sticky owner costs nobody their next round-robin turn', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      sales.managers.push({ id: 'carl', name: 'Carl', email: 'carl@example.com', outOfOfficeUntil: BACK });
    });
    const plain = leadsTo(config, 'sales', 6);
    const cursors: Record<string, number> = {};
    const mixed: string[] = [];
    for (let lead = 0; lead < 6; lead++) {
      mixed.push(assigned(route(config, 'sales', cursors)).managerId);
      // Between new leads: a returning contact of carl's (away: a substitution), then one of bob's.
      expect(assigned(route(config, 'sales', cursors, { ownerId: 'carl' })).strategy).toBe('substitution');
      expect(assigned(route(config, 'sales', cursors, { ownerId: 'bob' })).strategy).toBe('sticky_owner');
    }
    expect(mixed).toEqual(plain);
    expect(cursors).toEqual({ sales: 6 });
  });

  it('a reassignment, which only moves open-lead counts, does not change whose turn is next', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.dictionary(fc.constantFrom('alice', 'bob', 'somchai', 'nok'), fc.nat({ max: 50 }), { maxKeys: 4 }),
        (start, counts) => {
          const config = demoConfig();
          const loads = Object.fromEntries(
            Object.entries(counts).map(([id, openLeads]) => [
              id,
              { openLeads, lastAssignedAt: NOW.toISOString() },
            ]),
          );
          for (const teamId of ['sales', 'thai']) {
            const before = leadsTo(config, teamId, 6, { cursors: { [teamId]: start } });
            const after = leadsTo(config, teamId, 6, { cursors: { [teamId]: start }, loads });
            expect(after).toEqual(before);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('a manager back from leave gets their share, not a catch-up burst (round robin)', () => {
    const config = configWith((teams) => {
      manager(teamOf(teams, 'sales'), 'bob').outOfOfficeUntil = BACK;
    });
    const cursors: Record<string, number> = {};
    expect(leadsTo(config, 'sales', 10, { cursors })).toEqual(Array(10).fill('alice'));
    const back = leadsTo(config, 'sales', 10, { cursors, now: new Date(BACK) });
    expect(count(back, 'bob')).toBe(5);
    expect(back.some((id, index) => id === 'bob' && back[index + 1] === 'bob')).toBe(false);
  });

  it('a manager back from leave gets their share, not a catch-up burst (weighted)', () => {
    const config = configWith((teams) => {
      manager(teamOf(teams, 'thai'), 'somchai').outOfOfficeUntil = BACK;
    });
    const cursors: Record<string, number> = {};
    expect(leadsTo(config, 'thai', 10, { cursors })).toEqual(Array(10).fill('nok'));
    const back = leadsTo(config, 'thai', 12, { cursors, now: new Date(BACK) });
    for (let at = 0; at + 3 <= back.length; at++) expect(count(back.slice(at, at + 3), 'somchai')).toBe(2);
  });
});

describe('when nobody is available', () => {
  it('queues the lead in its team and names the team lead to warn', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      manager(sales, 'alice').outOfOfficeUntil = BACK;
      manager(sales, 'bob').workingHours = NEVER;
    });
    const plan = planAssignment({ config, teamId: 'sales', loads: {}, now: NOW });
    expect(plan).toEqual({
      kind: 'queued',
      teamId: 'sales',
      teamLeadId: 'alice',
      candidates: [
        {
          managerId: 'alice',
          teamId: 'sales',
          chosen: false,
          available: false,
          why: `out of office until ${BACK}`,
        },
        {
          managerId: 'bob',
          teamId: 'sales',
          chosen: false,
          available: false,
          why: 'outside working hours (Asia/Seoul)',
        },
      ],
      reason:
        `Nobody is available in sales (alice: out of office until ${BACK}, bob: outside working hours (Asia/Seoul)); ` +
        "it waits in sales's queue; team lead alice warned.",
    });
  });

  it('sends enterprise at capacity to its fallback team, sales, on the sales cursor', () => {
    const config = demoConfig();
    const loads = { carol: { openLeads: 3 }, dave: { openLeads: 3 } };
    expect(planAssignment({ config, teamId: 'enterprise', loads, now: NOW })).toEqual({
      kind: 'needs_cursor',
      teamId: 'sales',
    });
    expect(
      planAssignment({
        config,
        teamId: 'enterprise',
        loads,
        cursor: { teamId: 'enterprise', value: 1 },
        now: NOW,
      }),
    ).toEqual({ kind: 'needs_cursor', teamId: 'sales' });
    const plan = planAssignment({
      config,
      teamId: 'enterprise',
      loads,
      cursor: { teamId: 'sales', value: 2 },
      now: NOW,
    });
    expect(plan).toEqual({
      kind: 'assigned',
      managerId: 'bob',
      teamId: 'sales',
      strategy: 'round_robin',
      cursor: 2,
      fallbackFrom: ['enterprise'],
      candidates: [
        {
          managerId: 'carol',
          teamId: 'enterprise',
          chosen: false,
          available: false,
          why: 'at capacity (3 of 3 open leads)',
        },
        {
          managerId: 'dave',
          teamId: 'enterprise',
          chosen: false,
          available: false,
          why: 'at capacity (3 of 3 open leads)',
        },
        {
          managerId: 'alice',
          teamId: 'sales',
          chosen: false,
          available: true,
          why: 'available, slot 1 of 2',
        },
        {
          managerId: 'bob',
          teamId: 'sales',
          chosen: true,
          available: true,
          why: 'next in round robin (cursor 2, slot 2 of 2)',
        },
      ],
      reason:
        'Nobody is available in enterprise (carol: at capacity (3 of 3 open leads), dave: at capacity (3 of 3 open leads)); ' +
        'fell back to sales. Round robin in sales: bob, slot 2 of 2 (cursor 2).',
    });
  });

  it('queues in the fallback team when nobody there is available either', () => {
    const config = configWith((teams) => {
      for (const m of teamOf(teams, 'sales').managers) m.outOfOfficeUntil = BACK;
    });
    const plan = planAssignment({
      config,
      teamId: 'enterprise',
      loads: { carol: { openLeads: 3 }, dave: { openLeads: 4 } },
      now: NOW,
    });
    expect(plan).toMatchObject({
      kind: 'queued',
      teamId: 'sales',
      teamLeadId: 'alice',
      fallbackFrom: ['enterprise'],
    });
    expect(plan.kind === 'queued' && plan.candidates.map((c) => c.managerId)).toEqual([
      'carol',
      'dave',
      'alice',
      'bob',
    ]);
  });

  it('stops a fallback loop that slipped past validation and queues instead', () => {
    const looping = (raw: RawConfig) => {
      for (const team of raw.teams) {
        if (team.id === 'sales') team.whenNobodyAvailable = { action: 'fallback', teamId: 'enterprise' };
        for (const m of team.managers) m.outOfOfficeUntil = BACK;
      }
    };
    expect(() => configWith((_, raw) => looping(raw))).toThrow(/loops back/);

    const valid = configWith((teams) => {
      for (const team of Object.values(teams)) for (const m of team.managers) m.outOfOfficeUntil = BACK;
    });
    const sales = valid.team('sales');
    (valid.teams as Map<string, Team>).set('sales', {
      ...sales,
      whenNobodyAvailable: { action: 'fallback', teamId: 'enterprise' },
    });
    const plan = planAssignment({ config: valid, teamId: 'enterprise', loads: {}, now: NOW });
    expect(plan).toMatchObject({
      kind: 'queued',
      teamId: 'sales',
      teamLeadId: 'alice',
      fallbackFrom: ['enterprise'],
    });
    expect(plan.kind === 'queued' && plan.reason).toContain('its fallback to enterprise would loop');
  });

  it('leaves inactive managers out of the reason but lists them as candidates', () => {
    const config = configWith((teams) => {
      const sales = teamOf(teams, 'sales');
      sales.managers.push({ id: 'olga', name: 'Olga', email: 'olga@example.com', active: false });
    });
    const plan = assigned(route(config, 'sales', {}));
    expect(plan.reason).toBe('Round robin in sales: alice, slot 1 of 2 (cursor 1).');
    expect(plan.candidates.at(-1)).toEqual({
      managerId: 'olga',
      teamId: 'sales',
      chosen: false,
      available: false,
      why: 'inactive',
    });
  });
});
