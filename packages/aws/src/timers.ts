import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  scaledDelay,
  type TimerMessage,
  type TimerRequest,
  timerDelaySeconds,
  timerMessageSchema,
  toMessageBody,
} from '@leadflow/core';

/** SQS takes at most ten messages per batch call. */
const BATCH = 10;

/** Schedules timers; what the repositories and the router are given (tests pass a recording fake). */
export interface TimerScheduler {
  /** Sends each timer to fire at its `dueAt` (or at once when that has passed). */
  schedule(timers: readonly TimerRequest[]): Promise<void>;
  /** The factor on every SLA, escalation and reminder delay (SLA_TIME_SCALE; 1 in production). */
  readonly timeScale: number;
}

/**
 * The timers queue: each timer is a message delayed until its due time, at most 900 s at once
 * (`DelaySeconds`); the timer function sends a message that is still early once more with the rest of its
 * delay (`resend`). Ordinary standard-queue messages: a duplicate is possible, so every handler re-reads
 * what the timer is about before acting.
 */
export class TimerQueue implements TimerScheduler {
  readonly timeScale: number;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    options: { timeScale?: number | undefined; clock?: () => Date } = {},
  ) {
    this.timeScale = options.timeScale ?? 1;
    this.clock = options.clock ?? (() => new Date());
  }

  private readonly clock: () => Date;

  /** A delay from now under the time scale, as a due time. */
  dueIn(ms: number, from: Date = this.clock()): string {
    return new Date(from.getTime() + scaledDelay(ms, this.timeScale)).toISOString();
  }

  async schedule(timers: readonly TimerRequest[]): Promise<void> {
    await this.send(timers.map((timer) => timerMessageSchema.parse({ ...timer, hops: 0 })));
  }

  /** Sends a timer that fired early once more, for the rest of its wait. */
  async resend(timer: TimerMessage): Promise<void> {
    await this.send([{ ...timer, hops: timer.hops + 1 }]);
  }

  private async send(timers: readonly TimerMessage[]): Promise<void> {
    const now = this.clock();
    for (let start = 0; start < timers.length; start += BATCH) {
      const chunk = timers.slice(start, start + BATCH);
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((timer, index) => ({
            Id: String(index),
            MessageBody: toMessageBody(timer),
            DelaySeconds: timerDelaySeconds(timer.dueAt, now),
            MessageAttributes: { kind: { DataType: 'String', StringValue: timer.kind } },
          })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        const codes = result.Failed.map((entry) => entry.Code).join(', ');
        throw new Error(`Could not schedule ${result.Failed.length} timer(s): ${codes}`);
      }
    }
  }
}
