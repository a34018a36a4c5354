import { createRoute, z } from '@hono/zod-openapi';
import { newWebhookSchema, WebhookRepository } from '@leadflow/aws';
import { CHAT_KINDS, DOMAIN_EVENT_TYPES } from '@leadflow/core';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { body, errors, idParam, json, pageQuery, secured } from './common';

const webhookSchema = z
  .object({
    id: z.string().openapi({ example: 'wh_01JD…' }),
    url: z.string(),
    events: z.array(z.enum(DOMAIN_EVENT_TYPES)),
    description: z.string().optional(),
    status: z
      .enum(['active', 'disabled'])
      .openapi({ description: 'Disabled when its endpoint answered 410.' }),
    createdAt: z.string(),
    createdBy: z.string(),
    disabledAt: z.string().optional(),
    disabledReason: z.string().optional(),
  })
  .openapi('Webhook');

const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().openapi({
      description:
        'The `whsec_` signing secret (Standard Webhooks). Shown this once: store it with the receiver.',
      example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    }),
  })
  .openapi('CreatedWebhook');

const disabledIntegrationSchema = z
  .object({
    teamId: z.string(),
    kind: z.enum(CHAT_KINDS),
    disabledAt: z.string(),
    reason: z.string(),
  })
  .openapi('DisabledIntegration');

const targetSchema = z
  .union([
    z.object({ kind: z.literal('webhook'), subscriptionId: z.string() }),
    z.object({ kind: z.enum(CHAT_KINDS), teamId: z.string() }),
  ])
  .openapi('DeliveryTarget');

const deadLetterSchema = z
  .object({
    id: z.string(),
    eventId: z.string().openapi({ description: 'The `webhook-id` every attempt carried.' }),
    eventType: z.enum(DOMAIN_EVENT_TYPES),
    target: targetSchema,
    attempts: z.number().int(),
    lastStatus: z.number().int().optional(),
    lastError: z.string(),
    queuedAt: z.string(),
    deadAt: z.string(),
    replayedAt: z.string().optional(),
    replayedBy: z.string().optional(),
    payload: z.unknown().openapi({ description: 'The body that was posted.' }),
  })
  .openapi('WebhookDeadLetter');

const listWebhooks = createRoute({
  method: 'get',
  path: '/v1/admin/webhooks',
  tags: ['Administration'],
  summary: 'The outbound webhook subscriptions, and chat integrations turned off (admins)',
  description:
    'Subscriptions without their secrets. `disabledIntegrations` lists the teams’ Slack or Teams webhooks that answered 404 or 410: they stay off until the URL in the secrets changes.',
  security: secured,
  responses: {
    200: json(
      z.object({ items: z.array(webhookSchema), disabledIntegrations: z.array(disabledIntegrationSchema) }),
      'The subscriptions',
    ),
    401: errors[401],
    403: errors[403],
  },
});

const createWebhook = createRoute({
  method: 'post',
  path: '/v1/admin/webhooks',
  tags: ['Administration'],
  summary: 'Subscribe an endpoint to domain events (admins)',
  description: `Events: ${DOMAIN_EVENT_TYPES.map((type) => `\`${type}\``).join(', ')}. Each is posted as JSON \`{id, type, timestamp, data}\`, signed per Standard Webhooks (\`webhook-id\`, \`webhook-timestamp\`, \`webhook-signature: v1,<base64>\`) with the secret in the answer, and retried for about 41 hours (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h). The URL must be https. An endpoint answering 410 is disabled.`,
  security: secured,
  request: body(newWebhookSchema),
  responses: {
    201: json(createdWebhookSchema, 'The subscription, with its secret (shown once)'),
    401: errors[401],
    403: errors[403],
    409: errors[409],
    422: errors[422],
  },
});

const deleteWebhook = createRoute({
  method: 'delete',
  path: '/v1/admin/webhooks/{id}',
  tags: ['Administration'],
  summary: 'Delete a subscription (admins)',
  description: 'Deliveries still queued for it are dropped.',
  security: secured,
  request: { params: idParam('Webhook', 'id') },
  responses: { 204: { description: 'Deleted' }, 401: errors[401], 403: errors[403], 404: errors[404] },
});

const listDeadLetters = createRoute({
  method: 'get',
  path: '/v1/admin/webhooks/dead-letters',
  tags: ['Administration'],
  summary: 'Deliveries that failed past their retries, newest first (admins)',
  description: 'Kept 30 days. Webhook and chat deliveries alike; replay one to send it again.',
  security: secured,
  request: { query: z.object(pageQuery) },
  responses: {
    200: json(
      z.object({ items: z.array(deadLetterSchema), nextCursor: z.string().optional() }),
      'A page of dead letters',
    ),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

const replayDeadLetter = createRoute({
  method: 'post',
  path: '/v1/admin/webhooks/dead-letters/{id}/replay',
  tags: ['Administration'],
  summary: 'Send a dead letter again (admins)',
  description:
    'Queued as a new first attempt with the same `webhook-id`, so the receiver can tell a repeat; once per dead letter. A deleted or disabled subscription refuses it (409).',
  security: secured,
  request: { params: idParam('Dead letter', 'id') },
  responses: {
    202: json(
      z.object({ id: z.string(), deliveryId: z.string(), replayedAt: z.string() }).openapi('WebhookReplay'),
      'Queued',
    ),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
  },
});

/** Outbound webhooks: subscriptions, dead letters and replay (admins). */
export const webhookRoutes: RouteModule = (app, deps) => {
  const webhooks = new WebhookRepository(deps.data, {
    allowLoopback: deps.deliveries?.allowLoopbackUrls ?? false,
    enqueue: deps.deliveries?.enqueue,
  });
  const auth = authenticated(deps);
  app.use('/v1/admin/webhooks', auth);
  app.use('/v1/admin/webhooks/*', auth);

  app.openapi(listWebhooks, async (c) => c.json(await webhooks.list(c.var.viewer), 200));
  app.openapi(createWebhook, async (c) =>
    c.json(await webhooks.create(c.var.viewer, c.req.valid('json')), 201),
  );
  // Registered before `{id}` routes of the same depth would be; DELETE has no `dead-letters` twin.
  app.openapi(listDeadLetters, async (c) =>
    c.json(await webhooks.deadLetters(c.var.viewer, c.req.valid('query')), 200),
  );
  app.openapi(deleteWebhook, async (c) => {
    await webhooks.delete(c.var.viewer, c.req.valid('param').id);
    return c.body(null, 204);
  });
  app.openapi(replayDeadLetter, async (c) =>
    c.json(await webhooks.replay(c.var.viewer, c.req.valid('param').id), 202),
  );
};
