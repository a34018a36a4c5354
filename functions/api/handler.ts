import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  ConfigStore,
  createAuthenticator,
  createDocumentClient,
  createS3Client,
  createSqsClient,
  type DataContext,
  enqueueDeliveries,
  enqueueNotifications,
  loadLinkSecret,
  ObjectStore,
  readEnv,
  TimerQueue,
  tableConfigSource,
} from '@leadflow/aws';
import middy from '@middy/core';
import { handle } from 'hono/aws-lambda';
import { ulid } from 'ulid';
import { config } from '../../config';
import { type ApiDeps, createApiApp } from './app';

const logger = new Logger({ serviceName: 'api' });
const metrics = new Metrics({ serviceName: 'api' });
const settings = readEnv([
  'tableName',
  'notificationsQueueUrl',
  'configCacheSeconds',
  'rawMailBucket',
  'rawMailPrefix',
  'authIssuer',
  'authJwksUrl',
  'authClientId',
  'authDomainUrl',
  'publicBaseUrl',
  'linkSecretArn',
  'linkSecret',
  'deliveriesQueueUrl',
  'timersQueueUrl',
  'slaTimeScale',
]);
// The key the notifier signs the alert's action links with, read once per container: `/a/{token}` checks them.
const linkKey = await loadLinkSecret(settings);
const doc = createDocumentClient();
const sqs = createSqsClient();
// Teams, managers and rules as changed at runtime (the router reads the same), re-read every CONFIG_CACHE_SECONDS.
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) =>
    logger.warn('Configuration not read; serving the last good one', { serving, error }),
});

const data: DataContext = {
  doc,
  tableName: settings.tableName,
  config: () => configSource.current(),
  configStore: new ConfigStore(doc, settings.tableName, config),
  rawMail: new ObjectStore(createS3Client(), settings.rawMailBucket, settings.rawMailPrefix),
  enqueueNotifications: (notifications) =>
    enqueueNotifications(sqs, settings.notificationsQueueUrl, notifications),
  clock: () => new Date(),
  newId: ulid,
  // A reassigned lead's new SLA clock, a task's reminder and overdue timers.
  timers: new TimerQueue(sqs, settings.timersQueueUrl, { timeScale: settings.slaTimeScale }),
};

/** What the app is built from; `npm start` builds its own app from these plus the local sign-in. */
export const deps: ApiDeps = {
  data,
  // Links on the pages the API serves are built from configuration, never from Host or X-Forwarded-*.
  ...(settings.publicBaseUrl ? { publicBaseUrl: settings.publicBaseUrl } : {}),
  deliveries: {
    enqueue: (messages) =>
      enqueueDeliveries(
        sqs,
        settings.deliveriesQueueUrl,
        messages.map((message) => ({ message })),
      ),
    // Plain-http webhook receivers only where the API itself is served on localhost: `npm start` and tests.
    allowLoopbackUrls: settings.publicBaseUrl?.startsWith('http://localhost') ?? false,
  },
  linkKey,
  // The console's sign-in: Cognito managed login with PKCE, returning to `<public base>/console/callback`.
  ...(settings.authDomainUrl && settings.publicBaseUrl
    ? {
        hostedLogin: {
          domainUrl: settings.authDomainUrl,
          clientId: settings.authClientId,
          redirectUri: `${settings.publicBaseUrl.replace(/\/+$/, '')}/console/callback`,
          logoutUri: `${settings.publicBaseUrl.replace(/\/+$/, '')}/console/signed-out`,
        },
      }
    : {}),
  // The same check behind API Gateway's JWT authorizer: a second look, and the user's role from the config.
  authenticate: createAuthenticator({
    issuer: settings.authIssuer,
    jwksUrl: settings.authJwksUrl,
    clientId: settings.authClientId,
    config: data.config,
  }),
  observe: (event) => {
    // The route pattern and the outcome only: paths carry ids, bodies and tokens carry personal data.
    metrics.addMetric(`Api_${Math.floor(event.status / 100)}xx`, MetricUnit.Count, 1);
    if (event.status >= 500) logger.error('Request failed', { ...event });
    else logger.info('Request handled', { ...event });
  },
};

export const app = createApiApp(deps);

export const handler = middy(handle(app)).use(injectLambdaContext(logger)).use(logMetrics(metrics));
