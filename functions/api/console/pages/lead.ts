import type { ContactRepository, LeadRepository, TimelineView } from '@leadflow/aws';
import { STAGES, TASK_TYPES } from '@leadflow/core';
import { type Child, type Html, html } from '../html';
import { csrfField, layout, options, type PageContext } from '../layout';
import { channelLabel, clock, isClosed, leadName, type NameOf, priorityBadge, statusLabel } from './common';

export type LeadDetail = Awaited<ReturnType<LeadRepository['get']>>;
export type ContactDetail = Awaited<ReturnType<ContactRepository['get']>>;
export type Duplicates = Awaited<ReturnType<ContactRepository['duplicates']>>;
export type ContactView = ContactDetail['contact'];

export interface LeadPageData {
  readonly detail: LeadDetail;
  /** The contact with its identities' provenance; absent if it could not be read. */
  readonly contact?: ContactView | undefined;
  readonly duplicates?: Duplicates | undefined;
  /** The viewer owns the lead: "I'm on it" is theirs to press. */
  readonly isOwner: boolean;
  /** The viewer may act as a team lead over the lead (reassign). */
  readonly canLead: boolean;
  /** Who a team lead may hand it to: the managers of the lead's team. */
  readonly teamManagers: readonly { readonly id: string; readonly name: string }[];
  readonly nameOf: NameOf;
  readonly defaultCurrency: string;
  readonly now: Date;
  /** What the last action did, or why it did not. */
  readonly notice?: Html | undefined;
}

function identityLabel(identity: string): string {
  const [kind, ...rest] = identity.split(':');
  return rest.length > 0 ? `${kind}: ${rest.join(':')}` : identity;
}

/** Identities with their provenance, marked in words (not colour alone). */
export function identitiesList(ctx: PageContext, contact: ContactView): Html {
  if (contact.identities.length === 0) return html``;
  return html`<h3>${ctx.t.lead.identities}</h3><ul>${contact.identities.map(
    (entry) =>
      html`<li><span class="id-value">${identityLabel(entry.identity)}</span> <span class="badge ${entry.provenance}">${entry.provenance === 'verified' ? ctx.t.lead.verified : ctx.t.lead.claimed}</span></li>`,
  )}</ul>`;
}

export function duplicatesList(ctx: PageContext, duplicates: Duplicates | undefined): Html {
  if (!duplicates) return html``;
  const items = duplicates.items.map(
    (contact) =>
      html`<li><a href="/console/contacts/${encodeURIComponent(contact.contactId)}">${contact.name ?? contact.emails[0] ?? contact.phones[0] ?? contact.contactId}</a></li>`,
  );
  return html`<h3>${ctx.t.lead.duplicates}</h3>
${items.length > 0 ? html`<ul>${items}</ul>` : html`<p>${ctx.t.lead.noDuplicates}</p>`}
${duplicates.hidden > 0 ? html`<p class="muted">${ctx.t.lead.hiddenDuplicates(ctx.format.number(duplicates.hidden))}</p>` : ''}`;
}

/** One timeline entry: when, what (in the viewer's words), on which channel, by whom, and its text. */
export function timelineItem(ctx: PageContext, entry: TimelineView, nameOf: NameOf): Html {
  const what = ctx.t.kind[entry.kind] ?? entry.kind;
  const channel = entry.channel && entry.channel !== 'system' ? channelLabel(ctx, entry.channel) : undefined;
  const actor = typeof entry.actor === 'string' ? nameOf(entry.actor) : undefined;
  const body =
    typeof entry.text === 'string' ? entry.text : typeof entry.message === 'string' ? entry.message : '';
  return html`<li><p><span class="what">${what}</span>${channel ? html` · ${channel}` : ''}${actor ? html` · ${ctx.t.lead.by(actor)}` : ''}<br><span class="muted">${ctx.format.dateTime(entry.at)}</span></p>
${entry.summary && entry.summary !== body ? html`<p>${entry.summary}</p>` : ''}${body ? html`<p class="message">${body}</p>` : ''}</li>`;
}

export function timelineList(ctx: PageContext, timeline: readonly TimelineView[], nameOf: NameOf): Html {
  const newestFirst = [...timeline].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return html`<ol class="timeline" reversed>${newestFirst.map((entry) => timelineItem(ctx, entry, nameOf))}</ol>`;
}

function facts(rows: readonly [string, Child][]): Html {
  const present = rows.filter(([, value]) => value !== undefined && value !== null && value !== '');
  if (present.length === 0) return html``;
  return html`<dl class="facts">${present.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>`;
}

