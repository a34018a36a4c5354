import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LeadflowConfig, Notification } from '@leadflow/core';
import type { ConfigStore } from '../config-store';
import type { ObjectStore } from '../objects';
import type { TimerScheduler } from '../timers';

/**
 * What the managers' repositories are built from: injected clients and the runtime configuration. Every
 * repository method is also given the `Viewer`, and reaches only what that viewer may see.
 */
export interface DataContext {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  /** The runtime configuration (teams, managers, rules), as routing reads it (cached for seconds). */
  readonly config: () => Promise<LeadflowConfig>;
  /** The versioned configuration store (admin changes). */
  readonly configStore: ConfigStore;
  /** Raw inbound mail (export and erase reach it); absent where the function has no bucket. */
  readonly rawMail?: ObjectStore | undefined;
  /** Queues notifications for the notifier (a reassigned lead's alert). */
  readonly enqueueNotifications: (notifications: readonly Notification[]) => Promise<void>;
  readonly clock: () => Date;
  readonly newId: () => string;
  /**
   * The timers queue: a reassigned lead's new SLA clock, a task's reminder and overdue timers. Without it
   * (the admin command, some tests) no clock or reminder is started.
   */
  readonly timers?: TimerScheduler | undefined;
}

/** Who did something, as the timeline and the audit trail record it (never an email or a phone). */
export function actorOf(viewer: {
  readonly managerId?: string | undefined;
  readonly username: string;
}): string {
  return viewer.managerId ?? viewer.username;
}
