import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createS3Client,
  createSqsClient,
  enqueueCapture,
  ObjectStore,
  readEnv,
  SubmissionStore,
} from '@leadflow/aws';
import middy from '@middy/core';
import { ulid } from 'ulid';
import { config } from '../../config';
import { sesEventSchema } from './event';
import { type InboundEmailDeps, receiveEmail } from './receive';

const logger = new Logger({ serviceName: 'inboundEmail' });
const metrics = new Metrics({ serviceName: 'inboundEmail' });
const settings = readEnv([
  'tableName',
  'leadsQueueUrl',
  'rawMailBucket',
  'rawMailPrefix',
  'rawPayloadRetentionDays',
]);
const sqs = createSqsClient();
const submissions = new SubmissionStore(createDocumentClient(), settings.tableName, {
  retentionDays: settings.rawPayloadRetentionDays,
});
const rawMail = new ObjectStore(createS3Client(), settings.rawMailBucket, settings.rawMailPrefix);

const deps: InboundEmailDeps = {
  source: config.channels.email,
  readRaw: (sesMessageId) => rawMail.read(sesMessageId),
  store: (input) => submissions.store(input),
  enqueue: (capture) => enqueueCapture(sqs, settings.leadsQueueUrl, capture),
  newId: ulid,
  observe: (event) => {
    metrics.addMetric(`Email_${event.outcome}`, MetricUnit.Count, 1);
    // Ids, outcomes and verdicts only: addresses, subjects and bodies are personal data.
    logger.info('Inbound email handled', { ...event });
  },
};

/**
 * The SES receipt rule's Lambda action (invocation type Event). A throw makes Lambda retry the event
 * and then hand it to the on-failure destination, so no message is dropped silently.
 */
export const handler = middy(async (event: unknown): Promise<void> => {
  const { Records } = sesEventSchema.parse(event);
  for (const record of Records) await receiveEmail(deps, record);
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
