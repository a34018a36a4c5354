import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataContext } from '@leadflow/aws';
import { META_SIGNATURE_HEADER, TELEGRAM_SECRET_HEADER, UnauthorizedError } from '@leadflow/core';
import type { Hono } from 'hono';
import { inspectRoutes } from 'hono/dev';
import { describe, expect, it } from 'vitest';
import { type ApiDeps, createApiApp } from '../../functions/api/app';
import { PUBLIC_TAG } from '../../functions/api/openapi/public';
import { ACTION_LINKS_TAG } from '../../functions/api/routes/actions';
import { BUNDLED_ASSETS_DIR, SWAGGER_UI_FILES, swaggerUiDir } from '../../functions/api/routes/docs';
import { UNSUBSCRIBE_TAG } from '../../functions/api/routes/unsubscribe';
import { createIngestApp } from '../../functions/ingest/app';
import { FORM_KEY_HEADER } from '../../functions/ingest/guard';
import { API_BUNDLED_FILES } from '../../infra/functions';
import { copyAfterBundling } from '../../infra/leadflow-function';
import { demoConfig, FakeSubmissionStore, sequentialIds } from './support';

/** The description routes must answer without a database: any touch of the data context fails the test. */
const untouchable = new Proxy({} as DataContext, {
  get: (_target, name) => {
    throw new Error(`the data context was touched (${String(name)})`);
  },
});

function apiApp(extra: Partial<ApiDeps> = {}) {
  return createApiApp({
    data: untouchable,
    authenticate: async () => {
      throw new UnauthorizedError('A bearer token is required.');
    },
    ...extra,
  });
}

const config = demoConfig();
const ingest = createIngestApp({
  config,
  store: new FakeSubmissionStore().store,
  enqueue: async () => {},
  countSpam: async () => {},
  newId: sequentialIds('sub'),
});
const api = apiApp();

type Operation = {
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, unknown>;
  parameters?: { name: string; in: string }[];
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

const document = (async () => {
  const response = await api.request('/openapi.json');
  expect(response.status).toBe(200);
  return (await response.json()) as Document;
})();

/** The API's own pages (its description, the managers' console), which are not routes of the JSON API. */
const SELF = /^\/(openapi\.json$|docs(\/|$)|console(\/|$))/;

/** Every method + path a hono app answers with a handler (not middleware), as OpenAPI writes them. */
function servedRoutes(app: Hono): string[] {
  const routes = inspectRoutes(app)
    .filter((route) => !route.isMiddleware && !SELF.test(route.path))
    .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
  return [...new Set(routes)].sort();
}

function operations(doc: Document): { key: string; path: string; method: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      key: `${method.toUpperCase()} ${path}`,
      path,
      method,
      operation,
    })),
  );
}

