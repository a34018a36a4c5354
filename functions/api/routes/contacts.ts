import { createRoute, z } from '@hono/zod-openapi';
import { ContactRepository, contactPatchSchema } from '@leadflow/aws';
import { authenticated } from '../app';
import type { RouteModule } from '.';
import { body, errors, ifMatchHeader, json } from './common';
import { leadSchema, taskSchema } from './leads';

export const contactSchema = z
  .object({
    contactId: z.string(),
    name: z.string().optional(),
    emails: z.array(z.string()),
    phones: z.array(z.string()),
    identities: z.array(
      z.object({
        identity: z.string().openapi({ example: 'email:mina@example.com' }),
        provenance: z.enum(['verified', 'claimed']).openapi({
          description:
            '`verified`: a provider vouched for it (caller ID, WhatsApp id, DMARC pass); `claimed`: typed by a visitor.',
        }),
      }),
    ),
    ownerId: z.string().optional(),
    tags: z.array(z.string()),
    fields: z.record(z.string(), z.unknown()),
    channels: z.array(z.string()),
    sources: z.array(z.string()),
    possibleDuplicates: z.array(z.string()),
    undeliverable: z
      .object({ at: z.string(), reason: z.string().optional(), addresses: z.array(z.string()) })
      .optional()
      .openapi({
        description:
          'Addresses mail cannot reach (a permanent bounce or a complaint): suppressed, and follow-ups stop.',
      }),
    unsubscribedAt: z.string().optional().openapi({
      description: 'When the contact unsubscribed from follow-ups (RFC 8058 one-click or the page).',
    }),
    createdAt: z.string(),
    version: z.number(),
    etag: z.string(),
  })
  .openapi('Contact');

const contactId = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const secured = [{ bearerAuth: [] }];

const findContacts = createRoute({
  method: 'get',
  path: '/v1/contacts',
  tags: ['Contacts'],
  summary: 'Find contacts by email or phone, written any way',
  description:
    'Normalized as the door normalizes (email case, E.164 phone in `region` when it has no country code). Only contacts you may see are found.',
  security: secured,
  request: {
    query: z.object({
      email: z.string().max(320).optional(),
      phone: z.string().max(120).optional(),
      region: z
        .string()
        .regex(/^[A-Za-z]{2}$/)
        .optional()
        .openapi({ description: "ISO region for national phone numbers (default: the forms' most common)." }),
    }),
  },
  responses: {
    200: json(
      z.object({ items: z.array(contactSchema), normalized: z.array(z.string()) }),
      'Matching contacts',
    ),
    401: errors[401],
    422: errors[422],
  },
});

const getContact = createRoute({
  method: 'get',
  path: '/v1/contacts/{id}',
  tags: ['Contacts'],
  summary: 'A contact with its leads, identities and timeline',
  security: secured,
  request: { params: contactId },
  responses: {
    200: json(
      z.object({
        contact: contactSchema,
        resolvedFrom: z.string().optional().openapi({ description: 'The merged-away id you asked for.' }),
        leads: z.array(leadSchema),
        tasks: z.array(taskSchema),
        timeline: z.array(z.object({ id: z.string(), at: z.string(), kind: z.string() })),
      }),
      'The contact',
    ),
    401: errors[401],
    404: errors[404],
  },
});

const patchContact = createRoute({
  method: 'patch',
  path: '/v1/contacts/{id}',
  tags: ['Contacts'],
  summary: 'Set tags and custom fields',
  description: 'Custom fields must be declared in the configuration (`contactFields`); `null` clears one.',
  security: secured,
  request: { params: contactId, headers: ifMatchHeader, ...body(contactPatchSchema) },
  responses: {
    200: json(contactSchema, 'The contact'),
    401: errors[401],
    404: errors[404],
    412: errors[412],
    422: errors[422],
  },
});

const duplicates = createRoute({
  method: 'get',
  path: '/v1/contacts/{id}/duplicates',
  tags: ['Contacts'],
  summary: 'Possible duplicates of a contact',
  security: secured,
  request: { params: contactId },
  responses: {
    200: json(
      z.object({
        items: z.array(contactSchema),
        hidden: z.number().openapi({ description: 'Possible duplicates you may not see.' }),
      }),
      'Possible duplicates',
    ),
    401: errors[401],
    404: errors[404],
  },
});

const merge = createRoute({
  method: 'post',
  path: '/v1/contacts/{id}/merge',
  tags: ['Contacts'],
  summary: 'Merge another contact into this one (team leads and admins)',
  security: secured,
  request: { params: contactId, ...body(z.object({ otherId: z.string().min(1).max(100) }).strict()) },
  responses: {
    200: json(
      z.object({ mergeId: z.string(), survivorId: z.string(), mergedId: z.string() }),
      'Merged; undo with POST /v1/merges/{mergeId}/undo',
    ),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
  },
});

const undo = createRoute({
  method: 'post',
  path: '/v1/merges/{id}/undo',
  tags: ['Contacts'],
  summary: 'Undo a merge exactly (team leads and admins)',
  security: secured,
  request: {
    params: z.object({
      id: z
        .string()
        .min(1)
        .max(120)
        .openapi({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: {
    200: json(
      z.object({ mergeId: z.string(), survivorId: z.string(), loserId: z.string() }),
      'The merged contact is separate again',
    ),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
  },
});

/** Contacts: search, the whole story, tags and custom fields, duplicates and merges. */
export const contactRoutes: RouteModule = (app, deps) => {
  const contacts = new ContactRepository(deps.data);
  const auth = authenticated(deps);
  app.use('/v1/contacts', auth);
  app.use('/v1/contacts/*', auth);
  app.use('/v1/merges/*', auth);

  app.openapi(findContacts, async (c) =>
    c.json(await contacts.find(c.var.viewer, c.req.valid('query')), 200),
  );
  app.openapi(getContact, async (c) => {
    const detail = await contacts.get(c.var.viewer, c.req.valid('param').id);
    c.header('ETag', detail.contact.etag);
    return c.json(detail, 200);
  });
  app.openapi(patchContact, async (c) => {
    const contact = await contacts.patch(
      c.var.viewer,
      c.req.valid('param').id,
      c.req.valid('json'),
      c.req.valid('header')['if-match'],
    );
    c.header('ETag', contact.etag);
    return c.json(contact, 200);
  });
  app.openapi(duplicates, async (c) =>
    c.json(await contacts.duplicates(c.var.viewer, c.req.valid('param').id), 200),
  );
  app.openapi(merge, async (c) =>
    c.json(await contacts.merge(c.var.viewer, c.req.valid('param').id, c.req.valid('json').otherId), 200),
  );
  app.openapi(undo, async (c) => {
    const result = await contacts.undoMerge(c.var.viewer, c.req.valid('param').id);
    return c.json({ mergeId: result.mergeId, survivorId: result.survivorId, loserId: result.loserId }, 200);
  });
};
