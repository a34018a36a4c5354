import { createRoute, z } from '@hono/zod-openapi';
import { readAnalytics } from '@leadflow/aws';
import { analyticsReportSchema, DEFAULT_ANALYTICS_DAYS, daySchema, MAX_ANALYTICS_DAYS } from '@leadflow/core';
import { authenticated } from '../app';
import type { ApiDeps } from '../deps';
import type { RouteModule } from '.';
import { errors, json, secured } from './common';

/**
 * `from` and `to` default in the handler, not in the schema: "today" is a day of the business's time
 * zone, which is read from the runtime configuration with each request.
 */
const analyticsQuery = z.object({
  from: daySchema.optional().openapi({
    description: `First business day (YYYY-MM-DD), included. Default: ${DEFAULT_ANALYTICS_DAYS - 1} days before \`to\`.`,
    example: '2025-03-01',
  }),
  to: daySchema.optional().openapi({
    description: 'Last business day (YYYY-MM-DD), included. Default: today in the business time zone.',
    example: '2025-03-30',
  }),
  team: z.string().min(1).max(64).optional().openapi({
    description:
      'One team: an admin any, a team lead one they lead (else 403); a manager narrows their own numbers.',
  }),
});

const getAnalytics = (deps: ApiDeps) =>
  createRoute({
    method: 'get',
    path: '/v1/analytics',
    tags: ['Analytics'],
    summary: 'Funnel, conversion and speed to lead, per channel, source, manager and day',
    description: `Numbers of the leads captured in the range (by capture day in the business time zone), maintained on write. A manager sees their own numbers, a team lead their teams' (and their own), an admin everything. At most ${MAX_ANALYTICS_DAYS} days.`,
    security: secured,
    middleware: [authenticated(deps)] as const,
    request: { query: analyticsQuery },
    responses: {
      200: json(analyticsReportSchema, 'The report'),
      401: errors[401],
      403: errors[403],
      422: errors[422],
    },
  });

/** `GET /v1/analytics`. */
export const analyticsRoutes: RouteModule = (app, deps) => {
  app.openapi(getAnalytics(deps), async (c) =>
    c.json(await readAnalytics(deps.data, c.var.viewer, c.req.valid('query')), 200),
  );
};
