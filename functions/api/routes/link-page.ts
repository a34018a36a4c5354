import { createHash } from 'node:crypto';

/**
 * The headers of the small pages the mailed links open (the alert's action links, the unsubscribe links):
 * no script at all; the page's one inline stylesheet allowed by its hash; the only form posts back to this
 * origin; never cached, indexed or framed, and no referrer to carry the token on.
 */
export function linkPageHeaders(style: string) {
  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
    "img-src 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return {
    csp,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-robots-tag': 'noindex, nofollow',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
    },
  } as const;
}
