import { type Html, html } from '../html';
import { layout, type PageContext } from '../layout';
import { channelLabel, leadName, type NameOf, statusLabel } from './common';
import {
  type ContactDetail,
  type ContactView,
  type Duplicates,
  duplicatesList,
  identitiesList,
  timelineList,
} from './lead';

export interface SearchData {
  readonly query: { readonly email?: string; readonly phone?: string; readonly region?: string };
  /** Absent before a search. */
  readonly results?: readonly ContactView[] | undefined;
  /** The identities searched for, as normalized. */
  readonly normalized?: readonly string[] | undefined;
  readonly notice?: Html | undefined;
}

function contactName(contact: ContactView): string {
  return contact.name ?? contact.emails[0] ?? contact.phones[0] ?? contact.contactId;
}

/** `GET /console/contacts`: find a contact by email or phone, written any way. */
export function searchPage(ctx: PageContext, data: SearchData): string {
  const t = ctx.t.contacts;
  const results =
    data.results === undefined
      ? ''
      : html`<section aria-labelledby="results-h"><h2 id="results-h">${t.results}</h2>
${data.normalized && data.normalized.length > 0 ? html`<p class="muted">${t.searched(data.normalized.join(', '))}</p>` : ''}
${
  data.results.length === 0
    ? html`<p role="status">${t.none}</p>`
    : html`<ul class="leads">${data.results.map(
        (contact) =>
          html`<li><a href="/console/contacts/${encodeURIComponent(contact.contactId)}"><span class="name">${contactName(contact)}</span>
<span class="meta">${[...contact.emails, ...contact.phones].join(' · ')}</span></a></li>`,
      )}</ul>`
}</section>`;
  return layout(
    ctx,
    'search',
    t.title,
    html`<h1>${t.title}</h1>
${data.notice ?? ''}
<form method="get" action="/console/contacts" role="search">
<p class="hint" id="search-hint">${t.hint}</p>
<label for="q-email">${t.email}</label><input id="q-email" name="email" type="text" inputmode="email" autocomplete="off" value="${data.query.email ?? ''}" maxlength="320" aria-describedby="search-hint">
<div class="row">
<div><label for="q-phone">${t.phone}</label><input id="q-phone" name="phone" type="tel" autocomplete="off" value="${data.query.phone ?? ''}" maxlength="120" aria-describedby="search-hint"></div>
<div><label for="q-region">${t.region}</label><input id="q-region" name="region" value="${data.query.region ?? ''}" maxlength="2" autocapitalize="characters" autocomplete="off"></div>
</div>
<p><button type="submit" class="primary">${t.search}</button></p>
</form>
${results}`,
  );
}

export interface ContactPageData {
  readonly detail: ContactDetail;
  readonly duplicates?: Duplicates | undefined;
  readonly nameOf: NameOf;
}

/** `GET /console/contacts/{id}`: a contact, its identities, its leads and timeline the viewer may see. */
export function contactPage(ctx: PageContext, data: ContactPageData): string {
  const { contact, leads, timeline } = data.detail;
  const name = contactName(contact);
  return layout(
    ctx,
    'contact',
    name,
    html`<h1>${name}</h1>
${identitiesList(ctx, contact)}
${duplicatesList(ctx, data.duplicates)}
<h2>${ctx.t.contacts.leads}</h2>
<ul class="leads">${leads.map(
      (lead) =>
        html`<li><a href="/console/leads/${encodeURIComponent(lead.leadId)}"><span class="name">${leadName(ctx, lead)}</span>
<span class="meta"><span>${channelLabel(ctx, lead.channel)}</span><span>${statusLabel(ctx, lead.status)}</span><span>${ctx.format.dateTime(lead.capturedAt)}</span></span></a></li>`,
    )}</ul>
<h2>${ctx.t.lead.timeline}</h2>
${timelineList(ctx, timeline, data.nameOf)}`,
  );
}
