import {
  addBusinessTime,
  type BusinessHours,
  businessHoursSchema,
  isOpen,
  LeadflowConfig,
  MAX_TIMER_DELAY_SECONDS,
  type Notification,
  PRIORITIES,
  planSlaStep,
  renderSlaNotice,
  renderTaskNotice,
  type SlaPolicy,
  type SlaRecord,
  type SlaStep,
  scaledDelay,
  scaleSlaPolicy,
  slaConfigSchema,
  slaDeadline,
  slaPolicyFor,
  slaPolicySchema,
  slaSteps,
  slaTimerFor,
  startSlaClock,
  stopSlaClock,
  timerDelaySeconds,
  timerMessageSchema,
  timerWaitsLonger,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { demoConfig, demoManager, notificationFixture, rawDemoConfig } from './support';

const MINUTE = 60_000;
const at = (iso: string) => new Date(iso);

function policy(input: unknown): SlaPolicy {
  return slaPolicySchema.parse(input);
}

/** The demo's calendar policy: urgent 2, high 5, normal 15, low 60; warning 1 min before; two levels, one repeat. */
function demoPolicy(): SlaPolicy {
  const found = demoConfig().sla?.policies['first-response'];
  if (!found) throw new Error('The demo config has no first-response policy');
  return found;
}

function clock(overrides: Partial<Parameters<typeof startSlaClock>[0]> = {}): SlaRecord {
  const record = startSlaClock({
    lead: { priority: 'urgent', teamId: 'sales', rule: 'urgent-calls', ownerId: 'bob', status: 'new' },
    sla: demoConfig().sla,
    team: demoConfig().teams.get('sales'),
    start: at('2026-03-10T01:00:00.000Z'),
    reason: 'created',
    ...overrides,
  });
  if (!record) throw new Error('no clock');
  return record;
}

const newLead = { status: 'new', ownerId: 'bob' };

describe('timer messages and the time scale', () => {
  it('scales a delay by a positive factor, and treats anything else as 1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 * 24 * 60 * MINUTE }),
        fc.double({ min: 0.0001, max: 1, noNaN: true }),
        (ms, scale) => {
          const scaled = scaledDelay(ms, scale);
          expect(scaled).toBeGreaterThanOrEqual(0);
          expect(scaled).toBeLessThanOrEqual(ms);
          expect(scaledDelay(ms, 1)).toBe(ms);
          for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
            expect(scaledDelay(ms, bad)).toBe(ms);
        },
      ),
    );
    expect(scaledDelay(2 * MINUTE, 0.01)).toBe(1200);
    expect(scaledDelay(-5, 0.5)).toBe(0);
  });

  it('delays a timer by its remaining wait, whole seconds up to 900, and 0 once due', () => {
    const now = at('2026-03-10T00:00:00.000Z');
    fc.assert(
      fc.property(fc.integer({ min: -10 * MINUTE, max: 48 * 60 * MINUTE }), (offset) => {
        const seconds = timerDelaySeconds(new Date(now.getTime() + offset), now);
        expect(Number.isInteger(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThanOrEqual(MAX_TIMER_DELAY_SECONDS);
        if (offset <= 0) expect(seconds).toBe(0);
        if (offset > 0 && offset <= MAX_TIMER_DELAY_SECONDS * 1000)
          expect(seconds).toBe(Math.ceil(offset / 1000));
        // A timer held the longest SQS allows still waits again when it is due later than that.
        expect(timerWaitsLonger(new Date(now.getTime() + offset).toISOString(), now)).toBe(offset > 1000);
      }),
    );
  });

  it('parses every kind of timer and rejects an unknown one', () => {
    const sla = slaTimerFor({ leadId: 'L1', contactId: 'C1' }, clock());
    expect(timerMessageSchema.parse(sla)).toMatchObject({ kind: 'sla', generation: 1, step: 0, hops: 0 });
    const task = {
      kind: 'task_reminder',
      timerId: 'T1:reminder',
      dueAt: '2026-03-10T01:00:00.000Z',
      taskId: 'T1',
      leadId: 'L1',
      contactId: 'C1',
      taskDueAt: '2026-03-10T01:00:00.000Z',
    };
    expect(timerMessageSchema.parse(task).kind).toBe('task_reminder');
    expect(timerMessageSchema.parse({ ...task, kind: 'task_overdue' }).kind).toBe('task_overdue');
    expect(timerMessageSchema.safeParse({ ...task, kind: 'nap' }).success).toBe(false);
  });
});

