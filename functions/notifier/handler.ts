import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { createDynamoClient, createSesClient, readEnv, sendEmail } from '@leadflow/aws';
import { type Notification, notificationSchema } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { config } from '../../config';
import { composeNotification } from './compose';

const logger = new Logger({ serviceName: 'notifier' });
const metrics = new Metrics({ serviceName: 'notifier' });
const settings = readEnv(['tableName', 'sesFromAddress', 'sesConfigurationSet', 'leadLinkBaseUrl']);
const ses = createSesClient();
const processor = new BatchProcessor(EventType.SQS);

const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'notificationId',
  // Longer than a message can live: 4 days on the queue, then 14 in the DLQ before a redrive.
  expiresAfterSeconds: 19 * 24 * 60 * 60,
});

/** Sends one notification at most once per notification id, however often the queue delivers it. */
const send = makeIdempotent(
  async (notification: Notification): Promise<{ messageId: string }> => {
    const email = composeNotification(notification, { config, settings });
    const messageId = await sendEmail(ses, email, { configurationSetName: settings.sesConfigurationSet });
    return { messageId };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: settings.tableName,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: 'NOTIFY#notifier',
      expiryAttr: 'ttl',
      awsSdkV3Client: createDynamoClient(),
    }),
    config: idempotency,
  },
);

export async function recordHandler(record: SQSRecord): Promise<void> {
  const notification = notificationSchema.parse(JSON.parse(record.body));
  const { messageId } = await send(notification);
  const lagMs = Date.now() - Date.parse(notification.capture.receivedAt);
  metrics.addMetric(`Sent_${notification.kind}`, MetricUnit.Count, 1);
  if (notification.kind !== 'acknowledgement') {
    metrics.addMetric('SpeedToAlert', MetricUnit.Milliseconds, lagMs);
  }
  logger.info('Notification sent', {
    kind: notification.kind,
    leadId: notification.leadId,
    ownerId: notification.assignment.ownerId,
    sesMessageId: messageId,
    lagMs,
  });
}

export const handler = middy(async (event: SQSEvent, context: Context) => {
  idempotency.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
