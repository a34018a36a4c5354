import { randomUUID } from 'node:crypto';
import { AcknowledgementLedger, RateLimiter } from '@leadflow/aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let limiter: RateLimiter;
let ledger: AcknowledgementLedger;

beforeAll(async () => {
  system = await startTestSystem();
  limiter = new RateLimiter(system.doc, system.tableName);
  ledger = new AcknowledgementLedger(system.doc, system.tableName);
});

afterAll(async () => {
  await system?.stop();
});

const AT = new Date('2026-12-01T10:00:20.000Z');

describe('RateLimiter on DynamoDB Local', () => {
  it('lets exactly the limit through when many containers count the same client at once', async () => {
    const scope = `form:${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => limiter.check({ scope, client: '203.0.113.9', limit: 5 }, AT)),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(5);
    // 20 s into the minute: the window ends in 40 s.
    expect(results.filter((result) => !result.allowed).map((result) => result.retryAfterSeconds)).toEqual(
      Array(15).fill(40),
    );
  });

  it('counts each client, scope and minute apart', async () => {
    const scope = `form:${randomUUID()}`;
    const check = (client: string, at: Date, other = scope) =>
      limiter.check({ scope: other, client, limit: 1 }, at);
    expect((await check('198.51.100.1', AT)).allowed).toBe(true);
    expect((await check('198.51.100.1', AT)).allowed).toBe(false);
    expect((await check('198.51.100.2', AT)).allowed).toBe(true);
    expect((await check('198.51.100.1', AT, `${scope}-b`)).allowed).toBe(true);
    expect((await check('198.51.100.1', new Date(AT.getTime() + 60_000))).allowed).toBe(true);
  });

  it('counts refusals per form and day', async () => {
    const formId = randomUUID();
    const scope = `FORM#${formId}`;
    await limiter.countRefused({ kind: 'form', id: formId }, 'rateLimited', AT);
    await limiter.countRefused({ kind: 'form', id: formId }, 'rateLimited', AT);
    const items = await system.items();
    expect(items.find((item) => item.pk === `STATS#${scope}`)).toMatchObject({
      sk: 'DAY#2026-12-01',
      rateLimited: 2,
    });
  });
});

describe('AcknowledgementLedger on DynamoDB Local', () => {
  const request = (address: string, formId: string, cap = 30) => ({
    address,
    formId,
    domainHourlyCap: cap,
    notificationId: randomUUID(),
  });

  it('reserves one acknowledgement per mailbox a day, across case and +tags, even at once', async () => {
    const formId = randomUUID();
    const user = `victim${randomUUID().slice(0, 6)}`;
    const addresses = [1, 2, 3, 4, 5].map((n) => `${n % 2 ? user.toUpperCase() : user}+${n}@Example.com`);
    // A reservation that collides with a concurrent one throws (TransactionConflict) and is retried by the queue.
    const decisions = await Promise.all(
      addresses.map((address) =>
        ledger
          .reserve(request(address, formId), AT)
          .catch(() => ({ send: false as const, reason: 'conflict' })),
      ),
    );
    expect(decisions.filter((decision) => decision.send)).toHaveLength(1);
    // Either another reservation won first, or the concurrent ones collided; none of the others sends.
    const later = await ledger.reserve(
      request(`${user}@example.com`, formId),
      new Date(AT.getTime() + 3_600_000),
    );
    expect(later).toEqual({ send: false, reason: 'mailbox_recent' });
    const nextDay = await ledger.reserve(
      request(`${user}+6@example.com`, formId),
      new Date(AT.getTime() + 86_400_001),
    );
    expect(nextDay).toEqual({ send: true });
  });

  it('folds Gmail dots, and lets a retry of the same notification through', async () => {
    const formId = randomUUID();
    const first = request('j.doe.retry@gmail.com', formId);
    expect(await ledger.reserve(first, AT)).toEqual({ send: true });
    expect(await ledger.reserve(first, AT)).toEqual({ send: true });
    expect(await ledger.reserve(request('jdoeretry@googlemail.com', formId), AT)).toEqual({
      send: false,
      reason: 'mailbox_recent',
    });
  });

  it('caps acknowledgements per recipient domain and hour, per form', async () => {
    const formId = randomUUID();
    const domain = `${randomUUID().slice(0, 8)}.example`;
    const decisions = [];
    for (let n = 0; n < 5; n++)
      decisions.push(await ledger.reserve(request(`p${n}@${domain}`, formId, 3), AT));
    expect(decisions.map((decision) => decision.send)).toEqual([true, true, true, false, false]);
    expect(decisions[3]).toEqual({ send: false, reason: 'domain_cap' });
    // Another form, or the next hour, has its own count.
    expect(await ledger.reserve(request(`q@${domain}`, `${formId}-b`, 3), AT)).toEqual({ send: true });
    expect(
      await ledger.reserve(request(`r@${domain}`, formId, 3), new Date(AT.getTime() + 3_600_000)),
    ).toEqual({
      send: true,
    });
    // A refused domain cap reserved nothing for the mailbox: it may still get one later.
    expect(
      await ledger.reserve(request(`p3@${domain}`, formId, 3), new Date(AT.getTime() + 3_600_000)),
    ).toEqual({
      send: true,
    });
  });

  it('names no address in its keys', async () => {
    const address = `private.${randomUUID().slice(0, 8)}@example.org`;
    await ledger.reserve(request(address, randomUUID()), AT);
    const items = await system.items();
    const ledgerItems = items.filter((item) => String(item.pk).startsWith('ACK#MAILBOX#'));
    expect(ledgerItems.length).toBeGreaterThan(0);
    expect(JSON.stringify(ledgerItems)).not.toContain(address.split('@')[0]);
  });
});
