import { createRoute, z } from '@hono/zod-openapi';
import { ActionLinkRepository, type LinkActionResult, type LinkUse } from '@leadflow/aws';
import {
  type ActionLink,
  type ActionLinkCheck,
  type ActionPageStrings,
  actionLinkLabel,
  actionPageStrings,
  escapeHtml,
  type LeadflowConfig,
  verifyActionLink,
} from '@leadflow/core';
import type { Context } from 'hono';
import type { ApiEnv } from '../deps';
import type { RouteModule } from '.';
import { linkPageHeaders } from './link-page';

/** The tag of the alert's link pages in the OpenAPI document: public, the token is the authority. */
export const ACTION_LINKS_TAG = 'Alert links (public)';

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}' +
  'button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#137333;color:#fff;cursor:pointer}' +
  '.muted{color:#555}code{font-size:.95em}';

/** The action pages' headers (see `linkPageHeaders`). */
const PAGE = linkPageHeaders(STYLE);
export const ACTION_PAGE_CSP = PAGE.csp;
const HEADERS = PAGE.headers;

type Status = 200 | 400 | 403 | 409 | 410 | 500 | 503;

const tokenParam = z.object({
  token: z
    .string()
    .openapi({ param: { name: 'token', in: 'path' }, description: 'The signed token of the alert’s link.' }),
});

const html = (description: string) => ({
  content: { 'text/html': { schema: z.string() } },
  description,
});

const pages = {
  400: html('A malformed token: nothing changed'),
  403: html('A token whose signature does not match (tampered): nothing changed'),
  409: html(
    'The link was already used (the page says by whom and when), or the lead is no longer the manager’s, is closed, or nobody else can take it: nothing changed',
  ),
  410: html('The link has expired: nothing changed'),
  503: html('Action links are not configured on this server'),
};

const confirmRoute = createRoute({
  method: 'get',
  path: '/a/{token}',
  tags: [ACTION_LINKS_TAG],
  summary: 'The confirmation page of an alert’s link ("I’m on it", "Pass it on")',
  description:
    'Shows what the link will do, for which lead id (no personal data), and a button that posts to the same URL. A GET changes nothing, so a mail scanner that opens every link acts on none. The token is read from the path only, never from a query string.',
  security: [],
  request: { params: tokenParam },
  responses: { 200: html('The confirmation page, with its button'), ...pages },
});

const actRoute = createRoute({
  method: 'post',
  path: '/a/{token}',
  tags: [ACTION_LINKS_TAG],
  summary: 'Perform an alert’s link: acknowledge the lead, or pass it on',
  description:
    'Acts once per token, as the manager it names: `acknowledge` records their first response ("I’m on it"); `pass` gives the lead to the next available manager of its team by the team’s fairness rules and alerts them. The token is the single-purpose authority (no cookie, no bearer token). Answers an HTML page with the result.',
  security: [],
  request: { params: tokenParam },
  responses: {
    200: html('Done: the page says what happened'),
    ...pages,
    500: html('The action failed; retry'),
  },
});

/** A page to answer: its status, its HTML, and for the logs what went wrong (never the token). */
interface Page {
  readonly status: Status;
  readonly html: string;
  readonly error?: string;
}

/** What a page is written with: the runtime configuration (managers' names) and the manager's words. */
interface PageContext {
  readonly config: LeadflowConfig;
  readonly language: string;
  readonly t: ActionPageStrings;
}

/**
 * `/a/{token}`: the pages behind the alert's one-tap links. `GET` only shows what the link will do, with a
 * button; the action happens on that button's `POST`. A used, expired or tampered token gets a clear page
 * and changes nothing. The token is read from the path alone.
 */
