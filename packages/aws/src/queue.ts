import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type CaptureEvent, messageGroupId, type Notification, toMessageBody } from '@leadflow/core';

/** Puts a capture on the leads FIFO queue, grouped by person and deduplicated by submission id. */
export async function enqueueCapture(sqs: SQSClient, queueUrl: string, capture: CaptureEvent): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: toMessageBody(capture),
      MessageGroupId: messageGroupId(capture.contact, capture.handles, capture.conversationId),
      MessageDeduplicationId: capture.submissionId,
      MessageAttributes: { channel: { DataType: 'String', StringValue: capture.channel } },
    }),
  );
}

/** Queues notifications in one batch call; throws if any entry failed so the caller retries. */
export async function enqueueNotifications(
  sqs: SQSClient,
  queueUrl: string,
  notifications: readonly Notification[],
): Promise<void> {
  if (notifications.length === 0) return;
  const result = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: notifications.map((notification, index) => ({
        Id: String(index),
        MessageBody: toMessageBody(notification),
        MessageAttributes: { kind: { DataType: 'String', StringValue: notification.kind } },
      })),
    }),
  );
  if (result.Failed && result.Failed.length > 0) {
    const codes = result.Failed.map((entry) => entry.Code).join(', ');
    throw new Error(`Could not queue ${result.Failed.length} notification(s): ${codes}`);
  }
}