function acknowledgeBlock(ctx: PageContext, data: LeadPageData): Html {
  const { lead } = data.detail;
  const id = encodeURIComponent(lead.leadId);
  if (lead.acknowledged) {
    const who = data.nameOf(lead.acknowledged.by);
    return html`<p>${ctx.t.lead.acknowledged(who, ctx.format.dateTime(lead.acknowledged.at))}</p>`;
  }
  if (!data.isOwner || isClosed(lead)) return html``;
  return html`<form method="post" action="/console/leads/${id}/acknowledge" data-inline>${csrfField(ctx)}
<button type="submit" class="primary big">${ctx.t.lead.imOnIt}</button></form>`;
}

function statusForm(ctx: PageContext, data: LeadPageData): Html {
  const { lead } = data.detail;
  if (isClosed(lead)) return html``;
  const t = ctx.t.lead;
  const id = encodeURIComponent(lead.leadId);
  const stages = STAGES.filter((stage) => stage !== 'new' && stage !== lead.status).map((stage) => ({
    value: stage,
    label: statusLabel(ctx, stage),
  }));
  return html`<details><summary>${t.changeStatus}</summary>
<form method="post" action="/console/leads/${id}/status" data-inline>${csrfField(ctx)}
<input type="hidden" name="version" value="${lead.version}">
<label for="s-status">${t.newStatus}</label><select id="s-status" name="status" required>${options(stages, undefined)}</select>
<label for="s-reason">${t.reason}</label><p class="hint" id="s-reason-hint">${t.reasonHint}</p>
<input id="s-reason" name="reason" maxlength="500" aria-describedby="s-reason-hint">
<div class="row">
<div><label for="s-amount">${t.amount}</label><p class="hint" id="s-amount-hint">${t.amountHint}</p>
<input id="s-amount" name="amount" type="number" min="0" step="any" inputmode="decimal" aria-describedby="s-amount-hint"></div>
<div><label for="s-currency">${t.currency}</label><input id="s-currency" name="currency" value="${lead.funnel.currency ?? data.defaultCurrency}" maxlength="3" autocapitalize="characters" autocomplete="off"></div>
</div>
<p><button type="submit" class="primary">${t.save}</button></p>
</form></details>`;
}

function noteForm(ctx: PageContext, data: LeadPageData): Html {
  const t = ctx.t.lead;
  const id = encodeURIComponent(data.detail.lead.leadId);
  return html`<details><summary>${t.addNote}</summary>
<form method="post" action="/console/leads/${id}/notes" data-inline>${csrfField(ctx)}
<label for="n-text">${t.note}</label><textarea id="n-text" name="text" required maxlength="5000"></textarea>
<p><button type="submit" class="primary">${t.addNoteButton}</button></p>
</form></details>`;
}

function taskForm(ctx: PageContext, data: LeadPageData): Html {
  const t = ctx.t.lead;
  const id = encodeURIComponent(data.detail.lead.leadId);
  const types = TASK_TYPES.map((type) => ({ value: type, label: ctx.t.taskType[type] }));
  const tomorrow = ctx.format.localInput(new Date(data.now.getTime() + 24 * 3600_000).toISOString());
  return html`<details><summary>${t.addTask}</summary>
<form method="post" action="/console/leads/${id}/tasks" data-inline>${csrfField(ctx)}
<div class="row">
<div><label for="t-type">${t.taskType}</label><select id="t-type" name="type">${options(types, 'call')}</select></div>
<div><label for="t-due">${t.due}</label><p class="hint" id="t-due-hint">${t.dueHint(ctx.format.timeZone)}</p>
<input id="t-due" name="due" type="datetime-local" required value="${tomorrow}" aria-describedby="t-due-hint"></div>
</div>
<label for="t-title">${t.taskTitle}</label><input id="t-title" name="title" maxlength="200">
<p><button type="submit" class="primary">${t.addTaskButton}</button></p>
</form></details>`;
}

function reassignForm(ctx: PageContext, data: LeadPageData): Html {
  const { lead } = data.detail;
  if (!data.canLead || isClosed(lead)) return html``;
  const t = ctx.t.lead;
  const id = encodeURIComponent(lead.leadId);
  const choices = [
    { value: '', label: t.nextAvailable },
    ...data.teamManagers.filter((m) => m.id !== lead.ownerId).map((m) => ({ value: m.id, label: m.name })),
  ];
  return html`<details><summary>${t.reassign}</summary>
<form method="post" action="/console/leads/${id}/assign" data-inline>${csrfField(ctx)}
<input type="hidden" name="version" value="${lead.version}">
<label for="r-to">${t.reassignTo}</label><select id="r-to" name="managerId">${options(choices, '')}</select>
<label for="r-reason">${t.reassignReason}</label><input id="r-reason" name="reason" maxlength="500">
<p><button type="submit" class="primary">${t.reassignButton}</button></p>
</form></details>`;
}

