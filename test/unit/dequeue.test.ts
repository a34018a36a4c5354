import { type Assignment, LeadflowConfig, type ManagerLoad, planDequeue } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { rawDemoConfig } from './support';

/** Wednesday 2026-12-02, 12:00 in Seoul. */
const NOW = new Date('2026-12-02T03:00:00Z');

function config(change: (managers: Record<string, Record<string, unknown>>) => void = () => undefined) {
  const raw = rawDemoConfig();
  change(Object.fromEntries(raw.teams.flatMap((team) => team.managers.map((m) => [m.id, m]))));
  return new LeadflowConfig(raw);
}

const queued: Assignment = {
  teamId: 'sales',
  rule: 'default',
  strategy: 'queue',
  reason: "Nobody is available in sales; it waits in sales's queue; team lead alice warned.",
  priority: 'high',
  score: 45,
  tags: ['after_hours'],
  candidates: [],
};

const lead = { leadId: 'L1', teamId: 'sales', assignment: queued, queuedAt: '2026-12-02T02:40:00Z' };

function plan(options: { config: LeadflowConfig; owner?: string; loads?: Record<string, ManagerLoad> }) {
  const input = {
    config: options.config,
    lead,
    contactOwnerId: options.owner,
    loads: options.loads ?? {},
    now: NOW,
  };
  const first = planDequeue(input);
  return first.kind === 'needs_cursor'
    ? planDequeue({ ...input, cursor: { teamId: first.teamId, value: 7 } })
    : first;
}

describe('planDequeue', () => {
  it('waits while nobody in the team is available', () => {
    const result = plan({
      config: config((m) => {
        Object.assign(m.alice ?? {}, { outOfOfficeUntil: '2026-12-03T00:00:00Z' });
        Object.assign(m.bob ?? {}, { active: false });
      }),
    });
    expect(result).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('Nobody is available in sales'),
    });
  });

  it('asks for the cursor, then assigns by round robin, keeping the rule, priority, score and tags', () => {
    const first = planDequeue({ config: config(), lead, loads: {}, now: NOW });
    expect(first).toEqual({ kind: 'needs_cursor', teamId: 'sales' });
    const result = plan({ config: config() });
    expect(result).toMatchObject({
      kind: 'assign',
      managerId: 'alice',
      contactOwnerId: 'alice',
      waitedSeconds: 20 * 60,
      record: {
        ownerId: 'alice',
        teamId: 'sales',
        rule: 'default',
        strategy: 'round_robin',
        cursor: 7,
        priority: 'high',
        score: 45,
        tags: ['after_hours'],
      },
    });
    if (result.kind !== 'assign') throw new Error('not assigned');
    expect(result.record.reason).toMatch(/^Waited 20 min in sales's queue, then: Round robin in sales/);
  });

  it("gives a returning contact's lead back to its owner once the owner is available, without a cursor", () => {
    const first = planDequeue({ config: config(), lead, contactOwnerId: 'bob', loads: {}, now: NOW });
    expect(first).toMatchObject({ kind: 'assign', managerId: 'bob', record: { strategy: 'sticky_owner' } });
    expect(first.kind === 'assign' ? first.record.cursor : 'not assigned').toBeUndefined();
  });

  it('lets a teammate substitute for an owner still away, leaving the contact with the owner', () => {
    const result = plan({
      config: config((m) => {
        Object.assign(m.bob ?? {}, { outOfOfficeUntil: '2026-12-03T00:00:00Z' });
      }),
      owner: 'bob',
    });
    expect(result).toMatchObject({
      kind: 'assign',
      managerId: 'alice',
      contactOwnerId: 'bob',
      record: { strategy: 'substitution', substitutedFor: 'bob' },
    });
  });
});
