import {
  availabilityOf,
  type CaptureEvent,
  type ContactState,
  type LeadflowConfig,
  type ManagerLoad,
  planRoute,
  type RoutePlan,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureFixture, demoConfig } from './support';

const config = demoConfig();
const MANAGERS = [...config.managers.keys()];
/** A Tuesday, 10:00 in Seoul and 08:00 in Bangkok: both desks open. */
const OPEN = new Date('2026-12-01T01:00:00Z');

/** Plans to the end, drawing cursors from a counter per team as the adapter does. */
function plan(
  capture: CaptureEvent,
  options: {
    contact?: ContactState;
    loads?: Record<string, ManagerLoad>;
    now?: Date;
    cursors?: Map<string, number>;
  } = {},
  cfg: LeadflowConfig = config,
): Exclude<RoutePlan, { kind: 'needs_cursor' }> {
  const cursors = options.cursors ?? new Map<string, number>();
  let cursor: { teamId: string; value: number } | undefined;
  for (let round = 0; round < 4; round++) {
    const result = planRoute({
      capture,
      config: cfg,
      contact: options.contact,
      loads: options.loads ?? {},
      cursor,
      now: options.now ?? OPEN,
    });
    if (result.kind !== 'needs_cursor') return result;
    const value = (cursors.get(result.teamId) ?? 0) + 1;
    cursors.set(result.teamId, value);
    cursor = { teamId: result.teamId, value };
  }
  throw new Error('kept asking for a cursor');
}

const thaiPhone = captureFixture({
  contact: { name: 'Somsak', phone: '+66812345678' },
  message: 'hello',
});