describe('the sla configuration', () => {
  it('holds the demo targets: urgent 2, high 5, normal 15, low 60 minutes, on the calendar', () => {
    const found = demoPolicy();
    expect(found.targets).toEqual({ urgent: 2, high: 5, normal: 15, low: 60 });
    expect(found.clock).toBe('calendar');
    expect(found.escalation.levels[0]).toEqual({ afterMinutes: 0, action: 'notify_team_lead' });
  });

  it('picks the rule’s policy, else the team’s, else the default', () => {
    const sla = slaConfigSchema.parse({
      default: 'base',
      teams: { enterprise: 'hours' },
      rules: { vip: 'fast' },
      policies: {
        base: { targets: { normal: 15 } },
        hours: { clock: 'business_hours', targets: { normal: 30 } },
        fast: { targets: { normal: 1 } },
      },
    });
    expect(slaPolicyFor(sla, { teamId: 'sales' })?.policyId).toBe('base');
    expect(slaPolicyFor(sla, { teamId: 'enterprise', rule: 'default' })?.policyId).toBe('hours');
    expect(slaPolicyFor(sla, { teamId: 'enterprise', rule: 'vip' })?.policyId).toBe('fast');
    expect(slaPolicyFor(slaConfigSchema.parse({ policies: {} }), { teamId: 'sales' })).toBeUndefined();
    expect(slaPolicyFor(undefined, { teamId: 'sales' })).toBeUndefined();
  });

  it('refuses unknown policies, teams and rules, levels out of order and overlapping repeats', () => {
    const input = rawDemoConfig();
    const broken = (sla: unknown) => () => new LeadflowConfig({ ...input, sla });
    expect(broken({ default: 'nope', policies: {} })).toThrow(/unknown SLA policy nope/);
    expect(broken({ teams: { ghosts: 'p' }, policies: { p: { targets: { low: 5 } } } })).toThrow(
      /unknown team ghosts/,
    );
    expect(broken({ rules: { 'no-such-rule': 'p' }, policies: { p: { targets: { low: 5 } } } })).toThrow(
      /unknown rule no-such-rule/,
    );
    expect(() =>
      policy({
        targets: { low: 5 },
        escalation: {
          levels: [
            { afterMinutes: 10, action: 'reassign' },
            { afterMinutes: 0, action: 'notify_team_lead' },
          ],
        },
      }),
    ).toThrow(/order/);
    expect(() =>
      policy({
        targets: { low: 5 },
        escalation: {
          levels: [{ afterMinutes: 10, action: 'notify_team_lead' }],
          repeat: { times: 1, everyMinutes: 5 },
        },
      }),
    ).toThrow(/pass must end/);
    expect(() => policy({ targets: {} })).toThrow(/target/);
  });

  it('scales every target, warning and delay by the time scale', () => {
    const scaled = scaleSlaPolicy(demoPolicy(), 0.01);
    expect(scaled.targets.urgent).toBeCloseTo(0.02);
    expect(scaled.warningMinutesBefore).toBeCloseTo(0.01);
    expect(scaled.escalation.levels[1]?.afterMinutes).toBeCloseTo(0.1);
    expect(scaled.escalation.repeat.everyMinutes).toBeCloseTo(0.3);
    expect(scaleSlaPolicy(demoPolicy(), 1)).toEqual(demoPolicy());
  });
});

