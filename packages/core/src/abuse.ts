import { isIPv6 } from 'node:net';

/**
 * The key a client is limited by: an IPv4 address as it is, an IPv6 address by its /64 prefix (one
 * subscriber, one home or one cloud VM usually holds a whole /64, so per-address limits on IPv6 are
 * trivially dodged). IPv4-mapped IPv6 (`::ffff:192.0.2.1`, what a dual-stack socket reports) is IPv4.
 * Undefined when there is no usable address.
 */
export function clientKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const value = address
    .trim()
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped) return mapped[1];
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(value)) return value;
  if (!isIPv6(value)) return undefined;
  return `${expandIPv6(value).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros. */
function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  let left = groups(head);
  let right = tail === undefined ? [] : groups(tail);
  // A trailing dotted IPv4 part counts as two groups.
  const toHex = (parts: string[]) =>
    parts.flatMap((part) => {
      if (!part.includes('.')) return [part];
      const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  left = toHex(left);
  right = toHex(right);
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) =>
    Number.parseInt(group, 16).toString(16),
  );
}

/** A fixed one-minute window: the window's start (epoch seconds) and the seconds until it ends. */
export function minuteWindow(now: Date): { start: number; retryAfterSeconds: number } {
  const seconds = Math.floor(now.getTime() / 1000);
  const start = seconds - (seconds % 60);
  return { start, retryAfterSeconds: Math.max(1, start + 60 - seconds) };
}

/** Mail providers where dots in the local part are ignored: `j.doe@gmail.com` is `jdoe@gmail.com`. */
const DOTLESS_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/**
 * The mailbox an address really delivers to, for "one acknowledgement per mailbox": case folded,
 * `+tag` subaddresses dropped (RFC 5233, honoured by Gmail, Outlook, Fastmail, Proton…), and
 * Gmail's ignored dots removed. `Victim+1@Example.com` and `victim+2@example.com` are one mailbox.
 */
export function mailboxKey(address: string): { mailbox: string; domain: string } {
  const at = address.lastIndexOf('@');
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  let local = address.slice(0, at).toLowerCase();
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  const canonicalDomain = domain === 'googlemail.com' ? 'gmail.com' : domain;
  if (DOTLESS_DOMAINS.has(domain)) local = local.replace(/\./g, '');
  return { mailbox: `${local}@${canonicalDomain}`, domain: canonicalDomain };
}

/** At most one acknowledgement per mailbox in this long. */
export const ACKNOWLEDGEMENT_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** The UTC hour an instant falls in, `2026-12-01T23`: the window of the per-domain cap. */
export function hourOf(now: Date): string {
  return now.toISOString().slice(0, 13);
}
