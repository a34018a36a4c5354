import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  ConfigStore,
  type DataContext,
  findLeadById,
  fireSlaTimer,
  fireTaskTimer,
  LeadRepository,
  readAnalytics,
  routeCapture,
  type TimerDeps,
  type TimerScheduler,
} from '@leadflow/aws';
import {
  type CaptureEvent,
  LeadflowConfig,
  type LeadflowConfigInput,
  type Notification,
  type TimerOf,
  type TimerRequest,
  type Viewer,
  viewerFromClaims,
} from '@leadflow/core';
import type { SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { person, startTestSystem, type TestSystem } from '../support/system';

// The SLA clock and task reminders on DynamoDB Local: what each firing timer reads, writes and sends, and
// that a stale, duplicated or acknowledged timer does nothing at all.
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const SEOUL = 'Asia/Seoul';
const manager = (id: string) => ({
  id,
  name: `${id[0]?.toUpperCase()}${id.slice(1)}`,
  email: `${id}@example.com`,
});
const input: LeadflowConfigInput = {
  timeZone: SEOUL,
  forms: [],
  teams: [
    { id: 'duo', name: 'Duo', teamLead: 'tia', managers: [manager('ann'), manager('ben')] },
    { id: 'solo', name: 'Solo', teamLead: 'tia', managers: [manager('sol')] },
    { id: 'heads', name: 'Heads', managers: [manager('tia')] },
  ],
  sla: {
    default: 'p',
    taskOverdueAfterMinutes: 30,
    policies: {
      p: {
        targets: { normal: 10 },
        warningMinutesBefore: 2,
        escalation: {
          levels: [
            { afterMinutes: 0, action: 'notify_team_lead' },
            { afterMinutes: 5, action: 'reassign' },
          ],
          repeat: { times: 1, everyMinutes: 20 },
        },
      },
    },
  },
};
const config = new LeadflowConfig(input);

const T0 = Date.parse('2026-03-10T01:00:00.000Z');
const minutes = (n: number) => new Date(T0 + n * 60_000);

/** A timers queue that records what it is given, and the order of sends and schedules. */
function recorder(log: string[] = []) {
  const scheduled: TimerRequest[] = [];
  const scheduler: TimerScheduler = {
    timeScale: 1,
    async schedule(timers) {
      log.push(...timers.map((timer) => `timer:${timer.kind}`));
      scheduled.push(...timers);
    },
  };
  return { scheduled, scheduler, log };
}

function outbox(log: string[] = []) {
  const sent: Notification[] = [];
  return {
    sent,
    enqueue: async (notifications: readonly Notification[]) => {
      log.push(...notifications.map((notification) => `notify:${notification.kind}`));
      sent.push(...notifications);
    },
  };
}

function capture(teamId: string): CaptureEvent {
  const p = person('sla');
  return {
    version: 1,
    submissionId: ulid(),
    channel: 'web_form',
    sourceId: 'demo-contact',
    teamId,
    receivedAt: minutes(0).toISOString(),
    language: 'en',
    contact: { name: p.name, email: p.email, emailKey: p.emailKey },
    consent: true,
    urgent: false,
    answers: {},
    source: { utm: {} },
  };
}

/** Routes a new lead into `teamId` and returns it with the first SLA timer the router scheduled. */
async function newLead(teamId = 'duo') {
  const log: string[] = [];
  const timers = recorder(log);
  const alerts = outbox(log);
  const routed = await routeCapture(
    {
      doc: system.doc,
      tableName: system.tableName,
      config,
      newId: ulid,
      enqueueNotifications: alerts.enqueue,
      clock: () => minutes(0),
      timers: timers.scheduler,
    },
    capture(teamId),
  );
  const timer = timers.scheduled.find((t): t is TimerOf<'sla'> & TimerRequest => t.kind === 'sla');
  if (!timer) throw new Error('The router scheduled no SLA timer');
  return { ...routed, timer: { ...timer, hops: 0 } as TimerOf<'sla'>, log };
}

/** Fires a timer at `now` with recording deps. */
async function fire(timer: TimerOf<'sla'>, now: Date, hooks: { beforeCommit?: () => Promise<void> } = {}) {
  const alerts = outbox();
  const timers = recorder();
  const deps: TimerDeps = {
    doc: system.doc,
    tableName: system.tableName,
    config: async () => config,
    enqueueNotifications: async (notifications) => {
      await alerts.enqueue(notifications);
      await hooks.beforeCommit?.();
    },
    timers: timers.scheduler,
    clock: () => now,
  };
  const outcome = await fireSlaTimer(deps, timer);
  const next = timers.scheduled.find((t) => t.kind === 'sla') as TimerOf<'sla'> | undefined;
  return { outcome, sent: alerts.sent, next: next && { ...next, hops: 0 }, scheduled: timers.scheduled };
}

async function lead(leadId: string) {
  const found = await findLeadById(system.doc, system.tableName, leadId);
  if (!found) throw new Error(`No lead ${leadId}`);
  return found;
}

/** Everything stored about a contact, and the managers' loads and analytics: to show that nothing moved. */
async function snapshot(contactId: string) {
  const { Items } = await system.doc.send(
    new QueryCommand({
      TableName: system.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `CONTACT#${contactId}` },
      ConsistentRead: true,
    }),
  );
  const shared = (await system.items()).filter(
    (item) => String(item.pk).startsWith('MANAGER#') || String(item.pk).startsWith('ANALYTICS#'),
  );
  return JSON.stringify([Items, shared]);
}

