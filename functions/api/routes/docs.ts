import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceUnavailableError } from '@leadflow/core';
import type { Context } from 'hono';
import type { ApiApp } from '../app';
import { registerPublicRoutes } from '../openapi/public';
import type { RouteModule } from '.';

/** The version of this API description (the managers' routes are `/v1/`). */
export const API_VERSION = '1.0.0';

/**
 * Where the bundled api function carries Swagger UI's files: a folder next to its handler, which the CDK
 * bundling copies there (infra/functions.ts). Locally they are read from `node_modules/swagger-ui-dist`.
 */
export const BUNDLED_ASSETS_DIR = 'swagger-ui';
/** The Swagger UI files the page loads, by the name it loads them under; the same names in the bundle. */
export const SWAGGER_UI_FILES = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;
type SwaggerUiFile = keyof typeof SWAGGER_UI_FILES;

/**
 * Same-origin everything, no inline script. Swagger UI 5's bundle sets styles through the DOM (allowed),
 * not through `<style>` elements or `style` attributes, so `style-src` needs no `'unsafe-inline'`; the
 * inline `<style>` of its standalone preset is why that preset is not loaded.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const DESCRIPTION = `Every route of leadflow: the public capture API (forms, the chat widget, provider webhooks) and the managers' API under \`/v1/\`.

**Managers' routes** need a bearer token (**Authorize** above): an access token of the Cognito user pool on AWS, or locally \`npm run -s token -- <user>\` (a seeded user such as \`admin@example.com\`). A lead or contact you may not see answers 404; a missing, expired or foreign token 401; a role without the right 403.

**Public routes** take no token: each checks its own signature, secret or form key, as described on the route.

Every error has the body \`{ "error", "message", "fields" }\`, where \`fields\` names each offending field.`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leadflow API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// A file of ours rather than an inline script, so that the CSP needs no 'unsafe-inline'. The spec comes from
// this server only (`queryConfigEnabled: false`: no `?url=` from a link), and nothing is sent to a validator.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  queryConfigEnabled: false,
  validatorUrl: null,
  persistAuthorization: false,
});
`;

/** The folder Swagger UI's files are read from: next to the bundled handler, else the installed package. */
export function swaggerUiDir(moduleUrl: string = import.meta.url): string | undefined {
  const bundled = join(dirname(fileURLToPath(moduleUrl)), BUNDLED_ASSETS_DIR);
  if (existsSync(join(bundled, 'swagger-ui-bundle.js'))) return bundled;
  try {
    return dirname(createRequire(moduleUrl).resolve('swagger-ui-dist/package.json'));
  } catch {
    return undefined;
  }
}

interface Asset {
  readonly body: string;
  readonly etag: string;
}

/** `/openapi.json`, `/docs` (Swagger UI, served from this server under a strict CSP) and its assets. */
export const docsRoutes: RouteModule = (app) => {
  registerPublicRoutes(app);
  const dir = swaggerUiDir();
  const assets = new Map<SwaggerUiFile, Asset>();
  // Read on first use, then kept: most cold starts of the api function serve `/v1/` and never need them.
  const asset = (name: SwaggerUiFile): Asset => {
    const known = assets.get(name);
    if (known) return known;
    if (dir === undefined) {
      throw new ServiceUnavailableError('The API reference page is not installed here.', 'docs_unavailable');
    }
    const body = readFileSync(join(dir, name), 'utf8');
    const read = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    assets.set(name, read);
    return read;
  };

  let document: string | undefined;
  app.get('/openapi.json', (c) => {
    // Built once, after every route module has registered its routes.
    document ??= JSON.stringify(openApiDocument(app));
    return c.body(document, 200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  });

  app.get('/docs', (c) =>
    c.body(PAGE, 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': DOCS_CSP,
      'cache-control': 'no-cache',
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    }),
  );

  app.get('/docs/init.js', (c) =>
    c.body(INIT_SCRIPT, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    }),
  );

  for (const name of Object.keys(SWAGGER_UI_FILES) as SwaggerUiFile[]) {
    app.get(`/docs/${name}`, (c) => serveAsset(c, asset(name), SWAGGER_UI_FILES[name]));
  }
};

/** The OpenAPI 3.1 document of every route registered on `app`, managers' and public. */
export function openApiDocument(app: ApiApp) {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'leadflow', version: API_VERSION, description: DESCRIPTION },
    servers: [{ url: '/' }],
  });
}

function serveAsset(c: Context, { body, etag }: Asset, contentType: string): Response {
  const headers = {
    etag,
    // Not versioned in its URL: a day, then revalidated with the ETag.
    'cache-control': 'public, max-age=86400',
    'x-content-type-options': 'nosniff',
  };
  if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
  return c.body(body, 200, { ...headers, 'content-type': contentType });
}
