import {
  domainEventSource,
  env,
  eventSources,
  type FunctionKey,
  inboundEmailLeadingKeys,
  ingestLeadingKeys,
  queues as queueDefinitions,
  type StreamEventSourceDefinition,
  schedules,
  streamEventSource,
} from '@leadflow/aws/resources';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { followUpKeys } from '../packages/aws/src/items/follow-ups';
import { WEBHOOK_LEADING_KEYS } from '../packages/aws/src/items/webhooks';
import { secretEnv } from '../packages/aws/src/secrets';
import type { Email } from './email';
import { LeadflowFunction, METRICS_NAMESPACE } from './leadflow-function';
import { LinkSecret } from './link-secret';
import type { Queues } from './queues';
import type { Storage } from './storage';

/**
 * Partition keys the public ingest function may write: submissions and counters. Anything else,
 * leads and contacts above all, stays out of reach of the internet-facing code.
 */
export const INGEST_LEADING_KEYS = ingestLeadingKeys;
export const INBOUND_EMAIL_LEADING_KEYS = inboundEmailLeadingKeys;
/**
 * The notifier's partitions: its send ledger (`NOTIFY#`), the acknowledgement ledger, the configuration, and
 * (read only) the managers' alert preferences (`MANAGER#<id>`/`PREFS`).
 */
export const NOTIFIER_READ_KEYS = [
  'NOTIFY#*',
  'CONFIG#*',
  'MANAGER#*',
  followUpKeys.suppressionLeadingKey,
] as const;
/** The suppression list (bounced or complained addresses, by hash): read before every send to a lead. */
export const SUPPRESSION_KEYS = [followUpKeys.suppressionLeadingKey] as const;
/** A follow-up step reads the contact's timeline: did the person write since the capture? */
export const FOLLOW_UP_TIMELINE_KEYS = ['CONTACT#*'] as const;
/**
 * The sesEvents function: the address's identity claim (`IDENT#`), its contact's profile and timeline
 * (`CONTACT#`), and the suppression list.
 */
export const SES_EVENTS_LEADING_KEYS = ['IDENT#*', 'CONTACT#*', followUpKeys.suppressionLeadingKey] as const;
export const NOTIFIER_WRITE_KEYS = ['NOTIFY#*', 'ACK#*'] as const;
/**
 * The timer function's partitions: leads, their timelines and tasks (`CONTACT#`), the configuration, the
 * managers' loads and the teams' cursors (an escalation's reassignment), the analytics counters (a breach)
 * and the audit trail (the reassignment's entry).
 */
export const TIMER_LEADING_KEYS = [
  'CONTACT#*',
  'CONFIG#*',
  'MANAGER#*',
  'TEAM#*',
  'ANALYTICS#*',
  'AUDIT#*',
] as const;

/** The events function reads the delivery targets and the configuration (item access; a lead by id is gsi3). */
export const EVENTS_READ_KEYS = [WEBHOOK_LEADING_KEYS.targets, 'CONFIG#*'] as const;
/** The deliverer reads the targets and its sent markers. */
export const DELIVERER_READ_KEYS = [WEBHOOK_LEADING_KEYS.targets, WEBHOOK_LEADING_KEYS.sent] as const;
/** The deliverer writes targets (disabling), dead letters, rate slots, sent markers and the audit trail. */
export const DELIVERER_WRITE_KEYS = [
  WEBHOOK_LEADING_KEYS.targets,
  WEBHOOK_LEADING_KEYS.deadLetters,
  WEBHOOK_LEADING_KEYS.rate,
  WEBHOOK_LEADING_KEYS.sent,
  'AUDIT#*',
] as const;

/**
 * Swagger UI's files, which the api function serves at `/docs` and esbuild cannot bundle: copied into a
 * `swagger-ui/` folder next to its handler, where functions/api/routes/docs.ts looks first.
 */
export const API_BUNDLED_FILES = {
  'swagger-ui/swagger-ui.css': 'node_modules/swagger-ui-dist/swagger-ui.css',
  'swagger-ui/swagger-ui-bundle.js': 'node_modules/swagger-ui-dist/swagger-ui-bundle.js',
} as const;

