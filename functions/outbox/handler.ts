import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createSqsClient, enqueueCapture, readEnv } from '@leadflow/aws';
import { matchesKeyFilters, streamEventSource } from '@leadflow/aws/resources';
import { type CaptureEvent, captureEventSchema } from '@leadflow/core';
import middy from '@middy/core';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

const logger = new Logger({ serviceName: 'outbox' });
const metrics = new Metrics({ serviceName: 'outbox' });
const settings = readEnv(['leadsQueueUrl']);
const sqs = createSqsClient();
const processor = new BatchProcessor(EventType.DynamoDBStreams);

const eventNames: readonly string[] = streamEventSource.eventNames;

/**
 * The capture a stream record carries, or undefined for records the outbox does not handle (removals,
 * items other than submissions). The event source filters these out already; this is the second check.
 * A submission without a valid capture throws: it is retried, then described in the on-failure queue.
 */
export function captureOf(record: DynamoDBRecord): CaptureEvent | undefined {
  if (!record.eventName || !eventNames.includes(record.eventName)) return undefined;
  const keys = record.dynamodb?.Keys;
  if (!matchesKeyFilters(streamEventSource.keyFilters, keys?.pk?.S, keys?.sk?.S)) return undefined;
  const image = record.dynamodb?.NewImage;
  if (!image) throw new Error(`Stream record ${record.eventID ?? ''} has no NewImage`);
  const item = unmarshall(image as Record<string, AttributeValue>) as { capture?: unknown };
  return captureEventSchema.parse(item.capture);
}

/** Queues one stored submission; a throw marks this record failed, so Lambda retries from it. */
export async function recordHandler(record: DynamoDBRecord): Promise<void> {
  const capture = captureOf(record);
  if (!capture) return;
  // Same dedupe id as ingest's send: SQS FIFO drops this copy if that send went through.
  await enqueueCapture(sqs, settings.leadsQueueUrl, capture);
  metrics.addMetric('SubmissionsRequeued', MetricUnit.Count, 1);
  logger.debug('Submission re-queued', { submissionId: capture.submissionId, channel: capture.channel });
}

export const handler = middy(async (event: DynamoDBStreamEvent, context: Context) => {
  // Every batch counts its records, so the function's metrics are never empty (and say how busy it is).
  metrics.addMetric('Outbox_Records', MetricUnit.Count, event.Records.length);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
