import { createHash, randomBytes } from 'node:crypto';
import { UnauthorizedError } from '@leadflow/core';
import { z } from 'zod';

/**
 * Cognito managed login for the console: the OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256)
 * for the stack's public app client, with plain `fetch`. `/console/login` sends the browser to the hosted
 * domain's `/oauth2/authorize`; `/console/callback` exchanges the code at `/oauth2/token` and keeps the
 * access token, which the API's authenticator verifies like any bearer token.
 */

export interface HostedLogin {
  /** The hosted domain, e.g. `https://leadflow.auth.eu-west-1.amazoncognito.com` (AUTH_DOMAIN_URL). */
  readonly domainUrl: string;
  /** The public app client (AUTH_CLIENT_ID); it has no secret. */
  readonly clientId: string;
  /** `<public base>/console/callback`: registered on the app client as a callback URL. */
  readonly redirectUri: string;
  /** Where Cognito's sign-out returns (`<public base>/console/signed-out`, a registered sign-out URL). */
  readonly logoutUri: string;
  /** The HTTP client; tests pass one that reaches a fake token endpoint. */
  readonly fetch?: typeof fetch;
}

export interface Pkce {
  readonly verifier: string;
  readonly challenge: string;
}

/** A fresh PKCE pair: 32 random bytes as the verifier, its SHA-256 as the S256 challenge. */
export function newPkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A fresh `state`, checked against the callback's. */
export function newState(): string {
  return randomBytes(24).toString('base64url');
}

const trim = (url: string) => url.replace(/\/+$/, '');

/** The hosted sign-in's address for one attempt. */
export function authorizeUrl(login: HostedLogin, attempt: { state: string; challenge: string }): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: login.clientId,
    redirect_uri: login.redirectUri,
    scope: 'openid email profile',
    state: attempt.state,
    code_challenge: attempt.challenge,
    code_challenge_method: 'S256',
  });
  return `${trim(login.domainUrl)}/oauth2/authorize?${query}`;
}

/** The hosted sign-out, which ends Cognito's own session too and returns to the console's signed-out page. */
export function logoutUrl(login: HostedLogin): string {
  const query = new URLSearchParams({ client_id: login.clientId, logout_uri: login.logoutUri });
  return `${trim(login.domainUrl)}/logout?${query}`;
}

const tokenResponse = z.object({
  access_token: z.string().min(1).max(8192),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
});

/** The console's origin of the hosted domain, for the pages' `form-action` (sign-out is a form post). */
export function hostedOrigin(login: HostedLogin | undefined): string | undefined {
  return login ? new URL(login.domainUrl).origin : undefined;
}

/**
 * Exchanges an authorization code (with its PKCE verifier) for tokens at `/oauth2/token`, and returns the
 * access token. A refused code, a network failure or an unexpected answer is an `UnauthorizedError`
 * (the page offers to sign in again), never the token endpoint's own words.
 */
export async function exchangeCode(login: HostedLogin, code: string, verifier: string): Promise<string> {
  const send = login.fetch ?? fetch;
  let response: Response;
  try {
    response = await send(`${trim(login.domainUrl)}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: login.clientId,
        code,
        redirect_uri: login.redirectUri,
        code_verifier: verifier,
      }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new UnauthorizedError('The sign-in service could not be reached.', [], { cause: error });
  }
  if (!response.ok) throw new UnauthorizedError(`The sign-in service refused the code (${response.status}).`);
  const parsed = tokenResponse.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new UnauthorizedError('The sign-in service answered without an access token.');
  return parsed.data.access_token;
}
