import { type ChatWidget, chatCapture, NotFoundError, parseChatBody } from '@leadflow/core';
import { acceptCapture, naturalKey } from '@leadflow/door';
import { type Context, Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { limitClient } from '../guard';
import { allowedOriginsCors, limitBody } from '../middleware';

/** Without a messageId, the same text in the same session within this window is one message sent twice. */
export const CHAT_CONTENT_WINDOW_SECONDS = 60;

type Env = { Variables: { widget: ChatWidget } };

/** `POST /v1/chat/{widgetId}` with CORS: messages typed into the website chat widget. */
export function chatRoutes(deps: IngestDeps): Hono {
  const app = new Hono<Env>();
  const clock = deps.clock ?? (() => new Date());

  app.use('/v1/chat/:widgetId', async (c, next) => {
    const widgetId = c.req.param('widgetId');
    const widget = deps.config.channels.chatWidgets.find((candidate) => candidate.id === widgetId);
    if (!widget) throw new NotFoundError(`There is no chat widget "${widgetId}".`);
    c.set('widget', widget);
    await next();
  });

  app.use(
    '/v1/chat/:widgetId',
    allowedOriginsCors((c) => (c as Context<Env>).get('widget').allowedOrigins, ['Content-Type', 'Accept']),
  );

  // Before the body is read: a flood of messages costs one counter write each, and stores nothing.
  app.post('/v1/chat/:widgetId', async (c, next) => {
    const widget = c.get('widget');
    await limitClient(deps, c, {
      kind: 'chat',
      id: widget.id,
      rateLimitPerClient: widget.rateLimitPerClient,
    });
    await next();
  });

  app.post('/v1/chat/:widgetId', limitBody(), async (c) => {
    const widget = c.get('widget');
    const receivedAt = clock();
    const body = parseChatBody(c.req.header('content-type'), new Uint8Array(await c.req.arrayBuffer()));
    const { capture, clientKeyed, contentHash } = chatCapture(widget, body, {
      newId: deps.newId,
      receivedAt,
      origin: c.req.header('origin'),
      referer: c.req.header('referer'),
    });
    // A retried messageId is the same message for as long as providers retry; a reused one with
    // other text is refused (422). Without a messageId, only an identical text in a short window is.
    const key = {
      ...naturalKey('chat', capture.externalId),
      requestHash: contentHash,
      ...(clientKeyed ? {} : { windowSeconds: CHAT_CONTENT_WINDOW_SECONDS }),
    };
    const stored = await acceptCapture(deps, capture, key, widget.id);
    return c.json({ id: stored.capture.submissionId, status: 'accepted' }, 202);
  });
  return app as unknown as Hono;
}
