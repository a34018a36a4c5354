import type { ChannelSecrets } from '@leadflow/aws';
import type { CaptchaConfig, CaptchaVerdict, LeadflowConfig } from '@leadflow/core';
import type { DoorDeps } from '@leadflow/door';
import type { Context } from 'hono';

export type { StoreInput } from '@leadflow/door';

/** What the ingest routes need from the outside world; injected so tests and local runs share them. */
export interface IngestDeps extends DoorDeps {
  readonly config: LeadflowConfig;
  readonly countSpam: (formId: string) => Promise<void>;
  readonly newId: () => string;
  readonly clock?: () => Date;
  /** Provider secrets; a channel whose secret is missing answers 404, as if it did not exist. */
  readonly secrets?: ChannelSecrets;
  /** The public base URL providers call (Twilio signs the full URL), e.g. https://api.example.com. */
  readonly publicBaseUrl?: string;
  /**
   * The client's address as the platform saw it: the socket locally, API Gateway's
   * `requestContext.http.sourceIp` on AWS. Never a header the client controls.
   */
  readonly clientAddress?: (c: Context) => string | undefined;
  /** Default requests per minute per client address per form or widget; 0 or unset: no limit. */
  readonly rateLimitPerClient?: number;
  /** Counts one request of `client` against `scope`'s per-minute window; false when over `limit`. */
  readonly rateLimit?: (input: RateLimitInput) => Promise<RateLimitResult>;
  /** Verifies a CAPTCHA token with the provider's siteverify API. */
  readonly verifyCaptcha?: (input: CaptchaCheck) => Promise<CaptchaVerdict>;
  /** Counts a refused request per form (or widget) and day: `rate_limited`, `captcha_failed`… */
  readonly countRefused?: (endpoint: PublicEndpoint, reason: string) => Promise<void>;
  /** Request headers named here (lowercase, e.g. `x-forwarded-host`) are trusted from a proxy we run. */
  readonly trustedProxyHeaders?: readonly string[];
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

export interface RateLimitInput {
  /** What is limited, e.g. `form:demo-contact` or `chat:site-chat`. */
  readonly scope: string;
  /** The client key: an IPv4 address or an IPv6 /64 prefix. */
  readonly client: string;
  /** Requests allowed per minute. */
  readonly limit: number;
}

export interface RateLimitResult {
  readonly allowed: boolean;
  /** Seconds until the window that refused this request ends. */
  readonly retryAfterSeconds: number;
}

export interface CaptchaCheck {
  readonly captcha: CaptchaConfig;
  readonly secret: string;
  readonly token: string;
  readonly remoteIp?: string | undefined;
  /** Turnstile: the same verification retried (a double submit) gets the same answer. */
  readonly idempotencyKey?: string | undefined;
}

/** A public endpoint anyone may post to: a form or a chat widget. */
export interface PublicEndpoint {
  readonly kind: 'form' | 'chat';
  readonly id: string;
}
