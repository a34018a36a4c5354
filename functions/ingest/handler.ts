import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  createDocumentClient,
  createSqsClient,
  enqueueCapture,
  loadChannelSecrets,
  RateLimiter,
  readEnv,
  SubmissionStore,
  verifyCaptcha,
} from '@leadflow/aws';
import middy from '@middy/core';
import { handle } from 'hono/aws-lambda';
import { ulid } from 'ulid';
import { config } from '../../config';
import { createIngestApp } from './app';
import { platformClientAddress } from './client-address';

const logger = new Logger({ serviceName: 'ingest' });
const metrics = new Metrics({ serviceName: 'ingest' });
const settings = readEnv([
  'tableName',
  'leadsQueueUrl',
  'publicBaseUrl',
  'rateLimitPerClient',
  'trustedProxyHeaders',
  'captchaVerifyUrl',
  'rawPayloadRetentionDays',
]);
// Top-level await: secrets are fetched once per container, during init, never per request.
const secrets = await loadChannelSecrets();
// A malformed secret disables only its channel (503); say why once, here, without the value.
for (const [channel, problem] of Object.entries(secrets.disabled ?? {})) {
  logger.error('Channel disabled', { channel, problem });
}
const sqs = createSqsClient();
const doc = createDocumentClient();
const submissions = new SubmissionStore(doc, settings.tableName, {
  retentionDays: settings.rawPayloadRetentionDays,
});
const limiter = new RateLimiter(doc, settings.tableName);

export const app = createIngestApp({
  config,
  store: (input) => submissions.store(input),
  enqueue: (capture) => enqueueCapture(sqs, settings.leadsQueueUrl, capture),
  countSpam: (formId) => submissions.countSpam(formId),
  newId: ulid,
  secrets,
  publicBaseUrl: settings.publicBaseUrl,
  trustedProxyHeaders: settings.trustedProxyHeaders,
  clientAddress: platformClientAddress,
  rateLimitPerClient: settings.rateLimitPerClient,
  rateLimit: (input) => limiter.check(input),
  countRefused: (endpoint, reason) => limiter.countRefused(endpoint, reason),
  verifyCaptcha: (input) => verifyCaptcha(input, { defaultVerifyUrl: settings.captchaVerifyUrl }),
  observe: (event) => {
    metrics.addMetric(`Ingest_${event.outcome}`, MetricUnit.Count, 1);
    if (event.status >= 500) logger.error('Submission failed', { ...event });
    else logger.info('Submission handled', { ...event });
  },
});

export const handler = middy(handle(app)).use(injectLambdaContext(logger)).use(logMetrics(metrics));