describe('planRoute', () => {
  it('sends a lead by the rules, scores it and picks a manager, with every candidate and why', () => {
    const result = plan(thaiPhone);
    expect(result.kind).toBe('lead');
    if (result.kind !== 'lead') return;
    expect(result.decision).toMatchObject({ teamId: 'thai', ruleId: 'thai', priority: 'normal' });
    expect(result.record).toMatchObject({
      teamId: 'thai',
      rule: 'thai',
      strategy: 'weighted_round_robin',
      priority: 'normal',
      ownerId: 'somchai',
    });
    expect(result.score).toBeGreaterThan(0);
    expect(result.record.candidates?.map((candidate) => candidate.managerId).sort()).toEqual([
      'nok',
      'somchai',
    ]);
    expect(result.contactOwnerId).toBe('somchai');
  });

  it('asks for a cursor only when the strategy needs one', () => {
    const first = planRoute({ capture: thaiPhone, config, loads: {}, now: OPEN });
    expect(first).toEqual({ kind: 'needs_cursor', teamId: 'thai' });
    const enterprise = planRoute({
      capture: captureFixture({ source: { utm: { utm_campaign: 'enterprise' } } }),
      config,
      loads: {},
      now: OPEN,
    });
    expect(enterprise.kind).toBe('lead');
  });

  it('continues an open conversation of an active owner as a message on that lead', () => {
    const chat = captureFixture({ channel: 'chat', conversationId: 'chat:site-chat:s1', consent: false });
    const contact: ContactState = {
      ownerId: 'bob',
      conversations: { 'chat:site-chat:s1': { leadId: 'lead-1', lastAt: OPEN.toISOString() } },
    };
    expect(plan(chat, { contact })).toMatchObject({ kind: 'message', leadId: 'lead-1', ownerId: 'bob' });
  });

  it('keeps the contact with its owner when a teammate substitutes, and moves it when the owner left', () => {
    const away = withManager(config, 'alice', { outOfOfficeUntil: '2026-12-02T00:00:00Z' });
    const substituted = plan(captureFixture(), { contact: { ownerId: 'alice' } }, away);
    expect(substituted).toMatchObject({
      kind: 'lead',
      record: { ownerId: 'bob', strategy: 'substitution', substitutedFor: 'alice' },
      contactOwnerId: 'alice',
    });
    const left = withManager(config, 'alice', { active: false });
    const replaced = plan(captureFixture(), { contact: { ownerId: 'alice' } }, left);
    expect(replaced).toMatchObject({ kind: 'lead', record: { ownerId: 'bob' }, contactOwnerId: 'bob' });
  });

  it('queues a lead nobody can take, keeping the contact as it was', () => {
    const nobody = withManager(withManager(config, 'alice', { active: false }), 'bob', {
      outOfOfficeUntil: '2027-01-01T00:00:00Z',
    });
    const result = plan(captureFixture(), {}, nobody);
    expect(result).toMatchObject({ kind: 'lead', assignment: { kind: 'queued', teamId: 'sales' } });
    if (result.kind === 'lead') {
      expect(result.record.ownerId).toBeUndefined();
      expect(result.contactOwnerId).toBeUndefined();
    }
  });

  it('acknowledges a consenting form lead with an email at most once a day', () => {
    const lead = captureFixture();
    expect(plan(lead)).toMatchObject({ acknowledge: true });
    const recently = { lastAcknowledgedAt: new Date(OPEN.getTime() - 3_600_000).toISOString() };
    expect(plan({ ...lead, receivedAt: OPEN.toISOString() }, { contact: recently })).toMatchObject({
      acknowledge: false,
    });
    expect(plan({ ...lead, consent: false })).toMatchObject({ acknowledge: false });
  });

  // Random availability and loads over the demo teams, random captures: the invariants of a plan.
  const load = fc.record({ openLeads: fc.integer({ min: 0, max: 5 }) });
  const availability = fc.record({
    active: fc.boolean(),
    away: fc.boolean(),
    capacity: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  });
  const captureArb = fc.record({
    phone: fc.constantFrom('+821023456789', '+66812345678', undefined),
    language: fc.constantFrom('en', 'ko', 'th' as const),
    urgent: fc.boolean(),
    campaign: fc.constantFrom('enterprise', 'spring', undefined),
    message: fc.constantFrom('hello', '기업 견적', 'องค์กร', 'quote please'),
  });

  it('never gives a lead to an unavailable manager, and is a pure function of its inputs', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...MANAGERS), availability),
        fc.dictionary(fc.constantFrom(...MANAGERS), load),
        captureArb,
        fc.option(fc.constantFrom(...MANAGERS), { nil: undefined }),
        fc.date({ min: new Date('2026-01-01'), max: new Date('2027-12-31'), noInvalidDate: true }),
        (states, loads, shape, ownerId, now) => {
          let cfg = config;
          for (const [id, state] of Object.entries(states)) {
            cfg = withManager(cfg, id, {
              ...(state.capacity === undefined ? {} : { capacity: state.capacity }),
              ...(state.away ? { outOfOfficeUntil: new Date(now.getTime() + 3_600_000).toISOString() } : {}),
            });
          }
          // At least one manager per team stays active, as the configuration demands.
          for (const [id, state] of Object.entries(states)) {
            if (!state.active && activeTeammates(cfg, id) > 1) cfg = withManager(cfg, id, { active: false });
          }
          const capture = captureFixture({
            contact: {
              name: 'P',
              ...(shape.phone
                ? { phone: shape.phone }
                : { email: 'p@example.com', emailKey: 'p@example.com' }),
            },
            language: shape.language,
            urgent: shape.urgent,
            message: shape.message,
            source: { utm: shape.campaign ? { utm_campaign: shape.campaign } : {} },
            receivedAt: now.toISOString(),
          });
          const contact = ownerId ? { ownerId } : undefined;
          const first = plan(capture, { contact, loads, now }, cfg);
          const again = plan(capture, { contact, loads, now }, cfg);
          expect(again).toEqual(first);
          if (first.kind !== 'lead' || first.assignment.kind !== 'assigned') return;
          const manager = cfg.managers.get(first.assignment.managerId);
          expect(manager).toBeDefined();
          if (!manager) return;
          expect(availabilityOf(manager, cfg.teamOf(manager.id), loads[manager.id], now)).toEqual({
            available: true,
          });
          // The contact changes owner only when nobody substituted for an owner it keeps.
          if (first.record.substitutedFor) expect(first.contactOwnerId).toBe(ownerId);
          expect(first.record.score).toBeGreaterThanOrEqual(0);
          expect(first.record.score).toBeLessThanOrEqual(100);
        },
      ),
      { numRuns: 300 },
    );
  });
});

function activeTeammates(cfg: LeadflowConfig, managerId: string): number {
  return cfg.teamOf(managerId)?.managers.filter((manager) => manager.active).length ?? 0;
}

/** The configuration with one manager's settings changed. */
function withManager(
  cfg: LeadflowConfig,
  managerId: string,
  change: Record<string, unknown>,
): LeadflowConfig {
  const raw = structuredClone(cfg.raw);
  for (const team of raw.teams) {
    team.managers = team.managers.map((manager) =>
      manager.id === managerId ? { ...manager, ...change } : manager,
    );
  }
  return new (cfg.constructor as new (input: unknown) => LeadflowConfig)(raw);
}
