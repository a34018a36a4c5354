import { MAX_BODY_BYTES, PayloadTooLargeError } from '@leadflow/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';

/**
 * CORS for an endpoint browsers post to (forms, the chat widget): only the origins the resource allows,
 * read from the resource a previous middleware put on the context.
 */
export function allowedOriginsCors(
  allowedOrigins: (c: Context) => readonly string[],
  allowHeaders: string[],
): MiddlewareHandler {
  return cors({
    origin: (origin, c) => {
      const allowed = allowedOrigins(c);
      return allowed.includes('*') || allowed.includes(origin) ? origin : null;
    },
    allowMethods: ['POST', 'OPTIONS'],
    allowHeaders,
    maxAge: 600,
  });
}

/** A body limit answered as a typed 413, checked while the body streams in (OWASP API4). */
export function limitBody(maxBytes: number = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(`The body is larger than the ${maxBytes}-byte limit.`);
    },
  });
}
