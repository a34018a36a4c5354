import {
  type BusinessHours,
  type CaptureEvent,
  CHANNELS,
  evaluateRules,
  isOpen,
  LANGUAGES,
  type RoutingRules,
  type RuleDecision,
  routingRulesSchema,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureFixture, demoConfig } from './support';

const config = demoConfig();
const demoTeamHours = (teamId: string) => config.teams.get(teamId)?.businessHours;

// Instants, with what the demo teams' clocks say (Seoul UTC+9, Bangkok UTC+7).
const TUESDAY_10_KST = new Date('2026-03-10T01:00:00Z'); // Bangkok 08:00: both open
const CHRISTMAS_10_KST = new Date('2026-12-25T01:00:00Z'); // a Friday, a sales holiday
const SATURDAY_NOON_KST = new Date('2026-03-14T03:00:00Z'); // Seoul closed, Bangkok 10:00 open
const TUESDAY_07_KST = new Date('2026-03-09T22:00:00Z'); // Seoul closed, Bangkok 05:00 closed

const THAI_MOBILE = '+66812345678';
const KOREAN_MOBILE = '+821012345678';

function capture(overrides: Partial<CaptureEvent> = {}): CaptureEvent {
  return captureFixture({ message: 'Hello, I would like to know more.', ...overrides });
}

function demo(overrides: Partial<CaptureEvent>, now = TUESDAY_10_KST, score = 40): RuleDecision {
  return evaluateRules({
    routing: config.routing,
    capture: capture(overrides),
    score,
    now,
    teamHours: demoTeamHours,
  });
}

const traceOf = (decision: RuleDecision, ruleId: string) =>
  decision.trace.find((entry) => entry.ruleId === ruleId);

describe('the demo rules (config/leadflow.json)', () => {
  it('sends a Thai phone number on an English form to the Thai desk', () => {
    const decision = demo({ contact: { name: 'Somsak', phone: THAI_MOBILE }, language: 'en' });
    expect(decision).toMatchObject({
      teamId: 'thai',
      ruleId: 'thai',
      priority: 'normal',
      tags: [],
      matched: ['thai'],
      inBusinessHours: true,
    });
    expect(traceOf(decision, 'thai')).toEqual({ ruleId: 'thai', applied: true, why: 'country TH' });
    expect(traceOf(decision, 'urgent-calls')).toEqual({
      ruleId: 'urgent-calls',
      applied: false,
      why: 'not urgent',
    });
  });

  it('sends a Thai-language lead to the Thai desk whatever the phone', () => {
    const decision = demo({ language: 'th' });
    expect(decision).toMatchObject({ teamId: 'thai', ruleId: 'thai' });
    expect(traceOf(decision, 'thai')?.why).toBe('language th');
  });

  it('keeps a missed call from a Thai number with sales, urgent, and tags it after hours', () => {
    const decision = demo(
      {
        channel: 'phone_call',
        sourceId: 'twilio',
        urgent: true,
        contact: { phone: THAI_MOBILE },
        message: undefined,
      },
      SATURDAY_NOON_KST,
    );
    expect(decision).toMatchObject({
      teamId: 'sales',
      ruleId: 'urgent-calls',
      priority: 'urgent',
      tags: ['after_hours'],
      matched: ['urgent-calls', 'after-hours'],
      inBusinessHours: false,
    });
    expect(decision.trace).toEqual([
      { ruleId: 'urgent-calls', applied: true, why: 'urgent' },
      { ruleId: 'thai', applied: false, why: 'team already chosen by urgent-calls (country TH)' },
      {
        ruleId: 'enterprise',
        applied: false,
        why: 'no utm_campaign; mentions none of "enterprise", "기업", "องค์กร"',
      },
      { ruleId: 'after-hours', applied: true, why: 'outside Asia/Seoul business hours of team sales' },
    ]);
  });

  it('sends utm_campaign=Enterprise to the enterprise team, high, tagged enterprise', () => {
    const decision = demo({ source: { utm: { utm_source: 'google', utm_campaign: 'Enterprise' } } });
    expect(decision).toMatchObject({
      teamId: 'enterprise',
      ruleId: 'enterprise',
      priority: 'high',
      tags: ['enterprise'],
      matched: ['enterprise'],
    });
    expect(traceOf(decision, 'enterprise')?.why).toBe('utm_campaign "Enterprise"');
  });

  it('sends a Korean enterprise enquiry (기업 견적) to the enterprise team', () => {
    const decision = demo({ language: 'ko', message: '기업 견적 부탁드립니다' });
    expect(decision).toMatchObject({ teamId: 'enterprise', priority: 'high', tags: ['enterprise'] });
    expect(traceOf(decision, 'enterprise')?.why).toBe('mentions "기업"');
  });

  it('leaves a plain lead at 10:00 KST on a Tuesday with sales, normal, untagged', () => {
    const decision = demo({});
    expect(decision).toEqual({
      teamId: 'sales',
      ruleId: 'default',
      priority: 'normal',
      tags: [],
      matched: [],
      inBusinessHours: true,
      trace: [
        { ruleId: 'urgent-calls', applied: false, why: 'not urgent' },
        { ruleId: 'thai', applied: false, why: 'country is KR, not TH; language is en, not th' },
        {
          ruleId: 'enterprise',
          applied: false,
          why: 'no utm_campaign; mentions none of "enterprise", "기업", "องค์กร"',
        },
        { ruleId: 'after-hours', applied: false, why: 'inside Asia/Seoul business hours of team sales' },
      ],
    });
  });

  it('tags the same lead after hours on Christmas, a sales holiday', () => {
    const decision = demo({}, CHRISTMAS_10_KST);
    expect(decision).toMatchObject({
      teamId: 'sales',
      ruleId: 'default',
      priority: 'normal',
      tags: ['after_hours'],
      matched: ['after-hours'],
      inBusinessHours: false,
    });
  });

  it('tests the chosen team’s hours for after_hours: the Thai desk is open on Saturday', () => {
    const decision = demo({ contact: { phone: THAI_MOBILE } }, SATURDAY_NOON_KST);
    expect(decision).toMatchObject({ teamId: 'thai', tags: [], inBusinessHours: true });
    expect(traceOf(decision, 'after-hours')?.why).toBe('inside Asia/Bangkok business hours of team thai');
    expect(demo({ contact: { phone: THAI_MOBILE } }, TUESDAY_07_KST).tags).toEqual(['after_hours']);
  });
});

