import { createRoute, z } from '@hono/zod-openapi';
import { newSegmentSchema, SegmentRepository, segmentFilterSchema } from '@leadflow/aws';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { body, errors, idParam, json, pageQuery, secured } from './common';

const segmentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    filter: segmentFilterSchema,
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .openapi('Segment');

const segmentContactSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    createdAt: z.string(),
    ownerId: z.string().optional(),
    tags: z.array(z.string()),
    channels: z.array(z.string()),
  })
  .openapi('SegmentContact');

const segmentId = idParam('Segment', 'id');

const listSegments = createRoute({
  method: 'get',
  path: '/v1/segments',
  tags: ['Segments'],
  summary: 'The saved segments',
  security: secured,
  request: { query: z.object(pageQuery) },
  responses: {
    200: json(
      z.object({ items: z.array(segmentSchema), nextCursor: z.string().optional() }),
      'A page of segments',
    ),
    401: errors[401],
    422: errors[422],
  },
});

const createSegment = createRoute({
  method: 'post',
  path: '/v1/segments',
  tags: ['Segments'],
  summary: 'Save a segment (team leads and admins)',
  description:
    'A filter over contacts: `tag`, `channel`, `source` (a form or widget id) and a custom field `{key, equals}` declared in the configuration’s `contactFields`; every condition given must hold.',
  security: secured,
  request: body(newSegmentSchema),
  responses: {
    201: json(segmentSchema, 'The segment'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const getSegment = createRoute({
  method: 'get',
  path: '/v1/segments/{id}',
  tags: ['Segments'],
  summary: 'A segment',
  security: secured,
  request: { params: segmentId },
  responses: { 200: json(segmentSchema, 'The segment'), 401: errors[401], 404: errors[404] },
});

const deleteSegment = createRoute({
  method: 'delete',
  path: '/v1/segments/{id}',
  tags: ['Segments'],
  summary: 'Delete a segment (its creator or an admin)',
  security: secured,
  request: { params: segmentId },
  responses: { 204: { description: 'Deleted' }, 401: errors[401], 403: errors[403], 404: errors[404] },
});

const segmentContacts = createRoute({
  method: 'get',
  path: '/v1/segments/{id}/contacts',
  tags: ['Segments'],
  summary: 'The contacts of a segment that you may see, newest first',
  description:
    'A manager gets their own contacts, a team lead those of the managers of their teams, an admin all. A page may hold fewer than `limit` contacts; follow `nextCursor` while it is there.',
  security: secured,
  request: { params: segmentId, query: z.object(pageQuery) },
  responses: {
    200: json(
      z.object({ items: z.array(segmentContactSchema), nextCursor: z.string().optional() }),
      'A page of contacts',
    ),
    401: errors[401],
    404: errors[404],
    422: errors[422],
  },
});

/** Saved contact filters and their contacts, per viewer. */
export const segmentRoutes: RouteModule = (app, deps) => {
  const segments = new SegmentRepository(deps.data);
  const auth = authenticated(deps);
  app.use('/v1/segments', auth);
  app.use('/v1/segments/*', auth);

  app.openapi(listSegments, async (c) =>
    c.json(await segments.list(c.var.viewer, c.req.valid('query')), 200),
  );
  app.openapi(createSegment, async (c) =>
    c.json(await segments.create(c.var.viewer, c.req.valid('json')), 201),
  );
  app.openapi(getSegment, async (c) =>
    c.json(await segments.get(c.var.viewer, c.req.valid('param').id), 200),
  );
  app.openapi(deleteSegment, async (c) => {
    await segments.delete(c.var.viewer, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(segmentContacts, async (c) => {
    const page = await segments.contacts(c.var.viewer, c.req.valid('param').id, c.req.valid('query'));
    return c.json(page, 200);
  });
};
