import { z } from 'zod';
import type { CaptchaConfig, CaptchaProvider } from './config';

/** Each provider's documented siteverify endpoint, used unless the form names another. */
export const CAPTCHA_VERIFY_URLS: Record<CaptchaProvider, string> = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
};

/** The form field each provider's widget adds to the form it sits in. */
export const CAPTCHA_FIELDS: Record<CaptchaProvider, string> = {
  turnstile: 'cf-turnstile-response',
  hcaptcha: 'h-captcha-response',
  recaptcha: 'g-recaptcha-response',
};

/** Tokens are opaque; Turnstile documents at most 2048 characters. Anything longer is not a token. */
const MAX_TOKEN = 4096;

/** The siteverify answer all three providers share (their other fields are ignored). */
export const siteverifyResponseSchema = z.object({
  success: z.boolean(),
  hostname: z.string().optional(),
  'error-codes': z.array(z.string()).optional(),
  /** reCAPTCHA v3 (and hCaptcha Enterprise): 1.0 is very likely a person. */
  score: z.number().optional(),
});
export type SiteverifyResponse = z.infer<typeof siteverifyResponseSchema>;

export type CaptchaVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** `missing`, `invalid` (refused by the provider or our rules) or `unavailable` (provider unreachable). */
      readonly reason: 'missing' | 'invalid' | 'unavailable';
      readonly detail: string;
    };

/** The token a form post carries for its CAPTCHA, or undefined when there is none worth sending. */
export function captchaToken(
  captcha: CaptchaConfig,
  fields: Readonly<Record<string, string>>,
): string | undefined {
  const token = fields[CAPTCHA_FIELDS[captcha.provider]]?.trim();
  return token && token.length <= MAX_TOKEN ? token : undefined;
}

/** The URL to verify a form's tokens at: the form's own, an override (local stubs), or the provider's. */
export function captchaVerifyUrl(captcha: CaptchaConfig, override?: string): string {
  return captcha.verifyUrl ?? override ?? CAPTCHA_VERIFY_URLS[captcha.provider];
}

/** Judges a provider's answer against the form's rules: success, the hostname, the v3 score. */
export function judgeSiteverify(captcha: CaptchaConfig, answer: SiteverifyResponse): CaptchaVerdict {
  if (!answer.success) {
    const codes = answer['error-codes']?.join(', ') || 'no error code';
    return { ok: false, reason: 'invalid', detail: `the provider refused the token (${codes})` };
  }
  const hostname = answer.hostname?.toLowerCase();
  if (captcha.hostnames.length > 0 && !captcha.hostnames.some((name) => name.toLowerCase() === hostname)) {
    return { ok: false, reason: 'invalid', detail: 'the token was solved on another site' };
  }
  if (captcha.minScore !== undefined && (answer.score ?? 0) < captcha.minScore) {
    return { ok: false, reason: 'invalid', detail: 'the score is below the form minimum' };
  }
  return { ok: true };
}
