import { LeadflowConfig } from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { demoConfig, rawDemoConfig } from './support';

type RawConfig = ReturnType<typeof rawDemoConfig>;

function withChange(change: (raw: RawConfig) => void): () => LeadflowConfig {
  const raw = rawDemoConfig();
  change(raw);
  return () => new LeadflowConfig(raw);
}

function channelsOf(raw: RawConfig): NonNullable<RawConfig['channels']> {
  if (!raw.channels) throw new Error('The demo config has no channels');
  return raw.channels;
}

function firstForm(raw: RawConfig): RawConfig['forms'][number] {
  const form = raw.forms[0];
  if (!form) throw new Error('The demo config has no forms');
  return form;
}

describe('LeadflowConfig', () => {
  it('loads the demo configuration with lookups and defaults', () => {
    const config = demoConfig();
    expect([...config.forms.keys()]).toEqual([
      'demo-contact',
      'demo-contact-ko',
      'demo-contact-th',
      'demo-backend',
    ]);
    expect(config.forms.get('demo-backend')).toMatchObject({ access: 'backend' });
    expect(config.forms.get('demo-contact')).toMatchObject({
      access: 'public',
      acknowledgementDomainHourlyCap: 30,
    });
    expect(config.team('sales').managers.map((manager) => manager.id)).toEqual(['alice', 'bob']);
    expect(config.managers.get('bob')).toMatchObject({ email: 'bob@example.com', active: true });
    const koForm = config.forms.get('demo-contact-ko');
    expect(koForm?.fields.find((field) => field.name === 'email')).toMatchObject({
      required: false,
      maxLength: 2000,
    });
    expect(() => config.team('nope')).toThrow(/nope/);
  });

  it.each([
    [
      'a duplicate field name',
      (raw: RawConfig) => firstForm(raw).fields.push({ name: 'email', type: 'text' }),
    ],
    [
      'two fields of type email',
      (raw: RawConfig) => firstForm(raw).fields.push({ name: 'email2', type: 'email' }),
    ],
    [
      'no email or phone field',
      (raw: RawConfig) => {
        const form = firstForm(raw);
        form.fields = form.fields.filter((field) => field.type !== 'email' && field.type !== 'phone');
      },
    ],
    [
      'a honeypot that is a real field',
      (raw: RawConfig) => Object.assign(firstForm(raw), { honeypotField: 'email' }),
    ],
    ['an unknown team', (raw: RawConfig) => Object.assign(firstForm(raw), { teamId: 'marketing' })],
    ['an unknown region', (raw: RawConfig) => Object.assign(firstForm(raw), { defaultRegion: 'XX' })],
    ['an unsupported language', (raw: RawConfig) => Object.assign(firstForm(raw), { language: 'fr' })],
    ['an uppercase form id', (raw: RawConfig) => Object.assign(firstForm(raw), { id: 'Demo' })],
    [
      'an allowed origin that is not a URL',
      (raw: RawConfig) => Object.assign(firstForm(raw), { allowedOrigins: ['example.com'] }),
    ],
    [
      'duplicate manager ids',
      (raw: RawConfig) =>
        raw.teams.push({
          id: 'support',
          name: 'Support',
          strategy: 'round_robin',
          managers: [{ id: 'alice', name: 'Alice', email: 'a@example.com', language: 'en' }],
        }),
    ],
    [
      'a manager without a valid email',
      (raw: RawConfig) => Object.assign(raw.teams[0]?.managers[0] ?? {}, { email: 'alice' }),
    ],
  ])('fails fast on %s', (_, change) => {
    expect(withChange(change)).toThrow(/^Invalid leadflow configuration/);
  });

  it.each([
    ['channels.twilio', (raw: RawConfig) => Object.assign(channelsOf(raw).twilio ?? {}, { teamId: 'salse' })],
    ['channels.meta', (raw: RawConfig) => Object.assign(channelsOf(raw).meta ?? {}, { teamId: 'salse' })],
    [
      'channels.telegram',
      (raw: RawConfig) => Object.assign(channelsOf(raw).telegram ?? {}, { teamId: 'salse' }),
    ],
    ['channels.email', (raw: RawConfig) => Object.assign(channelsOf(raw).email ?? {}, { teamId: 'salse' })],
    [
      'generic source callcenter',
      (raw: RawConfig) => Object.assign(channelsOf(raw).generic?.[0] ?? {}, { teamId: 'salse' }),
    ],
    [
      'chat widget site-chat',
      (raw: RawConfig) => Object.assign(channelsOf(raw).chatWidgets?.[0] ?? {}, { teamId: 'salse' }),
    ],
    [
      'email recipient thai@example.com',
      (raw: RawConfig) =>
        channelsOf(raw).email?.recipients?.push({
          address: 'thai@example.com',
          teamId: 'salse',
        } as unknown as string),
    ],
  ])('names %s when it refers to an unknown team, at load', (where, change) => {
    expect(withChange(change)).toThrow(`${where}: unknown team salse`);
  });

  it('fails fast on two forms with one id', () => {
    expect(withChange((raw) => raw.forms.push({ ...firstForm(raw) }))).toThrow(
      'form demo-contact is defined twice',
    );
  });

  it('routes an email recipient to its own team', () => {
    const config = withChange((raw) => {
      raw.teams.push({ ...(raw.teams[0] as RawConfig['teams'][number]), id: 'thai-desk', managers: [] });
      const team = raw.teams.at(-1) as RawConfig['teams'][number];
      team.managers = [{ id: 'pim', name: 'Pim', email: 'pim@example.com', language: 'th', active: true }];
      channelsOf(raw).email?.recipients?.push({
        address: 'Thai@Example.com',
        teamId: 'thai-desk',
      } as unknown as string);
    })();
    expect(config.channels.email?.recipientTeams).toEqual({ 'thai@example.com': 'thai-desk' });
    expect(config.channels.email?.recipients).toContain('Thai@Example.com');
  });
});
