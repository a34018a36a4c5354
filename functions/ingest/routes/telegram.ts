import {
  ForbiddenError,
  parseTelegramUpdate,
  TELEGRAM_SECRET_HEADER,
  telegramCapture,
  verifyTelegramSecretToken,
} from '@leadflow/core';
import { acceptCapture, naturalKey } from '@leadflow/door';
import { Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { limitBody, usableChannel } from '../middleware';

/** One Update is small; Telegram's own limits keep a text message far below this. */
const MAX_UPDATE_BYTES = 1024 * 1024;

/**
 * The Telegram bot webhook (setWebhook with a `secret_token`). Telegram retries every non-2xx, so
 * anything that is not a lead is acknowledged with 200 and dropped; a lead is stored first.
 */
export function telegramRoutes(deps: IngestDeps): Hono {
  const app = new Hono();
  const clock = deps.clock ?? (() => new Date());

  app.post('/v1/webhooks/telegram', limitBody(MAX_UPDATE_BYTES), async (c) => {
    const { source, secret: secretToken } = usableChannel(
      deps,
      'telegram',
      { source: deps.config.channels.telegram, secret: deps.secrets?.telegramSecretToken },
      'The Telegram channel',
    );
    if (!verifyTelegramSecretToken(c.req.header(TELEGRAM_SECRET_HEADER), secretToken)) {
      throw new ForbiddenError('The X-Telegram-Bot-Api-Secret-Token header does not match.');
    }
    const receivedAt = clock();
    const update = parseTelegramUpdate(new Uint8Array(await c.req.arrayBuffer()));
    const capture = telegramCapture(update, source, { newId: deps.newId, receivedAt });
    if (capture) {
      await acceptCapture(deps, capture, naturalKey('telegram', capture.externalId), 'telegram');
    } else deps.observe?.({ outcome: 'ignored', source: 'telegram', status: 200 });
    return c.json({}, 200);
  });
  return app;
}