const HOURS_9_TO_6 = {
  timeZone: 'Asia/Seoul',
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((day) => [day, ['09:00-18:00']])),
  holidays: [],
} as BusinessHours;
const BANGKOK_24_7 = {
  timeZone: 'Asia/Bangkok',
  weekly: Object.fromEntries(
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => [day, ['00:00-24:00']]),
  ),
  holidays: [],
} as BusinessHours;
const TEAM_HOURS: Record<string, BusinessHours> = { sales: HOURS_9_TO_6, thai: BANGKOK_24_7 };
const teamHours = (teamId: string) => TEAM_HOURS[teamId];

/** A rule as the configuration writes it. */
function rule(id: string, when: unknown, actions: unknown): unknown {
  // biome-ignore lint/suspicious/noThenProperty: `then` is the configuration's word, and a rule is never awaited
  return { id, when, then: actions };
}

function routing(input: unknown): RoutingRules {
  return routingRulesSchema.parse(input);
}

/** Runs one rule sending the lead to team `target`: did it apply, and why. */
function check(
  when: unknown,
  overrides: Partial<CaptureEvent> = {},
  {
    score = 50,
    now = TUESDAY_10_KST,
    teamId = 'target',
  }: { score?: number; now?: Date; teamId?: string } = {},
): { applied: boolean; why: string } {
  const decision = evaluateRules({
    routing: routing({ rules: [rule('r', when, { teamId })] }),
    capture: capture(overrides),
    score,
    now,
    teamHours,
  });
  const [entry] = decision.trace;
  if (!entry) throw new Error('no trace');
  expect(decision.teamId).toBe(entry.applied ? teamId : 'sales');
  return { applied: entry.applied, why: entry.why };
}

