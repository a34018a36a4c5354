import type { Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { chatRoutes } from './chat';
import { formRoutes } from './forms';
import { genericRoutes } from './generic';
import { metaRoutes } from './meta';
import { telegramRoutes } from './telegram';
import { twilioRoutes } from './twilio';

/**
 * Every channel's routes, mounted on the one ingest app. A channel module exports a function that
 * builds its own Hono router from the shared deps; add one line here per channel.
 */
export const channelRoutes: readonly ((deps: IngestDeps) => Hono)[] = [
  formRoutes,
  metaRoutes,
  telegramRoutes,
  chatRoutes,
  twilioRoutes,
  genericRoutes,
];
