import type { Hono } from 'hono';
import type { IngestDeps } from '../deps';
import { formRoutes } from './forms';

/**
 * Every channel's routes, mounted on the one ingest app. A channel module exports a function that
 * builds its own Hono router from the shared deps; add one line here per channel.
 */
export const channelRoutes: readonly ((deps: IngestDeps) => Hono)[] = [formRoutes];
