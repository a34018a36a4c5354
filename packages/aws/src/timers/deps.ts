import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LeadflowConfig, Notification } from '@leadflow/core';
import type { TimerScheduler } from '../timers';

/** What the timer kinds act with: injected clients, the runtime configuration, the clock. */
export interface TimerDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly config: () => Promise<LeadflowConfig>;
  readonly enqueueNotifications: (notifications: readonly Notification[]) => Promise<void>;
  /** Where the next step's timer goes; its `timeScale` shrinks every delay in local runs and tests. */
  readonly timers: TimerScheduler;
  readonly clock: () => Date;
}
