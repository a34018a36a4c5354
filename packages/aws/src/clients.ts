import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Endpoints are never set here: the SDK reads AWS_ENDPOINT_URL_DYNAMODB / _SQS / _SESV2 from the
// environment, which the local runtime sets and Lambda does not. One place decides, as config.

/** A DynamoDB client; call once at module scope. */
export function createDynamoClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

/** A DynamoDB document client that drops undefined attributes instead of failing on them. */
export function createDocumentClient(client: DynamoDBClient = createDynamoClient()): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/**
 * An SQS client that sends to its configured endpoint rather than a queue URL's host: on AWS they
 * agree, and locally the emulator's queue URLs name a host that need not resolve.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({ useQueueUrlAsEndpoint: false });
}

export function createSesClient(): SESv2Client {
  return new SESv2Client({});
}
