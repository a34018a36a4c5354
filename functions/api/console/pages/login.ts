import { type Html, html } from '../html';
import { layout, notice, type PageContext } from '../layout';

export interface LocalUserChoice {
  readonly username: string;
  readonly label: string;
}

/** The local sign-in: one button per seeded user, each one tap to a session (local systems only). */
export function localLoginPage(
  ctx: PageContext,
  data: { users: readonly LocalUserChoice[]; next: string; expired: boolean; failed?: boolean },
): string {
  const t = ctx.t.login;
  const message: Html | string = data.failed
    ? notice(t.failed, 'error')
    : data.expired
      ? notice(t.expired, 'error')
      : '';
  return layout(
    ctx,
    'login',
    t.title,
    html`<h1>${t.title}</h1>
${message}
<p>${t.localIntro}</p>
<form method="post" action="/console/login">
<input type="hidden" name="next" value="${data.next}">
<ul class="leads">${data.users.map(
      (user) =>
        html`<li><button type="submit" name="user" value="${user.username}" class="big">${t.signInAs(user.label)}</button></li>`,
    )}</ul>
</form>`,
  );
}

/** A sign-in that did not complete (a refused or replayed code, no sign-in configured). */
export function loginProblemPage(ctx: PageContext, text: string, next: string | undefined): string {
  const t = ctx.t.login;
  return layout(
    ctx,
    'login',
    t.title,
    html`<h1>${t.title}</h1>
${notice(text, 'error')}
${next ? html`<p><a class="button primary" href="/console/login?next=${encodeURIComponent(next)}">${t.signInAgain}</a></p>` : ''}`,
  );
}

export function signedOutPage(ctx: PageContext): string {
  const t = ctx.t.login;
  return layout(
    ctx,
    'signed-out',
    t.signedOutTitle,
    html`<h1>${t.signedOutTitle}</h1>
<p role="status">${t.signedOut}</p>
<p><a class="button primary" href="/console/login">${t.signInAgain}</a></p>`,
  );
}
