import { createRoute, z } from '@hono/zod-openapi';
import { LeadRepository, limitSchema } from '@leadflow/aws';
import {
  CHANNELS,
  etagOf,
  newNoteSchema,
  newTaskSchema,
  PRIORITIES,
  STAGES,
  stageChangeSchema,
  TASK_TYPES,
  taskPatchSchema,
} from '@leadflow/core';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { body, commaList, errors, ifMatchHeader, json, pageQuery, secured } from './common';

const stage = z.enum(STAGES);

export const leadSchema = z
  .object({
    leadId: z.string(),
    contactId: z.string(),
    status: stage,
    channel: z.string(),
    sourceId: z.string(),
    teamId: z.string(),
    ownerId: z.string().optional(),
    priority: z.string(),
    score: z.number(),
    tags: z.array(z.string()),
    capturedAt: z.string(),
    touchedAt: z.string(),
    version: z.number(),
    etag: z.string(),
    assignment: z.object({ rule: z.string(), strategy: z.string().optional(), reason: z.string() }),
    funnel: z.object({}),
    firstResponse: z
      .object({
        at: z.string(),
        by: z.string().optional(),
        via: z.string().optional(),
        speedToLeadMs: z.number().optional(),
      })
      .optional(),
    acknowledged: z.object({ at: z.string(), by: z.string().optional() }).optional(),
    sla: z
      .object({
        policyId: z.string(),
        priority: z.string(),
        ownerId: z.string(),
        generation: z.number().describe('1 for the first owner; each new owner gets a new clock'),
        startedAt: z.string(),
        dueAt: z.string().describe('The first-response deadline'),
        level: z.number().describe('The highest escalation level reached'),
        nextAt: z.string().optional(),
        warnedAt: z.string().optional(),
        breachedAt: z.string().optional(),
        stoppedAt: z.string().optional(),
        stoppedBy: z.enum(['acknowledged', 'contacted']).optional(),
      })
      .optional()
      .describe('The first-response SLA clock (absent: none runs)'),
    capture: z.object({}),
  })
  .openapi('Lead');

const timelineEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    kind: z.string(),
    leadId: z.string().optional(),
    summary: z.string().optional(),
  })
  .openapi('TimelineEntry');

export const taskSchema = z
  .object({
    taskId: z.string(),
    leadId: z.string(),
    type: z.enum(TASK_TYPES),
    dueAt: z.string(),
    assigneeId: z.string(),
    status: z.enum(['open', 'done']),
    version: z.number(),
    etag: z.string(),
  })
  .openapi('Task');

const leadDetailSchema = z
  .object({
    lead: leadSchema,
    contact: z.object({ contactId: z.string() }),
    otherLeads: z.array(z.object({ leadId: z.string() })),
    tasks: z.array(taskSchema),
    timeline: z.array(timelineEntrySchema),
  })
  .openapi('LeadDetail');

const leadId = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' }, example: '01JD…' }),
});

