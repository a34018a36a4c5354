import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createSqsClient,
  enqueueNotifications,
  readEnv,
  routeCapture,
  TimerQueue,
  tableConfigSource,
} from '@leadflow/aws';
import { captureEventSchema } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { config } from '../../config';

const logger = new Logger({ serviceName: 'router' });
const metrics = new Metrics({ serviceName: 'router' });
const settings = readEnv([
  'tableName',
  'notificationsQueueUrl',
  'configCacheSeconds',
  'timersQueueUrl',
  'slaTimeScale',
]);
const doc = createDocumentClient();
const sqs = createSqsClient();
const processor = new SqsFifoPartialProcessorAsync();
// Teams, availability and rules as changed at runtime, re-read at most every CONFIG_CACHE_SECONDS.
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) => logger.warn('Configuration not read; routing goes on', { serving, error }),
});

const deps = {
  doc,
  tableName: settings.tableName,
  newId: ulid,
  enqueueNotifications: (notifications: Parameters<typeof enqueueNotifications>[2]) =>
    enqueueNotifications(sqs, settings.notificationsQueueUrl, notifications),
  // A new lead's SLA clock (and follow-ups) wake up through the timers queue.
  timers: new TimerQueue(sqs, settings.timersQueueUrl, { timeScale: settings.slaTimeScale }),
};

/** Routes one queued capture; a throw marks only this record (and its group) failed, for retry then DLQ. */
export async function recordHandler(record: SQSRecord): Promise<void> {
  const capture = captureEventSchema.parse(JSON.parse(record.body));
  const routed = await routeCapture({ ...deps, config: await configSource.current() }, capture);
  const lagMs = Date.now() - Date.parse(capture.receivedAt);
  metrics.addMetric(routed.createdNow ? 'LeadsRouted' : 'LeadsRedelivered', MetricUnit.Count, 1);
  metrics.addMetric('CaptureToRoutedLatency', MetricUnit.Milliseconds, lagMs);
  logger.info('Lead routed', {
    leadId: routed.leadId,
    contactId: routed.contactId,
    channel: capture.channel,
    ownerId: routed.assignment.ownerId,
    rule: routed.assignment.rule,
    createdNow: routed.createdNow,
    lagMs,
  });
}

export const handler = middy(async (event: SQSEvent, context: Context) =>
  // skipGroupOnError: a failed capture blocks only its own person's group, not the whole batch.
  processPartialResponse(event, recordHandler, processor, { context, skipGroupOnError: true }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
