import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createSqsClient,
  type DrainResult,
  drainQueue,
  enqueueNotifications,
  readEnv,
  TimerQueue,
  tableConfigSource,
} from '@leadflow/aws';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { config } from '../../config';

const logger = new Logger({ serviceName: 'dispatcher' });
const metrics = new Metrics({ serviceName: 'dispatcher' });
const settings = readEnv([
  'tableName',
  'notificationsQueueUrl',
  'configCacheSeconds',
  'timersQueueUrl',
  'slaTimeScale',
]);
const doc = createDocumentClient();
const sqs = createSqsClient();
// A dequeued lead's owner gets an SLA clock, woken through the timers queue.
const timers = new TimerQueue(sqs, settings.timersQueueUrl, { timeScale: settings.slaTimeScale });
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) => logger.warn('Configuration not read; dispatching goes on', { serving, error }),
});

/**
 * Every minute: assigns the leads waiting in each team's queue to whoever has become available since
 * (working hours started, out of office ended, capacity freed). Every team is drained even if one fails;
 * then the failure is thrown, so the invocation counts as an error and is alarmed.
 */
export async function dispatch(): Promise<DrainResult[]> {
  const current = await configSource.current();
  const deps = {
    doc,
    tableName: settings.tableName,
    config: current,
    enqueueNotifications: (notifications: Parameters<typeof enqueueNotifications>[2]) =>
      enqueueNotifications(sqs, settings.notificationsQueueUrl, notifications),
    timers,
  };
  const results: DrainResult[] = [];
  const failures: unknown[] = [];
  for (const teamId of current.teams.keys()) {
    try {
      const result = await drainQueue(deps, teamId);
      results.push(result);
      if (result.unreadable.length > 0) {
        logger.error('Queued items that are not leads were passed over', {
          teamId,
          items: result.unreadable,
        });
      }
      if (result.assigned.length > 0) {
        logger.info('Queue drained', {
          teamId,
          assigned: result.assigned.map(({ leadId, managerId, waitedSeconds }) => ({
            leadId,
            managerId,
            waitedSeconds,
          })),
          stopped: result.stopped,
        });
      }
    } catch (error) {
      logger.error('Queue not drained', { teamId, error });
      failures.push(error);
    }
  }
  // Every run publishes the count, 0 included: a flat line is what a healthy quiet queue looks like.
  metrics.addMetric(
    'LeadsDequeued',
    MetricUnit.Count,
    results.reduce((sum, result) => sum + result.assigned.length, 0),
  );
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} team queue(s) not drained`);
  return results;
}

export const handler = middy(async (event: ScheduledEvent, _context: Context) => {
  logger.debug('Tick', { time: event.time });
  const results = await dispatch();
  const assigned = results.reduce((sum, result) => sum + result.assigned.length, 0);
  // Every tick says how many waiting leads it assigned (zero included), so the metrics are never empty.
  metrics.addMetric('Dispatcher_Assigned', MetricUnit.Count, assigned);
  return { assigned };
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
