import { ConfigInvalidError, ConfigSource, combineConfig, routingSectionOf } from '@leadflow/aws';
import type { LeadflowConfig } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { demoConfig } from './support';

/** A configuration that differs from the demo one by bob's out of office, to tell reads apart. */
function away(until: string): LeadflowConfig {
  const bundled = demoConfig();
  const section = routingSectionOf(bundled);
  const bob = section.teams.flatMap((team) => team.managers).find((manager) => manager.id === 'bob');
  if (!bob) throw new Error('no bob');
  bob.outOfOfficeUntil = until;
  return combineConfig(bundled, section);
}

function harness(ttlSeconds: number) {
  let now = 1_000_000;
  const reads: (LeadflowConfig | Error)[] = [];
  let loads = 0;
  const errors: string[] = [];
  const bundled = demoConfig();
  const source = new ConfigSource({
    ttlSeconds,
    fallback: bundled,
    now: () => now,
    load: async () => {
      loads++;
      const next = reads.shift();
      if (!next) throw new Error('no read scripted');
      if (next instanceof Error) throw next;
      return next;
    },
    onError: (error, serving) => errors.push(`${(error as Error).message} → ${serving}`),
  });
  return {
    source,
    bundled,
    reads,
    errors,
    loads: () => loads,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('ConfigSource', () => {
  it('reads once per TTL, so a change takes effect within it', async () => {
    const h = harness(10);
    const first = away('2030-01-01T00:00:00Z');
    const second = away('2031-01-01T00:00:00Z');
    h.reads.push(first, second);
    expect(await h.source.current()).toBe(first);
    h.advance(9_999);
    expect(await h.source.current()).toBe(first);
    expect(h.loads()).toBe(1);
    h.advance(1);
    expect(await h.source.current()).toBe(second);
    expect(h.loads()).toBe(2);
  });

  it('shares one read between concurrent callers', async () => {
    const h = harness(10);
    const config = away('2030-01-01T00:00:00Z');
    h.reads.push(config);
    const all = await Promise.all([h.source.current(), h.source.current(), h.source.current()]);
    expect(all).toEqual([config, config, config]);
    expect(h.loads()).toBe(1);
  });

  it('reads on every call with a TTL of 0', async () => {
    const h = harness(0);
    const a = away('2030-01-01T00:00:00Z');
    const b = away('2031-01-01T00:00:00Z');
    h.reads.push(a, b);
    expect(await h.source.current()).toBe(a);
    expect(await h.source.current()).toBe(b);
  });

  it('keeps serving the last good configuration when a read fails, and tries again after the TTL', async () => {
    const h = harness(10);
    const good = away('2030-01-01T00:00:00Z');
    const later = away('2031-01-01T00:00:00Z');
    h.reads.push(good, new Error('throttled'), later);
    expect(await h.source.current()).toBe(good);
    h.advance(10_000);
    expect(await h.source.current()).toBe(good);
    expect(h.errors).toEqual(['throttled → last_good']);
    // Not hammered: the failed read counts as a read for the TTL.
    h.advance(5_000);
    expect(await h.source.current()).toBe(good);
    expect(h.loads()).toBe(2);
    h.advance(5_000);
    expect(await h.source.current()).toBe(later);
  });

  it('serves the bundled configuration when no read has succeeded yet', async () => {
    const h = harness(10);
    h.reads.push(new ConfigInvalidError('teams.0.managers: a team needs at least one active manager'));
    expect(await h.source.current()).toBe(h.bundled);
    expect(h.errors).toEqual([expect.stringMatching(/^Invalid configuration:.*→ bundled$/s)]);
  });
});

describe('combineConfig', () => {
  it('refuses a routing section that leaves a form without its team, naming the problem', () => {
    const bundled = demoConfig();
    const section = routingSectionOf(bundled);
    section.teams = section.teams.filter((team) => team.id !== 'sales');
    expect(() => combineConfig(bundled, section)).toThrow(ConfigInvalidError);
    expect(() => combineConfig(bundled, section)).toThrow(/form demo-contact: unknown team sales/);
  });

  it('takes the section as a whole: a section without rules has none', () => {
    const bundled = demoConfig();
    const { routing: _rules, ...section } = routingSectionOf(bundled);
    expect(bundled.routing.rules.length).toBeGreaterThan(0);
    expect(combineConfig(bundled, section).routing.rules).toEqual([]);
    // Forms and channels are the bundled ones.
    expect([...combineConfig(bundled, section).forms.keys()]).toEqual([...bundled.forms.keys()]);
  });
});
