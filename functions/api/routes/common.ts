import { z } from '@hono/zod-openapi';

/** Every managers' route needs a bearer token. */
export const secured = [{ bearerAuth: [] }];

export const errorSchema = z
  .object({
    error: z.string().openapi({ example: 'not_found' }),
    message: z.string(),
    fields: z
      .array(z.object({ field: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: 'One entry per offending field.' }),
  })
  .openapi('Error');

const error = (description: string) => ({
  content: { 'application/json': { schema: errorSchema } },
  description,
});

/** The error answers a managers' route can give, by status. */
export const errors = {
  400: error('Malformed request body'),
  401: error('Missing, expired, tampered or foreign token'),
  403: error('The role lacks the right'),
  404: error('Not found, or not visible to you'),
  409: error('The state forbids the change'),
  412: error('If-Match names a version that is no longer current'),
  422: error('Invalid fields'),
} as const;

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

export const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(100).default(25).openapi({ description: 'Page size (1–100).' }),
  cursor: z.string().max(2000).optional().openapi({ description: 'The `nextCursor` of the previous page.' }),
};

/** `a,b,c` → `['a','b','c']` (an empty list is no filter). */
export const commaList = <const T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .max(500)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(z.enum(values)).max(20))
    .openapi({ type: 'string' });

export const ifMatchHeader = z.object({
  'if-match': z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'The ETag you read (`"3"`): the change applies only if it is still current.' }),
});

export const idParam = (name: string, description: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(100)
      .openapi({ param: { name: 'id', in: 'path' }, description: `${name} ${description}` }),
  });
