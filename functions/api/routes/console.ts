import {
  AdminRepository,
  availabilityPatchSchema,
  ContactRepository,
  LeadRepository,
  readAnalytics,
} from '@leadflow/aws';
import {
  ALERT_EVENTS,
  CHANNELS,
  canLead,
  daySchema,
  type LeadflowConfig,
  LeadflowError,
  NotFoundError,
  newTaskSchema,
  RoleForbiddenError,
  stageChangeSchema,
  UnauthorizedError,
  ValidationError,
  type Viewer,
  WEEKDAYS,
} from '@leadflow/core';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ASSETS } from '../console/assets';
import {
  authorizeUrl,
  exchangeCode,
  hostedOrigin,
  logoutUrl,
  newPkce,
  newState,
} from '../console/hosted-login';
import { type Html, html } from '../console/html';
import { chooseLanguage, formatter, isLanguage, messages, zonedToIso } from '../console/i18n';
import { errorPage, notice, type PageContext } from '../console/layout';
import { analyticsPage } from '../console/pages/analytics';
import type { NameOf } from '../console/pages/common';
import { contactPage, searchPage } from '../console/pages/contacts';
import { type InboxView, inboxOrder, inboxPage, statusFilter } from '../console/pages/inbox';
import { leadPage } from '../console/pages/lead';
import { localLoginPage, loginProblemPage, signedOutPage } from '../console/pages/login';
import { mePage } from '../console/pages/me';
import {
  CSRF_FIELD,
  chooseLanguageCookie,
  csrfToken,
  endSession,
  fromOwnOrigin,
  INBOX_PATH,
  loginUrl,
  readLanguageChoice,
  readSession,
  recallSignIn,
  rememberSignIn,
  SIGNED_OUT_PATH,
  safeNext,
  sameSecret,
  startSession,
} from '../console/session';
import type { ApiEnv } from '../deps';
import type { RouteModule } from '.';

export { escapeHtml } from '../console/html';

/** The largest form the console takes (a note is at most 5,000 characters). */
const MAX_FORM_BYTES = 64 * 1024;
/** Leads an inbox page shows (the API's largest page). */
const INBOX_PAGE_SIZE = 50;
/** What a lead id may look like in a link (ULIDs, test ids); anything else is no lead of ours. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._~:-]{0,119}$/;

/**
 * Same-origin script and style only (no inline script or style at all), forms post only here (and, for the
 * sign-out's redirect, to the hosted sign-in domain), nothing frames the pages.
 */
