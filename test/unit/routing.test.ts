import { type AssignmentPlan, LeadflowConfig, planAssignment, type Team, teamSchema } from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function team(managers: readonly { id: string; active?: boolean }[]): Team {
  return teamSchema.parse({
    id: 'sales',
    name: 'Sales',
    strategy: 'round_robin',
    managers: managers.map(({ id, active }) => ({ id, name: id, email: `${id}@example.com`, active })),
  });
}

const NOW = new Date('2026-12-01T01:00:00Z');

/** What round robin in this team gives the cursor value, through the assignment planner routing uses. */
function roundRobin(
  someTeam: Team,
  cursor: number,
  ownerId?: string,
): Extract<AssignmentPlan, { kind: 'assigned' }> {
  const config = new LeadflowConfig({ forms: [], teams: [someTeam] });
  const plan = planAssignment({
    config,
    teamId: someTeam.id,
    ...(ownerId ? { ownerId } : {}),
    loads: {},
    cursor: { teamId: someTeam.id, value: cursor },
    now: NOW,
  });
  if (plan.kind !== 'assigned') throw new Error(`expected an assignment, got ${plan.kind}`);
  return plan;
}

const eligibleManagers = (someTeam: Team) => someTeam.managers.filter((manager) => manager.active);

/** A team of 1..8 managers, some inactive, with at least one active. */
const teams = fc
  .array(fc.boolean(), { minLength: 1, maxLength: 8 })
  .filter((flags) => flags.some(Boolean))
  .map((flags) => team(flags.map((active, index) => ({ id: `m${index}`, active }))));

describe('roundRobin', () => {
  const abc = team([{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }]);

  it('maps cursor 1..n to the managers in configured order, then wraps', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((cursor) => roundRobin(abc, cursor).managerId)).toEqual([
      'alice',
      'bob',
      'carol',
      'alice',
      'bob',
      'carol',
      'alice',
    ]);
  });

  it('records the strategy, team, cursor and a readable reason', () => {
    expect(roundRobin(abc, 5)).toMatchObject({
      managerId: 'bob',
      teamId: 'sales',
      strategy: 'round_robin',
      cursor: 5,
      reason: expect.stringContaining('slot 2 of 3'),
    });
  });

  it('skips inactive managers', () => {
    const withLeaver = team([{ id: 'alice' }, { id: 'bob', active: false }, { id: 'carol' }]);
    expect([1, 2, 3, 4].map((cursor) => roundRobin(withLeaver, cursor).managerId)).toEqual([
      'alice',
      'carol',
      'alice',
      'carol',
    ]);
    expect(eligibleManagers(withLeaver).map((manager) => manager.id)).toEqual(['alice', 'carol']);
  });

  it('refuses a team without active managers in the config, and queues a lead nobody can take', () => {
    expect(() => team([{ id: 'alice', active: false }])).toThrow(/at least one active manager/);
    const away = teamSchema.parse({
      id: 'sales',
      name: 'Sales',
      managers: [
        { id: 'alice', name: 'alice', email: 'alice@example.com', outOfOfficeUntil: '2099-01-01T00:00:00Z' },
      ],
    });
    const plan = planAssignment({
      config: new LeadflowConfig({ forms: [], teams: [away] }),
      teamId: 'sales',
      loads: {},
      cursor: { teamId: 'sales', value: 1 },
      now: NOW,
    });
    expect(plan).toMatchObject({ kind: 'queued', teamId: 'sales' });
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'refuses the cursor %s',
    (cursor) => {
      expect(() => roundRobin(abc, cursor)).toThrow(RangeError);
    },
  );

  it('always picks an active manager of the team', () => {
    fc.assert(
      fc.property(teams, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (someTeam, cursor) => {
        const assignment = roundRobin(someTeam, cursor);
        const owner = someTeam.managers.find((manager) => manager.id === assignment.managerId);
        expect(owner?.active).toBe(true);
        expect(assignment.cursor).toBe(cursor);
      }),
    );
  });

  it('gives every active manager exactly one lead in any window of n consecutive cursors', () => {
    fc.assert(
      fc.property(teams, fc.integer({ min: 1, max: 1_000_000_000 }), (someTeam, start) => {
        const active = eligibleManagers(someTeam).map((manager) => manager.id);
        const window = active.map((_, offset) => roundRobin(someTeam, start + offset).managerId);
        expect([...window].sort()).toEqual([...active].sort());
      }),
    );
  });

  it('never gives one slot to two distinct cursors inside a window of n', () => {
    fc.assert(
      fc.property(
        teams,
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.uniqueArray(fc.nat({ max: 7 }), { minLength: 2, maxLength: 8 }),
        (someTeam, start, offsets) => {
          const n = eligibleManagers(someTeam).length;
          const cursors = offsets.filter((offset) => offset < n).map((offset) => start + offset);
          const owners = cursors.map((cursor) => roundRobin(someTeam, cursor).managerId);
          expect(new Set(owners).size).toBe(cursors.length);
        },
      ),
    );
  });

  it('repeats with period n: cursor c and c + n pick the same manager', () => {
    fc.assert(
      fc.property(teams, fc.integer({ min: 1, max: 1_000_000_000 }), (someTeam, cursor) => {
        const n = eligibleManagers(someTeam).length;
        expect(roundRobin(someTeam, cursor + n).managerId).toBe(roundRobin(someTeam, cursor).managerId);
      }),
    );
  });
});

describe('sticky owner', () => {
  it('keeps a returning contact with their owner, without a cursor', () => {
    const abc = team([{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }]);
    const plan = planAssignment({
      config: new LeadflowConfig({ forms: [], teams: [abc] }),
      teamId: 'sales',
      ownerId: 'bob',
      loads: {},
      now: NOW,
    });
    expect(plan).toMatchObject({
      kind: 'assigned',
      managerId: 'bob',
      teamId: 'sales',
      strategy: 'sticky_owner',
    });
    expect(plan).not.toHaveProperty('cursor');
  });
});
