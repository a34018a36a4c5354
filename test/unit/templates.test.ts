import {
  ACK_NAME_MAX,
  type CaptureEvent,
  displayName,
  escapeHtml,
  headerText,
  type Language,
  type Notification,
  type RenderedEmail,
  renderAcknowledgement,
  renderManagerAlert,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeNotification } from '../../functions/notifier/compose';
import { formatMailbox } from '../../packages/aws/src/mailer';
import { demoConfig, demoForm, demoManager, notificationFixture } from './support';

const LEAD_LINK_BASE = 'https://crm.example.com/leads/';
const manager = demoManager('alice');
const LANGUAGES: readonly Language[] = ['en', 'ko', 'th'];

function alert(notification: Notification): RenderedEmail {
  return renderManagerAlert(notification, { form: demoForm(), leadLinkBaseUrl: LEAD_LINK_BASE, manager });
}

function acknowledgement(notification: Notification): RenderedEmail {
  return renderAcknowledgement(notification, { businessName: 'Leadflow Demo', manager });
}

const XSS = `<script>alert("x")</script><img src=x onerror='y'>&amp;`;
const XSS_ESCAPED =
  '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;y&#39;&gt;&amp;amp;';

/** `<`, `>`, `"` and `'` are what markup is made of; `<br>` is the template's own line break. */
function markupShape(html: string): string {
  const stripped = html.replaceAll('<br>', '');
  return ['<', '>', '"', "'"].map((char) => stripped.split(char).length - 1).join(',');
}

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters and nothing else', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a> 김`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; 김',
    );
  });
});

describe('headerText', () => {
  it('makes one line and bounds the length with an ellipsis', () => {
    expect(headerText('New lead:\r\nBcc: victim@example.com')).toBe('New lead: Bcc: victim@example.com');
    expect(headerText('x'.repeat(200))).toBe(`${'x'.repeat(149)}…`);
    expect(headerText('x'.repeat(150))).toBe('x'.repeat(150));
  });
});

describe('displayName', () => {
  it('falls back from name to email to phone', () => {
    expect(displayName({ name: 'Kim', email: 'k@example.com' })).toBe('Kim');
    expect(displayName({ email: 'k@example.com', phone: '+821012345678' })).toBe('k@example.com');
    expect(displayName({ phone: '+821012345678' })).toBe('+821012345678');
    expect(displayName({})).toBe('Unknown');
  });
});

describe('renderManagerAlert', () => {
  it('says who, how and where, with a link to the lead', () => {
    const email = alert(notificationFixture());
    expect(email.subject).toBe('New lead: Kim Minsu via web form');
    expect(email.text).toContain('New lead: Kim Minsu via web form (for Alice Kim)');
    expect(email.text).toContain('Email: Kim.MinSu@example.com');
    expect(email.text).toContain('Phone: +821012345678');
    expect(email.text).toContain('Message:\nHello,\nI would like a quote.');
    expect(email.text).toContain('utm_source: newsletter');
    expect(email.text).toContain('Form: Website contact form');
    expect(email.text).toContain('Open the lead: https://crm.example.com/leads/01JZLEAD000000000000000001');
    expect(email.html).toContain('<a href="https://crm.example.com/leads/01JZLEAD000000000000000001"');
    expect(email.html).toContain('<a href="mailto:Kim.MinSu@example.com">Kim.MinSu@example.com</a>');
    expect(email.html).toContain('<a href="tel:+821012345678">');
    expect(email.html).toMatch(/^<!doctype html><html lang="en">/);
  });

  it('shows a phone extension apart from the number, and dials it from the link', () => {
    const email = alert(
      notificationFixture('manager_alert', {
        contact: { name: 'Kim', phone: '+8221234567', phoneExtension: '89' },
      }),
    );
    expect(email.text).toContain('Phone: +8221234567 ext. 89');
    expect(email.html).toContain('href="tel:+8221234567;ext=89"');
  });

  it('marks returning and urgent leads in the subject', () => {
    expect(alert({ ...notificationFixture(), returning: true }).subject).toBe(
      '[Returning] New lead: Kim Minsu via web form',
    );
    expect(alert(notificationFixture('manager_alert', { urgent: true })).subject).toBe(
      '[URGENT] New lead: Kim Minsu via web form',
    );
  });

  it('labels answers with the form field label, and escapes a lead id in the link', () => {
    const notification = {
      ...notificationFixture('manager_alert', { answers: { email: 'x', budget: '1000' } }),
      leadId: 'a/b?c',
    };
    const email = alert(notification);
    expect(email.text).toContain('Email: x');
    expect(email.text).toContain('budget: 1000');
    expect(email.text).toContain('https://crm.example.com/leads/a%2Fb%3Fc');
  });

  it('names a lead without a name by email, then phone', () => {
    const noName = notificationFixture('manager_alert', { contact: { phone: '+821012345678' } });
    expect(alert(noName).subject).toBe('New lead: +821012345678 via web form');
  });

  it('escapes user text in the HTML part and keeps it raw in the text part', () => {
    const email = alert(
      notificationFixture('manager_alert', {
        contact: { name: XSS, email: 'k@example.com', emailKey: 'k@example.com' },
        message: XSS,
        answers: { company: XSS },
        source: { utm: { utm_source: XSS }, referrer: XSS },
      }),
    );
    expect(email.html).not.toContain('<script');
    expect(email.html).not.toContain('<img');
    // Title, heading, name row, message, answer, UTM tag and referrer.
    expect(email.html.split(XSS_ESCAPED).length - 1).toBe(7);
    expect(email.text).toContain(XSS);
  });
});

