import { type SecretChannel, secretProblem } from '@leadflow/aws';
import { MAX_BODY_BYTES, NotFoundError, PayloadTooLargeError, ServiceUnavailableError } from '@leadflow/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { IngestDeps } from './deps';

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

/**
 * The one decision whether a webhook channel takes requests, before its body is read: `404` when it is
 * not configured or has no secret (as if it did not exist), `503 channel_unavailable` when its secret was
 * malformed at init (logged then, never echoed). Returns the channel's settings and secret.
 */
export function usableChannel<Source, Secret>(
  deps: IngestDeps,
  channel: SecretChannel,
  found: { readonly source: Source | undefined; readonly secret: Secret | undefined },
  /** How the answer names the channel, e.g. `The Telegram channel`. */
  label: string,
): { source: Source; secret: Secret } {
  const { source, secret } = found;
  if (source === undefined) throw new NotFoundError(`${label} is not configured.`);
  if (secretProblem(deps.secrets, channel) !== undefined) {
    throw new ServiceUnavailableError(`${label} is temporarily unavailable.`, 'channel_unavailable');
  }
  if (secret === undefined) throw new NotFoundError(`${label} is not configured.`);
  return { source, secret };
}