const listLeads = createRoute({
  method: 'get',
  path: '/v1/leads',
  tags: ['Leads'],
  summary: 'List the leads you may see',
  description:
    "A manager sees their own leads, a team lead their teams' (and their own), an admin all. Newest first; `sort=priority` puts urgent first.",
  security: secured,
  request: {
    query: z.object({
      status: commaList(STAGES)
        .optional()
        .openapi({ description: 'Comma-separated stages, e.g. `new,contacted`.' }),
      channel: commaList(CHANNELS).optional(),
      priority: commaList(PRIORITIES).optional(),
      tag: z.string().max(64).optional(),
      from: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'Captured at or after (ISO 8601).' }),
      to: z.iso
        .datetime({ offset: true })
        .optional()
        .openapi({ description: 'Captured at or before (ISO 8601).' }),
      owner: z.string().max(64).optional().openapi({ description: 'A manager id (team leads and admins).' }),
      sort: z.enum(['newest', 'priority']).default('newest'),
      ...pageQuery,
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(leadSchema), nextCursor: z.string().optional() }), 'A page of leads'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const getLead = createRoute({
  method: 'get',
  path: '/v1/leads/{id}',
  tags: ['Leads'],
  summary: 'A lead, its contact and its full timeline',
  security: secured,
  request: { params: leadId },
  responses: { 200: json(leadDetailSchema, 'The lead'), 401: errors[401], 404: errors[404] },
});

const patchLead = createRoute({
  method: 'patch',
  path: '/v1/leads/{id}',
  tags: ['Leads'],
  summary: 'Move the lead through the funnel',
  description:
    '`new → contacted → qualified → proposal → won | lost`. `won` needs the lead contacted first, an `amount` and a `currency`; `lost` needs a `reason`. Send `If-Match` with the ETag you read.',
  security: secured,
  request: { params: leadId, headers: ifMatchHeader, ...body(stageChangeSchema) },
  responses: {
    200: json(leadSchema, 'The lead after the change'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
    412: errors[412],
    422: errors[422],
  },
});

const acknowledge = createRoute({
  method: 'post',
  path: '/v1/leads/{id}/acknowledge',
  tags: ['Leads'],
  summary: '"I\'m on it": record the first response',
  description: 'The owner only. Repeating it is harmless: the first acknowledgement stays.',
  security: secured,
  request: { params: leadId },
  responses: {
    200: json(z.object({ lead: leadSchema, acknowledgedNow: z.boolean() }), 'Acknowledged'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
  },
});

const addNote = createRoute({
  method: 'post',
  path: '/v1/leads/{id}/notes',
  tags: ['Leads'],
  summary: "Add a note to the lead's timeline",
  security: secured,
  request: { params: leadId, ...body(newNoteSchema) },
  responses: {
    201: json(timelineEntrySchema, 'The note'),
    401: errors[401],
    404: errors[404],
    422: errors[422],
  },
});

const addTask = createRoute({
  method: 'post',
  path: '/v1/leads/{id}/tasks',
  tags: ['Tasks'],
  summary: 'Add a task (call, meeting or email) at a due time',
  description: "For yourself or the lead's owner; a team lead or admin may give it to any manager.",
  security: secured,
  request: { params: leadId, ...body(newTaskSchema) },
  responses: {
    201: json(taskSchema, 'The task'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    422: errors[422],
  },
});

const patchTask = createRoute({
  method: 'patch',
  path: '/v1/leads/{id}/tasks/{taskId}',
  tags: ['Tasks'],
  summary: 'Mark a task done (or open), or move its due time',
  security: secured,
  request: {
    params: leadId.extend({
      taskId: z
        .string()
        .min(1)
        .max(100)
        .openapi({ param: { name: 'taskId', in: 'path' } }),
    }),
    headers: ifMatchHeader,
    ...body(taskPatchSchema),
  },
  responses: {
    200: json(taskSchema, 'The task'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    412: errors[412],
    422: errors[422],
  },
});

const assign = createRoute({
  method: 'post',
  path: '/v1/leads/{id}/assign',
  tags: ['Leads'],
  summary: 'Reassign the lead (team leads and admins)',
  description:
    "To a named manager (who must be available), or without `managerId` to the next available manager of the lead's team by its strategy, passing over the current owner. The reason is recorded and the new owner alerted.",
  security: secured,
  request: {
    params: leadId,
    headers: ifMatchHeader,
    ...body(
      z
        .object({
          managerId: z.string().min(1).max(64).optional(),
          reason: z.string().trim().min(1).max(500).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: json(leadSchema, 'The lead, reassigned'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
    412: errors[412],
    422: errors[422],
  },
});

const myTasks = createRoute({
  method: 'get',
  path: '/v1/tasks',
  tags: ['Tasks'],
  summary: 'Your tasks, by due time',
  security: secured,
  request: { query: z.object({ status: z.enum(['open', 'done']).optional(), ...pageQuery }) },
  responses: {
    200: json(z.object({ items: z.array(taskSchema), nextCursor: z.string().optional() }), 'A page of tasks'),
    401: errors[401],
  },
});

/** Leads, their funnel, notes, tasks and reassignment. */
export const leadRoutes: RouteModule = (app, deps) => {
  const leads = new LeadRepository(deps.data);
  const auth = authenticated(deps);
  app.use('/v1/leads', auth);
  app.use('/v1/leads/*', auth);
  app.use('/v1/tasks', auth);

  app.openapi(listLeads, async (c) => {
    const query = c.req.valid('query');
    const page = await leads.list(c.var.viewer, { ...query, limit: limitSchema.parse(query.limit) });
    return c.json(page, 200);
  });
  app.openapi(getLead, async (c) => {
    const detail = await leads.get(c.var.viewer, c.req.valid('param').id);
    c.header('ETag', detail.lead.etag);
    return c.json(detail, 200);
  });
  app.openapi(patchLead, async (c) => {
    const lead = await leads.changeStage(
      c.var.viewer,
      c.req.valid('param').id,
      c.req.valid('json'),
      c.req.valid('header')['if-match'],
    );
    c.header('ETag', lead.etag);
    return c.json(lead, 200);
  });
  app.openapi(acknowledge, async (c) => {
    const result = await leads.acknowledge(c.var.viewer, c.req.valid('param').id);
    c.header('ETag', etagOf(result.lead.version));
    return c.json(result, 200);
  });
  app.openapi(addNote, async (c) => {
    const note = await leads.addNote(c.var.viewer, c.req.valid('param').id, c.req.valid('json').text);
    return c.json(note, 201);
  });
  app.openapi(addTask, async (c) => {
    const task = await leads.addTask(c.var.viewer, c.req.valid('param').id, c.req.valid('json'));
    c.header('ETag', task.etag);
    return c.json(task, 201);
  });
  app.openapi(patchTask, async (c) => {
    const { id, taskId } = c.req.valid('param');
    const task = await leads.updateTask(
      c.var.viewer,
      id,
      taskId,
      c.req.valid('json'),
      c.req.valid('header')['if-match'],
    );
    c.header('ETag', task.etag);
    return c.json(task, 200);
  });
  app.openapi(assign, async (c) => {
    const lead = await leads.assign(
      c.var.viewer,
      c.req.valid('param').id,
      c.req.valid('json'),
      c.req.valid('header')['if-match'],
    );
    return c.json(lead, 200);
  });
  app.openapi(myTasks, async (c) => {
    const query = c.req.valid('query');
    return c.json(await leads.myTasks(c.var.viewer, query), 200);
  });
};
