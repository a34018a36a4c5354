import {
  admitIdentities,
  admitMergedPoints,
  MAX_IDENTITIES,
  MAX_OPEN_CONVERSATIONS,
  type OpenConversation,
  type OpenConversations,
  planConversationMerge,
  planConversationWrite,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

/** A map of open conversations with ids c0…cN and last-message times that may tie. */
function conversationMaps(maxLength: number) {
  return fc
    .uniqueArray(fc.tuple(fc.nat(40), fc.nat(500)), { selector: ([id]) => id, maxLength })
    .map((entries) =>
      Object.fromEntries(
        entries.map(([id, minute]): [string, OpenConversation] => [
          `c${id}`,
          { leadId: `L${id}`, lastAt: at(minute) },
        ]),
      ),
    );
}

const bounds = fc.integer({ min: 1, max: 12 });

/** Orders as the planner does: by last message, then id. */
const older = (map: OpenConversations, a: string, b: string) => {
  const ta = Date.parse((map[a] as OpenConversation).lastAt);
  const tb = Date.parse((map[b] as OpenConversation).lastAt);
  return ta < tb || (ta === tb && a < b);
};

function applyWrite(
  map: OpenConversations,
  id: string,
  retire: readonly string[],
  entry: OpenConversation,
): OpenConversations {
  const next: Record<string, OpenConversation> = { ...map };
  for (const old of retire) delete next[old];
  next[id] = entry;
  return next;
}

describe('the chosen bounds', () => {
  it('keeps a profile at the bounds far below the 400 KB item limit, even with the longest ids', () => {
    const email = `email:${'e'.repeat(243)}@example.com`;
    const profile = {
      identities: Array.from({ length: MAX_IDENTITIES }, (_, i) => `${email.slice(0, -3)}${i}`),
      emails: Array.from({ length: MAX_IDENTITIES }, (_, i) => `${email.slice(6, -3)}${i}`),
      conversations: Object.fromEntries(
        Array.from({ length: MAX_OPEN_CONVERSATIONS }, (_, i) => [
          `chat:${'w'.repeat(60)}:${'s'.repeat(128)}${i}`,
          { leadId: '01JZ0000000000000000000001', lastAt: at(i) },
        ]),
      ),
    };
    // JSON is close to how DynamoDB counts (names plus UTF-8 values); a sixth of the 400 KB limit at most.
    expect(Buffer.byteLength(JSON.stringify(profile))).toBeLessThan(64 * 1024);
  });
});

describe('admitIdentities', () => {
  it('adds new identities in order until the bound, and refuses the rest', () => {
    const current = Array.from({ length: MAX_IDENTITIES - 1 }, (_, i) => `chat:v${i}`);
    expect(admitIdentities(current, ['email:a@example.com', 'chat:v3', 'chat:new1', 'chat:new2'])).toEqual({
      add: ['email:a@example.com'],
      refused: ['chat:new1', 'chat:new2'],
    });
    expect(admitIdentities(undefined, ['email:a@example.com'])).toEqual({
      add: ['email:a@example.com'],
      refused: [],
    });
  });

  const sets = fc.uniqueArray(
    fc.nat(30).map((n) => `chat:v${n}`),
    { maxLength: 20 },
  );

  it('never lists more than the bound, and never shrinks or re-adds', () => {
    fc.assert(
      fc.property(sets, sets, bounds, (current, incoming, bound) => {
        const { add, refused } = admitIdentities(current, incoming, bound);
        const after = new Set([...current, ...add]);
        expect(after.size).toBe(current.length + add.length);
        expect(after.size).toBeLessThanOrEqual(Math.max(bound, current.length));
        // Every new identity is either added or refused, once; present ones are neither.
        const fresh = incoming.filter((identity) => !current.includes(identity));
        expect([...add, ...refused]).toEqual(fresh);
        // Nothing is refused while there is room.
        if (current.length + fresh.length <= bound) expect(refused).toEqual([]);
        // Nothing is added past the bound.
        if (current.length >= bound) expect(add).toEqual([]);
      }),
    );
  });

  it('is idempotent: admitting the same identities again adds nothing and refuses the same', () => {
    fc.assert(
      fc.property(sets, sets, bounds, (current, incoming, bound) => {
        const first = admitIdentities(current, incoming, bound);
        const again = admitIdentities([...current, ...first.add], incoming, bound);
        expect(again).toEqual({ add: [], refused: first.refused });
      }),
    );
  });
});

describe('admitMergedPoints', () => {
  it('lists the merged contact’s emails and phones only with their identities', () => {
    const survivor = {
      identities: ['email:a@example.com', 'chat:v1'],
      emails: ['a@example.com'],
    };
    const merged = {
      identities: ['email:b@example.com', 'phone:+15550001111', 'chat:v2'],
      emails: ['B@example.com'],
      phones: ['+15550001111'],
    };
    expect(admitMergedPoints(survivor, merged, ['chat:v3'], 4)).toEqual({
      identities: { add: ['email:b@example.com', 'phone:+15550001111'], refused: ['chat:v2', 'chat:v3'] },
      emails: ['B@example.com'],
      phones: ['+15550001111'],
    });
    expect(admitMergedPoints(survivor, merged, [], 3)).toEqual({
      identities: { add: ['email:b@example.com'], refused: ['phone:+15550001111', 'chat:v2'] },
      emails: ['B@example.com'],
      phones: [],
    });
  });

  it('never takes any of the sets past the bound', () => {
    const points = fc.record({
      identities: fc.uniqueArray(
        fc.nat(20).map((n) => `phone:+1555000${n}`),
        { maxLength: 12 },
      ),
      phones: fc.uniqueArray(
        fc.nat(20).map((n) => `+1555000${n}`),
        { maxLength: 12 },
      ),
    });
    fc.assert(
      fc.property(points, points, bounds, (survivor, merged, bound) => {
        fc.pre(survivor.identities.length <= bound && survivor.phones.length <= bound);
        const admitted = admitMergedPoints(survivor, merged, [], bound);
        expect(survivor.identities.length + admitted.identities.add.length).toBeLessThanOrEqual(bound);
        expect(survivor.phones.length + admitted.phones.length).toBeLessThanOrEqual(bound);
        const listed = new Set([...survivor.identities, ...admitted.identities.add]);
        for (const phone of admitted.phones) expect(listed.has(`phone:${phone}`)).toBe(true);
      }),
    );
  });
});

describe('planConversationWrite', () => {
  it('retires the oldest conversation when a new one arrives at the bound', () => {
    const map = Object.fromEntries(
      Array.from({ length: 3 }, (_, i) => [`c${i}`, { leadId: `L${i}`, lastAt: at(10 - i) }]),
    );
    expect(planConversationWrite(map, 'new', 3)).toEqual({
      retire: ['c2'],
      isNew: true,
      size: 3,
      maxSizeBefore: 3,
    });
    // Updating one already open grows nothing.
    expect(planConversationWrite(map, 'c2', 3)).toEqual({
      retire: [],
      isNew: false,
      size: 3,
      maxSizeBefore: 3,
    });
    expect(planConversationWrite(undefined, 'new')).toEqual({
      retire: [],
      isNew: true,
      size: 1,
      maxSizeBefore: MAX_OPEN_CONVERSATIONS - 1,
    });
  });

  it('orders by time, not by how the time is written', () => {
    const map = {
      later: { leadId: 'L1', lastAt: '2026-01-01T00:00:00.500Z' },
      earlier: { leadId: 'L2', lastAt: '2026-01-01T00:00:00Z' },
    };
    expect(planConversationWrite(map, 'new', 2).retire).toEqual(['earlier']);
  });

  it('keeps the written conversation, retires only the oldest others, and never exceeds the bound', () => {
    fc.assert(
      fc.property(conversationMaps(20), fc.nat(45), bounds, (map, n, bound) => {
        const id = `c${n}`;
        const plan = planConversationWrite(map, id, bound);
        const after = applyWrite(map, id, plan.retire, { leadId: 'new', lastAt: at(600) });
        const count = Object.keys(map).length;
        expect(plan.retire).not.toContain(id);
        expect(Object.keys(after)).toHaveLength(plan.size);
        expect(plan.isNew).toBe(!(id in map));
        if (count <= bound) expect(plan.size).toBeLessThanOrEqual(bound);
        else expect(plan.size).toBeLessThan(count + (plan.isNew ? 1 : 0));
        // Retire only when needed, and only ones older than every other that stays.
        if (count + (plan.isNew ? 1 : 0) <= bound) expect(plan.retire).toEqual([]);
        for (const old of plan.retire) {
          for (const kept of Object.keys(after)) if (kept !== id) expect(older(map, old, kept)).toBe(true);
        }
        // The guard admits exactly the stored sizes for which the write keeps its promise.
        expect(plan.maxSizeBefore - plan.retire.length + (plan.isNew ? 1 : 0)).toBe(
          Math.max(bound, plan.size),
        );
      }),
    );
  });

  it('is idempotent: writing the same conversation again retires nothing more', () => {
    fc.assert(
      fc.property(conversationMaps(20), fc.nat(45), bounds, (map, n, bound) => {
        fc.pre(Object.keys(map).length <= bound);
        const id = `c${n}`;
        const first = planConversationWrite(map, id, bound);
        const after = applyWrite(map, id, first.retire, { leadId: 'new', lastAt: at(600) });
        expect(planConversationWrite(after, id, bound)).toMatchObject({ retire: [], isNew: false });
      }),
    );
  });
});

describe('planConversationMerge', () => {
  function applyMerge(map: OpenConversations, plan: ReturnType<typeof planConversationMerge>) {
    const next: Record<string, OpenConversation> = { ...map };
    for (const old of plan.retire) delete next[old];
    return { ...next, ...plan.add };
  }

  it('keeps the newest of both contacts, retiring the survivor’s oldest', () => {
    const survivor = { a: { leadId: 'La', lastAt: at(1) }, b: { leadId: 'Lb', lastAt: at(5) } };
    const merged = { c: { leadId: 'Lc', lastAt: at(3) }, d: { leadId: 'Ld', lastAt: at(0) } };
    expect(planConversationMerge(survivor, merged, 2)).toEqual({
      add: { c: merged.c },
      retire: ['a'],
      dropped: ['d'],
      size: 2,
      maxSizeBefore: 2,
    });
  });

  it('never exceeds the bound, keeps the newest, and loses nothing unaccounted', () => {
    fc.assert(
      fc.property(conversationMaps(20), conversationMaps(20), bounds, (own, incoming, bound) => {
        const plan = planConversationMerge(own, incoming, bound);
        const after = applyMerge(own, plan);
        const ownCount = Object.keys(own).length;
        expect(Object.keys(after)).toHaveLength(plan.size);
        if (ownCount <= bound) expect(plan.size).toBeLessThanOrEqual(bound);
        else expect(plan.size).toBeLessThanOrEqual(ownCount);
        // The survivor's entry wins over the merged contact's for the same conversation.
        for (const [id, entry] of Object.entries(own)) if (id in after) expect(after[id]).toEqual(entry);
        for (const id of Object.keys(plan.add)) expect(id in own).toBe(false);
        // Every conversation of either contact is kept, retired or not carried over.
        const union = new Set([...Object.keys(own), ...Object.keys(incoming)]);
        expect(new Set([...Object.keys(after), ...plan.retire, ...plan.dropped])).toEqual(union);
        // Within the bound, whatever is let go is older than everything kept.
        // A conversation both had ranks by its later last message.
        const combined: OpenConversations = Object.fromEntries(
          [...union].map((id) => {
            const times = [own[id], incoming[id]].flatMap((entry) => (entry ? [entry] : []));
            return [id, times.reduce((a, b) => (Date.parse(b.lastAt) > Date.parse(a.lastAt) ? b : a))];
          }),
        );
        if (ownCount <= bound) {
          for (const gone of [...plan.retire, ...plan.dropped]) {
            for (const kept of Object.keys(after)) expect(older(combined, gone, kept)).toBe(true);
          }
          if (union.size <= bound) expect([...plan.retire, ...plan.dropped]).toEqual([]);
        }
        expect(plan.maxSizeBefore - plan.retire.length + Object.keys(plan.add).length).toBe(
          Math.max(bound, plan.size),
        );
      }),
    );
  });

  it('is idempotent: merging the same contact again adds and retires nothing', () => {
    fc.assert(
      fc.property(conversationMaps(20), conversationMaps(20), bounds, (own, incoming, bound) => {
        fc.pre(Object.keys(own).length <= bound);
        const after = applyMerge(own, planConversationMerge(own, incoming, bound));
        expect(planConversationMerge(after, incoming, bound)).toMatchObject({ add: {}, retire: [] });
      }),
    );
  });
});
