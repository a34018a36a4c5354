import type { DataContext } from '@leadflow/aws';
import {
  ACTION_LINK_ACTIONS,
  ACTION_LINK_LABELS,
  ACTION_PAGE_STRINGS,
  type ActionLink,
  ALERT_EVENT_OF_KIND,
  actionLinkFor,
  actionLinkUrl,
  effectiveAlerts,
  mePatchSchema,
  planAlertPreferences,
  renderManagerAlert,
  signActionLink,
  UnauthorizedError,
  verifyActionLink,
  wantsAlert,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app';
import { ACTION_PAGE_CSP } from '../../functions/api/routes/actions';
import { composeNotification } from '../../functions/notifier/compose';
import { demoConfig, demoForm, demoManager, notificationFixture } from './support';

const KEY = 'unit-test-link-key-0123456789-abcdef';
const NOW = new Date('2026-12-02T01:00:00.000Z');
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,40}$/);
const linkArb: fc.Arbitrary<ActionLink> = fc.record({
  leadId: idArb,
  action: fc.constantFrom(...ACTION_LINK_ACTIONS),
  managerId: idArb,
  exp: fc.integer({ min: 1, max: 4_000_000_000 }),
  nonce: fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/),
});
const keyArb = fc.string({ minLength: 32, maxLength: 80 });

function link(overrides: Partial<ActionLink> = {}): ActionLink {
  return actionLinkFor({
    leadId: '01JZLEAD000000000000000001',
    action: 'acknowledge',
    managerId: 'bob',
    now: NOW,
    nonce: 'nonce-0001',
    ...overrides,
  });
}

describe('action link tokens', () => {
  it('verify to exactly the link they were signed for, before its expiry', () => {
    fc.assert(
      fc.property(linkArb, keyArb, (signed, key) => {
        const token = signActionLink(signed, key);
        expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
        expect(verifyActionLink(token, key, new Date(signed.exp * 1000 - 1))).toEqual({
          ok: true,
          link: signed,
        });
      }),
    );
  });

  it('are expired from exp on, and still say what they were for', () => {
    fc.assert(
      fc.property(linkArb, fc.integer({ min: 0, max: 10_000_000 }), (signed, after) => {
        const token = signActionLink(signed, KEY);
        expect(verifyActionLink(token, KEY, new Date(signed.exp * 1000 + after))).toEqual({
          ok: false,
          reason: 'expired',
          link: signed,
        });
      }),
    );
  });

  it('expire after the configured time: a day by default', () => {
    const token = signActionLink(link(), KEY);
    expect(verifyActionLink(token, KEY, new Date(NOW.getTime() + 24 * 3600_000 - 1)).ok).toBe(true);
    expect(verifyActionLink(token, KEY, new Date(NOW.getTime() + 24 * 3600_000))).toMatchObject({
      reason: 'expired',
    });
    // Another nonce, another token: two alerts for one lead never share a link.
    expect(signActionLink(link({ nonce: 'nonce-0002' }), KEY)).not.toBe(token);
    const hour = signActionLink(
      actionLinkFor({
        leadId: 'L1',
        action: 'pass',
        managerId: 'bob',
        now: NOW,
        nonce: 'nonce-0003',
        ttlSeconds: 3600,
      }),
      KEY,
    );
    expect(verifyActionLink(hour, KEY, new Date(NOW.getTime() + 3600_000))).toMatchObject({
      reason: 'expired',
    });
  });

  it('are tampered when any one character changes (to any other URL-safe character)', () => {
    fc.assert(
      fc.property(linkArb, fc.nat(), fc.constantFrom(...B64URL), (signed, position, replacement) => {
        const token = signActionLink(signed, KEY);
        const at = position % token.length;
        fc.pre(token[at] !== '.' && token[at] !== replacement);
        const changed = `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`;
        expect(verifyActionLink(changed, KEY, new Date(0))).toEqual({ ok: false, reason: 'tampered' });
      }),
    );
  });

  it('bind the lead, the action and the manager: another link’s payload under this signature is tampered', () => {
    fc.assert(
      fc.property(linkArb, linkArb, (mine, other) => {
        fc.pre(JSON.stringify(mine) !== JSON.stringify(other));
        const [, mac] = signActionLink(mine, KEY).split('.');
        const [payload] = signActionLink(other, KEY).split('.');
        expect(verifyActionLink(`${payload}.${mac}`, KEY, new Date(0))).toEqual({
          ok: false,
          reason: 'tampered',
        });
      }),
    );
    // The same link for another lead, action or manager is another token.
    const base = link();
    for (const change of [{ leadId: 'OTHER' }, { action: 'pass' as const }, { managerId: 'alice' }]) {
      expect(signActionLink({ ...base, ...change }, KEY)).not.toBe(signActionLink(base, KEY));
    }
  });

  it('are tampered under another key', () => {
    fc.assert(
      fc.property(linkArb, keyArb, keyArb, (signed, key, other) => {
        fc.pre(key !== other);
        expect(verifyActionLink(signActionLink(signed, key), other, new Date(0))).toEqual({
          ok: false,
          reason: 'tampered',
        });
      }),
    );
  });

  it('are malformed when not shaped like a token, and never verify', () => {
    for (const token of [
      '',
      '.',
      'abc',
      'abc.def',
      `a.${'A'.repeat(42)}`,
      `a.${'A'.repeat(44)}`,
      `a b.${'A'.repeat(43)}`,
      `${'A'.repeat(2000)}.${'A'.repeat(43)}`,
    ]) {
      expect(verifyActionLink(token, KEY, NOW)).toEqual({ ok: false, reason: 'malformed' });
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (token) => {
        expect(verifyActionLink(token, KEY, NOW).ok).toBe(false);
      }),
    );
  });

  it('carry ids only: lead, action, manager, expiry and nonce, nothing of the customer', () => {
    const token = signActionLink(link(), KEY);
    const payload = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'));
    expect(Object.keys(payload).sort()).toEqual(['a', 'e', 'l', 'm', 'n']);
    expect(token.length).toBeLessThan(200);
  });

  it('refuse a short key, and an invalid link', () => {
    expect(() => signActionLink(link(), 'short')).toThrow(/32/);
    expect(() => verifyActionLink('x', 'short', NOW)).toThrow(/32/);
    expect(() => signActionLink({ ...link(), leadId: 'has space' }, KEY)).toThrow();
    expect(() => signActionLink({ ...link(), action: 'delete' as 'pass' }, KEY)).toThrow();
  });

  it('live in the path of the public base URL', () => {
    expect(actionLinkUrl('https://api.example.com/', 'abc.def')).toBe('https://api.example.com/a/abc.def');
  });
});

