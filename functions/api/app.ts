import { OpenAPIHono } from '@hono/zod-openapi';
import { LeadflowError, PayloadTooLargeError, RoleForbiddenError, type Viewer } from '@leadflow/core';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ApiDeps, ApiEnv } from './deps';
import { routeModules } from './routes';

export type { ApiDeps } from './deps';
export type ApiApp = OpenAPIHono<ApiEnv>;

/** The largest body a managers' route reads (a whole runtime configuration fits). */
const MAX_BODY_BYTES = 256 * 1024;

/** Field errors of a request that failed its zod schema, in the shape every leadflow error has. */
function validationFailure(
  c: Context,
  issues: readonly { path: PropertyKey[]; code: string; message: string }[],
) {
  return c.json(
    {
      error: 'validation_failed',
      message: 'The request has invalid fields.',
      fields: issues.map((issue) => ({
        field: issue.path.map(String).join('.') || '(request)',
        code: issue.code,
        message: issue.message,
      })),
    },
    422,
  );
}

/**
 * The managers' API under `/v1/` (leads, contacts, tasks, segments, me, analytics, administration), its
 * OpenAPI 3.1 document and reference page. Knows nothing about Lambda: `handler.ts` adapts it, `local/`
 * serves it. Every `/v1/` route but the public ones authenticates the bearer token first.
 */
export function createApiApp(deps: ApiDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return validationFailure(c, result.error.issues);
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'An access token from the Cognito user pool (on AWS) or the local issuer (`npm run -s token -- <user>`).',
  });

  // Bounded like every endpoint: a configuration is the largest body the managers' API takes.
  for (const prefix of [
    '/v1/leads/*',
    '/v1/contacts/*',
    '/v1/merges/*',
    '/v1/segments',
    '/v1/segments/*',
    '/v1/me',
    '/v1/me/*',
    '/v1/admin/*',
  ]) {
    app.use(
      prefix,
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new PayloadTooLargeError(`The body is larger than ${MAX_BODY_BYTES} bytes.`);
        },
      }),
    );
  }
  for (const register of routeModules) register(app, deps);

  app.onError((error, c) => {
    const route = c.req.routePath;
    if (error instanceof LeadflowError) {
      deps.observe?.({ route, status: error.status, error: error.code });
      if (error.status === 401) c.header('WWW-Authenticate', 'Bearer realm="leadflow"');
      return c.json(
        { error: error.code, message: error.message, fields: error.fields },
        error.status as 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 428 | 429 | 503,
      );
    }
    if (error instanceof HTTPException && error.status < 500) {
      // The validator's own refusals: a body that is not JSON, or not the declared content type.
      deps.observe?.({ route, status: error.status, error: 'malformed_body' });
      return c.json(
        { error: 'malformed_body', message: error.message || 'The request body could not be read.' },
        error.status as 400 | 413 | 415,
      );
    }
    deps.observe?.({ route, status: 500, error: `${error.name}: ${error.message.slice(0, 200)}` });
    return c.json({ error: 'internal_error', message: 'Something went wrong; please retry.' }, 500);
  });
  return app;
}

/**
 * The middleware every managers' route runs first: the bearer token becomes `c.var.viewer` (401 and 403
 * come from `authenticate`).
 */
export function authenticated(deps: ApiDeps) {
  return async (c: Context<ApiEnv>, next: () => Promise<void>) => {
    c.set('viewer', await deps.authenticate(c.req.header('authorization')));
    await next();
  };
}

/** Refuses (403) a viewer whose role is not one of `roles`. */
export function requireRole(viewer: Viewer, ...roles: Viewer['role'][]): void {
  if (!roles.includes(viewer.role)) {
    throw new RoleForbiddenError(`This needs the role ${roles.join(' or ')}; you are ${viewer.role}.`);
  }
}