describe('renderAcknowledgement', () => {
  it.each([
    ['en', 'Leadflow Demo received your message', 'Hello Kim Minsu,', 'Alice Kim will get back to you'],
    ['ko', 'Leadflow Demo에 문의가 접수되었습니다', 'Kim Minsu님, 안녕하세요.', '담당자 Alice Kim'],
    ['th', 'Leadflow Demo ได้รับข้อความของคุณแล้ว', 'สวัสดีค่ะ คุณKim Minsu', 'คุณAlice Kim'],
  ] as const)('writes in %s, with a text and an HTML part', (language, subject, greeting, body) => {
    const email = acknowledgement(notificationFixture('acknowledgement', { language }));
    expect(email.subject).toBe(subject);
    expect(email.text.startsWith(greeting)).toBe(true);
    expect(email.text).toContain(body);
    expect(email.text).toContain('> Hello,\n> I would like a quote.');
    expect(email.html).toMatch(new RegExp(`^<!doctype html><html lang="${language}">`));
    expect(email.html).toContain(`<p>${escapeHtml(greeting)}</p>`);
    expect(email.html).toContain(escapeHtml(body));
    expect(email.html).toContain('<blockquote');
  });

  it.each(LANGUAGES)('greets a lead without a name in %s', (language) => {
    const email = acknowledgement(
      notificationFixture('acknowledgement', { language, contact: { email: 'k@example.com' } }),
    );
    expect(email.subject).not.toContain('undefined');
    expect(email.text).not.toContain('undefined');
    expect(email.subject).toContain('Leadflow Demo');
  });

  it('carries no user text in the subject, whatever the name or message', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom(...LANGUAGES), (name, message, language) => {
        const email = acknowledgement(
          notificationFixture('acknowledgement', {
            language,
            message,
            contact: { name: `${name}x`, email: 'k@example.com' },
          }),
        );
        expect(email.subject).toBe(
          acknowledgement(notificationFixture('acknowledgement', { language })).subject,
        );
      }),
    );
  });

  it('cuts the name short, and leaves it out when it holds a link', () => {
    const long = acknowledgement(
      notificationFixture('acknowledgement', {
        contact: { name: 'Congratulations you have won a brand new car claim now', email: 'k@example.com' },
      }),
    );
    expect(long.text.split('\n')[0]).toBe(
      `Hello ${'Congratulations you have won a brand new car claim now'.slice(0, ACK_NAME_MAX - 1)}…,`,
    );
    for (const name of ['Visit evil.example', 'https://evil.example', 'www.prize.win', 'me@evil.example']) {
      const email = acknowledgement(
        notificationFixture('acknowledgement', { contact: { name, email: 'k@example.com' } }),
      );
      expect(email.text.startsWith('Hello,\n')).toBe(true);
      expect(email.text + email.html).not.toContain(name);
    }
  });

  it.each([
    ['en', '[link removed]'],
    ['ko', '[링크 삭제됨]'],
    ['th', '[ลบลิงก์แล้ว]'],
  ] as const)('renders no URL the person typed as a link, in %s', (language, removed) => {
    const email = acknowledgement(
      notificationFixture('acknowledgement', {
        language,
        message: 'Claim your prize at https://evil.example/win or bit.ly/x or write to a@evil.example',
      }),
    );
    for (const part of [email.text, email.html]) {
      expect(part).not.toMatch(/evil\.example|bit\.ly|https?:|<a /);
      expect(part).toContain(`Claim your prize at ${removed} or ${removed} or write to ${removed}`);
    }
  });

  it('leaves out the quoted message when there is none', () => {
    const email = acknowledgement(notificationFixture('acknowledgement', { message: undefined }));
    expect(email.text).not.toContain('Your message');
    expect(email.html).not.toContain('<blockquote');
  });

  it.each(LANGUAGES)('escapes the name and message in the %s HTML part', (language) => {
    const email = acknowledgement(
      notificationFixture('acknowledgement', {
        language,
        contact: { name: XSS, email: 'k@example.com' },
        message: XSS,
      }),
    );
    expect(email.html).not.toContain('<script');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain(XSS_ESCAPED);
  });
});

