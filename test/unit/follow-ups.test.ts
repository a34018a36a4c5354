import {
  type FollowUpContactState,
  type FollowUpLeadState,
  type FollowUpStepInput,
  followUpDueAt,
  followUpSequenceFor,
  LeadflowConfig,
  planFollowUpStep,
  renderTemplate,
  type Template,
} from '@leadflow/core';
import { describe, expect, it } from 'vitest';
import { captureFixture, demoConfig, rawDemoConfig } from './support';

const config = demoConfig();
const sequence = config.followUps.sequences[0];
if (!sequence) throw new Error('The demo configuration has no follow-up sequence');

const CAPTURED = '2025-06-01T09:30:00.000Z';
const lead = (overrides: Partial<FollowUpLeadState> = {}): FollowUpLeadState => ({
  status: 'new',
  capturedAt: CAPTURED,
  consent: true,
  email: 'Kim.MinSu@Example.com',
  ...overrides,
});
const contact = (overrides: Partial<FollowUpContactState> = {}): FollowUpContactState => ({
  undeliverableAddresses: [],
  ...overrides,
});
const input = (overrides: Partial<FollowUpStepInput> = {}): FollowUpStepInput => ({
  sequence,
  step: 0,
  lead: lead(),
  contact: contact(),
  suppressed: false,
  timeScale: 1,
  ...overrides,
});

describe('the demo sequence', () => {
  it('is for the demo web forms: +1 day if still not contacted, +3 days if no reply', () => {
    expect(sequence.forms).toEqual(['demo-contact', 'demo-contact-ko', 'demo-contact-th']);
    expect(sequence.steps.map(({ after, when }) => ({ after, when }))).toEqual([
      { after: '1d', when: 'not_contacted' },
      { after: '3d', when: 'no_reply' },
    ]);
    expect(followUpDueAt(sequence, 0, CAPTURED, 1)).toBe('2025-06-02T09:30:00.000Z');
    expect(followUpDueAt(sequence, 1, CAPTURED, 1)).toBe('2025-06-04T09:30:00.000Z');
    // SLA_TIME_SCALE shrinks it: a day at 0.0001 is 8.64 s.
    expect(followUpDueAt(sequence, 0, CAPTURED, 0.0001)).toBe('2025-06-01T09:30:08.640Z');
  });

  it('is given only to a lead with consent and an email, from a form (or rule) it names', () => {
    const followUps = config.followUps;
    expect(followUpSequenceFor(followUps, { capture: captureFixture() })?.id).toBe(sequence.id);
    expect(followUpSequenceFor(followUps, { capture: captureFixture({ consent: false }) })).toBeUndefined();
    const noEmail = captureFixture();
    expect(
      followUpSequenceFor(followUps, { capture: { ...noEmail, contact: { phone: '+821012345678' } } }),
    ).toBeUndefined();
    expect(
      followUpSequenceFor(followUps, { capture: captureFixture({ sourceId: 'demo-backend' }) }),
    ).toBeUndefined();
    // A chat with the same source id is no form.
    expect(
      followUpSequenceFor(followUps, {
        capture: captureFixture({ channel: 'chat', sourceId: 'demo-contact' }),
      }),
    ).toBeUndefined();
    const byRule = new LeadflowConfig({
      ...rawDemoConfig(),
      followUps: { sequences: [{ ...sequence, id: 'by-rule', forms: [], rules: ['enterprise'] }] },
    });
    expect(
      followUpSequenceFor(byRule.followUps, {
        capture: captureFixture({ sourceId: 'x' }),
        rule: 'enterprise',
      })?.id,
    ).toBe('by-rule');
  });
});

