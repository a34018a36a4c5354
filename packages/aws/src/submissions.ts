import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type CaptureEvent, IdempotencyKeyReuseError } from '@leadflow/core';
import { counterItem, dayOf, submissionItem } from './items';

/** Raw submissions are kept this long as the durable inbox behind every lead. */
const RETENTION_SECONDS = 90 * 24 * 60 * 60;

export interface SubmissionToStore {
  /** Hash of the Idempotency-Key (or of the content, for key-less double submits). */
  readonly idempotencyHash: string;
  /** Hash of the request, to refuse a reused key carrying another body. */
  readonly requestHash: string;
  /** How long a retry with the same key returns the first answer. */
  readonly windowSeconds: number;
  readonly capture: CaptureEvent;
}

export interface StoredSubmission {
  readonly capture: CaptureEvent;
  /** True when this request repeated an earlier one, whose capture is returned. */
  readonly replay: boolean;
}

/** Durable, idempotent store of accepted submissions: the door's write. */
export class SubmissionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores the submission unless one with the same idempotency hash is still inside its window;
   * then returns that one, so a retry gets the first answer and creates nothing new.
   */
  async store(input: SubmissionToStore, now: Date = new Date()): Promise<StoredSubmission> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          ...submissionItem.put(
            input.idempotencyHash,
            {
              type: 'submission',
              submissionId: input.capture.submissionId,
              requestHash: input.requestHash,
              channel: input.capture.channel,
              sourceId: input.capture.sourceId,
              capture: input.capture,
              windowEndsAt: nowSeconds + input.windowSeconds,
              ttl: nowSeconds + RETENTION_SECONDS,
            },
            nowSeconds,
          ),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { capture: input.capture, replay: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || !error.Item) throw error;
      const previous = error.Item as { requestHash?: { S?: string }; capture?: unknown };
      if (previous.requestHash?.S !== input.requestHash) {
        throw new IdempotencyKeyReuseError(
          'This Idempotency-Key was already used with a different request.',
          [],
          {
            cause: error,
          },
        );
      }
      const item = unmarshall(error.Item) as { capture: CaptureEvent };
      return { capture: item.capture, replay: true };
    }
  }

  /** Counts honeypot hits per form and day; they are never stored or routed. */
  async countSpam(formId: string, now: Date = new Date()): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        ...counterItem.spam(formId, dayOf(now.toISOString())),
      }),
    );
  }
}
