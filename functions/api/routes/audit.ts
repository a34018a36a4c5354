import { createRoute, z } from '@hono/zod-openapi';
import { AUDIT_ACTIONS, AuditLog } from '@leadflow/aws';
import { authenticated, requireRole } from '../app';
import type { RouteModule } from '.';
import { errors, json, pageQuery, secured } from './common';

const entrySchema = z
  .object({
    auditId: z.string(),
    at: z.string(),
    actor: z.string().openapi({ description: 'A manager id or a username; never a customer’s address.' }),
    role: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    target: z.string().openapi({ example: 'contact:01JD…' }),
    summary: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('AuditEntry');

const listAudit = createRoute({
  method: 'get',
  path: '/v1/admin/audit',
  tags: ['Administration'],
  summary: 'Who changed what, newest first (admins)',
  description:
    'Configuration changes, manager settings, assignments, merges and their undoing, exports and erasures. Entries never carry a customer’s personal data.',
  security: secured,
  request: {
    query: z.object({
      action: z.enum(AUDIT_ACTIONS).optional().openapi({ description: 'Only this action.' }),
      target: z
        .string()
        .max(200)
        .optional()
        .openapi({ description: 'Only this target, e.g. `contact:<id>` or `lead:<id>`.' }),
      ...pageQuery,
    }),
  },
  responses: {
    200: json(
      z.object({ items: z.array(entrySchema), nextCursor: z.string().optional() }),
      'A page of entries',
    ),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

/** The audit trail. */
export const auditRoutes: RouteModule = (app, deps) => {
  const audit = new AuditLog(deps.data);
  app.use('/v1/admin/audit', authenticated(deps));
  app.openapi(listAudit, async (c) => {
    requireRole(c.var.viewer, 'admin');
    return c.json(await audit.list(c.var.viewer, c.req.valid('query')), 200);
  });
};
