import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsEventSource } from '../../local/event-source';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

async function queueWithDlq(name: string, fifo: boolean) {
  const suffix = fifo ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
  const dlq = await system.sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifoAttributes }),
  );
  const dlqArn = (
    await system.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  const queue = await system.sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}${suffix}`,
      Attributes: {
        ...fifoAttributes,
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
      },
    }),
  );
  const arn = (
    await system.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  return { url: queue.QueueUrl as string, arn: arn as string, dlqUrl: dlq.QueueUrl as string };
}

describe('local SQS event-source mapping', () => {
  it('deletes successes, retries reported failures after the visibility timeout, then dead-letters them', async () => {
    const queue = await queueWithDlq(`esm-${Date.now()}`, false);
    const seen: SQSEvent[] = [];
    const attempts = new Map<string, number>();
    const source = new SqsEventSource({
      sqs: system.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      functionName: 'test',
      batchSize: 10,
      timeoutSeconds: 5,
      memoryMb: 128,
      concurrency: 1,
      waitTimeSeconds: 1,
      handler: async (event) => {
        seen.push(event);
        const failures = event.Records.filter((record) => {
          attempts.set(record.body, (attempts.get(record.body) ?? 0) + 1);
          return record.body.startsWith('bad');
        });
        return { batchItemFailures: failures.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    }).start();
    try {
      await system.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: ['good-1', 'bad-1', 'good-2'].map((body, i) => ({
            Id: String(i),
            MessageBody: body,
            MessageAttributes: { kind: { DataType: 'String', StringValue: body } },
          })),
        }),
      );
      await eventually(async () => {
        const dead = await system.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 1 }),
        );
        expect(dead.Messages?.map((m) => m.Body)).toEqual(['bad-1']);
      }, 15_000);
      expect(attempts.get('good-1')).toBe(1);
      expect(attempts.get('good-2')).toBe(1);
      expect(attempts.get('bad-1')).toBe(2);
      const record = seen[0]?.Records.find((r) => r.body === 'good-1');
      expect(record).toMatchObject({
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        attributes: { ApproximateReceiveCount: '1' },
        messageAttributes: { kind: { dataType: 'String', stringValue: 'good-1' } },
      });
      expect(await system.depth(queue.url)).toBe(0);
    } finally {
      await source.stop();
    }
  });

  it('retries the whole batch when the function throws', async () => {
    const queue = await queueWithDlq(`esm-throw-${Date.now()}`, true);
    let calls = 0;
    const source = new SqsEventSource({
      sqs: system.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      functionName: 'test',
      batchSize: 10,
      timeoutSeconds: 5,
      memoryMb: 128,
      concurrency: 1,
      waitTimeSeconds: 1,
      handler: async () => {
        calls++;
        if (calls === 1) throw new Error('cold start failure');
        return { batchItemFailures: [] };
      },
    }).start();
    try {
      await system.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: ['a', 'b'].map((body) => ({
            Id: body,
            MessageBody: body,
            MessageGroupId: 'g',
            MessageDeduplicationId: body,
          })),
        }),
      );
      await eventually(async () => expect(await system.depth(queue.url)).toBe(0), 15_000);
      expect(calls).toBeGreaterThanOrEqual(2);
      const dead = await system.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 0 }),
      );
      expect(dead.Messages ?? []).toHaveLength(0);
    } finally {
      await source.stop();
    }
  });
});