describe('planFollowUpStep', () => {
  it('sends a due step and says when the next one is due', () => {
    expect(planFollowUpStep(input())).toEqual({
      action: 'send',
      step: sequence.steps[0],
      next: { step: 1, dueAt: '2025-06-04T09:30:00.000Z' },
    });
    expect(planFollowUpStep(input({ step: 1 }))).toEqual({ action: 'send', step: sequence.steps[1] });
  });

  it('skips "if still not contacted" once the lead was answered, and goes on to the next step', () => {
    for (const answered of [
      { acknowledgedAt: '2025-06-01T10:00:00Z' },
      { firstResponseAt: '2025-06-01T10:00:00Z' },
    ]) {
      expect(planFollowUpStep(input({ lead: lead(answered) }))).toMatchObject({
        action: 'skip',
        reason: 'contacted',
        next: { step: 1 },
      });
      // "If no reply" still goes out: an acknowledgement is not an answer the lead has seen.
      expect(planFollowUpStep(input({ step: 1, lead: lead(answered) }))).toMatchObject({ action: 'send' });
    }
  });

  it.each<[string, Partial<FollowUpStepInput>, string]>([
    ['a status change beyond new', { lead: lead({ status: 'contacted' }) }, 'status_changed'],
    ['a closed lead', { lead: lead({ status: 'lost' }) }, 'status_changed'],
    [
      'a reply on any channel after the capture',
      { contact: contact({ lastInboundAt: '2025-06-01T12:00:00Z' }) },
      'replied',
    ],
    ['an unsubscribe', { contact: contact({ unsubscribedAt: '2025-06-01T11:00:00Z' }) }, 'unsubscribed'],
    [
      'a bounce on the contact',
      { contact: contact({ undeliverableAddresses: ['kim.minsu@example.com'] }) },
      'undeliverable',
    ],
    ['a suppressed address', { suppressed: true }, 'undeliverable'],
    ['no consent', { lead: lead({ consent: false }) }, 'no_consent'],
    ['no address', { lead: lead({ email: undefined }) }, 'no_email'],
    ['an erased lead', { lead: lead({ erasedAt: '2025-06-01T11:00:00Z' }) }, 'lead_gone'],
    ['an erased contact', { contact: contact({ erasedAt: '2025-06-01T11:00:00Z' }) }, 'lead_gone'],
    ['a missing lead', { lead: undefined }, 'lead_gone'],
    ['a step the sequence no longer has', { step: 7 }, 'unknown_step'],
  ])('stops the sequence on %s', (_, overrides, reason) => {
    expect(planFollowUpStep(input(overrides))).toEqual({ action: 'stop', reason });
    expect(planFollowUpStep(input({ step: 1, ...overrides }))).toMatchObject({ action: 'stop' });
  });

  it('does not take the capture itself, or an earlier message, for a reply', () => {
    for (const lastInboundAt of [CAPTURED, '2025-05-30T09:00:00Z']) {
      expect(planFollowUpStep(input({ contact: contact({ lastInboundAt }) })).action).toBe('send');
    }
  });

  it('stops for an unsubscribe before anything else that would only skip', () => {
    const decision = planFollowUpStep(
      input({ lead: lead({ acknowledgedAt: CAPTURED }), contact: contact({ unsubscribedAt: CAPTURED }) }),
    );
    expect(decision).toEqual({ action: 'stop', reason: 'unsubscribed' });
  });
});

describe('follow-up configuration', () => {
  const withFollowUps = (followUps: unknown, templates?: unknown) => () =>
    new LeadflowConfig({ ...rawDemoConfig(), followUps, ...(templates === undefined ? {} : { templates }) });

  it('refuses references to forms, rules and templates that do not exist', () => {
    const step = { id: 'one', after: '1d', template: 'followup-not-contacted' };
    expect(withFollowUps({ sequences: [{ id: 'seq', forms: ['nope'], steps: [step] }] })).toThrow(
      /unknown form nope/,
    );
    expect(withFollowUps({ sequences: [{ id: 'seq', rules: ['nope'], steps: [step] }] })).toThrow(
      /unknown rule nope/,
    );
    expect(
      withFollowUps({
        sequences: [{ id: 'seq', forms: ['demo-contact'], steps: [{ ...step, template: 'gone' }] }],
      }),
    ).toThrow(/unknown template gone/);
    expect(withFollowUps({ sequences: [{ id: 'seq', steps: [step] }] })).toThrow(/names the forms or rules/);
  });

  it('refuses steps out of order and delays it cannot read', () => {
    const steps = [
      { id: 'a', after: '3d', template: 'followup-not-contacted' },
      { id: 'b', after: '1d', template: 'followup-not-contacted' },
    ];
    expect(withFollowUps({ sequences: [{ id: 'seq', forms: ['demo-contact'], steps }] })).toThrow(
      /must come after/,
    );
    expect(
      withFollowUps({
        sequences: [{ id: 'seq', forms: ['demo-contact'], steps: [{ ...steps[0], after: 'tomorrow' }] }],
      }),
    ).toThrow(/a delay such as/);
  });

  it('refuses a template without English, or with a placeholder it does not know', () => {
    const content = { subject: 'Hi', text: 'Hi', html: '<p>Hi</p>' };
    const sequences = { sequences: [] };
    expect(withFollowUps(sequences, { t1: { version: 1, languages: { ko: content } } })).toThrow(
      /needs English/,
    );
    expect(
      withFollowUps(sequences, {
        t1: { version: 1, languages: { en: { ...content, text: 'Hi {{phone}}' } } },
      }),
    ).toThrow(/unknown placeholder\(s\) \{\{phone\}\}/);
  });

  it('keeps the parsed configuration valid input', () => {
    const again = new LeadflowConfig(rawDemoConfig());
    expect(again.followUps).toEqual(config.followUps);
    expect(again.templates).toEqual(config.templates);
  });
});

