import { createHash } from 'node:crypto';
import type { RouteModule } from '.';

/** What a lead id may look like in a link (ULIDs, test ids); anything else is no lead of ours. */
const LEAD_ID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$/;

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}' +
  'pre{background:#f3f3f3;padding:.75rem 1rem;overflow-x:auto;border-radius:4px}code{font-size:.95em}';

/** No script at all; the one inline stylesheet is allowed by its hash, nothing else loads. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "img-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CONSOLE_CSP,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

/**
 * `GET /console/leads/{id}`, where the manager alert's "Open the lead" link points until the console exists.
 * The page has no token, so it shows no lead data: it says how to read the lead with the API. Its base URL
 * comes from configuration (`publicBaseUrl`), never from the request's `Host` or `X-Forwarded-*` headers,
 * which a sender controls; without one the links are relative and the commands name a variable to set.
 */
export const consoleRoutes: RouteModule = (app, deps) => {
  const base = deps.publicBaseUrl?.replace(/\/+$/, '');

  app.get('/console/leads/:id', (c) => {
    const id = c.req.param('id');
    if (!LEAD_ID.test(id)) return c.body(notFoundPage(), 404, HEADERS);
    return c.body(leadPage(id, base), 200, HEADERS);
  });
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function leadPage(id: string, base: string | undefined): string {
  const api = base ?? '$LEADFLOW_API';
  const lead = `${api}/v1/leads/${encodeURIComponent(id)}`;
  const docs = `${base ?? ''}/docs`;
  const setBase =
    base === undefined
      ? `<p>Set <code>LEADFLOW_API</code> to the address of this API first, e.g. <code>LEADFLOW_API=https://api.example.com</code>.</p>\n`
      : '';
  return page(
    `Lead ${id}`,
    `<h1>Lead <code>${escapeHtml(id)}</code></h1>
<p>This lead is in leadflow. The managers' console is not built yet, so this page cannot show it: it has no sign-in and holds no lead data. Read the lead with the managers' API instead.</p>
<h2>1. Get a token</h2>
<p>Locally (<code>npm start</code>), print an access token for your user:</p>
<pre><code>TOKEN=$(npm run -s token -- &lt;your user&gt;)</code></pre>
<p>On AWS, use an access token of the Cognito user pool.</p>
<h2>2. Read the lead</h2>
${setBase}<pre><code>curl -H "Authorization: Bearer $TOKEN" ${escapeHtml(lead)}</code></pre>
<p>The answer holds the lead, its contact and its full timeline. It is 404 when you may not see the lead.</p>
<h2>3. Say you are on it</h2>
<pre><code>curl -X POST -H "Authorization: Bearer $TOKEN" ${escapeHtml(`${lead}/acknowledge`)}</code></pre>
<p>Every route, with its fields and answers, is in the <a href="${escapeHtml(docs)}">API reference</a>.</p>`,
  );
}

function notFoundPage(): string {
  return page(
    'No such lead',
    `<h1>No such lead</h1>
<p>This link does not name a lead. Open the link from the alert again, or list your leads with the managers' API (<code>GET /v1/leads</code>).</p>`,
  );
}
