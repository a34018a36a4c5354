import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { analyticsItem, analyticsItemSchema, analyticsUpdates, type ConfigStore } from '@leadflow/aws';
import {
  type AnalyticsEvent,
  type AnalyticsReport,
  type AnalyticsScope,
  addDays,
  analyticsRange,
  analyticsScope,
  businessDay,
  COUNTED_STAGES,
  daysOf,
  type LeadFacts,
  LeadflowConfig,
  leadFacts,
  nearestRank,
  newLeadEvents,
  parseStatName,
  planAnalyticsRead,
  RoleForbiddenError,
  type StatsDelta,
  type StatsItem,
  selectTeams,
  statName,
  statsDeltas,
  summarize,
  UnauthorizedError,
  ValidationError,
  type Viewer,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app';

const SEOUL = 'Asia/Seoul';

describe('business days', () => {
  it('are calendar days of the business time zone, not UTC', () => {
    // Seoul is UTC+9 all year: its day starts at 15:00 UTC the day before.
    expect(businessDay('2025-03-01T14:59:59.999Z', SEOUL)).toBe('2025-03-01');
    expect(businessDay('2025-03-01T15:00:00.000Z', SEOUL)).toBe('2025-03-02');
    expect(businessDay('2025-03-01T15:00:00.000Z', 'UTC')).toBe('2025-03-01');
    // New York across its spring-forward night (UTC-5, then UTC-4).
    expect(businessDay('2025-03-09T04:59:00Z', 'America/New_York')).toBe('2025-03-08');
    expect(businessDay('2025-03-10T03:59:00Z', 'America/New_York')).toBe('2025-03-09');
    expect(businessDay('2025-03-10T04:00:00Z', 'America/New_York')).toBe('2025-03-10');
    expect(businessDay('2025-03-01T10:00:00+09:00', SEOUL)).toBe('2025-03-01');
  });

  it('range over months, leap days and years', () => {
    expect(daysOf('2024-02-27', '2024-03-02')).toEqual([
      '2024-02-27',
      '2024-02-28',
      '2024-02-29',
      '2024-03-01',
      '2024-03-02',
    ]);
    expect(daysOf('2025-01-02', '2025-01-01')).toEqual([]);
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(daysOf('2024-01-01', '2024-12-31')).toHaveLength(366);
  });

  it('default to the last 30 days, today in the business time zone', () => {
    // 16:00 UTC on 10 March is already 11 March in Seoul.
    const now = new Date('2025-03-10T16:00:00Z');
    expect(analyticsRange({}, now, SEOUL)).toEqual({ from: '2025-02-10', to: '2025-03-11' });
    expect(analyticsRange({}, now, 'UTC')).toEqual({ from: '2025-02-09', to: '2025-03-10' });
    expect(analyticsRange({ to: '2025-01-30' }, now, SEOUL)).toEqual({
      from: '2025-01-01',
      to: '2025-01-30',
    });
    expect(analyticsRange({ from: '2025-03-01' }, now, SEOUL)).toEqual({
      from: '2025-03-01',
      to: '2025-03-11',
    });
  });

  it('refuse a malformed day, a reversed range and more than 366 days (422)', () => {
    const now = new Date('2025-03-10T00:00:00Z');
    const refusal = (query: { from?: string; to?: string }) => {
      try {
        analyticsRange(query, now, SEOUL);
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError);
        return {
          status: (error as ValidationError).status,
          codes: (error as ValidationError).fields.map((f) => f.code),
        };
      }
      return undefined;
    };
    expect(refusal({ from: '2025-02-30' })).toEqual({ status: 422, codes: ['invalid_day'] });
    expect(refusal({ to: '2025-3-1' })).toEqual({ status: 422, codes: ['invalid_day'] });
    expect(refusal({ from: '2025-03-02', to: '2025-03-01' })).toEqual({
      status: 422,
      codes: ['invalid_range'],
    });
    expect(refusal({ from: '2024-01-01', to: '2025-01-01' })).toEqual({
      status: 422,
      codes: ['range_too_long'],
    });
    expect(refusal({ from: '2024-01-01', to: '2024-12-31' })).toBeUndefined();
    expect(refusal({ from: '2024-03-01', to: '2025-03-01' })).toBeUndefined();
  });
});

