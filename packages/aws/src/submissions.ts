import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { type CaptureEvent, IdempotencyKeyReuseError } from '@leadflow/core';
import { counterItem, dayOf, privacyKeys, submissionItem } from './items';

const DAY_SECONDS = 24 * 60 * 60;

/** How long raw submissions are kept when the function is not told (`RAW_PAYLOAD_RETENTION_DAYS`). */
export const DEFAULT_RAW_PAYLOAD_RETENTION_DAYS = 30;

export interface SubmissionStoreOptions {
  /**
   * Days a raw submission (the provider's payload as captured) is kept before DynamoDB's TTL removes it; never
   * less than the submission's idempotency window, so a retry inside the window is still recognised.
   */
  readonly retentionDays?: number;
}

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
  private readonly retentionSeconds: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: SubmissionStoreOptions = {},
  ) {
    this.retentionSeconds = (options.retentionDays ?? DEFAULT_RAW_PAYLOAD_RETENTION_DAYS) * DAY_SECONDS;
  }

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
              // Raw provider payloads are personal data: kept for the retention period, and at least as long as
              // the idempotency window (a provider's 7-day redelivery must still find it). The outbox ignores
              // TTL deletions (REMOVE); the duplicate check reads `windowEndsAt`, never the TTL.
              ttl: nowSeconds + Math.max(this.retentionSeconds, input.windowSeconds),
              // Found by its capture's id when the contact is exported or erased.
              ...privacyKeys.submissionRef(input.capture.submissionId),
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
