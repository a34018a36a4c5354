import { type CaptureEvent, CHANNELS, type Scoring, scoreCapture, scoringSchema } from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureFixture, demoConfig } from './support';

const demoScoring = demoConfig().scoring;
const NOW = new Date('2026-03-10T01:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

function scoring(input: unknown): Scoring {
  return scoringSchema.parse(input);
}

function score(overrides: Partial<CaptureEvent>, rules: Scoring = demoScoring, previousLeadAt?: string) {
  return scoreCapture({ capture: captureFixture(overrides), scoring: rules, previousLeadAt, now: NOW });
}

describe('scoreCapture with the demo scoring (config/leadflow.json)', () => {
  it('adds the channel, the filled fields, keywords and the utm_source, with reasons', () => {
    const result = score({
      message: 'Could I get a quote?',
      source: { utm: { utm_source: 'Google' } },
    });
    expect(result).toEqual({
      score: 65,
      reasons: [
        { points: 20, why: 'channel web_form' },
        { points: 10, why: 'email given' },
        { points: 15, why: 'phone given' },
        { points: 5, why: 'message given' },
        { points: 10, why: 'mentions "quote"' },
        { points: 5, why: 'utm_source Google' },
      ],
    });
  });

  it('scores a missed call high', () => {
    const result = score({
      channel: 'phone_call',
      urgent: true,
      contact: { phone: '+66812345678' },
      message: undefined,
    });
    expect(result.score).toBe(55);
  });

  it('counts a form field by its answer, and not a blank one', () => {
    expect(score({ answers: { company: 'ACME' } }).reasons).toContainEqual({
      points: 10,
      why: 'company given',
    });
    expect(score({ answers: { company: '   ' } }).reasons.map((reason) => reason.why)).not.toContain(
      'company given',
    );
    expect(score({ message: '  ' }).reasons.map((reason) => reason.why)).not.toContain('message given');
  });

  it('counts each keyword once, in the message or the email subject, in any script', () => {
    const quotes = score({ message: 'quote, QUOTE, ｑｕｏｔｅ' });
    expect(quotes.reasons.filter((reason) => reason.why.startsWith('mentions'))).toEqual([
      { points: 10, why: 'mentions "quote"' },
    ]);
    const korean = score({ message: '기업 견적 문의' });
    expect(korean.reasons.filter((reason) => reason.why.startsWith('mentions'))).toEqual([
      { points: 10, why: 'mentions "견적"' },
    ]);
    const thai = score({ message: 'ขอใบเสนอราคาสำหรับองค์กร' });
    expect(thai.reasons).toContainEqual({ points: 10, why: 'mentions "ใบเสนอราคา"' });
    const subject = score({
      channel: 'email',
      message: 'see the subject',
      email: { messageId: 'm1', subject: 'Enterprise quote', attachments: [] },
    });
    expect(subject.reasons.filter((reason) => reason.why.startsWith('mentions'))).toEqual([
      { points: 10, why: 'mentions "quote"' },
      { points: 15, why: 'mentions "enterprise"' },
    ]);
  });

  it('reads the utm_source ignoring case, and unknown sources score nothing', () => {
    expect(score({ source: { utm: { utm_source: 'PARTNER' } } }).reasons).toContainEqual({
      points: 15,
      why: 'utm_source PARTNER',
    });
    expect(score({ source: { utm: { utm_source: 'newsletter' } } }).reasons.map((r) => r.why)).not.toContain(
      'utm_source newsletter',
    );
  });

  it('adds the repeat points when the previous lead is within the period', () => {
    const repeat = { points: 10, why: 'repeat contact within 30 days' };
    expect(score({}, demoScoring, daysAgo(29)).reasons).toContainEqual(repeat);
    expect(score({}, demoScoring, daysAgo(30)).reasons).toContainEqual(repeat);
    expect(score({}, demoScoring, daysAgo(30.01)).reasons).not.toContainEqual(repeat);
    // A writer whose clock runs a little ahead.
    expect(score({}, demoScoring, daysAgo(-0.001)).reasons).toContainEqual(repeat);
    expect(score({}, demoScoring, 'not a date').reasons).not.toContainEqual(repeat);
    expect(score({}, demoScoring).reasons).not.toContainEqual(repeat);
    expect(score({}, scoring({}), daysAgo(1)).reasons).toEqual([]);
  });
});

describe('scoreCapture limits', () => {
  it('clamps to 0..100 and rounds, while the reasons keep the raw points', () => {
    const lots = scoring({ channel: { web_form: 80 }, fields: { email: 50 } });
    expect(score({}, lots)).toEqual({
      score: 100,
      reasons: [
        { points: 80, why: 'channel web_form' },
        { points: 50, why: 'email given' },
      ],
    });
    expect(score({}, scoring({ channel: { web_form: -30 } })).score).toBe(0);
    expect(score({}, scoring({ channel: { web_form: 10.5 } })).score).toBe(11);
    expect(score({}, scoring({ channel: { web_form: 10.4 } })).score).toBe(10);
  });

  it('names `email`, `phone`, `name` and `message` after the contact; anything else is an answer', () => {
    const contactFields = scoring({ fields: { name: 1, email: 2, phone: 4, message: 8, constructor: 16 } });
    expect(score({}, contactFields).score).toBe(15);
    expect(score({ contact: { email: 'a@example.com' }, message: undefined }, contactFields).score).toBe(2);
    expect(score({ answers: { constructor: 'yes' } }, contactFields).score).toBe(31);
  });

  it('skips points of zero', () => {
    expect(score({}, scoring({ channel: { web_form: 0 } })).reasons).toEqual([]);
  });
});

describe('properties', () => {
  const points = fc.oneof(
    fc.integer({ min: -200, max: 200 }),
    fc.double({ min: -200, max: 200, noNaN: true }),
  );
  const scorings = fc
    .record({
      channel: fc.dictionary(fc.constantFrom(...CHANNELS), points),
      fields: fc.dictionary(
        fc.constantFrom('email', 'phone', 'name', 'message', 'company', 'budget'),
        points,
      ),
      keywords: fc.array(fc.record({ keyword: fc.constantFrom('quote', '견적', 'enterprise', 'x'), points })),
      utmSource: fc.dictionary(fc.constantFrom('google', 'Partner', 'bing'), points),
      repeat: fc.option(fc.record({ withinDays: fc.integer({ min: 1, max: 60 }), points }), {
        nil: undefined,
      }),
    })
    .map((input) => scoring(input));
  const captures = fc
    .record({
      channel: fc.constantFrom(...CHANNELS),
      message: fc.option(fc.constantFrom('quote please', '기업 견적', 'enterprise', ''), { nil: undefined }),
      company: fc.option(fc.string(), { nil: undefined }),
      utm: fc.option(fc.constantFrom('GOOGLE', 'partner', 'other'), { nil: undefined }),
    })
    .map(({ company, utm, ...rest }) =>
      captureFixture({
        ...rest,
        answers: company === undefined ? {} : { company },
        source: { utm: utm === undefined ? {} : { utm_source: utm } },
      }),
    );
  const previous = fc.option(fc.integer({ min: -5, max: 90 }).map(daysAgo), { nil: undefined });

  it('is an integer from 0 to 100: the rounded, clamped sum of its reasons', () => {
    fc.assert(
      fc.property(scorings, captures, previous, (rules, capture, previousLeadAt) => {
        const result = scoreCapture({ capture, scoring: rules, previousLeadAt, now: NOW });
        expect(Number.isInteger(result.score)).toBe(true);
        expect(result.score).toBeGreaterThanOrEqual(0);
        expect(result.score).toBeLessThanOrEqual(100);
        const sum = result.reasons.reduce((total, reason) => total + reason.points, 0);
        expect(result.score).toBe(Math.min(100, Math.max(0, Math.round(sum))));
        expect(result.reasons.every((reason) => reason.points !== 0)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic and leaves its input alone', () => {
    fc.assert(
      fc.property(scorings, captures, previous, (rules, capture, previousLeadAt) => {
        const before = structuredClone({ rules, capture });
        const first = scoreCapture({ capture, scoring: rules, previousLeadAt, now: NOW });
        expect(scoreCapture({ capture, scoring: rules, previousLeadAt, now: new Date(NOW) })).toEqual(first);
        expect({ rules, capture }).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  it('never falls when a positive-points item is added (before the clamp)', () => {
    fc.assert(
      fc.property(captures, fc.integer({ min: 1, max: 50 }), (capture, extra) => {
        const plain = scoring({ channel: { [capture.channel]: 30 } });
        const more = scoring({ channel: { [capture.channel]: 30 }, fields: { email: extra } });
        const now = { capture, now: NOW };
        expect(scoreCapture({ ...now, scoring: more }).score).toBeGreaterThanOrEqual(
          scoreCapture({ ...now, scoring: plain }).score,
        );
      }),
    );
  });
});
