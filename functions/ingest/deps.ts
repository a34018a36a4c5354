import type { ChannelSecrets } from '@leadflow/aws';
import type { CaptureEvent, LeadflowConfig } from '@leadflow/core';

export interface StoreInput {
  readonly idempotencyHash: string;
  readonly requestHash: string;
  readonly windowSeconds: number;
  readonly capture: CaptureEvent;
}

/** What the ingest routes need from the outside world; injected so tests and local runs share them. */
export interface IngestDeps {
  readonly config: LeadflowConfig;
  /** Durably stores the capture (idempotently) and returns the capture that now stands for it. */
  readonly store: (input: StoreInput) => Promise<{ capture: CaptureEvent; replay: boolean }>;
  readonly enqueue: (capture: CaptureEvent) => Promise<void>;
  readonly countSpam: (formId: string) => Promise<void>;
  readonly newId: () => string;
  readonly clock?: () => Date;
  /** Provider secrets; a channel whose secret is missing answers 404, as if it did not exist. */
  readonly secrets?: ChannelSecrets;
  /** The public base URL providers call (Twilio signs the full URL), e.g. https://api.example.com. */
  readonly publicBaseUrl?: string;
  /** Called once per outcome, for metrics and PII-free logs. */
  readonly observe?: (event: IngestOutcome) => void;
}

export interface IngestOutcome {
  readonly outcome: string;
  /** The form id, or the channel route (`twilio`, `meta`, …). */
  readonly source: string;
  readonly status: number;
  readonly submissionId?: string;
  /** For 5xx answers: the unexpected error's name and message (infrastructure errors carry no lead data). */
  readonly error?: string;
}
