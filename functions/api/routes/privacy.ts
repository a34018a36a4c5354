import { createRoute, z } from '@hono/zod-openapi';
import { HYGIENE_SECTIONS, HygieneRepository, PrivacyRepository } from '@leadflow/aws';
import { authenticated, requireRole } from '../app';
import type { RouteModule } from '.';
import { errorSchema, errors, idParam, json, secured } from './common';

const item = z.looseObject({});
const items = z.array(item);

const exportSchema = z
  .object({
    contactId: z.string(),
    resolvedFrom: z
      .string()
      .optional()
      .openapi({ description: 'The id asked for, when it had been merged into `contactId`.' }),
    exportedAt: z.string(),
    contact: item.openapi({ description: 'The profile, as stored (sets as arrays).' }),
    mergedContacts: items.openapi({ description: 'Profiles of the contacts merged into this one.' }),
    identities: items,
    leads: items,
    timeline: items,
    notes: items,
    tasks: items,
    otherItems: items,
    merges: items.openapi({ description: 'Merge records (`MERGE#…`) that name the contact.' }),
    submissions: items.openapi({ description: 'Stored raw submissions (`SUB#…`), while retained.' }),
    acknowledgements: items.openapi({ description: 'The acknowledgement ledger entry of its mailbox.' }),
    notifications: items.openapi({ description: 'The notifier’s send records of its notifications.' }),
    rawMail: z.array(
      z.object({
        key: z.string(),
        status: z.enum(['found', 'missing', 'unreadable', 'omitted']),
        size: z.number().optional(),
        encoding: z.enum(['utf8', 'base64']).optional(),
        content: z.string().optional(),
        truncated: z.boolean().optional(),
      }),
    ),
  })
  .openapi('ContactExport');

const countsSchema = z.object({
  contacts: z.number(),
  identities: z.number(),
  leads: z.number(),
  timelineEntries: z.number(),
  tasks: z.number(),
  otherItems: z.number(),
  submissions: z.number(),
  notificationRecords: z.number(),
  acknowledgementRecords: z.number(),
  rawMailObjects: z.number(),
  mergeRecords: z.number(),
  linkedEntries: z.number(),
});

const erasureSchema = z
  .object({
    contactId: z.string(),
    resolvedFrom: z.string().optional(),
    mergedContacts: z.array(z.string()),
    erasedAt: z.string().openapi({ description: 'When the contact was first erased.' }),
    alreadyErased: z
      .boolean()
      .openapi({ description: 'True when it had been erased before: this request swept again.' }),
    erased: countsSchema.openapi({ description: 'What this request removed or scrubbed.' }),
  })
  .openapi('Erasure');

const page = <T extends z.ZodType>(schema: T) =>
  z.object({ items: z.array(schema), nextCursor: z.string().optional() });

const hygieneSchema = z
  .object({
    staleDays: z.number(),
    staleBefore: z.string(),
    undeliverable: page(
      z.object({
        contactId: z.string(),
        ownerId: z.string().optional(),
        since: z.string(),
        reason: z.string(),
        addresses: z.array(z.string()),
        possibleDuplicates: z.number(),
      }),
    ).optional(),
    duplicates: page(
      z.object({
        contactId: z.string(),
        ownerId: z.string().optional(),
        since: z.string(),
        duplicates: z.array(z.string()),
      }),
    ).optional(),
    stale: page(
      z.object({
        leadId: z.string(),
        contactId: z.string(),
        teamId: z.string(),
        ownerId: z.string().optional(),
        status: z.string(),
        channel: z.string().optional(),
        capturedAt: z.string().optional(),
        touchedAt: z.string(),
        untouchedDays: z.number(),
      }),
    ).optional(),
  })
  .openapi('Hygiene');

const contactId = idParam('Contact', 'id (a merged-away id stands for the contact it was merged into)');

const exportContact = createRoute({
  method: 'get',
  path: '/v1/admin/contacts/{id}/export',
  tags: ['Privacy'],
  summary: 'Everything stored about a contact (admins)',
  description:
    'The profile, identities, leads with their captures, timeline, notes, tasks, merge records, stored raw submissions, the acknowledgement ledger entry, the notifier’s records and the raw inbound mail (up to 256 KiB of each message, 2 MiB in all). Recorded in the audit trail as `contact.exported`.',
  security: secured,
  request: { params: contactId },
  responses: {
    200: json(exportSchema, 'The export'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
  },
});

const eraseContact = createRoute({
  method: 'delete',
  path: '/v1/admin/contacts/{id}',
  tags: ['Privacy'],
  summary: 'Erase a contact’s personal data everywhere (admins)',
  description:
    'Removes names, addresses, numbers, identities, custom fields, tags, message text, subjects, call details, stored raw submissions, send and acknowledgement records and raw mail, and leaves a tombstone. Leads keep their ids, channel, source, status, times and amounts; counters keep their counts. Repeating it answers 200 again (`alreadyErased`); an id that never existed is 404. Recorded in the audit trail as `contact.erased`, with counts only.',
  security: secured,
  request: { params: contactId },
  responses: {
    200: json(erasureSchema, 'What was erased'),
    401: errors[401],
    403: errors[403],
    404: errors[404],
    409: errors[409],
    503: json(errorSchema, 'The raw mail store is unavailable here: nothing was erased'),
  },
});

const hygiene = createRoute({
  method: 'get',
  path: '/v1/admin/hygiene',
  tags: ['Privacy'],
  summary: 'Contacts and leads that need care (admins)',
  description:
    'Contacts with undeliverable or invalid addresses, contacts with unresolved possible duplicates, and open leads untouched for `staleDays`. Each section is a page of its own; pass a section’s `nextCursor` (with or without `section`) for its next page.',
  security: secured,
  request: {
    query: z.object({
      staleDays: z.coerce
        .number()
        .int()
        .min(1)
        .max(3650)
        .default(14)
        .openapi({ description: 'A lead untouched this many days is stale.' }),
      section: z.enum(HYGIENE_SECTIONS).optional().openapi({ description: 'Only this section.' }),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(100)
        .default(25)
        .openapi({ description: 'Page size (1–100).' }),
      cursor: z.string().max(2000).optional().openapi({ description: 'A section’s `nextCursor`.' }),
    }),
  },
  responses: {
    200: json(hygieneSchema, 'The hygiene lists'),
    401: errors[401],
    403: errors[403],
    422: errors[422],
  },
});

/** Export and erasure of a contact, and the hygiene lists: admins only. */
export const privacyRoutes: RouteModule = (app, deps) => {
  const privacy = new PrivacyRepository(deps.data);
  const lists = new HygieneRepository(deps.data);
  const auth = authenticated(deps);
  app.use('/v1/admin/contacts/*', auth);
  app.use('/v1/admin/hygiene', auth);

  app.openapi(exportContact, async (c) => {
    requireRole(c.var.viewer, 'admin');
    return c.json(await privacy.export(c.var.viewer, c.req.valid('param').id), 200);
  });
  app.openapi(eraseContact, async (c) => {
    requireRole(c.var.viewer, 'admin');
    return c.json(await privacy.erase(c.var.viewer, c.req.valid('param').id), 200);
  });
  app.openapi(hygiene, async (c) => {
    requireRole(c.var.viewer, 'admin');
    return c.json(await lists.report(c.var.viewer, c.req.valid('query')), 200);
  });
};
