import {
  CHAT_EVENT_TYPES,
  type DomainEvent,
  domainEventId,
  domainEventSchema,
  domainEventsOf,
  entryNeeds,
  type LeadSnapshot,
  slackMessage,
  teamsMessage,
} from '@leadflow/core';
import { describe, expect, it } from 'vitest';

/** A capture's first timeline entry, as the router writes it (packages/aws/src/leads.ts `interactionOf`). */
function createdEntry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: 'CONTACT#c1',
    sk: 'TL#2025-06-01T09:30:00.000Z#sub-1',
    type: 'interaction',
    interactionId: 'sub-1',
    leadId: 'lead-1',
    mode: 'lead',
    assignment: {
      teamId: 'sales',
      ownerId: 'alice',
      rule: 'default',
      strategy: 'round_robin',
      reason: 'Round robin in Sales',
      priority: 'urgent',
    },
    acknowledge: true,
    channel: 'web_form',
    direction: 'inbound',
    occurredAt: '2025-06-01T09:30:00.000Z',
    summary: 'Web form from Kim Minsu: Hello, I would like a quote.',
    message: 'Hello,\nI would like a quote.',
    ...overrides,
  };
}

/** A system entry on the timeline (packages/aws/src/crm/leads.ts `entry`). */
function systemEntry(event: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  const occurredAt = '2025-06-01T10:00:00.000Z';
  return {
    pk: 'CONTACT#c1',
    sk: `TL#${occurredAt}#lead-1:${event}`,
    type: 'interaction',
    interactionId: `lead-1:${event}`,
    channel: 'system',
    direction: 'internal',
    occurredAt,
    leadId: 'lead-1',
    event,
    summary: 'Something happened.',
    ...details,
  };
}

const lead: LeadSnapshot = {
  leadId: 'lead-1',
  contactId: 'c1',
  teamId: 'sales',
  ownerId: 'alice',
  status: 'new',
  priority: 'urgent',
  channel: 'web_form',
  sourceId: 'demo-contact',
  capturedAt: '2025-06-01T09:30:00.000Z',
  erased: false,
  contact: { name: 'Kim Minsu', email: 'Kim.MinSu@example.com', phone: '+821012345678' },
};

const types = (events: readonly DomainEvent[]) => events.map((event) => event.type);