describe('renderTemplate', () => {
  const template: Template = {
    version: 3,
    languages: {
      en: {
        subject: '{{businessName}}: hello {{leadName|there}}',
        text: 'Hello {{leadName|there}},\nfrom {{ownerName}} at {{businessName}}',
        html: '<p>Hello {{ leadName | there }},</p><p>{{ownerName}} at {{businessName}}</p>',
      },
      ko: {
        subject: '{{businessName}} 안내',
        text: '{{leadName|고객}}님 안녕하세요',
        html: '<p>{{leadName|고객}}님 안녕하세요</p>',
      },
    },
  };
  const UNSUBSCRIBE = 'https://api.example.com/u/abc.def';
  const values = { leadName: 'Kim Minsu', businessName: 'Leadflow Demo', ownerName: 'Alice Kim' };

  it('is personal: the lead, the business and the owner, with the unsubscribe footer', () => {
    const rendered = renderTemplate(template, { language: 'en', values, unsubscribeUrl: UNSUBSCRIBE });
    expect(rendered).toMatchObject({ language: 'en', fellBack: false, version: 3 });
    expect(rendered.email.subject).toBe('Leadflow Demo: hello Kim Minsu');
    expect(rendered.email.text).toMatch(/^Hello Kim Minsu,\nfrom Alice Kim at Leadflow Demo\n/);
    expect(rendered.email.text).toContain(`Unsubscribe: ${UNSUBSCRIBE}`);
    expect(rendered.email.html).toContain('<p>Hello Kim Minsu,</p><p>Alice Kim at Leadflow Demo</p>');
    expect(rendered.email.html).toContain(`<a href="${UNSUBSCRIBE}"`);
    expect(rendered.email.html).toMatch(/^<!doctype html><html lang="en">/);
  });

  it('falls back to English for a missing translation, and says so', () => {
    const thai = renderTemplate(template, { language: 'th', values, unsubscribeUrl: UNSUBSCRIBE });
    expect(thai).toMatchObject({ language: 'en', fellBack: true });
    expect(thai.email.subject).toBe('Leadflow Demo: hello Kim Minsu');
    expect(thai.email.html).toMatch(/^<!doctype html><html lang="en">/);
    const korean = renderTemplate(template, { language: 'ko', values, unsubscribeUrl: UNSUBSCRIBE });
    expect(korean).toMatchObject({ language: 'ko', fellBack: false });
    expect(korean.email.text).toMatch(/^Kim Minsu님 안녕하세요/);
    expect(korean.email.text).toContain('수신 거부');
  });

  it('escapes every value: HTML in the body, one line in the subject, no link-like names', () => {
    const hostile = renderTemplate(template, {
      language: 'en',
      values: {
        leadName: '<img src=x>',
        businessName: 'A & B\r\nBcc: victim@example.org',
        ownerName: '"Bob" <bob@example.com>',
      },
      unsubscribeUrl: 'https://api.example.com/u/a"b',
    });
    expect(hostile.email.html).toContain('<p>Hello &lt;img src=x&gt;,</p>');
    expect(hostile.email.html).not.toContain('<img');
    expect(hostile.email.html).toContain('A &amp; B Bcc: victim@example.org');
    expect(hostile.email.html).toContain('&quot;Bob&quot; &lt;bob@example.com&gt;');
    expect(hostile.email.html).toContain('href="https://api.example.com/u/a&quot;b"');
    expect(hostile.email.subject).not.toMatch(/[\r\n]/);
    expect(hostile.email.subject).toBe('A & B Bcc: victim@example.org: hello <img src=x>');

    // A name that is a link is no name: the greeting falls back.
    const spam = renderTemplate(template, {
      language: 'en',
      values: { ...values, leadName: 'Win big at evil.example/prize' },
      unsubscribeUrl: UNSUBSCRIBE,
    });
    expect(spam.email.text).toMatch(/^Hello there,/);
    expect(spam.email.html).not.toContain('evil.example');
    // No name at all: the template's own fallback.
    const nameless = renderTemplate(template, {
      language: 'ko',
      values: { ...values, leadName: undefined },
      unsubscribeUrl: UNSUBSCRIBE,
    });
    expect(nameless.email.text).toMatch(/^고객님 안녕하세요/);
  });

  it('renders every demo template in every language without falling back', () => {
    for (const [id, demo] of Object.entries(config.templates)) {
      for (const language of ['en', 'ko', 'th'] as const) {
        const rendered = renderTemplate(demo, { language, values, unsubscribeUrl: UNSUBSCRIBE });
        expect(rendered.fellBack, `${id} ${language}`).toBe(false);
        expect(rendered.email.text).not.toMatch(/\{\{|\}\}/);
        expect(rendered.email.html).not.toMatch(/\{\{|\}\}/);
      }
    }
  });
});
