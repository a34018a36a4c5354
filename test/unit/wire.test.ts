import { toMessageBody } from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** What SQS accepts in a body, minus what fauxqs refuses: #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD. */
const BOTH_ACCEPT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD]*$/;

describe('toMessageBody', () => {
  it('escapes emoji and rare CJK as surrogate pairs, and parses back to the same text', () => {
    const value = { name: 'Mina 🌸', message: '𠮷野家 👨‍👩‍👧 ok\uFFFF' };
    const body = toMessageBody(value);
    expect(body).toMatch(BOTH_ACCEPT);
    expect(body).toContain('Mina \\ud83c\\udf38');
    expect(JSON.parse(body)).toEqual(value);
  });

  it('keeps BMP text (Hangul, Thai, accents) readable as it is', () => {
    expect(toMessageBody({ name: '김민수 สมชาย Zoë' })).toBe('{"name":"김민수 สมชาย Zoë"}');
  });

  it('gives a body both SQS and the emulator accept, for any JSON value, that parses back equal', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'grapheme' }), (value, text) => {
        const input = { value, text };
        const body = toMessageBody(input);
        expect(body).toMatch(BOTH_ACCEPT);
        expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify(input)));
      }),
    );
  });
});
