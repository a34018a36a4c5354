import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { type DataContext, sendEmail } from '@leadflow/aws';
import {
  actionLinkFor,
  type Notification,
  planSesEvent,
  sesEventSchema,
  signActionLink,
  signUnsubscribeLink,
  verifyActionLink,
  verifyUnsubscribeLink,
} from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { createApiApp } from '../../functions/api/app';
import { UNSUBSCRIBE_CSP } from '../../functions/api/routes/unsubscribe';
import { composeNotification } from '../../functions/notifier/compose';
import { loadEvent } from '../support/events';
import { demoConfig, notificationFixture } from './support';

const KEY = 'k'.repeat(32);
const NOW = new Date('2026-12-01T10:00:00Z');
const CONTACT = '01JZCONTACT000000000000001';

describe('unsubscribe tokens', () => {
  it('name the contact and the page language, and nothing else', () => {
    const token = signUnsubscribeLink({ contactId: CONTACT, language: 'ko' }, KEY);
    const payload = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'));
    expect(payload).toEqual({ c: CONTACT, l: 'ko' });
    expect(verifyUnsubscribeLink(token, KEY, NOW)).toEqual({
      ok: true,
      link: { contactId: CONTACT, language: 'ko' },
    });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('refuse a changed payload, another key, a bad shape and an expired link', () => {
    const token = signUnsubscribeLink({ contactId: CONTACT }, KEY);
    const [payload, mac] = token.split('.') as [string, string];
    const other = Buffer.from(JSON.stringify({ c: '01JZCONTACT000000000000002' })).toString('base64url');
    expect(verifyUnsubscribeLink(`${other}.${mac}`, KEY, NOW)).toEqual({ ok: false, reason: 'tampered' });
    expect(verifyUnsubscribeLink(token, 'x'.repeat(32), NOW)).toEqual({ ok: false, reason: 'tampered' });
    expect(verifyUnsubscribeLink(`${payload}`, KEY, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyUnsubscribeLink('../../etc', KEY, NOW)).toEqual({ ok: false, reason: 'malformed' });
    const expiring = signUnsubscribeLink({ contactId: CONTACT, exp: NOW.getTime() / 1000 }, KEY);
    expect(verifyUnsubscribeLink(expiring, KEY, NOW)).toEqual({ ok: false, reason: 'expired' });
  });

  it('are never an action link, nor an action link an unsubscribe token (one key, two domains)', () => {
    const unsubscribe = signUnsubscribeLink({ contactId: CONTACT }, KEY);
    expect(verifyActionLink(unsubscribe, KEY, NOW)).toMatchObject({ ok: false });
    const action = signActionLink(
      actionLinkFor({ leadId: 'L1', action: 'acknowledge', managerId: 'alice', now: NOW, nonce: 'abcdefgh' }),
      KEY,
    );
    expect(verifyUnsubscribeLink(action, KEY, NOW)).toMatchObject({ ok: false });
  });
});

/** A data context whose table records what the route writes, answering as DynamoDB would. */
function recordingData() {
  const writes: { name: string; input: Record<string, unknown> }[] = [];
  const doc = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      writes.push({ name: command.constructor.name, input: command.input });
      if (command.constructor.name === 'UpdateCommand') {
        const values = command.input.ExpressionAttributeValues as Record<string, unknown>;
        return { Attributes: { unsubscribedAt: values[':at'] } };
      }
      return {};
    },
  };
  const data = { doc, tableName: 'leadflow', clock: () => NOW } as unknown as DataContext;
  return { data, writes };
}

describe('/u/{token}', () => {
  const token = signUnsubscribeLink({ contactId: CONTACT, language: 'th' }, KEY);
  const appWith = (data: DataContext, linkKey: string | null = KEY) =>
    createApiApp({
      data,
      authenticate: async () => {
        throw new Error('no token is ever asked for');
      },
      ...(linkKey ? { linkKey } : {}),
    });
  const untouchable = new Proxy({ clock: () => NOW } as DataContext, {
    get: (target, name) => {
      if (name === 'clock') return target.clock;
      throw new Error(`the data was touched (${String(name)})`);
    },
  });

  it('GET shows a confirmation page in the lead’s language with a button, and changes nothing', async () => {
    const response = await appWith(untouchable).request(`/u/${token}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(UNSUBSCRIBE_CSP);
    expect(UNSUBSCRIBE_CSP).toContain("default-src 'none'");
    expect(UNSUBSCRIBE_CSP).toContain("form-action 'self'");
    expect(UNSUBSCRIBE_CSP).not.toMatch(/unsafe-inline|script-src/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html).toContain('<html lang="th">');
    expect(html).toMatch(/<form method="post">.*name="List-Unsubscribe" value="One-Click".*<button/s);
    expect(html).not.toMatch(/<script/);
  });

  it('a one-click POST (RFC 8058) unsubscribes at once: 200, no cookie, no redirect', async () => {
    const { data, writes } = recordingData();
    const response = await appWith(data).request(`/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('cache-control')).toBe('no-store');
    const update = writes.find((write) => write.name === 'UpdateCommand');
    expect(update?.input.Key).toEqual({ pk: `CONTACT#${CONTACT}`, sk: 'PROFILE' });
    expect(update?.input.UpdateExpression).toContain('unsubscribedAt = if_not_exists(unsubscribedAt, :at)');
    const entry = writes.find((write) => write.name === 'PutCommand')?.input.Item as Record<string, unknown>;
    expect(entry).toMatchObject({ event: 'unsubscribed', via: 'one_click', occurredAt: NOW.toISOString() });
    expect(JSON.stringify(writes)).not.toMatch(/@/);
  });

  it('the confirmation page’s button is recorded as such', async () => {
    const { data, writes } = recordingData();
    const response = await appWith(data).request(`/u/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click&via=page',
    });
    expect(response.status).toBe(200);
    expect(writes.find((write) => write.name === 'PutCommand')?.input.Item).toMatchObject({ via: 'page' });
  });

  it.each([
    ['a tampered token', `${token.slice(0, -2)}AA`, 403],
    ['a malformed token', 'not-a-token', 400],
    ['an expired token', signUnsubscribeLink({ contactId: CONTACT, exp: 1 }, KEY), 410],
  ])('refuses %s and changes nothing', async (_, bad, status) => {
    for (const method of ['GET', 'POST']) {
      const response = await appWith(untouchable).request(`/u/${bad}`, { method });
      expect(response.status).toBe(status);
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('answers 503 where no link key is configured', async () => {
    const response = await appWith(untouchable, null).request(`/u/${token}`, { method: 'POST' });
    expect(response.status).toBe(503);
  });
});

describe('composing lead mail', () => {
  const config = demoConfig();
  const settings = {
    sesFromAddress: 'leads@example.com',
    sesFollowUpFromAddress: 'news@example.com',
    leadLinkBaseUrl: 'https://crm.example.com/leads',
  };
  const followUp = (language: 'en' | 'ko' | 'th' = 'en'): Notification => {
    const base = notificationFixture('acknowledgement', { language });
    return {
      ...base,
      kind: 'followup',
      sequenceId: 'web-form-consent',
      step: 0,
      template: 'followup-not-contacted',
    };
  };
  const unsubscribeLink = (link: { contactId: string; language: string }) =>
    `https://api.example.com/u/${link.contactId}.${link.language}`;

  it('a follow-up is subscription mail: follow-up sender, owner as name and Reply-To, both headers', () => {
    const email = composeNotification(followUp('ko'), { config, settings, unsubscribeLink });
    const alice = config.managers.get('alice');
    expect(email.from).toEqual({ address: 'news@example.com', name: alice?.name });
    expect(email.replyTo).toEqual({ address: alice?.email, name: alice?.name });
    expect(email.to).toEqual({ address: 'Kim.MinSu@example.com' });
    expect(email.headers).toEqual([
      { name: 'List-Unsubscribe', value: `<https://api.example.com/u/${CONTACT}.ko>` },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ]);
    expect(email.content.subject).toContain('Leadflow Demo');
    expect(email.content.text).toMatch(/^Kim Minsu님, 안녕하세요/);
    expect(email.content.text).toContain(alice?.name);
    expect(email.tags).toMatchObject({ kind: 'followup', template: 'followup-not-contacted-v1-ko' });
  });

  it('reports a template that fell back to English', () => {
    const fallbacks: unknown[] = [];
    const missing = demoConfig();
    const template = missing.templates['followup-not-contacted'];
    if (!template) throw new Error('no demo template');
    const { th: _th, ...languages } = template.languages;
    (missing.templates as Record<string, unknown>)['followup-not-contacted'] = { ...template, languages };
    const email = composeNotification(followUp('th'), {
      config: missing,
      settings,
      unsubscribeLink,
      onFallback: (fallback) => fallbacks.push(fallback),
    });
    expect(email.content.text).toMatch(/^Hello Kim Minsu,/);
    expect(fallbacks).toEqual([{ template: 'followup-not-contacted', version: 1, asked: 'th', used: 'en' }]);
  });

  it('refuses a follow-up without its own sender address or an unsubscribe link', () => {
    expect(() =>
      composeNotification(followUp(), {
        config,
        settings: { ...settings, sesFollowUpFromAddress: undefined },
        unsubscribeLink,
      }),
    ).toThrow(/SES_FOLLOWUP_FROM_ADDRESS/);
    expect(() => composeNotification(followUp(), { config, settings })).toThrow(/unsubscribe/);
  });

  it('the acknowledgement stays transactional: the transactional sender and no List-Unsubscribe', () => {
    const email = composeNotification(notificationFixture('acknowledgement'), {
      config,
      settings,
      unsubscribeLink,
    });
    expect(email.from.address).toBe('leads@example.com');
    expect(email.headers).toBeUndefined();
  });

  it('SES gets the headers as Content.Simple.Headers, after Auto-Submitted; a header cannot be split', async () => {
    const sent: unknown[] = [];
    const ses = {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        return { MessageId: 'm-1' };
      },
    } as unknown as SESv2Client;
    const email = composeNotification(followUp(), { config, settings, unsubscribeLink });
    await sendEmail(ses, email);
    const headers = (sent[0] as { Content: { Simple: { Headers: unknown[] } } }).Content.Simple.Headers;
    expect(headers).toEqual([
      { Name: 'Auto-Submitted', Value: 'auto-generated' },
      { Name: 'List-Unsubscribe', Value: `<https://api.example.com/u/${CONTACT}.en>` },
      { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
    ]);
    await expect(
      sendEmail(ses, { ...email, headers: [{ name: 'List-Unsubscribe', value: '<x>\r\nBcc: a@b.c' }] }),
    ).rejects.toThrow(/malformed/);
    const ack = composeNotification(notificationFixture('acknowledgement'), { config, settings });
    await sendEmail(ses, ack);
    const ackHeaders = (sent[1] as { Content: { Simple: { Headers: { Name: string }[] } } }).Content.Simple
      .Headers;
    expect(ackHeaders.map((header) => header.Name)).toEqual(['Auto-Submitted']);
  });
});

describe('SES bounce and complaint events', () => {
  type SnsEvent = { Records: { Sns: { Message: string } }[] };
  const message = (file: string) => {
    const event = loadEvent<SnsEvent>(`ses/${file}.json`);
    return sesEventSchema.parse(JSON.parse(event.Records[0]?.Sns.Message ?? '{}'));
  };

  it('a permanent bounce makes the address undeliverable and suppressed', () => {
    expect(planSesEvent(message('bounce-permanent'))).toEqual([
      {
        address: 'kim.minsu@example.org',
        effect: 'undeliverable',
        suppression: 'bounce',
        event: 'email_bounced',
        reason: 'bounce: Permanent General (5.1.1)',
        at: '2026-11-25T09:31:02.669Z',
        entryId: 'ses:0100018d2f3c4b5a-7a1e2c3d-4b5c-4d6e-8f90-a1b2c3d4e5f6-000000:0',
        messageId: '0100018d2f3c4a11-3b9e7c55-1f0a-4d2b-9c8e-5a6b7c8d9e0f-000000',
        kind: 'followup',
      },
    ]);
  });

  it('a complaint does too; a transient bounce is recorded only', () => {
    expect(planSesEvent(message('complaint'))).toMatchObject([
      {
        effect: 'undeliverable',
        suppression: 'complaint',
        event: 'email_complained',
        reason: 'complaint: abuse',
      },
    ]);
    const [transient] = planSesEvent(message('bounce-transient'));
    expect(transient).toMatchObject({ effect: 'transient', event: 'email_bounced_transient' });
    expect(transient?.suppression).toBeUndefined();
  });

  it('reads identity notifications (notificationType), display-name recipients, and ignores other events', () => {
    const event = message('bounce-permanent');
    const { eventType: _type, ...rest } = event;
    const bounce = event.bounce;
    if (!bounce) throw new Error('no bounce');
    const legacy = sesEventSchema.parse({
      ...rest,
      notificationType: 'Bounce',
      bounce: { ...bounce, bouncedRecipients: [{ emailAddress: 'Kim <Kim.MinSu@Example.ORG>' }] },
    });
    expect(planSesEvent(legacy)[0]?.address).toBe('kim.minsu@example.org');
    expect(
      planSesEvent(sesEventSchema.parse({ ...event, eventType: 'Delivery', bounce: undefined })),
    ).toEqual([]);
    expect(() => sesEventSchema.parse({ mail: event.mail })).toThrow(/eventType/);
  });
});
