import { type QueueDefinition, type QueueKey, queues } from '@leadflow/aws/resources';
import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** A work queue and the dead-letter queue its failed messages end up in. */
export interface QueuePair {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

/** The leadflow queues, each with its own DLQ, shaped by `queues` in resources.ts. */
export class Queues extends Construct {
  readonly byKey: Record<QueueKey, QueuePair>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.byKey = {
      leads: this.pair('Leads', queues.leads),
      notifications: this.pair('Notifications', queues.notifications),
      timers: this.pair('Timers', queues.timers),
      deliveries: this.pair('Deliveries', queues.deliveries),
    };
  }

  private pair(id: string, definition: QueueDefinition): QueuePair {
    const scope = new Construct(this, id);
    // SQS-managed SSE: encrypted at rest with no KMS grants or per-request KMS cost on the hot path.
    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, fifo: definition.fifo };

    // A FIFO queue can only redrive into a FIFO DLQ.
    const deadLetterQueue = new Queue(scope, 'DeadLetterQueue', {
      ...common,
      retentionPeriod: Duration.seconds(definition.deadLetter.retentionSeconds),
    });
    const queue = new Queue(scope, 'Queue', {
      ...common,
      // A FIFO-only attribute: keep it off standard queues entirely.
      contentBasedDeduplication: definition.fifo ? definition.contentBasedDeduplication : undefined,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(definition.retentionSeconds),
      receiveMessageWaitTime: Duration.seconds(definition.receiveWaitTimeSeconds),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.deadLetter.maxReceiveCount },
    });
    return { queue, deadLetterQueue };
  }
}
