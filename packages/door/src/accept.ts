import { type CaptureEvent, sha256 } from '@leadflow/core';

/** One durable, idempotent write of a capture: the key a retried delivery is recognised by, and the capture. */
export interface StoreInput {
  readonly idempotencyHash: string;
  readonly requestHash: string;
  readonly windowSeconds: number;
  readonly capture: CaptureEvent;
}

/** The idempotency part of a write: what `naturalKey` (or a form's request hash) decides. */
export type CaptureKey = Omit<StoreInput, 'capture'>;

/** The capture that now stands for a write; on a replay, the one stored first. */
export interface StoredCapture {
  readonly capture: CaptureEvent;
  readonly replay: boolean;
}

/** Durably stores the capture (idempotently) and returns the capture that now stands for it. */
export type StoreCapture = (input: StoreInput) => Promise<StoredCapture>;

/** Queues a stored capture for the router. */
export type EnqueueCapture = (capture: CaptureEvent) => Promise<void>;

/** What the door reports for each capture it took in; 202 is the answer every channel gives it. */
export interface AcceptedCapture {
  readonly outcome: 'accepted' | 'replay';
  /** The form id, or the channel route (`twilio`, `meta`, …). */
  readonly source: string;
  readonly submissionId: string;
  readonly status: 202;
}

/** What the door needs from the outside world; a channel's own dependencies extend it. */
export interface DoorDeps {
  readonly store: StoreCapture;
  readonly enqueue: EnqueueCapture;
  /** Called once per accepted capture, for metrics and PII-free logs. */
  readonly observe?: (event: AcceptedCapture) => void;
}

/** Providers retry for up to 7 days (WhatsApp); a redelivery inside this window is recognised. */
export const NATURAL_KEY_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/**
 * The idempotency of a provider delivery: its natural key (CallSid, MessageSid, wamid,
 * update_id, Message-ID), scoped by channel, so a retried delivery stores and queues nothing new.
 */
export function naturalKey(channel: CaptureEvent['channel'], externalId: string): CaptureKey {
  return {
    idempotencyHash: sha256(`natural\n${channel}\n${externalId}`),
    requestHash: sha256(`natural\n${externalId}`),
    windowSeconds: NATURAL_KEY_WINDOW_SECONDS,
  };
}

/**
 * The door's one write path for every channel: store the capture durably and idempotently, then queue
 * it. A replay re-queues the stored capture, which completes a first attempt that died between the two;
 * FIFO deduplication and the router's idempotency drop the copy otherwise.
 */
export async function acceptCapture(
  deps: DoorDeps,
  capture: CaptureEvent,
  key: CaptureKey,
  source: string,
): Promise<StoredCapture> {
  const stored = await deps.store({ ...key, capture });
  await deps.enqueue(stored.capture);
  deps.observe?.({
    outcome: stored.replay ? 'replay' : 'accepted',
    source,
    submissionId: stored.capture.submissionId,
    status: 202,
  });
  return stored;
}
