import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { minuteWindow } from '@leadflow/core';
import { counterItem, dayOf, rateWindowItem } from './items';

export interface RateLimitCheck {
  readonly scope: string;
  readonly client: string;
  readonly limit: number;
}

/**
 * Per-client fixed-window limits shared by every container: one conditional counter per client,
 * scope and minute, so a flood spread over many Lambda instances is counted once. The window items
 * expire through TTL (only storage: a late deletion never lets anyone through, the window key moves on).
 */
export class RateLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Counts this request; refused (and not counted) once the window already holds `limit`. */
  async check(
    input: RateLimitCheck,
    now: Date = new Date(),
  ): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
    const window = minuteWindow(now);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          ...rateWindowItem.hit(input.scope, input.client, window.start, input.limit),
        }),
      );
      return { allowed: true, retryAfterSeconds: 0 };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { allowed: false, retryAfterSeconds: window.retryAfterSeconds };
      }
      throw error;
    }
  }

  /** Counts a refused request per form or widget and day, beside the honeypot count. */
  async countRefused(
    endpoint: { kind: 'form' | 'chat'; id: string },
    reason: string,
    now: Date = new Date(),
  ): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        ...counterItem.refused(endpoint, reason, dayOf(now.toISOString())),
      }),
    );
  }
}
