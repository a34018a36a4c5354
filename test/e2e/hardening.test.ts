import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, person, type SentEmail, startTestSystem, type TestSystem } from '../support/system';

/** Requests per minute per client address per form, as `npm start` reads RATE_LIMIT_PER_CLIENT. */
const LIMIT = 10;
const FORM_KEY = 'local-demo-backend-form-key-0001';
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ rateLimitPerClient: LIMIT });
});

afterAll(async () => {
  await system?.stop();
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function submissionsFor(emailKey: string): Promise<number> {
  return (await system.items()).filter(
    (item) =>
      String(item.pk).startsWith('SUB#') &&
      (item.capture as { contact?: { emailKey?: string } }).contact?.emailKey === emailKey,
  ).length;
}

/** Waits until every queued notification was handled, after the alerts we expect have arrived. */
async function settled(alerts: (emails: SentEmail[]) => boolean): Promise<SentEmail[]> {
  await system.waitForEmails(alerts, 15_000);
  await eventually(async () => expect(await system.depth(system.queues.notifications.url)).toBe(0), 15_000);
  return system.emails();
}

describe('the acknowledgement is not a mail relay', () => {
  it('sends one acknowledgement for five requests to one mailbox under different +tags', async () => {
    const victim = `victim${randomUUID().slice(0, 8)}`;
    const tag = randomUUID().slice(0, 8);
    for (let n = 1; n <= 5; n++) {
      const response = await system.post(
        '/v1/forms/demo-contact',
        json({
          name: `Buy cheap pills at pills.example ${tag}`,
          email: `${n % 2 ? victim.toUpperCase() : victim}+${n}@example.org`,
          message: `Visit https://pills.example/${n} now`,
          consent: true,
        }),
      );
      expect(response.status).toBe(202);
    }
    // Positive signal first: all five alerts reached the managers (each is its own contact), and the
    // notifications queue is empty, so every acknowledgement was decided.
    const emails = await settled(
      (list) => list.filter((e) => e.subject.includes(tag) && e.subject.startsWith('New lead')).length === 5,
    );
    const acknowledgements = emails.filter((e) =>
      e.destination.to.some((to) => to.toLowerCase().includes(victim)),
    );
    expect(acknowledgements).toHaveLength(1);
    const [ack] = acknowledgements;
    // No visitor text in the subject, no name that holds a link, no link they typed.
    expect(ack?.subject).toBe('Leadflow Demo received your message');
    expect(ack?.body.text?.startsWith('Hello,\n')).toBe(true);
    for (const part of [ack?.body.text ?? '', ack?.body.html ?? '']) {
      expect(part).not.toContain('pills.example');
      expect(part).not.toContain('https://');
    }
    expect(ack?.body.text).toContain('Visit [link removed] now');
  });
});

describe('per-client rate limits', () => {
  it('answers 429 with Retry-After over the limit and stores nothing, while the form key is never limited', async () => {
    const lead = person('limited');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // Twice the limit and one: even if a minute ends mid-test, at least one request is over the limit.
    for (let n = 0; n < 2 * LIMIT + 1; n++) {
      const response = await system.post(
        '/v1/forms/demo-contact-th',
        json({ name: lead.name, email: lead.email, message: `attempt ${n}`, consent: true }),
      );
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(await response.json()).toMatchObject({ error: 'rate_limited' });
      } else await response.body?.cancel();
    }
    const accepted = statuses.filter((status) => status === 202).length;
    expect(statuses.filter((status) => status !== 202 && status !== 429)).toEqual([]);
    expect(accepted).toBeLessThanOrEqual(2 * LIMIT);
    expect(accepted).toBeGreaterThanOrEqual(LIMIT);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // Stored exactly what was accepted, nothing of what was refused.
    await eventually(async () => expect(await submissionsFor(lead.emailKey)).toBe(accepted));

    // The counter of refusals per form and day.
    const refused = (await system.items())
      .filter((item) => item.pk === 'STATS#FORM#demo-contact-th')
      .reduce((sum, item) => sum + Number(item.rateLimited ?? 0), 0);
    expect(refused).toBe(statuses.length - accepted);

    // The site's backend, from the same address, is never limited.
    const backend = person('backend');
    for (let n = 0; n < LIMIT + 5; n++) {
      const response = await system.post(
        '/v1/forms/demo-backend',
        json(
          { name: backend.name, email: backend.email, message: `server post ${n}`, consent: true },
          {
            'x-leadflow-form-key': FORM_KEY,
          },
        ),
      );
      expect(response.status).toBe(202);
    }
    await eventually(async () => expect(await submissionsFor(backend.emailKey)).toBe(LIMIT + 5));
    // Without the key, the backend-only form refuses.
    const keyless = await system.post('/v1/forms/demo-backend', json({ name: 'x', email: backend.email }));
    expect(keyless.status).toBe(403);
  });
});

describe('real-world phones at the door', () => {
  it.each([
    ['demo-contact-ko', '０１０－２３４５－６７８９', '+821023456789', 'a Korean IME (fullwidth)'],
    // (demo-contact-th is the rate-limit test's form; the Thai national form is unit-tested.)
    ['demo-contact', '+๖๖ ๘๑ ๒๓๔ ๕๖๗๘', '+66812345678', 'Thai digits'],
    ['demo-contact', '(+66) 2 123 4567', '+6621234567', 'a country code in parentheses'],
  ])('accepts %s with %s (%s), normalized to E.164 in the alert', async (form, phone, e164, _) => {
    const lead = person('phone');
    const response = await system.post(`/v1/forms/${form}`, json({ name: lead.name, phone, consent: true }));
    expect(response.status).toBe(202);
    const [alert] = await eventually(async () => {
      const found = (await system.emails()).filter((e) => e.subject.includes(lead.name));
      expect(found).toHaveLength(1);
      return found;
    });
    expect(alert?.body.text).toContain(`Phone: ${e164}`);
  });
});
