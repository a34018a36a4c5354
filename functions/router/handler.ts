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
} from '@leadflow/aws';
import { captureEventSchema } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';
import { config } from '../../config';

const logger = new Logger({ serviceName: 'router' });
const metrics = new Metrics({ serviceName: 'router' });
const settings = readEnv(['tableName', 'notificationsQueueUrl']);
const doc = createDocumentClient();
const sqs = createSqsClient();
const processor = new SqsFifoPartialProcessorAsync();

const deps = {
  doc,
  tableName: settings.tableName,
  config,
  newId: ulid,
  enqueueNotifications: (notifications: Parameters<typeof enqueueNotifications>[2]) =>
    enqueueNotifications(sqs, settings.notificationsQueueUrl, notifications),
};

/** Routes one queued capture; a throw marks only this record (and its group) failed, for retry then DLQ. */
export async function recordHandler(record: SQSRecord): Promise<void> {
  const capture = captureEventSchema.parse(JSON.parse(record.body));
  const routed = await routeCapture(deps, capture);
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
