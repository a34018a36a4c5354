import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type LeadflowConfig,
  type Notification,
  scaledDelay,
  type TimerOf,
  type TimerRequest,
} from '@leadflow/core';
import { parseItem, type TaskItem, taskItem, taskItemSchema } from '../items';
import type { TimerScheduler } from '../timers';
import type { TimerDeps } from './deps';
import type { TimerOutcome } from './outcome';
import { findLeadById } from './sla';

const MINUTE = 60_000;
/** When the configuration has no `sla` section: a task an hour past due alerts the team lead. */
const DEFAULT_OVERDUE_MINUTES = 60;

/**
 * The reminder (at the due time) and the overdue alert (`sla.taskOverdueAfterMinutes` later) of an open
 * task, both under the time scale: what `addTask` and `updateTask` schedule. A done task gets none.
 */
export function taskTimers(
  config: LeadflowConfig,
  task: Pick<TaskItem, 'taskId' | 'leadId' | 'contactId' | 'dueAt' | 'status'>,
  now: Date,
  timeScale: number,
): TimerRequest[] {
  if (task.status !== 'open') return [];
  const remindAt = now.getTime() + scaledDelay(Date.parse(task.dueAt) - now.getTime(), timeScale);
  const overdueMs = (config.sla?.taskOverdueAfterMinutes ?? DEFAULT_OVERDUE_MINUTES) * MINUTE;
  const overdueAt = remindAt + scaledDelay(overdueMs, timeScale);
  const common = {
    taskId: task.taskId,
    leadId: task.leadId,
    contactId: task.contactId,
    taskDueAt: task.dueAt,
  };
  return [
    {
      kind: 'task_reminder',
      timerId: `${task.taskId}:reminder:${task.dueAt}`,
      dueAt: new Date(remindAt).toISOString(),
      ...common,
    },
    {
      kind: 'task_overdue',
      timerId: `${task.taskId}:overdue:${task.dueAt}`,
      dueAt: new Date(overdueAt).toISOString(),
      ...common,
    },
  ];
}

/** Schedules an open task's reminder and overdue timers (nothing for a done task). */
export async function scheduleTaskTimers(
  timers: TimerScheduler,
  config: LeadflowConfig,
  task: Pick<TaskItem, 'taskId' | 'leadId' | 'contactId' | 'dueAt' | 'status'>,
  now: Date,
): Promise<void> {
  const requests = taskTimers(config, task, now, timers.timeScale);
  if (requests.length > 0) await timers.schedule(requests);
}

async function findTask(deps: TimerDeps, taskId: string): Promise<TaskItem | undefined> {
  const { Items } = await deps.doc.send(
    new QueryCommand({ TableName: deps.tableName, IndexName: 'gsi3', ...taskItem.byId(taskId), Limit: 1 }),
  );
  const ref = Items?.[0];
  if (!ref) return undefined;
  const { Item } = await deps.doc.send(
    new GetCommand({ TableName: deps.tableName, Key: { pk: ref.pk, sk: ref.sk }, ConsistentRead: true }),
  );
  return Item ? parseItem(taskItemSchema, Item) : undefined;
}

/**
 * Fires a task's reminder or overdue timer. It re-reads the task: a done task, or one whose due time moved
 * since (its newer timers will fire), does nothing. Otherwise the reminder goes to the assignee, the overdue
 * alert to the assignee's team lead; each notification id is the task's and its due time's, so a repeat
 * sends nothing new.
 */
export async function fireTaskTimer(
  deps: TimerDeps,
  timer: TimerOf<'task_reminder' | 'task_overdue'>,
): Promise<TimerOutcome> {
  const task = await findTask(deps, timer.taskId);
  if (!task) return { skipped: 'not_found' };
  if (task.status === 'done') return { skipped: 'done', detail: { taskId: task.taskId } };
  if (task.dueAt !== timer.taskDueAt) return { skipped: 'superseded', detail: { taskId: task.taskId } };
  const lead = await findLeadById(deps.doc, deps.tableName, task.leadId);
  if (!lead || lead.erasedAt) return { skipped: 'not_found' };
  const config = await deps.config();
  const recipientId =
    timer.kind === 'task_reminder' ? task.assigneeId : config.teamOf(task.assigneeId)?.teamLead;
  if (!recipientId) return { skipped: 'no_recipient', detail: { taskId: task.taskId } };
  const notification: Notification = {
    kind: timer.kind,
    notificationId: `${timer.timerId}:${timer.kind}`,
    leadId: lead.leadId,
    contactId: lead.contactId,
    capture: lead.capture,
    assignment: lead.assignment,
    returning: false,
    recipientId,
    task: {
      taskId: task.taskId,
      type: task.taskType,
      ...(task.title ? { title: task.title } : {}),
      dueAt: task.dueAt,
      assigneeId: task.assigneeId,
    },
  };
  await deps.enqueueNotifications([notification]);
  return { acted: timer.kind, detail: { taskId: task.taskId, recipientId } };
}
