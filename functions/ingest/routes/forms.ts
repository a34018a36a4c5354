import {
  captureFormSubmission,
  type FormConfig,
  MalformedBodyError,
  NotFoundError,
  parseFormBody,
  sha256,
} from '@leadflow/core';
import { type Context, Hono } from 'hono';
import { acceptCapture } from '../accept';
import type { IngestDeps } from '../deps';
import { allowedOriginsCors, limitBody } from '../middleware';
import { ThankYouPage } from '../thank-you';

/** A retry with the same Idempotency-Key inside this window gets the first answer. */
const KEY_WINDOW_SECONDS = 24 * 60 * 60;
/** Without a key, an identical body inside this window is a double submit of the same lead. */
const CONTENT_WINDOW_SECONDS = 10 * 60;
const IDEMPOTENCY_KEY = /^[\x21-\x7E]{1,255}$/;

type Env = { Variables: { form: FormConfig } };

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
      ['Content-Type', 'Idempotency-Key', 'Accept'],
    ),
  );

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

/** A stable text of the fields: sorted by name, so the same form data always hashes the same. */
function canonicalFields(fields: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(fields)
      .sort()
      .map((name) => [name, fields[name]]),
  );
}