describe('conditions', () => {
  it('channel and source id: exact', () => {
    expect(check({ channel: ['phone_call', 'sms'] })).toEqual({
      applied: false,
      why: 'channel is web_form, not phone_call or sms',
    });
    expect(check({ channel: ['phone_call', 'sms'] }, { channel: 'sms' })).toEqual({
      applied: true,
      why: 'channel sms',
    });
    expect(check({ sourceId: ['demo-contact'] })).toEqual({ applied: true, why: 'source demo-contact' });
    expect(check({ sourceId: ['demo-contact-ko'] }).applied).toBe(false);
  });

  it('utm_source, utm_medium and utm_campaign: equal, ignoring case and width', () => {
    const utm = { utm_source: 'Google', utm_medium: 'ＣＰＣ', utm_campaign: 'spring-sale' };
    expect(check({ utmSource: ['google'] }, { source: { utm } })).toEqual({
      applied: true,
      why: 'utm_source "Google"',
    });
    expect(check({ utmMedium: ['cpc', 'email'] }, { source: { utm } }).applied).toBe(true);
    expect(check({ utmCampaign: ['spring'] }, { source: { utm } })).toEqual({
      applied: false,
      why: 'utm_campaign is "spring-sale", not spring',
    });
    expect(check({ utmMedium: ['cpc'] }, { source: { utm: {} } })).toEqual({
      applied: false,
      why: 'no utm_medium',
    });
  });

  it('country: from the phone’s E.164 number', () => {
    expect(check({ country: ['TH'] }, { contact: { phone: THAI_MOBILE } })).toEqual({
      applied: true,
      why: 'country TH',
    });
    expect(check({ country: ['TH', 'VN'] }, { contact: { phone: KOREAN_MOBILE } })).toEqual({
      applied: false,
      why: 'country is KR, not TH or VN',
    });
    // +1 is shared: the number decides.
    expect(check({ country: ['CA'] }, { contact: { phone: '+14165550123' } }).applied).toBe(true);
    expect(check({ country: ['US'] }, { contact: { phone: '+14165550123' } }).applied).toBe(false);
    expect(check({ country: ['KR'] }, { contact: { email: 'a@example.com' } })).toEqual({
      applied: false,
      why: 'no phone number for a country',
    });
    expect(check({ country: ['KR'] }, { contact: { phone: '+80012345678' } })).toEqual({
      applied: false,
      why: 'no country for the phone number',
    });
  });

  it('language: exact', () => {
    expect(check({ language: ['ko', 'th'] }, { language: 'ko' })).toEqual({
      applied: true,
      why: 'language ko',
    });
    expect(check({ language: ['th'] })).toEqual({ applied: false, why: 'language is en, not th' });
  });

  it('a form field equals, or is one of, values ignoring case and width', () => {
    const answers = { plan: 'ＰＲＯ', size: 'Large' };
    expect(check({ fields: [{ field: 'plan', equals: 'pro' }] }, { answers })).toEqual({
      applied: true,
      why: 'plan is "ＰＲＯ"',
    });
    expect(check({ fields: [{ field: 'size', oneOf: ['small', 'medium'] }] }, { answers })).toEqual({
      applied: false,
      why: 'size is "Large", not "small" or "medium"',
    });
    expect(check({ fields: [{ field: 'size', oneOf: ['medium', 'LARGE'] }] }, { answers }).applied).toBe(
      true,
    );
    expect(check({ fields: [{ field: 'budget', equals: 'x' }] }, { answers })).toEqual({
      applied: false,
      why: 'no answer for budget',
    });
    // Not Object's own `constructor`.
    expect(check({ fields: [{ field: 'constructor', contains: 'function' }] }, { answers }).applied).toBe(
      false,
    );
  });

  it('a form field contains text, in any script', () => {
    const answers = { company: 'ACME Corporation', note: 'ต้องการใบเสนอราคาด่วน' };
    expect(check({ fields: [{ field: 'company', contains: 'corp' }] }, { answers })).toEqual({
      applied: true,
      why: 'company contains "corp"',
    });
    expect(check({ fields: [{ field: 'note', contains: 'ใบเสนอราคา' }] }, { answers }).applied).toBe(true);
    expect(check({ fields: [{ field: 'company', contains: 'inc' }] }, { answers })).toEqual({
      applied: false,
      why: 'company lacks "inc"',
    });
  });

  it('a form field in a number range, inclusive; "1,200", full-width and Thai digits read', () => {
    const within = (budget: string, range: { min?: number; max?: number }) =>
      check({ fields: [{ field: 'budget', ...range }] }, { answers: { budget } });
    expect(within('1,200', { min: 1000 })).toEqual({ applied: true, why: 'budget 1200 ≥ 1000' });
    expect(within('１２００', { min: 1000, max: 1200 })).toEqual({
      applied: true,
      why: 'budget 1200 in 1000–1200',
    });
    expect(within('๑๒๐๐', { max: 1200 }).applied).toBe(true);
    expect(within(' 1,200.50 ', { max: 1200 })).toEqual({ applied: false, why: 'budget 1200.5 > 1200' });
    expect(within('999', { min: 1000 })).toEqual({ applied: false, why: 'budget 999 < 1000' });
    expect(within('-5', { min: -10, max: 0 }).applied).toBe(true);
    expect(within('about 5000', { min: 1000 })).toEqual({
      applied: false,
      why: 'budget is "about 5000", not a number',
    });
    expect(within('1,20', { min: 0 }).applied).toBe(false);
    expect(within('$1,200', { min: 0 }).applied).toBe(false);
  });

  it('keywords: anywhere in the message or email subject, ignoring case, width and invisible characters', () => {
    const keywords = ['enterprise', '기업', 'ใบเสนอราคา'];
    expect(check({ keywords }, { message: 'Do you have an ENTERPRISE plan?' })).toEqual({
      applied: true,
      why: 'mentions "enterprise"',
    });
    // Korean and Thai run words together, so a keyword is found inside a longer word.
    expect(check({ keywords }, { message: '중소기업입니다' }).applied).toBe(true);
    // Decomposed Hangul (as macOS writes it) and a Thai zero-width word break.
    expect(check({ keywords }, { message: '대기업 문의'.normalize('NFD') }).applied).toBe(true);
    expect(check({ keywords }, { message: 'ขอใบ\u200Bเสนอราคา' }).applied).toBe(true);
    expect(check({ keywords }, { message: 'ｅｎｔｅｒｐｒｉｓｅ' }).applied).toBe(true);
    // Full case folding: ß is ss.
    expect(check({ keywords: ['straße'] }, { message: 'GROSSE STRASSE 1' }).applied).toBe(true);
    expect(
      check(
        { keywords },
        {
          channel: 'email',
          message: 'see subject',
          email: { messageId: 'm', subject: 'Enterprise pricing', attachments: [] },
        },
      ).applied,
    ).toBe(true);
    expect(check({ keywords: ['quote', 'price'] }, { message: 'hello' })).toEqual({
      applied: false,
      why: 'mentions none of "quote", "price"',
    });
    expect(check({ keywords }, { message: undefined }).applied).toBe(false);
  });

  it('urgent: equals the capture’s flag', () => {
    expect(check({ urgent: true }, { urgent: true })).toEqual({ applied: true, why: 'urgent' });
    expect(check({ urgent: true })).toEqual({ applied: false, why: 'not urgent' });
    expect(check({ urgent: false })).toEqual({ applied: true, why: 'not urgent' });
    expect(check({ urgent: false }, { urgent: true })).toEqual({ applied: false, why: 'urgent' });
  });

  it('score: a range, inclusive', () => {
    expect(check({ score: { min: 50 } }, {}, { score: 50 })).toEqual({ applied: true, why: 'score 50 ≥ 50' });
    expect(check({ score: { min: 50 } }, {}, { score: 49 })).toEqual({
      applied: false,
      why: 'score 49 < 50',
    });
    expect(check({ score: { max: 20 } }, {}, { score: 20 })).toEqual({ applied: true, why: 'score 20 ≤ 20' });
    expect(check({ score: { min: 30, max: 60 } }, {}, { score: 61 })).toEqual({
      applied: false,
      why: 'score 61 > 60',
    });
  });

  it('business hours: of the team the rule sends the lead to', () => {
    expect(check({ businessHours: 'inside' }, {}, { teamId: 'sales' })).toEqual({
      applied: true,
      why: 'inside Asia/Seoul business hours of team sales',
    });
    expect(check({ businessHours: 'outside' }, {}, { teamId: 'sales', now: SATURDAY_NOON_KST }).applied).toBe(
      true,
    );
    // The Thai desk is always open, whatever Seoul's clock says.
    expect(check({ businessHours: 'outside' }, {}, { teamId: 'thai', now: SATURDAY_NOON_KST })).toEqual({
      applied: false,
      why: 'inside Asia/Bangkok business hours of team thai',
    });
  });

  it('business hours: a team without hours fails either way, and says so', () => {
    for (const wanted of ['inside', 'outside']) {
      expect(check({ businessHours: wanted }, {}, { teamId: 'enterprise' })).toEqual({
        applied: false,
        why: 'team enterprise has no business hours',
      });
    }
  });

  it('every condition must hold; the first that fails is the reason', () => {
    const when = { channel: ['web_form'], language: ['ko'], keywords: ['견적'] };
    expect(check(when, { language: 'ko', message: '견적 주세요' })).toEqual({
      applied: true,
      why: 'channel web_form, language ko, mentions "견적"',
    });
    expect(check(when, { language: 'en', message: 'hello' })).toEqual({
      applied: false,
      why: 'language is en, not ko',
    });
  });

  it('anyOf: one alternative holding is enough, on top of the other conditions', () => {
    const when = { channel: ['web_form'], anyOf: [{ country: ['TH'] }, { language: ['th'] }] };
    expect(check(when, { language: 'th' })).toEqual({ applied: true, why: 'channel web_form, language th' });
    expect(check(when, { contact: { phone: THAI_MOBILE } }).applied).toBe(true);
    expect(check(when)).toEqual({ applied: false, why: 'country is KR, not TH; language is en, not th' });
    expect(check(when, { channel: 'sms', language: 'th' })).toEqual({
      applied: false,
      why: 'channel is sms, not web_form',
    });
  });

  it('no conditions: always', () => {
    expect(check({})).toEqual({ applied: true, why: 'always' });
  });
});

