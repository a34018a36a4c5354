import {
  type CaptureEvent,
  ForbiddenError,
  META_SIGNATURE_HEADER,
  messageGroupId,
  metaCaptures,
  metaChallengeResponse,
  parseMetaWebhook,
  verifyMetaSignature,
} from '@leadflow/core';
import { acceptCapture, naturalKey } from '@leadflow/door';
import { Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { limitBody, usableChannel } from '../middleware';

/** A delivery batches up to 1,000 updates; this leaves room for that and refuses anything absurd. */
const MAX_DELIVERY_BYTES = 4 * 1024 * 1024;
const PATH = '/v1/webhooks/meta';
const LABEL = 'The Meta channel';

/**
 * Meta's Graph webhooks for WhatsApp Cloud API, Messenger and Instagram: the `hub.challenge`
 * handshake (GET) and signed deliveries (POST), each message stored before the 200.
 */
export function metaRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const clock = deps.clock ?? (() => new Date());

  app.get(PATH, (c) => {
    const { secret: verifyToken } = usableChannel(
      deps,
      'meta',
      { source: deps.config.channels.meta, secret: deps.secrets?.metaVerifyToken },
      LABEL,
    );
    const challenge = metaChallengeResponse(
      {
        mode: c.req.query('hub.mode'),
        verifyToken: c.req.query('hub.verify_token'),
        challenge: c.req.query('hub.challenge'),
      },
      verifyToken,
    );
    if (challenge === undefined) throw new ForbiddenError('The verify token does not match.');
    deps.observe?.({ outcome: 'verified', source: 'meta', status: 200 });
    return c.text(challenge, 200);
  });

  app.post(PATH, limitBody(MAX_DELIVERY_BYTES), async (c) => {
    const { source, secret: appSecret } = usableChannel(
      deps,
      'meta',
      { source: deps.config.channels.meta, secret: deps.secrets?.metaAppSecret },
      LABEL,
    );
    const receivedAt = clock();
    // The signature covers the exact bytes Meta sent: verify them before anything reads the JSON.
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    if (!verifyMetaSignature(rawBody, c.req.header(META_SIGNATURE_HEADER), appSecret)) {
      throw new ForbiddenError('The X-Hub-Signature-256 header does not match the body.');
    }
    const delivery = metaCaptures(parseMetaWebhook(rawBody), source, { newId: deps.newId, receivedAt });
    await acceptInOrder(deps, delivery.captures);
    if (delivery.invalid > 0) deps.observe?.({ outcome: 'invalid_item', source: 'meta', status: 200 });
    if (delivery.captures.length === 0) deps.observe?.({ outcome: 'ignored', source: 'meta', status: 200 });
    return c.text('EVENT_RECEIVED', 200);
  });
  return app;
}

/**
 * Stores every capture of a batch before the 200. One person's messages are accepted one after the
 * other, so they reach their FIFO group in the order they were written; different people in parallel.
 */
async function acceptInOrder(
  deps: IngestDeps,
  captures: readonly (CaptureEvent & { externalId: string })[],
): Promise<void> {
  const byPerson = new Map<string, (CaptureEvent & { externalId: string })[]>();
  for (const capture of captures) {
    const group = messageGroupId(capture.contact, capture.handles, capture.conversationId);
    byPerson.set(group, [...(byPerson.get(group) ?? []), capture]);
  }
  await Promise.all(
    [...byPerson.values()].map(async (mine) => {
      for (const capture of mine) {
        await acceptCapture(deps, capture, naturalKey(capture.channel, capture.externalId), 'meta');
      }
    }),
  );
}
