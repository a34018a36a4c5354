import { LeadflowError, TooManyRequestsError } from '@leadflow/core';
import { Hono } from 'hono';
import type { IngestDeps } from './deps';
import { channelRoutes } from './routes';

export type { IngestDeps, IngestOutcome, StoreInput } from './deps';

/** The public HTTP API. Knows nothing about Lambda: `handler.ts` adapts it, `local/` serves it. */
export function createIngestApp(deps: IngestDeps): Hono {
  const app = new Hono();

  app.get('/health', (c) => c.json({ status: 'ok' }));
  for (const routes of channelRoutes) app.route('/', routes(deps));

  app.notFound((c) =>
    c.json({ error: 'not_found', message: `No route for ${c.req.method} ${c.req.path}.` }, 404),
  );

  app.onError((error, c) => {
    const source = sourceOf(c.req.path);
    if (error instanceof LeadflowError) {
      deps.observe?.({ outcome: error.code, source, status: error.status });
      if (error instanceof TooManyRequestsError) c.header('Retry-After', String(error.retryAfterSeconds));
      return c.json(
        { error: error.code, message: error.message, fields: error.fields },
        error.status as 400 | 403 | 404 | 413 | 415 | 422 | 429 | 503,
      );
    }
    deps.observe?.({
      outcome: 'internal_error',
      source,
      status: 500,
      error: `${error.name}: ${error.message.slice(0, 200)}`,
    });
    return c.json(
      { error: 'internal_error', message: 'The submission was not accepted; please retry.' },
      500,
    );
  });

  return app;
}

/** `/v1/forms/demo-contact` → `demo-contact`; `/v1/webhooks/twilio/sms` → `twilio`. */
function sourceOf(path: string): string {
  const [, , kind, name] = path.split('/');
  return (kind === 'forms' || kind === 'webhooks' || kind === 'chat' ? name : kind) ?? '-';
}