describe('rule order', () => {
  const run = (
    rules: unknown[],
    overrides: Partial<CaptureEvent> = {},
    extra: Record<string, unknown> = {},
  ) =>
    evaluateRules({
      routing: routing({ rules, ...extra }),
      capture: capture(overrides),
      score: 50,
      now: TUESDAY_10_KST,
      teamHours,
    });

  it('the first matching rule that names a team decides; later ones do not apply at all', () => {
    const decision = run([
      rule('no', { language: ['ko'] }, { teamId: 'korean', priority: 'low', tags: ['ko'] }),
      rule('first', {}, { teamId: 'thai', tags: ['one'] }),
      rule('second', {}, { teamId: 'enterprise', priority: 'high', tags: ['two'] }),
    ]);
    expect(decision).toMatchObject({
      teamId: 'thai',
      ruleId: 'first',
      priority: 'normal',
      tags: ['one'],
      matched: ['first'],
      inBusinessHours: true,
    });
    expect(decision.trace.map((entry) => [entry.ruleId, entry.applied, entry.why])).toEqual([
      ['no', false, 'language is en, not ko'],
      ['first', true, 'always'],
      ['second', false, 'team already chosen by first (always)'],
    ]);
  });

  it('rules without a team apply whenever they match, before or after the team is chosen', () => {
    const decision = run(
      [
        rule('vip', { keywords: ['vip'] }, { tags: ['vip', 'watch'] }),
        rule('team', {}, { teamId: 'thai', tags: ['watch'] }),
        rule('later', { channel: ['web_form'] }, { tags: ['web', 'vip'] }),
        rule('never', { urgent: true }, { tags: ['never'] }),
      ],
      { message: 'VIP customer' },
      { default: { tags: ['inbound', 'web'] } },
    );
    expect(decision.tags).toEqual(['vip', 'watch', 'web', 'inbound']);
    expect(decision.matched).toEqual(['vip', 'team', 'later']);
  });

  it('a team-less business-hours rule after the team is chosen tests the chosen team', () => {
    const rules = [
      rule('thai', { language: ['th'] }, { teamId: 'thai' }),
      rule('after-hours', { businessHours: 'outside' }, { tags: ['after_hours'] }),
    ];
    // Saturday: sales is closed, the Thai desk is open.
    const thai = evaluateRules({
      routing: routing({ rules }),
      capture: capture({ language: 'th' }),
      score: 0,
      now: SATURDAY_NOON_KST,
      teamHours,
    });
    expect(thai.tags).toEqual([]);
    const sales = evaluateRules({
      routing: routing({ rules }),
      capture: capture(),
      score: 0,
      now: SATURDAY_NOON_KST,
      teamHours,
    });
    expect(sales.tags).toEqual(['after_hours']);
  });

  it('priority: the deciding rule’s, else the first a team-less rule set, else urgent or the default', () => {
    const vip = rule('vip', { keywords: ['vip'] }, { priority: 'high' });
    const low = rule('low', {}, { priority: 'low' });
    const team = rule('team', {}, { teamId: 'thai' });
    const teamUrgent = rule('team-urgent', {}, { teamId: 'thai', priority: 'urgent' });
    const vipMessage = { message: 'vip' };
    expect(run([vip, teamUrgent], vipMessage).priority).toBe('urgent');
    expect(run([vip, team], vipMessage).priority).toBe('high');
    expect(run([team, vip], vipMessage).priority).toBe('high');
    expect(run([vip, low], vipMessage).priority).toBe('high');
    expect(run([low, vip], vipMessage).priority).toBe('low');
    expect(run([team]).priority).toBe('normal');
    expect(run([team], { urgent: true }).priority).toBe('urgent');
    expect(run([team], {}, { default: { priority: 'low' } }).priority).toBe('low');
    expect(run([]).priority).toBe('normal');
  });

  it('no rule naming a team: the capture’s own team, rule `default`', () => {
    const decision = run([rule('tag', {}, { tags: ['seen'] })], { teamId: 'thai' });
    expect(decision).toMatchObject({
      teamId: 'thai',
      ruleId: 'default',
      tags: ['seen'],
      inBusinessHours: true,
    });
  });

  it('inBusinessHours is undefined for a team without hours', () => {
    expect(run([rule('x', {}, { teamId: 'enterprise' })]).inBusinessHours).toBe(undefined);
  });

  it('the schema keeps `default` for the default route and min at most max', () => {
    expect(() => routing({ rules: [rule('default', undefined, { teamId: 'sales' })] })).toThrow(/reserved/);
    expect(() => routing({ rules: [rule('r', { score: { min: 60, max: 40 } }, { tags: ['x'] })] })).toThrow(
      /min is at most max/,
    );
    expect(() =>
      routing({
        rules: [rule('r', { fields: [{ field: 'b', min: 9, max: 1 }] }, { tags: ['x'] })],
      }),
    ).toThrow(/min is at most max/);
  });
});

