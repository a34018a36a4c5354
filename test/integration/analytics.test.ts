import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  analyticsUpdates,
  ConfigStore,
  type DataContext,
  drainQueue,
  readAnalytics,
  recordAnalytics,
  routeCapture,
} from '@leadflow/aws';
import {
  type AnalyticsEvent,
  type AnalyticsReport,
  type CaptureEvent,
  type LeadFacts,
  LeadflowConfig,
  type LeadflowConfigInput,
  RoleForbiddenError,
  ValidationError,
  type Viewer,
  viewerFromClaims,
} from '@leadflow/core';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { person, startTestSystem, type TestSystem } from '../support/system';

// Analytics maintained on write (issue 9), on DynamoDB Local: what each role reads, and exact numbers.
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const SEOUL = 'Asia/Seoul';
const manager = (id: string) => ({ id, name: id, email: `${id}@example.com` });
const input: LeadflowConfigInput = {
  timeZone: SEOUL,
  forms: [],
  teams: [
    // nadia leads north and is one of its managers: her numbers must not count twice.
    { id: 'north', name: 'North', teamLead: 'nadia', managers: [manager('nadia'), manager('nils')] },
    { id: 'south', name: 'South', teamLead: 'sam', managers: [manager('sam'), manager('sue')] },
    {
      id: 'east',
      name: 'East',
      managers: [{ ...manager('erin'), outOfOfficeUntil: '2099-01-01T00:00:00Z' }],
    },
  ],
};
const config = new LeadflowConfig(input);

function data(): DataContext {
  return {
    doc: system.doc,
    tableName: system.tableName,
    config: async () => config,
    configStore: new ConfigStore(system.doc, system.tableName, config),
    enqueueNotifications: async () => {},
    clock: () => new Date('2025-03-12T03:00:00Z'),
    newId: ulid,
  };
}

function viewer(username: string, groups: string[]): Viewer {
  const result = viewerFromClaims({ sub: `sub-${username}`, username, groups }, config);
  if (!result.ok) throw new Error(result.reason);
  return result.viewer;
}

const admin = viewer('admin@example.com', ['admin']);
const nadiaLead = viewer('nadia', ['team_lead']);
const nils = viewer('nils', ['manager']);
const sue = viewer('sue', ['manager']);

const lead = (
  capturedAt: string,
  channel: string,
  teamId: string,
  ownerId: string,
  utmSource?: string,
): LeadFacts => ({ capturedAt, channel, teamId, ownerId, ...(utmSource ? { utmSource } : {}) });

const created = (facts: LeadFacts): AnalyticsEvent[] => [
  { kind: 'captured', lead: facts },
  { kind: 'assigned', lead: facts, managerId: facts.ownerId as string },
];
const responded = (facts: LeadFacts, speedMs: number): AnalyticsEvent => ({
  kind: 'first_response',
  lead: facts,
  managerId: facts.ownerId as string,
  speedMs,
});
const reached = (facts: LeadFacts, stage: 'contacted' | 'lost'): AnalyticsEvent => ({
  kind: 'reached',
  lead: facts,
  stage,
});

// Seoul is UTC+9: its day begins at 15:00 UTC of the day before.
const A = lead('2025-03-09T14:30:00Z', 'web_form', 'north', 'nadia', 'google'); // Seoul 03-09 23:30
const B = lead('2025-03-09T15:30:00Z', 'phone_call', 'north', 'nils'); // Seoul 03-10 00:30
const G = lead('2025-03-09T16:00:00Z', 'web_form', 'north', 'nadia'); // Seoul 03-10 01:00
const C = lead('2025-03-10T01:00:00Z', 'web_form', 'south', 'sam', 'Google'); // Seoul 03-10
const D = lead('2025-03-10T02:00:00Z', 'web_form', 'south', 'sue', 'facebook'); // Seoul 03-10
const F = lead('2025-03-10T20:00:00Z', 'web_form', 'north', 'nadia', 'google'); // Seoul 03-11 05:00
const E = lead('2025-03-11T03:00:00Z', 'chat', 'north', 'nadia', 'google'); // Seoul 03-11
const H = lead('2025-03-11T05:00:00Z', 'web_form', 'north', 'nadia', 'google'); // Seoul 03-11
const I = lead('2025-03-11T06:00:00Z', 'web_form', 'north', 'nils'); // Seoul 03-11, then given to nadia

const RANGE = { from: '2025-03-09', to: '2025-03-11' };
const zeroDay = { qualified: 0, proposal: 0, won: 0, lost: 0 };

