import { cleanLine, cleanText, normalizeEmail, normalizeName, normalizePhone } from '@leadflow/core';
import fc from 'fast-check';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { CONTROL_OR_LINE_BREAK } from './support';

const E164 = /^\+[1-9]\d{6,14}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL_EXCEPT_TAB_AND_LF = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;
/** The invisible characters issue 7 names: zero-width, bidi marks and controls, joiners aside. */
const INVISIBLE = [
  '\u00ad',
  '\u061c',
  '\u180e',
  '\u200b',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2060',
  '\u2061',
  '\u2062',
  '\u2063',
  '\u2064',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\ufeff',
];
const BIDI_SPAN_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
/** A joiner at an edge or beside a space joins nothing. */
const LONE_JOINER = /(?:^|\s)[\u200C\u200D]|[\u200C\u200D](?:\s|$)/;
const hex = (char: string) => (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');

/** Joiners where they belong: emoji ZWJ sequences, Persian ZWNJ, Indic conjuncts and half forms. */
const JOINED = [
  '👨\u200d👩\u200d👧',
  '🏳\ufe0f\u200d🌈',
  '🧑🏽\u200d💻',
  '❤\ufe0f\u200d🔥',
  '🏴\u200d☠\ufe0f',
  '👩\u200d🦰',
  'می\u200cخواهم',
  'क्\u200cष',
  'क्\u200dष',
  'ශ්\u200dරී ලංකා',
];

/** Text as people and bots actually send it: any code point, weighted towards the awkward ones. */
const messyText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r',
      '\r\n',
      '\u0000',
      '\u0007',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u00a0',
      '\u2028',
      '\u2029',
      '\u3000',
      '\u0301',
      '\u1100',
      '\u1161',
      'e',
      'A',
      '\u200b',
      '\u200c',
      '\u200d',
      '\u200e',
      '\u202e',
      '\u2066',
      '\ufeff',
      '\u00ad',
      '\ufe0f',
      '👨',
      '🌸',
      'ی',
      '्',
      '𠮷',
      ...JOINED,
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 30,
});

/** Letters, combining marks, Hangul jamo and control characters packed tight, to provoke NFC edge cases. */
const composingText = fc.string({
  unit: fc.constantFrom('e', '\u0301', '\u0000', '\u0007', '\u1100', '\u1161', '\n'),
  maxLength: 16,
});

const whitespace = fc.string({
  unit: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u3000'),
  maxLength: 3,
});

describe('cleanLine', () => {
  it('turns line breaks and control runs into single spaces and trims', () => {
    expect(cleanLine('  Kim\r\n  Min\u0000\u0007su\u2028Park\t ')).toBe('Kim Min su Park');
  });

  it('applies NFC so a decomposed name equals the composed one', () => {
    expect(cleanLine('Jose\u0301')).toBe('José');
    expect(cleanLine('\u1100\u1161')).toBe('가');
  });

  it('never returns control characters, line breaks, runs of whitespace or outer whitespace', () => {
    fc.assert(
      fc.property(messyText, (raw) => {
        const line = cleanLine(raw);
        expect(line).not.toMatch(CONTROL_OR_LINE_BREAK);
        expect(line).not.toMatch(/\s\s/);
        expect(line).toBe(line.trim());
      }),
    );
  });

  it('is idempotent and its output is NFC', () => {
    fc.assert(
      fc.property(fc.oneof(messyText, composingText), (raw) => {
        const line = cleanLine(raw);
        expect(cleanLine(line)).toBe(line);
        expect(line.normalize('NFC')).toBe(line);
      }),
      { numRuns: 300 },
    );
  });
});