describe('action labels', () => {
  it('read "I’m on it" and "Pass it on" in English, and are translated in Korean and Thai', () => {
    expect(ACTION_LINK_LABELS.en).toEqual({ acknowledge: "I'm on it", pass: 'Pass it on' });
    for (const language of ['ko', 'th'] as const) {
      for (const action of ACTION_LINK_ACTIONS) {
        expect(ACTION_LINK_LABELS[language][action]).not.toBe(ACTION_LINK_LABELS.en[action]);
        expect(ACTION_PAGE_STRINGS[language].confirmTitle[action]).toBe(ACTION_LINK_LABELS[language][action]);
      }
    }
    expect(ACTION_LINK_LABELS.ko.acknowledge).toMatch(/[가-힣]/);
    expect(ACTION_LINK_LABELS.th.pass).toMatch(/[\u0E00-\u0E7F]/);
  });
});

describe('the manager alert’s action links', () => {
  const actions = {
    acknowledge: 'https://api.example.com/a/ack.token',
    pass: 'https://api.example.com/a/pass.token',
  };

  it('are two buttons beside "Open the lead", labelled in the manager’s language', () => {
    const carol = demoManager('carol');
    const alert = renderManagerAlert(notificationFixture('manager_alert'), {
      form: demoForm(),
      leadLinkBaseUrl: 'https://crm.example.com/leads',
      manager: carol,
      actions,
    });
    expect(carol.language).toBe('ko');
    expect(alert.html).toContain(`<a href="${actions.acknowledge}"`);
    expect(alert.html).toContain(`${ACTION_LINK_LABELS.ko.acknowledge}</a>`);
    expect(alert.html).toContain(`${ACTION_LINK_LABELS.ko.pass}</a>`);
    expect(alert.html).toContain('Open the lead</a>');
    expect(alert.text).toContain(`${ACTION_LINK_LABELS.ko.acknowledge}: ${actions.acknowledge}`);
    expect(alert.text).toContain(`${ACTION_LINK_LABELS.ko.pass}: ${actions.pass}`);
  });

  it('are absent without links, and the user’s text stays escaped with them', () => {
    const plain = renderManagerAlert(notificationFixture('manager_alert'), {
      form: demoForm(),
      leadLinkBaseUrl: 'https://crm.example.com/leads',
      manager: demoManager('alice'),
    });
    expect(plain.html).not.toContain("I'm on it");
    const xss = renderManagerAlert(notificationFixture('manager_alert', { message: '<script>x</script>' }), {
      form: demoForm(),
      leadLinkBaseUrl: 'https://crm.example.com/leads',
      manager: demoManager('alice'),
      actions,
    });
    expect(xss.html).not.toContain('<script>x');
    expect(xss.html).toContain('I&#39;m on it');
  });

  it('are signed by the notifier for the alert’s own lead, each action and its recipient', () => {
    const calls: unknown[] = [];
    const email = composeNotification(notificationFixture('manager_alert'), {
      config: demoConfig(),
      settings: { sesFromAddress: 'leads@example.com', leadLinkBaseUrl: 'https://crm.example.com/leads' },
      actionLink: (request) => {
        calls.push(request);
        return `https://api.example.com/a/${request.action}`;
      },
    });
    expect(calls).toEqual([
      { leadId: '01JZLEAD000000000000000001', action: 'acknowledge', managerId: 'alice' },
      { leadId: '01JZLEAD000000000000000001', action: 'pass', managerId: 'alice' },
    ]);
    expect(email.content.text).toContain("I'm on it: https://api.example.com/a/acknowledge");
    // The lead's acknowledgement carries no action link.
    const ack = composeNotification(notificationFixture('acknowledgement'), {
      config: demoConfig(),
      settings: { sesFromAddress: 'leads@example.com', leadLinkBaseUrl: 'https://crm.example.com/leads' },
      actionLink: () => 'https://api.example.com/a/x',
    });
    expect(ack.content.html).not.toContain('/a/x');
  });
});