describe('analytics on DynamoDB Local', () => {
  /** A stage change reaching contacted, qualified and won at once, and the first response, as the API commits it. */
  async function winAtOnce(facts: LeadFacts, speedMs: number, amount: number) {
    const { doc, tableName } = system;
    const marker = { pk: `TEST#${ulid()}`, sk: 'LEAD' };
    const updates = analyticsUpdates(
      tableName,
      [
        responded(facts, speedMs),
        { kind: 'reached', lead: facts, stage: 'contacted' },
        { kind: 'reached', lead: facts, stage: 'qualified' },
        { kind: 'reached', lead: facts, stage: 'won', amount, currency: 'KRW' },
      ],
      SEOUL,
    );
    // The caller's own writes (here a stand-in for the lead) share the transaction.
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [{ Put: { TableName: tableName, Item: { ...marker, status: 'won' } } }, ...updates],
      }),
    );
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: marker, ConsistentRead: true }),
    );
    return { updates, lead: Item };
  }

  beforeAll(async () => {
    const { doc, tableName } = system;
    const record = (events: AnalyticsEvent[]) => recordAnalytics(doc, tableName, events, SEOUL);
    await Promise.all([A, B, G, C, D, F, E, H, I].map((facts) => record(created(facts))));
    await Promise.all([
      winAtOnce(A, 60_000, 1_500_000),
      record([responded(B, 180_000), reached(B, 'contacted')]),
      record([reached(B, 'lost')]),
      record([responded(G, 600_000), reached(G, 'contacted')]),
      record([responded(C, 120_000)]),
      record([responded(F, 30_000)]),
      record([responded(E, 300_000), reached(E, 'contacted')]),
      record([responded(H, 120_000)]),
      // I is taken from nils before he answered, and given to nadia, who has not answered yet.
      record([
        { kind: 'unassigned', lead: I, managerId: 'nils' },
        { kind: 'assigned', lead: { ...I, ownerId: 'nadia' }, managerId: 'nadia' },
      ]),
    ]);
  });

  it('commits a stage change reaching contacted, qualified and won with its first response in one transaction', async () => {
    // A lead of its own (in April), so this test stands alone.
    const facts = lead('2025-04-01T00:00:00Z', 'sms', 'south', 'sam', 'kakao');
    await recordAnalytics(system.doc, system.tableName, created(facts), SEOUL);
    const { updates, lead: written } = await winAtOnce(facts, 45_000, 990_000);
    // One Update per stats item (ALL, TEAM#south, MANAGER#sam): DynamoDB allows one operation per item.
    expect(updates).toHaveLength(3);
    expect(written?.status).toBe('won');
    const report = await readAnalytics(data(), viewer('sam', ['manager']), {
      from: '2025-04-01',
      to: '2025-04-01',
    });
    expect(report.channels).toEqual([
      {
        channel: 'sms',
        captured: 1,
        contacted: 1,
        qualified: 1,
        proposal: 0,
        won: 1,
        lost: 0,
        breached: 0,
        conversionRate: 1,
        wonAmount: { KRW: 990_000 },
      },
    ]);
    expect(report.managers).toEqual([
      expect.objectContaining({
        managerId: 'sam',
        firstResponses: 1,
        unacknowledged: 0,
        speedToLead: { samples: 1, medianMs: 45_000, p90Ms: 45_000 },
        winRate: 1,
      }),
    ]);
  });

  it('gives an admin every number: conversion, amounts, speed to lead and the Seoul days', async () => {
    const report = await readAnalytics(data(), admin, RANGE);
    expect(report.timeZone).toBe(SEOUL);
    expect(report.totals).toMatchObject({ captured: 9, contacted: 4, qualified: 1, won: 1, lost: 1 });
    expect(report.totals.conversionRate).toBeCloseTo(1 / 9, 12);
    expect(report.channels).toEqual([
      expect.objectContaining({
        channel: 'web_form',
        captured: 7,
        contacted: 2,
        qualified: 1,
        won: 1,
        lost: 0,
        conversionRate: 1 / 7,
        wonAmount: { KRW: 1_500_000 },
      }),
      expect.objectContaining({ channel: 'chat', captured: 1, contacted: 1, won: 0, conversionRate: 0 }),
      expect.objectContaining({
        channel: 'phone_call',
        captured: 1,
        contacted: 1,
        lost: 1,
        conversionRate: 0,
      }),
    ]);
    // utm_source is counted case-insensitively; leads without one are `(none)`.
    expect(
      report.sources.map(({ source, captured, won, conversionRate, wonAmount }) => ({
        source,
        captured,
        won,
        conversionRate,
        wonAmount,
      })),
    ).toEqual([
      { source: 'google', captured: 5, won: 1, conversionRate: 1 / 5, wonAmount: { KRW: 1_500_000 } },
      { source: '(none)', captured: 3, won: 0, conversionRate: 0, wonAmount: {} },
      { source: 'facebook', captured: 1, won: 0, conversionRate: 0, wonAmount: {} },
    ]);
    const rows = Object.fromEntries(report.managers.map((row) => [row.managerId, row]));
    expect(report.managers.map((row) => row.managerId)).toEqual(['nadia', 'nils', 'sam', 'sue', 'erin']);
    // nadia answered A, E, F, G, H in 60, 300, 30, 600 and 120 s: sorted 30, 60, 120, 300, 600 s; the
    // nearest-rank median is the 3rd (120 s), the p90 the 5th (600 s). I still waits for her.
    expect(rows.nadia).toEqual({
      managerId: 'nadia',
      assigned: 6,
      firstResponses: 5,
      unassigned: 0,
      unacknowledged: 1,
      speedToLead: { samples: 5, medianMs: 120_000, p90Ms: 600_000 },
      won: 1,
      lost: 0,
      winRate: 1,
      breached: 0,
    });
    expect(rows.nils).toEqual({
      managerId: 'nils',
      assigned: 2,
      firstResponses: 1,
      unassigned: 1,
      unacknowledged: 0,
      speedToLead: { samples: 1, medianMs: 180_000, p90Ms: 180_000 },
      won: 0,
      lost: 1,
      winRate: 0,
      breached: 0,
    });
    expect(rows.sue).toMatchObject({
      assigned: 1,
      unacknowledged: 1,
      speedToLead: { samples: 0, medianMs: null, p90Ms: null },
    });
    expect(rows.erin).toMatchObject({ assigned: 0, winRate: null });
    expect(report.totals.speedToLead).toEqual({ samples: 7, medianMs: 120_000, p90Ms: 600_000 });
    // B and G were captured on 9 March in UTC, but on the 10th in Seoul; F on the 10th in UTC, the 11th here.
    expect(report.daily).toEqual([
      {
        day: '2025-03-09',
        captured: 1,
        contacted: 1,
        qualified: 1,
        proposal: 0,
        won: 1,
        lost: 0,
        assigned: 1,
        firstResponses: 1,
      },
      { day: '2025-03-10', captured: 4, contacted: 2, ...zeroDay, lost: 1, assigned: 4, firstResponses: 3 },
      { day: '2025-03-11', captured: 4, contacted: 1, ...zeroDay, assigned: 5, firstResponses: 3 },
    ]);
  });

  it('gives a manager only their own numbers', async () => {
    const own = await readAnalytics(data(), nils, RANGE);
    expect(own.managers.map((row) => row.managerId)).toEqual(['nils']);
    // B is his; I came to him and was taken away before he answered.
    expect(own.totals).toMatchObject({ captured: 1, contacted: 1, lost: 1, won: 0, conversionRate: 0 });
    expect(own.channels.map((row) => row.channel)).toEqual(['phone_call']);
    expect(own.managers[0]).toMatchObject({ assigned: 2, unassigned: 1, unacknowledged: 0, winRate: 0 });
    expect(own.daily.map((day) => day.captured)).toEqual([0, 1, 0]);

    const sues = await readAnalytics(data(), sue, RANGE);
    expect(sues.totals).toMatchObject({ captured: 1, won: 0 });
    expect(sues.sources.map((row) => row.source)).toEqual(['facebook']);
    expect(sues.managers).toEqual([expect.objectContaining({ managerId: 'sue', unacknowledged: 1 })]);
  });

  it("gives a team lead their team's numbers, their own once, and refuses another team (403)", async () => {
    const report = await readAnalytics(data(), nadiaLead, RANGE);
    // North's leads (A, B, G, F, E, H, I), nadia's among them counted once.
    expect(report.totals).toMatchObject({ captured: 7, contacted: 4, won: 1, lost: 1 });
    expect(report.totals.conversionRate).toBe(1 / 7);
    expect(report.managers.map((row) => row.managerId)).toEqual(['nadia', 'nils']);
    expect(report.managers[0]).toMatchObject({ assigned: 6, firstResponses: 5, unacknowledged: 1 });
    expect(report.channels.find((row) => row.channel === 'web_form')).toMatchObject({ captured: 5 });
    await expect(readAnalytics(data(), nadiaLead, { ...RANGE, team: 'south' })).rejects.toThrow(
      RoleForbiddenError,
    );
    const north: AnalyticsReport = await readAnalytics(data(), nadiaLead, { ...RANGE, team: 'north' });
    expect(north.totals).toEqual(report.totals);
  });

  it('gives an admin one team when asked', async () => {
    const south = await readAnalytics(data(), admin, { ...RANGE, team: 'south' });
    expect(south.totals).toMatchObject({ captured: 2, contacted: 0 });
    expect(south.managers.map((row) => [row.managerId, row.assigned, row.unacknowledged])).toEqual([
      ['sam', 1, 0],
      ['sue', 1, 1],
    ]);
  });

  it('defaults to the last 30 Seoul days and refuses more than 366 (422)', async () => {
    const report = await readAnalytics(data(), admin, {});
    // The clock says 03:00 UTC on 12 March: noon in Seoul.
    expect(report.from).toBe('2025-02-11');
    expect(report.to).toBe('2025-03-12');
    expect(report.daily).toHaveLength(30);
    expect(report.totals.captured).toBe(9);
    const error = await readAnalytics(data(), admin, { from: '2024-01-01', to: '2025-03-01' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(422);
  });
});