describe('the deadline', () => {
  const sales = (): BusinessHours => {
    const hours = demoConfig().team('sales').businessHours;
    if (!hours) throw new Error('sales has no hours');
    return hours;
  };
  const hoursPolicy = (target: number) => policy({ clock: 'business_hours', targets: { normal: target } });

  it('is the target after the start on the calendar, with the warning shortly before', () => {
    const deadline = slaDeadline({ priority: 'urgent' }, demoPolicy(), undefined, at('2026-03-10T01:00:00Z'));
    expect(deadline?.dueAt.toISOString()).toBe('2026-03-10T01:02:00.000Z');
    expect(deadline?.warnAt?.toISOString()).toBe('2026-03-10T01:01:00.000Z');
    // Never earlier than half-way: a 2-minute target with a 5-minute warning warns after 1 minute.
    const eager = policy({ targets: { urgent: 2 }, warningMinutesBefore: 5 });
    expect(slaDeadline({ priority: 'urgent' }, eager, undefined, at('2026-03-10T01:00:00Z'))?.warnAt).toEqual(
      at('2026-03-10T01:01:00Z'),
    );
    expect(slaDeadline({ priority: 'low' }, eager, undefined, at('2026-03-10T01:00:00Z'))).toBeUndefined();
  });

  it('counts only the team’s open hours on a business-hours clock', () => {
    const team = demoConfig().team('sales');
    // Friday 17:59 in Seoul + 2 business minutes: one before closing, one after Monday's opening.
    expect(
      slaDeadline(
        { priority: 'normal' },
        hoursPolicy(2),
        team,
        at('2026-03-13T08:59:00Z'),
      )?.dueAt.toISOString(),
    ).toBe('2026-03-16T00:01:00.000Z');
    // Thursday 2026-12-24 17:30 + 60: Christmas is a holiday, so Saturday and Sunday too: Monday 09:30.
    expect(
      slaDeadline(
        { priority: 'normal' },
        hoursPolicy(60),
        team,
        at('2026-12-24T08:30:00Z'),
      )?.dueAt.toISOString(),
    ).toBe('2026-12-28T00:30:00.000Z');
    // A lunch break is not counted.
    const lunch = businessHoursSchema.parse({
      timeZone: 'Asia/Seoul',
      weekly: { tue: ['09:00-12:00', '13:00-18:00'] },
    });
    expect(addBusinessTime(lunch, at('2026-03-10T02:50:00Z'), 20 * MINUTE)?.toISOString()).toBe(
      '2026-03-10T04:10:00.000Z',
    );
    // A team without hours counts the calendar.
    expect(
      slaDeadline(
        { priority: 'normal' },
        hoursPolicy(2),
        { businessHours: undefined },
        at('2026-03-13T08:59:00Z'),
      )?.dueAt,
    ).toEqual(at('2026-03-13T09:01:00Z'));
  });

  it('puts exactly the target of open minutes between the start and a business-hours deadline', () => {
    const hours = sales();
    const start = Date.parse('2026-12-20T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 14 * 24 * 60 }),
        fc.integer({ min: 1, max: 9 * 60 }),
        (offsetMinutes, target) => {
          const from = new Date(start + offsetMinutes * MINUTE);
          const due = addBusinessTime(hours, from, target * MINUTE);
          expect(due).toBeDefined();
          const end = (due as Date).getTime();
          expect(end).toBeGreaterThanOrEqual(from.getTime() + target * MINUTE);
          let open = 0;
          for (let t = from.getTime(); t < end; t += MINUTE) if (isOpen(hours, new Date(t))) open++;
          expect(open).toBe(target);
          // The deadline falls in open time, or at the very end of a block.
          expect(isOpen(hours, new Date(end - MINUTE))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('starting and stopping a clock', () => {
  it('starts for an owned, unanswered lead with a target; the next owner’s is the next generation', () => {
    const first = clock();
    expect(first).toMatchObject({
      policyId: 'first-response',
      priority: 'urgent',
      ownerId: 'bob',
      generation: 1,
      step: 0,
      level: 0,
      round: 0,
      startedAt: '2026-03-10T01:00:00.000Z',
      dueAt: '2026-03-10T01:02:00.000Z',
      warnAt: '2026-03-10T01:01:00.000Z',
      nextAt: '2026-03-10T01:01:00.000Z',
    });
    const second = clock({ previous: { ...first, level: 2 }, reason: 'reassigned' });
    expect(second).toMatchObject({ generation: 2, level: 2, reason: 'reassigned', step: 0 });
    expect(clock({ scale: 0.01 }).dueAt).toBe('2026-03-10T01:00:01.200Z');
  });

  it('does not start for a queued, answered or untargeted lead, nor without a policy', () => {
    const base = {
      sla: demoConfig().sla,
      team: undefined,
      start: at('2026-03-10T01:00:00Z'),
      reason: 'created' as const,
    };
    const lead = { priority: 'urgent' as const, teamId: 'sales', ownerId: 'bob', status: 'new' };
    expect(startSlaClock({ ...base, lead: { ...lead, ownerId: undefined } })).toBeUndefined();
    expect(
      startSlaClock({ ...base, lead: { ...lead, acknowledgedAt: '2026-03-10T01:00:05Z' } }),
    ).toBeUndefined();
    expect(startSlaClock({ ...base, lead: { ...lead, status: 'contacted' } })).toBeUndefined();
    expect(startSlaClock({ ...base, sla: undefined, lead })).toBeUndefined();
    const urgentOnly = slaConfigSchema.parse({ default: 'p', policies: { p: { targets: { urgent: 2 } } } });
    expect(startSlaClock({ ...base, sla: urgentOnly, lead: { ...lead, priority: 'low' } })).toBeUndefined();
  });

  it('records what stopped the clock and when, once', () => {
    const running = clock();
    const stop = stopSlaClock(running, 'acknowledged', at('2026-03-10T01:00:48Z'));
    expect(stop).toMatchObject({ stoppedAt: '2026-03-10T01:00:48.000Z', stoppedBy: 'acknowledged' });
    expect(stop?.summary).toMatch(/acknowledged 72 s before the urgent deadline/);
    expect(stopSlaClock({ ...running, ...stop }, 'contacted', at('2026-03-10T01:05:00Z'))).toBeUndefined();
    expect(stopSlaClock(undefined, 'contacted', at('2026-03-10T01:05:00Z'))).toBeUndefined();
    expect(stopSlaClock(running, 'contacted', at('2026-03-10T01:03:00Z'))?.summary).toMatch(/60 s after/);
  });
});

/** Fires the clock's timers one after another at their due times, as the timer function would. */
function run(record: SlaRecord, clockPolicy: SlaPolicy, lead = newLead, maxFirings = 50) {
  const taken: SlaStep[][] = [];
  let current = record;
  for (let firing = 0; firing < maxFirings; firing++) {
    const timer = slaTimerFor({ leadId: 'L', contactId: 'C' }, current);
    if (!timer) break;
    const plan = planSlaStep({ lead, sla: current, timer }, clockPolicy, at(timer.dueAt));
    if (plan.kind === 'skip') throw new Error(`A due timer was skipped: ${plan.reason}`);
    taken.push([...plan.steps]);
    current = plan.record;
    if (plan.reassigns) break;
  }
  return { taken, record: current };
}

const policyArbitrary = fc
  .record({
    target: fc.integer({ min: 1, max: 240 }),
    warning: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }),
    delays: fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 5 }),
    actions: fc.array(fc.constantFrom('notify_team_lead' as const, 'reassign' as const), {
      minLength: 5,
      maxLength: 5,
    }),
    times: fc.integer({ min: 0, max: 3 }),
    gap: fc.integer({ min: 1, max: 60 }),
  })
  .map(({ target, warning, delays, actions, times, gap }) => {
    const sorted = [...delays].sort((a, b) => a - b);
    return policy({
      targets: { urgent: target, high: target, normal: target, low: target },
      ...(warning === undefined ? {} : { warningMinutesBefore: warning }),
      escalation: {
        levels: sorted.map((afterMinutes, index) => ({ afterMinutes, action: actions[index] })),
        repeat: { times, everyMinutes: (sorted[sorted.length - 1] ?? 0) + gap },
      },
    });
  });

function startWith(clockPolicy: SlaPolicy, round = 0): SlaRecord {
  const record = startSlaClock({
    lead: { priority: 'normal', teamId: 'sales', ownerId: 'bob', status: 'new' },
    sla: slaConfigSchema.parse({ default: 'p', policies: { p: clockPolicy } }),
    team: undefined,
    start: at('2026-03-10T01:00:00.000Z'),
    reason: 'created',
    round,
  });
  if (!record) throw new Error('no clock');
  return record;
}

describe('planSlaStep: what a firing timer does', () => {
  it('runs the demo clock: warning, breach with the team lead alerted, then a reassignment', () => {
    const { taken, record } = run(clock(), demoPolicy());
    expect(taken.map((steps) => steps.map((step) => step.kind))).toEqual([
      ['warning'],
      ['breach', 'escalation'],
      ['escalation'],
    ]);
    expect(taken[1]?.[1]).toMatchObject({
      level: 1,
      action: 'notify_team_lead',
      at: '2026-03-10T01:02:00.000Z',
    });
    expect(taken[2]?.[0]).toMatchObject({ level: 2, action: 'reassign', at: '2026-03-10T01:12:00.000Z' });
    expect(record).toMatchObject({ level: 2, step: 4, escalatedAt: '2026-03-10T01:12:00.000Z' });
    expect(record.nextAt).toBeUndefined();
    expect(record.breachedAt).toBe('2026-03-10T01:02:00.000Z');
    // The new owner's clock is the next pass: its levels are the repeat, and then it ends.
    const next = clock({
      previous: record,
      reason: 'escalated',
      round: 1,
      start: at('2026-03-10T01:12:00Z'),
    });
    const again = run(next, demoPolicy());
    expect(
      again.taken
        .flat()
        .filter((step) => step.kind === 'escalation')
        .map((step) => step.level),
    ).toEqual([3, 4]);
    const last = clock({
      previous: again.record,
      reason: 'escalated',
      round: 2,
      start: at('2026-03-10T01:30:00Z'),
    });
    expect(
      run(last, demoPolicy())
        .taken.flat()
        .map((step) => step.kind),
    ).toEqual(['warning', 'breach']);
  });

  it('never acts for an acknowledged, contacted or closed lead, whatever the time', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          { lead: { ...newLead, acknowledgedAt: '2026-03-10T01:00:30Z' }, reason: 'acknowledged' },
          { lead: { ...newLead, status: 'contacted' }, reason: 'contacted' },
          { lead: { ...newLead, status: 'qualified' }, reason: 'contacted' },
          { lead: { ...newLead, status: 'won' }, reason: 'closed' },
          { lead: { ...newLead, status: 'lost' }, reason: 'closed' },
        ),
        fc.integer({ min: 0, max: 48 * 60 }),
        fc.integer({ min: 0, max: 4 }),
        (state, minutes, step) => {
          const record = { ...clock(), step };
          const plan = planSlaStep(
            { lead: state.lead, sla: record, timer: { generation: record.generation, step } },
            demoPolicy(),
            new Date(Date.parse(record.startedAt) + minutes * MINUTE),
          );
          expect(plan).toEqual({ kind: 'skip', reason: state.reason });
        },
      ),
    );
  });

  it('does nothing for a stopped clock, another generation, a taken step or another owner', () => {
    const record = clock();
    const late = at('2026-03-10T02:00:00Z');
    const timer = { generation: 1, step: 0 };
    const stopped = { ...record, stoppedAt: '2026-03-10T01:00:10Z', stoppedBy: 'acknowledged' as const };
    expect(planSlaStep({ lead: newLead, sla: stopped, timer }, demoPolicy(), late)).toEqual({
      kind: 'skip',
      reason: 'acknowledged',
    });
    const superseded = { kind: 'skip', reason: 'superseded' };
    expect(
      planSlaStep({ lead: newLead, sla: { ...record, generation: 2 }, timer }, demoPolicy(), late),
    ).toEqual(superseded);
    expect(planSlaStep({ lead: newLead, sla: { ...record, step: 2 }, timer }, demoPolicy(), late)).toEqual(
      superseded,
    );
    expect(
      planSlaStep({ lead: { ...newLead, ownerId: 'alice' }, sla: record, timer }, demoPolicy(), late),
    ).toEqual(superseded);
    expect(planSlaStep({ lead: newLead, sla: undefined, timer }, demoPolicy(), late)).toEqual(superseded);
  });

  it('catches up with every step due, leaving out a warning the breach overtook, up to a reassignment', () => {
    const plan = planSlaStep(
      { lead: newLead, sla: clock(), timer: { generation: 1, step: 0 } },
      demoPolicy(),
      at('2026-03-10T03:00:00Z'),
    );
    if (plan.kind !== 'act') throw new Error('expected to act');
    expect(plan.steps.map((step) => step.kind)).toEqual(['breach', 'escalation', 'escalation']);
    expect(plan.reassigns).toBe(true);
    expect(plan.record.warnedAt).toBeUndefined();
    // Should nobody be available, the clock goes on with the next pass.
    expect(plan.after).toEqual({ at: '2026-03-10T01:32:00.000Z', step: 4 });
  });

  it('for any policy: steps in time order, never early, levels counted up, at most every pass', () => {
    fc.assert(
      fc.property(policyArbitrary, fc.integer({ min: 0, max: 2 }), (clockPolicy, round) => {
        const record = startWith(clockPolicy, round);
        const steps = slaSteps(record, clockPolicy);
        for (let index = 1; index < steps.length; index++) {
          expect(Date.parse(steps[index]?.at ?? '')).toBeGreaterThanOrEqual(
            Date.parse(steps[index - 1]?.at ?? ''),
          );
        }
        // A timer a little early does nothing; on time, it acts.
        const timer = slaTimerFor({ leadId: 'L', contactId: 'C' }, record);
        if (!timer) throw new Error('a new clock has a next step');
        expect(
          planSlaStep(
            { lead: newLead, sla: record, timer },
            clockPolicy,
            new Date(Date.parse(timer.dueAt) - 5000),
          ),
        ).toEqual({ kind: 'skip', reason: 'not_due' });
        const { taken } = run(record, clockPolicy);
        const flat = taken.flat();
        const levels = flat.flatMap((step) => (step.kind === 'escalation' ? [step.level] : []));
        const perPass = clockPolicy.escalation.levels.length;
        expect(levels).toEqual(levels.map((_, index) => (levels[0] ?? 0) + index));
        expect(levels.length).toBeLessThanOrEqual(perPass * (clockPolicy.escalation.repeat.times + 1));
        if (levels.length > 0) expect(levels[0]).toBe(round * perPass + 1);
        // The breach comes once, before any level; a reassignment is always the last step taken.
        expect(flat.filter((step) => step.kind === 'breach')).toHaveLength(1);
        const reassign = flat.findIndex((step) => step.kind === 'escalation' && step.action === 'reassign');
        if (reassign >= 0) expect(reassign).toBe(flat.length - 1);
        for (const batch of taken)
          for (const step of batch) expect(step.kind === 'warning' && batch.length > 1).toBe(false);
      }),
    );
  });

  it('for any firing time: a stale copy of a timer that acted does nothing', () => {
    fc.assert(
      fc.property(policyArbitrary, fc.integer({ min: 0, max: 24 * 60 }), (clockPolicy, minutes) => {
        const record = startWith(clockPolicy);
        const timer = slaTimerFor({ leadId: 'L', contactId: 'C' }, record);
        if (!timer) throw new Error('a new clock has a next step');
        const now = new Date(Date.parse(record.startedAt) + minutes * MINUTE);
        const first = planSlaStep({ lead: newLead, sla: record, timer }, clockPolicy, now);
        if (first.kind !== 'act') return;
        const again = planSlaStep({ lead: newLead, sla: first.record, timer }, clockPolicy, now);
        expect(again).toEqual({ kind: 'skip', reason: 'superseded' });
      }),
    );
  });
});