describe('/openapi.json', () => {
  it('describes every route of the ingest and managers’ apps', async () => {
    const documented = new Set(operations(await document).map(({ key }) => key));
    const served = [...servedRoutes(ingest), ...servedRoutes(api as unknown as Hono)];
    expect(served.length).toBeGreaterThan(30);
    expect(served.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('documents nothing that is not served: each preflight answers, every other operation is a route', async () => {
    const served = new Set([...servedRoutes(ingest), ...servedRoutes(api as unknown as Hono)]);
    const preflights = operations(await document).filter(({ method }) => method === 'options');
    expect(preflights.map(({ path }) => path).sort()).toEqual(['/v1/chat/{widgetId}', '/v1/forms/{formId}']);
    const others = operations(await document).filter(({ method }) => method !== 'options');
    expect(others.filter(({ key }) => !served.has(key)).map(({ key }) => key)).toEqual([]);

    // The preflights are answered by the CORS middleware, so they are checked by calling them.
    const form = config.forms.get('demo-contact');
    const widget = config.channels.chatWidgets[0];
    for (const [url, origin] of [
      ['/v1/forms/demo-contact', form?.allowedOrigins[0]],
      [`/v1/chat/${widget?.id}`, widget?.allowedOrigins[0]],
    ]) {
      const response = await ingest.request(url as string, {
        method: 'OPTIONS',
        headers: { origin: origin as string, 'access-control-request-method': 'POST' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    }
  });

  it('is OpenAPI 3.1 with the bearer scheme, and every operation has a summary and a 2xx answer', async () => {
    const doc = (await document) as Document & { components: { securitySchemes: object }; servers: object };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: '/' }]);
    expect(doc.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
    });
    for (const { key, operation } of operations(doc)) {
      expect(operation.summary, key).toMatch(/\S/);
      expect(
        Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status)),
        key,
      ).toBe(true);
    }
  });

  it('secures every managers’ operation with the bearer token and no public one', async () => {
    const publicPaths = new Set(servedRoutes(ingest).map((route) => route.split(' ')[1]));
    const ops = operations(await document);
    // The alert's link pages are the api function's own public routes: the signed token is their authority.
    const linkPages = ops.filter(({ operation }) => operation.tags?.includes(ACTION_LINKS_TAG));
    expect(linkPages.map(({ key }) => key).sort()).toEqual(['GET /a/{token}', 'POST /a/{token}']);
    for (const { key, operation } of linkPages) {
      expect(operation.security, key).toEqual([]);
      expect(operation.tags, key).toEqual([ACTION_LINKS_TAG]);
    }
    // So are the follow-ups' unsubscribe pages (RFC 8058 one-click: no cookie, no authentication).
    const unsubscribePages = ops.filter(({ operation }) => operation.tags?.includes(UNSUBSCRIBE_TAG));
    expect(unsubscribePages.map(({ key }) => key).sort()).toEqual(['GET /u/{token}', 'POST /u/{token}']);
    for (const { key, operation } of unsubscribePages) {
      expect(operation.security, key).toEqual([]);
      expect(operation.tags, key).toEqual([UNSUBSCRIBE_TAG]);
    }
    const managers = ops.filter(
      ({ path }) => !publicPaths.has(path) && path !== '/a/{token}' && path !== '/u/{token}',
    );
    const open = ops.filter(({ path }) => publicPaths.has(path));
    expect(managers.length).toBeGreaterThan(20);
    for (const { key, path, operation } of managers) {
      expect(path, key).toMatch(/^\/v1\//);
      expect(operation.security, key).toEqual([{ bearerAuth: [] }]);
    }
    for (const { key, operation } of open) {
      expect(operation.security ?? [], key).toEqual([]);
      expect(operation.tags, key).toEqual([PUBLIC_TAG]);
    }
  });

  it('names the headers the public routes actually read', async () => {
    const headers = new Set(
      operations(await document).flatMap(({ operation }) =>
        (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'header')
          .map((parameter) => parameter.name.toLowerCase()),
      ),
    );
    for (const header of [
      FORM_KEY_HEADER,
      'Idempotency-Key',
      META_SIGNATURE_HEADER,
      TELEGRAM_SECRET_HEADER,
      'X-Twilio-Signature',
      'X-Leadflow-Signature',
      'X-Leadflow-Timestamp',
    ]) {
      expect(headers).toContain(header.toLowerCase());
    }
  });

  it('offers every request body type the form route parses', async () => {
    const post = (await document).paths['/v1/forms/{formId}']?.post as Operation & {
      requestBody: { content: object };
    };
    expect(Object.keys(post.requestBody.content).sort()).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ]);
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['202', '303', '400', '403', '404', '413', '415', '422', '429', '503']),
    );
  });
});

describe('/docs', () => {
  it('serves Swagger UI from this server under a strict CSP', async () => {
    const response = await api.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("form-action 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);

    const html = await response.text();
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(urls.sort()).toEqual(['/docs/init.js', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']);
    // No inline script or style: every <script> has a src, and there is no <style> or style attribute.
    expect([...html.matchAll(/<script\b([^>]*)>/g)].every((match) => /\bsrc="/.test(match[1] ?? ''))).toBe(
      true,
    );
    expect(html).not.toMatch(/<style|\bstyle=/);
  });

  it.each([
    ['/docs/swagger-ui-bundle.js', /^text\/javascript/, 'SwaggerUIBundle'],
    ['/docs/swagger-ui.css', /^text\/css/, '.swagger-ui'],
    ['/docs/init.js', /^text\/javascript/, "url: '/openapi.json'"],
  ])('serves %s', async (url, type, content) => {
    const response = await api.request(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(type);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+|no-cache/);
    expect(await response.text()).toContain(content);
  });

  it('revalidates a cached asset with its ETag', async () => {
    const first = await api.request('/docs/swagger-ui.css');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await api.request('/docs/swagger-ui.css', { headers: { 'if-none-match': etag as string } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });
});

describe('Swagger UI in the Lambda bundle', () => {
  it('is copied next to the bundled handler, where the docs route finds it', () => {
    expect(Object.keys(API_BUNDLED_FILES).sort()).toEqual(
      Object.keys(SWAGGER_UI_FILES)
        .map((name) => `${BUNDLED_ASSETS_DIR}/${name}`)
        .sort(),
    );
    const repo = join(import.meta.dirname, '..', '..');
    const bundle = mkdtempSync(join(tmpdir(), 'leadflow-api-bundle-'));
    try {
      const commands = copyAfterBundling(API_BUNDLED_FILES).afterBundling(repo, bundle);
      execFileSync('sh', ['-c', commands.join(' && ')]);
      const handler = pathToFileURL(join(bundle, 'index.mjs')).href;
      expect(swaggerUiDir(handler)).toBe(join(bundle, BUNDLED_ASSETS_DIR));
    } finally {
      rmSync(bundle, { recursive: true, force: true });
    }
  });

  it('is read from the installed package otherwise', () => {
    expect(swaggerUiDir()).toMatch(/node_modules[\\/]swagger-ui-dist$/);
  });
});

// The managers' console (`/console/…`) is tested in test/unit/console.test.ts and test/e2e/console.test.ts.