describe('alert preferences', () => {
  it('are all on until turned off, and a patch changes only what it names', () => {
    expect(effectiveAlerts(undefined)).toEqual({
      new_lead: true,
      message: true,
      sla_warning: true,
      escalation: true,
      task_reminder: true,
    });
    expect(effectiveAlerts({ new_lead: false })).toMatchObject({ new_lead: false, message: true });
    // Only the events named are written; the stored others stay.
    expect(planAlertPreferences({ new_lead: false, message: undefined }, { leadsATeam: false })).toEqual({
      ok: true,
      alerts: { new_lead: false },
    });
  });

  it('never let a team lead turn escalations off, and always deliver them to one', () => {
    const refused = planAlertPreferences({ escalation: false }, { leadsATeam: true });
    expect(refused).toMatchObject({ ok: false, fields: [{ field: 'alerts.escalation' }] });
    expect(planAlertPreferences({ escalation: false }, { leadsATeam: false }).ok).toBe(true);
    expect(wantsAlert({ escalation: false }, 'escalation', { leadsATeam: true })).toBe(true);
    expect(wantsAlert({ escalation: false }, 'escalation', { leadsATeam: false })).toBe(false);
    expect(wantsAlert({ new_lead: false }, 'new_lead', { leadsATeam: true })).toBe(false);
    expect(wantsAlert({}, 'message', { leadsATeam: false })).toBe(true);
  });

  it('govern every manager alert, never the mail to the lead', () => {
    expect(ALERT_EVENT_OF_KIND.manager_alert).toBe('new_lead');
    expect(ALERT_EVENT_OF_KIND.message_alert).toBe('message');
    expect(ALERT_EVENT_OF_KIND.acknowledgement).toBeNull();
  });

  it('are patched with known events only, and at least one', () => {
    expect(mePatchSchema.safeParse({ alerts: { new_lead: false } }).success).toBe(true);
    expect(mePatchSchema.safeParse({ alerts: {} }).success).toBe(false);
    expect(mePatchSchema.safeParse({ alerts: { everything: false } }).success).toBe(false);
    expect(mePatchSchema.safeParse({ alerts: { new_lead: 'no' } }).success).toBe(false);
  });
});

describe('/a/{token} without a usable token', () => {
  /** Any touch of the data beyond the clock fails the test: a bad token is answered before any read. */
  const data = new Proxy({} as DataContext, {
    get: (_target, name) => {
      if (name === 'clock') return () => NOW;
      throw new Error(`the data context was touched (${String(name)})`);
    },
  });
  const app = createApiApp({
    data,
    authenticate: async () => {
      throw new UnauthorizedError('A bearer token is required.');
    },
    linkKey: KEY,
  });
  const good = signActionLink(link(), KEY);

  it.each([
    ['GET', 'a tampered', `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`, 403],
    ['POST', 'a tampered', `${good.slice(0, 5)}${good[5] === 'A' ? 'B' : 'A'}${good.slice(6)}`, 403],
    ['GET', 'a malformed', 'not-a-token', 400],
    ['POST', 'a malformed', 'x.y', 400],
  ])('%s with %s token answers a clear page and reads nothing', async (method, _what, token, status) => {
    const response = await app.request(`/a/${token}`, { method });
    expect(response.status).toBe(status);
    const html = await response.text();
    expect(html).toContain('This link is not valid');
    expect(html).toContain('Nothing was changed.');
    expect(html).not.toMatch(/<script|<form/i);
  });

  it('serves pages without script, caching, indexing or referrer', async () => {
    const response = await app.request('/a/not-a-token');
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-robots-tag')).toMatch(/noindex/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(ACTION_PAGE_CSP);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src|unsafe-inline/);
  });

  it('takes the token from the path only, never from a query string', async () => {
    expect((await app.request(`/a?token=${good}`)).status).toBe(404);
    expect((await app.request(`/a/?token=${good}`, { method: 'POST' })).status).toBe(404);
  });

  it('says links are unavailable where no key is configured', async () => {
    const keyless = createApiApp({
      data,
      authenticate: async () => {
        throw new UnauthorizedError('A bearer token is required.');
      },
    });
    const response = await keyless.request(`/a/${good}`, { method: 'POST' });
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('Links are not available');
  });
});