const facts = (overrides: Partial<LeadFacts> = {}): LeadFacts => ({
  capturedAt: '2025-03-01T15:30:00Z',
  channel: 'web_form',
  utmSource: 'Google',
  teamId: 'sales',
  ownerId: 'alice',
  ...overrides,
});

describe('statsDeltas', () => {
  it('merges one stage change reaching contacted, qualified and won with its first response into one update per item', () => {
    const lead = facts();
    const events: AnalyticsEvent[] = [
      { kind: 'reached', lead, stage: 'contacted' },
      { kind: 'reached', lead, stage: 'qualified' },
      { kind: 'reached', lead, stage: 'won', amount: 1_500_000, currency: 'krw' },
      { kind: 'first_response', lead, managerId: 'alice', speedMs: 90_000 },
    ];
    const deltas = statsDeltas(events, SEOUL);
    expect(deltas.map((delta) => `${delta.scope} ${delta.day}`)).toEqual([
      'ALL 2025-03-02',
      'TEAM#sales 2025-03-02',
      'MANAGER#alice 2025-03-02',
    ]);
    for (const delta of deltas) {
      expect(delta.add).toEqual({
        'sales|ch|web_form|contacted': 1,
        'sales|src|google|contacted': 1,
        'sales|ch|web_form|qualified': 1,
        'sales|src|google|qualified': 1,
        'sales|ch|web_form|won': 1,
        'sales|src|google|won': 1,
        'sales|amt|ch|web_form|KRW': 1_500_000,
        'sales|amt|src|google|KRW': 1_500_000,
        'sales|mgr|alice|won': 1,
        'sales|mgr|alice|responded': 1,
        'sales|mgr|alice|pending': -1,
      });
      expect(delta.speeds).toEqual({ 'sales|spd|alice': [90_000] });
    }
    // As transaction items: one Update per stats item, so DynamoDB accepts them in one transaction.
    const updates = analyticsUpdates('table', events, SEOUL);
    expect(updates).toHaveLength(3);
    expect(new Set(updates.map((item) => JSON.stringify(item.Update?.Key))).size).toBe(3);
    expect(updates[0]?.Update?.Key).toEqual({ pk: 'ANALYTICS#ALL', sk: 'DAY#2025-03-02' });
  });

  it('counts a new lead as captured in ALL and its team, and as assigned to its owner', () => {
    const deltas = statsDeltas(newLeadEvents(facts({ utmSource: undefined })), SEOUL);
    const byScope = Object.fromEntries(deltas.map((delta) => [delta.scope, delta.add]));
    expect(byScope.ALL).toEqual({
      'sales|ch|web_form|captured': 1,
      'sales|src|(none)|captured': 1,
      'sales|mgr|alice|assigned': 1,
      'sales|mgr|alice|pending': 1,
    });
    expect(byScope['TEAM#sales']).toEqual(byScope.ALL);
    // The manager's own item counts the lead as it reached them.
    expect(byScope['MANAGER#alice']).toEqual(byScope.ALL);
    const queued = statsDeltas(newLeadEvents(facts({ ownerId: undefined })), SEOUL);
    expect(queued.map((delta) => delta.scope)).toEqual(['ALL', 'TEAM#sales']);
  });

  it('nets out what cancels and leaves out an item with nothing left', () => {
    const lead = facts();
    const deltas = statsDeltas(
      [
        { kind: 'assigned', lead, managerId: 'bob' },
        { kind: 'unassigned', lead, managerId: 'bob' },
      ],
      SEOUL,
    );
    const bob = deltas.find((delta) => delta.scope === 'MANAGER#bob');
    expect(bob?.add).toEqual({ 'sales|mgr|bob|assigned': 1, 'sales|mgr|bob|unassigned': 1 });
    // Taken away after a first response: the manager keeps the lead.
    expect(
      statsDeltas([{ kind: 'unassigned', lead: { ...lead, responded: true }, managerId: 'bob' }], SEOUL),
    ).toEqual([]);
  });

  it('builds facts from a stored lead', () => {
    const lead = {
      capturedAt: '2025-03-01T00:00:00Z',
      teamId: 'sales',
      ownerId: 'bob',
      firstResponseAt: '2025-03-01T00:01:00Z',
      capture: { channel: 'sms', source: { utm: { utm_source: 'naver', utm_medium: 'cpc' } } },
    };
    expect(leadFacts(lead)).toEqual({
      capturedAt: '2025-03-01T00:00:00Z',
      channel: 'sms',
      teamId: 'sales',
      utmSource: 'naver',
      ownerId: 'bob',
      responded: true,
    });
  });

  it('keeps any utm_source apart from the separators', () => {
    const name = statName.source('sales', 'a|b%c d', 'won');
    expect(name.split('|')).toHaveLength(4);
    expect(parseStatName(name)).toEqual({ kind: 'src', team: 'sales', key: 'a|b%c d', metric: 'won' });
    expect(parseStatName(statName.amount('sales', 'src', 'x|y', 'KRW'))).toEqual({
      kind: 'amt',
      team: 'sales',
      dimension: 'src',
      key: 'x|y',
      currency: 'KRW',
    });
    expect(parseStatName('pk')).toBeUndefined();
    expect(parseStatName('sales|ch|web_form|nonsense')).toBeUndefined();
  });

  it('becomes an update with placeholders only, parsed back as it was written', () => {
    const [delta] = statsDeltas(
      [{ kind: 'first_response', lead: facts({ utmSource: 'a|b' }), managerId: 'alice', speedMs: 5 }],
      SEOUL,
    );
    if (!delta) throw new Error('no delta');
    const op = analyticsItem.update(delta);
    expect(op.UpdateExpression).toBe(
      'SET #s0 = list_append(if_not_exists(#s0, :empty), :s0) ADD #c0 :c0, #c1 :c1',
    );
    expect(Object.values(op.ExpressionAttributeNames ?? {}).sort()).toEqual([
      'sales|mgr|alice|pending',
      'sales|mgr|alice|responded',
      'sales|spd|alice',
    ]);
    const stored = {
      ...op.Key,
      'sales|mgr|alice|responded': 1,
      'sales|mgr|alice|pending': -1,
      'sales|spd|alice': [5],
    };
    expect(analyticsItemSchema.parse(stored)).toEqual({
      scope: 'ALL',
      day: '2025-03-02',
      counters: { 'sales|mgr|alice|responded': 1, 'sales|mgr|alice|pending': -1 },
      speeds: { 'sales|spd|alice': [5] },
    });
    expect(analyticsItem.days('TEAM#sales', '2025-03-01', '2025-03-31').ExpressionAttributeValues).toEqual({
      ':pk': 'ANALYTICS#TEAM#sales',
      ':from': 'DAY#2025-03-01',
      ':to': 'DAY#2025-03-31',
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties: deltas of a random event stream, summed as DynamoDB would, read back as a report, equal
// the numbers counted directly from the stream.

const TEAMS = ['sales', 'thai'] as const;
const MANAGERS = ['alice', 'bob', 'nok'] as const;
const CHANNELS = ['web_form', 'sms', 'phone_call'] as const;
const FROM = '2025-01-01';
const TO = '2025-01-10';
const START = Date.parse('2025-01-01T00:00:00+09:00');
const END = Date.parse('2025-01-11T00:00:00+09:00') - 1;

const factsArb: fc.Arbitrary<LeadFacts> = fc.record(
  {
    capturedAt: fc.integer({ min: START, max: END }).map((ms) => new Date(ms).toISOString()),
    channel: fc.constantFrom(...CHANNELS),
    utmSource: fc.constantFrom('google', 'Google ', 'naver', 'a|b', '100%', ''),
    teamId: fc.constantFrom(...TEAMS),
    ownerId: fc.constantFrom(...MANAGERS),
    responded: fc.boolean(),
  },
  { requiredKeys: ['capturedAt', 'channel', 'teamId'] },
);

const eventArb: fc.Arbitrary<AnalyticsEvent> = fc.oneof(
  factsArb.map((lead): AnalyticsEvent => ({ kind: 'captured', lead })),
  fc.tuple(factsArb, fc.constantFrom(...MANAGERS)).map(
    ([lead, managerId]): AnalyticsEvent => ({
      kind: 'assigned',
      lead,
      managerId,
    }),
  ),
  fc.tuple(factsArb, fc.constantFrom(...MANAGERS)).map(
    ([lead, managerId]): AnalyticsEvent => ({
      kind: 'unassigned',
      lead,
      managerId,
    }),
  ),
  fc
    .tuple(factsArb, fc.constantFrom(...MANAGERS), fc.integer({ min: 0, max: 86_400_000 }))
    .map(
      ([lead, managerId, speedMs]): AnalyticsEvent => ({ kind: 'first_response', lead, managerId, speedMs }),
    ),
  fc
    .tuple(
      factsArb,
      fc.constantFrom(...COUNTED_STAGES),
      fc.integer({ min: 1, max: 10_000_000 }),
      fc.constantFrom('KRW', 'USD', 'thb'),
    )
    .map(
      ([lead, stage, amount, currency]): AnalyticsEvent =>
        stage === 'won'
          ? { kind: 'reached', lead, stage, amount, currency }
          : { kind: 'reached', lead, stage },
    ),
  fc
    .tuple(factsArb, fc.option(fc.constantFrom(...MANAGERS), { nil: undefined }))
    .map(([lead, managerId]): AnalyticsEvent => ({ kind: 'breached', lead, managerId })),
);

/** What DynamoDB holds after every delta is applied: counters added, samples appended. */
function apply(deltas: readonly StatsDelta[]): Map<string, StatsItem> {
  const table = new Map<
    string,
    { scope: string; day: string; counters: Record<string, number>; speeds: Record<string, number[]> }
  >();
  for (const delta of deltas) {
    const id = `${delta.scope} ${delta.day}`;
    const item = table.get(id) ?? { scope: delta.scope, day: delta.day, counters: {}, speeds: {} };
    for (const [name, value] of Object.entries(delta.add))
      item.counters[name] = (item.counters[name] ?? 0) + value;
    for (const [name, samples] of Object.entries(delta.speeds))
      item.speeds[name] = [...(item.speeds[name] ?? []), ...samples];
    table.set(id, item);
  }
  return table;
}

const itemsOf = (table: Map<string, StatsItem>, scope: AnalyticsScope) =>
  [...table.values()].filter((item) => item.scope === scope);

const sortedNumbers = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const rank = (values: readonly number[], p: number) => {
  const sorted = sortedNumbers(values);
  return sorted.length === 0 ? null : (sorted[Math.ceil((p / 100) * sorted.length) - 1] ?? sorted[0] ?? null);
};

/** The whole business's numbers counted straight from the events, without deltas or counter names. */
function direct(events: readonly AnalyticsEvent[]) {
  type Funnel = { counts: Record<string, number>; wonAmount: Record<string, number> };
  const channels: Record<string, Funnel> = {};
  const sources: Record<string, Funnel> = {};
  const managers: Record<
    string,
    {
      assigned: number;
      awaiting: number;
      responded: number;
      unassigned: number;
      won: number;
      lost: number;
      breached: number;
      samples: number[];
    }
  > = {};
  const daily: Record<string, Record<string, number>> = Object.fromEntries(
    daysOf(FROM, TO).map((day) => [
      day,
      {
        captured: 0,
        contacted: 0,
        qualified: 0,
        proposal: 0,
        won: 0,
        lost: 0,
        assigned: 0,
        firstResponses: 0,
      },
    ]),
  );
  const funnel = (map: Record<string, Funnel>, key: string) => {
    map[key] ??= {
      counts: { captured: 0, contacted: 0, qualified: 0, proposal: 0, won: 0, lost: 0, breached: 0 },
      wonAmount: {},
    };
    return map[key];
  };
  const manager = (id: string) => {
    managers[id] ??= {
      assigned: 0,
      awaiting: 0,
      responded: 0,
      unassigned: 0,
      won: 0,
      lost: 0,
      breached: 0,
      samples: [],
    };
    return managers[id];
  };
  const count = (lead: LeadFacts, metric: string, day: Record<string, number>) => {
    const source = (lead.utmSource ?? '').trim().toLowerCase() || '(none)';
    for (const row of [funnel(channels, lead.channel), funnel(sources, source)])
      row.counts[metric] = (row.counts[metric] ?? 0) + 1;
    if (metric in day) day[metric] = (day[metric] ?? 0) + 1;
  };
  for (const event of events) {
    const { lead } = event;
    const day = daily[businessDay(lead.capturedAt, SEOUL)];
    if (!day) throw new Error('an event outside the range');
    if (event.kind === 'captured') count(lead, 'captured', day);
    if (event.kind === 'assigned') {
      manager(event.managerId).assigned++;
      if (!lead.responded) manager(event.managerId).awaiting++;
      day.assigned = (day.assigned ?? 0) + 1;
    }
    if (event.kind === 'unassigned' && !lead.responded) {
      manager(event.managerId).unassigned++;
      manager(event.managerId).awaiting--;
    }
    if (event.kind === 'first_response') {
      const m = manager(event.managerId);
      m.responded++;
      m.awaiting--;
      m.samples.push(event.speedMs);
      day.firstResponses = (day.firstResponses ?? 0) + 1;
    }
    if (event.kind === 'reached') {
      count(lead, event.stage, day);
      if (event.stage === 'won' && event.amount !== undefined && event.currency !== undefined) {
        const source = (lead.utmSource ?? '').trim().toLowerCase() || '(none)';
        const currency = event.currency.toUpperCase();
        for (const row of [funnel(channels, lead.channel), funnel(sources, source)]) {
          row.wonAmount[currency] = (row.wonAmount[currency] ?? 0) + event.amount;
        }
      }
      if (lead.ownerId && event.stage === 'won') manager(lead.ownerId).won++;
      if (lead.ownerId && event.stage === 'lost') manager(lead.ownerId).lost++;
    }
    if (event.kind === 'breached') {
      count(lead, 'breached', day);
      const id = event.managerId ?? lead.ownerId;
      if (id) manager(id).breached++;
    }
  }
  const rows = (map: Record<string, Funnel>) =>
    Object.fromEntries(
      Object.entries(map).map(([key, row]) => [
        key,
        {
          ...row.counts,
          conversionRate: row.counts.captured ? (row.counts.won ?? 0) / row.counts.captured : null,
          wonAmount: row.wonAmount,
        },
      ]),
    );
  return {
    channels: rows(channels),
    sources: rows(sources),
    managers: Object.fromEntries(
      Object.entries(managers).map(([id, m]) => [
        id,
        {
          managerId: id,
          assigned: m.assigned,
          firstResponses: m.responded,
          unassigned: m.unassigned,
          unacknowledged: Math.max(0, m.awaiting),
          speedToLead: {
            samples: m.samples.length,
            medianMs: rank(m.samples, 50),
            p90Ms: rank(m.samples, 90),
          },
          won: m.won,
          lost: m.lost,
          winRate: m.won + m.lost > 0 ? m.won / (m.won + m.lost) : null,
          breached: m.breached,
        },
      ]),
    ),
    daily: Object.entries(daily).map(([day, counts]) => ({ day, ...counts })),
  };
}

/** Rows by their key, without it (the report's order is its own business). */
const keyed = <T extends object>(rows: readonly T[], key: keyof T) =>
  Object.fromEntries(
    rows.map((row) => {
      const rest: Record<string, unknown> = { ...(row as Record<string, unknown>) };
      delete rest[key as string];
      return [String(row[key]), rest];
    }),
  );

describe('summarize over random event streams', () => {
  const config = new LeadflowConfig({
    timeZone: SEOUL,
    forms: [],
    teams: [
      {
        id: 'sales',
        name: 'Sales',
        teamLead: 'alice',
        managers: [
          { id: 'alice', name: 'Alice', email: 'alice@example.com' },
          { id: 'bob', name: 'Bob', email: 'bob@example.com' },
        ],
      },
      {
        id: 'thai',
        name: 'Thai',
        managers: [{ id: 'nok', name: 'Nok', email: 'nok@example.com' }],
      },
    ],
  });

  it('equals the numbers counted directly from the stream', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
        const table = apply(statsDeltas(events, SEOUL));
        const report = summarize(itemsOf(table, 'ALL'), { from: FROM, to: TO });
        const expected = direct(events);
        const channelRows = Object.fromEntries(
          Object.entries(expected.channels).filter(([, row]) =>
            Object.values(row).some((v) => typeof v === 'number' && v > 0),
          ),
        );
        expect(keyed(report.channels, 'channel')).toEqual(channelRows);
        expect(keyed(report.sources, 'source')).toEqual(
          Object.fromEntries(
            Object.entries(expected.sources).filter(([, row]) =>
              Object.values(row).some((v) => typeof v === 'number' && v > 0),
            ),
          ),
        );
        expect(keyed(report.managers, 'managerId')).toEqual(
          Object.fromEntries(
            Object.entries(expected.managers).map(([id, { managerId: _, ...row }]) => [id, row]),
          ),
        );
        expect(report.daily).toEqual(expected.daily);
        expect(report.totals.captured).toBe(events.filter((event) => event.kind === 'captured').length);
      }),
      { numRuns: 300 },
    );
  });

  it('merges any events into one delta per item, equal to the per-event deltas summed', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 30 }), (events) => {
        const merged = statsDeltas(events, SEOUL);
        const ids = merged.map((delta) => `${delta.scope} ${delta.day}`);
        expect(new Set(ids).size).toBe(ids.length);
        const normalize = (table: Map<string, StatsItem>) =>
          Object.fromEntries(
            [...table].map(([id, item]) => [
              id,
              {
                counters: Object.fromEntries(Object.entries(item.counters).filter(([, v]) => v !== 0)),
                speeds: Object.fromEntries(
                  Object.entries(item.speeds).map(([n, s]) => [n, sortedNumbers(s)]),
                ),
              },
            ]),
          );
        const one = normalize(apply(merged));
        const each = normalize(apply(events.flatMap((event) => statsDeltas([event], SEOUL))));
        const nonEmpty = (record: ReturnType<typeof normalize>) =>
          Object.fromEntries(
            Object.entries(record).filter(
              ([, item]) => Object.keys(item.counters).length > 0 || Object.keys(item.speeds).length > 0,
            ),
          );
        expect(nonEmpty(one)).toEqual(nonEmpty(each));
      }),
    );
  });

  it('reads the same whole from the teams as from ALL, and a manager the same own row', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const table = apply(statsDeltas(events, SEOUL));
        const all = summarize(itemsOf(table, 'ALL'), { from: FROM, to: TO });
        const teams = summarize(
          TEAMS.flatMap((team) => itemsOf(table, analyticsScope.team(team))),
          { from: FROM, to: TO },
        );
        expect(teams).toEqual(all);
        for (const id of MANAGERS) {
          const own = summarize(itemsOf(table, analyticsScope.manager(id)), {
            from: FROM,
            to: TO,
            managers: [id],
          });
          const row = all.managers.find((m) => m.managerId === id);
          expect(own.managers).toEqual([
            row ?? {
              managerId: id,
              assigned: 0,
              firstResponses: 0,
              unassigned: 0,
              unacknowledged: 0,
              speedToLead: { samples: 0, medianMs: null, p90Ms: null },
              won: 0,
              lost: 0,
              winRate: null,
              breached: 0,
            },
          ]);
        }
      }),
    );
  });

  it("gives a team lead their teams' numbers and their own, never twice", () => {
    // Alice leads sales and is a manager too, with leads in sales and (by reassignment) in thai.
    const alice: Viewer = {
      userId: 'u-alice',
      username: 'alice',
      role: 'team_lead',
      managerId: 'alice',
      memberOf: ['sales'],
      leads: ['sales'],
    };
    const plan = planAnalyticsRead(alice, {}, config);
    expect(plan.reads).toEqual([{ scope: 'TEAM#sales' }, { scope: 'MANAGER#alice', exceptTeams: ['sales'] }]);
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const table = apply(statsDeltas(events, SEOUL));
        const read = (scope: AnalyticsScope, filter: Parameters<typeof selectTeams>[1] = {}) =>
          itemsOf(table, scope).map((item) => selectTeams(item, filter));
        const report = summarize(
          plan.reads.flatMap((r) => read(r.scope, r)),
          { from: FROM, to: TO, managers: plan.managers },
        );
        const all = summarize(itemsOf(table, 'ALL'), { from: FROM, to: TO, managers: ['alice'] });
        expect(report.managers.find((m) => m.managerId === 'alice')).toEqual(all.managers[0]);
        // Every sales capture, counted once, plus alice's own leads elsewhere as they came to her.
        const salesCaptured = events.filter((e) => e.kind === 'captured' && e.lead.teamId === 'sales').length;
        const aliceElsewhere = events.filter(
          (e) => e.lead.teamId !== 'sales' && e.kind === 'assigned' && e.managerId === 'alice',
        ).length;
        const aliceTakenAway = events.filter(
          (e) =>
            e.lead.teamId !== 'sales' &&
            e.kind === 'unassigned' &&
            e.managerId === 'alice' &&
            !e.lead.responded,
        ).length;
        expect(report.totals.captured).toBe(salesCaptured + aliceElsewhere - aliceTakenAway);
      }),
    );
  });
});

