import {
  bodyKind,
  type FieldMap,
  LeadflowError,
  MAX_BODY_BYTES,
  MAX_FIELDS,
  MalformedBodyError,
  PayloadTooLargeError,
  parseFormBody,
  UnsupportedMediaTypeError,
  ValidationError,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const JSON_TYPE = 'application/json';
const URLENCODED = 'application/x-www-form-urlencoded';
const ACCEPTED_TYPES = [JSON_TYPE, URLENCODED, 'multipart/form-data; boundary=----leadflow'] as const;

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Encodes fields exactly as a browser or fetch client would send them as multipart/form-data. */
async function multipart(entries: Iterable<[string, string | Blob, string?]>): Promise<[string, Uint8Array]> {
  const form = new FormData();
  for (const [name, value, filename] of entries) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  }
  const response = new Response(form);
  const contentType = response.headers.get('content-type');
  if (!contentType) throw new Error('FormData produced no content type');
  return [contentType, new Uint8Array(await response.arrayBuffer())];
}

/** Resolves to the error parseFormBody rejected with; fails the test if it resolved. */
async function rejection(contentType: string | undefined, body: Uint8Array): Promise<unknown> {
  try {
    const fields = await parseFormBody(contentType, body);
    throw new Error(`Expected a rejection, got ${JSON.stringify(fields)}`);
  } catch (error) {
    return error;
  }
}

describe('bodyKind', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['Application/JSON; Charset="UTF-8"', 'json'],
    ['application/ld+json', 'json'],
    ['application/x-www-form-urlencoded', 'urlencoded'],
    ['application/x-www-form-urlencoded;charset=UTF8', 'urlencoded'],
    ['multipart/form-data; boundary=abc', 'multipart'],
    ['MULTIPART/FORM-DATA; boundary=abc; charset=utf-8', 'multipart'],
  ] as const)('reads %s as %s', (contentType, kind) => {
    expect(bodyKind(contentType)).toBe(kind);
  });

  it.each([
    undefined,
    '',
    'text/plain',
    'text/html; charset=utf-8',
    'application/xml',
    'application/octet-stream',
    'application/json; charset=iso-8859-1',
    'application/x-www-form-urlencoded; charset=euc-kr',
    'multipart/form-data; boundary=abc; charset=tis-620',
    'multipart/mixed; boundary=abc',
  ])('refuses %s with a 415', (contentType) => {
    expect(() => bodyKind(contentType)).toThrow(UnsupportedMediaTypeError);
  });
});

