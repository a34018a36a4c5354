import type { ApiApp } from '../app';
import type { ApiDeps } from '../deps';
import { actionRoutes } from './actions';
import { adminRoutes } from './admin';
import { analyticsRoutes } from './analytics';
import { auditRoutes } from './audit';
import { consoleRoutes } from './console';
import { contactRoutes } from './contacts';
import { docsRoutes } from './docs';
import { leadRoutes } from './leads';
import { meRoutes } from './me';
import { privacyRoutes } from './privacy';
import { segmentRoutes } from './segments';
import { unsubscribeRoutes } from './unsubscribe';
import { webhookRoutes } from './webhooks';

/** Registers one group of routes on the app. */
export type RouteModule = (app: ApiApp, deps: ApiDeps) => void;

/** Every route group of the managers' API, in the order their paths are matched. */
export const routeModules: readonly RouteModule[] = [
  leadRoutes,
  contactRoutes,
  adminRoutes,
  meRoutes,
  segmentRoutes,
  analyticsRoutes,
  privacyRoutes,
  auditRoutes,
  webhookRoutes,
  consoleRoutes,
  // The alert's one-tap links (`/a/{token}`): public pages, the signed token is their authority.
  actionRoutes,
  // The follow-ups' unsubscribe links (`/u/{token}`, RFC 8058 one-click): public, the signed token is their authority.
  unsubscribeRoutes,
  // Also registers the public capture routes (served by ingest) in the document.
  docsRoutes,
];