describe('nearestRank', () => {
  it('agrees with a sort', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 100 }),
        (samples, p) => {
          const value = nearestRank(samples, p);
          const sorted = sortedNumbers(samples);
          expect(value).toBe(sorted[Math.ceil((p / 100) * sorted.length) - 1]);
          // The definition: at least p% of the samples are at or below it, fewer are strictly below.
          const needed = Math.ceil((p / 100) * samples.length);
          expect(samples.filter((s) => s <= (value as number)).length).toBeGreaterThanOrEqual(needed);
          expect(samples.filter((s) => s < (value as number)).length).toBeLessThan(needed);
        },
      ),
    );
  });

  it('of known samples', () => {
    const speeds = [600_000, 30_000, 120_000, 60_000, 300_000];
    expect(nearestRank(speeds, 50)).toBe(120_000);
    expect(nearestRank(speeds, 90)).toBe(600_000);
    expect(nearestRank([5, 1], 50)).toBe(1);
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('planAnalyticsRead', () => {
  const config = new LeadflowConfig({
    timeZone: SEOUL,
    forms: [],
    teams: [
      {
        id: 'sales',
        name: 'Sales',
        teamLead: 'alice',
        managers: [
          { id: 'alice', name: 'Alice', email: 'alice@example.com' },
          { id: 'bob', name: 'Bob', email: 'bob@example.com' },
        ],
      },
      { id: 'thai', name: 'Thai', managers: [{ id: 'nok', name: 'Nok', email: 'nok@example.com' }] },
    ],
  });
  const viewer = (role: Viewer['role'], managerId?: string, leads: string[] = []): Viewer => ({
    userId: `u-${managerId ?? 'admin'}`,
    username: managerId ?? 'admin@example.com',
    role,
    managerId,
    memberOf: [],
    leads,
  });

  it('reads ALL or one team for an admin', () => {
    expect(planAnalyticsRead(viewer('admin'), {}, config)).toEqual({
      reads: [{ scope: 'ALL' }],
      managers: ['alice', 'bob', 'nok'],
    });
    expect(planAnalyticsRead(viewer('admin'), { team: 'thai' }, config)).toEqual({
      reads: [{ scope: 'TEAM#thai' }],
      managers: ['nok'],
    });
    expect(() => planAnalyticsRead(viewer('admin'), { team: 'nope' }, config)).toThrow(ValidationError);
  });

  it('reads only the teams a team lead leads (403 for another)', () => {
    const lead = viewer('team_lead', 'alice', ['sales']);
    expect(planAnalyticsRead(lead, { team: 'sales' }, config).reads).toEqual([{ scope: 'TEAM#sales' }]);
    expect(() => planAnalyticsRead(lead, { team: 'thai' }, config)).toThrow(RoleForbiddenError);
  });

  it("reads only a manager's own items, narrowed to a team when asked", () => {
    expect(planAnalyticsRead(viewer('manager', 'bob'), {}, config)).toEqual({
      reads: [{ scope: 'MANAGER#bob' }],
      managers: ['bob'],
    });
    expect(planAnalyticsRead(viewer('manager', 'bob'), { team: 'thai' }, config).reads).toEqual([
      { scope: 'MANAGER#bob', onlyTeams: ['thai'] },
    ]);
  });
});

describe('GET /v1/analytics', () => {
  const config = new LeadflowConfig({
    timeZone: SEOUL,
    forms: [],
    teams: [
      {
        id: 'sales',
        name: 'Sales',
        teamLead: 'alice',
        managers: [{ id: 'alice', name: 'Alice', email: 'alice@example.com' }],
      },
    ],
  });
  /** A table holding one item: alice's lead captured (and assigned) on 5 March in Seoul. */
  function app() {
    const queries: Record<string, unknown>[] = [];
    const [stored] = statsDeltas(newLeadEvents(facts({ capturedAt: '2025-03-05T01:00:00Z' })), SEOUL).map(
      (delta) => ({ ...analyticsItem.key(delta.scope, delta.day), ...delta.add }),
    );
    const doc = {
      send: async (command: { input: Record<string, unknown> }) => {
        queries.push(command.input);
        const {
          ':pk': pk,
          ':from': from = '',
          ':to': to = '',
        } = command.input.ExpressionAttributeValues as Record<string, string | undefined>;
        const hit = stored && pk === stored.pk && from <= stored.sk && stored.sk <= to;
        return { Items: hit ? [stored] : [] };
      },
    } as unknown as DynamoDBDocumentClient;
    const admin: Viewer = {
      userId: 'u',
      username: 'admin@example.com',
      role: 'admin',
      memberOf: [],
      leads: [],
    };
    const api = createApiApp({
      data: {
        doc,
        tableName: 't',
        config: async () => config,
        configStore: {} as ConfigStore,
        enqueueNotifications: async () => {},
        // Noon of 12 March in Seoul.
        clock: () => new Date('2025-03-12T03:00:00Z'),
        newId: () => 'id',
      },
      authenticate: async (authorization) => {
        if (authorization !== 'Bearer admin') throw new UnauthorizedError('No valid token.');
        return admin;
      },
    });
    return { api, queries };
  }
  const headers = { authorization: 'Bearer admin' };

  it('answers the report of the last 30 business days by default', async () => {
    const { api, queries } = app();
    const response = await api.request('/v1/analytics', { headers });
    expect(response.status).toBe(200);
    const report = (await response.json()) as AnalyticsReport;
    expect([report.from, report.to, report.timeZone]).toEqual(['2025-02-11', '2025-03-12', SEOUL]);
    expect(report.daily).toHaveLength(30);
    expect(report.totals).toMatchObject({ captured: 1, conversionRate: 0 });
    expect(report.managers).toEqual([
      expect.objectContaining({ managerId: 'alice', assigned: 1, unacknowledged: 1 }),
    ]);
    // One query, of the ALL scope's day items in the range.
    expect(queries).toEqual([
      expect.objectContaining({
        ExpressionAttributeValues: {
          ':pk': 'ANALYTICS#ALL',
          ':from': 'DAY#2025-02-11',
          ':to': 'DAY#2025-03-12',
        },
      }),
    ]);
  });

  it('refuses a malformed day and an overlong range with field errors (422), and no token (401)', async () => {
    const { api } = app();
    const malformed = await api.request('/v1/analytics?from=2025-02-30', { headers });
    expect(malformed.status).toBe(422);
    expect(await malformed.json()).toMatchObject({ error: 'validation_failed', fields: [{ field: 'from' }] });
    const long = await api.request('/v1/analytics?from=2024-01-01&to=2025-03-01', { headers });
    expect(long.status).toBe(422);
    expect(await long.json()).toMatchObject({ fields: [{ field: 'from', code: 'range_too_long' }] });
    expect((await api.request('/v1/analytics')).status).toBe(401);
  });

  it('is described in the OpenAPI document with its security scheme', () => {
    const { api } = app();
    const document = api.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    const operation = document.paths?.['/v1/analytics']?.get;
    expect(operation?.security).toEqual([{ bearerAuth: [] }]);
    expect(operation?.parameters?.map((parameter) => ('name' in parameter ? parameter.name : ''))).toEqual([
      'from',
      'to',
      'team',
    ]);
  });
});
