import type { LeadView } from '@leadflow/aws';
import { CHANNELS, OPEN_STAGES, STAGES } from '@leadflow/core';
import { html } from '../html';
import { layout, options, type PageContext } from '../layout';
import { channelLabel, clock, isOverdue, leadName, type NameOf, priorityBadge, statusLabel } from './common';

export type InboxView = 'mine' | 'team' | 'all';

export interface InboxFilters {
  /** One stage; unset: every open stage. */
  readonly status?: string | undefined;
  readonly channel?: string | undefined;
  readonly tag?: string | undefined;
}

export interface InboxData {
  readonly leads: readonly LeadView[];
  readonly nextCursor?: string | undefined;
  readonly view: InboxView;
  /** A team lead switches between their own leads and their teams'. */
  readonly canSwitch: boolean;
  readonly filters: InboxFilters;
  readonly nameOf: NameOf;
  readonly now: Date;
}

/**
 * The inbox's order: urgent and overdue leads first, then the rest; newest first within each. Leads that
 * appear twice (read by priority and by time) are shown once.
 */
export function inboxOrder(leads: readonly LeadView[], now: Date): LeadView[] {
  const seen = new Set<string>();
  const unique = leads.filter((lead) => !seen.has(lead.leadId) && seen.add(lead.leadId));
  const first = (lead: LeadView) => (lead.priority === 'urgent' || isOverdue(lead, now) ? 0 : 1);
  return unique.sort(
    (a, b) => first(a) - first(b) || (a.capturedAt < b.capturedAt ? 1 : a.capturedAt > b.capturedAt ? -1 : 0),
  );
}

function row(ctx: PageContext, data: InboxData, lead: LeadView) {
  const { line } = clock(ctx, lead, data.now);
  const owner =
    data.view === 'mine'
      ? ''
      : html`<span>${lead.ownerId ? data.nameOf(lead.ownerId) : ctx.t.lead.queued}</span>`;
  return html`<li><a href="/console/leads/${encodeURIComponent(lead.leadId)}">
<span class="name">${leadName(ctx, lead)}</span>
<span class="meta"><span>${channelLabel(ctx, lead.channel)}</span>${priorityBadge(ctx, lead.priority)}<span>${statusLabel(ctx, lead.status)}</span><span>${line}</span>${owner}</span>
</a></li>`;
}

function query(data: InboxData, extra: Record<string, string>): string {
  const params = new URLSearchParams();
  if (data.view !== 'mine' && data.canSwitch) params.set('view', data.view);
  for (const [key, value] of Object.entries({ ...data.filters, ...extra })) {
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `GET /console/leads`: the viewer's open leads, with filters and, for a team lead, the team view. */
export function inboxPage(ctx: PageContext, data: InboxData): string {
  const t = ctx.t.inbox;
  const title = data.view === 'mine' ? t.mine : data.view === 'team' ? t.team : t.all;
  const switcher = data.canSwitch
    ? html`<p class="actions" role="group" aria-label="${t.view}">
<a class="button${data.view === 'mine' ? ' primary' : ''}" href="/console/leads"${data.view === 'mine' ? html` aria-current="page"` : ''}>${t.viewMine}</a>
<a class="button${data.view === 'team' ? ' primary' : ''}" href="/console/leads?view=team"${data.view === 'team' ? html` aria-current="page"` : ''}>${t.viewTeam}</a>
</p>`
    : '';
  const statuses = [
    { value: '', label: t.anyOpen },
    ...STAGES.map((stage) => ({ value: stage, label: statusLabel(ctx, stage) })),
  ];
  const channels = [
    { value: '', label: t.anyChannel },
    ...CHANNELS.map((channel) => ({ value: channel, label: channelLabel(ctx, channel) })),
  ];
  const filters = html`<details${data.filters.status || data.filters.channel || data.filters.tag ? html` open` : ''}>
<summary>${t.filters}</summary>
<form method="get" action="/console/leads">
${data.view !== 'mine' && data.canSwitch ? html`<input type="hidden" name="view" value="${data.view}">` : ''}
<div class="row">
<div><label for="f-status">${t.status}</label><select id="f-status" name="status">${options(statuses, data.filters.status ?? '')}</select></div>
<div><label for="f-channel">${t.channel}</label><select id="f-channel" name="channel">${options(channels, data.filters.channel ?? '')}</select></div>
<div><label for="f-tag">${t.tag}</label><input id="f-tag" name="tag" value="${data.filters.tag ?? ''}" maxlength="64" autocomplete="off"></div>
<button type="submit">${t.apply}</button>
</div>
</form>
</details>`;
  const list =
    data.leads.length === 0
      ? html`<p>${t.none}</p>`
      : html`<p class="muted">${t.count(ctx.format.number(data.leads.length))}</p>
<ul class="leads">${data.leads.map((lead) => row(ctx, data, lead))}</ul>`;
  const more = data.nextCursor
    ? html`<p><a href="/console/leads${query(data, { cursor: data.nextCursor })}">${t.older}</a></p>`
    : '';
  return layout(ctx, 'inbox', title, html`<h1>${title}</h1>${switcher}${filters}${list}${more}`);
}

/** The stages a status filter reads: one, or every open one. */
export function statusFilter(status: string | undefined): string[] {
  return status && (STAGES as readonly string[]).includes(status) ? [status] : [...OPEN_STAGES];
}
