import type { AnalyticsReport } from '@leadflow/core';
import { barChart, dataTable, lineChart } from '../charts';
import { type Html, html } from '../html';
import { layout, options, type PageContext } from '../layout';
import { channelLabel, type NameOf } from './common';

export interface AnalyticsPageData {
  readonly report: AnalyticsReport;
  /** The teams the viewer may narrow to (a team lead's own, every team for an admin). */
  readonly teams: readonly { readonly id: string; readonly name: string }[];
  readonly team?: string | undefined;
  readonly nameOf: NameOf;
}

type Funnel = AnalyticsReport['totals'];

function money(ctx: PageContext, amounts: Readonly<Record<string, number>>): string {
  return Object.entries(amounts)
    .map(([currency, amount]) => ctx.format.money(amount, currency))
    .join(', ');
}

function rate(ctx: PageContext, value: number | null): string {
  return value === null ? '–' : ctx.format.percent(value);
}

function section(id: string, title: string, body: Html): Html {
  return html`<section aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${body}</section>`;
}

/** A chart with its table beside it (below it on a narrow screen). */
function pair(chart: Html, table: Html): Html {
  return html`<div class="charts">${chart}${table}</div>`;
}

function funnelSection(
  ctx: PageContext,
  id: string,
  title: string,
  column: string,
  rows: readonly (Omit<Funnel, 'speedToLead'> & { readonly label: string })[],
): Html {
  const t = ctx.t.analytics;
  if (rows.length === 0) return section(id, title, html`<p>${t.noData}</p>`);
  const chart = barChart({
    id,
    title,
    description: rows.map((row) => `${row.label}: ${row.captured} / ${row.won}`).join('; '),
    series: [
      { name: t.captured, kind: '' },
      { name: t.won, kind: 'won' },
    ],
    rows: rows.map((row) => ({ label: row.label, values: [row.captured, row.won] })),
    format: ctx.format.number,
  });
  const table = dataTable({
    id: `${id}-table`,
    caption: t.tableOf(title),
    head: [column, t.captured, t.contacted, t.won, t.conversion, t.wonAmount],
    rows: rows.map((row) => [
      row.label,
      { number: ctx.format.number(row.captured) },
      { number: ctx.format.number(row.contacted) },
      { number: ctx.format.number(row.won) },
      { number: rate(ctx, row.conversionRate) },
      { number: money(ctx, row.wonAmount) },
    ]),
  });
  return section(id, title, pair(chart, table));
}

/** `GET /console/analytics`: team leads' and admins' charts, each with its numbers in a table. */
export function analyticsPage(ctx: PageContext, data: AnalyticsPageData): string {
  const t = ctx.t.analytics;
  const { report } = data;
  const duration = (ms: number | null) => (ms === null ? '–' : ctx.format.duration(ms));
  const managers = report.managers.map((row) => ({ ...row, name: data.nameOf(row.managerId) }));
  const speed =
    managers.length === 0
      ? html`<p>${t.noData}</p>`
      : pair(
          barChart({
            id: 'speed',
            title: t.speed,
            description: managers
              .map(
                (row) =>
                  `${row.name}: ${duration(row.speedToLead.medianMs)} / ${duration(row.speedToLead.p90Ms)}`,
              )
              .join('; '),
            series: [
              { name: t.median, kind: '' },
              { name: t.p90, kind: 'p90' },
            ],
            rows: managers.map((row) => ({
              label: row.name,
              values: [row.speedToLead.medianMs, row.speedToLead.p90Ms],
            })),
            format: (ms) => ctx.format.duration(ms),
          }),
          dataTable({
            id: 'speed-table',
            caption: t.tableOf(t.speed),
            head: [t.manager, t.assigned, t.samples, t.median, t.p90, t.unacknowledged],
            rows: managers.map((row) => [
              row.name,
              { number: ctx.format.number(row.assigned) },
              { number: ctx.format.number(row.speedToLead.samples) },
              { number: duration(row.speedToLead.medianMs) },
              { number: duration(row.speedToLead.p90Ms) },
              { number: ctx.format.number(row.unacknowledged) },
            ]),
          }),
        );
  const breaches = pair(
    barChart({
      id: 'breaches',
      title: t.breaches,
      description: managers.map((row) => `${row.name}: ${row.breached}`).join('; ') || t.noData,
      series: [{ name: t.breached, kind: 'bad' }],
      rows: managers.map((row) => ({ label: row.name, values: [row.breached] })),
      format: ctx.format.number,
    }),
    dataTable({
      id: 'breaches-table',
      caption: t.tableOf(t.breaches),
      head: [t.manager, t.breached],
      rows: [
        ...managers.map((row) => [row.name, { number: ctx.format.number(row.breached) }] as const),
        ['Σ', { number: ctx.format.number(report.totals.breached) }] as const,
      ],
    }),
  );
  const days = report.daily.map((day) => day.day);
  const daily = pair(
    lineChart({
      id: 'daily',
      title: t.daily,
      description: `${ctx.format.day(report.from)} – ${ctx.format.day(report.to)}: ${report.totals.captured} / ${report.totals.won}`,
      days,
      dayLabel: ctx.format.day,
      series: [
        { name: t.captured, kind: '', values: report.daily.map((day) => day.captured) },
        { name: t.won, kind: 'won', values: report.daily.map((day) => day.won) },
      ],
      format: ctx.format.number,
    }),
    dataTable({
      id: 'daily-table',
      caption: t.tableOf(t.daily),
      head: [t.day, t.captured, t.contacted, t.won, t.assigned],
      rows: report.daily
        .filter((day) => day.captured + day.contacted + day.won + day.assigned > 0)
        .map((day) => [
          ctx.format.day(day.day),
          { number: ctx.format.number(day.captured) },
          { number: ctx.format.number(day.contacted) },
          { number: ctx.format.number(day.won) },
          { number: ctx.format.number(day.assigned) },
        ]),
    }),
  );
  const teamChoices = [
    { value: '', label: t.allTeams },
    ...data.teams.map((team) => ({ value: team.id, label: team.name })),
  ];
  const form = html`<form method="get" action="/console/analytics"><div class="row">
<div><label for="an-from">${t.from}</label><input id="an-from" name="from" type="date" value="${report.from}"></div>
<div><label for="an-to">${t.to}</label><input id="an-to" name="to" type="date" value="${report.to}"></div>
${data.teams.length > 1 ? html`<div><label for="an-team">${t.team}</label><select id="an-team" name="team">${options(teamChoices, data.team ?? '')}</select></div>` : ''}
<button type="submit">${t.show}</button>
</div></form>`;
  return layout(
    ctx,
    'analytics',
    t.title,
    html`<h1>${t.title}</h1>
${form}
<p>${t.totals(ctx.format.number(report.totals.captured), ctx.format.number(report.totals.won), rate(ctx, report.totals.conversionRate))}</p>
${funnelSection(
  ctx,
  'channels',
  t.byChannel,
  t.channel,
  report.channels.map((row) => ({ ...row, label: channelLabel(ctx, row.channel) })),
)}
${funnelSection(
  ctx,
  'sources',
  t.bySource,
  t.source,
  report.sources.map((row) => ({ ...row, label: row.source })),
)}
${section('speed', t.speed, speed)}
${section('breaches', t.breaches, breaches)}
${section('daily', t.daily, daily)}`,
  );
}
