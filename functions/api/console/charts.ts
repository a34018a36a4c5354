import { type Html, html } from './html';

/**
 * Charts drawn on the server as SVG: no library, no script, no inline style (classes from the console's
 * stylesheet colour them). Each is an image with a title and a description for screen readers; the page
 * puts its numbers in a table beside it.
 */

export interface Series {
  readonly name: string;
  /** `''` (the accent), `won`, `bad` or `p90`: the stylesheet's bar colours. */
  readonly kind: '' | 'won' | 'bad' | 'p90';
}

export interface BarRow {
  readonly label: string;
  /** One value per series; null draws no bar. */
  readonly values: readonly (number | null)[];
}

/** Drawn for a phone's width (text at about its own size there); a wider column scales it up. */
const WIDTH = 360;
const LABEL_WIDTH = 104;
const VALUE_WIDTH = 72;
const BAR = 16;
const GAP = 10;

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

function legend(series: readonly Series[]): Html {
  if (series.length < 2) return html``;
  return html`<p class="legend" aria-hidden="true">${series.map(
    (entry) => html`<span><span class="key${entry.kind ? ` ${entry.kind}` : ''}"></span>${entry.name}</span>`,
  )}</p>`;
}

/** Horizontal bars, one group per row and one bar per series, each with its value written after it. */
export function barChart(options: {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly rows: readonly BarRow[];
  readonly series: readonly Series[];
  readonly format: (value: number) => string;
}): Html {
  const { id, rows, series } = options;
  const max = Math.max(
    1,
    ...rows.flatMap((row) => row.values.filter((value): value is number => value !== null)),
  );
  const groupHeight = series.length * BAR + GAP;
  const height = Math.max(groupHeight, rows.length * groupHeight) + GAP;
  const scale = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / max;
  const groups = rows.map((row, index) => {
    const top = GAP + index * groupHeight;
    const bars = row.values.map((value, s) => {
      if (value === null) return html``;
      const y = top + s * BAR;
      const width = Math.max(value > 0 ? 2 : 0, value * scale);
      const kind = series[s]?.kind ?? '';
      return html`<rect class="bar${kind ? ` ${kind}` : ''}" x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR - 2}"></rect><text x="${(LABEL_WIDTH + width + 4).toFixed(1)}" y="${y + BAR - 4}">${options.format(value)}</text>`;
    });
    return html`<g><text x="0" y="${top + (series.length * BAR) / 2 + 4}">${truncate(row.label, 14)}</text>${bars}</g>`;
  });
  return html`<figure>
${legend(series)}
<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false">
<title id="${id}-title">${options.title}</title><desc id="${id}-desc">${options.description}</desc>
<line class="axis" x1="${LABEL_WIDTH}" y1="0" x2="${LABEL_WIDTH}" y2="${height}"></line>
${groups}
</svg>
</figure>`;
}

/** One line per series over the days, with the first, middle and last day and the maximum marked. */
export function lineChart(options: {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly days: readonly string[];
  readonly dayLabel: (day: string) => string;
  readonly series: readonly (Series & { readonly values: readonly number[] })[];
  readonly format: (value: number) => string;
}): Html {
  const { id, days, series } = options;
  const height = 190;
  const left = 40;
  const bottom = 28;
  const top = 12;
  const plotWidth = WIDTH - left - 12;
  const plotHeight = height - top - bottom;
  const max = Math.max(1, ...series.flatMap((entry) => entry.values));
  const x = (index: number) =>
    left + (days.length <= 1 ? plotWidth / 2 : (index * plotWidth) / (days.length - 1));
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const lines = series.map((entry) => {
    const points = entry.values
      .map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`)
      .join(' ');
    return html`<polyline class="line${entry.kind ? ` ${entry.kind}` : ''}" points="${points}"></polyline>`;
  });
  const marks = [...new Set([0, Math.floor((days.length - 1) / 2), days.length - 1])].filter(
    (index) => index >= 0 && index < days.length,
  );
  const labels = marks.map((index) => {
    const anchor = index === 0 ? 'start' : index === days.length - 1 ? 'end' : 'middle';
    return html`<text x="${x(index).toFixed(1)}" y="${height - 8}" text-anchor="${anchor}">${options.dayLabel(days[index] as string)}</text>`;
  });
  return html`<figure>
${legend(series)}
<svg class="chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false">
<title id="${id}-title">${options.title}</title><desc id="${id}-desc">${options.description}</desc>
<line class="axis" x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}"></line>
<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}"></line>
<text x="${left - 6}" y="${top + 10}" text-anchor="end">${options.format(max)}</text>
<text x="${left - 6}" y="${top + plotHeight}" text-anchor="end">${options.format(0)}</text>
${lines}${labels}
</svg>
</figure>`;
}

/** A table of a chart's numbers, in a region that scrolls sideways on a narrow screen. */
export function dataTable(options: {
  readonly id: string;
  readonly caption: string;
  readonly head: readonly string[];
  /** Cells; numbers are right-aligned. The first cell of a row is its header. */
  readonly rows: readonly (readonly (string | { readonly number: string })[])[];
}): Html {
  const cell = (value: string | { readonly number: string }, index: number) => {
    if (typeof value === 'string')
      return index === 0 ? html`<th scope="row">${value}</th>` : html`<td>${value}</td>`;
    return html`<td class="num">${value.number}</td>`;
  };
  return html`<div class="table-wrap" role="region" aria-labelledby="${options.id}" tabindex="0">
<table><caption id="${options.id}">${options.caption}</caption>
<thead><tr>${options.head.map((head, index) => html`<th scope="col"${index > 0 ? html` class="num"` : ''}>${head}</th>`)}</tr></thead>
<tbody>${options.rows.map((row) => html`<tr>${row.map(cell)}</tr>`)}</tbody>
</table></div>`;
}
