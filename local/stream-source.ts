import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { matchesKeyFilters, type StreamEventSourceDefinition } from '@leadflow/aws/resources';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { sleep, withTimeout } from './timing';

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

/** One function fed by the stream, as one of the stack's event source mappings. */
export interface StreamConsumer {
  readonly functionName: string;
  readonly handler: StreamHandler;
  /** The filter, batch size and retries the stack's event source mapping uses. */
  readonly definition: StreamEventSourceDefinition;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly onError?: (error: unknown) => void;
}

export interface StreamSourceOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  /**
   * Every mapping on the stream. Locally one reader serves them all (each page is read once and handed to
   * each consumer through its own filter), where Lambda polls per mapping: reading DynamoDB Local's stream
   * twice would only double the emulator's work on the machine the whole system shares.
   */
  readonly consumers: readonly StreamConsumer[];
  /** Pause between polls of a shard that returned nothing. */
  readonly pollIntervalMs?: number;
  readonly onError?: (error: unknown) => void;
  readonly onBatch?: (summary: { functionName: string; records: number; failed: number; ms: number }) => void;
}

/** Shards are re-listed this often, to follow the stream as DynamoDB Local rolls shards over. */
const DISCOVER_EVERY_MS = 5_000;

/**
 * A local Lambda event-source mapping for a DynamoDB stream: reads every shard from where the system
 * started (LATEST), keeps only records that pass the same filter as the stack's mapping, invokes the
 * real handler with an AWS-shaped DynamoDBStreamEvent, and on `batchItemFailures` retries the shard
 * from the first failed sequence number (the shard waits, as on Lambda) up to `retryAttempts` times.
 */
export class DynamoStreamSource {
  readonly #options: StreamSourceOptions;
  readonly #abort = new AbortController();
  /** Open shards and the iterator to read each from next. */
  readonly #iterators = new Map<string, string>();
  /** Every shard seen, open or closed, so a rediscovered closed shard is not read again. */
  readonly #seen = new Set<string>();
  #loop: Promise<void> | undefined;

  constructor(options: StreamSourceOptions) {
    this.#options = options;
  }

  /** Opens every current shard at LATEST; resolves once records written from now on will be read. */
  async start(): Promise<this> {
    await this.#discover('LATEST');
    this.#loop = this.#run();
    return this;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop?.catch(() => undefined);
  }