describe('properties', () => {
  const TEAMS = ['sales', 'thai', 'enterprise', 'nohours'];
  const ALL_HOURS: Record<string, BusinessHours | undefined> = {
    sales: HOURS_9_TO_6,
    thai: demoTeamHours('thai'),
    enterprise: demoTeamHours('enterprise'),
  };
  const hoursOf = (teamId: string) => ALL_HOURS[teamId];
  const TAGS = ['a', 'b', 'c', 'after_hours'];
  const PHONES = [THAI_MOBILE, KOREAN_MOBILE, '+14165550123', undefined];
  const MESSAGES = ['enterprise quote', '기업 견적', 'สวัสดี', 'hello', undefined];

  const base = fc.record(
    {
      channel: fc.subarray([...CHANNELS], { minLength: 1 }),
      language: fc.subarray([...LANGUAGES], { minLength: 1 }),
      country: fc.subarray(['TH', 'KR', 'CA'], { minLength: 1 }),
      keywords: fc.subarray(['enterprise', '기업', 'quote'], { minLength: 1 }),
      urgent: fc.boolean(),
      score: fc
        .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))
        .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) })),
      businessHours: fc.constantFrom('inside', 'outside'),
      utmSource: fc.constant(['google']),
    },
    { requiredKeys: [] },
  );
  const when = fc
    .tuple(base, fc.option(fc.array(base, { minLength: 1, maxLength: 2 }), { nil: undefined }))
    .map(([conditions, anyOf]) => (anyOf ? { ...conditions, anyOf } : conditions));
  const actions = fc
    .record(
      {
        teamId: fc.constantFrom(...TEAMS),
        priority: fc.constantFrom('urgent', 'high', 'normal', 'low'),
        tags: fc.subarray(TAGS),
      },
      { requiredKeys: [] },
    )
    .filter(
      (actions) =>
        actions.teamId !== undefined || actions.priority !== undefined || (actions.tags ?? []).length > 0,
    );
  const routings = fc
    .record({
      rules: fc.array(fc.tuple(when, actions), { maxLength: 6 }),
      default: fc.record({
        priority: fc.constantFrom('urgent', 'high', 'normal', 'low'),
        tags: fc.subarray(TAGS),
      }),
    })
    .map((input) =>
      routing({
        ...input,
        rules: input.rules.map(([conditions, actions], index) => rule(`r${index}`, conditions, actions)),
      }),
    );
  const captures = fc
    .record({
      channel: fc.constantFrom(...CHANNELS),
      language: fc.constantFrom(...LANGUAGES),
      phone: fc.constantFrom(...PHONES),
      message: fc.constantFrom(...MESSAGES),
      urgent: fc.boolean(),
      teamId: fc.constantFrom(...TEAMS),
      utmSource: fc.constantFrom('Google', 'bing', undefined),
    })
    .map(({ phone, utmSource, ...rest }) =>
      capture({
        ...rest,
        contact: phone ? { phone } : { email: 'a@example.com' },
        source: { utm: utmSource ? { utm_source: utmSource } : {} },
      }),
    );
  const instants = fc
    .integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) })
    .map((ms) => new Date(ms));
  const inputs = fc.record({
    routing: routings,
    capture: captures,
    score: fc.integer({ min: 0, max: 100 }),
    now: instants,
  });

  it('the team is the first matching team rule’s, else the capture’s own', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const decision = evaluateRules({ ...input, teamHours: hoursOf });
        // Each team rule alone: the same conditions, tested against its own team.
        const decider = input.routing.rules.find(
          (rule) =>
            rule.then.teamId !== undefined &&
            evaluateRules({ ...input, routing: { ...input.routing, rules: [rule] }, teamHours: hoursOf })
              .matched.length > 0,
        );
        expect(decision.teamId).toBe(decider?.then.teamId ?? input.capture.teamId);
        expect(decision.ruleId).toBe(decider?.id ?? 'default');
        if (decider?.then.priority) expect(decision.priority).toBe(decider.then.priority);
        const hours = hoursOf(decision.teamId);
        expect(decision.inBusinessHours).toBe(hours ? isOpen(hours, input.now) : undefined);
      }),
      { numRuns: 400 },
    );
  });

  it('tags: the default tags and those of applied rules, each once', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const decision = evaluateRules({ ...input, teamHours: hoursOf });
        expect(new Set(decision.tags).size).toBe(decision.tags.length);
        for (const tag of input.routing.default.tags) expect(decision.tags).toContain(tag);
        const applied = input.routing.rules.filter((rule) => decision.matched.includes(rule.id));
        expect(new Set(decision.tags)).toEqual(
          new Set([...applied.flatMap((rule) => rule.then.tags), ...input.routing.default.tags]),
        );
        expect(decision.trace.map((entry) => entry.ruleId)).toEqual(
          input.routing.rules.map((rule) => rule.id),
        );
        expect(decision.trace.filter((entry) => entry.applied).map((entry) => entry.ruleId)).toEqual(
          decision.matched,
        );
        const teamRulesApplied = applied.filter((rule) => rule.then.teamId !== undefined);
        expect(teamRulesApplied.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 400 },
    );
  });

  it('is deterministic and leaves its input alone', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const before = structuredClone(input);
        const first = evaluateRules({ ...input, teamHours: hoursOf });
        const again = evaluateRules({ ...structuredClone(input), teamHours: hoursOf });
        expect(again).toEqual(first);
        expect(input).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  it('an urgent capture is urgent unless a rule set a priority', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const decision = evaluateRules({
          ...input,
          capture: { ...input.capture, urgent: true },
          teamHours: hoursOf,
        });
        const setByRule = input.routing.rules.some(
          (rule) => decision.matched.includes(rule.id) && rule.then.priority !== undefined,
        );
        if (!setByRule) expect(decision.priority).toBe('urgent');
      }),
      { numRuns: 200 },
    );
  });
});