describe('domain events from timeline and audit entries', () => {
  it('turns a lead’s first interaction into lead.created and its initial lead.assigned', () => {
    const events = domainEventsOf(createdEntry(), lead);
    expect(types(events)).toEqual(['lead.created', 'lead.assigned']);
    for (const event of events) expect(domainEventSchema.parse(event)).toEqual(event);
    const [created, assigned] = events;
    expect(created).toMatchObject({
      type: 'lead.created',
      timestamp: '2025-06-01T09:30:00.000Z',
      data: {
        leadId: 'lead-1',
        contactId: 'c1',
        channel: 'web_form',
        sourceId: 'demo-contact',
        teamId: 'sales',
        ownerId: 'alice',
        status: 'new',
        priority: 'urgent',
        capturedAt: '2025-06-01T09:30:00.000Z',
        contact: { name: 'Kim Minsu', email: 'Kim.MinSu@example.com', phone: '+821012345678' },
      },
    });
    expect(assigned?.data).toMatchObject({ ownerId: 'alice', via: 'routing', strategy: 'round_robin' });
  });

  it('never sends the message text, nor the entry’s summary', () => {
    const text = JSON.stringify(domainEventsOf(createdEntry(), lead));
    expect(text).not.toContain('quote');
    expect(text).not.toContain('Hello');
  });

  it('carries no contact details once the contact was erased, nor when the lead could not be read', () => {
    const erased = domainEventsOf(createdEntry(), { ...lead, erased: true });
    expect(erased[0]?.data.contact).toBeUndefined();
    expect(JSON.stringify(erased)).not.toMatch(/Kim|example\.com|\+8210/);
    const unread = domainEventsOf(createdEntry());
    expect(types(unread)).toEqual(['lead.created', 'lead.assigned']);
    expect(unread[0]?.data.contact).toBeUndefined();
  });

  it('sends a queued lead’s lead.created alone, and its lead.assigned when the dispatcher assigns it', () => {
    const queued = createdEntry({
      assignment: { teamId: 'sales', rule: 'default', strategy: 'queue', reason: 'Nobody available' },
    });
    const events = domainEventsOf(queued, { ...lead, ownerId: undefined });
    expect(types(events)).toEqual(['lead.created']);
    expect(events[0]?.data).toMatchObject({ queued: true, teamId: 'sales' });
    expect(events[0]?.data.ownerId).toBeUndefined();

    const dequeued = systemEntry('dequeued', {
      assignment: { teamId: 'sales', ownerId: 'bob', rule: 'default', strategy: 'round_robin', reason: 'x' },
      waitedSeconds: 42,
    });
    expect(domainEventsOf(dequeued, { ...lead, ownerId: 'bob' })).toEqual([
      expect.objectContaining({
        type: 'lead.assigned',
        data: expect.objectContaining({ ownerId: 'bob', via: 'queue', waitedSeconds: 42 }),
      }),
    ]);
  });

  it('maps a manual reassignment, an acknowledgement and each status change', () => {
    expect(
      domainEventsOf(systemEntry('assigned', { actor: 'lead-sales', from: 'alice', to: 'bob' }), lead)[0],
    ).toMatchObject({
      type: 'lead.assigned',
      data: { ownerId: 'bob', previousOwnerId: 'alice', via: 'manual', actor: 'lead-sales' },
    });
    expect(domainEventsOf(systemEntry('acknowledged', { actor: 'alice' }), lead)[0]).toMatchObject({
      type: 'lead.acknowledged',
      data: { acknowledgedAt: '2025-06-01T10:00:00.000Z', actor: 'alice' },
    });
    const contacted = domainEventsOf(systemEntry('status_changed', { from: 'new', to: 'contacted' }), lead);
    expect(types(contacted)).toEqual(['lead.status_changed']);
    expect(contacted[0]?.data).toMatchObject({ from: 'new', to: 'contacted', status: 'contacted' });
  });

  it('adds lead.won with the amount, and lead.lost with the reason, beside lead.status_changed', () => {
    const won = domainEventsOf(
      systemEntry('status_changed', { from: 'proposal', to: 'won', amount: 1200, currency: 'USD' }),
      lead,
    );
    expect(types(won)).toEqual(['lead.status_changed', 'lead.won']);
    expect(won[1]?.data).toMatchObject({ amount: 1200, currency: 'USD', status: 'won', ownerId: 'alice' });
    const lost = domainEventsOf(
      systemEntry('status_changed', { from: 'contacted', to: 'lost', reason: 'Went with a competitor' }),
      lead,
    );
    expect(types(lost)).toEqual(['lead.status_changed', 'lead.lost']);
    expect(lost[1]?.data).toMatchObject({ reason: 'Went with a competitor', status: 'lost' });
  });

  it('maps an escalation that passed the lead on to lead.assigned, and one that alerted the team lead to nothing', () => {
    const passed = systemEntry('escalated', { level: 2, action: 'reassign', from: 'alice', to: 'bob' });
    expect(domainEventsOf(passed, { ...lead, ownerId: 'bob' })).toEqual([
      expect.objectContaining({
        type: 'lead.assigned',
        data: expect.objectContaining({ ownerId: 'bob', previousOwnerId: 'alice', via: 'escalation' }),
      }),
    ]);
    const notified = systemEntry('escalated', { level: 1, action: 'notify_team_lead', to: 'lead-sales' });
    expect(entryNeeds(notified)).toBeUndefined();
    expect(domainEventsOf(notified, lead)).toEqual([]);
  });

  it('maps the SLA clock’s breach entry to sla.breached, naming the owner whose clock ran out', () => {
    const events = domainEventsOf(
      systemEntry('sla_breached', {
        generation: 1,
        policyId: 'default',
        ownerId: 'alice',
        dueAt: '2025-06-01T09:32:00.000Z',
      }),
      // Passed on since: the breach still names the owner whose clock it was.
      { ...lead, ownerId: 'bob' },
    );
    expect(events).toEqual([
      expect.objectContaining({
        type: 'sla.breached',
        data: expect.objectContaining({
          leadId: 'lead-1',
          teamId: 'sales',
          ownerId: 'alice',
          policyId: 'default',
          generation: 1,
          dueAt: '2025-06-01T09:32:00.000Z',
          breachedAt: '2025-06-01T10:00:00.000Z',
        }),
      }),
    ]);
  });

  it('maps a merge on the timeline and an erasure in the audit trail to contact events', () => {
    const merged = {
      ...systemEntry('merged'),
      leadId: undefined,
      merge: { mergeId: 'merge-1', survivorId: 'c1', mergedId: 'c2', identities: ['email:x@example.com'] },
    };
    expect(entryNeeds(merged)).toEqual({});
    expect(domainEventsOf(merged)).toEqual([
      expect.objectContaining({
        type: 'contact.merged',
        data: {
          contactId: 'c1',
          mergedContactId: 'c2',
          mergeId: 'merge-1',
          mergedAt: '2025-06-01T10:00:00.000Z',
        },
      }),
    ]);
    const erased = {
      pk: 'AUDIT#2025-06',
      sk: '2025-06-02T08:00:00.000Z#a1',
      type: 'audit',
      auditId: 'a1',
      at: '2025-06-02T08:00:00.000Z',
      actor: 'admin',
      role: 'admin',
      action: 'contact.erased',
      target: 'contact:c1',
      summary: 'Contact erased: 1 contact',
      details: { mergedContacts: ['c2'], alreadyErased: false, contacts: 1 },
    };
    expect(domainEventsOf(erased)).toEqual([
      expect.objectContaining({
        type: 'contact.erased',
        data: {
          contactId: 'c1',
          erasedAt: '2025-06-02T08:00:00.000Z',
          mergedContacts: ['c2'],
          alreadyErased: false,
        },
      }),
    ]);
    expect(domainEventsOf({ ...erased, action: 'contact.exported' })).toEqual([]);
    // An assignment is on the timeline too; the audit entry of it makes no second event.
    expect(domainEventsOf({ ...erased, action: 'lead.assigned', target: 'lead:lead-1' })).toEqual([]);
  });

  it('ignores messages on open leads, notes, tasks, copies a merge moved, and other items', () => {
    expect(domainEventsOf(createdEntry({ mode: 'message' }), lead)).toEqual([]);
    expect(entryNeeds(createdEntry({ mode: 'message' }))).toBeUndefined();
    expect(domainEventsOf(systemEntry('note', { actor: 'alice' }), lead)).toEqual([]);
    expect(domainEventsOf(systemEntry('task_created'), lead)).toEqual([]);
    expect(domainEventsOf(systemEntry('sla_warning'), lead)).toEqual([]);
    expect(entryNeeds(createdEntry({ mergeUndo: { mergeId: 'merge-1' } }))).toBeUndefined();
    expect(domainEventsOf(createdEntry({ mergeUndo: { mergeId: 'merge-1' } }), lead)).toEqual([]);
    expect(domainEventsOf({ pk: 'CONTACT#c1', sk: 'LEAD#lead-1', leadId: 'lead-1', status: 'new' })).toEqual(
      [],
    );
    expect(domainEventsOf({ pk: 'SUB#abc', sk: 'SUB' })).toEqual([]);
  });

  it('asks for the lead only where the entry needs it', () => {
    expect(entryNeeds(createdEntry())).toEqual({ leadId: 'lead-1' });
    expect(entryNeeds(systemEntry('status_changed', { from: 'new', to: 'contacted' }))).toEqual({
      leadId: 'lead-1',
    });
    expect(entryNeeds(systemEntry('note'))).toBeUndefined();
  });

  it('gives each event a stable id from the entry’s sort key and type, the same after a merge moves it', () => {
    const first = domainEventsOf(createdEntry(), lead);
    const again = domainEventsOf(createdEntry({ pk: 'CONTACT#survivor' }), lead);
    expect(first.map((event) => event.id)).toEqual(again.map((event) => event.id));
    expect(first[0]?.id).toBe(domainEventId('TL#2025-06-01T09:30:00.000Z#sub-1', 'lead.created'));
    expect(first[0]?.id).not.toBe(first[1]?.id);
    expect(first[0]?.id).toMatch(/^evt_[0-9a-f]{32}$/);
  });
});

