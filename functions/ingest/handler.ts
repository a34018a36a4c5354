import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createSqsClient,
  enqueueCapture,
  loadChannelSecrets,
  readEnv,
  SubmissionStore,
} from '@leadflow/aws';
import middy from '@middy/core';
import { handle } from 'hono/aws-lambda';
import { ulid } from 'ulid';
import { config } from '../../config';
import { createIngestApp } from './app';

const logger = new Logger({ serviceName: 'ingest' });
const metrics = new Metrics({ serviceName: 'ingest' });
const settings = readEnv(['tableName', 'leadsQueueUrl', 'publicBaseUrl']);
// Top-level await: secrets are fetched once per container, during init, never per request.
const secrets = await loadChannelSecrets();
const sqs = createSqsClient();
const submissions = new SubmissionStore(createDocumentClient(), settings.tableName);

export const app = createIngestApp({
  config,
  store: (input) => submissions.store(input),
  enqueue: (capture) => enqueueCapture(sqs, settings.leadsQueueUrl, capture),
  countSpam: (formId) => submissions.countSpam(formId),
  newId: ulid,
  secrets,
  publicBaseUrl: settings.publicBaseUrl,
  observe: (event) => {
    metrics.addMetric(`Ingest_${event.outcome}`, MetricUnit.Count, 1);
    if (event.status >= 500) logger.error('Submission failed', { ...event });
    else logger.info('Submission handled', { ...event });
  },
});

export const handler = middy(handle(app)).use(injectLambdaContext(logger)).use(logMetrics(metrics));
