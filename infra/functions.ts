import {
  env,
  eventSources,
  type FunctionKey,
  inboundEmailLeadingKeys,
  ingestLeadingKeys,
  queues as queueDefinitions,
  schedules,
  streamEventSource,
} from '@leadflow/aws/resources';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { secretEnv } from '../packages/aws/src/secrets';
import type { Email } from './email';
import { LeadflowFunction } from './leadflow-function';
import type { Queues } from './queues';
import type { Storage } from './storage';

/**
 * Partition keys the public ingest function may write: submissions and counters. Anything else,
 * leads and contacts above all, stays out of reach of the internet-facing code.
 */
export const INGEST_LEADING_KEYS = ingestLeadingKeys;
export const INBOUND_EMAIL_LEADING_KEYS = inboundEmailLeadingKeys;
/** The notifier's partitions: its send ledger (`NOTIFY#`), the acknowledgement ledger, the configuration. */
export const NOTIFIER_READ_KEYS = ['NOTIFY#*', 'CONFIG#*'] as const;
export const NOTIFIER_WRITE_KEYS = ['NOTIFY#*', 'ACK#*'] as const;

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
  /** The EventBridge rules of the functions that run on a clock (resources.ts `schedules`). */
  readonly schedules: Rule[];

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
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl);

    // Reads its send ledger and the runtime configuration; writes only its send ledger (Powertools
    // idempotency records, deleted when a send fails) and the acknowledgement ledger. Never a lead or contact.
    const notifier = new LeadflowFunction(this, 'Notifier', { name: 'notifier' })
      .bindTable(storage, { actions: ['GetItem'], leadingKeys: NOTIFIER_READ_KEYS })
      .bindTable(storage, {
        actions: ['PutItem', 'UpdateItem', 'DeleteItem'],
        leadingKeys: NOTIFIER_WRITE_KEYS,
      })
      .bindEmail(email);
    notifier.function.addEnvironment(env.leadLinkBaseUrl, leadLinkBaseUrl);

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
    outbox.function.addEventSource(
      new DynamoEventSource(storage.table, {
        // From the oldest record kept: nothing written between enabling the stream and the mapping is missed.
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: streamEventSource.batchSize,
        maxBatchingWindow:
          streamEventSource.maxBatchingWindowSeconds > 0
            ? Duration.seconds(streamEventSource.maxBatchingWindowSeconds)
            : undefined,
        bisectBatchOnError: streamEventSource.bisectBatchOnError,
        retryAttempts: streamEventSource.retryAttempts,
        reportBatchItemFailures: streamEventSource.reportBatchItemFailures,
        onFailure: new SqsDlq(this.outboxDeadLetterQueue),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.or(...streamEventSource.eventNames),
            dynamodb: { Keys: { pk: { S: FilterRule.beginsWith(streamEventSource.partitionKeyPrefix) } } },
          }),
        ],
      }),
    );

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
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl);
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
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl);

    this.byKey = { ingest, router, notifier, inboundEmail, outbox, dispatcher, api };

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