export function consoleCsp(formOrigin?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    `form-action 'self'${formOrigin ? ` ${formOrigin}` : ''}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

interface Session {
  readonly token: string;
  readonly viewer: Viewer;
}

type Form = Readonly<Record<string, string>>;

const field = (form: Form, name: string) => {
  const value = form[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** Where a request returns to after signing in: the page itself, or for a form post the page it was on. */
function returnPath(c: Context): string {
  const url = new URL(c.req.url);
  if (c.req.method === 'GET') return safeNext(`${url.pathname}${url.search}`);
  const lead = /^\/console\/leads\/([^/]+)\//.exec(url.pathname);
  if (lead) return safeNext(`/console/leads/${lead[1]}`);
  if (url.pathname.startsWith('/console/me/')) return '/console/me';
  return INBOX_PATH;
}

/**
 * The managers' console under `/console/`: pages rendered here from the same repositories the JSON API
 * calls, with the same viewer, so a page shows exactly what `/v1/` would show that viewer and nothing more.
 * Sign-in is Cognito's managed login (or, locally, a pick of the seeded users); the session is the access
 * token in an `HttpOnly` cookie; every form post is checked for its origin and the session's CSRF token.
 */
export const consoleRoutes: RouteModule = (app, deps) => {
  const leads = new LeadRepository(deps.data);
  const contacts = new ContactRepository(deps.data);
  const admin = new AdminRepository(deps.data);
  const headers = {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': consoleCsp(hostedOrigin(deps.hostedLogin)),
    'cache-control': 'no-store',
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'x-robots-tag': 'noindex, nofollow',
  };
  const send = (
    c: Context,
    body: string,
    status: 200 | 400 | 403 | 404 | 409 | 412 | 413 | 422 | 500 = 200,
  ) => c.body(body, status, headers);
  const seeOther = (c: Context, location: string) => {
    c.header('cache-control', 'no-store');
    return c.redirect(location, 303);
  };

  /** The words, formats and session of a page; the configuration only once someone is signed in. */
  const contextFor = (c: Context, session?: Session, config?: LeadflowConfig): PageContext => {
    const manager = session?.viewer.managerId ? config?.managers.get(session.viewer.managerId) : undefined;
    const language = chooseLanguage({
      chosen: readLanguageChoice(c),
      setting: manager?.language,
      acceptLanguage: c.req.header('accept-language'),
    });
    const url = new URL(c.req.url);
    return {
      t: messages(language),
      language,
      format: formatter(language, manager?.workingHours?.timeZone ?? config?.timeZone ?? 'UTC'),
      viewer: session?.viewer,
      viewerName: manager?.name ?? session?.viewer.username,
      csrf: session ? csrfToken(session.token) : undefined,
      path: c.req.method === 'GET' ? safeNext(`${url.pathname}${url.search}`) : returnPath(c),
    };
  };

  const nameOf =
    (config: LeadflowConfig): NameOf =>
    (id) =>
      id === undefined ? '' : (config.managers.get(id)?.name ?? id);

  /** The form of a post, as text fields (files are ignored). */
  const readForm = async (c: Context): Promise<Form> => {
    const body = await c.req.parseBody();
    return Object.fromEntries(
      Object.entries(body).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value]] : [])),
    );
  };

  /** The page for what went wrong; a failure is logged by its name only. */
  const failure = (c: Context, route: string, error: unknown, ctx: PageContext) => {
    if (error instanceof NotFoundError) return send(c, errorPage(ctx, 'notFound'), 404);
    if (error instanceof RoleForbiddenError) return send(c, errorPage(ctx, 'forbidden', error.message), 403);
    if (error instanceof ValidationError) {
      return send(
        c,
        errorPage(ctx, 'failed', error.fields.map((f) => `${f.field}: ${f.message}`).join('; ')),
        422,
      );
    }
    deps.observe?.({
      route,
      status: 500,
      error: error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : 'unknown',
    });
    return send(c, errorPage(ctx, 'failed'), 500);
  };

  /**
   * A signed-in page or action: no session, or one that ended, goes to the sign-in and comes back after;
   * a post must come from this origin with the session's CSRF token.
   */
  const signedIn =
    (
      route: string,
      handler: (
        c: Context<ApiEnv>,
        session: Session,
        config: LeadflowConfig,
        form: Form,
      ) => Promise<Response>,
    ) =>
    async (c: Context<ApiEnv>) => {
      const token = readSession(c);
      if (!token) return seeOther(c, loginUrl(returnPath(c)));
      let viewer: Viewer;
      try {
        viewer = await deps.authenticate(`Bearer ${token}`);
      } catch (error) {
        if (error instanceof UnauthorizedError) {
          endSession(c);
          return seeOther(c, loginUrl(returnPath(c), true));
        }
        return failure(c, route, error, contextFor(c));
      }
      const session = { token, viewer };
      let config: LeadflowConfig | undefined;
      try {
        config = await deps.data.config();
        let form: Form = {};
        if (c.req.method === 'POST') {
          form = await readForm(c);
          const csrf = form[CSRF_FIELD] ?? '';
          if (!fromOwnOrigin(c, deps.publicBaseUrl) || !sameSecret(csrf, csrfToken(token))) {
            deps.observe?.({ route, status: 403, error: 'csrf' });
            const ctx = contextFor(c, session, config);
            return send(c, errorPage(ctx, 'forbidden', ctx.t.badRequest), 403);
          }
        }
        return await handler(c, session, config, form);
      } catch (error) {
        return failure(c, route, error, contextFor(c, session, config));
      }
    };

  app.use(
    '/console/*',
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => send(c, errorPage(contextFor(c), 'failed', messages('en').tooLarge), 413),
    }),
  );

  app.get('/console', (c) => seeOther(c, INBOX_PATH));
  app.get('/console/', (c) => seeOther(c, INBOX_PATH));

  app.get('/console/assets/:file', (c) => {
    const asset = ASSETS.get(c.req.param('file'));
    if (!asset) return c.body('Not found', 404, { 'content-type': 'text/plain; charset=utf-8' });
    return c.body(asset.body, 200, {
      'content-type': asset.type,
      // The name carries a hash of the content.
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
  });

  // ---- Sign-in -------------------------------------------------------------------------------------------

  app.get('/console/login', (c) => {
    const next = safeNext(c.req.query('next'));
    const expired = c.req.query('expired') === '1';
    if (deps.localSignIn) {
      return send(c, localLoginPage(contextFor(c), { users: deps.localSignIn.users, next, expired }));
    }
    if (deps.hostedLogin) {
      const pkce = newPkce();
      const state = newState();
      rememberSignIn(c, { state, verifier: pkce.verifier, next });
      c.header('cache-control', 'no-store');
      return c.redirect(authorizeUrl(deps.hostedLogin, { state, challenge: pkce.challenge }), 302);
    }
    return send(c, errorPage(contextFor(c), 'notFound'), 404);
  });

  app.post('/console/login', async (c) => {
    const local = deps.localSignIn;
    if (!local) return send(c, errorPage(contextFor(c), 'notFound'), 404);
    const ctx = contextFor(c);
    if (!fromOwnOrigin(c, deps.publicBaseUrl))
      return send(c, errorPage(ctx, 'forbidden', ctx.t.badRequest), 403);
    const form = await readForm(c);
    const next = safeNext(form.next);
    const user = local.users.find((candidate) => candidate.username === form.user);
    if (!user) {
      return send(c, localLoginPage(ctx, { users: local.users, next, expired: false, failed: true }), 400);
    }
    startSession(c, await local.signIn(user.username));
    return seeOther(c, next);
  });

  app.get('/console/callback', async (c) => {
    const hosted = deps.hostedLogin;
    if (!hosted) return send(c, errorPage(contextFor(c), 'notFound'), 404);
    const ctx = contextFor(c);
    const attempt = recallSignIn(c);
    const code = c.req.query('code');
    const state = c.req.query('state');
    if (!attempt || !code || !state || code.length > 2048 || !sameSecret(state, attempt.state)) {
      deps.observe?.({ route: '/console/callback', status: 400, error: 'sign_in_state' });
      return send(c, loginProblemPage(ctx, ctx.t.login.failed, attempt?.next ?? INBOX_PATH), 400);
    }
    try {
      const token = await exchangeCode(hosted, code, attempt.verifier);
      // Checked like every request will check it: a user without a role here gets no session.
      await deps.authenticate(`Bearer ${token}`);
      startSession(c, token);
      return seeOther(c, attempt.next);
    } catch (error) {
      if (error instanceof UnauthorizedError) {
        deps.observe?.({ route: '/console/callback', status: 400, error: 'code_exchange' });
        return send(c, loginProblemPage(ctx, ctx.t.login.failed, attempt.next), 400);
      }
      return failure(c, '/console/callback', error, ctx);
    }
  });

  app.post('/console/logout', async (c) => {
    const ctx = contextFor(c);
    const token = readSession(c);
    const form = await readForm(c);
    if (
      !fromOwnOrigin(c, deps.publicBaseUrl) ||
      (token && !sameSecret(form[CSRF_FIELD] ?? '', csrfToken(token)))
    ) {
      return send(c, errorPage(ctx, 'forbidden', ctx.t.badRequest), 403);
    }
    endSession(c);
    return seeOther(c, deps.hostedLogin ? logoutUrl(deps.hostedLogin) : SIGNED_OUT_PATH);
  });

  app.get('/console/signed-out', (c) => send(c, signedOutPage(contextFor(c))));

  app.post('/console/language', async (c) => {
    const ctx = contextFor(c);
    const token = readSession(c);
    const form = await readForm(c);
    if (
      !fromOwnOrigin(c, deps.publicBaseUrl) ||
      (token && !sameSecret(form[CSRF_FIELD] ?? '', csrfToken(token)))
    ) {
      return send(c, errorPage(ctx, 'forbidden', ctx.t.badRequest), 403);
    }
    if (isLanguage(form.lang)) chooseLanguageCookie(c, form.lang);
    return seeOther(c, safeNext(form.next));
  });

  // ---- Inbox ---------------------------------------------------------------------------------------------

  app.get(
    '/console/leads',
    signedIn('/console/leads', async (c, session, config) => {
      const { viewer } = session;
      const ctx = contextFor(c, session, config);
      const canSwitch = viewer.role === 'team_lead';
      const view: InboxView =
        viewer.role === 'admin' ? 'all' : canSwitch && c.req.query('view') === 'team' ? 'team' : 'mine';
      const status = c.req.query('status') || undefined;
      const channel = (CHANNELS as readonly string[]).includes(c.req.query('channel') ?? '')
        ? c.req.query('channel')
        : undefined;
      const tag = c.req.query('tag')?.trim().toLowerCase().slice(0, 64) || undefined;
      const cursor = c.req.query('cursor') || undefined;
      const query = {
        status: statusFilter(status),
        channel: channel ? [channel] : undefined,
        tag,
        // A team lead's own view is their owner partition; their team view is their whole scope.
        owner: view === 'mine' && canSwitch ? viewer.managerId : undefined,
        limit: INBOX_PAGE_SIZE,
      };
      const [newest, urgent] = await Promise.all([
        leads.list(viewer, { ...query, cursor, sort: 'newest' }),
        // Urgent leads lead the first page even when older than its newest.
        cursor ? undefined : leads.list(viewer, { ...query, priority: ['urgent'], sort: 'newest' }),
      ]);
      const now = deps.data.clock();
      return send(
        c,
        inboxPage(ctx, {
          leads: inboxOrder([...(urgent?.items ?? []), ...newest.items], now),
          nextCursor: newest.nextCursor,
          view,
          canSwitch,
          filters: { status, channel, tag },
          nameOf: nameOf(config),
          now,
        }),
      );
    }),
  );

  // ---- Lead ----------------------------------------------------------------------------------------------

  const DONE = new Set(['acknowledged', 'status', 'note', 'task', 'assigned']);

  /** The lead page's data: the lead (404 unless visible), its contact's identities and duplicates. */
  const leadPageFor = async (
    c: Context,
    session: Session,
    config: LeadflowConfig,
    id: string,
    status: 200 | 403 | 409 | 412 | 422,
    message?: Html,
  ) => {
    const ctx = contextFor(c, session, config);
    if (!ID.test(id)) return send(c, errorPage(ctx, 'notFound'), 404);
    const { viewer } = session;
    const detail = await leads.get(viewer, id);
    const { lead } = detail;
    const visible = <T>(read: Promise<T>) =>
      read.catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
    const [contact, duplicates] = await Promise.all([
      visible(contacts.get(viewer, lead.contactId)),
      visible(contacts.duplicates(viewer, lead.contactId)),
    ]);
    const team = config.teams.get(lead.teamId);
    const done = c.req.query('done');
    const words = ctx.t.lead.done;
    const shown = message ?? (done && DONE.has(done) && words[done] ? notice(words[done]) : undefined);
    return send(
      c,
      leadPage(ctx, {
        detail,
        contact: contact?.contact,
        duplicates,
        isOwner: lead.ownerId !== undefined && lead.ownerId === viewer.managerId,
        canLead: canLead(viewer, lead, config),
        teamManagers: (team?.managers ?? []).map((manager) => ({ id: manager.id, name: manager.name })),
        nameOf: nameOf(config),
        defaultCurrency:
          config.timeZone === 'Asia/Bangkok' ? 'THB' : config.timeZone === 'Asia/Seoul' ? 'KRW' : 'USD',
        now: deps.data.clock(),
        notice: shown,
      }),
      status,
    );
  };

  app.get(
    '/console/leads/:id',
    signedIn('/console/leads/:id', (c, session, config) =>
      leadPageFor(c, session, config, c.req.param('id') ?? '', 200),
    ),
  );

  /** Runs a lead action; done: back to the lead (303); refused: the lead again, saying why. */
  const leadAction = (
    route: string,
    done: string,
    act: (viewer: Viewer, id: string, form: Form, ctx: PageContext) => Promise<unknown>,
  ) =>
    signedIn(route, async (c, session, config, form) => {
      const id = c.req.param('id') ?? '';
      const ctx = contextFor(c, session, config);
      if (!ID.test(id)) return send(c, errorPage(ctx, 'notFound'), 404);
      try {
        await act(session.viewer, id, form, ctx);
      } catch (error) {
        if (!(error instanceof LeadflowError) || error instanceof NotFoundError) throw error;
        const status =
          error.status === 412 ? 412 : error.status === 409 ? 409 : error.status === 403 ? 403 : 422;
        const text =
          status === 412 ? ctx.t.lead.stale : status === 422 ? ctx.t.lead.invalid : ctx.t.lead.refused;
        const fields = error.fields.map((f) => html`<li>${f.field}: ${f.message}</li>`);
        const details =
          status === 412
            ? undefined
            : fields.length > 0
              ? html`<ul>${fields}</ul>`
              : html`<p>${error.message}</p>`;
        return leadPageFor(c, session, config, id, status, notice(text, 'error', details));
      }
      return seeOther(c, `/console/leads/${encodeURIComponent(id)}?done=${done}`);
    });

  const ifMatch = (form: Form) => {
    const version = field(form, 'version');
    return version && /^\d{1,9}$/.test(version) ? `"${version}"` : undefined;
  };

  /** A form's fields through a core schema: its problems are the same 422 the JSON API gives. */
  const parsed = <T>(
    result:
      | { success: true; data: T }
      | {
          success: false;
          error: { issues: readonly { path: PropertyKey[]; code: string; message: string }[] };
        },
  ): T => {
    if (result.success) return result.data;
    throw new ValidationError(
      'The request has invalid fields.',
      result.error.issues.map((issue) => ({
        field: issue.path.map(String).join('.') || '(form)',
        code: issue.code,
        message: issue.message,
      })),
    );
  };

  app.post(
    '/console/leads/:id/acknowledge',
    leadAction('/console/leads/:id/acknowledge', 'acknowledged', (viewer, id) =>
      leads.acknowledge(viewer, id),
    ),
  );

  app.post(
    '/console/leads/:id/status',
    leadAction('/console/leads/:id/status', 'status', (viewer, id, form) => {
      const amount = field(form, 'amount');
      const change = parsed(
        stageChangeSchema.safeParse({
          status: field(form, 'status'),
          ...(field(form, 'reason') ? { reason: field(form, 'reason') } : {}),
          ...(amount ? { amount: Number(amount), currency: field(form, 'currency') } : {}),
        }),
      );
      return leads.changeStage(viewer, id, change, ifMatch(form));
    }),
  );

  app.post(
    '/console/leads/:id/notes',
    leadAction('/console/leads/:id/notes', 'note', (viewer, id, form) => {
      const text = field(form, 'text');
      if (!text) {
        throw new ValidationError('The note is empty.', [
          { field: 'text', code: 'required', message: 'write the note' },
        ]);
      }
      return leads.addNote(viewer, id, text.slice(0, 5000));
    }),
  );

  app.post(
    '/console/leads/:id/tasks',
    leadAction('/console/leads/:id/tasks', 'task', (viewer, id, form, ctx) => {
      const task = parsed(
        newTaskSchema.safeParse({
          type: field(form, 'type'),
          dueAt: zonedToIso(field(form, 'due') ?? '', ctx.format.timeZone),
          ...(field(form, 'title') ? { title: field(form, 'title') } : {}),
        }),
      );
      return leads.addTask(viewer, id, task);
    }),
  );

  app.post(
    '/console/leads/:id/assign',
    leadAction('/console/leads/:id/assign', 'assigned', (viewer, id, form) =>
      leads.assign(
        viewer,
        id,
        {
          ...(field(form, 'managerId') ? { managerId: field(form, 'managerId') } : {}),
          ...(field(form, 'reason') ? { reason: field(form, 'reason')?.slice(0, 500) } : {}),
        },
        ifMatch(form),
      ),
    ),
  );

  // ---- Contacts ------------------------------------------------------------------------------------------

  app.get(
    '/console/contacts',
    signedIn('/console/contacts', async (c, session, config) => {
      const ctx = contextFor(c, session, config);
      const email = c.req.query('email')?.slice(0, 320) || undefined;
      const phone = c.req.query('phone')?.slice(0, 120) || undefined;
      const regionText = c.req.query('region')?.trim().toUpperCase();
      const region = regionText && /^[A-Z]{2}$/.test(regionText) ? regionText : undefined;
      const query = { email, phone, region };
      if (!email && !phone) return send(c, searchPage(ctx, { query }));
      try {
        const found = await contacts.find(session.viewer, query);
        return send(c, searchPage(ctx, { query, results: found.items, normalized: found.normalized }));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const fields = error.fields.map((f) => html`<li>${f.field}: ${f.message}</li>`);
        return send(
          c,
          searchPage(ctx, { query, notice: notice(ctx.t.lead.invalid, 'error', html`<ul>${fields}</ul>`) }),
          422,
        );
      }
    }),
  );

  app.get(
    '/console/contacts/:id',
    signedIn('/console/contacts/:id', async (c, session, config) => {
      const ctx = contextFor(c, session, config);
      const id = c.req.param('id') ?? '';
      if (!ID.test(id)) return send(c, errorPage(ctx, 'notFound'), 404);
      const [detail, duplicates] = await Promise.all([
        contacts.get(session.viewer, id),
        contacts.duplicates(session.viewer, id),
      ]);
      return send(c, contactPage(ctx, { detail, duplicates, nameOf: nameOf(config) }));
    }),
  );

  // ---- Me ------------------------------------------------------------------------------------------------

  const leadsATeam = (config: LeadflowConfig, managerId: string | undefined) =>
    managerId !== undefined && [...config.teams.values()].some((team) => team.teamLead === managerId);

  const mePageFor = async (
    c: Context,
    session: Session,
    config: LeadflowConfig,
    status: 200 | 403 | 412 | 422 = 200,
    message?: Html,
  ) => {
    const ctx = contextFor(c, session, config);
    const me = await admin.me(session.viewer);
    const done = c.req.query('done');
    const shown =
      message ?? (done === 'availability' || done === 'alerts' ? notice(ctx.t.me.saved) : undefined);
    return send(
      c,
      mePage(ctx, { me, leadsATeam: leadsATeam(config, session.viewer.managerId), notice: shown }),
      status,
    );
  };

  app.get(
    '/console/me',
    signedIn('/console/me', (c, session, config) => mePageFor(c, session, config)),
  );

  /** Runs a change of the viewer's own settings; done: back to Me (303); refused: Me again, saying why. */
  const meAction = (
    route: string,
    done: string,
    act: (viewer: Viewer, form: Form, ctx: PageContext) => Promise<unknown>,
  ) =>
    signedIn(route, async (c, session, config, form) => {
      const ctx = contextFor(c, session, config);
      try {
        await act(session.viewer, form, ctx);
      } catch (error) {
        if (!(error instanceof LeadflowError) || error instanceof NotFoundError) throw error;
        const status = error.status === 412 ? 412 : error.status === 403 ? 403 : 422;
        const fields = error.fields.map((f) => html`<li>${f.field}: ${f.message}</li>`);
        const details = fields.length > 0 ? html`<ul>${fields}</ul>` : html`<p>${error.message}</p>`;
        return mePageFor(c, session, config, status, notice(ctx.t.lead.refused, 'error', details));
      }
      return seeOther(c, `/console/me?done=${done}`);
    });

  app.post(
    '/console/me/availability',
    meAction('/console/me/availability', 'availability', (viewer, form, ctx) => {
      const action = field(form, 'action');
      if (action === 'back') return admin.setOwnAvailability(viewer, { outOfOfficeUntil: null });
      if (action === 'away') {
        const until = zonedToIso(field(form, 'until') ?? '', ctx.format.timeZone);
        return admin.setOwnAvailability(
          viewer,
          parsed(availabilityPatchSchema.safeParse({ outOfOfficeUntil: until })),
        );
      }
      if (field(form, 'none')) return admin.setOwnAvailability(viewer, { workingHours: null });
      const weekly = Object.fromEntries(
        WEEKDAYS.flatMap((day) => {
          const blocks = (field(form, day) ?? '')
            .split(',')
            .map((block) => block.replace(/\s+/g, ''))
            .filter((block) => block !== '');
          return blocks.length > 0 ? [[day, blocks]] : [];
        }),
      );
      return admin.setOwnAvailability(
        viewer,
        parsed(
          availabilityPatchSchema.safeParse({ workingHours: { timeZone: field(form, 'timeZone'), weekly } }),
        ),
      );
    }),
  );

  app.post(
    '/console/me/alerts',
    meAction('/console/me/alerts', 'alerts', async (viewer, form) => {
      const config = await deps.data.config();
      const locked = leadsATeam(config, viewer.managerId);
      const alerts = Object.fromEntries(
        ALERT_EVENTS.filter((event) => !(locked && event === 'escalation')).map((event) => [
          event,
          form[event] === '1',
        ]),
      );
      return admin.setOwnAlerts(viewer, { alerts });
    }),
  );

  // ---- Analytics -----------------------------------------------------------------------------------------

  app.get(
    '/console/analytics',
    signedIn('/console/analytics', async (c, session, config) => {
      const ctx = contextFor(c, session, config);
      const { viewer } = session;
      if (viewer.role !== 'team_lead' && viewer.role !== 'admin') {
        return send(c, errorPage(ctx, 'forbidden', ctx.t.analytics.forbidden), 403);
      }
      const day = (value: string | undefined) =>
        value && daySchema.safeParse(value).success ? value : undefined;
      const teamIds = viewer.role === 'admin' ? [...config.teams.keys()] : viewer.leads;
      const team = teamIds.includes(c.req.query('team') ?? '') ? c.req.query('team') : undefined;
      const report = await readAnalytics(deps.data, viewer, {
        from: day(c.req.query('from')),
        to: day(c.req.query('to')),
        team,
      });
      return send(
        c,
        analyticsPage(ctx, {
          report,
          teams: teamIds.map((id) => ({ id, name: config.teams.get(id)?.name ?? id })),
          team,
          nameOf: nameOf(config),
        }),
      );
    }),
  );

  // Anything else under /console/ is the console's own 404 page.
  app.get('/console/*', (c) => send(c, errorPage(contextFor(c), 'notFound'), 404));
};
