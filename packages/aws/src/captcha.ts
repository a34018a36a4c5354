import {
  type CaptchaConfig,
  type CaptchaVerdict,
  captchaVerifyUrl,
  judgeSiteverify,
  siteverifyResponseSchema,
} from '@leadflow/core';

export interface CaptchaVerification {
  readonly captcha: CaptchaConfig;
  readonly secret: string;
  readonly token: string;
  readonly remoteIp?: string | undefined;
  /** Turnstile only: a UUID that makes a retried verification of the same request answer the same. */
  readonly idempotencyKey?: string | undefined;
}

export interface CaptchaOptions {
  /** A siteverify URL for every provider a form does not override (local stubs and tests). */
  readonly defaultVerifyUrl?: string | undefined;
  readonly fetch?: typeof fetch;
  /** A provider that does not answer within this long is unavailable: the form answers 503. */
  readonly timeoutMs?: number;
}

/**
 * Verifies a CAPTCHA token with the provider's siteverify API (Turnstile, hCaptcha and reCAPTCHA share
 * its shape: a form-encoded POST of `secret`, `response` and `remoteip`, answered with JSON
 * `{success, hostname, "error-codes", score?}`), then judges the answer by the form's rules.
 */
export async function verifyCaptcha(
  input: CaptchaVerification,
  options: CaptchaOptions = {},
): Promise<CaptchaVerdict> {
  const body = new URLSearchParams({ secret: input.secret, response: input.token });
  if (input.remoteIp) body.set('remoteip', input.remoteIp);
  if (input.idempotencyKey && input.captcha.provider === 'turnstile') {
    body.set('idempotency_key', input.idempotencyKey);
  }
  let answer: unknown;
  try {
    const response = await (options.fetch ?? fetch)(
      captchaVerifyUrl(input.captcha, options.defaultVerifyUrl),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      },
    );
    if (!response.ok) {
      return { ok: false, reason: 'unavailable', detail: `siteverify answered ${response.status}` };
    }
    answer = await response.json();
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    return { ok: false, reason: 'unavailable', detail: `siteverify could not be reached (${name})` };
  }
  const parsed = siteverifyResponseSchema.safeParse(answer);
  if (!parsed.success)
    return { ok: false, reason: 'unavailable', detail: 'siteverify answered an unknown shape' };
  return judgeSiteverify(input.captcha, parsed.data);
}
