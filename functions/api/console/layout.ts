import { LANGUAGES, type Language, type Viewer } from '@leadflow/core';
import { SCRIPT, STYLESHEET } from './assets';
import { type Child, flag, type Html, html } from './html';
import { type Format, type Messages, messages } from './i18n';
import { CSRF_FIELD } from './session';

/** What every page is written with: the viewer's words, formats and session. */
export interface PageContext {
  readonly t: Messages;
  readonly language: Language;
  readonly format: Format;
  /** The signed-in viewer; absent on the sign-in pages. */
  readonly viewer?: Viewer | undefined;
  /** The viewer's display name (the manager's name, else the username). */
  readonly viewerName?: string | undefined;
  /** The session's CSRF token, for every form that changes something. */
  readonly csrf?: string | undefined;
  /** This page's path and query (the language switch returns here). */
  readonly path: string;
}

/** The pages, for the navigation's `aria-current` and the script's page swaps. */
export type PageName =
  | 'inbox'
  | 'lead'
  | 'search'
  | 'contact'
  | 'me'
  | 'analytics'
  | 'login'
  | 'signed-out'
  | 'error';

/** The hidden CSRF field of a form. */
export function csrfField(ctx: PageContext): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf ?? ''}">`;
}

/** A message the page opens with (done, or what went wrong); it takes the focus after an inline post. */
export function notice(text: Child, kind: 'done' | 'error' = 'done', details?: Child): Html {
  const role = kind === 'error' ? 'alert' : 'status';
  return html`<div class="notice${kind === 'error' ? ' error' : ''}" role="${role}" tabindex="-1" data-focus><p>${text}</p>${details}</div>`;
}

function navigation(ctx: PageContext, page: PageName): Html {
  const viewer = ctx.viewer;
  if (!viewer) return html``;
  const item = (href: string, name: PageName, label: string) =>
    html`<li><a href="${href}"${page === name ? html` aria-current="page"` : ''}>${label}</a></li>`;
  const leads = viewer.role === 'team_lead' || viewer.role === 'admin';
  return html`<nav aria-label="${ctx.t.nav.label}"><ul>
${item('/console/leads', 'inbox', ctx.t.nav.inbox)}
${item('/console/contacts', 'search', ctx.t.nav.search)}
${item('/console/me', 'me', ctx.t.nav.me)}
${leads ? item('/console/analytics', 'analytics', ctx.t.nav.analytics) : ''}
<li><form method="post" action="/console/logout">${csrfField(ctx)}<button type="submit" class="link">${ctx.t.nav.signOut}</button></form></li>
</ul></nav>`;
}

function languageSwitch(ctx: PageContext): Html {
  const buttons = LANGUAGES.map(
    (language) =>
      html`<button type="submit" name="lang" value="${language}" lang="${language}" aria-pressed="${language === ctx.language ? 'true' : 'false'}">${messages(language).languageName}</button>`,
  );
  return html`<footer class="lang"><form method="post" action="/console/language">
${ctx.csrf ? csrfField(ctx) : ''}<input type="hidden" name="next" value="${ctx.path}">
<span id="lang-label">${ctx.t.language}:</span> <span class="actions" role="group" aria-labelledby="lang-label">${buttons}</span>
</form></footer>`;
}

/** A whole page: the header with the navigation, the page's `<main>`, the language switch. */
export function layout(ctx: PageContext, page: PageName, title: string, body: Child): string {
  const viewer = ctx.viewer;
  const who = viewer
    ? html`<p class="visually-hidden">${ctx.t.signedInAs(ctx.viewerName ?? viewer.username, ctx.t.role[viewer.role])}</p>`
    : '';
  return `<!doctype html>
${html`<html lang="${ctx.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${title} · leadflow</title>
<link rel="stylesheet" href="${STYLESHEET.path}">
<script src="${SCRIPT.path}" defer></script>
</head>
<body>
<a class="skip" href="#main">${ctx.t.skip}</a>
<header class="top"><div class="top-inner">
<a class="brand" href="/console/leads">leadflow</a>
${navigation(ctx, page)}
</div>${who}</header>
<main id="main" tabindex="-1" data-page="${page}">
${body}
</main>
${languageSwitch(ctx)}
</body>
</html>
`}`;
}

/** `<option>`s with one selected. */
export function options(
  choices: readonly { readonly value: string; readonly label: string }[],
  selected: string | undefined,
): Html[] {
  return choices.map(
    (choice) =>
      html`<option value="${choice.value}"${flag('selected', choice.value === selected)}>${choice.label}</option>`,
  );
}

/** The page for a 403, a 404 or a failure: says what happened, links back to the inbox. */
export function errorPage(
  ctx: PageContext,
  kind: 'notFound' | 'forbidden' | 'failed',
  detail?: string,
): string {
  const words = ctx.t[kind];
  // The language switch returns to the inbox: nothing of the refused address is written back.
  return layout(
    { ...ctx, path: '/console/leads' },
    'error',
    words.title,
    html`<h1>${words.title}</h1>
<p>${words.body}</p>
${detail ? html`<p class="muted">${detail}</p>` : ''}
${ctx.viewer ? html`<p><a href="/console/leads">${ctx.t.backToInbox}</a></p>` : ''}`,
  );
}
