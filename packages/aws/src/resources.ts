/**
 * The one source of truth for the shape of leadflow's stateful resources.
 *
 * The CDK stack (infra/) and the local runtime (local/) both build their table, queues and
 * event-source mappings from these plain objects, so key schema, GSIs, FIFO settings, redrive
 * policy and timeouts can never drift between AWS and a laptop. Nothing here imports the SDK or CDK.
 */

export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
}

export interface TableDefinition {
  /** Name used locally; on AWS the CDK generates a physical name. */
  readonly localName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
  /** The table's change stream: what a stream record carries (the outbox needs only the new item). */
  readonly stream: StreamViewType;
}

export type StreamViewType = 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';

export interface FunctionDefinition {
  /** Entry file, relative to the repository root; it must export `handler`. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export interface QueueDefinition {
  /** Name used locally (FIFO names end in `.fifo`); on AWS the CDK generates a physical name. */
  readonly localName: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly retentionSeconds: number;
  readonly receiveWaitTimeSeconds: number;
  readonly deadLetter: {
    readonly localName: string;
    /** Receives before a message is moved to the DLQ. */
    readonly maxReceiveCount: number;
    readonly retentionSeconds: number;
  };
}

export interface EventSourceDefinition {
  readonly queue: QueueKey;
  readonly function: FunctionKey;
  readonly batchSize: number;
  /** Seconds to wait to fill a batch; 0 keeps speed-to-lead first. FIFO sources cannot batch. */
  readonly maxBatchingWindowSeconds: number;
  /** Reports `batchItemFailures` so only failed records are retried. */
  readonly reportBatchItemFailures: true;
  readonly maxConcurrency: number;
}

const DAY = 24 * 60 * 60;

export const table: TableDefinition = {
  localName: 'leadflow',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'ttl',
  globalSecondaryIndexes: [
    // A manager's leads, tasks and contacts (OWNER#…), and a team's queue (QUEUE#…).
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
    },
    // A team's leads by capture time (TEAM#…), and every contact by creation time (CONTACTS).
    {
      indexName: 'gsi2',
      partitionKey: { name: 'gsi2pk', type: 'S' },
      sortKey: { name: 'gsi2sk', type: 'S' },
    },
    // Reads by id: a lead (LEADID#…) or task (TASKID#…) wherever its contact's partition is.
    {
      indexName: 'gsi3',
      partitionKey: { name: 'gsi3pk', type: 'S' },
      sortKey: { name: 'gsi3sk', type: 'S' },
    },
    // Open leads of a team by last touch (OPEN#…, stale leads); contacts needing hygiene (HYGIENE#…).
    {
      indexName: 'gsi4',
      partitionKey: { name: 'gsi4pk', type: 'S' },
      sortKey: { name: 'gsi4sk', type: 'S' },
    },
  ],
  stream: 'NEW_IMAGE',
};

export const functions = {
  ingest: { entry: 'functions/ingest/handler.ts', timeoutSeconds: 10, memoryMb: 512 },
  router: { entry: 'functions/router/handler.ts', timeoutSeconds: 30, memoryMb: 512 },
  notifier: { entry: 'functions/notifier/handler.ts', timeoutSeconds: 30, memoryMb: 512 },
  /** Invoked by the SES receipt rule (async): reads the raw message from S3, stores and queues the capture. */
  inboundEmail: { entry: 'functions/inbound-email/handler.ts', timeoutSeconds: 30, memoryMb: 512 },
  /** Fed by the table's stream: re-queues every stored submission, in case ingest's own send failed. */
  outbox: { entry: 'functions/outbox/handler.ts', timeoutSeconds: 30, memoryMb: 256 },
  /** On a schedule: assigns the leads waiting in each team's queue to managers who became available. */
  dispatcher: { entry: 'functions/dispatcher/handler.ts', timeoutSeconds: 60, memoryMb: 256 },
  /** The managers' API (JWT-authorized), its OpenAPI document and reference page. */
  api: { entry: 'functions/api/handler.ts', timeoutSeconds: 29, memoryMb: 1024 },
  /**
   * Fed by the timers queue (delayed messages): SLA warnings, breaches and escalations, follow-up steps,
   * task reminders. Every timer re-reads the lead before acting; a timer due later than SQS can delay
   * (15 min) is sent again with the rest of its delay.
   */
  timer: { entry: 'functions/timer/handler.ts', timeoutSeconds: 30, memoryMb: 512 },
  /** Fed by the deliveries queue: Slack, Teams and outbound webhook posts, retried with backoff. */
  deliverer: { entry: 'functions/deliverer/handler.ts', timeoutSeconds: 30, memoryMb: 256 },
  /** Fed by the table's stream: turns committed timeline and audit entries into domain events to deliver. */
  events: { entry: 'functions/events/handler.ts', timeoutSeconds: 30, memoryMb: 256 },
  /** Subscribed to the SES configuration set's bounce and complaint events (SNS). */
  sesEvents: { entry: 'functions/ses-events/handler.ts', timeoutSeconds: 30, memoryMb: 256 },
} as const satisfies Record<string, FunctionDefinition>;

