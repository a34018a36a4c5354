import { type CaptureEvent, sha256 } from '@leadflow/core';
import type { IngestDeps, StoreInput } from './deps';

/** Providers retry for up to 7 days (WhatsApp); a redelivery inside this window is recognised. */
export const NATURAL_KEY_WINDOW_SECONDS = 7 * 24 * 60 * 60;

/**
 * The idempotency of a provider delivery: its natural key (CallSid, MessageSid, wamid,
 * update_id, Message-ID), scoped by channel, so a retried delivery stores and queues nothing new.
 */
export function naturalKey(
  channel: CaptureEvent['channel'],
  externalId: string,
): Omit<StoreInput, 'capture'> {
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
  deps: IngestDeps,
  capture: CaptureEvent,
  key: Omit<StoreInput, 'capture'>,
  source: string,
): Promise<{ capture: CaptureEvent; replay: boolean }> {
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