describe('parseFormBody', () => {
  describe('JSON', () => {
    it('keeps strings, writes numbers and booleans as text, skips nulls and joins lists', async () => {
      const body = utf8(
        JSON.stringify({ name: 'Kim', age: 42, consent: true, fax: null, interests: ['a', 'b'] }),
      );
      expect(await parseFormBody(JSON_TYPE, body)).toEqual({
        name: 'Kim',
        age: '42',
        consent: 'true',
        interests: 'a, b',
      });
    });

    it('names every field whose value has the wrong type', async () => {
      const body = utf8(
        JSON.stringify({ name: 'Kim', address: { city: 'Seoul' }, tags: ['a', 1], ok: 'yes' }),
      );
      const error = await rejection(JSON_TYPE, body);
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ status: 422, code: 'validation_failed' });
      expect((error as ValidationError).fields.map((issue) => [issue.field, issue.code])).toEqual([
        ['address', 'invalid_type'],
        ['tags', 'invalid_type'],
      ]);
    });

    it.each([
      ['not JSON', '{name: Kim}'],
      ['truncated', '{"name": "Kim"'],
      ['an array', '[{"name": "Kim"}]'],
      ['a string', '"Kim"'],
      ['null', 'null'],
      ['empty', ''],
    ])('refuses a body that is %s with a 400', async (_, text) => {
      const error = await rejection(JSON_TYPE, utf8(text));
      expect(error).toBeInstanceOf(MalformedBodyError);
      expect(error).toMatchObject({ status: 400 });
    });

    it('accepts a UTF-8 byte order mark', async () => {
      expect(await parseFormBody(JSON_TYPE, utf8('\uFEFF{"name":"김민수"}'))).toEqual({ name: '김민수' });
    });

    it('keeps __proto__ and constructor as plain fields without touching any prototype', async () => {
      const fields = await parseFormBody(
        JSON_TYPE,
        utf8('{"__proto__": {"polluted": "yes"}, "constructor": "x"}'),
      ).catch((error: unknown) => error);
      // An object-valued __proto__ is a wrong type like any other object value.
      expect(fields).toBeInstanceOf(ValidationError);
      const plain = await parseFormBody(JSON_TYPE, utf8('{"__proto__": "x", "constructor": "y"}'));
      expect(Object.entries(plain)).toEqual([
        ['__proto__', 'x'],
        ['constructor', 'y'],
      ]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('refuses bytes that are not UTF-8 with a 400', async () => {
    const latin1 = new Uint8Array([0x6e, 0x61, 0x6d, 0x65, 0x3d, 0xe9]); // "name=é" in ISO-8859-1
    const error = await rejection(URLENCODED, latin1);
    expect(error).toBeInstanceOf(MalformedBodyError);
  });

  describe('urlencoded', () => {
    it('decodes + and percent escapes and joins repeated checkbox values', async () => {
      const body = utf8('name=Kim+Minsu&note=a%26b%3Dc&interest=web&interest=app&empty=');
      expect(await parseFormBody(URLENCODED, body)).toEqual({
        name: 'Kim Minsu',
        note: 'a&b=c',
        interest: 'web, app',
        empty: '',
      });
    });
  });

  describe('multipart', () => {
    it('reads text parts', async () => {
      const [contentType, body] = await multipart([
        ['name', '김민수'],
        ['interest', 'web'],
        ['interest', 'app'],
      ]);
      expect(await parseFormBody(contentType, body)).toEqual({ name: '김민수', interest: 'web, app' });
    });

    it('refuses file parts with a ValidationError naming each file field', async () => {
      const [contentType, body] = await multipart([
        ['name', 'Kim'],
        ['cv', new Blob(['hello'], { type: 'text/plain' }), 'cv.txt'],
        ['photo', new Blob(['png?'], { type: 'image/png' }), 'me.png'],
      ]);
      const error = await rejection(contentType, body);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fields).toEqual([
        expect.objectContaining({ field: 'cv', code: 'file_not_accepted' }),
        expect.objectContaining({ field: 'photo', code: 'file_not_accepted' }),
      ]);
    });

    it.each([
      ['without a boundary', 'multipart/form-data'],
      ['with a boundary the body does not use', 'multipart/form-data; boundary=nope'],
    ])('refuses a body %s with a 400', async (_, contentType) => {
      const error = await rejection(
        contentType,
        utf8('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'),
      );
      expect(error).toBeInstanceOf(MalformedBodyError);
    });
  });

  describe('limits', () => {
    it('accepts a body of exactly 64 KiB', async () => {
      const padding = MAX_BODY_BYTES - '{"a":""}'.length;
      const body = utf8(`{"a":"${'x'.repeat(padding)}"}`);
      expect(body.byteLength).toBe(MAX_BODY_BYTES);
      expect((await parseFormBody(JSON_TYPE, body)).a).toHaveLength(padding);
    });

    it.each(ACCEPTED_TYPES)('refuses a %s body one byte over the limit with a 413', async (contentType) => {
      const error = await rejection(contentType, new Uint8Array(MAX_BODY_BYTES + 1).fill(0x61));
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error).toMatchObject({ status: 413 });
    });

    it(`accepts ${MAX_FIELDS} values and refuses one more with a 413`, async () => {
      const values = (count: number) =>
        utf8(Array.from({ length: count }, (_, index) => `f${index}=${index}`).join('&'));
      expect(Object.keys(await parseFormBody(URLENCODED, values(MAX_FIELDS)))).toHaveLength(MAX_FIELDS);
      expect(await rejection(URLENCODED, values(MAX_FIELDS + 1))).toBeInstanceOf(PayloadTooLargeError);
      // Repeated names count as values too.
      const repeated = utf8(Array.from({ length: MAX_FIELDS + 1 }, () => 'interest=x').join('&'));
      expect(await rejection(URLENCODED, repeated)).toBeInstanceOf(PayloadTooLargeError);
    });
  });

  describe('properties', () => {
    const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,30}$/);
    const fieldValue = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string());
    const fieldMap = fc.dictionary(fieldName, fieldValue, { maxKeys: 20 });

    it('round-trips any field map sent as JSON', async () => {
      await fc.assert(
        fc.asyncProperty(fieldMap, async (fields) => {
          expect(await parseFormBody(JSON_TYPE, utf8(JSON.stringify(fields)))).toEqual(fields);
        }),
      );
    });

    it('round-trips any field map sent as application/x-www-form-urlencoded', async () => {
      await fc.assert(
        fc.asyncProperty(fieldMap, async (fields) => {
          const body = utf8(new URLSearchParams(fields).toString());
          expect(await parseFormBody(URLENCODED, body)).toEqual(fields);
        }),
      );
    });

    it('round-trips any field map sent as multipart/form-data (line breaks arrive as CRLF)', async () => {
      await fc.assert(
        fc.asyncProperty(fieldMap, async (fields) => {
          const [contentType, body] = await multipart(Object.entries(fields));
          const expected: FieldMap = Object.fromEntries(
            Object.entries(fields).map(([name, value]) => [name, value.replace(/\r\n|\r|\n/g, '\r\n')]),
          );
          expect(await parseFormBody(contentType, body)).toEqual(expected);
        }),
      );
    });

    it('refuses any body over 64 KiB with a 413, whatever it contains', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ACCEPTED_TYPES),
          fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 2 }),
          fc.integer({ min: 0, max: 255 }),
          async (contentType, size, byte) => {
            const error = await rejection(contentType, new Uint8Array(size).fill(byte));
            expect(error).toBeInstanceOf(PayloadTooLargeError);
          },
        ),
        { numRuns: 30 },
      );
    });

    const boundary = 'XyZ';
    const nearlyMultipart = fc
      .tuple(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.option(fc.string({ maxLength: 8 })),
        fc.option(
          fc.constantFrom('Content-Type: text/plain', 'Content-Type: application/octet-stream', 'X: y'),
        ),
        fc.string({ unit: 'binary', maxLength: 20 }),
        fc.constantFrom(
          `\r\n--${boundary}--\r\n`,
          `\r\n--${boundary}--`,
          `\r\n--${boundary}`,
          '',
          '\n--XyZ--',
        ),
      )
      .map(
        ([name, filename, header, value, end]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === null ? '' : `; filename="${filename}"`}\r\n${header === null ? '' : `${header}\r\n`}\r\n${value}${end}`,
      )
      .map(utf8);
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 100 }).map(utf8),
      fc.json().map(utf8),
      fc.jsonValue().map((value) => utf8(JSON.stringify({ field: value }))),
      nearlyMultipart,
    );
    const anyContentType = fc.oneof(
      fc.constantFrom(
        JSON_TYPE,
        URLENCODED,
        `multipart/form-data; boundary=${boundary}`,
        'multipart/form-data',
        'multipart/form-data; boundary=',
        'text/plain',
        'application/json; charset=latin1',
        undefined,
      ),
      fc.string({ maxLength: 40 }),
    );

    it('only ever fails with a typed LeadflowError, and otherwise returns a flat map of strings', async () => {
      await fc.assert(
        fc.asyncProperty(anyContentType, anyBytes, async (contentType, body) => {
          let fields: FieldMap;
          try {
            fields = await parseFormBody(contentType, body);
          } catch (error) {
            expect(error).toBeInstanceOf(LeadflowError);
            expect([400, 413, 415, 422]).toContain((error as LeadflowError).status);
            return;
          }
          expect(Object.keys(fields).length).toBeLessThanOrEqual(MAX_FIELDS);
          for (const value of Object.values(fields)) expect(typeof value).toBe('string');
        }),
        { numRuns: 300 },
      );
    });
  });
});