describe('SLA and task notices', () => {
  const base = notificationFixture('manager_alert', {
    contact: { name: '<script>alert(1)</script> Kim', email: 'kim@example.com', emailKey: 'kim@example.com' },
  });
  const sla = {
    policyId: 'first-response',
    priority: 'urgent',
    ownerId: 'bob',
    dueAt: '2026-03-10T01:02:00.000Z',
    level: 1,
  };

  it('alerts the team lead with a subject that begins with [Overdue], in their language, escaped', () => {
    for (const language of ['en', 'ko', 'th'] as const) {
      const notification: Notification = { ...base, kind: 'sla_overdue', recipientId: 'alice', sla };
      const email = renderSlaNotice(notification, {
        recipient: { ...demoManager('alice'), language },
        owner: demoManager('bob'),
        timeZone: 'Asia/Seoul',
        leadLinkBaseUrl: 'http://localhost:3000/console/leads',
      });
      expect(email.subject.startsWith('[Overdue] ')).toBe(true);
      expect(email.subject).toContain('2026-03-10 10:02:00');
      expect(email.html).not.toContain('<script>');
      expect(email.html).toContain('&lt;script&gt;');
      expect(email.html).toContain(`lang="${language}"`);
    }
  });

  it('warns the owner before the deadline, with the "I\'m on it" link when given', () => {
    const notification: Notification = {
      ...base,
      kind: 'sla_warning',
      recipientId: 'bob',
      sla: { ...sla, level: 0 },
    };
    const email = renderSlaNotice(notification, {
      recipient: demoManager('bob'),
      owner: demoManager('bob'),
      timeZone: 'Asia/Seoul',
      leadLinkBaseUrl: 'http://localhost:3000/console/leads',
      actions: { acknowledge: 'http://localhost:3000/a/token' },
    });
    expect(email.subject).toMatch(/^\[URGENT\] Respond to /);
    expect(email.text).toContain("I'm on it: http://localhost:3000/a/token");
  });

  it('reminds a task’s assignee and tells the team lead of an overdue task', () => {
    const task = {
      taskId: 'T1',
      type: 'call',
      title: 'Call <back>',
      dueAt: '2026-03-10T01:00:00.000Z',
      assigneeId: 'bob',
    };
    const options = {
      timeZone: 'Asia/Seoul',
      leadLinkBaseUrl: 'http://x/leads',
      assignee: demoManager('bob'),
    };
    const reminder = renderTaskNotice(
      { ...base, kind: 'task_reminder', recipientId: 'bob', task },
      { ...options, recipient: demoManager('bob') },
    );
    expect(reminder.subject).toMatch(/^\[Task\] call due 2026-03-10 10:00:00/);
    expect(reminder.html).toContain('Call &lt;back&gt;');
    const overdue = renderTaskNotice(
      { ...base, kind: 'task_overdue', recipientId: 'alice', task },
      { ...options, recipient: demoManager('alice') },
    );
    expect(overdue.subject.startsWith('[Overdue] ')).toBe(true);
  });

  it('has a clock policy for every priority in the demo', () => {
    for (const priority of PRIORITIES) expect(demoPolicy().targets[priority]).toBeGreaterThan(0);
  });
});
