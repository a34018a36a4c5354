import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * The console's session: the access token itself (Cognito's, or the local issuer's) in an `HttpOnly`,
 * `Secure`, `SameSite=Lax` cookie scoped to `/console`, verified on every request by the API's own
 * authenticator. Since a cookie now carries authority, every state-changing request must also come from
 * this origin (`Origin`) and carry the session's CSRF token, which is derived from the session token (a
 * page can show it; no other site can read the cookie to compute it).
 */

export const SESSION_COOKIE = 'lf_session';
export const LANGUAGE_COOKIE = 'lf_lang';
/** The sign-in's state, PKCE verifier and return path, between `/console/login` and `/console/callback`. */
export const SIGN_IN_COOKIE = 'lf_signin';

export const CONSOLE_PATH = '/console';
export const CALLBACK_PATH = '/console/callback';
export const INBOX_PATH = '/console/leads';
export const LOGIN_PATH = '/console/login';
export const SIGNED_OUT_PATH = '/console/signed-out';

/** The cookie outlives the token, so an ended session is told apart from none (and returns to its page). */
const SESSION_MAX_AGE_SECONDS = 12 * 3600;
const SIGN_IN_MAX_AGE_SECONDS = 600;
const YEAR_SECONDS = 365 * 24 * 3600;

/** The field every console form posts its CSRF token in. */
export const CSRF_FIELD = 'csrf';

const base = { httpOnly: true, secure: true, sameSite: 'Lax' } as const;

export function readSession(c: Context): string | undefined {
  const token = getCookie(c, SESSION_COOKIE);
  return token && token.length <= 8192 ? token : undefined;
}

export function startSession(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { ...base, path: CONSOLE_PATH, maxAge: SESSION_MAX_AGE_SECONDS });
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { ...base, path: CONSOLE_PATH });
}

export function readLanguageChoice(c: Context): string | undefined {
  return getCookie(c, LANGUAGE_COOKIE);
}

export function chooseLanguageCookie(c: Context, language: string): void {
  setCookie(c, LANGUAGE_COOKIE, language, { ...base, path: CONSOLE_PATH, maxAge: YEAR_SECONDS });
}

export interface SignInState {
  /** `state`: the callback must bring this back. */
  readonly state: string;
  /** The PKCE code verifier. */
  readonly verifier: string;
  /** Where to go once signed in (a console path). */
  readonly next: string;
}

export function rememberSignIn(c: Context, value: SignInState): void {
  const encoded = Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  setCookie(c, SIGN_IN_COOKIE, encoded, { ...base, path: CALLBACK_PATH, maxAge: SIGN_IN_MAX_AGE_SECONDS });
}

export function recallSignIn(c: Context): SignInState | undefined {
  const encoded = getCookie(c, SIGN_IN_COOKIE);
  deleteCookie(c, SIGN_IN_COOKIE, { ...base, path: CALLBACK_PATH });
  if (!encoded || encoded.length > 4096) return undefined;
  try {
    const value = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<SignInState>;
    if (typeof value.state !== 'string' || typeof value.verifier !== 'string') return undefined;
    return { state: value.state, verifier: value.verifier, next: safeNext(value.next) };
  } catch {
    return undefined;
  }
}

/** The session's CSRF token: a hash of its token, so it needs no storage and dies with the session. */
export function csrfToken(sessionToken: string): string {
  return createHash('sha256').update(`leadflow-console-csrf\u0000${sessionToken}`).digest('base64url');
}

/** Compares secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Whether a state-changing request comes from this console's own pages: its `Origin` is the configured
 * public origin, or the origin the request was sent to. A browser always sends `Origin` on a form post or
 * fetch (the pages' `Referrer-Policy: same-origin` keeps it), and no other site can make it ours.
 */
export function fromOwnOrigin(c: Context, publicBaseUrl: string | undefined): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return false;
  const allowed = new Set<string>([new URL(c.req.url).origin]);
  if (publicBaseUrl) allowed.add(new URL(publicBaseUrl).origin);
  return allowed.has(origin);
}

/**
 * Where to return to after sign-in: a console path of this origin (`/console/…`, with its query), never an
 * absolute, protocol-relative or backslashed URL, and never the sign-in pages themselves; else the inbox.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 2000 || !next.startsWith('/console/')) return INBOX_PATH;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\\\u0000-\u001f\u007f]/.test(next) || next.startsWith('//')) return INBOX_PATH;
  let url: URL;
  try {
    url = new URL(next, 'http://console.invalid');
  } catch {
    return INBOX_PATH;
  }
  if (url.origin !== 'http://console.invalid' || !url.pathname.startsWith('/console/')) return INBOX_PATH;
  if ([LOGIN_PATH, CALLBACK_PATH, SIGNED_OUT_PATH, '/console/logout'].includes(url.pathname)) {
    return INBOX_PATH;
  }
  return `${url.pathname}${url.search}`;
}

/** The sign-in page's address that returns to `next` afterwards. */
export function loginUrl(next: string, expired = false): string {
  const query = new URLSearchParams({ next: safeNext(next) });
  if (expired) query.set('expired', '1');
  return `${LOGIN_PATH}?${query}`;
}
