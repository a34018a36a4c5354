import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { sleep, withTimeout } from './timing';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly functionName: string;
  readonly handler: SqsHandler;
  readonly batchSize: number;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Parallel pollers, like Lambda's concurrent batches; a FIFO queue still serializes each group. */
  readonly concurrency: number;
  /** Long-poll wait; short in tests so stop() is quick. */
  readonly waitTimeSeconds?: number;
  readonly onError?: (error: unknown) => void;
  readonly onBatch?: (summary: { functionName: string; records: number; failed: number; ms: number }) => void;
}

/**
 * A local Lambda event-source mapping for SQS: long-polls, invokes the real handler with an
 * AWS-shaped SQSEvent, deletes only the records that succeeded, and leaves failures to become
 * visible again after the queue's visibility timeout, where the queue's redrive policy moves
 * them to the DLQ after maxReceiveCount, exactly as Lambda leaves them.
 */
export class SqsEventSource {
  readonly #options: EventSourceOptions;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: EventSourceOptions) {
    this.#options = options;
  }

  start(): this {
    this.#loops = Array.from({ length: this.#options.concurrency }, () => this.#poll());
    return this;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }

  async #poll(): Promise<void> {
    const { sqs, queueUrl, batchSize } = this.#options;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const result = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: this.#options.waitTimeSeconds ?? 20,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = result.Messages ?? [];
      } catch (error) {
        if (signal.aborted) return;
        this.#options.onError?.(error);
        await sleep(1000, signal);
        continue;
      }
      if (messages.length > 0) await this.#invoke(messages);
    }
  }

  async #invoke(messages: Message[]): Promise<void> {
    const { sqs, queueUrl, functionName, timeoutSeconds, memoryMb } = this.#options;
    const event: SQSEvent = { Records: messages.map((message) => this.#toRecord(message)) };
    const started = performance.now();
    let failedIds: Set<string>;
    try {
      const response = await withTimeout(
        this.#options.handler(event, lambdaContext(functionName, timeoutSeconds, memoryMb)),
        timeoutSeconds * 1000,
        `${functionName} timed out after ${timeoutSeconds} s`,
      );
      failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A function error fails the whole batch: nothing is deleted, everything is retried.
      this.#options.onError?.(error);
      failedIds = new Set(event.Records.map((record) => record.messageId));
    }
    const succeeded = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    if (succeeded.length > 0) {
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: succeeded.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
      if (result.Failed?.length)
        this.#options.onError?.(new Error(`Delete failed for ${result.Failed.length} message(s)`));
    }
    this.#options.onBatch?.({
      functionName,
      records: messages.length,
      failed: failedIds.size,
      ms: performance.now() - started,
    });
  }

  #toRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? 'AIDALOCAL',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
        ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
        ...(attributes.MessageDeduplicationId
          ? { MessageDeduplicationId: attributes.MessageDeduplicationId }
          : {}),
      },
      messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.#options.queueArn,
      awsRegion: this.#options.queueArn.split(':')[3] ?? 'us-east-1',
    };
  }
}

/** SQS API attributes (StringValue) to the Lambda event's shape (stringValue). */
function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: value.StringListValues ?? [],
        binaryListValues: [],
      },
    ]),
  );
}