export type FunctionKey = keyof typeof functions;

/** AWS asks for a visibility timeout of at least six times the consumer's timeout. */
const VISIBILITY_FACTOR = 6;

export const queues = {
  leads: {
    localName: 'leadflow-leads.fifo',
    fifo: true,
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: functions.router.timeoutSeconds * VISIBILITY_FACTOR,
    retentionSeconds: 4 * DAY,
    receiveWaitTimeSeconds: 20,
    deadLetter: { localName: 'leadflow-leads-dlq.fifo', maxReceiveCount: 5, retentionSeconds: 14 * DAY },
  },
  notifications: {
    localName: 'leadflow-notifications',
    fifo: false,
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: functions.notifier.timeoutSeconds * VISIBILITY_FACTOR,
    retentionSeconds: 4 * DAY,
    receiveWaitTimeSeconds: 20,
    deadLetter: { localName: 'leadflow-notifications-dlq', maxReceiveCount: 5, retentionSeconds: 14 * DAY },
  },
  /** Delayed messages (DelaySeconds ≤ 900, re-sent for longer waits): the SLA clock, follow-ups, reminders. */
  timers: {
    localName: 'leadflow-timers',
    fifo: false,
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: functions.timer.timeoutSeconds * VISIBILITY_FACTOR,
    retentionSeconds: 14 * DAY,
    receiveWaitTimeSeconds: 20,
    deadLetter: { localName: 'leadflow-timers-dlq', maxReceiveCount: 5, retentionSeconds: 14 * DAY },
  },
  /** One message per chat post or webhook delivery attempt; retries are re-sent with a delay. */
  deliveries: {
    localName: 'leadflow-deliveries',
    fifo: false,
    contentBasedDeduplication: false,
    visibilityTimeoutSeconds: functions.deliverer.timeoutSeconds * VISIBILITY_FACTOR,
    retentionSeconds: 4 * DAY,
    receiveWaitTimeSeconds: 20,
    deadLetter: { localName: 'leadflow-deliveries-dlq', maxReceiveCount: 5, retentionSeconds: 14 * DAY },
  },
} as const satisfies Record<string, QueueDefinition>;

export type QueueKey = keyof typeof queues;

export const eventSources = [
  {
    queue: 'leads',
    function: 'router',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    maxConcurrency: 10,
  },
  {
    queue: 'notifications',
    function: 'notifier',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    maxConcurrency: 10,
  },
  {
    queue: 'timers',
    function: 'timer',
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    maxConcurrency: 5,
  },
  {
    queue: 'deliveries',
    function: 'deliverer',
    batchSize: 5,
    maxBatchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    maxConcurrency: 5,
  },
] as const satisfies readonly EventSourceDefinition[];

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

export interface StreamKeyFilter {
  readonly partitionKeyPrefix: string;
  readonly sortKeyPrefix?: string;
}

export interface StreamEventSourceDefinition {
  readonly function: FunctionKey;
  /** Only records of these kinds reach the function (Lambda event filtering). */
  readonly eventNames: readonly StreamEventName[];
  /**
   * Only records whose keys match one of these reach the function (one Lambda filter pattern each, OR'ed):
   * the partition key (`pk`) starts with `partitionKeyPrefix` and, when given, the sort key with `sortKeyPrefix`.
   */
  readonly keyFilters: readonly StreamKeyFilter[];
  readonly batchSize: number;
  /** Seconds to wait to fill a batch; 0 keeps speed-to-lead first. */
  readonly maxBatchingWindowSeconds: number;
  /** Split a failing batch in two to isolate the bad record. */
  readonly bisectBatchOnError: boolean;
  /** Retries of a failing record before it goes to the on-failure destination. */
  readonly retryAttempts: number;
  /** Reports `batchItemFailures` so processing resumes from the first failed record. */
  readonly reportBatchItemFailures: true;
  /** Where a record that exhausted its retries is described (an SQS queue; the record itself is not copied). */
  readonly onFailure: { readonly localName: string; readonly retentionSeconds: number };
}

