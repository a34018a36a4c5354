import {
  bodyKind,
  captureGenericEvent,
  ForbiddenError,
  type GenericSource,
  parseGenericEvent,
  UnsupportedMediaTypeError,
  verifyGenericWebhook,
} from '@leadflow/core';
import { acceptCapture, naturalKey } from '@leadflow/door';
import { Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { limitBody, usableChannel } from '../middleware';

type Env = { Variables: { source: GenericSource; secret: string } };

const REJECTIONS = {
  missing_timestamp: 'The X-Leadflow-Timestamp header is missing or not unix seconds.',
  stale_timestamp: 'The X-Leadflow-Timestamp is more than 300 seconds from our clock.',
  missing_signature: 'The X-Leadflow-Signature header has no v1= signature.',
  signature_mismatch: 'No v1= signature in X-Leadflow-Signature matches this request.',
} as const;

/**
 * `POST /v1/webhooks/generic/{sourceId}`: a signed JSON event from any call-tracking, SMS or lead
 * provider without its own adapter. The signature is checked on the raw bytes before they are parsed.
 */
export function genericRoutes(deps: IngestDeps): Hono {
  const app = new Hono<Env>();
  const clock = deps.clock ?? (() => new Date());

  app.use('/v1/webhooks/generic/:sourceId', async (c, next) => {
    const id = c.req.param('sourceId');
    const { source, secret } = usableChannel(
      deps,
      `generic/${id}`,
      {
        source: deps.config.channels.generic.find((candidate) => candidate.id === id),
        secret: deps.secrets?.generic[id],
      },
      `The generic webhook source "${id}"`,
    );
    c.set('source', source);
    c.set('secret', secret);
    await next();
  });

  app.post('/v1/webhooks/generic/:sourceId', limitBody(), async (c) => {
    if (bodyKind(c.req.header('content-type')) !== 'json') {
      throw new UnsupportedMediaTypeError('The generic webhook takes application/json.');
    }
    const source = c.get('source');
    const body = new Uint8Array(await c.req.arrayBuffer());
    const receivedAt = clock();
    const verification = verifyGenericWebhook({
      secret: c.get('secret'),
      timestamp: c.req.header('x-leadflow-timestamp'),
      signature: c.req.header('x-leadflow-signature'),
      body,
      now: receivedAt,
    });
    if (!verification.ok) throw new ForbiddenError(REJECTIONS[verification.reason]);

    const event = parseGenericEvent(body);
    const capture = captureGenericEvent(event, { submissionId: deps.newId(), receivedAt, source });
    const stored = await acceptCapture(
      deps,
      capture,
      naturalKey(capture.channel, `${source.id}:${event.id}`),
      `generic-${source.id}`,
    );
    return c.json({ id: stored.capture.submissionId, status: 'accepted' }, 202);
  });

  return app as unknown as Hono;
}
