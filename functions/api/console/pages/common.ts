import type { LeadView } from '@leadflow/aws';
import { type Html, html } from '../html';
import type { PageContext } from '../layout';

/** The SLA clock a lead shows, when its view carries one (`sla.dueAt`, once the SLA clock runs). */
export interface SlaView {
  readonly dueAt?: string | undefined;
  readonly stoppedAt?: string | undefined;
  readonly breachedAt?: string | undefined;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

/** The lead's SLA clock, read defensively: the lead view may or may not carry it. */
export function slaOf(lead: LeadView): SlaView | undefined {
  const sla = (lead as { sla?: unknown }).sla;
  if (!sla || typeof sla !== 'object') return undefined;
  const record = sla as Record<string, unknown>;
  return {
    dueAt: text(record.dueAt),
    stoppedAt: text(record.stoppedAt),
    breachedAt: text(record.breachedAt),
  };
}

export function isClosed(lead: LeadView): boolean {
  return lead.status === 'won' || lead.status === 'lost';
}

/** Waiting for a first response: open, nobody answered, and its clock (if any) not stopped. */
export function isWaiting(lead: LeadView): boolean {
  return !isClosed(lead) && !lead.firstResponse && !slaOf(lead)?.stoppedAt;
}

/** Past its first-response deadline with nobody having answered. */
export function isOverdue(lead: LeadView, now: Date): boolean {
  const due = slaOf(lead)?.dueAt;
  return isWaiting(lead) && due !== undefined && Date.parse(due) <= now.getTime();
}

/** The name a lead shows: the captured name, else the email or phone, else "(no name)". */
export function leadName(ctx: PageContext, lead: LeadView): string {
  if (lead.erasedAt) return ctx.t.lead.erased;
  const capture = lead.capture;
  return capture.name?.trim() || capture.email || capture.phone || ctx.t.lead.noName;
}

export function channelLabel(ctx: PageContext, channel: string): string {
  return (ctx.t.channel as Readonly<Record<string, string>>)[channel] ?? channel;
}

export function statusLabel(ctx: PageContext, status: string): string {
  return (ctx.t.status as Readonly<Record<string, string>>)[status] ?? status;
}

export function priorityBadge(ctx: PageContext, priority: string): Html {
  const label = (ctx.t.priority as Readonly<Record<string, string>>)[priority] ?? priority;
  const kind = priority === 'urgent' || priority === 'high' ? ` ${priority}` : '';
  return html`<span class="badge${kind}"><span class="visually-hidden">${ctx.t.lead.priority}: </span>${label}</span>`;
}

/** Elapsed time that the page's script keeps counting (`data-since`). */
export function liveSince(ctx: PageContext, since: string, now: Date): Html {
  const ms = now.getTime() - Date.parse(since);
  return html`<span data-since="${since}">${ctx.format.duration(ms)}</span>`;
}

/**
 * The lead's SLA clock in words: waiting (live) and due or overdue while nobody has answered; how fast it
 * was answered once someone did; closed when it is.
 */
export function clock(ctx: PageContext, lead: LeadView, now: Date): { state: string; line: Html } {
  const sla = slaOf(lead);
  if (lead.firstResponse) {
    const ms =
      lead.firstResponse.speedToLeadMs ?? Date.parse(lead.firstResponse.at) - Date.parse(lead.capturedAt);
    return { state: 'stopped', line: ctx.t.clock.answered(ctx.format.duration(ms)) };
  }
  if (isClosed(lead)) return { state: 'stopped', line: html`${ctx.t.clock.closed}` };
  const waiting = ctx.t.clock.waiting(liveSince(ctx, lead.capturedAt, now));
  if (!sla?.dueAt || sla.stoppedAt) return { state: 'running', line: waiting };
  const due = isOverdue(lead, now)
    ? html`<span class="badge overdue">${ctx.t.clock.overdue(liveSince(ctx, sla.dueAt, now))}</span>`
    : ctx.t.clock.due(ctx.format.dateTime(sla.dueAt));
  return { state: 'running', line: html`${waiting} · ${due}` };
}

/** A manager's name from the configuration, else the id. */
export type NameOf = (managerId: string | undefined) => string;
