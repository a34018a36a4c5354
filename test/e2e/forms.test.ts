import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const emailsTo = (address: string) => async () =>
  (await system.emails()).filter((e) =>
    e.destination.to.some((to) => to.toLowerCase().includes(address.toLowerCase())),
  );

async function leadsOf(emailKey: string) {
  const items = await system.items();
  const identity = items.find((item) => item.pk === `IDENT#email:${emailKey}`);
  if (!identity) return { contactId: undefined, leads: [], timeline: [], contact: undefined };
  const contactId = identity.contactId as string;
  const own = items.filter((item) => item.pk === `CONTACT#${contactId}`);
  return {
    contactId,
    contact: own.find((item) => item.sk === 'PROFILE'),
    leads: own.filter((item) => String(item.sk).startsWith('LEAD#')),
    timeline: own.filter((item) => String(item.sk).startsWith('TL#')),
  };
}

describe('POST /v1/forms/{formId} end to end', () => {
  it('alerts a manager and acknowledges the lead, with normalized data', async () => {
    const lead = person('first');
    const started = Date.now();
    const response = await system.post(
      '/v1/forms/demo-contact',
      json({
        name: `  ${lead.name}  `,
        email: `  ${lead.email} `,
        phone: lead.phoneKr,
        message: 'I want a quote <script>alert(1)</script>',
        consent: 'on',
        utm_source: 'google',
        utm_campaign: 'winter',
        page_url: 'https://www.example.com/pricing?utm_medium=cpc',
      }),
    );
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(id).toMatch(/^[0-9A-Z]{26}$/);

    const [alert] = await eventually(async () => {
      const alerts = (await system.emails()).filter(
        (e) => e.subject === `New lead: ${lead.name} via web form`,
      );
      expect(alerts).toHaveLength(1);
      return alerts;
    });
    const acks = await eventually(async () => {
      const found = await emailsTo(lead.emailKey)();
      expect(found).toHaveLength(1);
      return found;
    });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(10_000);

    expect(alert?.destination.to[0]).toMatch(/@example\.com>$/);
    expect(alert?.replyTo[0]).toContain(lead.email.replace('Example.COM', 'example.com'));
    expect(alert?.body.html).toContain('I want a quote &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(alert?.body.html).not.toContain('<script>');
    expect(alert?.body.text).toContain(lead.e164);
    expect(alert?.body.text).toContain('utm_source: google');
    expect(alert?.body.text).toContain('utm_medium: cpc');
    expect(alert?.body.text).toContain(`/leads/${id}`);
    // No visitor text in the acknowledgement's subject; the name only in its greeting.
    expect(acks[0]?.subject).toBe('Leadflow Demo received your message');
    expect(acks[0]?.body.text).toContain(`Hello ${lead.name},`);
    expect(acks[0]?.body.text).toContain('Thank you for contacting');
    expect(acks[0]?.body.html).toContain('&lt;script&gt;');

    const stored = await leadsOf(lead.emailKey);
    expect(stored.leads).toHaveLength(1);
    expect(stored.leads[0]?.leadId).toBe(id);
    expect(stored.timeline).toHaveLength(1);
    expect(stored.contact?.phones).toEqual(new Set([lead.e164]));
    expect(stored.leads[0]?.assignment).toMatchObject({
      rule: 'default',
      strategy: 'round_robin',
      teamId: 'sales',
    });
  });

  it('treats a returning person, written differently, as the same contact with the same owner', async () => {
    const lead = person('returning');
    const first = await system.post(
      '/v1/forms/demo-contact',
      json({ name: lead.name, email: lead.email, consent: true }),
    );
    expect(first.status).toBe(202);
    const initial = await eventually(async () => {
      const found = await leadsOf(lead.emailKey);
      expect(found.leads).toHaveLength(1);
      return found;
    });

    const again = await system.post(
      '/v1/forms/demo-contact',
      json({
        name: lead.name,
        email: ` ${lead.email.toUpperCase()} `,
        phone: lead.phoneKr,
        message: 'second time',
        consent: true,
      }),
    );
    expect(again.status).toBe(202);
    const later = await eventually(async () => {
      const found = await leadsOf(lead.emailKey);
      expect(found.leads).toHaveLength(2);
      return found;
    });
    expect(later.contactId).toBe(initial.contactId);
    const owners = new Set(later.leads.map((item) => item.ownerId));
    expect(owners.size).toBe(1);
    const second = later.leads.find(
      (item) => (item.assignment as { strategy: string }).strategy === 'sticky_owner',
    );
    expect(second).toBeDefined();

    // A third capture by phone alone, formatted differently, still reaches the same contact.
    const byPhone = await system.post(
      '/v1/forms/demo-contact',
      json({
        name: lead.name,
        phone: lead.e164.replace('+82', '+82 ').replace(/(\d{4})(\d{4})$/, '-$1-$2'),
        consent: true,
      }),
    );
    expect(byPhone.status).toBe(202);
    await eventually(async () => {
      const found = await leadsOf(lead.emailKey);
      expect(found.leads).toHaveLength(3);
      expect(found.timeline).toHaveLength(3);
      expect(new Set(found.leads.map((item) => item.ownerId)).size).toBe(1);
    });
    const alerts = await system.waitForEmails(
      (emails) =>
        emails.filter((e) => e.subject.includes(lead.name) && e.subject.includes('New lead')).length === 3,
    );
    const managers = new Set(
      alerts
        .filter((e) => e.subject.includes(lead.name) && e.subject.includes('New lead'))
        .map((e) => e.destination.to[0]),
    );
    expect(managers.size).toBe(1);
  });

  it('alerts two new people to the two managers in turn', async () => {
    const a = person('turn-a');
    const b = person('turn-b');
    expect(
      (await system.post('/v1/forms/demo-contact', json({ name: a.name, email: a.email, consent: true })))
        .status,
    ).toBe(202);
    await eventually(async () => expect((await leadsOf(a.emailKey)).leads).toHaveLength(1));
    expect(
      (await system.post('/v1/forms/demo-contact', json({ name: b.name, email: b.email, consent: true })))
        .status,
    ).toBe(202);
    await eventually(async () => expect((await leadsOf(b.emailKey)).leads).toHaveLength(1));
    const ownerA = (await leadsOf(a.emailKey)).leads[0]?.ownerId;
    const ownerB = (await leadsOf(b.emailKey)).leads[0]?.ownerId;
    expect(new Set([ownerA, ownerB])).toEqual(new Set(['alice', 'bob']));
  });

  it('answers every bad input with its status and field errors, and stores nothing', async () => {
    // What a lead stores: submissions, identities, contacts (other tests' notifiers may still be writing
    // their send ledgers meanwhile, so those are not counted).
    const stored = async () =>
      (await system.items()).filter((item) => /^(SUB|IDENT|CONTACT)#/.test(String(item.pk))).length;
    const before = await stored();
    const cases: { path: string; init: RequestInit; status: number; fields?: string[] }[] = [
      { path: '/v1/forms/no-such-form', init: json({ name: 'A', email: 'a@example.com' }), status: 404 },
      {
        path: '/v1/forms/demo-contact',
        init: json({ name: '', email: 'not-an-email', phone: '12', consent: false }),
        status: 422,
        fields: ['name', 'email', 'phone', 'consent'],
      },
      {
        path: '/v1/forms/demo-contact',
        init: json({ name: 'No Contact', message: 'hi', consent: true }),
        status: 422,
        fields: ['email', 'phone'],
      },
      {
        path: '/v1/forms/demo-contact',
        init: json({ name: 'Big', email: 'big@example.com', consent: true, message: 'x'.repeat(70 * 1024) }),
        status: 413,
      },
      {
        path: '/v1/forms/demo-contact',
        init: { headers: { 'content-type': 'text/plain' }, body: 'name=a' },
        status: 415,
      },
      {
        path: '/v1/forms/demo-contact',
        init: { headers: { 'content-type': 'application/json' }, body: '{"name":' },
        status: 400,
      },
    ];
    for (const testCase of cases) {
      const response = await system.post(testCase.path, testCase.init);
      expect(response.status, testCase.path).toBe(testCase.status);
      const body = (await response.json()) as { error: string; message: string; fields: { field: string }[] };
      expect(body.error).toBeTruthy();
      expect(body.message).toBeTruthy();
      if (testCase.fields)
        expect(body.fields.map((f) => f.field).sort()).toEqual([...testCase.fields].sort());
    }
    expect(await stored()).toBe(before);
    expect(await system.depth(system.queues.leads.url)).toBe(0);
  });

  it('returns the same answer for a retried Idempotency-Key and creates one lead and one alert', async () => {
    const lead = person('idem');
    const body = json(
      { name: lead.name, email: lead.email, consent: true },
      { 'idempotency-key': `key-${lead.emailKey}` },
    );
    const responses = await Promise.all([
      system.post('/v1/forms/demo-contact', body),
      system.post('/v1/forms/demo-contact', body),
    ]);
    const third = await system.post('/v1/forms/demo-contact', body);
    const ids = await Promise.all(
      [...responses, third].map(async (r) => ((await r.json()) as { id: string }).id),
    );
    expect([...responses, third].map((r) => r.status)).toEqual([202, 202, 202]);
    expect(new Set(ids).size).toBe(1);

    const reused = await system.post(
      '/v1/forms/demo-contact',
      json(
        { name: lead.name, email: lead.email, consent: true, message: 'other' },
        { 'idempotency-key': `key-${lead.emailKey}` },
      ),
    );
    expect(reused.status).toBe(422);

    await system.waitForEmails((emails) =>
      emails.some((e) => e.subject === `New lead: ${lead.name} via web form`),
    );
    await new Promise((done) => setTimeout(done, 1500));
    const alerts = (await system.emails()).filter((e) => e.subject === `New lead: ${lead.name} via web form`);
    expect(alerts).toHaveLength(1);
    expect((await leadsOf(lead.emailKey)).leads).toHaveLength(1);
  });

  it('sends no second lead or email when the queue redelivers a capture', async () => {
    const lead = person('redeliver');
    const response = await system.post(
      '/v1/forms/demo-contact',
      json({ name: lead.name, email: lead.email, consent: true }),
    );
    expect(response.status).toBe(202);
    const mine = (emails: Awaited<ReturnType<typeof system.emails>>) =>
      emails.filter(
        (e) => e.subject.includes(lead.name) || e.destination.to.some((to) => to.includes(lead.emailKey)),
      );
    await system.waitForEmails((emails) => mine(emails).length === 2);
    const submission = (await system.items()).find(
      (item) =>
        String(item.pk).startsWith('SUB#') &&
        (item.capture as { contact: { emailKey: string } }).contact.emailKey === lead.emailKey,
    );
    expect(submission).toBeDefined();
    // A redelivery after FIFO's 5-minute dedupe window: same capture, new deduplication id.
    await system.sqs.send(
      new SendMessageCommand({
        QueueUrl: system.queues.leads.url,
        MessageBody: JSON.stringify(submission?.capture),
        MessageGroupId: 'redelivery',
        MessageDeduplicationId: `again-${lead.emailKey}`,
      }),
    );
    await eventually(async () => expect(await system.depth(system.queues.leads.url)).toBe(0));
    await eventually(async () => expect(await system.depth(system.queues.notifications.url)).toBe(0));
    await new Promise((done) => setTimeout(done, 1000));
    expect(mine(await system.emails())).toHaveLength(2);
    expect((await leadsOf(lead.emailKey)).leads).toHaveLength(1);
  });

  it('redirects a plain HTML form post with 303 and treats a double submit as one lead', async () => {
    const lead = person('browser');
    const form = new URLSearchParams({
      name: lead.name,
      email: lead.email,
      phone: lead.phoneKr,
      consent: 'on',
      website: '',
    });
    const post = () =>
      system.post('/v1/forms/demo-contact', {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'text/html',
          referer: 'https://www.example.com/contact?utm_source=newsletter',
        },
        body: form.toString(),
        redirect: 'manual',
      });
    const [first, second] = [await post(), await post()];
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('https://www.example.com/thank-you');
    expect(second.status).toBe(303);
    await eventually(async () => expect((await leadsOf(lead.emailKey)).leads).toHaveLength(1));
    const [stored] = (await leadsOf(lead.emailKey)).leads;
    expect((stored?.capture as { source: { utm: Record<string, string> } } | undefined)?.source.utm).toEqual({
      utm_source: 'newsletter',
    });
  });

  it('accepts a honeypot hit with the same answer but never stores, routes or alerts it', async () => {
    const bot = person('bot');
    const response = await system.post(
      '/v1/forms/demo-contact',
      json({ name: bot.name, email: bot.email, consent: true, website: 'http://spam.example' }),
    );
    expect(response.status).toBe(202);
    expect(((await response.json()) as { id: string }).id).toMatch(/^[0-9A-Z]{26}$/);
    await new Promise((done) => setTimeout(done, 1000));
    expect((await system.emails()).some((e) => e.subject.includes(bot.name))).toBe(false);
    const items = await system.items();
    expect(items.some((item) => JSON.stringify(item).includes(bot.emailKey))).toBe(false);
    const spam = items.find((item) => item.pk === 'STATS#FORM#demo-contact');
    expect(Number(spam?.spam)).toBeGreaterThanOrEqual(1);
  });

  it('acknowledges in the form language (Korean) and accepts multipart bodies', async () => {
    const lead = person('ko');
    const body = new FormData();
    body.set('name', '김민수');
    body.set('email', lead.email);
    body.set('phone', lead.phoneKr);
    body.set('message', '견적 부탁드립니다');
    body.set('consent', 'on');
    const response = await system.post('/v1/forms/demo-contact-ko', {
      body,
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(202);
    const [ack] = await eventually(async () => {
      const found = await emailsTo(lead.emailKey)();
      expect(found).toHaveLength(1);
      return found;
    });
    expect(ack?.subject).toBe('리드플로우 데모에 문의가 접수되었습니다');
    expect(ack?.body.text).toContain('김민수님, 안녕하세요.');
    expect(ack?.body.text).toContain('견적 부탁드립니다');
    expect(ack?.body.html).toContain('lang="ko"');
  });

  it('answers CORS preflight for an allowed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${system.urls.api}/v1/forms/demo-contact`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('https://www.example.com');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    const denied = await preflight('https://evil.example');
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('reports health once every part is up', async () => {
    const response = await fetch(`${system.urls.api}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      parts: { dynamodb: 'fulfilled', sqs: 'fulfilled', ses: 'fulfilled', smtp: 'fulfilled' },
    });
  });
});
