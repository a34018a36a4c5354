import type { MeView } from '@leadflow/aws';
import {
  ALERT_EVENTS,
  type AlertEvent,
  type BusinessHours,
  businessHoursSchema,
  WEEKDAYS,
} from '@leadflow/core';
import { flag, type Html, html } from '../html';
import { csrfField, layout, type PageContext } from '../layout';

export interface MePageData {
  readonly me: MeView;
  /** The viewer leads a team: escalations cannot be turned off. */
  readonly leadsATeam: boolean;
  readonly notice?: Html | undefined;
}

/** Time zones offered for working hours (any IANA zone may be typed). */
const ZONES = [
  'Asia/Seoul',
  'Asia/Bangkok',
  'Asia/Tokyo',
  'Asia/Singapore',
  'Europe/London',
  'America/New_York',
  'UTC',
];

function availabilityBlock(ctx: PageContext, me: MeView): Html {
  const t = ctx.t.me;
  const availability = me.availability;
  if (!availability) return html`<p>${t.notManager}</p>`;
  const reason = availability.reason
    ? (ctx.t.unavailableReason[availability.reason] ?? availability.reason)
    : '';
  const hours = businessHoursSchema.safeParse(availability.workingHours);
  const current: BusinessHours | undefined = hours.success ? hours.data : undefined;
  const days = WEEKDAYS.map(
    (day) =>
      html`<div><label for="h-${day}">${ctx.t.weekday[day]}</label><input id="h-${day}" name="${day}" value="${(current?.weekly[day] ?? []).join(', ')}" maxlength="100" autocomplete="off" aria-describedby="hours-hint"></div>`,
  );
  return html`<section aria-labelledby="availability-h"><h2 id="availability-h">${t.availability}</h2>
<p>${availability.available ? t.available : t.unavailable(reason)}</p>
<p class="muted">${t.load(ctx.format.number(availability.openLeads), availability.capacity === undefined ? undefined : ctx.format.number(availability.capacity))}</p>
${availability.outOfOfficeUntil ? html`<p>${t.outOfOfficeNow(ctx.format.dateTime(availability.outOfOfficeUntil))}</p>` : ''}
<form method="post" action="/console/me/availability" data-inline>${csrfField(ctx)}
<label for="a-until">${t.outOfOffice}</label><p class="hint" id="a-until-hint">${ctx.t.lead.dueHint(ctx.format.timeZone)}</p>
<input id="a-until" name="until" type="datetime-local" value="${ctx.format.localInput(availability.outOfOfficeUntil)}" aria-describedby="a-until-hint">
<p class="actions"><button type="submit" name="action" value="away" class="primary">${t.away}</button>
${availability.outOfOfficeUntil ? html`<button type="submit" name="action" value="back">${t.back}</button>` : ''}</p>
</form>
<form method="post" action="/console/me/availability" data-inline>${csrfField(ctx)}<input type="hidden" name="action" value="hours">
<fieldset><legend>${t.workingHours}</legend>
<label class="check"><input type="checkbox" name="none" value="1"${flag('checked', !current)}>${t.noHours}</label>
<label for="h-zone">${t.timeZone}</label><input id="h-zone" name="timeZone" list="zones" value="${current?.timeZone ?? ctx.format.timeZone}" maxlength="64" autocomplete="off">
<datalist id="zones">${ZONES.map((zone) => html`<option value="${zone}"></option>`)}</datalist>
<p class="hint" id="hours-hint">${t.dayHint}</p>
<div class="row days">${days}</div>
<p><button type="submit" class="primary">${t.saveHours}</button></p>
</fieldset></form>
</section>`;
}

function alertsBlock(ctx: PageContext, data: MePageData): Html {
  const alerts = data.me.alerts as Readonly<Record<AlertEvent, boolean>> | null | undefined;
  if (!alerts) return html``;
  const t = ctx.t.me;
  const boxes = ALERT_EVENTS.map((event) => {
    const locked = event === 'escalation' && data.leadsATeam;
    return html`<label class="check"><input type="checkbox" name="${event}" value="1"${flag('checked', alerts[event] || locked)}${flag('disabled', locked)}${locked ? html` aria-describedby="escalation-locked"` : ''}>${ctx.t.alertEvent[event]}</label>${locked ? html`<p class="hint" id="escalation-locked">${t.escalationLocked}</p>` : ''}`;
  });
  return html`<section aria-labelledby="alerts-h"><h2 id="alerts-h">${t.alerts}</h2>
<form method="post" action="/console/me/alerts" data-inline>${csrfField(ctx)}
<fieldset><legend>${t.alertsHint}</legend>${boxes}</fieldset>
<p><button type="submit" class="primary">${t.saveAlerts}</button></p>
</form></section>`;
}

/** `GET /console/me`: availability (out of office, working hours) and alert preferences. */
export function mePage(ctx: PageContext, data: MePageData): string {
  const t = ctx.t.me;
  return layout(
    ctx,
    'me',
    t.title,
    html`<h1>${t.title}</h1>
${data.notice ?? ''}
<p class="muted">${ctx.t.signedInAs(ctx.viewerName ?? data.me.username, ctx.t.role[data.me.role])}. ${t.timeZoneNote(ctx.format.timeZone)}</p>
${availabilityBlock(ctx, data.me)}
${alertsBlock(ctx, data)}`,
  );
}