describe('chat messages', () => {
  const [created] = domainEventsOf(createdEntry(), lead);
  const context = {
    teamName: 'Sales',
    ownerName: 'Alice Kim',
    leadUrl: 'https://crm.example.com/console/leads/lead-1',
  };

  it('announces new leads, escalations and outcomes only', () => {
    expect([...CHAT_EVENT_TYPES].sort()).toEqual(['lead.created', 'lead.lost', 'lead.won', 'sla.breached']);
    const [acknowledged] = domainEventsOf(systemEntry('acknowledged'), lead);
    if (!acknowledged) throw new Error('no event');
    expect(slackMessage(acknowledged, context)).toBeUndefined();
    expect(teamsMessage(acknowledged, context)).toBeUndefined();
  });

  it('gives Slack Block Kit blocks with a text fallback, and no personal data', () => {
    if (!created) throw new Error('no event');
    const message = slackMessage(created, context) as { text: string; blocks: { type: string }[] };
    expect(message.text).toBe('New urgent lead for Sales via Web form, assigned to Alice Kim.');
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(JSON.stringify(message)).toContain('https://crm.example.com/console/leads/lead-1');
    expect(JSON.stringify(message)).not.toMatch(/Kim Minsu|example\.com\/pricing|MinSu|\+8210|quote/);
  });

  it('escapes Slack’s control characters in names from the configuration', () => {
    if (!created) throw new Error('no event');
    const message = slackMessage(created, { teamName: '<!channel> & co' }) as { blocks: unknown[] };
    expect(JSON.stringify(message.blocks)).toContain('&lt;!channel&gt; &amp; co');
    expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
  });

  it('gives Teams an Adaptive Card in attachments[].content', () => {
    if (!created) throw new Error('no event');
    const message = teamsMessage(created, context) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: unknown[]; actions: unknown[] };
      }[];
    };
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    expect(message.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(message.attachments[0]?.content).toMatchObject({
      type: 'AdaptiveCard',
      version: '1.4',
      body: expect.arrayContaining([expect.objectContaining({ type: 'FactSet' })]),
      actions: [{ type: 'Action.OpenUrl', title: 'Open lead', url: context.leadUrl }],
    });
  });

  it('names the amount of a won lead', () => {
    const [, won] = domainEventsOf(
      systemEntry('status_changed', { from: 'proposal', to: 'won', amount: 1200, currency: 'USD' }),
      lead,
    );
    if (!won) throw new Error('no event');
    expect((slackMessage(won, context) as { text: string }).text).toBe(
      'Alice Kim won a lead worth 1200 USD.',
    );
  });
});
