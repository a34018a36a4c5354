import { normalizePhone } from '@leadflow/core';
import fc from 'fast-check';
import { getExampleNumber, isValidPhoneNumber, parsePhoneNumberWithError } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { describe, expect, it } from 'vitest';

const REGIONS = ['KR', 'TH', 'JP', 'US', 'GB', 'DE'] as const;
type Region = (typeof REGIONS)[number];

/** A fixed line per region, beside libphonenumber's own mobile example. */
const FIXED_LINES: Record<Region, string> = {
  KR: '+8221234567',
  TH: '+6621234567',
  JP: '+81312345678',
  US: '+12125550123',
  GB: '+442079460958',
  DE: '+4930123456',
};

/** How a visitor on a form of each region dials out, as their phone company prints it. */
const DIAL_OUT: Record<Region, readonly string[]> = {
  KR: ['001', '002', '005', '006', '008', '00700'],
  TH: ['001', '007', '008', '009'],
  JP: ['010'],
  US: ['011'],
  GB: ['00'],
  DE: ['00'],
};

interface PhoneNumber {
  readonly region: Region;
  readonly e164: string;
  readonly countryCode: string;
  /** The national significant number: no country code, no trunk prefix. */
  readonly significant: string;
  /** As dialled at home, trunk prefix included (`01012345678`, `2125550123`). */
  readonly national: string;
}

function describeNumber(e164: string): PhoneNumber {
  const phone = parsePhoneNumberWithError(e164);
  return {
    region: phone.country as Region,
    e164: phone.number,
    countryCode: phone.countryCallingCode,
    significant: phone.nationalNumber,
    national: phone.formatNational().replace(/\D/g, ''),
  };
}

/** Valid numbers of every region: the mobile example or a fixed line with its last four digits redrawn. */
const validNumber = fc
  .tuple(fc.constantFrom(...REGIONS), fc.boolean(), fc.integer({ min: 0, max: 9_999 }))
  .map(([region, mobile, last]) => {
    const seed = mobile
      ? (getExampleNumber(region, examples)?.number ?? FIXED_LINES[region])
      : FIXED_LINES[region];
    return `${seed.slice(0, -4)}${String(last).padStart(4, '0')}`;
  })
  .filter((e164) => isValidPhoneNumber(e164))
  .map(describeNumber);

const SEPARATORS = ['', ' ', '-', '.', '/', ' - ', '·', '–', '‐', '\u00a0', 'ー'];

/** Digits cut into groups of two to four, with any separators between them. */
const grouping = fc.record({
  sizes: fc.array(fc.integer({ min: 2, max: 4 }), { minLength: 1, maxLength: 4 }),
  separators: fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 3 }),
});
type Grouping = { sizes: number[]; separators: string[] };

function group(digits: string, { sizes, separators }: Grouping): string {
  const groups: string[] = [];
  for (let at = 0, index = 0; at < digits.length; index++) {
    const size = sizes[index % sizes.length] ?? 3;
    groups.push(digits.slice(at, at + size));
    at += size;
  }
  return groups.reduce((written, part, index) => `${written}${separators[index % separators.length]}${part}`);
}

/** libphonenumber's own reading of a text on a form of this region, when it is a valid number. */
function libraryReading(text: string, region: Region): string | undefined {
  try {
    // Our separators it does not know are spaces to it.
    const spaced = text.replace(/[·–‐ー\u00a0]/g, ' ');
    const phone = parsePhoneNumberWithError(spaced, { defaultCountry: region });
    return phone.isValid() ? phone.number : undefined;
  } catch {
    return undefined;
  }
}

interface Style {
  readonly name: string;
  /** National styles only make sense on a form of the number's own region. */
  readonly home?: boolean;
  /** The text a visitor types, or undefined where the style is ambiguous and the rule is "national first". */
  write(number: PhoneNumber, form: Region, groups: Grouping, dialOut: number): string | undefined;
}

const STYLES: readonly Style[] = [
  { name: 'national with separators', home: true, write: (n, _, g) => group(n.national, g) },
  {
    name: 'national with the area code in parentheses',
    home: true,
    write: (n, _, g) => {
      const area = n.national.slice(0, 3);
      return `(${area}) ${group(n.national.slice(3), g)}`;
    },
  },
  { name: '+CC', write: (n, _, g) => `+${n.countryCode} ${group(n.significant, g)}` },
  { name: '+CC without spaces', write: (n) => `+${n.countryCode}${n.significant}` },
  {
    name: '+CC (0)',
    write: (n, _, g) =>
      n.national === `0${n.significant}` ? `+${n.countryCode} (0)${group(n.significant, g)}` : undefined,
  },
  { name: '(+CC)', write: (n, _, g) => `(+${n.countryCode}) ${group(n.significant, g)}` },
  { name: '+(CC)', write: (n, _, g) => `+(${n.countryCode}) ${group(n.significant, g)}` },
  {
    name: '(CC) where the national reading is not valid',
    write: (n, form, g) => {
      const text = `(${n.countryCode}) ${group(n.significant, g)}`;
      const national = libraryReading(text, form);
      return national === undefined || national === n.e164 ? text : undefined;
    },
  },
  {
    name: '00CC where the region reads 00 otherwise',
    write: (n, form, g) => {
      const text = `00${n.countryCode} ${group(n.significant, g)}`;
      const national = libraryReading(text, form);
      return national === undefined || national === n.e164 ? text : undefined;
    },
  },
  {
    name: "the form region's own international prefix",
    write: (n, form, g, dialOut) => {
      const prefixes = DIAL_OUT[form];
      return `${prefixes[dialOut % prefixes.length]} ${n.countryCode} ${group(n.significant, g)}`;
    },
  },
];

