import { createRoute, z } from '@hono/zod-openapi';
import {
  AdminRepository,
  configVersionsOf,
  managerPatchSchema,
  previewLeadSchema,
  type RoutingSection,
} from '@leadflow/aws';
import { etagOf, PreconditionRequiredError } from '@leadflow/core';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { body, errorSchema, errors, idParam, ifMatchHeader, json, pageQuery, secured } from './common';

const precondition428 = {
  content: { 'application/json': { schema: errorSchema } },
  description: 'If-Match is missing: send the ETag of the configuration you read',
};

const looseRecord = z.looseObject({});

/** The routing section: teams (with their managers), the rules and the scoring, as written. */
const configSchema = z
  .looseObject({
    version: z.number().int().openapi({ description: 'The version; the ETag is `"<version>"`.' }),
    updatedAt: z.string().optional(),
    updatedBy: z.string().optional(),
    change: z.string().optional().openapi({ description: 'What this version changed, in one line.' }),
    teams: z.array(looseRecord),
    routing: looseRecord.optional(),
    scoring: looseRecord.optional(),
  })
  .openapi('RoutingConfig');

/** A replacement of the routing section. `version`, `updatedAt`, `updatedBy` and `change` are ignored. */
const configInputSchema = z
  .strictObject({
    teams: z.array(looseRecord).openapi({ description: 'Every team, with its managers.' }),
    routing: looseRecord.optional().openapi({ description: '`{rules, default}`; absent: no rules.' }),
    scoring: looseRecord.optional(),
    version: z.number().optional(),
    updatedAt: z.string().optional(),
    updatedBy: z.string().optional(),
    change: z.string().optional(),
  })
  .openapi('RoutingConfigInput');

const historySchema = z.object({
  items: z.array(
    z.object({
      version: z.number().int(),
      updatedAt: z.string().optional(),
      updatedBy: z.string().optional(),
      change: z.string().optional(),
    }),
  ),
  nextCursor: z.string().optional(),
});

const availabilitySchema = z
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
  .openapi('Availability');

/** What a change of a manager did: the new version, the settings, availability now, the drained queue. */
export const managerChangeSchema = z
  .object({
    managerId: z.string(),
    teamId: z.string(),
    version: z.number().int(),
    manager: z.record(z.string(), z.unknown()),
    availability: availabilitySchema,
    drained: z
      .object({
        teamId: z.string(),
        assigned: z.array(z.object({ leadId: z.string(), managerId: z.string() })),
        stopped: z.enum(['empty', 'nobody_available', 'limit']),
        reason: z.string().optional(),
      })
      .optional()
      .openapi({
        description: "The team's queue, drained at once when the manager may have become available.",
      }),
  })
  .openapi('ManagerChange');

const getConfig = createRoute({
  method: 'get',
  path: '/v1/admin/config',
  tags: ['Administration'],
  summary: 'The routing configuration in force (admins)',
  description: 'Teams, managers, rules and scoring, with the version as the `ETag`.',
  security: secured,
  responses: { 200: json(configSchema, 'The configuration'), 401: errors[401], 403: errors[403] },
});

const putConfig = createRoute({
  method: 'put',
  path: '/v1/admin/config',
  tags: ['Administration'],
  summary: 'Replace the routing configuration (admins)',
  description:
    'Send `If-Match` with the ETag you read (428 without it, 412 when another change came first: nothing changes). The result is validated whole with the bundled forms and channels; an invalid configuration is refused with field paths (422) and nothing changes. Routing uses the new version within CONFIG_CACHE_SECONDS.',
  security: secured,
  request: { headers: ifMatchHeader, ...body(configInputSchema) },
  responses: {
    200: json(configSchema, 'The configuration as now in force'),
    401: errors[401],
    403: errors[403],
    412: errors[412],
    422: errors[422],
    428: precondition428,
  },
});

