import { type CountryCode, parsePhoneNumberWithError } from 'libphonenumber-js/max';

// Control characters (C0, DEL, C1) never belong in a lead's text and break headers and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to match them
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to match them
const LINE_BREAKS_AND_CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;

// Bidi embeddings, overrides and isolates reorder everything up to their terminator, or to the end of
// whatever the text is pasted into when it has none (Trojan Source, CVE-2021-42574).
const BIDI_SPAN = /[\u202A-\u202E\u2066-\u2069]/g;

// Characters that draw nothing but can reorder or hide what a line shows, which lets a name or a subject
// pass for another in an alert: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
// space, LRM and RLM, the bidi span controls, word joiner and invisible operators, BOM.
const INVISIBLE = /[\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

// Letters of the scripts that ZWNJ and ZWJ shape: the joining scripts (Persian "می‌خواهم") and the Brahmic
// ones, where a joiner after a virama picks a half form or a conjunct (Sinhala "ශ්‍රී"). The letter, not a
// mark, decides: a mark shared by several scripts would otherwise make a Latin base look like one of them.
const SHAPED_LETTER = String.raw`[[\p{scx=Arabic}\p{scx=Syriac}\p{scx=Nko}\p{scx=Mongolian}\p{scx=Devanagari}\p{scx=Bengali}\p{scx=Gurmukhi}\p{scx=Gujarati}\p{scx=Oriya}\p{scx=Tamil}\p{scx=Telugu}\p{scx=Kannada}\p{scx=Malayalam}\p{scx=Sinhala}\p{scx=Tibetan}\p{scx=Myanmar}\p{scx=Khmer}]&&\p{L}]`;
// A pictograph with its skin tone, emoji presentation selector or flag tags, before a ZWJ that makes one
// picture of it and the next (👨‍👩‍👧, 🏳️‍🌈).
const PICTOGRAPH = String.raw`\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F\u{E0020}-\u{E007F}]*`;
// Each joiner is kept where it joins (group 1) and dropped anywhere else, where it only hides a difference.
const JOINER = new RegExp(
  String.raw`((?<=${PICTOGRAPH})\u200D(?=\p{Extended_Pictographic})|(?<=${SHAPED_LETTER}\p{M}*)[\u200C\u200D](?=${SHAPED_LETTER}))|[\u200C\u200D]`,
  'gv',
);

/**
 * Trims, drops control characters and bidi span controls, unifies line endings and Unicode
 * normalization (NFC).
 */
export function cleanText(value: string): string {
  // A message is read, not matched, so zero-width characters and LRM/RLM stay: Thai uses ZWSP as a word
  // break and RTL writers place marks on purpose. The span controls go (see BIDI_SPAN): an unterminated
  // one reorders the alert around the message. Controls go first: one between a letter and its combining
  // mark would otherwise block composition.
  return value.replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(BIDI_SPAN, '').normalize('NFC').trim();
}

/**
 * Cuts text to at most `max` characters without splitting one: by code points, so an emoji at the
 * edge is kept or dropped whole, never left as half a surrogate pair (which renders as U+FFFD). A cut
 * text ends with `marker` (e.g. `…`), counted in `max`.
 */
export function clip(text: string, max: number, marker = ''): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - Array.from(marker).length).join('')}${marker}`;
}

/**
 * A single-line value (names, subjects): any line break or control run becomes one space, invisible
 * formatting characters are dropped (joiners kept only inside emoji and the scripts that need them), NFC.
 */
export function cleanLine(value: string): string {
  // Invisible characters go before NFC, like controls in cleanText, so they cannot block composition.
  return value
    .replace(INVISIBLE, '')
    .replace(JOINER, (_, kept: string | undefined) => kept ?? '')
    .replace(LINE_BREAKS_AND_CONTROL, ' ')
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim();
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

/** A phone in E.164, and the extension typed after it (digits only), which is no part of the number. */
export type NormalizedPhone =
  | { ok: true; value: string; extension?: string }
  | { ok: false; code: string; message: string };

// Longer input is refused before any Unicode work or parsing; the number part keeps the old 40.
const MAX_PHONE_INPUT = 120;
const MAX_PHONE_NUMBER = 40;
const MAX_EXTENSION = 10;

const DECIMAL_DIGIT = /\p{Nd}/gu;
const IS_DECIMAL_DIGIT = /^\p{Nd}$/u;
// What people type between digit groups once NFKC has run: dashes, the minus sign, middle dots and the
// Japanese long vowel mark an IME puts in for a dash (０９０ー…).
const GROUP_SEPARATOR = /[\u00B7\u2010-\u2015\u2212\u30FB\u30FC]/g;
const EXTENSION_MARK = String.raw`(?:[,;]\s*)?(?:ext(?:ension|n)?\.?|x\.?|#|내선(?:\s*번호)?|ต่อ|内線)|[,;]+`;
// The extension at the end, bare (`ext. 89`, `#89`, `,89` as a dialer pause, `;ext=89`) or in
// parentheses as Japanese forms write it (`（内線89）`).
const EXTENSION = new RegExp(
  String.raw`^(.*?)\s*(?:\(\s*(?:${EXTENSION_MARK})\s*[:=]?\s*(\d+)\s*\)|(?:${EXTENSION_MARK})\s*[:=]?\s*(\d+))$`,
  'iu',
);
// A leading + (possibly inside or before a parenthesis), then digits and the separators libphonenumber reads.
const PHONE_NUMBER = /^(?:\+\s*|\(\s*\+\s*)?[\d\s().\-/]+$/;
// A country code in parentheses without its +, as in `(66) 81 234 5678`.
const BRACKETED_COUNTRY_CODE = /^\(\s*([1-9]\d{0,2})\s*\)(.*)$/;
// 00 in front, inside a parenthesis or not: the international prefix of most of the world.
const LEADING_00 = /^(\(?\s*)00/;

/**
 * Normalizes a phone number to E.164 using the form's default region for national formats. Accepts
 * fullwidth forms and any script's decimal digits, a country code in parentheses, `00` or the region's
 * own international prefix, and an extension (`ext.`, `x`, `#`, `,`, `내선`, `ต่อ`, `内線`), returned apart.
 */
export function normalizePhone(raw: string, defaultRegion: CountryCode): NormalizedPhone {
  const invalid = (message: string) => ({ ok: false as const, code: 'invalid_phone', message });
  if (raw.length > MAX_PHONE_INPUT) return invalid(`Phone is longer than ${MAX_PHONE_INPUT} characters.`);
  // NFKC turns fullwidth digits and ＋（）－ into ASCII; asciiDigits does the same for every other script.
  const value = asciiDigits(cleanLine(raw).normalize('NFKC')).replace(GROUP_SEPARATOR, '-');
  if (value.length === 0) return invalid('Phone is empty.');
  const split = EXTENSION.exec(value);
  const number = (split?.[1] ?? value).trim();
  const extension = split?.[2] ?? split?.[3];
  if (number === '') return invalid('Phone has an extension but no number.');
  if (extension !== undefined && extension.length > MAX_EXTENSION) {
    return invalid(`The extension is longer than ${MAX_EXTENSION} digits.`);
  }
  if (number.length > MAX_PHONE_NUMBER || !PHONE_NUMBER.test(number)) {
    return invalid('Phone may contain only digits, spaces, + ( ) - . / and an extension.');
  }
  for (const reading of phoneReadings(number)) {
    const e164 = validPhone(reading, defaultRegion);
    if (e164 === undefined) continue;
    return extension === undefined ? { ok: true, value: e164 } : { ok: true, value: e164, extension };
  }
  return invalid('This is not a valid phone number.');
}

/**
 * The ways to read a number, in order: as libphonenumber reads it for the region (which knows national
 * formats, `+CC (0)…` and the region's own international prefixes such as 011 or Korea's 001/00700), then
 * a bare `(CC)` as a country code, then a leading `00` as `+`, for a visitor on a form whose region dials
 * out with another prefix (`00 44…` on a US form) or where it starts a longer prefix (Korea's 006).
 * A fallback only counts when it gives a valid number, so a valid national reading always wins.
 */
function phoneReadings(number: string): string[] {
  const readings = [number];
  const bracketed = BRACKETED_COUNTRY_CODE.exec(number);
  if (bracketed) readings.push(`+${bracketed[1]} ${bracketed[2]}`);
  if (LEADING_00.test(number)) readings.push(number.replace(LEADING_00, '$1+'));
  return readings;
}

function validPhone(number: string, defaultRegion: CountryCode): string | undefined {
  try {
    const phone = parsePhoneNumberWithError(number, { defaultCountry: defaultRegion });
    return phone.isValid() ? phone.number : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces every Unicode decimal digit (Thai ๘, Arabic-Indic ٨, Devanagari ८…) by its ASCII digit. */
function asciiDigits(value: string): string {
  return value.replace(DECIMAL_DIGIT, (digit) => {
    const codePoint = digit.codePointAt(0) ?? 0;
    if (codePoint <= 0x39) return digit;
    // Unicode encodes decimal digits only in runs of ten from zero, so the value is the offset in the run.
    let zero = codePoint;
    while (IS_DECIMAL_DIGIT.test(String.fromCodePoint(zero - 1))) zero--;
    return String((codePoint - zero) % 10);
  });
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
