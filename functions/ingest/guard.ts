import {
  clientKey,
  ForbiddenError,
  type FormConfig,
  ServiceUnavailableError,
  secretsEqual,
  TooManyRequestsError,
} from '@leadflow/core';
import type { Context } from 'hono';
import type { IngestDeps } from './deps';

/** The header a site's own backend sends with the form's key. */
export const FORM_KEY_HEADER = 'X-Leadflow-Form-Key';

/**
 * The per-client limit of a public endpoint (a form or a chat widget): counted against the client's
 * address as the platform saw it, per endpoint and minute. Over the limit it throws a 429 with
 * Retry-After and counts the refusal, before the body is read or anything stored.
 */
export async function limitClient(
  deps: IngestDeps,
  c: Context,
  endpoint: { kind: 'form' | 'chat'; id: string; rateLimitPerClient?: number | undefined },
): Promise<void> {
  const limit = endpoint.rateLimitPerClient ?? deps.rateLimitPerClient ?? 0;
  if (limit <= 0 || !deps.rateLimit) return;
  // No address at all cannot happen behind API Gateway or a socket; if it does, such requests share one bucket.
  const client = clientKey(deps.clientAddress?.(c)) ?? 'unknown';
  const result = await deps.rateLimit({ scope: `${endpoint.kind}:${endpoint.id}`, client, limit });
  if (result.allowed) return;
  await deps.countRefused?.({ kind: endpoint.kind, id: endpoint.id }, 'rateLimited');
  throw new TooManyRequestsError(
    `Too many requests from this address to this ${endpoint.kind === 'form' ? 'form' : 'chat'}: at most ${limit} a minute.`,
    result.retryAfterSeconds,
  );
}

/**
 * Whether this post comes from the site's own backend, proven by the form's key. Such posts skip the
 * per-client limit and the CAPTCHA. A key sent to a form that takes none, or a wrong key, is refused
 * (403); a form that takes only backend posts refuses posts without one.
 */
export function isBackendPost(deps: IngestDeps, c: Context, form: FormConfig): boolean {
  const given = c.req.header(FORM_KEY_HEADER);
  const field = (code: string, message: string) => [{ field: FORM_KEY_HEADER, code, message }];
  if (given === undefined) {
    if (form.access === 'backend') {
      throw new ForbiddenError(
        'This form accepts posts from the site backend only.',
        field('form_key_required', `Send the form's key in ${FORM_KEY_HEADER}.`),
      );
    }
    return false;
  }
  if (form.access === 'public') {
    throw new ForbiddenError(
      'This form does not accept backend posts.',
      field('form_key_not_accepted', `Do not send ${FORM_KEY_HEADER} to this form.`),
    );
  }
  const keys = deps.secrets?.forms?.[form.id]?.keys ?? [];
  if (keys.length === 0) {
    throw new ServiceUnavailableError(
      'This form has no key configured; backend posts are refused until one is.',
      'form_key_unavailable',
    );
  }
  // Every key is compared (rotation keeps two), in constant time, so timing tells nothing.
  const matches = keys.map((key) => secretsEqual(given, key)).some(Boolean);
  if (!matches) {
    throw new ForbiddenError(
      'The form key does not match.',
      field('invalid_form_key', 'The key is not valid.'),
    );
  }
  return true;
}