async function timeline(contactId: string) {
  const { Items } = await system.doc.send(
    new QueryCommand({
      TableName: system.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
      ExpressionAttributeValues: { ':pk': `CONTACT#${contactId}`, ':tl': 'TL#' },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).filter((item) => typeof item.event === 'string');
}

function data(now: Date, timers?: TimerScheduler, sent: Notification[] = []): DataContext {
  return {
    doc: system.doc,
    tableName: system.tableName,
    config: async () => config,
    configStore: new ConfigStore(system.doc, system.tableName, config),
    enqueueNotifications: async (notifications) => {
      sent.push(...notifications);
    },
    clock: () => now,
    newId: ulid,
    timers,
  };
}

function viewer(username: string, groups: string[]): Viewer {
  const result = viewerFromClaims({ sub: `sub-${username}`, username, groups }, config);
  if (!result.ok) throw new Error(result.reason);
  return result.viewer;
}

describe('the SLA clock on DynamoDB Local', () => {
  it('starts with the lead and is scheduled beside its alert, never before it', async () => {
    const routed = await newLead();
    // The alert (and the lead's acknowledgement) are queued before the clock's timer.
    expect(routed.log.at(-1)).toBe('timer:sla');
    expect(routed.log.slice(0, -1)).toContain('notify:manager_alert');
    const item = await lead(routed.leadId);
    expect(item.sla).toMatchObject({
      policyId: 'p',
      ownerId: item.ownerId,
      generation: 1,
      step: 0,
      dueAt: minutes(10).toISOString(),
      warnAt: minutes(8).toISOString(),
      nextAt: minutes(8).toISOString(),
    });
    expect(routed.timer).toMatchObject({ generation: 1, step: 0, dueAt: minutes(8).toISOString() });
  });

  it('schedules the same first step again on a redelivery, which changes nothing', async () => {
    const first = recorder();
    const deps = {
      doc: system.doc,
      tableName: system.tableName,
      config,
      newId: ulid,
      enqueueNotifications: outbox().enqueue,
      clock: () => minutes(0),
      timers: first.scheduler,
    };
    const delivered = capture('duo');
    const routed = await routeCapture(deps, delivered);
    const before = await lead(routed.leadId);
    const again = recorder();
    const redelivered = await routeCapture(
      { ...deps, timers: again.scheduler, clock: () => minutes(1) },
      delivered,
    );
    expect(redelivered.createdNow).toBe(false);
    expect(again.scheduled.filter((timer) => timer.kind === 'sla')).toEqual(
      first.scheduled.filter((timer) => timer.kind === 'sla'),
    );
    expect((await lead(routed.leadId)).sla).toEqual(before.sla);
  });

  it('warns the owner, then at the breach alerts the team lead and counts it; a repeat does nothing', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    const early = await fire(routed.timer, minutes(7));
    expect(early.outcome).toMatchObject({ skipped: 'not_due' });

    const warning = await fire(routed.timer, minutes(8));
    expect(warning.outcome).toMatchObject({ acted: 'warning' });
    expect(warning.sent.map((n) => [n.kind, 'recipientId' in n ? n.recipientId : undefined])).toEqual([
      ['sla_warning', owner],
    ]);
    expect(warning.next).toMatchObject({ generation: 1, step: 1, dueAt: minutes(10).toISOString() });

    const breach = await fire(warning.next as TimerOf<'sla'>, minutes(10));
    expect(breach.outcome).toMatchObject({ acted: 'breach+notify_team_lead_1' });
    expect(breach.sent).toEqual([
      expect.objectContaining({
        kind: 'sla_overdue',
        recipientId: 'tia',
        notificationId: `${routed.leadId}:sla:1:level1:sla_overdue`,
        sla: expect.objectContaining({ ownerId: owner, level: 1, dueAt: minutes(10).toISOString() }),
      }),
    ]);
    expect(breach.next).toMatchObject({ step: 3, dueAt: minutes(15).toISOString() });
    const events = (await timeline(routed.contactId)).map((entry) => entry.event);
    expect(events).toEqual(expect.arrayContaining(['sla_warning', 'sla_breached', 'escalated']));
    const item = await lead(routed.leadId);
    expect(item.sla).toMatchObject({ step: 3, level: 1, breachedAt: minutes(10).toISOString() });
    // The lead's version (its ETag) did not move: a manager holding it is not refused for a timer's step.
    expect(item.version).toBe(1);
    const report = await readAnalytics(data(minutes(10)), viewer('admin@example.com', ['admin']), {
      from: '2026-03-10',
      to: '2026-03-10',
    });
    expect(report.managers.find((row) => row.managerId === owner)?.breached).toBeGreaterThanOrEqual(1);

    // The same breach timer delivered again: a positive "superseded", and nothing written or sent.
    const before = await snapshot(routed.contactId);
    const again = await fire(warning.next as TimerOf<'sla'>, minutes(10));
    expect(again.outcome).toMatchObject({ skipped: 'superseded' });
    expect(again.sent).toEqual([]);
    expect(again.scheduled).toEqual([]);
    expect(await snapshot(routed.contactId)).toBe(before);
  });

  it('does nothing once the owner acknowledged, and records what stopped the clock', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    const repository = new LeadRepository(data(minutes(3)));
    await repository.acknowledge(viewer(owner, ['manager']), routed.leadId);
    const item = await lead(routed.leadId);
    expect(item.sla).toMatchObject({ stoppedBy: 'acknowledged', stoppedAt: minutes(3).toISOString() });
    expect((await timeline(routed.contactId)).find((entry) => entry.event === 'sla_stopped')).toMatchObject({
      stoppedBy: 'acknowledged',
      actor: owner,
    });

    const before = await snapshot(routed.contactId);
    for (const at of [minutes(8), minutes(10), minutes(60)]) {
      const fired = await fire(routed.timer, at);
      expect(fired.outcome).toMatchObject({ skipped: 'acknowledged' });
      expect(fired.sent).toEqual([]);
      expect(fired.scheduled).toEqual([]);
    }
    expect(await snapshot(routed.contactId)).toBe(before);
  });

  it('stops on a move to contacted, and its timers then do nothing', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    await new LeadRepository(data(minutes(4))).changeStage(
      viewer(owner, ['manager']),
      routed.leadId,
      { status: 'contacted' },
      undefined,
    );
    expect((await lead(routed.leadId)).sla).toMatchObject({ stoppedBy: 'contacted' });
    expect(await fire(routed.timer, minutes(8))).toMatchObject({
      outcome: { skipped: 'contacted' },
      sent: [],
    });
  });

  it('loses the race to an acknowledgement that lands between its read and its write', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    const warned = await fire(routed.timer, minutes(8));
    const fired = await fire(warned.next as TimerOf<'sla'>, minutes(10), {
      // The owner taps "I'm on it" while the breach is on its way.
      beforeCommit: async () => {
        await new LeadRepository(data(minutes(10))).acknowledge(viewer(owner, ['manager']), routed.leadId);
      },
    });
    expect(fired.outcome).toMatchObject({ skipped: 'acknowledged' });
    const item = await lead(routed.leadId);
    expect(item.sla).toMatchObject({ step: 1, stoppedBy: 'acknowledged' });
    expect(item.sla?.breachedAt).toBeUndefined();
    expect((await timeline(routed.contactId)).map((entry) => entry.event)).not.toContain('sla_breached');
  });

  it('reassigns by escalation to the other manager with a new clock, costing nobody their turn', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    const other = owner === 'ann' ? 'ben' : 'ann';
    const warned = await fire(routed.timer, minutes(8));
    const breached = await fire(warned.next as TimerOf<'sla'>, minutes(10));
    const cursorBefore = (await system.items()).find(
      (item) => item.pk === 'TEAM#duo' && item.sk === 'CURSOR',
    );
    const loadsBefore = (await system.items()).filter((item) => String(item.pk).startsWith('MANAGER#'));

    const reassigned = await fire(breached.next as TimerOf<'sla'>, minutes(15));
    expect(reassigned.outcome).toMatchObject({ acted: 'reassign_2', detail: { reassignedTo: other } });
    expect(reassigned.sent).toEqual([
      expect.objectContaining({
        kind: 'manager_alert',
        assignment: expect.objectContaining({ ownerId: other, strategy: 'escalation' }),
      }),
    ]);
    const item = await lead(routed.leadId);
    expect(item).toMatchObject({ ownerId: other, version: 2 });
    expect(item.sla).toMatchObject({
      generation: 2,
      ownerId: other,
      reason: 'escalated',
      round: 1,
      level: 2,
      step: 0,
      dueAt: minutes(25).toISOString(),
    });
    expect(reassigned.next).toMatchObject({ generation: 2, step: 0, dueAt: minutes(23).toISOString() });
    // The cursor was peeked, not drawn, and the new owner's last-assignment time did not move.
    const after = await system.items();
    expect(after.find((i) => i.pk === 'TEAM#duo' && i.sk === 'CURSOR')).toEqual(cursorBefore);
    const load = (id: string, items: Record<string, unknown>[]) =>
      items.find((i) => i.pk === `MANAGER#${id}`);
    expect(load(other, after)?.lastAssignedAt).toEqual(load(other, loadsBefore)?.lastAssignedAt);
    expect(Number(load(other, after)?.openLeads)).toBe(Number(load(other, loadsBefore)?.openLeads ?? 0) + 1);
    expect(Number(load(owner, after)?.openLeads)).toBe(Number(load(owner, loadsBefore)?.openLeads) - 1);
    const escalated = (await timeline(routed.contactId)).filter((entry) => entry.event === 'escalated');
    expect(escalated.at(-1)).toMatchObject({ level: 2, action: 'reassign', from: owner, to: other });

    // The old owner's clock is over: its remaining timers do nothing.
    expect(await fire(breached.next as TimerOf<'sla'>, minutes(16))).toMatchObject({
      outcome: { skipped: 'superseded' },
      sent: [],
    });
    // The new clock's second pass ends in another reassignment, and that is the last pass.
    const w2 = await fire(reassigned.next as TimerOf<'sla'>, minutes(23));
    const b2 = await fire(w2.next as TimerOf<'sla'>, minutes(25));
    expect(b2.outcome).toMatchObject({ acted: 'breach+notify_team_lead_3' });
    const r2 = await fire(b2.next as TimerOf<'sla'>, minutes(30));
    expect(r2.outcome).toMatchObject({ acted: 'reassign_4', detail: { reassignedTo: owner } });
    const third = await lead(routed.leadId);
    expect(third.sla).toMatchObject({ generation: 3, round: 2 });
    const w3 = await fire(r2.next as TimerOf<'sla'>, minutes(38));
    const b3 = await fire(w3.next as TimerOf<'sla'>, minutes(40));
    expect(b3).toMatchObject({ outcome: { acted: 'breach' }, sent: [], next: undefined });
  });

  it('keeps the lead when nobody else is available, and goes on with the next pass', async () => {
    const routed = await newLead('solo');
    const warned = await fire(routed.timer, minutes(8));
    const breached = await fire(warned.next as TimerOf<'sla'>, minutes(10));
    const kept = await fire(breached.next as TimerOf<'sla'>, minutes(15));
    expect(kept.outcome).toMatchObject({ acted: 'reassign_2' });
    expect(kept.sent).toEqual([]);
    expect((await lead(routed.leadId)).ownerId).toBe('sol');
    expect(kept.next).toMatchObject({ generation: 1, dueAt: minutes(30).toISOString() });
    const escalated = (await timeline(routed.contactId)).filter((entry) => entry.event === 'escalated');
    expect(String(escalated.at(-1)?.summary)).toMatch(/not passed on/);
  });

  it('gives a lead reassigned by a team lead a new clock; the old clock’s timers do nothing', async () => {
    const routed = await newLead();
    const timers = recorder();
    const sent: Notification[] = [];
    const repository = new LeadRepository(data(minutes(5), timers.scheduler, sent));
    await repository.assign(viewer('admin@example.com', ['admin']), routed.leadId, { reason: 'test' });
    const item = await lead(routed.leadId);
    expect(item.sla).toMatchObject({ generation: 2, reason: 'reassigned', dueAt: minutes(15).toISOString() });
    expect(timers.scheduled).toEqual([expect.objectContaining({ kind: 'sla', generation: 2, step: 0 })]);
    expect(await fire(routed.timer, minutes(8))).toMatchObject({
      outcome: { skipped: 'superseded' },
      sent: [],
    });
  });
});