describe('template properties', () => {
  const userText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom('<', '>', '&', '"', "'", '\n', '\r', 'a', ' ', '<br>', '</td>', '<script>'),
      maxLength: 20,
    }),
  );
  const userCapture = fc.record({
    name: userText,
    message: userText,
    utm: fc.dictionary(fc.string({ maxLength: 10 }), userText, { maxKeys: 3 }),
    answers: fc.dictionary(fc.string({ maxLength: 10 }), userText, { maxKeys: 3 }),
    referrer: userText,
    language: fc.constantFrom(...LANGUAGES),
    urgent: fc.boolean(),
  });
  type UserCapture = typeof userCapture extends fc.Arbitrary<infer T> ? T : never;

  /** The same capture with every user-controlled string swapped for a harmless one of the same emptiness. */
  function tame(input: UserCapture): UserCapture {
    const safe = (value: string) => (value === '' ? '' : 'x');
    const safeRecord = (record: Record<string, string>) =>
      Object.fromEntries(Object.values(record).map((value, index) => [`k${index}`, safe(value)]));
    return {
      ...input,
      name: safe(input.name),
      message: safe(input.message),
      referrer: safe(input.referrer),
      utm: safeRecord(input.utm),
      answers: safeRecord(input.answers),
    };
  }

  function notificationOf(
    kind: NonNullable<Parameters<typeof notificationFixture>[0]>,
    input: UserCapture,
  ): Notification {
    const overrides: Partial<CaptureEvent> = {
      language: input.language,
      urgent: input.urgent,
      contact: { name: input.name, email: 'k@example.com', emailKey: 'k@example.com' },
      message: input.message,
      answers: input.answers,
      source: { utm: input.utm, referrer: input.referrer },
    };
    return notificationFixture(kind, overrides);
  }

  it('never lets user text add markup to the alert HTML', () => {
    fc.assert(
      fc.property(userCapture, (input) => {
        const actual = alert(notificationOf('manager_alert', input)).html;
        const harmless = alert(notificationOf('manager_alert', tame(input))).html;
        expect(markupShape(actual)).toBe(markupShape(harmless));
      }),
    );
  });

  it('never lets user text add markup to the acknowledgement HTML', () => {
    fc.assert(
      fc.property(userCapture, (input) => {
        const actual = acknowledgement(notificationOf('acknowledgement', input)).html;
        const harmless = acknowledgement(notificationOf('acknowledgement', tame(input))).html;
        expect(markupShape(actual)).toBe(markupShape(harmless));
      }),
    );
  });

  it('escapes a marked payload wherever it lands', () => {
    fc.assert(
      fc.property(userText, userText, fc.constantFrom(...LANGUAGES), (before, after, language) => {
        const payload = `${before}<b id="m4rk3r">'&'</b>${after}`;
        const input: UserCapture = {
          name: payload,
          message: payload,
          utm: { utm_source: payload },
          answers: { company: payload },
          referrer: payload,
          language,
          urgent: false,
        };
        for (const html of [
          alert(notificationOf('manager_alert', input)).html,
          acknowledgement(notificationOf('acknowledgement', input)).html,
        ]) {
          expect(html).not.toContain('<b id="m4rk3r">');
          expect(html).toContain('&lt;b id=&quot;m4rk3r&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;');
        }
      }),
    );
  });

  it('never puts CR or LF in a subject, and bounds its length', () => {
    fc.assert(
      fc.property(userCapture, fc.boolean(), (input, returning) => {
        for (const email of [
          alert({ ...notificationOf('manager_alert', input), returning }),
          acknowledgement(notificationOf('acknowledgement', input)),
        ]) {
          expect(email.subject).not.toMatch(/[\r\n\u2028\u2029\u0085]/);
          expect(email.subject.length).toBeLessThanOrEqual(150);
          expect(email.text.length).toBeGreaterThan(0);
          expect(email.html.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe('formatMailbox', () => {
  it('returns the bare address without a name', () => {
    expect(formatMailbox({ address: 'kim@example.com' })).toBe('kim@example.com');
    expect(formatMailbox({ address: 'kim@example.com', name: ' \r\n ' })).toBe('kim@example.com');
  });

  it('quotes an ASCII name, escaping quotes and backslashes', () => {
    expect(formatMailbox({ address: 'kim@example.com', name: 'Kim Minsu' })).toBe(
      '"Kim Minsu" <kim@example.com>',
    );
    expect(formatMailbox({ address: 'kim@example.com', name: 'Kim "KM" \\ Lee' })).toBe(
      '"Kim \\"KM\\" \\\\ Lee" <kim@example.com>',
    );
  });

  it('RFC 2047-encodes a non-ASCII name', () => {
    expect(formatMailbox({ address: 'kim@example.com', name: '김민수' })).toBe(
      `=?UTF-8?B?${Buffer.from('김민수').toString('base64')}?= <kim@example.com>`,
    );
  });

  it('strips CR and LF from the name (CWE-93)', () => {
    expect(formatMailbox({ address: 'kim@example.com', name: 'Kim\r\nBcc: victim@example.com' })).toBe(
      '"Kim Bcc: victim@example.com" <kim@example.com>',
    );
  });

  it('always yields one line of printable ASCII that decodes back to the cleaned name', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.string()),
        (name) => {
          const header = formatMailbox({ address: 'kim@example.com', name });
          expect(header).toMatch(/^[\x20-\x7E]+$/);
          const cleaned = headerText(name, 80);
          if (cleaned === '') {
            expect(header).toBe('kim@example.com');
            return;
          }
          expect(header.endsWith(' <kim@example.com>')).toBe(true);
          const display = header.slice(0, -' <kim@example.com>'.length);
          // One or more RFC 2047 encoded words (each at most 75 characters), or a quoted ASCII string.
          const words = display.split(' ');
          const encoded = words.every(
            (word) => /^=\?UTF-8\?B\?[A-Za-z0-9+/=]*\?=$/.test(word) && word.length <= 75,
          );
          const decoded = encoded
            ? words.map((word) => Buffer.from(word.slice(10, -2), 'base64').toString('utf8')).join('')
            : display.slice(1, -1).replace(/\\(.)/g, '$1');
          expect(decoded).toBe(cleaned.toWellFormed());
        },
      ),
    );
  });
});

describe('composeNotification', () => {
  const settings = { sesFromAddress: 'leads@mail.example.com', leadLinkBaseUrl: LEAD_LINK_BASE };
  const config = demoConfig();

  it('sends the alert to the owner, replying to the lead', () => {
    const email = composeNotification(notificationFixture('manager_alert'), { config, settings });
    expect(email.to).toEqual({ address: 'alice@example.com', name: 'Alice Kim' });
    expect(email.from).toEqual({ address: 'leads@mail.example.com', name: 'Leadflow alerts' });
    expect(email.replyTo).toEqual({ address: 'Kim.MinSu@example.com', name: 'Kim Minsu' });
    expect(email.tags).toEqual({ kind: 'manager_alert', channel: 'web_form' });
    expect(email.content.subject).toBe('New lead: Kim Minsu via web form');
  });

  it('sends the acknowledgement to the lead from the business, replying to the owner', () => {
    const notification = notificationFixture('acknowledgement', {
      sourceId: 'demo-contact-ko',
      language: 'ko',
    });
    const email = composeNotification(notification, { config, settings });
    // The address only: a display name is text the form's visitor chose, shown in the recipient's inbox.
    expect(email.to).toEqual({ address: 'Kim.MinSu@example.com' });
    expect(email.from).toEqual({ address: 'leads@mail.example.com', name: '리드플로우 데모' });
    expect(email.replyTo).toEqual({ address: 'alice@example.com', name: 'Alice Kim' });
    expect(email.content.subject).toBe('리드플로우 데모에 문의가 접수되었습니다');
  });

  it('refuses an owner who is not a configured manager, and an acknowledgement without an email', () => {
    const stranger = {
      ...notificationFixture('manager_alert'),
      assignment: { ...notificationFixture().assignment, ownerId: 'eve' },
    };
    expect(() => composeNotification(stranger, { config, settings })).toThrow(/eve/);
    const phoneOnly = notificationFixture('acknowledgement', { contact: { phone: '+821012345678' } });
    expect(() => composeNotification(phoneOnly, { config, settings })).toThrow(/email/);
  });
});
