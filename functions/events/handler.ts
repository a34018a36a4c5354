import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  createDocumentClient,
  createSqsClient,
  DeliveryTargets,
  enqueueDeliveries,
  fanOut,
  loadChannelSecrets,
  readEnv,
  readLeadSnapshot,
  tableConfigSource,
} from '@leadflow/aws';
import { domainEventSource, matchesKeyFilters } from '@leadflow/aws/resources';
import middy from '@middy/core';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../../config';

const logger = new Logger({ serviceName: 'events' });
const metrics = new Metrics({ serviceName: 'events' });
const settings = readEnv(['tableName', 'deliveriesQueueUrl', 'leadLinkBaseUrl', 'configCacheSeconds']);
const doc = createDocumentClient();
const sqs = createSqsClient();
// The teams' Slack and Teams webhook URLs, read once per container.
const secrets = await loadChannelSecrets();
const targets = new DeliveryTargets(doc, settings.tableName, { ttlSeconds: settings.configCacheSeconds });
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) =>
    logger.warn('Configuration not read; serving the last good one', { serving, error }),
});
const processor = new BatchProcessor(EventType.DynamoDBStreams);
const eventNames: readonly string[] = domainEventSource.eventNames;

const deps = {
  targets: () => targets.current(),
  readLead: (leadId: string) => readLeadSnapshot(doc, settings.tableName, leadId),
  secrets,
  config: () => configSource.current(),
  leadLinkBaseUrl: settings.leadLinkBaseUrl,
  now: () => new Date(),
};

/**
 * Queues the deliveries of one committed timeline or audit entry. A throw (the lead or the queue could not
 * be reached) fails this record: Lambda retries from it, then describes it in the on-failure queue. Delivery
 * ids are stable, so a retried record's deliveries are recognised as sent by the deliverer.
 */
export async function recordHandler(record: DynamoDBRecord): Promise<void> {
  const keys = record.dynamodb?.Keys;
  if (!record.eventName || !eventNames.includes(record.eventName)) return;
  if (!matchesKeyFilters(domainEventSource.keyFilters, keys?.pk?.S, keys?.sk?.S)) return;
  const image = record.dynamodb?.NewImage;
  if (!image) throw new Error(`Stream record ${record.eventID ?? ''} has no NewImage`);
  const item = unmarshall(image as Record<string, AttributeValue>);
  const { events, deliveries } = await fanOut(item, deps);
  if (deliveries.length > 0) {
    await enqueueDeliveries(
      sqs,
      settings.deliveriesQueueUrl,
      deliveries.map((message) => ({ message })),
    );
  }
  for (const event of events) {
    metrics.addMetric('DomainEvents', MetricUnit.Count, 1);
    logger.debug('Domain event', { eventId: event.id, type: event.type });
  }
  if (deliveries.length > 0) metrics.addMetric('DeliveriesQueued', MetricUnit.Count, deliveries.length);
}

export const handler = middy(async (event: DynamoDBStreamEvent, context: Context) => {
  // Every batch counts its records, so the function's metrics are never empty (and say how busy it is).
  metrics.addMetric('Events_Records', MetricUnit.Count, event.Records.length);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
