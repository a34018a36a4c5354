import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';

// Control characters (C0, DEL, C1) never belong in a lead's text and break headers and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to match them
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to match them
const LINE_BREAKS_AND_CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;

/** Trims, drops control characters, unifies line endings and Unicode normalization (NFC). */
export function cleanText(value: string): string {
  // Controls go first: one between a letter and its combining mark would otherwise block composition.
  return value.replace(/\r\n?/g, '\n').replace(CONTROL, '').normalize('NFC').trim();
}

/** A single-line value (names, subjects): any line break or control run becomes one space. */
export function cleanLine(value: string): string {
  return value.replace(LINE_BREAKS_AND_CONTROL, ' ').normalize('NFC').replace(/\s+/g, ' ').trim();
}

export type Normalized<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

// A pragmatic address grammar: what mail systems deliver to, not the full RFC 5322 comment syntax.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalizes an email address: trimmed, domain lowercased (IDN to punycode), and the whole
 * address lowercased as the identity key, as major CRMs match emails case-insensitively.
 */
export function normalizeEmail(raw: string): Normalized<{ address: string; key: string }> {
  const value = cleanLine(raw).replace(/^mailto:/i, '');
  const invalid = (message: string) => ({ ok: false as const, code: 'invalid_email', message });
  if (value.length === 0) return invalid('Email is empty.');
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return invalid('Email must look like name@example.com.');
  const local = value.slice(0, at);
  if (local.length > 64 || !LOCAL_PART.test(local)) return invalid('The part before @ is not valid.');
  const rawDomain = value.slice(at + 1);
  // Letters (any script, for IDNs), digits, dots and dashes only: the URL parser below would otherwise
  // read `/ ? # : %` as the end of a host or an escape and quietly rewrite the address.
  if (!/^[\p{L}\p{M}\p{N}.-]+$/u.test(rawDomain)) return invalid('The domain of the email is not valid.');
  let domain: string;
  try {
    domain = new URL(`http://${rawDomain}`).hostname;
  } catch {
    return invalid('The domain of the email is not valid.');
  }
  const labels = domain.split('.');
  const tld = labels.at(-1) ?? '';
  if (
    labels.length < 2 ||
    !labels.every((label) => DOMAIN_LABEL.test(label)) ||
    !/^(xn--)?[a-z0-9]{2,}$/.test(tld) ||
    /^\d+$/.test(tld)
  ) {
    return invalid('The domain of the email is not valid.');
  }
  const address = `${local}@${domain}`;
  if (address.length > 254) return invalid('Email is longer than 254 characters.');
  return { ok: true, value: { address, key: address.toLowerCase() } };
}

/** Normalizes a phone number to E.164 using the form's default region for national formats. */
export function normalizePhone(raw: string, defaultRegion: CountryCode): Normalized<string> {
  const value = cleanLine(raw);
  const invalid = (message: string) => ({ ok: false as const, code: 'invalid_phone', message });
  if (value.length === 0) return invalid('Phone is empty.');
  if (value.length > 40 || !/^\+?[\d\s().\-/]+((ext\.?|x|#)\s*\d{1,6})?$/i.test(value)) {
    return invalid('Phone may contain only digits, spaces and + ( ) - . /');
  }
  try {
    const phone = parsePhoneNumberWithError(value, { defaultCountry: defaultRegion });
    if (!phone.isValid()) return invalid('This is not a valid phone number.');
    return { ok: true, value: phone.number };
  } catch {
    return invalid('This is not a valid phone number.');
  }
}

/** Normalizes a person's name: one line, inner whitespace collapsed, at most 200 characters. */
export function normalizeName(raw: string): Normalized<string> {
  const value = cleanLine(raw);
  if (value.length === 0) return { ok: false, code: 'required', message: 'Name is empty.' };
  if (value.length > 200)
    return { ok: false, code: 'too_long', message: 'Name is longer than 200 characters.' };
  if (!/\p{L}/u.test(value))
    return { ok: false, code: 'invalid_name', message: 'Name must contain letters.' };
  return { ok: true, value };
}
