import {
  type CaptureEvent,
  captureInboundEmail,
  type EmailChannelSource,
  type IgnoredReason,
} from '@leadflow/core';
import { naturalKey, type StoreInput } from '@leadflow/door';
import type { SesRecord } from './event';

/** What receiving one message needs from the outside world; injected so tests and local runs share it. */
export interface InboundEmailDeps {
  /** `channels.email` from the configuration; without it no message can be routed. */
  readonly source: EmailChannelSource | undefined;
  /** The raw MIME the receipt rule stored for this SES message id. */
  readonly readRaw: (sesMessageId: string) => Promise<Uint8Array>;
  readonly store: (input: StoreInput) => Promise<{ capture: CaptureEvent; replay: boolean }>;
  readonly enqueue: (capture: CaptureEvent) => Promise<void>;
  readonly newId: () => string;
  readonly clock?: () => Date;
  /** Called once per message, for metrics and PII-free logs. */
  readonly observe?: (event: ReceivedEmail) => void;
}

export type ReceivedEmail = { readonly sesMessageId: string } & (
  | { readonly outcome: 'accepted' | 'replay'; readonly submissionId: string }
  | { readonly outcome: 'spam' | 'virus'; readonly verdict: string }
  | { readonly outcome: 'ignored'; readonly reason: IgnoredReason }
);

/**
 * Receives one message from the SES receipt rule: drops what SES judged spam or a virus, reads the raw
 * MIME from S3, ignores auto-replies and bounces, and stores then queues the capture, idempotently by
 * Message-ID so a retried invocation adds nothing. Any failure throws, for Lambda to retry.
 */
export async function receiveEmail(deps: InboundEmailDeps, record: SesRecord): Promise<ReceivedEmail> {
  const { mail, receipt } = record.ses;
  const report = (event: ReceivedEmail) => {
    deps.observe?.(event);
    return event;
  };
  const sesMessageId = mail.messageId;
  if (receipt.virusVerdict.status === 'FAIL') {
    return report({ sesMessageId, outcome: 'virus', verdict: receipt.virusVerdict.status });
  }
  if (receipt.spamVerdict.status === 'FAIL') {
    return report({ sesMessageId, outcome: 'spam', verdict: receipt.spamVerdict.status });
  }
  if (!deps.source) {
    throw new Error('Inbound email is not configured: add channels.email to config/leadflow.json');
  }

  const outcome = await captureInboundEmail(await deps.readRaw(sesMessageId), {
    source: deps.source,
    submissionId: deps.newId(),
    receivedAt: (deps.clock ?? (() => new Date()))(),
    recipients: receipt.recipients,
    deliveryId: sesMessageId,
    dmarcVerdict: receipt.dmarcVerdict.status,
  });
  if (outcome.kind === 'ignored') return report({ sesMessageId, outcome: 'ignored', reason: outcome.reason });

  const capture = outcome.event;
  // Mirrors acceptCapture: store first, then queue; a replay re-queues the stored capture, which
  // completes a first attempt that died between the two, and FIFO dedup drops it otherwise.
  // Message-ID is chosen by the sender: scoped by the sender's address, another sender reusing an id
  // cannot make a different message look like a redelivery.
  const key = `${capture.contact.emailKey ?? ''}\n${capture.externalId ?? sesMessageId}`;
  const stored = await deps.store({ ...naturalKey('email', key), capture });
  await deps.enqueue(stored.capture);
  return report({
    sesMessageId,
    outcome: stored.replay ? 'replay' : 'accepted',
    submissionId: stored.capture.submissionId,
  });
}
