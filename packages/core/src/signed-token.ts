import { createHmac, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

/**
 * The compact signed tokens of the links leadflow mails out (the alert's action links, the unsubscribe
 * links): `<payload>.<mac>`, both base64url without padding, the payload a small JSON object, the MAC an
 * HMAC-SHA256 over a per-purpose domain and the payload. The domain keeps one purpose's token from ever
 * passing as another's, though they share the link key.
 */

/** The link key's least length. */
export const LINK_KEY_MIN_LENGTH = 32;

/** base64url of a 32-byte HMAC-SHA256, without padding. */
const MAC_LENGTH = 43;

export interface TokenKind {
  /** The MAC's domain, e.g. `leadflow/action-link/v1.`. */
  readonly domain: string;
  /** The longest payload accepted (base64url characters). */
  readonly maxPayload: number;
}

export type OpenedToken<T> =
  | { readonly ok: true; readonly payload: T }
  | { readonly ok: false; readonly reason: 'tampered' | 'malformed' };

function macOf(kind: TokenKind, payload: string, key: string): string {
  return createHmac('sha256', key).update(kind.domain).update(payload).digest('base64url');
}

function checkKey(key: string): void {
  if (key.length < LINK_KEY_MIN_LENGTH) {
    throw new RangeError(`The link key needs at least ${LINK_KEY_MIN_LENGTH} characters`);
  }
}

/** Signs a wire payload as a token of `kind`. */
export function signToken(kind: TokenKind, wire: unknown, key: string): string {
  checkKey(key);
  const payload = Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
  return `${payload}.${macOf(kind, payload, key)}`;
}

/**
 * Opens a token of `kind`: `malformed` when it is not shaped like one, `tampered` when its MAC is not ours
 * (compared in constant time, as text, so a non-canonical base64url spelling of the right bytes is refused
 * too); only a payload whose MAC holds is parsed, with `schema`.
 */
export function openToken<S extends z.ZodType>(
  kind: TokenKind,
  token: string,
  key: string,
  schema: S,
): OpenedToken<z.infer<S>> {
  checkKey(key);
  const shape = new RegExp(`^[A-Za-z0-9_-]{1,${kind.maxPayload}}\\.[A-Za-z0-9_-]{${MAC_LENGTH}}$`);
  if (token.length > kind.maxPayload + 1 + MAC_LENGTH || !shape.test(token)) {
    return { ok: false, reason: 'malformed' };
  }
  const dot = token.indexOf('.');
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'ascii');
  const expected = Buffer.from(macOf(kind, payload, key), 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'tampered' };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, payload: parsed.data } : { ok: false, reason: 'malformed' };
}
