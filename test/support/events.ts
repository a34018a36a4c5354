import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cache = new Map<string, unknown>();

/** Loads a real-shaped sample from events/, as a fresh copy the test may change. */
export function loadEvent<T>(path: string): T {
  if (!cache.has(path)) {
    const file = fileURLToPath(new URL(`../../events/${path}`, import.meta.url));
    cache.set(path, JSON.parse(readFileSync(file, 'utf8')));
  }
  return structuredClone(cache.get(path)) as T;
}
