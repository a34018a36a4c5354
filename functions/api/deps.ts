import type { DataContext } from '@leadflow/aws';
import type { Viewer } from '@leadflow/core';

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
  /** Called once per answered request, for logs and metrics (never with PII). */
  readonly observe?: (event: { route: string; status: number; error?: string }) => void;
}

export type ApiEnv = { Variables: { viewer: Viewer } };