const configHistory = createRoute({
  method: 'get',
  path: '/v1/admin/config/history',
  tags: ['Administration'],
  summary: "The configuration's versions, newest first (admins)",
  security: secured,
  request: { query: z.object(pageQuery) },
  responses: {
    200: json(historySchema, 'Who changed what, when, and the version it made'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const patchManager = createRoute({
  method: 'patch',
  path: '/v1/admin/managers/{id}',
  tags: ['Administration'],
  summary: "Change a manager's availability, capacity, weight or active flag",
  description:
    "Admins change anything of any manager; a team lead only `outOfOfficeUntil` and `workingHours` of the managers of the teams they lead. `null` clears a setting. Each change is a new configuration version; when it may make the manager available, the team's queue is drained at once.",
  security: secured,
  request: { params: idParam('Manager', 'id'), ...body(managerPatchSchema) },
  responses: {
    200: json(managerChangeSchema, 'The manager after the change'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    412: errors[412],
    422: errors[422],
  },
});

const dryRun = createRoute({
  method: 'post',
  path: '/v1/admin/routing/dry-run',
  tags: ['Administration'],
  summary: 'Where routing would send a lead now, writing nothing (admins)',
  description:
    'The same engine and output as `npm run -s routing -- dry-run`: the rule, team, priority, score, tags, the manager (the cursor read, not drawn), the contact it would join and every candidate with why.',
  security: secured,
  request: {
    query: z.object({
      at: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'Route as at this time (default: now), like `--at`.' }),
    }),
    ...body(previewLeadSchema),
  },
  responses: {
    200: json(z.record(z.string(), z.unknown()), 'The dry-run'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const replayRoute = createRoute({
  method: 'post',
  path: '/v1/admin/routing/replay',
  tags: ['Administration'],
  summary: 'Replay a proposed rule set over past leads, writing nothing (admins)',
  description:
    'The same engine and output as `npm run -s routing -- replay`: per team and manager, where the leads captured in the period went and where the proposed rules would send them. A bare date covers its whole UTC day.',
  security: secured,
  request: {
    ...body(
      z.strictObject({
        from: z.string().min(10).max(40).openapi({ example: '2026-12-01' }),
        to: z.string().min(10).max(40).openapi({ example: '2026-12-07' }),
        rules: z
          .union([z.array(z.unknown()), looseRecord])
          .openapi({ description: '`{rules, default}`, or a bare array of rules.' }),
      }),
    ),
  },
  responses: {
    200: json(
      z.object({
        leads: z.number().int(),
        rows: z.array(
          z.object({ team: z.string(), manager: z.string(), actual: z.number(), proposed: z.number() }),
        ),
      }),
      'Where the leads went and would go',
    ),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

/** The routing configuration, its history, managers' settings and the routing preview. */
export const adminRoutes: RouteModule = (app, deps) => {
  const admin = new AdminRepository(deps.data);
  const auth = authenticated(deps);
  for (const path of [
    '/v1/admin/config',
    '/v1/admin/config/*',
    '/v1/admin/managers/*',
    '/v1/admin/routing/*',
  ]) {
    app.use(path, auth);
  }

  app.openapi(getConfig, async (c) => {
    const config = await admin.config(c.var.viewer);
    c.header('ETag', etagOf(config.version));
    return c.json(config, 200);
  });
  app.openapi(putConfig, async (c) => {
    const versions = configVersionsOf(c.req.valid('header')['if-match']);
    if (versions === undefined) {
      throw new PreconditionRequiredError('Send If-Match with the ETag of the configuration you read.');
    }
    const { teams, routing, scoring } = c.req.valid('json');
    // Validated whole by the store, with the bundled forms and channels (422 with field paths).
    const section = { teams, routing, scoring } as RoutingSection;
    const config = await admin.replaceConfig(c.var.viewer, section, versions);
    c.header('ETag', etagOf(config.version));
    return c.json(config, 200);
  });
  app.openapi(configHistory, async (c) => {
    return c.json(await admin.history(c.var.viewer, c.req.valid('query')), 200);
  });
  app.openapi(patchManager, async (c) => {
    const result = await admin.changeManager(c.var.viewer, c.req.valid('param').id, c.req.valid('json'));
    return c.json(result, 200);
  });
  app.openapi(dryRun, async (c) => {
    const { at } = c.req.valid('query');
    return c.json(await admin.dryRun(c.var.viewer, c.req.valid('json'), at ? new Date(at) : undefined), 200);
  });
  app.openapi(replayRoute, async (c) => {
    return c.json(await admin.replay(c.var.viewer, c.req.valid('json')), 200);
  });
};