describe('task reminders on DynamoDB Local', () => {
  it('reminds the assignee at the due time and alerts the team lead later; done or moved tasks stay quiet', async () => {
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    const timers = recorder();
    const repository = new LeadRepository(data(minutes(1), timers.scheduler));
    const task = await repository.addTask(viewer(owner, ['manager']), routed.leadId, {
      type: 'call',
      dueAt: minutes(60).toISOString(),
      title: 'Call back',
    });
    expect(timers.scheduled.map((timer) => [timer.kind, timer.dueAt])).toEqual([
      ['task_reminder', minutes(60).toISOString()],
      ['task_overdue', minutes(90).toISOString()],
    ]);
    const [reminder, overdue] = timers.scheduled.map((timer) => ({ ...timer, hops: 0 })) as [
      TimerOf<'task_reminder'>,
      TimerOf<'task_overdue'>,
    ];
    const taskDeps = (now: Date) => {
      const alerts = outbox();
      const deps: TimerDeps = {
        doc: system.doc,
        tableName: system.tableName,
        config: async () => config,
        enqueueNotifications: alerts.enqueue,
        timers: recorder().scheduler,
        clock: () => now,
      };
      return { deps, sent: alerts.sent };
    };
    const first = taskDeps(minutes(60));
    expect(await fireTaskTimer(first.deps, reminder)).toMatchObject({ acted: 'task_reminder' });
    expect(first.sent).toEqual([
      expect.objectContaining({
        kind: 'task_reminder',
        recipientId: owner,
        task: expect.objectContaining({ title: 'Call back' }),
      }),
    ]);
    const late = taskDeps(minutes(90));
    expect(await fireTaskTimer(late.deps, overdue)).toMatchObject({ acted: 'task_overdue' });
    expect(late.sent).toEqual([expect.objectContaining({ kind: 'task_overdue', recipientId: 'tia' })]);

    // Moved: the old timers are stale, the new ones are scheduled for the new due time.
    const moved = recorder();
    await new LeadRepository(data(minutes(61), moved.scheduler)).updateTask(
      viewer(owner, ['manager']),
      routed.leadId,
      task.taskId,
      { dueAt: minutes(120).toISOString() },
    );
    expect(moved.scheduled.map((timer) => timer.kind)).toEqual(['task_reminder', 'task_overdue']);
    const stale = taskDeps(minutes(90));
    expect(await fireTaskTimer(stale.deps, overdue)).toMatchObject({ skipped: 'superseded' });
    expect(stale.sent).toEqual([]);

    // Done: nothing more, and nothing scheduled.
    const done = recorder();
    await new LeadRepository(data(minutes(62), done.scheduler)).updateTask(
      viewer(owner, ['manager']),
      routed.leadId,
      task.taskId,
      { status: 'done' },
    );
    expect(done.scheduled).toEqual([]);
    const quiet = taskDeps(minutes(120));
    const [movedReminder] = moved.scheduled.map((timer) => ({ ...timer, hops: 0 })) as [
      TimerOf<'task_reminder'>,
    ];
    expect(await fireTaskTimer(quiet.deps, movedReminder)).toMatchObject({ skipped: 'done' });
    expect(quiet.sent).toEqual([]);
  });
});