export const actionRoutes: RouteModule = (app, deps) => {
  const links = new ActionLinkRepository(deps.data);
  app.openAPIRegistry.registerPath(confirmRoute);
  app.openAPIRegistry.registerPath(actRoute);

  const send = (c: Context<ApiEnv>, { status, html, error }: Page) => {
    deps.observe?.({ route: c.req.routePath, status, ...(error ? { error } : {}) });
    return c.body(html, status, HEADERS);
  };

  /**
   * The token checked now: the page for a token that is no good, or what it grants. A malformed or
   * tampered token is answered before anything is read.
   */
  const check = async (
    token: string,
  ): Promise<
    { page: Page } | { check: Extract<ActionLinkCheck, { link: ActionLink }>; ctx: PageContext }
  > => {
    if (deps.linkKey === undefined) {
      const t = actionPageStrings('en');
      return {
        page: {
          status: 503,
          html: page('en', t.unavailableTitle, para(t.unavailable)),
          error: 'links_unavailable',
        },
      };
    }
    const result = verifyActionLink(token, deps.linkKey, deps.data.clock());
    if (!result.ok && result.reason !== 'expired') {
      const t = actionPageStrings('en');
      return {
        page: {
          status: result.reason === 'tampered' ? 403 : 400,
          html: page('en', t.invalidTitle, para(t.invalid) + para(t.nothingChanged)),
          error: `link_${result.reason}`,
        },
      };
    }
    const config = await deps.data.config();
    // The manager's own language (English once they are gone from the configuration).
    const language = config.managers.get(result.link.managerId)?.language ?? 'en';
    return { check: result, ctx: { config, language, t: actionPageStrings(language) } };
  };

  app.get('/a/:token', async (c) => {
    const token = c.req.param('token');
    const checked = await check(token);
    if ('page' in checked) return send(c, checked.page);
    const { check: result, ctx } = checked;
    // Used first: a used link says who used it and when, even once it has expired.
    const use = await links.findUse(token);
    if (use) return send(c, usedPage(use, ctx));
    if (!result.ok) return send(c, expiredPage(result.link, ctx));
    return send(c, confirmPage(result.link, ctx));
  });

  app.post('/a/:token', async (c) => {
    const token = c.req.param('token');
    const checked = await check(token);
    if ('page' in checked) return send(c, checked.page);
    const { check: result, ctx } = checked;
    if (!result.ok) {
      const use = await links.findUse(token);
      return send(c, use ? usedPage(use, ctx) : expiredPage(result.link, ctx));
    }
    try {
      return send(c, resultPage(await links.perform(token, result.link), result.link, ctx));
    } catch (error) {
      // The claim was given back: the manager may simply try again. No internals on the page.
      const name = error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : 'unknown';
      return send(c, {
        status: 500,
        html: page(ctx.language, ctx.t.failedTitle, para(ctx.t.failed)),
        error: name,
      });
    }
  });
};

/** What the link will do, for which lead (its id only), and the button that does it. */
function confirmPage(link: ActionLink, { config, language, t }: PageContext): Page {
  const label = actionLinkLabel(link.action, language);
  return {
    status: 200,
    html: page(
      language,
      t.confirmTitle[link.action],
      para(t.confirm[link.action](link.leadId)) +
        para(t.as(managerName(link.managerId, config)), 'muted') +
        // No action attribute: the form posts to this very URL, the token in its path.
        `<form method="post"><button type="submit">${escapeHtml(label)}</button></form>`,
    ),
  };
}

function usedPage(use: LinkUse, { config, language, t }: PageContext): Page {
  return {
    status: 409,
    html: page(
      language,
      t.usedTitle,
      para(t.used(managerName(use.managerId, config), when(use.at))) + para(t.nothingChanged),
    ),
    error: 'link_used',
  };
}

function expiredPage(link: ActionLink, { language, t }: PageContext): Page {
  return {
    status: 410,
    html: page(
      language,
      t.expiredTitle,
      para(t.expired(when(new Date(link.exp * 1000).toISOString()))) + para(t.nothingChanged),
    ),
    error: 'link_expired',
  };
}

/** What the action came to. */
function resultPage(outcome: LinkActionResult, link: ActionLink, ctx: PageContext): Page {
  const { t, language, config } = ctx;
  const lead = link.leadId;
  const done = (text: string): Page => ({ status: 200, html: page(language, t.doneTitle, para(text)) });
  const refused = (title: string, text: string, error: string): Page => ({
    status: 409,
    html: page(language, title, para(text) + para(t.nothingChanged)),
    error,
  });
  switch (outcome.kind) {
    case 'acknowledged':
      return done(t.acknowledged(lead));
    case 'already_acknowledged':
      return done(t.alreadyAcknowledged(lead, when(outcome.at)));
    case 'passed':
      return done(t.passed(lead, managerName(outcome.to, config)));
    case 'used':
      return usedPage(outcome.use, ctx);
    case 'not_yours':
      return refused(t.notYoursTitle, t.notYours(lead), 'link_not_owner');
    case 'closed':
      return refused(t.closedTitle, t.closed(lead), 'link_lead_closed');
    case 'nobody_available':
      return refused(t.nobodyTitle, t.nobody(lead), 'link_nobody_available');
  }
}

/** A manager as the pages name them: their name and id (their id alone once they are gone). */
function managerName(managerId: string, config: LeadflowConfig): string {
  const manager = config.managers.get(managerId);
  return manager ? `${manager.name} (${manager.id})` : managerId;
}

/** An instant as the pages show it: `2026-12-02 10:00:05 UTC`. */
function when(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function para(text: string, className?: string): string {
  return `<p${className ? ` class="${className}"` : ''}>${escapeHtml(text)}</p>`;
}

function page(language: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="${escapeHtml(language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