/**
 * The transactional outbox: every stored submission (`SUB#…`, inserted or rewritten) is sent to the
 * leads queue again from the table's stream. The dedupe id is the submission id, so SQS FIFO drops the
 * copy when ingest's direct send succeeded, and the router is idempotent by submission id beyond that.
 */
export const streamEventSource = {
  function: 'outbox',
  eventNames: ['INSERT', 'MODIFY'],
  keyFilters: [{ partitionKeyPrefix: 'SUB#' }],
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  bisectBatchOnError: true,
  retryAttempts: 5,
  reportBatchItemFailures: true,
  onFailure: { localName: 'leadflow-outbox-dlq', retentionSeconds: 14 * DAY },
} as const satisfies StreamEventSourceDefinition;

/**
 * Domain events (webhooks, Slack, Teams), after commit: every inserted timeline entry (`CONTACT#…`/`TL#…`) and
 * audit entry (`AUDIT#…`) reaches the events function, which maps it to zero or more events and queues one
 * delivery per matching target. Timeline and audit entries are written once, so INSERT is enough.
 */
export const domainEventSource = {
  function: 'events',
  eventNames: ['INSERT'],
  keyFilters: [{ partitionKeyPrefix: 'CONTACT#', sortKeyPrefix: 'TL#' }, { partitionKeyPrefix: 'AUDIT#' }],
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  bisectBatchOnError: true,
  retryAttempts: 5,
  reportBatchItemFailures: true,
  onFailure: { localName: 'leadflow-events-dlq', retentionSeconds: 14 * DAY },
} as const satisfies StreamEventSourceDefinition;

/**
 * Every reader of the table's stream. DynamoDB advises at most two readers per shard, so a new consumer of
 * the stream joins one of these mappings' functions rather than adding a third.
 */
export const streamEventSources = [
  streamEventSource,
  domainEventSource,
] as const satisfies readonly StreamEventSourceDefinition[];

/** Whether a stream record's keys pass one of a mapping's key filters (the local stream source, second checks). */
export function matchesKeyFilters(
  filters: readonly StreamKeyFilter[],
  pk: string | undefined,
  sk: string | undefined,
): boolean {
  return filters.some(
    (filter) =>
      pk?.startsWith(filter.partitionKeyPrefix) === true &&
      (filter.sortKeyPrefix === undefined || sk?.startsWith(filter.sortKeyPrefix) === true),
  );
}

export interface ScheduleDefinition {
  readonly function: FunctionKey;
  /** How often the function runs (an EventBridge rate on AWS, an interval locally). */
  readonly everyMinutes: number;
  /** Locally, also run once when the system starts (on AWS the first tick comes within the period). */
  readonly runAtStart: boolean;
}

/**
 * Functions run on a clock. The dispatcher drains the team queues every minute: a lead waiting because
 * nobody was available is assigned when someone's working hours start or their out-of-office ends, with
 * nobody touching anything (the admin command drains at once when it makes a manager available).
 */
export const schedules = [
  { function: 'dispatcher', everyMinutes: 1, runAtStart: true },
] as const satisfies readonly ScheduleDefinition[];

/**
 * Partition keys of the runtime routing configuration (keys.ts): the deploy-time seed may write only
 * these.
 */
export const configLeadingKeys = ['CONFIG#*'] as const;

export interface BucketDefinition {
  /** Name used locally; on AWS the CDK generates a physical name. */
  readonly localName: string;
  /** Where SES's S3 action writes each message: `<prefix><SES messageId>`. */
  readonly objectKeyPrefix: string;
  /** Raw messages are deleted after this many days; the capture lives on in the table. */
  readonly expirationDays: number;
}

/** Raw inbound email (MIME) as SES stores it, read once by the inbound-email function. */
export const rawMailBucket: BucketDefinition = {
  localName: 'leadflow-raw-mail',
  objectKeyPrefix: 'inbound/',
  expirationDays: 90,
};

/**
 * Partition-key prefixes the public ingest function may write (`dynamodb:LeadingKeys`): submissions,
 * counters and per-client rate windows, as laid out in keys.ts. A test checks keys.ts still agrees.
 */
export const ingestLeadingKeys = ['SUB#*', 'STATS#*', 'RATE#*'] as const;

