import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createSqsClient,
  enqueueNotifications,
  fireFollowUpTimer,
  fireSlaTimer,
  fireTaskTimer,
  readEnv,
  type TimerDeps,
  type TimerOutcome,
  TimerQueue,
  tableConfigSource,
} from '@leadflow/aws';
import {
  type TimerKind,
  type TimerMessage,
  type TimerOf,
  timerMessageSchema,
  timerWaitsLonger,
} from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { config } from '../../config';

const logger = new Logger({ serviceName: 'timer' });
const metrics = new Metrics({ serviceName: 'timer' });
const settings = readEnv([
  'tableName',
  'notificationsQueueUrl',
  'timersQueueUrl',
  'slaTimeScale',
  'configCacheSeconds',
]);
const doc = createDocumentClient();
const sqs = createSqsClient();
const processor = new BatchProcessor(EventType.SQS);
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) => logger.warn('Configuration not read; timers go on', { serving, error }),
});
const timers = new TimerQueue(sqs, settings.timersQueueUrl, { timeScale: settings.slaTimeScale });

const deps: TimerDeps = {
  doc,
  tableName: settings.tableName,
  config: () => configSource.current(),
  enqueueNotifications: (notifications) =>
    enqueueNotifications(sqs, settings.notificationsQueueUrl, notifications),
  timers,
  clock: () => new Date(),
};

/** One line per timer kind: what a fired timer of that kind does. */
const kinds: { [K in TimerKind]: (timer: TimerOf<K>) => Promise<TimerOutcome> } = {
  sla: (timer) => fireSlaTimer(deps, timer),
  task_reminder: (timer) => fireTaskTimer(deps, timer),
  task_overdue: (timer) => fireTaskTimer(deps, timer),
  followup: (timer) => fireFollowUpTimer(deps, timer),
};

/**
 * Fires one timer: one that SQS could not delay long enough is sent again for the rest of its wait; any
 * other re-reads what it is about and acts only if that still calls for it. A throw fails only this record
 * (retried, then dead-lettered).
 */
export async function fireTimer(timer: TimerMessage): Promise<TimerOutcome> {
  if (timerWaitsLonger(timer.dueAt, deps.clock())) {
    await timers.resend(timer);
    return { skipped: 'waiting' };
  }
  return (kinds[timer.kind] as (timer: TimerMessage) => Promise<TimerOutcome>)(timer);
}

export async function recordHandler(record: SQSRecord): Promise<TimerOutcome> {
  const timer = timerMessageSchema.parse(JSON.parse(record.body));
  const outcome = await fireTimer(timer);
  const result = 'acted' in outcome ? outcome.acted : `skipped_${outcome.skipped}`;
  metrics.addMetric(`Timer_${timer.kind}_${result}`, MetricUnit.Count, 1);
  logger.info('Timer fired', {
    kind: timer.kind,
    timerId: timer.timerId,
    hops: timer.hops,
    lateMs: Date.now() - Date.parse(timer.dueAt),
    ...outcome,
  });
  return outcome;
}

export const handler = middy(async (event: SQSEvent, context: Context) => {
  // Every batch counts its records, so the function's metrics are never empty (and say how busy it is).
  metrics.addMetric('Timer_Records', MetricUnit.Count, event.Records.length);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
