import type { DataContext } from '@leadflow/aws';
import type { DeliveryMessage, Viewer } from '@leadflow/core';
import type { HostedLogin } from './console/hosted-login';

/** What the managers' API is built from: the data context and the token check. */
export interface ApiDeps {
  readonly data: DataContext;
  /**
   * The viewer a request's `Authorization` header stands for. Throws `UnauthorizedError` (no token, or an
   * expired, tampered or foreign one) or `RoleForbiddenError` (a valid token without a role here).
   */
  readonly authenticate: (authorization: string | undefined) => Promise<Viewer>;
  /**
   * The API's public base URL (PUBLIC_BASE_URL, e.g. https://api.example.com), for absolute links and
   * commands on HTML pages. Never taken from a request's `Host` or `X-Forwarded-*` headers; without it the
   * pages link relatively.
   */
  readonly publicBaseUrl?: string;
  /**
   * The key that signs the alert's action links (LINK_SECRET, or the Secrets Manager secret on AWS), to
   * check them at `/a/{token}`; without it those pages say links are not available here.
   */
  readonly linkKey?: string;
  /**
   * Outbound webhooks: where a replayed dead letter is queued, and whether plain `http://localhost` URLs are
   * accepted (local runs only). Without it, subscriptions take https only and replays answer 409.
   */
  readonly deliveries?: {
    readonly enqueue: (messages: readonly DeliveryMessage[]) => Promise<void>;
    readonly allowLoopbackUrls: boolean;
  };
  /**
   * The managers' console's sign-in on AWS: Cognito managed login (authorization code with PKCE) for the
   * stack's app client. Without it (and without `localSignIn`), `/console/login` answers 404.
   */
  readonly hostedLogin?: HostedLogin;
  /**
   * The local sign-in: `/console/login` lists the seeded users and signs one in with the local issuer. Only
   * `local/system.ts` sets it (`npm start`, tests); a deployed stack never does, so there the page is 404.
   */
  readonly localSignIn?: {
    readonly users: readonly { readonly username: string; readonly label: string }[];
    /** An access token for a seeded user, verified by `authenticate` like any other. */
    readonly signIn: (username: string) => Promise<string>;
  };
  /** Called once per answered request, for logs and metrics (never with PII). */
  readonly observe?: (event: { route: string; status: number; error?: string }) => void;
}

export type ApiEnv = { Variables: { viewer: Viewer } };
