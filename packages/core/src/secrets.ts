import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two secrets of any length, compared as SHA-256 digests. */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