describe('the timer function', () => {
  function record(body: unknown): SQSRecord {
    return {
      messageId: ulid(),
      receiptHandle: 'handle',
      body: JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:leadflow-timers',
      awsRegion: 'us-east-1',
    };
  }

  it('answers a stale timer of an acknowledged lead with "acknowledged" and sends nothing', async () => {
    const { recordHandler } = await import('../../functions/timer/handler');
    const routed = await newLead();
    const owner = routed.assignment.ownerId as string;
    await new LeadRepository(data(new Date())).acknowledge(viewer(owner, ['manager']), routed.leadId);
    const before = await snapshot(routed.contactId);
    const emails = (await system.emails()).length;
    const outcome = await recordHandler(record({ ...routed.timer, dueAt: new Date().toISOString() }));
    expect(outcome).toMatchObject({ skipped: 'acknowledged' });
    expect(await snapshot(routed.contactId)).toBe(before);
    expect((await system.emails()).length).toBe(emails);
  });

  it('sends a timer due later than SQS can hold it once more, for the rest of its wait', async () => {
    const { recordHandler } = await import('../../functions/timer/handler');
    const routed = await newLead();
    const delayed = async () => {
      const { Attributes } = await system.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: system.queues.timers.url,
          AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
    };
    const before = await delayed();
    const dueAt = new Date(Date.now() + 40 * 60_000).toISOString();
    const outcome = await recordHandler(record({ ...routed.timer, dueAt, hops: 1 }));
    expect(outcome).toEqual({ skipped: 'waiting' });
    // Held by the queue (at most 900 s at once), not acted on: the lead's clock is untouched.
    expect(await delayed()).toBe(before + 1);
    expect((await lead(routed.leadId)).sla).toMatchObject({ step: 0 });
  });
});