export interface FunctionsProps {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly email: Email;
  readonly leadLinkBaseUrl: string;
  /** Provider webhook secrets, read by ingest only. */
  readonly channelSecrets: ISecret;
  /** Default requests per minute per client address per form or chat widget; 0 turns the limit off. */
  readonly rateLimitPerClient: number;
  /** Days stored submissions (raw provider payloads) are kept; the functions' default when unset. */
  readonly rawPayloadRetentionDays?: number;
}

/** Lambda retries a failed asynchronous invocation this often before the event goes to the DLQ. */
export const ASYNC_RETRY_ATTEMPTS = 2;
const DEAD_LETTER_RETENTION = Duration.days(14);

/** The leadflow functions, each granted only what its handler does, wired to its queue or trigger. */
export class Functions extends Construct {
  readonly byKey: Record<FunctionKey, LeadflowFunction>;
  /** Where inbound-email events go once Lambda's asynchronous retries are exhausted. */
  readonly inboundEmailDeadLetterQueue: Queue;
  /** Where the outbox's stream event source describes records it gave up on (their shard and sequence range). */
  readonly outboxDeadLetterQueue: Queue;
  /** Where SES bounce and complaint events go once the sesEvents function's retries are exhausted. */
  readonly sesEventsDeadLetterQueue: Queue;
  /** Where the events function's stream event source describes records it gave up on. */
  readonly eventsDeadLetterQueue: Queue;
  /** The EventBridge rules of the functions that run on a clock (resources.ts `schedules`). */
  readonly schedules: Rule[];
  /** The generated key of the alert's action links: the notifier signs with it, the api function checks. */
  readonly linkSecret: ISecret;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { storage, queues, email, leadLinkBaseUrl, channelSecrets, rateLimitPerClient } = props;
    // The functions that store submissions (the door) give them this retention.
    const retention = (fn: LeadflowFunction) => {
      if (props.rawPayloadRetentionDays !== undefined) {
        fn.function.addEnvironment(env.rawPayloadRetentionDays, String(props.rawPayloadRetentionDays));
      }
    };

    const ingest = new LeadflowFunction(this, 'Ingest', { name: 'ingest' })
      .bindTable(storage, { actions: ['PutItem', 'UpdateItem'], leadingKeys: INGEST_LEADING_KEYS })
      .bindQueueSender(queues.byKey.leads.queue, env.leadsQueueUrl)
      .bindSecret(channelSecrets, secretEnv.secretArn);
    // PUBLIC_BASE_URL is set by the stack once the HTTP API exists (its endpoint, or a custom domain).
    ingest.function.addEnvironment(env.rateLimitPerClient, String(rateLimitPerClient));
    retention(ingest);

