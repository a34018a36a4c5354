import { clientKey, hourOf, mailboxKey, minuteWindow } from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('clientKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::9', '2001:db8:1:2::/64'],
    ['[2001:db8::1]', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('keys %s as %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });

  it.each([[undefined], [''], ['not an address'], ['999.1.1.1.1'], ['example.com']])(
    'has no key for %s',
    (address) => {
      expect(clientKey(address)).toBeUndefined();
    },
  );

  it('gives every address of one /64 the same key, and other /64s another', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(
        fc.array(group, { minLength: 8, maxLength: 8 }),
        fc.array(group, { minLength: 4, maxLength: 4 }),
        (a, tail) => {
          const one = a.join(':');
          const sameNetwork = [...a.slice(0, 4), ...tail].join(':');
          expect(clientKey(one)).toBe(clientKey(sameNetwork));
          const otherNetwork = [
            ...a.slice(0, 3),
            ((Number.parseInt(a[3] ?? '0', 16) + 1) % 0x10000).toString(16),
            ...tail,
          ].join(':');
          expect(clientKey(otherNetwork)).not.toBe(clientKey(one));
        },
      ),
    );
  });
});

describe('mailboxKey', () => {
  it.each([
    ['Victim+1@Example.COM', 'victim@example.com'],
    ['victim+newsletter+x@example.com', 'victim@example.com'],
    ['J.Doe+promo@gmail.com', 'jdoe@gmail.com'],
    ['j.doe@googlemail.com', 'jdoe@gmail.com'],
    ['j.doe@example.com', 'j.doe@example.com'],
    ['+only@example.com', '+only@example.com'],
  ])('folds %s to %s', (address, mailbox) => {
    expect(mailboxKey(address).mailbox).toBe(mailbox);
  });

  it('folds every +tag and case variant of one address to one mailbox', () => {
    const word = fc.stringMatching(/^[a-z0-9]{1,12}$/);
    fc.assert(
      fc.property(word, word, fc.boolean(), (user, tag, upper) => {
        const variant = `${upper ? user.toUpperCase() : user}+${tag}@Example.org`;
        expect(mailboxKey(variant)).toEqual(mailboxKey(`${user}@example.org`));
      }),
    );
  });
});

describe('windows', () => {
  it('ends the minute window on the minute and never asks to wait 0 s', () => {
    expect(minuteWindow(new Date('2026-12-01T10:00:20.500Z'))).toEqual({
      start: Date.parse('2026-12-01T10:00:00Z') / 1000,
      retryAfterSeconds: 40,
    });
    expect(minuteWindow(new Date('2026-12-01T10:00:00.000Z')).retryAfterSeconds).toBe(60);
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true, min: new Date(0) }), (now) => {
        const { start, retryAfterSeconds } = minuteWindow(now);
        expect(start % 60).toBe(0);
        expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(retryAfterSeconds).toBeLessThanOrEqual(60);
      }),
    );
  });

  it('names the UTC hour', () => {
    expect(hourOf(new Date('2026-12-01T23:59:59Z'))).toBe('2026-12-01T23');
  });
});
