import { createRoute, z } from '@hono/zod-openapi';
import { AdminRepository, availabilityPatchSchema } from '@leadflow/aws';
import { ALERT_EVENTS, mePatchSchema, ROLES } from '@leadflow/core';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { managerChangeSchema } from './admin';
import { body, errors, json, secured } from './common';

const meSchema = z
  .object({
    userId: z.string(),
    username: z.string(),
    role: z.enum(ROLES),
    managerId: z
      .string()
      .nullable()
      .openapi({ description: 'The manager you are; null for an admin who is none.' }),
    teams: z.object({
      memberOf: z.array(z.string()),
      leads: z.array(z.string()).openapi({ description: 'Teams you lead (team leads).' }),
    }),
    availability: z
      .object({
        available: z.boolean(),
        reason: z.string().optional(),
        detail: z.string().optional(),
        openLeads: z.number().int(),
        capacity: z.number().int().optional(),
        active: z.boolean(),
        outOfOfficeUntil: z.string().optional(),
        workingHours: z.unknown().optional(),
      })
      .nullable()
      .openapi({
        description: 'Whether you can take a lead now, and why not; null when you are no manager.',
      }),
    language: z.string(),
    alerts: z
      .object(Object.fromEntries(ALERT_EVENTS.map((event) => [event, z.boolean()])))
      .nullable()
      .openapi({
        description:
          'Which events alert you by email (`PATCH /v1/me` changes them); null when you are no manager.',
      }),
  })
  .openapi('Me');

const getMe = createRoute({
  method: 'get',
  path: '/v1/me',
  tags: ['Me'],
  summary: 'Who you are: role, teams, availability now, language',
  security: secured,
  responses: { 200: json(meSchema, 'You'), 401: errors[401], 403: errors[403] },
});

const patchMe = createRoute({
  method: 'patch',
  path: '/v1/me',
  tags: ['Me'],
  summary: 'Choose which events alert you by email',
  description: `\`alerts\`: for each of ${ALERT_EVENTS.map((event) => `\`${event}\``).join(', ')}, \`true\` (alert me) or \`false\` (do not); an event you leave out stays as it is, and every event is on until you turn it off. A team lead cannot turn \`escalation\` off (422): escalations are how an unanswered lead still reaches someone. Managers only (403 otherwise).`,
  security: secured,
  request: body(mePatchSchema),
  responses: {
    200: json(meSchema, 'You, with your alerts after the change'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const patchAvailability = createRoute({
  method: 'patch',
  path: '/v1/me/availability',
  tags: ['Me'],
  summary: 'Set your own availability: out of office, or back; your working hours',
  description:
    "`outOfOfficeUntil`: an ISO time with an offset, in the future and within a year; `null` clears it (back now). `workingHours`: your own hours, or `null` for none. A new configuration version; routing follows within CONFIG_CACHE_SECONDS, and your team's queue is drained at once when you are back. Managers only (403 otherwise).",
  security: secured,
  request: body(availabilityPatchSchema),
  responses: {
    200: json(managerChangeSchema, 'Your settings after the change'),
    401: errors[401],
    403: errors[403],
    412: errors[412],
    422: errors[422],
  },
});

/** The signed-in user, their own availability and their alert preferences. */
export const meRoutes: RouteModule = (app, deps) => {
  const admin = new AdminRepository(deps.data);
  const auth = authenticated(deps);
  app.use('/v1/me', auth);
  app.use('/v1/me/*', auth);

  app.openapi(getMe, async (c) => c.json(await admin.me(c.var.viewer), 200));
  app.openapi(patchMe, async (c) => c.json(await admin.setOwnAlerts(c.var.viewer, c.req.valid('json')), 200));
  app.openapi(patchAvailability, async (c) =>
    c.json(await admin.setOwnAvailability(c.var.viewer, c.req.valid('json')), 200),
  );
};