    const router = new LeadflowFunction(this, 'Router', { name: 'router' })
      // Item reads (the runtime configuration among them; BatchGetItem for the managers' loads) and writes;
      // Query and DeleteItem only to move a merged contact's timeline into the survivor's partition. Never Scan.
      .bindTable(storage, {
        actions: [
          'GetItem',
          'BatchGetItem',
          'PutItem',
          'UpdateItem',
          'ConditionCheckItem',
          'Query',
          'DeleteItem',
        ],
      })
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl)
      // A new lead's SLA clock starts beside its alert.
      .bindQueueSender(queues.byKey.timers.queue, env.timersQueueUrl);

    // Reads its send ledger and the runtime configuration; writes only its send ledger (Powertools
    // idempotency records, deleted when a send fails) and the acknowledgement ledger. Never a lead or contact.
    this.linkSecret = new LinkSecret(this, 'LinkSecret').secret;
    const notifier = new LeadflowFunction(this, 'Notifier', { name: 'notifier' })
      .bindTable(storage, { actions: ['GetItem'], leadingKeys: NOTIFIER_READ_KEYS })
      .bindTable(storage, {
        actions: ['PutItem', 'UpdateItem', 'DeleteItem'],
        leadingKeys: NOTIFIER_WRITE_KEYS,
      })
      .bindEmail(email)
      // Signs the alert's action links; PUBLIC_BASE_URL, where they point, is set by the stack.
      .bindSecret(this.linkSecret, env.linkSecretArn);
    notifier.function.addEnvironment(env.leadLinkBaseUrl, leadLinkBaseUrl);
    // Follow-ups (subscription mail) come from their own address at the identity domain, as Gmail asks.
    notifier.function.addEnvironment(env.sesFollowUpFromAddress, email.followUpFromAddress);

    // Invoked by the SES receipt rule; the same door as ingest: submissions and counters, the leads queue.
    this.inboundEmailDeadLetterQueue = new Queue(this, 'InboundEmailDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    const inboundEmail = new LeadflowFunction(this, 'InboundEmail', {
      name: 'inboundEmail',
      deadLetterQueue: this.inboundEmailDeadLetterQueue,
    })
      .bindTable(storage, { actions: ['PutItem', 'UpdateItem'], leadingKeys: INBOUND_EMAIL_LEADING_KEYS })
      .bindQueueSender(queues.byKey.leads.queue, env.leadsQueueUrl);
    retention(inboundEmail);
    inboundEmail.function.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
    });

    // The transactional outbox: the table's stream re-queues every stored submission, so a capture whose
    // direct send failed after the store still reaches the router. Reads the stream (granted by the event
    // source) and sends to the leads queue; no item access at all.
    this.outboxDeadLetterQueue = new Queue(this, 'OutboxDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(streamEventSource.onFailure.retentionSeconds),
    });
    Validations.of(this.outboxDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination: the on-failure destination of the outbox stream ' +
        'event source, alarmed on its first message; it has nothing further to redrive to.',
    });
    const outbox = new LeadflowFunction(this, 'Outbox', { name: 'outbox' }).bindQueueSender(
      queues.byKey.leads.queue,
      env.leadsQueueUrl,
    );
    outbox.function.addEventSource(tableStreamSource(storage, streamEventSource, this.outboxDeadLetterQueue));

    // The event source's stream grant: Describe/GetRecords/GetShardIterator on this table's stream ARN,
    // plus dynamodb:ListStreams, which IAM authorizes on "*" only.
    Validations.of(outbox.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams supports no resource-level permissions, so the event source mapping grants it ' +
        'on "*"; every other stream action is scoped to this table\'s stream, and the role has no item access.',
    });

    // Drains the team queues on a schedule: reads the configuration, the queue (the index only), contacts and
    // loads; writes the lead, its timeline entry, the load and the cursor; queues the owner's alert.
    const dispatcher = new LeadflowFunction(this, 'Dispatcher', { name: 'dispatcher' })
      .bindTable(storage, { actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'] })
      // The team queues live on gsi1 only.
      .bindIndexQuery(storage, ['gsi1'])
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl)
      // A dequeued lead's SLA clock starts with its owner.
      .bindQueueSender(queues.byKey.timers.queue, env.timersQueueUrl);
    // The next tick is the retry: a failed run is not repeated on top of it.
    dispatcher.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    // The managers' API. Admins export and erase anything (contacts, identities, leads, timelines, ledgers,
    // idempotency records, the audit trail), so it reads and writes the whole table and queries every index;
    // never Scan. It queues reassigned leads' alerts. Its token settings come from the user pool (auth.ts),
    // and its raw-mail access from the bucket (`bindRawMailErasure`), both bound by the stack.
    const api = new LeadflowFunction(this, 'Api', { name: 'api', bundledFiles: API_BUNDLED_FILES })
      .bindTable(storage, {
        actions: [
          'GetItem',
          'BatchGetItem',
          'PutItem',
          'UpdateItem',
          'DeleteItem',
          'ConditionCheckItem',
          'Query',
        ],
      })
      .bindIndexQuery(storage)
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl)
      // A reassignment's new SLA clock, a task's reminder and overdue timers.
      .bindQueueSender(queues.byKey.timers.queue, env.timersQueueUrl)
      // Checks the alert's action links at /a/{token}.
      .bindSecret(this.linkSecret, env.linkSecretArn)
      // Replays a dead-lettered webhook or chat delivery.
      .bindQueueSender(queues.byKey.deliveries.queue, env.deliveriesQueueUrl);

    // Fed by the timers queue: the SLA clock's steps and task reminders. Finds a lead or task by id (gsi3),
    // reads it and the managers' loads, and writes the lead's clock, its timeline, the analytics counters,
    // and on an escalation's reassignment the loads, the team's cursor and the audit trail; never Scan, and
    // nothing outside those partitions. Queues notifications, and its own next timer (or a re-send of one
    // that fired early).
    const timer = new LeadflowFunction(this, 'Timer', { name: 'timer' })
      .bindTable(storage, {
        actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'],
        leadingKeys: TIMER_LEADING_KEYS,
      })
      .bindIndexQuery(storage, ['gsi3'])
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl)
      .bindQueueSender(queues.byKey.timers.queue, env.timersQueueUrl);
    // A follow-up step: whether the person wrote since the capture (their timeline, a Query in their own
    // partition) and whether the lead's address is suppressed (one item by its hash).
    timer
      .bindTable(storage, { actions: ['Query'], leadingKeys: FOLLOW_UP_TIMELINE_KEYS })
      .bindTable(storage, { actions: ['GetItem'], leadingKeys: SUPPRESSION_KEYS });

    // Domain events, after commit: the table's stream (timeline and audit entries, filtered by the mapping)
    // becomes one deliveries message per webhook subscription or team chat integration. Reads the targets
    // (`WEBHOOKS`) and the configuration (display names), and a lead by id (gsi3 only); writes nothing.
    this.eventsDeadLetterQueue = new Queue(this, 'EventsDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(domainEventSource.onFailure.retentionSeconds),
    });
    Validations.of(this.eventsDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination: the on-failure destination of the events stream ' +
        'event source, alarmed on its first message; it has nothing further to redrive to.',
    });
    const events = new LeadflowFunction(this, 'Events', { name: 'events' })
      .bindTable(storage, { actions: ['GetItem', 'Query'], leadingKeys: EVENTS_READ_KEYS })
      .bindIndexQuery(storage, ['gsi3'])
      .bindQueueSender(queues.byKey.deliveries.queue, env.deliveriesQueueUrl)
      // The teams' Slack and Teams webhook URLs (`integrations`): which teams have which chat tools.
      .bindSecret(channelSecrets, secretEnv.secretArn);
    events.function.addEnvironment(env.leadLinkBaseUrl, leadLinkBaseUrl);
    events.function.addEventSource(tableStreamSource(storage, domainEventSource, this.eventsDeadLetterQueue));
    Validations.of(events.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams supports no resource-level permissions, so the event source mapping grants it ' +
        'on "*"; every other stream action is scoped to this table\'s stream, and item reads to its partitions.',
    });

    // Posts each delivery (outbound HTTPS only: no VPC). Reads the subscriptions and chat states and its sent
    // markers; writes the rate slots, sent markers, dead letters, a target's disabling and its audit entry;
    // re-sends retries to its own queue. Nothing else of the table.
    const deliverer = new LeadflowFunction(this, 'Deliverer', { name: 'deliverer' })
      .bindTable(storage, { actions: ['GetItem'], leadingKeys: DELIVERER_READ_KEYS })
      .bindTable(storage, { actions: ['PutItem', 'UpdateItem'], leadingKeys: DELIVERER_WRITE_KEYS })
      .bindQueueSender(queues.byKey.deliveries.queue, env.deliveriesQueueUrl)
      .bindSecret(channelSecrets, secretEnv.secretArn);

    // Subscribed to the SES configuration set's bounces and complaints (SNS, invoked asynchronously): suppresses
    // the address, marks it undeliverable on its contact (its identity claim, then the profile) and records it
    // on the timeline. Nothing else of the table; failures are retried twice, then dead-lettered and alarmed.
    this.sesEventsDeadLetterQueue = new Queue(this, 'SesEventsDeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    Validations.of(this.sesEventsDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter destination: the sesEvents function sends the SES events it could ' +
        'not record there after its asynchronous retries; it is alarmed on its first message.',
    });
    const sesEvents = new LeadflowFunction(this, 'SesEvents', {
      name: 'sesEvents',
      deadLetterQueue: this.sesEventsDeadLetterQueue,
    }).bindTable(storage, {
      actions: ['GetItem', 'PutItem', 'UpdateItem'],
      leadingKeys: SES_EVENTS_LEADING_KEYS,
    });
    sesEvents.function.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
    });
    email.eventsTopic.addSubscription(new LambdaSubscription(sesEvents.function));

    this.byKey = {
      sesEvents,
      ingest,
      router,
      notifier,
      inboundEmail,
      outbox,
      dispatcher,
      api,
      timer,
      deliverer,
      events,
    };

    this.schedules = schedules.map(
      (definition) =>
        new Rule(this, `${definition.function[0]?.toUpperCase()}${definition.function.slice(1)}Schedule`, {
          description: `Runs ${definition.function} every ${definition.everyMinutes} minute(s)`,
          schedule: Schedule.rate(Duration.minutes(definition.everyMinutes)),
          targets: [
            new LambdaFunction(this.byKey[definition.function].function, {
              retryAttempts: 0,
              maxEventAge: Duration.minutes(definition.everyMinutes),
            }),
          ],
        }),
    );

    for (const source of eventSources) {
      const { fifo } = queueDefinitions[source.queue];
      this.byKey[source.function].function.addEventSource(
        new SqsEventSource(queues.byKey[source.queue].queue, {
          batchSize: source.batchSize,
          // FIFO sources reject a batching window; 0 means "do not wait", which is also the default.
          maxBatchingWindow:
            !fifo && source.maxBatchingWindowSeconds > 0
              ? Duration.seconds(source.maxBatchingWindowSeconds)
              : undefined,
          reportBatchItemFailures: source.reportBatchItemFailures,
          maxConcurrency: source.maxConcurrency,
        }),
      );
    }
  }
}

