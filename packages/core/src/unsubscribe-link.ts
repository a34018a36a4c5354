import { z } from 'zod';
import { openToken, signToken, type TokenKind } from './signed-token';
import { type Language, languageSchema } from './vocabulary';

/**
 * The one-click unsubscribe link of subscription mail (RFC 8058): `<base>/u/<token>`, the token naming the
 * contact and nothing else (no address, no name: a URL ends up in logs and mail scanners), HMAC-SHA256-signed
 * with the link key under its own domain, so neither an action link nor any other token signed with that key
 * is ever an unsubscribe token (nor the other way round).
 *
 * Wire form: `<payload>.<mac>`, both base64url without padding; the payload is `{"c":contactId}`, the
 * language its page is shown in (`"l"`), and, when the link should stop working, `"e":<epoch seconds>`. Unsubscribe links normally never expire: a person
 * may open a months-old mail, and mailbox providers keep the header's URL.
 */

const KIND: TokenKind = { domain: 'leadflow/unsubscribe/v1.', maxPayload: 256 };

const wireSchema = z.strictObject({
  c: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$/),
  l: languageSchema.optional(),
  e: z.number().int().positive().optional(),
});

/** Who a valid token unsubscribes. */
export interface UnsubscribeLink {
  readonly contactId: string;
  /** The language of its pages (the lead's). */
  readonly language?: Language | undefined;
  /** Epoch seconds it stops working at, if ever. */
  readonly exp?: number | undefined;
}

export type UnsubscribeLinkCheck =
  | { readonly ok: true; readonly link: UnsubscribeLink }
  | { readonly ok: false; readonly reason: 'expired' | 'tampered' | 'malformed' };

/** The token of a contact's unsubscribe link, signed with `key`. */
export function signUnsubscribeLink(link: UnsubscribeLink, key: string): string {
  const wire = wireSchema.parse({
    c: link.contactId,
    ...(link.language === undefined ? {} : { l: link.language }),
    ...(link.exp === undefined ? {} : { e: link.exp }),
  });
  return signToken(KIND, wire, key);
}

/**
 * Checks a token: `malformed` when it is not shaped like one, `tampered` when its MAC is not ours
 * (constant-time), `expired` from its `e` on; only a token whose MAC holds is parsed.
 */
export function verifyUnsubscribeLink(token: string, key: string, now: Date): UnsubscribeLinkCheck {
  const opened = openToken(KIND, token, key, wireSchema);
  if (!opened.ok) return opened;
  const { c, l, e } = opened.payload;
  if (e !== undefined && now.getTime() >= e * 1000) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    link: {
      contactId: c,
      ...(l === undefined ? {} : { language: l }),
      ...(e === undefined ? {} : { exp: e }),
    },
  };
}

/** The URL of an unsubscribe link: `<base>/u/<token>`. */
export function unsubscribeUrl(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/u/${token}`;
}

/**
 * The two headers of subscription mail (RFC 2369, RFC 8058): the HTTPS link, and the one-click POST that
 * mailbox providers send to it. RFC 8058 wants both covered by the DKIM signature: check the `h=` tag of a
 * real send's `DKIM-Signature` when setting up the domain.
 */
export function listUnsubscribeHeaders(url: string): { name: string; value: string }[] {
  return [
    { name: 'List-Unsubscribe', value: `<${url}>` },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
  ];
}

/** The body RFC 8058 one-click unsubscribes POST. */
export const ONE_CLICK_BODY = { name: 'List-Unsubscribe', value: 'One-Click' } as const;
