import {
  CAPTCHA_FIELDS,
  captchaToken,
  captureFormSubmission,
  type FieldMap,
  ForbiddenError,
  type FormConfig,
  MalformedBodyError,
  NotFoundError,
  parseFormBody,
  ServiceUnavailableError,
  sha256,
} from '@leadflow/core';
import { acceptCapture } from '@leadflow/door';
import { type Context, Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { isBackendPost, limitClient } from '../guard';
import { allowedOriginsCors, limitBody } from '../middleware';
import { ThankYouPage } from '../thank-you';

/** A retry with the same Idempotency-Key inside this window gets the first answer. */
const KEY_WINDOW_SECONDS = 24 * 60 * 60;
/** Without a key, an identical body inside this window is a double submit of the same lead. */
const CONTENT_WINDOW_SECONDS = 10 * 60;
const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

type Env = { Variables: { form: FormConfig; backend: boolean } };

/** `POST /v1/forms/{formId}` with CORS: website forms, from fetch/XHR or a plain HTML post. */
export function formRoutes(deps: IngestDeps): Hono {
  const app = new Hono<Env>();
  const clock = deps.clock ?? (() => new Date());

  app.use('/v1/forms/:formId', async (c, next) => {
    const form = deps.config.forms.get(c.req.param('formId'));
    if (!form) throw new NotFoundError(`There is no form "${c.req.param('formId')}".`);
    c.set('form', form);
    await next();
  });

  app.use(
    '/v1/forms/:formId',
    allowedOriginsCors(
      (c) => (c as Context<Env>).get('form').allowedOrigins,
      // Not the form key: it belongs on a server, and a browser that could send it would publish it.
      ['Content-Type', 'Idempotency-Key', 'Accept'],
    ),
  );

  // Before the body is read: the form key, else the per-client limit. A flood costs one counter write.
  app.post('/v1/forms/:formId', async (c, next) => {
    const form = c.get('form');
    const backend = isBackendPost(deps, c, form);
    c.set('backend', backend);
    if (!backend)
      await limitClient(deps, c, { kind: 'form', id: form.id, rateLimitPerClient: form.rateLimitPerClient });
    await next();
  });

  app.post('/v1/forms/:formId', limitBody(), async (c) => {
    const form = c.get('form');
    const receivedAt = clock();
    const contentType = c.req.header('content-type');
    const idempotencyKey = c.req.header('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new MalformedBodyError('The Idempotency-Key header must be 1 to 255 visible ASCII characters.', [
        {
          field: 'Idempotency-Key',
          code: 'invalid_header',
          message: 'Use 1 to 255 visible ASCII characters.',
        },
      ]);
    }
    const fields = await parseFormBody(contentType, new Uint8Array(await c.req.arrayBuffer()));
    const outcome = captureFormSubmission(form, fields, {
      submissionId: deps.newId(),
      receivedAt,
      origin: c.req.header('origin'),
      referer: c.req.header('referer'),
    });

    if (outcome.kind === 'spam') {
      // Same answer as a real lead, so a bot learns nothing; counted, never stored or routed.
      await deps.countSpam(form.id);
      deps.observe?.({ outcome: 'spam', source: form.id, status: 202 });
      return accepted(c, form, deps.newId());
    }

    const requestHash = sha256(canonicalFields(fields));
    // After validation, so a typo answered 422 does not spend the visitor's token; before anything is stored.
    if (form.captcha && !c.get('backend')) await checkCaptcha(deps, c, form, fields, requestHash);
    const idempotencyHash = sha256(
      idempotencyKey === undefined
        ? `content\n${form.id}\n${requestHash}`
        : `key\n${form.id}\n${idempotencyKey}`,
    );
    const stored = await acceptCapture(
      deps,
      outcome.event,
      {
        idempotencyHash,
        requestHash,
        windowSeconds: idempotencyKey === undefined ? CONTENT_WINDOW_SECONDS : KEY_WINDOW_SECONDS,
      },
      form.id,
    );
    return accepted(c, form, stored.capture.submissionId);
  });
  return app as unknown as Hono;
}

/** Verifies the form's CAPTCHA token server-side; throws 403 (missing or refused) or 503 (provider down). */
async function checkCaptcha(
  deps: IngestDeps,
  c: Context<Env>,
  form: FormConfig,
  fields: FieldMap,
  requestHash: string,
): Promise<void> {
  const captcha = form.captcha;
  if (!captcha) return;
  const field = CAPTCHA_FIELDS[captcha.provider];
  const refuse = async (code: string, message: string): Promise<never> => {
    await deps.countRefused?.({ kind: 'form', id: form.id }, 'captchaFailed');
    throw new ForbiddenError('The CAPTCHA was not solved.', [{ field, code, message }]);
  };
  const token = captchaToken(captcha, fields);
  if (!token) return refuse('captcha_required', 'Solve the CAPTCHA and send the form again.');
  const secret = deps.secrets?.forms?.[form.id]?.captchaSecret;
  if (!secret || !deps.verifyCaptcha) {
    throw new ServiceUnavailableError('The CAPTCHA of this form is not configured.', 'captcha_unavailable');
  }
  const verdict = await deps.verifyCaptcha({
    captcha,
    secret,
    token,
    remoteIp: deps.clientAddress?.(c),
    // A UUID from the request: a double-clicked submit re-verifies to the same answer (Turnstile).
    idempotencyKey: uuidOf(requestHash),
  });
  if (verdict.ok) return;
  if (verdict.reason === 'unavailable') {
    throw new ServiceUnavailableError(
      'The CAPTCHA could not be verified just now; please send the form again.',
      'captcha_unavailable',
    );
  }
  return refuse('captcha_failed', 'The CAPTCHA was not accepted; solve it again.');
}

/** A version-4-shaped UUID made from a hex digest, stable for the same digest. */
function uuidOf(hex: string): string {
  const h = hex.slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** JSON clients get 202 and the id; browsers posting a plain HTML form get a redirect or a page. */
function accepted(c: Context<Env>, form: FormConfig, id: string): Response {
  if (wantsJson(c)) return c.json({ id, status: 'accepted' }, 202);
  if (form.redirectUrl) return c.redirect(form.redirectUrl, 303);
  return c.html(ThankYouPage(form.language), 200);
}

function wantsJson(c: Context<Env>): boolean {
  const contentType = c.req.header('content-type') ?? '';
  if (/^application\/(.+\+)?json/i.test(contentType)) return true;
  const accept = c.req.header('accept') ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/** CAPTCHA tokens are single-use: a resubmission carries a new one, yet it is the same submission. */
const CAPTCHA_TOKEN_FIELDS = new Set(Object.values(CAPTCHA_FIELDS));

/**
 * A stable text of the fields: sorted by name, so the same form data always hashes the same, and without
 * the CAPTCHA token, so a retry with a freshly solved CAPTCHA is recognised as the same submission.
 */
function canonicalFields(fields: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(fields)
      .filter((name) => !CAPTCHA_TOKEN_FIELDS.has(name))
      .sort()
      .map((name) => [name, fields[name]]),
  );
}
