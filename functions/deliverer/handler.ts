import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  chatUrlOf,
  createDocumentClient,
  createSqsClient,
  DeliveryLedger,
  DeliveryTargets,
  deliver,
  enqueueDeliveries,
  loadChannelSecrets,
  parseDeliveryMessage,
  postJson,
  readEnv,
} from '@leadflow/aws';
import { type DeliveryMessage, targetName } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { ulid } from 'ulid';

const logger = new Logger({ serviceName: 'deliverer' });
const metrics = new Metrics({ serviceName: 'deliverer' });
const settings = readEnv(['tableName', 'deliveriesQueueUrl']);
const doc = createDocumentClient();
const sqs = createSqsClient();
// The teams' Slack and Teams webhook URLs, read once per container.
const secrets = await loadChannelSecrets();
const processor = new BatchProcessor(EventType.SQS);

const deps = {
  now: () => new Date(),
  newId: ulid,
  targets: new DeliveryTargets(doc, settings.tableName),
  ledger: new DeliveryLedger(doc, settings.tableName),
  chatUrl: (teamId: string, kind: 'slack' | 'teams') => chatUrlOf(secrets, teamId, kind),
  requeue: (message: DeliveryMessage, delaySeconds: number) =>
    enqueueDeliveries(sqs, settings.deliveriesQueueUrl, [{ message, delaySeconds }]),
  post: (url: string, body: string, headers: Readonly<Record<string, string>>) =>
    postJson(url, body, headers),
};

/**
 * Posts one delivery. Failures of the receiver are handled inside (a delayed retry, a disabled target, a
 * dead letter) and the message is done; a throw means our own queue or table failed: SQS delivers it again.
 */
export async function recordHandler(record: SQSRecord): Promise<void> {
  const message = parseDeliveryMessage(record.body);
  const outcome = await deliver(message, deps);
  const context = {
    deliveryId: message.deliveryId,
    eventId: message.eventId,
    target: targetName(message.target),
  };
  switch (outcome.kind) {
    case 'delivered':
      metrics.addMetric('DeliveriesSent', MetricUnit.Count, 1);
      logger.info('Delivered', { ...context, attempts: outcome.attempts });
      break;
    case 'retry':
      metrics.addMetric('DeliveriesRetried', MetricUnit.Count, 1);
      logger.warn('Delivery failed; retrying', {
        ...context,
        inSeconds: outcome.delaySeconds,
        result: outcome.result,
      });
      break;
    case 'disabled':
      metrics.addMetric('DeliveryTargetsDisabled', MetricUnit.Count, outcome.warnedNow ? 1 : 0);
      logger.error('Delivery target gone; disabled', { ...context, result: outcome.result });
      break;
    case 'dead_letter':
      metrics.addMetric('DeliveriesDeadLettered', MetricUnit.Count, 1);
      logger.error('Delivery dead-lettered', {
        ...context,
        deadLetterId: outcome.deadLetterId,
        result: outcome.result,
      });
      break;
    case 'dropped':
      logger.info('Delivery dropped', { ...context, reason: outcome.reason });
      break;
    default:
      logger.debug('Delivery', { ...context, outcome: outcome.kind });
  }
}

export const handler = middy(async (event: SQSEvent, context: Context) => {
  // Every batch counts its records, so the function's metrics are never empty (and say how busy it is).
  metrics.addMetric('Deliverer_Records', MetricUnit.Count, event.Records.length);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
