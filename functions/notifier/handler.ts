import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  AcknowledgementLedger,
  createDocumentClient,
  createDynamoClient,
  createSesClient,
  notifierIdempotency,
  readEnv,
  sendEmail,
  tableConfigSource,
} from '@leadflow/aws';
import { type Notification, notificationSchema } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { config } from '../../config';
import { composeNotification } from './compose';

const logger = new Logger({ serviceName: 'notifier' });
const metrics = new Metrics({ serviceName: 'notifier' });
const settings = readEnv([
  'tableName',
  'sesFromAddress',
  'sesConfigurationSet',
  'leadLinkBaseUrl',
  'configCacheSeconds',
]);
const ses = createSesClient();
const dynamo = createDynamoClient();
const doc = createDocumentClient(dynamo);
const ledger = new AcknowledgementLedger(doc, settings.tableName);
// Managers (their names and addresses) as changed at runtime: a manager added since the deploy gets alerts.
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) => logger.warn('Configuration not read; sending goes on', { serving, error }),
});
/** A form's default cap when the acknowledgement comes from a capture with no form (none do today). */
const DEFAULT_DOMAIN_HOURLY_CAP = 30;

type SendResult = { messageId: string } | { skipped: 'mailbox_recent' | 'domain_cap' };
const processor = new BatchProcessor(EventType.SQS);

const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'notificationId',
  // Longer than a message can live: 4 days on the queue, then 14 in the DLQ before a redrive.
  expiresAfterSeconds: 19 * 24 * 60 * 60,
});

/** Sends one notification at most once per notification id, however often the queue delivers it. */
const send = makeIdempotent(
  async (notification: Notification): Promise<SendResult> => {
    const config = await configSource.current();
    // Composed first: a notification that cannot be written reserves nothing in the ledger.
    const email = composeNotification(notification, { config, settings });
    if (notification.kind === 'acknowledgement' && notification.capture.contact.email) {
      // The mail-relay guard: one per mailbox a day, a cap per recipient domain an hour, reserved first.
      const decision = await ledger.reserve({
        address: notification.capture.contact.email,
        formId: notification.capture.sourceId,
        domainHourlyCap:
          config.forms.get(notification.capture.sourceId)?.acknowledgementDomainHourlyCap ??
          DEFAULT_DOMAIN_HOURLY_CAP,
        notificationId: notification.notificationId,
      });
      if (!decision.send) return { skipped: decision.reason };
    }
    const messageId = await sendEmail(ses, email, { configurationSetName: settings.sesConfigurationSet });
    return { messageId };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: settings.tableName,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: notifierIdempotency.staticPkValue,
      expiryAttr: 'ttl',
      awsSdkV3Client: dynamo,
    }),
    config: idempotency,
    // A fixed prefix (not the Lambda's physical name): erasing a contact computes its records' keys.
    keyPrefix: notifierIdempotency.keyPrefix,
  },
);

export async function recordHandler(record: SQSRecord): Promise<void> {
  const notification = notificationSchema.parse(JSON.parse(record.body));
  const result = await send(notification);
  if ('skipped' in result) {
    metrics.addMetric(`Skipped_${notification.kind}_${result.skipped}`, MetricUnit.Count, 1);
    logger.info('Notification not sent', {
      kind: notification.kind,
      leadId: notification.leadId,
      reason: result.skipped,
    });
    return;
  }
  const { messageId } = result;
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
