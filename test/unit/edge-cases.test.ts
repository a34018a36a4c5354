import { captureSource, headerText, parseFormBody, ValidationError } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { formatMailbox } from '../../packages/aws/src/mailer';

describe('edge cases found in review', () => {
  it('names a binary file part with a 422 field error instead of failing the whole body as bad UTF-8', async () => {
    const form = new FormData();
    form.set('name', 'Kim');
    form.set(
      'cv',
      new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10])], { type: 'image/jpeg' }),
      'cv.jpg',
    );
    const request = new Response(form);
    const body = new Uint8Array(await request.arrayBuffer());
    const error = await parseFormBody(request.headers.get('content-type') ?? '', body).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).fields).toEqual([
      expect.objectContaining({ field: 'cv', code: 'file_not_accepted' }),
    ]);
  });

  it('splits a long non-ASCII display name into RFC 2047 encoded words of at most 75 characters', () => {
    const name = '리드플로우 데모 주식회사 영업팀 고객지원센터 서울본사';
    const formatted = formatMailbox({ address: 'leads@example.com', name });
    const words = formatted.replace(/ <leads@example\.com>$/, '').split(' ');
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) {
      expect(word).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      expect(word.length).toBeLessThanOrEqual(75);
    }
    const decoded = words.map((word) => Buffer.from(word.slice(10, -2), 'base64').toString('utf8')).join('');
    expect(decoded).toBe(name);
  });

  it('never cuts a header inside a surrogate pair', () => {
    const cut = headerText('😀'.repeat(100), 10);
    expect(Array.from(cut)).toHaveLength(10);
    expect(cut.endsWith('😀…')).toBe(true);
    expect(cut.isWellFormed()).toBe(true);
  });

  it('falls back to the Referer when the page_url field is not a URL', () => {
    const source = captureSource(
      { page_url: 'not a url' },
      { referer: 'https://www.example.com/contact?utm_source=x' },
    );
    expect(source.pageUrl).toBe('https://www.example.com/contact?utm_source=x');
    expect(source.utm).toEqual({ utm_source: 'x' });
  });
});
