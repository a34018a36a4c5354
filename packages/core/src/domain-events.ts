import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Domain events: what the business's own systems (outbound webhooks) and its chat tools hear about, mapped
 * from committed timeline and audit entries as the table's stream delivers them (the outbox pattern). The
 * mapping is pure: the events function reads the entry and the lead, this module decides.
 */

export const DOMAIN_EVENT_TYPES = [
  'lead.created',
  'lead.assigned',
  'lead.acknowledged',
  'lead.status_changed',
  'lead.won',
  'lead.lost',
  'sla.breached',
  'contact.merged',
  'contact.erased',
] as const;
export const domainEventTypeSchema = z.enum(DOMAIN_EVENT_TYPES);
export type DomainEventType = z.infer<typeof domainEventTypeSchema>;

/** The events a team's Slack and Teams integrations announce: new leads, escalations, and the outcome. */
export const CHAT_EVENT_TYPES: readonly DomainEventType[] = [
  'lead.created',
  'sla.breached',
  'lead.won',
  'lead.lost',
];

/**
 * One event, as a webhook body carries it (the Standard Webhooks payload shape: `type`, `timestamp`,
 * `data`, plus our `id`, which is also the `webhook-id` header). It carries ids, channel, team, owner,
 * status, amounts and times; never a message's text.
 */
export const domainEventSchema = z.object({
  id: z.string().min(1),
  type: domainEventTypeSchema,
  /** When the change happened (the entry's time), ISO 8601. */
  timestamp: z.iso.datetime(),
  data: z.record(z.string(), z.unknown()),
});
export type DomainEvent = z.infer<typeof domainEventSchema>;

/** The lead as the events function read it when the entry arrived: what an entry alone does not say. */
export interface LeadSnapshot {
  readonly leadId: string;
  readonly contactId: string;
  readonly teamId: string;
  readonly ownerId?: string | undefined;
  readonly status: string;
  readonly priority?: string | undefined;
  readonly channel?: string | undefined;
  readonly sourceId?: string | undefined;
  readonly capturedAt?: string | undefined;
  readonly amount?: number | undefined;
  readonly currency?: string | undefined;
  /** The contact was erased: no personal data goes out, whatever the entry says. */
  readonly erased: boolean;
  /** The captured contact details; only `lead.created` carries them, and never after erasure. */
  readonly contact?:
    | {
        readonly name?: string | undefined;
        readonly email?: string | undefined;
        readonly phone?: string | undefined;
      }
    | undefined;
}

const assignmentPart = z.looseObject({
  teamId: z.string(),
  ownerId: z.string().optional(),
  rule: z.string().optional(),
  strategy: z.string().optional(),
  priority: z.string().optional(),
});

/** A timeline entry (`CONTACT#…`/`TL#…`), read loosely: old items and other helpers' events pass through. */
const timelineEntrySchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  occurredAt: z.string(),
  channel: z.string().optional(),
  sourceId: z.string().optional(),
  leadId: z.string().optional(),
  mode: z.enum(['lead', 'message']).optional(),
  event: z.string().optional(),
  assignment: assignmentPart.optional(),
  actor: z.string().optional(),
  from: z.string().nullish(),
  to: z.string().nullish(),
  reason: z.string().optional(),
  amount: z.coerce.number().optional(),
  currency: z.string().optional(),
  strategy: z.string().optional(),
  waitedSeconds: z.coerce.number().optional(),
  /** An escalation step's action: `reassign` passes the lead on (`from` → `to`). */
  action: z.string().optional(),
  merge: z.looseObject({ mergeId: z.string(), survivorId: z.string(), mergedId: z.string() }).optional(),
  /** Set on items a merge moved into another contact's partition: their events were sent when first written. */
  mergeUndo: z.unknown().optional(),
});
type TimelineEntry = z.infer<typeof timelineEntrySchema>;

