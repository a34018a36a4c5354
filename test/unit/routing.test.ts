import { eligibleManagers, roundRobin, stickyOwner, type Team, teamSchema } from '@leadflow/core';
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

/** A team of 1..8 managers, some inactive, with at least one active. */
const teams = fc
  .array(fc.boolean(), { minLength: 1, maxLength: 8 })
  .filter((flags) => flags.some(Boolean))
  .map((flags) => team(flags.map((active, index) => ({ id: `m${index}`, active }))));

describe('roundRobin', () => {
  const abc = team([{ id: 'alice' }, { id: 'bob' }, { id: 'carol' }]);

  it('maps cursor 1..n to the managers in configured order, then wraps', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((cursor) => roundRobin(abc, cursor).ownerId)).toEqual([
      'alice',
      'bob',
      'carol',
      'alice',
      'bob',
      'carol',
      'alice',
    ]);
  });

  it('records the rule, team, cursor and a readable reason', () => {
    expect(roundRobin(abc, 5)).toEqual({
      ownerId: 'bob',
      teamId: 'sales',
      rule: 'round_robin',
      cursor: 5,
      reason: 'New contact: round robin in team sales, slot 2 of 3.',
    });
  });

  it('skips inactive managers', () => {
    const withLeaver = team([{ id: 'alice' }, { id: 'bob', active: false }, { id: 'carol' }]);
    expect([1, 2, 3, 4].map((cursor) => roundRobin(withLeaver, cursor).ownerId)).toEqual([
      'alice',
      'carol',
      'alice',
      'carol',
    ]);
    expect(eligibleManagers(withLeaver).map((manager) => manager.id)).toEqual(['alice', 'carol']);
  });

  it('refuses a team without active managers, in the config and at routing time', () => {
    expect(() => team([{ id: 'alice', active: false }])).toThrow(/at least one active manager/);
    const valid = team([{ id: 'alice' }]);
    const unchecked: Team = {
      ...valid,
      managers: valid.managers.map((manager) => ({ ...manager, active: false })),
    };
    expect(() => roundRobin(unchecked, 1)).toThrow(/no active managers/);
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
        const owner = someTeam.managers.find((manager) => manager.id === assignment.ownerId);
        expect(owner?.active).toBe(true);
        expect(assignment.cursor).toBe(cursor);
      }),
    );
  });

  it('gives every active manager exactly one lead in any window of n consecutive cursors', () => {
    fc.assert(
      fc.property(teams, fc.integer({ min: 1, max: 1_000_000_000 }), (someTeam, start) => {
        const active = eligibleManagers(someTeam).map((manager) => manager.id);
        const window = active.map((_, offset) => roundRobin(someTeam, start + offset).ownerId);
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
          const owners = cursors.map((cursor) => roundRobin(someTeam, cursor).ownerId);
          expect(new Set(owners).size).toBe(cursors.length);
        },
      ),
    );
  });

  it('repeats with period n: cursor c and c + n pick the same manager', () => {
    fc.assert(
      fc.property(teams, fc.integer({ min: 1, max: 1_000_000_000 }), (someTeam, cursor) => {
        const n = eligibleManagers(someTeam).length;
        expect(roundRobin(someTeam, cursor + n).ownerId).toBe(roundRobin(someTeam, cursor).ownerId);
      }),
    );
  });
});

describe('stickyOwner', () => {
  it('keeps a returning contact with their owner, without a cursor', () => {
    expect(stickyOwner('bob', 'sales')).toEqual({
      ownerId: 'bob',
      teamId: 'sales',
      rule: 'sticky_owner',
      reason: 'Returning contact: kept with their existing owner.',
    });
  });
});
