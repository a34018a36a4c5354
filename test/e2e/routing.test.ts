import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../config';
import { dryRunLead } from '../../local/routing';
import { eventually, person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

type Lead = {
  formId: string;
  name: string;
  email: string;
  phone?: string;
  message?: string;
  utm?: Record<string, string>;
};

/** The lead item real routing wrote for this person. */
async function routedLead(emailKey: string): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const items = await system.items();
    const contactId = items.find((item) => item.pk === `IDENT#email:${emailKey}`)?.contactId;
    const lead = items.find(
      (item) => item.pk === `CONTACT#${contactId}` && String(item.sk).startsWith('LEAD#'),
    );
    expect(lead).toBeDefined();
    return lead as Record<string, unknown>;
  });
}

async function post(lead: Lead): Promise<void> {
  const { formId, utm, ...fields } = lead;
  const response = await system.post(`/v1/forms/${formId}`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...fields, ...utm, consent: true }),
  });
  expect(response.status).toBe(202);
}

/** Dry-runs the lead, routes it for real, and checks that both say the same. */
async function dryRunThenRoute(lead: Lead) {
  const dry = await dryRunLead(
    { channel: 'web_form', ...lead, utm: lead.utm ?? {} },
    { doc: system.doc, tableName: system.tableName, config, at: new Date() },
  );
  await post(lead);
  const real = await routedLead(lead.email.toLowerCase());
  // Routing is finished (the manager's load counted too) once it has queued the lead's notifications.
  await system.waitForEmails((emails: SentEmail[]) =>
    emails.some((email) => email.body.text?.includes(lead.name)),
  );
  expect(real.teamId, lead.name).toBe(dry.team);
  expect(real.ownerId ?? null, lead.name).toBe(dry.manager);
  expect(real.rule, lead.name).toBe(dry.rule);
  expect(real.priority, lead.name).toBe(dry.priority);
  expect(real.tags, lead.name).toEqual(dry.tags);
  expect(real.score, lead.name).toBe(dry.score);
  return { dry, real };
}

const lead = (tag: string, formId: string, extra: Partial<Lead> = {}): Lead => {
  const p = person(tag);
  return { formId, name: p.name, email: p.email, ...extra };
};

describe('routing by rules, end to end', () => {
  it('agrees with the dry-run, across rules, two time zones, strategies, capacity and fallback', async () => {
    const cases: Lead[] = [
      lead('sales', 'demo-contact', { phone: '010-2345-6789' }),
      lead('thai-phone', 'demo-contact', { phone: '+66 81 234 5678' }),
      lead('thai-form', 'demo-contact-th', { message: 'สนใจค่ะ' }),
      lead('campaign', 'demo-contact', { utm: { utm_campaign: 'Enterprise' } }),
      lead('keyword', 'demo-contact-ko', { message: '기업 견적 부탁드립니다' }),
      lead('sales2', 'demo-contact'),
    ];
    // Enterprise holds 3 open leads per manager: its 7th and 8th leads fall back to sales.
    for (let n = 0; n < 6; n++)
      cases.push(lead(`ent${n}`, 'demo-contact', { message: 'an enterprise plan' }));
    const results = [];
    for (const one of cases) results.push(await dryRunThenRoute(one));

    const [sales, thaiPhone, thaiForm, campaign, keyword] = results;
    expect(sales?.real).toMatchObject({ teamId: 'sales', rule: 'default', priority: 'normal' });
    expect(thaiPhone?.real).toMatchObject({ teamId: 'thai', rule: 'thai' });
    expect(thaiForm?.real).toMatchObject({ teamId: 'thai', rule: 'thai' });
    expect(campaign?.real).toMatchObject({ teamId: 'enterprise', rule: 'enterprise', priority: 'high' });
    expect(campaign?.real.tags).toContain('enterprise');
    expect(keyword?.real).toMatchObject({ teamId: 'enterprise', rule: 'enterprise' });
    // after_hours follows Seoul's clock and holidays, whatever the time zone of this machine.
    const enterprise = results.filter((result) => result.dry.rule === 'enterprise');
    expect(enterprise.map((result) => result.real.teamId)).toEqual([
      'enterprise',
      'enterprise',
      'enterprise',
      'enterprise',
      'enterprise',
      'enterprise',
      'sales',
      'sales',
    ]);
    const fellBack = enterprise.at(-1)?.dry;
    expect(fellBack?.candidates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          managerId: 'carol',
          available: false,
          why: expect.stringContaining('capacity'),
        }),
      ]),
    );
    // The enterprise team lead hears of it.
    await system.waitForEmails((emails: SentEmail[]) =>
      emails.some(
        (email) => email.subject.startsWith('[Fallback]') && email.destination.to[0]?.includes('alice'),
      ),
    );
  });

  it('gives the thai desk two to one in every window of three', async () => {
    const owners: string[] = [];
    for (let n = 0; n < 6; n++) {
      const one = lead(`wrr${n}`, 'demo-contact-th');
      await post(one);
      owners.push(String((await routedLead(one.email.toLowerCase())).ownerId));
    }
    for (let start = 0; start + 3 <= owners.length; start++) {
      const window = owners.slice(start, start + 3);
      expect(
        window.filter((owner) => owner === 'somchai'),
        window.join(','),
      ).toHaveLength(2);
      expect(
        window.filter((owner) => owner === 'nok'),
        window.join(','),
      ).toHaveLength(1);
    }
  });

  it('prints the dry-run as JSON from the command line, writing nothing', async () => {
    const one = lead('cli', 'demo-contact', { phone: '+66 81 765 4321', message: 'ขอใบเสนอราคา' });
    // What the dry-run could have written: submissions, identities, contacts, leads, cursors, configuration
    // (not the managers' loads, which a previous lead may still be counting, nor other tests' send ledgers).
    const routingItems = async () =>
      (await system.items()).filter((item) =>
        /^(SUB|IDENT|CONTACT|TEAM|CONFIG|MERGE)#/.test(String(item.pk)),
      );
    const before = await routingItems();
    const child = execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/routing.ts',
        'dry-run',
        '--endpoint',
        system.urls.dynamodb,
        '--table',
        system.tableName,
      ],
      { env: { ...process.env, ...system.env } },
    );
    child.stdin?.end(JSON.stringify({ channel: 'web_form', ...one }));
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (chunk) => {
        text += chunk;
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    const printed = JSON.parse(output);
    expect(printed).toMatchObject({ rule: 'thai', team: 'thai', priority: 'normal', contactId: null });
    expect(['somchai', 'nok']).toContain(printed.manager);
    // "ใบเสนอราคา" (a quote) is a scored keyword.
    expect(printed.scoreReasons).toEqual(expect.arrayContaining([expect.objectContaining({ points: 10 })]));
    expect(printed.candidates.length).toBeGreaterThan(0);
    expect(await routingItems()).toEqual(before);
  });
});