/**
 * The deliverer's metrics (Powertools: namespace `leadflow`, dimension `service`) that page someone: a delivery
 * that failed past its retries (a dead letter, replayable from the admin API), and a webhook subscription or
 * chat integration disabled because its endpoint answered 404/410 (the admin's warning; also in the audit trail).
 */
export function deliveryAlarmMetrics(): Record<string, { metric: Metric; description: string }> {
  const metric = (metricName: string) =>
    new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: 'deliverer' },
      statistic: 'Sum',
      period: Duration.minutes(1),
    });
  return {
    WebhookDeadLetters: {
      metric: metric('DeliveriesDeadLettered'),
      description:
        'A webhook or chat delivery failed past its retries: see GET /v1/admin/webhooks/dead-letters and replay it.',
    },
    DeliveryTargetsDisabled: {
      metric: metric('DeliveryTargetsDisabled'),
      description:
        'A webhook subscription or team chat integration answered 404/410 and was disabled: see GET /v1/admin/webhooks and the audit trail.',
    },
  };
}

/**
 * An event-source mapping on the table's stream from its shared definition (resources.ts): one filter pattern
 * per key filter (event name and key prefixes), and an SQS on-failure destination.
 */
export function tableStreamSource(
  storage: Storage,
  definition: StreamEventSourceDefinition,
  onFailure: Queue,
): DynamoEventSource {
  return new DynamoEventSource(storage.table, {
    // From the oldest record kept: nothing written between enabling the stream and the mapping is missed.
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: definition.batchSize,
    maxBatchingWindow:
      definition.maxBatchingWindowSeconds > 0
        ? Duration.seconds(definition.maxBatchingWindowSeconds)
        : undefined,
    bisectBatchOnError: definition.bisectBatchOnError,
    retryAttempts: definition.retryAttempts,
    reportBatchItemFailures: definition.reportBatchItemFailures,
    onFailure: new SqsDlq(onFailure),
    filters: definition.keyFilters.map((filter) =>
      FilterCriteria.filter({
        eventName: FilterRule.or(...definition.eventNames),
        dynamodb: {
          Keys: {
            pk: { S: FilterRule.beginsWith(filter.partitionKeyPrefix) },
            ...(filter.sortKeyPrefix === undefined
              ? {}
              : { sk: { S: FilterRule.beginsWith(filter.sortKeyPrefix) } }),
          },
        },
      }),
    ),
  });
}

/**
 * Lets the managers' API export and erase a contact's raw inbound mail: sets the bucket and prefix and grants
 * s3:GetObject and s3:DeleteObject on objects under the receipt rule's prefix only.
 */
export function bindRawMailErasure(fn: LeadflowFunction, bucket: IBucket, prefix: string): void {
  fn.function.addEnvironment(env.rawMailBucket, bucket.bucketName);
  fn.function.addEnvironment(env.rawMailPrefix, prefix);
  fn.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['s3:GetObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects(`${prefix}*`)],
    }),
  );
  const bucketId = Stack.of(fn).getLogicalId(bucket.node.defaultChild as CfnElement);
  Validations.of(fn.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
    reason:
      'Object keys are SES message ids, named by the stored submissions of the contact being exported or ' +
      'erased; the grant is GetObject and DeleteObject alone, on the one bucket and under the receipt rule ' +
      'prefix only.',
  });
}