/** Zero of each decimal digit script a visitor's keyboard may produce. */
const DIGIT_ZEROS = {
  ascii: 0x30,
  fullwidth: 0xff10,
  thai: 0x0e50,
  arabicIndic: 0x0660,
  persian: 0x06f0,
  devanagari: 0x0966,
  bengali: 0x09e6,
  myanmar: 0x1040,
} as const;

function inDigits(text: string, zero: number): string {
  return text.replace(/[0-9]/g, (digit) => String.fromCodePoint(zero + Number(digit)));
}

/** What a Japanese, Chinese or Korean IME types in fullwidth mode (NFKC undoes it). */
function fullwidth(text: string): string {
  return text
    .replace(/[!-~]/g, (char) => String.fromCodePoint((char.codePointAt(0) ?? 0) + 0xfee0))
    .replace(/ /g, '\u3000');
}

const EXTENSIONS: readonly ((digits: string) => string)[] = [
  (d) => ` ext. ${d}`,
  (d) => ` ext ${d}`,
  (d) => ` Ext.${d}`,
  (d) => ` extension ${d}`,
  (d) => ` (ext. ${d})`,
  (d) => ` x${d}`,
  (d) => ` X ${d}`,
  (d) => ` #${d}`,
  (d) => `#${d}`,
  (d) => `,${d}`,
  (d) => `,,${d}`,
  (d) => `;${d}`,
  (d) => `;ext=${d}`,
  (d) => ` 내선 ${d}`,
  (d) => ` 내선번호 ${d}`,
  (d) => ` ต่อ ${d}`,
  (d) => ` 内線${d}`,
  (d) => `（内線${d}）`,
];

const written = fc.record({
  groups: grouping,
  dialOut: fc.nat(),
  digits: fc.constantFrom(...Object.values(DIGIT_ZEROS)),
  wide: fc.boolean(),
  extension: fc.option(fc.tuple(fc.constantFrom(...EXTENSIONS), fc.stringMatching(/^\d{1,10}$/)), {
    nil: undefined,
  }),
  pad: fc.constantFrom('', ' ', '\u3000', '\u00a0', '\n', '\u200e', '\u200f'),
});

describe('one phone number written in every style', () => {
  it.each(STYLES)('gives the same E.164 and the extension apart: $name', (style) => {
    const numberAndForm = validNumber.chain((number) =>
      fc.tuple(fc.constant(number), style.home ? fc.constant(number.region) : fc.constantFrom(...REGIONS)),
    );
    fc.assert(
      fc.property(numberAndForm, written, ([number, form], how) => {
        const text = style.write(number, form, how.groups, how.dialOut);
        fc.pre(text !== undefined);
        const ascii = `${text}${how.extension ? how.extension[0](how.extension[1]) : ''}`;
        const scripted = inDigits(ascii, how.digits);
        const typed = how.wide ? fullwidth(scripted) : scripted;
        const expected = how.extension
          ? { ok: true, value: number.e164, extension: how.extension[1] }
          : { ok: true, value: number.e164 };
        expect(normalizePhone(`${how.pad}${typed}${how.pad}`, form)).toStrictEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('finds at least one valid number in every region', () => {
    for (const region of REGIONS) {
      expect(isValidPhoneNumber(FIXED_LINES[region]), region).toBe(true);
      expect(getExampleNumber(region, examples)?.isValid(), region).toBe(true);
    }
  });
});

describe('decimal digits of every script', () => {
  // The runtime's own numbering systems are the oracle: Intl writes 0–9 in each, independently of our code.
  const systems = Intl.supportedValuesOf('numberingSystem').flatMap((system) => {
    const format = new Intl.NumberFormat(`en-u-nu-${system}`, { useGrouping: false });
    const digits = Array.from({ length: 10 }, (_, value) => format.format(value));
    return digits.every((digit) => /^\p{Nd}$/u.test(digit)) && new Set(digits).size === 10
      ? [{ system, digits }]
      : [];
  });

  it('covers the scripts a visitor is likely to type', () => {
    const names = systems.map(({ system }) => system);
    for (const expected of ['thai', 'arab', 'arabext', 'deva', 'beng', 'fullwide', 'mymr', 'khmr', 'laoo']) {
      expect(names).toContain(expected);
    }
  });

  it.each(systems)('reads a Korean mobile written in $system digits', ({ digits }) => {
    const typed = '010-1234-5678'.replace(/\d/g, (digit) => digits[Number(digit)] ?? digit);
    expect(normalizePhone(typed, 'KR')).toStrictEqual({ ok: true, value: '+821012345678' });
  });
});