describe('the router and the drain record as they write', () => {
  function capture(teamId: string, receivedAt: string, utmSource: string): CaptureEvent {
    const p = person('analytics');
    return {
      version: 1,
      submissionId: ulid(),
      channel: 'web_form',
      sourceId: 'analytics-form',
      teamId,
      receivedAt,
      language: 'en',
      contact: { name: p.name, email: p.email, emailKey: p.emailKey },
      consent: true,
      urgent: false,
      answers: {},
      source: { utm: { utm_source: utmSource } },
    };
  }
  const router = (routing = config) => ({
    doc: system.doc,
    tableName: system.tableName,
    config: routing,
    newId: ulid,
    enqueueNotifications: async () => {},
  });

  it('counts a routed lead as captured and assigned on its Seoul day', async () => {
    // 20:00 UTC on 1 May is 05:00 on 2 May in Seoul.
    const event = capture('north', '2025-05-01T20:00:00Z', 'naver');
    const routed = await routeCapture(router(), event);
    const owner = routed.assignment.ownerId as string;
    expect(['nadia', 'nils']).toContain(owner);
    const report = await readAnalytics(data(), admin, { from: '2025-05-01', to: '2025-05-02' });
    expect(report.daily.map((day) => [day.day, day.captured, day.assigned])).toEqual([
      ['2025-05-01', 0, 0],
      ['2025-05-02', 1, 1],
    ]);
    expect(report.sources).toEqual([expect.objectContaining({ source: 'naver', captured: 1 })]);
    expect(report.managers.find((row) => row.managerId === owner)).toMatchObject({
      assigned: 1,
      unacknowledged: 1,
    });
    // A redelivery finds its lead and counts nothing again.
    expect((await routeCapture(router(), event)).createdNow).toBe(false);
    expect(
      (await readAnalytics(data(), admin, { from: '2025-05-02', to: '2025-05-02' })).totals.captured,
    ).toBe(1);
  });

  it('counts a queued lead as captured, and as assigned when the drain gives it to someone', async () => {
    const routed = await routeCapture(router(), capture('east', '2025-06-01T10:00:00Z', 'ads'));
    expect(routed.assignment.ownerId).toBeUndefined();
    const range = { from: '2025-06-01', to: '2025-06-01' };
    const before = await readAnalytics(data(), admin, range);
    expect(before.totals.captured).toBe(1);
    expect(before.managers.find((row) => row.managerId === 'erin')).toMatchObject({ assigned: 0 });

    const back = new LeadflowConfig({
      ...input,
      teams: input.teams.map((team) =>
        team.id === 'east' ? { ...team, managers: [manager('erin')] } : team,
      ),
    });
    const drained = await drainQueue(router(back), 'east');
    expect(drained.assigned).toEqual([expect.objectContaining({ leadId: routed.leadId, managerId: 'erin' })]);
    const after = await readAnalytics(data(), admin, range);
    expect(after.totals.captured).toBe(1);
    expect(after.managers.find((row) => row.managerId === 'erin')).toMatchObject({
      assigned: 1,
      unacknowledged: 1,
    });
  });
});