function tasksList(ctx: PageContext, data: LeadPageData): Html {
  const { tasks } = data.detail;
  if (tasks.length === 0) return html`<p>${ctx.t.lead.noTasks}</p>`;
  return html`<ul>${tasks.map(
    (task) =>
      html`<li>${ctx.t.taskType[task.type]}${task.title ? html`: ${task.title}` : ''} · ${ctx.format.dateTime(task.dueAt)} · ${data.nameOf(task.assigneeId)} · ${task.status === 'done' ? ctx.t.lead.taskDone : ctx.t.lead.taskOpen}</li>`,
  )}</ul>`;
}

/** `GET /console/leads/{id}`: the lead, its whole story and what the viewer may do about it. */
export function leadPage(ctx: PageContext, data: LeadPageData): string {
  const { lead, otherLeads, timeline } = data.detail;
  const t = ctx.t.lead;
  const name = leadName(ctx, lead);
  const { line, state } = clock(ctx, lead, data.now);
  const capture = lead.capture;
  const utm = capture.utm
    ? Object.entries(capture.utm)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ')
    : '';
  const contact = data.contact;
  const body = html`<h1>${name}</h1>
<p class="meta"><span>${channelLabel(ctx, lead.channel)}</span>${priorityBadge(ctx, lead.priority)}<span>${statusLabel(ctx, lead.status)}</span><span>${t.owner}: ${lead.ownerId ? data.nameOf(lead.ownerId) : t.queued}</span></p>
${data.notice ?? ''}
<section aria-labelledby="clock-h"><h2 id="clock-h" class="visually-hidden">${t.clock}</h2>
<p class="clock ${state}" id="sla-clock">${line}</p>
<p class="muted">${t.captured}: ${ctx.format.dateTime(lead.capturedAt)}</p>
${acknowledgeBlock(ctx, data)}
</section>
${capture.message || capture.subject ? html`<h2>${t.message}</h2>${capture.subject ? html`<p><strong>${capture.subject}</strong></p>` : ''}${capture.message ? html`<p class="message">${capture.message}</p>` : ''}` : ''}
<h2>${t.details}</h2>
${facts([
  [t.email, capture.email ? html`<a href="mailto:${capture.email}">${capture.email}</a>` : undefined],
  [
    t.phone,
    capture.phone
      ? html`<a href="tel:${capture.phone}">${capture.phone}</a>${capture.phoneExtension ? ` ext. ${capture.phoneExtension}` : ''}`
      : undefined,
  ],
  [t.source, lead.sourceId],
  [t.page, capture.pageUrl],
  ['UTM', utm],
  [t.tags, lead.tags.join(', ')],
])}
<section aria-labelledby="actions-h"><h2 id="actions-h">${t.actions}</h2>
${statusForm(ctx, data)}${noteForm(ctx, data)}${taskForm(ctx, data)}${reassignForm(ctx, data)}
</section>
<section aria-labelledby="contact-h"><h2 id="contact-h">${t.contact}</h2>
${contact ? identitiesList(ctx, contact) : ''}
${duplicatesList(ctx, data.duplicates)}
${
  otherLeads.length > 0
    ? html`<h3>${t.otherLeads}</h3><ul>${otherLeads.map(
        (other) =>
          html`<li><a href="/console/leads/${encodeURIComponent(other.leadId)}">${channelLabel(ctx, String(other.channel ?? ''))} · ${statusLabel(ctx, other.status)} · ${ctx.format.dateTime(other.capturedAt)}</a></li>`,
      )}</ul>`
    : ''
}
<p><a href="/console/contacts/${encodeURIComponent(lead.contactId)}">${t.openContact}</a></p>
</section>
<section aria-labelledby="tasks-h"><h2 id="tasks-h">${t.tasks}</h2>${tasksList(ctx, data)}</section>
<section aria-labelledby="timeline-h"><h2 id="timeline-h">${t.timeline}</h2>${timelineList(ctx, timeline, data.nameOf)}</section>`;
  return layout(ctx, 'lead', name, body);
}
