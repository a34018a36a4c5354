import {
  env,
  eventSources,
  type FunctionKey,
  ingestLeadingKeys,
  queues as queueDefinitions,
} from '@leadflow/aws/resources';
import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import type { Email } from './email';
import { LeadflowFunction } from './leadflow-function';
import type { Queues } from './queues';
import type { Storage } from './storage';

/**
 * Partition keys the public ingest function may write: submissions and counters. Anything else,
 * leads and contacts above all, stays out of reach of the internet-facing code.
 */
export const INGEST_LEADING_KEYS = ingestLeadingKeys;

export interface FunctionsProps {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly email: Email;
  readonly leadLinkBaseUrl: string;
}

/** The three leadflow functions, each granted only what its handler does, wired to its queue. */
export class Functions extends Construct {
  readonly byKey: Record<FunctionKey, LeadflowFunction>;

  constructor(scope: Construct, id: string, { storage, queues, email, leadLinkBaseUrl }: FunctionsProps) {
    super(scope, id);

    const ingest = new LeadflowFunction(this, 'Ingest', { name: 'ingest' })
      .bindTable(storage, { actions: ['PutItem', 'UpdateItem'], leadingKeys: INGEST_LEADING_KEYS })
      .bindQueueSender(queues.byKey.leads.queue, env.leadsQueueUrl);

    const router = new LeadflowFunction(this, 'Router', { name: 'router' })
      // Item reads and writes only: routing never queries or scans, and never deletes.
      .bindTable(storage, { actions: ['GetItem', 'PutItem', 'UpdateItem', 'ConditionCheckItem'] })
      .bindQueueSender(queues.byKey.notifications.queue, env.notificationsQueueUrl);

    // DeleteItem is for Powertools idempotency records, which are removed when a send fails.
    const notifier = new LeadflowFunction(this, 'Notifier', { name: 'notifier' })
      .bindTable(storage, { actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] })
      .bindEmail(email);
    notifier.function.addEnvironment(env.leadLinkBaseUrl, leadLinkBaseUrl);

    this.byKey = { ingest, router, notifier };

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