/** An audit entry (`AUDIT#…`). */
const auditEntrySchema = z.looseObject({
  pk: z.string(),
  sk: z.string(),
  type: z.literal('audit'),
  at: z.string(),
  action: z.string(),
  actor: z.string().optional(),
  target: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/**
 * SLA entry details passed on as they are (the SLA clock's timeline entry), when present: the owner whose
 * clock ran out, the policy and the clock's generation (a new owner starts a new one), and the due time.
 */
const SLA_DETAILS = ['ownerId', 'policyId', 'generation', 'priority', 'dueAt', 'level'];

/** What an entry needs read before its events can be made: the lead it is about, or nothing. */
export type EntryNeeds = { readonly leadId?: string };

/**
 * Whether a stream item can become events, and what to read for it: undefined for entries that never do
 * (notes, messages, tasks, moved copies, other audit actions), so the events function reads nothing for them.
 */
export function entryNeeds(item: unknown): EntryNeeds | undefined {
  const audit = auditEntrySchema.safeParse(item);
  if (audit.success) return audit.data.action === 'contact.erased' ? {} : undefined;
  const parsed = timelineEntrySchema.safeParse(item);
  if (!parsed.success || !parsed.data.sk.startsWith('TL#')) return undefined;
  const entry = parsed.data;
  if (entry.mergeUndo !== undefined) return undefined;
  const kind = timelineKind(entry);
  if (kind === undefined) return undefined;
  if (kind === 'merged') return {};
  return entry.leadId ? { leadId: entry.leadId } : undefined;
}

type TimelineKind =
  | 'created'
  | 'assigned'
  | 'dequeued'
  | 'escalated'
  | 'acknowledged'
  | 'status_changed'
  | 'sla_breached'
  | 'merged';

function timelineKind(entry: TimelineEntry): TimelineKind | undefined {
  if (entry.event === undefined) {
    // A capture's own entry: the first interaction of a lead (mode `lead`), not a message on an open one.
    return entry.channel !== 'system' && entry.mode !== 'message' && entry.assignment && entry.leadId
      ? 'created'
      : undefined;
  }
  switch (entry.event) {
    case 'assigned':
    case 'dequeued':
    case 'acknowledged':
    case 'status_changed':
    case 'sla_breached':
    case 'merged':
      return entry.event;
    // An escalation that passed the lead on is an assignment; one that alerted the team lead is not an event
    // of its own (the breach before it was).
    case 'escalated':
      return entry.action === 'reassign' && entry.to ? 'escalated' : undefined;
    default:
      return undefined;
  }
}

/**
 * A stable event id from the entry's sort key and the event type: the same entry read again (a stream
 * retry, a redelivery, a copy an undone merge moved back) gives the same id, which receivers deduplicate
 * on (`webhook-id`). The sort key, not the partition: a merge moves entries to another partition.
 */
export function domainEventId(sortKey: string, type: DomainEventType): string {
  return `evt_${createHash('sha256').update(`${sortKey}|${type}`).digest('hex').slice(0, 32)}`;
}

/**
 * The domain events of one committed timeline or audit entry, given the lead it is about when
 * `entryNeeds` asked for one (undefined when the lead could not be read: the entry's own facts go out).
 */
export function domainEventsOf(item: unknown, lead?: LeadSnapshot): DomainEvent[] {
  const audit = auditEntrySchema.safeParse(item);
  if (audit.success) {
    const entry = audit.data;
    if (entry.action !== 'contact.erased') return [];
    const details = entry.details ?? {};
    return [
      {
        id: domainEventId(entry.sk, 'contact.erased'),
        type: 'contact.erased',
        timestamp: entry.at,
        data: {
          contactId: entry.target.replace(/^contact:/, ''),
          erasedAt: entry.at,
          ...(Array.isArray(details.mergedContacts) ? { mergedContacts: details.mergedContacts } : {}),
          ...(typeof details.alreadyErased === 'boolean' ? { alreadyErased: details.alreadyErased } : {}),
        },
      },
    ];
  }
  const parsed = timelineEntrySchema.safeParse(item);
  if (!parsed.success || entryNeeds(item) === undefined) return [];
  const entry = parsed.data;
  const kind = timelineKind(entry);
  const event = (type: DomainEventType, data: Record<string, unknown>): DomainEvent => ({
    id: domainEventId(entry.sk, type),
    type,
    timestamp: entry.occurredAt,
    data: withoutUndefined(data),
  });
  const contactId = lead?.contactId ?? entry.pk.replace(/^CONTACT#/, '');
  const base = (overrides: Partial<Record<string, unknown>> = {}) => ({
    leadId: entry.leadId,
    contactId,
    channel: lead?.channel ?? (entry.channel === 'system' ? undefined : entry.channel),
    sourceId: lead?.sourceId ?? entry.sourceId,
    teamId: lead?.teamId ?? entry.assignment?.teamId,
    ownerId: lead?.ownerId,
    status: lead?.status,
    priority: lead?.priority ?? entry.assignment?.priority,
    capturedAt: lead?.capturedAt,
    ...overrides,
  });

  switch (kind) {
    case 'created': {
      const assignment = entry.assignment;
      const contact = lead && !lead.erased && lead.contact ? personal(lead.contact) : undefined;
      const facts = base({
        channel: entry.channel,
        teamId: assignment?.teamId,
        ownerId: assignment?.ownerId,
        status: 'new',
        priority: assignment?.priority ?? lead?.priority,
        capturedAt: entry.occurredAt,
      });
      const created = event('lead.created', {
        ...facts,
        rule: assignment?.rule,
        ...(assignment?.ownerId === undefined ? { queued: true } : {}),
        ...(contact ? { contact } : {}),
      });
      if (!assignment?.ownerId) return [created];
      return [
        created,
        event('lead.assigned', {
          ...facts,
          via: 'routing',
          strategy: assignment.strategy,
          rule: assignment.rule,
        }),
      ];
    }
    case 'assigned':
      return [
        event('lead.assigned', {
          ...base({ ownerId: entry.to ?? lead?.ownerId }),
          via: 'manual',
          previousOwnerId: entry.from ?? undefined,
          strategy: entry.strategy,
          actor: entry.actor,
        }),
      ];
    case 'escalated':
      return [
        event('lead.assigned', {
          ...base({ ownerId: entry.to ?? lead?.ownerId }),
          via: 'escalation',
          previousOwnerId: entry.from ?? undefined,
        }),
      ];
    case 'dequeued':
      return [
        event('lead.assigned', {
          ...base({
            ownerId: entry.assignment?.ownerId ?? lead?.ownerId,
            teamId: entry.assignment?.teamId ?? lead?.teamId,
          }),
          via: 'queue',
          strategy: entry.assignment?.strategy,
          waitedSeconds: entry.waitedSeconds,
        }),
      ];
    case 'acknowledged':
      return [
        event('lead.acknowledged', { ...base(), acknowledgedAt: entry.occurredAt, actor: entry.actor }),
      ];
    case 'status_changed': {
      const to = entry.to ?? lead?.status;
      const facts = base({ status: to });
      const changed = event('lead.status_changed', {
        ...facts,
        from: entry.from ?? undefined,
        to,
        actor: entry.actor,
        changedAt: entry.occurredAt,
      });
      if (to === 'won') {
        return [
          changed,
          event('lead.won', {
            ...facts,
            amount: entry.amount ?? lead?.amount,
            currency: entry.currency ?? lead?.currency,
            wonAt: entry.occurredAt,
            actor: entry.actor,
          }),
        ];
      }
      if (to === 'lost') {
        return [
          changed,
          event('lead.lost', {
            ...facts,
            reason: entry.reason,
            lostAt: entry.occurredAt,
            actor: entry.actor,
          }),
        ];
      }
      return [changed];
    }
    case 'sla_breached': {
      const details = Object.fromEntries(
        SLA_DETAILS.flatMap((key) => {
          const value = (entry as Record<string, unknown>)[key];
          return typeof value === 'string' || typeof value === 'number' ? [[key, value]] : [];
        }),
      );
      return [event('sla.breached', { ...base(), ...details, breachedAt: entry.occurredAt })];
    }
    case 'merged': {
      const merge = entry.merge;
      if (!merge) return [];
      return [
        event('contact.merged', {
          contactId: merge.survivorId,
          mergedContactId: merge.mergedId,
          mergeId: merge.mergeId,
          mergedAt: entry.occurredAt,
        }),
      ];
    }
    default:
      return [];
  }
}

function personal(contact: NonNullable<LeadSnapshot['contact']>) {
  const kept = withoutUndefined({ name: contact.name, email: contact.email, phone: contact.phone });
  return Object.keys(kept).length > 0 ? kept : undefined;
}

function withoutUndefined(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(data).filter(([, value]) => value !== undefined && value !== null),
  );
}