/** The inbound-email function writes the door's items but, invoked by SES, counts no client: no `RATE#`. */
export const inboundEmailLeadingKeys = ['SUB#*', 'STATS#*'] as const;

/**
 * Environment variable names shared by the stack and the handlers, so a rename cannot
 * leave one side reading a variable the other no longer sets.
 */
export const env = {
  tableName: 'TABLE_NAME',
  leadsQueueUrl: 'LEADS_QUEUE_URL',
  notificationsQueueUrl: 'NOTIFICATIONS_QUEUE_URL',
  sesFromAddress: 'SES_FROM_ADDRESS',
  sesConfigurationSet: 'SES_CONFIGURATION_SET',
  leadLinkBaseUrl: 'LEAD_LINK_BASE_URL',
  /** The public base URL of the HTTP API (Twilio signs the full URL it calls). */
  publicBaseUrl: 'PUBLIC_BASE_URL',
  /** The bucket the SES receipt rule stores raw inbound mail in. */
  rawMailBucket: 'RAW_MAIL_BUCKET',
  /** The receipt rule's object key prefix (`inbound/`). */
  rawMailPrefix: 'RAW_MAIL_PREFIX',
  /** Default requests per minute per client address per form or chat widget; 0 turns the limit off. */
  rateLimitPerClient: 'RATE_LIMIT_PER_CLIENT',
  /**
   * Request headers set by a proxy we run (comma-separated, e.g. `X-Forwarded-Host,X-Forwarded-Proto`);
   * unset, every `X-Forwarded-*` header is ignored.
   */
  trustedProxyHeaders: 'TRUSTED_PROXY_HEADERS',
  /** Local and test only: a siteverify URL used for every CAPTCHA provider a form does not override. */
  captchaVerifyUrl: 'CAPTCHA_VERIFY_URL',
  /**
   * Seconds the router, notifier and dispatcher keep the runtime configuration before reading it again
   * (default 10: a change takes effect within that); tests set 0.
   */
  configCacheSeconds: 'CONFIG_CACHE_SECONDS',
  /** The token issuer the managers' API trusts (a Cognito user pool's, or the local issuer's). */
  authIssuer: 'AUTH_ISSUER',
  /** Where the issuer's signing keys are published (`{issuer}/.well-known/jwks.json`). */
  authJwksUrl: 'AUTH_JWKS_URL',
  /** The app client whose access tokens are accepted (Cognito access tokens carry `client_id`). */
  authClientId: 'AUTH_CLIENT_ID',
  /**
   * The Cognito hosted sign-in domain (`https://<prefix>.auth.<region>.amazoncognito.com`) the managers'
   * console sends people to (authorization code with PKCE); unset: the console has no sign-in on AWS.
   */
  authDomainUrl: 'AUTH_DOMAIN_URL',
  /** Days raw provider payloads (stored submissions) are kept before DynamoDB's TTL removes them. */
  rawPayloadRetentionDays: 'RAW_PAYLOAD_RETENTION_DAYS',
  /** The timers queue (SLA, follow-ups, task reminders). */
  timersQueueUrl: 'TIMERS_QUEUE_URL',
  /** The deliveries queue (Slack, Teams, outbound webhooks). */
  deliveriesQueueUrl: 'DELIVERIES_QUEUE_URL',
  /**
   * Local and tests only: a factor on every SLA, escalation, follow-up and reminder delay (0.01 turns 2 min
   * into 1.2 s). The stack never sets it, and production code treats it as 1 when unset.
   */
  slaTimeScale: 'SLA_TIME_SCALE',
  /** Where follow-ups (subscription mail) come from: another address than the transactional mail. */
  sesFollowUpFromAddress: 'SES_FOLLOWUP_FROM_ADDRESS',
  /** The secret that signs the alert's action links and unsubscribe links (Secrets Manager ARN on AWS). */
  linkSecretArn: 'LINK_SECRET_ARN',
  /** Local and tests only: the link-signing key itself (AWS reads it from LINK_SECRET_ARN). */
  linkSecret: 'LINK_SECRET',
} as const;

/**
 * How every function is bundled. The CDK's NodejsFunction and the bench's bundle-size and cold-init
 * measurement both read this, so the figures describe what is deployed.
 */
export const bundling = {
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  sourceMap: true,
  // Stack traces only need the mappings; dropping sources keeps the map (read at init) small.
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies call require() for Node built-ins, which ESM output lacks.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const;