  async #discover(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const { streams, streamArn } = this.#options;
    let ExclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId }),
        { abortSignal: this.#abort.signal },
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        const shardId = shard.ShardId;
        if (!shardId || this.#seen.has(shardId)) continue;
        this.#seen.add(shardId);
        // A shard that appears later was created after we started: read it from its beginning.
        const { ShardIterator } = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: position,
          }),
          { abortSignal: this.#abort.signal },
        );
        if (ShardIterator) this.#iterators.set(shardId, ShardIterator);
      }
      ExclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (ExclusiveStartShardId);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let discoveredAt = Date.now();
    while (!signal.aborted) {
      try {
        if (Date.now() - discoveredAt > DISCOVER_EVERY_MS) {
          discoveredAt = Date.now();
          await this.#discover('TRIM_HORIZON');
        }
        const counts = await Promise.all(
          [...this.#iterators.keys()].map((shardId) => this.#pollShard(shardId)),
        );
        if (counts.every((count) => count === 0)) await sleep(this.#options.pollIntervalMs ?? 100, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.#options.onError?.(error);
        await sleep(1000, signal);
      }
    }
  }

  /**
   * Reads one page of a shard and hands each consumer the records its filter keeps (the consumers run side
   * by side; the shard moves on when each has succeeded or given up); returns the page size.
   */
  async #pollShard(shardId: string): Promise<number> {
    const { streams, consumers } = this.#options;
    const iterator = this.#iterators.get(shardId);
    if (!iterator) return 0;
    const limit = Math.max(...consumers.map((consumer) => consumer.definition.batchSize));
    const command = new GetRecordsCommand({ ShardIterator: iterator, Limit: limit });
    const page = await streams.send(command, { abortSignal: this.#abort.signal });
    const records = page.Records ?? [];
    await Promise.all(consumers.map((consumer) => this.#deliver(consumer, records)));
    if (page.NextShardIterator) this.#iterators.set(shardId, page.NextShardIterator);
    else this.#iterators.delete(shardId); // The shard is closed and fully read.
    return records.length;
  }

  /** One consumer's share of a page, in batches of its size, retried from the first failure as Lambda does. */
  async #deliver(consumer: StreamConsumer, records: readonly StreamRecord[]): Promise<void> {
    const matching = records
      .filter((record) => this.#matches(consumer, record))
      .map((record) => this.#toRecord(record));
    for (let start = 0; start < matching.length; start += consumer.definition.batchSize) {
      let pending = matching.slice(start, start + consumer.definition.batchSize);
      for (let attempt = 0; pending.length > 0 && !this.#abort.signal.aborted; attempt++) {
        const failedFrom = await this.#invoke(consumer, pending);
        if (failedFrom === undefined) break;
        if (attempt >= consumer.definition.retryAttempts) {
          (consumer.onError ?? this.#options.onError)?.(
            new Error(`${consumer.functionName} gave up on ${pending.length - failedFrom} stream record(s)`),
          );
          break;
        }
        pending = pending.slice(failedFrom);
        await sleep(100 * (attempt + 1), this.#abort.signal);
      }
    }
  }

  /** The filter of the stack's mapping: event name, and the key prefixes (any of its key filters). */
  #matches(consumer: StreamConsumer, record: StreamRecord): boolean {
    const { eventNames, keyFilters } = consumer.definition;
    const text = (key: 'pk' | 'sk') => {
      const attribute = record.dynamodb?.Keys?.[key];
      return attribute !== undefined && 'S' in attribute && typeof attribute.S === 'string'
        ? attribute.S
        : undefined;
    };
    return (
      eventNames.some((name) => name === record.eventName) &&
      matchesKeyFilters(keyFilters, text('pk'), text('sk'))
    );
  }

  /** Invokes the handler; returns the index to retry from, or undefined when the whole batch succeeded. */
  async #invoke(consumer: StreamConsumer, records: DynamoDBRecord[]): Promise<number | undefined> {
    const { functionName, timeoutSeconds, memoryMb } = consumer;
    const started = performance.now();
    let failedFrom: number | undefined;
    let failed = 0;
    try {
      const response = await withTimeout(
        consumer.handler({ Records: records }, lambdaContext(functionName, timeoutSeconds, memoryMb)),
        timeoutSeconds * 1000,
        `${functionName} timed out after ${timeoutSeconds} s`,
      );
      const failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      failed = failedIds.size;
      const index = records.findIndex((record) => failedIds.has(record.dynamodb?.SequenceNumber ?? ''));
      // Lambda resumes from the lowest failed sequence number; an unknown identifier retries everything.
      if (failedIds.size > 0) failedFrom = index === -1 ? 0 : index;
    } catch (error) {
      // A function error fails the whole batch.
      (consumer.onError ?? this.#options.onError)?.(error);
      failed = records.length;
      failedFrom = 0;
    }
    this.#options.onBatch?.({
      functionName,
      records: records.length,
      failed,
      ms: performance.now() - started,
    });
    return failedFrom;
  }

  #toRecord(record: StreamRecord): DynamoDBRecord {
    const stream = record.dynamodb ?? {};
    const created = stream.ApproximateCreationDateTime;
    return {
      eventID: record.eventID ?? '',
      eventName: record.eventName as DynamoDBRecord['eventName'],
      eventVersion: record.eventVersion ?? '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: record.awsRegion ?? 'us-east-1',
      eventSourceARN: this.#options.streamArn,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor((created ? created.getTime() : Date.now()) / 1000),
        // The SDK's AttributeValue union and the Lambda event's are the same JSON.
        Keys: stream.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
        ...(stream.NewImage
          ? { NewImage: repairImage(stream.NewImage) as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'] }
          : {}),
        ...(stream.OldImage
          ? { OldImage: repairImage(stream.OldImage) as NonNullable<DynamoDBRecord['dynamodb']>['OldImage'] }
          : {}),
        SequenceNumber: stream.SequenceNumber ?? '',
        SizeBytes: stream.SizeBytes ?? 0,
        StreamViewType: stream.StreamViewType as NonNullable<DynamoDBRecord['dynamodb']>['StreamViewType'],
      },
    };
  }
}

/**
 * DynamoDB Local writes an empty map into a stream image as `{}` where DynamoDB (and so Lambda) sends
 * `{"M":{}}`; without this, unmarshall would reject every capture with empty `answers`.
 */
function repairImage(image: Record<string, unknown>): Record<string, unknown> {
  const repair = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const attribute = value as Record<string, unknown>;
    // The SDK's parse of `{}` may keep the union's members as undefined: look at defined ones only.
    if (Object.values(attribute).every((member) => member === undefined)) return { M: {} };
    if (attribute.M && typeof attribute.M === 'object')
      return { M: repairImage(attribute.M as Record<string, unknown>) };
    if (Array.isArray(attribute.L)) return { L: attribute.L.map(repair) };
    return attribute;
  };
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, repair(value)]));
}
