import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type QueueDefinition, type QueueKey, queues, type TableDefinition } from '@leadflow/aws/resources';

/** CreateTable input built from the shared definition: the local twin of the CDK table. */
export function createTableInput(
  definition: TableDefinition,
  tableName = definition.localName,
): CreateTableCommandInput {
  const attributes = new Map<string, string>();
  const add = (key: { name: string; type: string }) => attributes.set(key.name, key.type);
  add(definition.partitionKey);
  add(definition.sortKey);
  for (const index of definition.globalSecondaryIndexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType: AttributeType as 'S' | 'N',
    })),
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: definition.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream },
  };
}

/**
 * Creates the table (if missing) and turns on TTL and the stream, as the stack does; returns the
 * stream's ARN.
 */
export async function provisionTable(
  client: DynamoDBClient,
  definition: TableDefinition,
  tableName: string,
): Promise<string> {
  try {
    await client.send(new CreateTableCommand(createTableInput(definition, tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (Table?.LatestStreamArn && Table.StreamSpecification?.StreamEnabled) return Table.LatestStreamArn;
  // A table kept in a data folder from before the stream existed: turn it on.
  const updated = await client.send(
    new UpdateTableCommand({
      TableName: tableName,
      StreamSpecification: { StreamEnabled: true, StreamViewType: definition.stream },
    }),
  );
  const arn = updated.TableDescription?.LatestStreamArn;
  if (!arn) throw new Error(`Table ${tableName} has no stream`);
  return arn;
}

/** Queue attributes built from the shared definition (the CDK sets the same ones). */
export function queueAttributes(definition: QueueDefinition, deadLetterArn?: string): Record<string, string> {
  const fifo: Record<string, string> = definition.fifo
    ? { FifoQueue: 'true', ContentBasedDeduplication: String(definition.contentBasedDeduplication) }
    : {};
  return {
    ...fifo,
    VisibilityTimeout: String(definition.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(definition.retentionSeconds),
    ReceiveMessageWaitTimeSeconds: String(definition.receiveWaitTimeSeconds),
    ...(deadLetterArn
      ? {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: deadLetterArn,
            maxReceiveCount: definition.deadLetter.maxReceiveCount,
          }),
        }
      : {}),
  };
}

export interface ProvisionedQueue {
  readonly url: string;
  readonly arn: string;
  readonly deadLetterUrl: string;
}

/** Creates every queue with its DLQ and redrive policy; `prefix` isolates parallel test runs. */
export async function provisionQueues(
  sqs: SQSClient,
  prefix = '',
): Promise<Record<QueueKey, ProvisionedQueue>> {
  const result = {} as Record<QueueKey, ProvisionedQueue>;
  for (const [key, definition] of Object.entries(queues) as [QueueKey, QueueDefinition][]) {
    const dlq = await createQueue(sqs, `${prefix}${definition.deadLetter.localName}`, {
      ...(definition.fifo ? { FifoQueue: 'true' } : {}),
      MessageRetentionPeriod: String(definition.deadLetter.retentionSeconds),
    });
    const queue = await createQueue(
      sqs,
      `${prefix}${definition.localName}`,
      queueAttributes(definition, dlq.arn),
    );
    result[key] = { url: queue.url, arn: queue.arn, deadLetterUrl: dlq.url };
  }
  return result;
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`No ARN for queue ${name}`);
  return { url: QueueUrl, arn };
}

export { DynamoDBClient };