describe('cleanLine and invisible characters', () => {
  it.each(INVISIBLE.map((char) => [hex(char), char]))('drops U+%s from a line', (_, char) => {
    expect(cleanLine(`Kim${char}Minsu`)).toBe('KimMinsu');
    expect(cleanLine(`${char}Kim ${char} Minsu${char}`)).toBe('Kim Minsu');
  });

  it('drops an override that would show a subject or a name in another order', () => {
    expect(cleanLine('Invoice \u202Efdp.exe')).toBe('Invoice fdp.exe');
    expect(cleanLine('\u2067Kim\u2069 Minsu')).toBe('Kim Minsu');
  });

  it.each(JOINED)('keeps the joiners of %s', (joined) => {
    expect(joined).toMatch(/[\u200C\u200D]/);
    expect(cleanLine(`Mina ${joined}`)).toBe(`Mina ${joined}`);
  });

  it.each([
    ['ad\u200dmin', 'admin'],
    ['Ki\u200cm', 'Kim'],
    ['\u200dKim\u200c', 'Kim'],
    ['🌸\u200d Kim', '🌸 Kim'],
    ['Kim\u200d🌸', 'Kim🌸'],
    ['👨\u200d\u200d👩', '👨👩'],
    ['김\u200c민수', '김민수'],
  ])('drops joiners that join nothing: %j', (raw, expected) => {
    expect(cleanLine(raw)).toBe(expected);
  });

  it.each(['Mina 🌸', '𠮷野家', '🇰🇷 Seoul', '👍🏽 ok', 'สมชาย ใจดี'])(
    'passes %s through unchanged',
    (line) => {
      expect(cleanLine(line)).toBe(line);
    },
  );

  it('composes a letter and its mark once the invisible character between them is gone', () => {
    expect(cleanLine('Jose\u200b\u0301')).toBe('José');
    expect(cleanLine('\u1100\ufeff\u1161')).toBe('가');
  });

  it('never returns an invisible character or a joiner that joins nothing', () => {
    fc.assert(
      fc.property(messyText, (raw) => {
        const line = cleanLine(raw);
        for (const char of INVISIBLE) expect(line).not.toContain(char);
        expect(line).not.toMatch(LONE_JOINER);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves a line without those characters unchanged apart from NFC and whitespace', () => {
    const visible = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 1 })
      .filter(
        (char) =>
          !CONTROL_OR_LINE_BREAK.test(char) &&
          !/[\u200C\u200D]/.test(char) &&
          !INVISIBLE.some((invisible) => char.includes(invisible)),
      );
    const line = fc.string({
      unit: fc.oneof(
        visible,
        fc.constantFrom(...JOINED),
        fc.constantFrom(' ', '  ', '\t', '\u00a0', '\u3000'),
      ),
      maxLength: 12,
    });
    fc.assert(
      fc.property(line, (raw) => {
        expect(cleanLine(raw)).toBe(raw.normalize('NFC').replace(/\s+/g, ' ').trim());
      }),
      { numRuns: 300 },
    );
  });
});

describe('cleanText', () => {
  it('keeps paragraphs, unifies CRLF and CR to LF, drops control characters and trims', () => {
    expect(cleanText('  Hello\r\n\r\nWorld\rBye\u0000\u0007 \t')).toBe('Hello\n\nWorld\nBye');
  });

  it('keeps tabs inside the text', () => {
    expect(cleanText('a\tb')).toBe('a\tb');
  });

  it.each(
    ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'].map((char) => [
      hex(char),
      char,
    ]),
  )('drops the bidi span control U+%s, which could reorder the alert around the message', (_, char) => {
    expect(cleanText(`Total: ${char}0001$\nThanks`)).toBe('Total: 0001$\nThanks');
  });

  it.each(['ราคา\u200bดีมาก', 'שלום\u200f!', 'ok \u200e(123)', ...JOINED])(
    'keeps the zero-width characters and marks a message may need: %j',
    (text) => {
      expect(cleanText(text)).toBe(text);
    },
  );

  it('never returns CR, control characters other than tab and LF, or bidi span controls, and is trimmed', () => {
    fc.assert(
      fc.property(messyText, (raw) => {
        const text = cleanText(raw);
        expect(text).not.toContain('\r');
        expect(text).not.toMatch(CONTROL_EXCEPT_TAB_AND_LF);
        expect(text).not.toMatch(BIDI_SPAN_CONTROLS);
        expect(text).toBe(text.trim());
      }),
    );
  });

  // Documented as "Unicode normalization (NFC)"; the control character is removed after NFC ran,
  // so a letter and its combining mark that it separated end up decomposed.
  it('returns NFC text even when a control character separated a letter from its combining mark', () => {
    expect(cleanText('Jose\u0000\u0301')).toBe('José');
    expect(cleanText('\u1100\u0000\u1161')).toBe('가');
  });

  it('is idempotent and its output is NFC', () => {
    fc.assert(
      fc.property(fc.oneof(messyText, composingText), (raw) => {
        const text = cleanText(raw);
        expect(cleanText(text)).toBe(text);
        expect(text.normalize('NFC')).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('normalizeEmail', () => {
  it('trims, lowercases the domain for the address and everything for the key', () => {
    expect(normalizeEmail(' Kim.MinSu@Example.COM ')).toEqual({
      ok: true,
      value: { address: 'Kim.MinSu@example.com', key: 'kim.minsu@example.com' },
    });
  });

  it('drops a mailto: prefix pasted from a link', () => {
    expect(normalizeEmail('mailto:Sales@Example.com')).toEqual({
      ok: true,
      value: { address: 'Sales@example.com', key: 'sales@example.com' },
    });
  });

  it('converts an internationalized domain to punycode', () => {
    expect(normalizeEmail('info@Bücher.de')).toEqual({
      ok: true,
      value: { address: 'info@xn--bcher-kva.de', key: 'info@xn--bcher-kva.de' },
    });
  });

  it('accepts plus addressing and the other atext characters in the local part', () => {
    const result = normalizeEmail("o'brien+leads_2025@mail.example.co.kr");
    expect(result).toEqual({
      ok: true,
      value: {
        address: "o'brien+leads_2025@mail.example.co.kr",
        key: "o'brien+leads_2025@mail.example.co.kr",
      },
    });
  });

  it.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['no @', 'kim.example.com'],
    ['nothing before @', '@example.com'],
    ['nothing after @', 'kim@'],
    ['two @', 'kim@@example.com'],
    ['@ inside the local part', 'kim@lee@example.com'],
    ['consecutive dots', 'kim..lee@example.com'],
    ['leading dot', '.kim@example.com'],
    ['quoted local part', '"kim lee"@example.com'],
    ['space in the local part', 'kim lee@example.com'],
    ['no dot in the domain', 'kim@localhost'],
    ['one-letter TLD', 'kim@example.c'],
    ['numeric TLD', 'kim@example.123'],
    ['IPv4 literal', 'kim@192.168.0.1'],
    ['bracketed IP literal', 'kim@[192.168.0.1]'],
    ['label starting with a dash', 'kim@-example.com'],
    ['empty label', 'kim@example..com'],
    ['trailing dot', 'kim@example.com.'],
    ['underscore in the domain', 'kim@my_host.com'],
    ['space in the domain', 'kim@exa mple.com'],
    ['two addresses', 'kim@example.com,lee@example.com'],
    ['local part over 64 characters', `${'a'.repeat(65)}@example.com`],
    [
      'address over 254 characters',
      `kim@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(70)}.com`,
    ],
  ])('rejects an impossible address: %s', (_, raw) => {
    const result = normalizeEmail(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe('invalid_email');
  });

  // The domain is read with the WHATWG URL parser, which takes /, ?, #, \ and :port as URL
  // delimiters and percent-decodes the host, so these are accepted and rewritten to another address.
  it.each([
    ['a path after the domain', 'kim@example.com/inbox'],
    ['a query after the domain', 'kim@example.com?subject=hi'],
    ['a fragment after the domain', 'kim@example.com#top'],
    ['a backslash after the domain', 'kim@example.com\\x'],
    ['a port after the domain', 'kim@example.com:25'],
    ['a percent-escape in the domain', 'kim@exam%70le.com'],
  ])('rejects an impossible address instead of rewriting it: %s', (_, raw) => {
    const result = normalizeEmail(raw);
    expect(result).toMatchObject({ ok: false, code: 'invalid_email' });
  });

  // The 254-character limit is checked before the domain is converted to punycode, which can
  // more than double its length.
  it('rejects an address that is over 254 characters once its domain is in punycode', () => {
    const label = '가나다라마바사아자차카타파하거너더러';
    const raw = `kim@${label}.${label}.${label}.${label}.${label}.kr`;
    expect(raw.length).toBeLessThan(254);
    const result = normalizeEmail(raw);
    expect(result).toMatchObject({ ok: false, code: 'invalid_email' });
  });

  it('accepts every RFC 5322 dot-atom address, lowercasing only the domain in the address', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (email) => {
        const at = email.lastIndexOf('@');
        const expected = `${email.slice(0, at)}@${email.slice(at + 1).toLowerCase()}`;
        expect(normalizeEmail(email)).toEqual({
          ok: true,
          value: { address: expected, key: expected.toLowerCase() },
        });
      }),
    );
  });

  it('gives one key to every case and whitespace variation of one address', () => {
    const addressAndVariant = fc
      .emailAddress()
      .chain((address) => fc.tuple(fc.constant(address), fc.mixedCase(fc.constant(address))));
    fc.assert(
      fc.property(addressAndVariant, whitespace, whitespace, ([address, variant], before, after) => {
        const expected = normalizeEmail(address);
        const actual = normalizeEmail(`${before}${variant}${after}`);
        expect(expected.ok).toBe(true);
        expect(actual.ok && expected.ok && actual.value.key).toBe(expected.ok && expected.value.key);
      }),
    );
  });

  it('is idempotent: a normalized address normalizes to itself', () => {
    const emailish = fc.oneof(
      fc.emailAddress(),
      fc.mixedCase(fc.emailAddress()),
      fc.tuple(messyText, fc.emailAddress(), messyText).map(([a, email, b]) => `${a}${email}${b}`),
      fc.tuple(fc.string({ maxLength: 12 }), fc.domain()).map(([local, domain]) => `${local}@${domain}`),
    );
    fc.assert(
      fc.property(emailish, (raw) => {
        const first = normalizeEmail(raw);
        if (!first.ok) return;
        expect(normalizeEmail(first.value.address)).toEqual(first);
        expect(normalizeEmail(first.value.key)).toEqual({
          ok: true,
          value: { address: first.value.key, key: first.value.key },
        });
        expect(first.value.address).not.toMatch(/\s/);
        expect(first.value.address).not.toMatch(CONTROL_OR_LINE_BREAK);
        expect(first.value.address.length).toBeLessThanOrEqual(254);
      }),
    );
  });
});

describe('normalizePhone', () => {
  it.each([
    ['010-1234-5678', 'KR', '+821012345678'],
    ['+82 10-1234-5678', 'KR', '+821012345678'],
    ['02-123-4567', 'KR', '+8221234567'],
    ['081 234 5678', 'TH', '+66812345678'],
    ['+66 81 234 5678', 'TH', '+66812345678'],
    ['02 123 4567', 'TH', '+6621234567'],
    ['+82 10 1234 5678', 'TH', '+821012345678'],
    [' (010) 1234.5678\n', 'KR', '+821012345678'],
  ] as const)('cleans %j on a %s form to %s', (raw, region, expected) => {
    expect(normalizePhone(raw, region)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['empty', ''],
    ['letters', 'call me'],
    ['a vanity number', '1-800-FLOWERS'],
    ['two plus signs', '++821012345678'],
    ['too short', '1234'],
    ['too long', '+82 10 1234 56789'],
    ['all zeros', '000-0000-0000'],
    ['an unassigned country code', '+999 1234567'],
    ['country code 0', '+0 123 4567'],
    ['over 40 characters', `010 ${'1 '.repeat(20)}`],
  ])('rejects an impossible number: %s', (_, raw) => {
    const result = normalizePhone(raw, 'KR');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe('invalid_phone');
  });

  it('does not read a Korean national number as Thai', () => {
    expect(normalizePhone('010-1234-5678', 'TH').ok).toBe(false);
  });

  it.each([
    ['０１０－１２３４－５６７８', 'KR', '+821012345678'],
    ['＋８２　１０－１２３４－５６７８', 'KR', '+821012345678'],
    ['０９０ー１２３４ー５６７８', 'JP', '+819012345678'],
    ['๐๘๑ ๒๓๔ ๕๖๗๘', 'TH', '+66812345678'],
    ['+๖๖ ๘๑ ๒๓๔ ๕๖๗๘', 'KR', '+66812345678'],
    ['٠١٠-١٢٣٤-٥٦٧٨', 'KR', '+821012345678'],
    ['۰۱۰–۱۲۳۴–۵۶۷۸', 'KR', '+821012345678'],
    ['०८१ २३४ ५६७८', 'TH', '+66812345678'],
    ['\u200e+66 81 234 5678\u200f', 'TH', '+66812345678'],
    ['010·1234·5678', 'KR', '+821012345678'],
  ] as const)('reads %j on a %s form as %s', (raw, region, expected) => {
    expect(normalizePhone(raw, region)).toStrictEqual({ ok: true, value: expected });
  });

  it.each([
    ['(+66) 2 123 4567', 'TH', '+6621234567'],
    ['(+66) 2 123 4567', 'KR', '+6621234567'],
    ['(66) 81 234 5678', 'KR', '+66812345678'],
    ['(66) 81 234 5678', 'TH', '+66812345678'],
    ['+(82) 10-1234-5678', 'KR', '+821012345678'],
    ['+(82) 10-1234-5678', 'US', '+821012345678'],
    ['（＋８２）１０－１２３４－５６７８', 'JP', '+821012345678'],
  ] as const)('reads the country code in parentheses of %j on a %s form', (raw, region, expected) => {
    expect(normalizePhone(raw, region)).toStrictEqual({ ok: true, value: expected });
  });

  it.each([
    ['0066 81 234 5678', 'KR', '+66812345678'],
    ['001 66 81 234 5678', 'KR', '+66812345678'],
    ['00700 66 81 234 5678', 'KR', '+66812345678'],
    ['0082 10 1234 5678', 'KR', '+821012345678'],
    ['011 44 20 7946 0958', 'US', '+442079460958'],
    ['00 44 20 7946 0958', 'US', '+442079460958'],
    ['0044 (0)20 7946 0958', 'US', '+442079460958'],
    ['010 82 10 1234 5678', 'JP', '+821012345678'],
    ['001 82 10 1234 5678', 'TH', '+821012345678'],
  ] as const)('reads the international prefix of %j on a %s form', (raw, region, expected) => {
    expect(normalizePhone(raw, region)).toStrictEqual({ ok: true, value: expected });
  });

  it('keeps a valid national reading before reading (CC) as a country code', () => {
    // 212 is Morocco's country code and a New York area code.
    expect(normalizePhone('(212) 736-5000', 'US')).toStrictEqual({ ok: true, value: '+12127365000' });
  });

  it.each([
    ['02-123-4567 ext. 89', 'KR'],
    ['02-123-4567 ext 89', 'KR'],
    ['02-123-4567 EXT.89', 'KR'],
    ['02-123-4567 x89', 'KR'],
    ['02-123-4567 #89', 'KR'],
    ['02-123-4567,89', 'KR'],
    ['02-123-4567;ext=89', 'KR'],
    ['02-123-4567 내선 89', 'KR'],
    ['０２－１２３－４５６７　内線８９', 'KR'],
    ['02-123-4567 (ext. 89)', 'KR'],
  ] as const)('returns the extension of %j apart from the number', (raw, region) => {
    expect(normalizePhone(raw, region)).toStrictEqual({ ok: true, value: '+8221234567', extension: '89' });
  });

  it('reads Thai and Japanese extensions', () => {
    expect(normalizePhone('02 123 4567 ต่อ ๘๙', 'TH')).toStrictEqual({
      ok: true,
      value: '+6621234567',
      extension: '89',
    });
    expect(normalizePhone('03-1234-5678（内線１２３）', 'JP')).toStrictEqual({
      ok: true,
      value: '+81312345678',
      extension: '123',
    });
  });

  it.each([
    ['an extension over 10 digits', '02-123-4567 ext. 12345678901'],
    ['an extension without a number', 'ext. 89'],
    ['an impossible number in fullwidth digits', '０１０－１２３４'],
    ['an impossible number in Thai digits', '๐๘๑ ๒๓๔'],
    ['an impossible number with a valid extension', '1234 ext. 89'],
    ['fullwidth letters', 'ＣＡＬＬ ＭＥ'],
    ['an unassigned country code in parentheses', '(999) 123 4567'],
    ['an absurdly long input', '1'.repeat(10_000)],
    ['a long run of separators', `010${' -'.repeat(100)}12345678`],
  ])('rejects %s', (_, raw) => {
    expect(normalizePhone(raw, 'KR')).toMatchObject({ ok: false, code: 'invalid_phone' });
  });

  const region = fc.constantFrom('KR', 'TH', 'US', 'GB', 'JP', 'DE');
  const phoneish = fc.oneof(
    fc.stringMatching(/^\+?[0-9 ().\-/]{0,24}$/),
    fc.stringMatching(/^(010|\+82 ?10|08[1-9]|\+66 ?8[1-9])[ .-]?\d{3,4}[ .-]?\d{4}$/),
  );

  it('returns only E.164 numbers, which normalize to themselves from any region', () => {
    fc.assert(
      fc.property(phoneish, region, region, (raw, formRegion, otherRegion) => {
        const first = normalizePhone(raw, formRegion);
        if (!first.ok) return;
        expect(first.value).toMatch(E164);
        expect(normalizePhone(first.value, formRegion)).toEqual(first);
        expect(normalizePhone(first.value, otherRegion)).toEqual(first);
      }),
    );
  });

  const separator = fc.constantFrom('', ' ', '-', '.', ' - ', '  ');

  it('gives one E.164 number to every way of writing one Korean mobile number', () => {
    const subscriber = fc
      .stringMatching(/^[2-9]\d{7}$/)
      .filter((digits) => isValidPhoneNumber(`+8210${digits}`));
    const prefix = fc.constantFrom(
      '010',
      '(010)',
      '+82 10',
      '+82-10',
      '+82.10',
      '+8210',
      '+82 (0)10',
      '+82 (10)',
    );
    fc.assert(
      fc.property(subscriber, prefix, separator, separator, whitespace, (digits, start, sep1, sep2, pad) => {
        const written = `${pad}${start}${sep1}${digits.slice(0, 4)}${sep2}${digits.slice(4)}${pad}`;
        expect(normalizePhone(written, 'KR')).toEqual({ ok: true, value: `+8210${digits}` });
      }),
    );
  });

  it('gives one E.164 number to every way of writing one Thai mobile number', () => {
    const national = fc.stringMatching(/^[689]\d{8}$/).filter((digits) => isValidPhoneNumber(`+66${digits}`));
    const trunk = fc.constantFrom('0', '+66 ', '+66-', '+66', '+66 (0)');
    fc.assert(
      fc.property(
        national,
        trunk,
        fc.boolean(),
        separator,
        separator,
        whitespace,
        (digits, start, parens, sep1, sep2, pad) => {
          const area = parens && start === '0' ? `(0${digits.slice(0, 2)})` : `${start}${digits.slice(0, 2)}`;
          const written = `${pad}${area}${sep1}${digits.slice(2, 5)}${sep2}${digits.slice(5)}${pad}`;
          expect(normalizePhone(written, 'TH')).toEqual({ ok: true, value: `+66${digits}` });
        },
      ),
    );
  });
});

describe('normalizeName', () => {
  it('keeps one line with inner whitespace collapsed', () => {
    expect(normalizeName('  Kim \r\n  Minsu ')).toEqual({ ok: true, value: 'Kim Minsu' });
  });

  it.each(['김민수', 'สมชาย ใจดี', "Siobhán O'Brien", 'José-María'])('accepts %s', (name) => {
    expect(normalizeName(name)).toEqual({ ok: true, value: name });
  });

  it('rejects an empty name as required', () => {
    expect(normalizeName(' \n\t ')).toMatchObject({ ok: false, code: 'required' });
  });

  it('rejects a name over 200 characters', () => {
    expect(normalizeName('a'.repeat(200)).ok).toBe(true);
    expect(normalizeName('a'.repeat(201))).toMatchObject({ ok: false, code: 'too_long' });
  });

  it('rejects a name without a single letter', () => {
    expect(normalizeName('12345 !!!')).toMatchObject({ ok: false, code: 'invalid_name' });
  });

  it('returns a single clean line for any input it accepts', () => {
    fc.assert(
      fc.property(messyText, (raw) => {
        const result = normalizeName(raw);
        if (!result.ok) return;
        expect(result.value).not.toMatch(CONTROL_OR_LINE_BREAK);
        expect(result.value.length).toBeGreaterThan(0);
        expect(result.value.length).toBeLessThanOrEqual(200);
        expect(normalizeName(result.value)).toEqual(result);
      }),
    );
  });
});
