import {
  type CaptureEvent,
  captureEventSchema,
  captureFormSubmission,
  captureSource,
  type FieldMap,
  type FormConfig,
  formSchema,
  identityKeys,
  isSpam,
  messageGroupId,
  type RequestMeta,
  ValidationError,
} from '@leadflow/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CONTROL_OR_LINE_BREAK, demoForm } from './support';

const meta: RequestMeta = {
  submissionId: '01JZ0000000000000000000001',
  receivedAt: new Date('2025-06-01T09:30:00.000Z'),
};

/** A form with every field type, including extra text answers. */
const surveyForm: FormConfig = formSchema.parse({
  id: 'survey',
  name: 'Survey',
  businessName: 'Leadflow Demo',
  teamId: 'sales',
  language: 'en',
  defaultRegion: 'KR',
  honeypotField: 'website',
  fields: [
    { name: 'fullName', type: 'name', label: 'Full name' },
    { name: 'email', type: 'email' },
    { name: 'phone', type: 'phone' },
    { name: 'message', type: 'message', maxLength: 50 },
    { name: 'company', type: 'text', required: true, maxLength: 20, label: 'Company' },
    { name: 'budget', type: 'text' },
    { name: 'consent', type: 'consent' },
  ],
});

function lead(form: FormConfig, fields: FieldMap, requestMeta: RequestMeta = meta): CaptureEvent {
  const outcome = captureFormSubmission(form, fields, requestMeta);
  if (outcome.kind !== 'lead') throw new Error('Expected a lead, got spam');
  return outcome.event;
}

function issues(form: FormConfig, fields: FieldMap): [string, string][] {
  try {
    captureFormSubmission(form, fields, meta);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    expect(error.status).toBe(422);
    return error.fields.map((issue) => [issue.field, issue.code]);
  }
  throw new Error('Expected a ValidationError');
}

const valid = { name: 'Kim Minsu', email: 'kim@example.com', consent: 'on' };

describe('captureFormSubmission', () => {
  it('turns a valid submission into the canonical capture event', () => {
    const event = lead(demoForm(), {
      name: '  Kim Minsu ',
      email: ' Kim.MinSu@Example.COM ',
      phone: '010-1234-5678',
      message: 'Hello,\r\nI need a quote.  ',
      consent: 'on',
    });
    expect(captureEventSchema.parse(event)).toEqual(event);
    expect(event).toEqual({
      version: 1,
      submissionId: meta.submissionId,
      channel: 'web_form',
      sourceId: 'demo-contact',
      teamId: 'sales',
      receivedAt: '2025-06-01T09:30:00.000Z',
      language: 'en',
      contact: {
        name: 'Kim Minsu',
        email: 'Kim.MinSu@example.com',
        emailKey: 'kim.minsu@example.com',
        phone: '+821012345678',
      },
      message: 'Hello,\nI need a quote.',
      consent: true,
      urgent: false,
      answers: {},
      source: { utm: {} },
    });
  });

  it('reads national numbers with the form region', () => {
    const event = lead(demoForm('demo-contact-th'), {
      name: 'Somchai',
      phone: '081 234 5678',
      consent: 'yes',
    });
    expect(event.contact.phone).toBe('+66812345678');
    expect(event.language).toBe('th');
  });

  it('accepts a phone without an email, and an email without a phone', () => {
    expect(lead(demoForm(), { name: 'Kim', phone: '010 1234 5678', consent: 'on' }).contact).toEqual({
      name: 'Kim',
      phone: '+821012345678',
    });
    expect(lead(demoForm(), valid).contact).toEqual({
      name: 'Kim Minsu',
      email: 'kim@example.com',
      emailKey: 'kim@example.com',
    });
  });

  it('reads a phone typed with a fullwidth IME and keeps its extension apart', () => {
    const event = lead(demoForm(), { name: 'Kim', phone: '０２－１２３－４５６７ 내선 89', consent: 'on' });
    expect(event.contact).toEqual({ name: 'Kim', phone: '+8221234567', phoneExtension: '89' });
    expect(captureEventSchema.parse(event)).toEqual(event);
    expect(identityKeys(event.contact)).toEqual(['phone:+8221234567']);
  });

  it('keeps extra text fields as answers and leaves out empty ones', () => {
    const event = lead(surveyForm, { email: 'a@example.com', company: ' Acme\r\nCorp ', budget: '' });
    expect(event.answers).toEqual({ company: 'Acme Corp' });
    expect(event.consent).toBe(false);
  });

  describe('spam', () => {
    it('returns spam when the honeypot is filled, however invalid the rest is', () => {
      expect(captureFormSubmission(demoForm(), { website: 'http://spam.example' }, meta)).toEqual({
        kind: 'spam',
      });
      expect(isSpam(demoForm(), { ...valid, website: 'x' })).toBe(true);
    });

    it('does not count an empty or blank honeypot as spam', () => {
      expect(isSpam(demoForm(), { ...valid, website: '' })).toBe(false);
      expect(isSpam(demoForm(), { ...valid, website: ' \n ' })).toBe(false);
      expect(captureFormSubmission(demoForm(), { ...valid, website: '  ' }, meta).kind).toBe('lead');
    });

    it('never calls a form without a honeypot spam', () => {
      const { honeypotField: _, ...form } = demoForm();
      expect(isSpam(form, { ...valid, website: 'x' })).toBe(false);
    });
  });

  describe('validation', () => {
    it('names every offending field at once', () => {
      expect(issues(demoForm(), { email: 'kim@', phone: '12', message: 'hi' })).toEqual([
        ['name', 'required'],
        ['email', 'invalid_email'],
        ['phone', 'invalid_phone'],
        ['consent', 'consent_required'],
      ]);
    });

    it('asks for an email or a phone on both contact fields when neither was given', () => {
      expect(issues(demoForm(), { name: 'Kim', consent: 'on', email: ' ', phone: '' })).toEqual([
        ['email', 'contact_required'],
        ['phone', 'contact_required'],
      ]);
    });

    it('reports only the invalid email, not a missing contact, when the email was wrong', () => {
      expect(issues(demoForm(), { name: 'Kim', consent: 'on', email: 'kim(at)example.com' })).toEqual([
        ['email', 'invalid_email'],
      ]);
    });

    it('requires configured required fields, naming them', () => {
      expect(issues(surveyForm, { email: 'a@example.com' })).toEqual([['company', 'required']]);
    });

    it('refuses values over the field maxLength', () => {
      expect(
        issues(surveyForm, { email: 'a@example.com', company: 'x'.repeat(21), message: 'y'.repeat(51) }),
      ).toEqual([
        ['message', 'too_long'],
        ['company', 'too_long'],
      ]);
      expect(
        lead(surveyForm, { email: 'a@example.com', company: 'x'.repeat(20), message: 'y'.repeat(50) })
          .answers,
      ).toEqual({
        company: 'x'.repeat(20),
      });
    });

    it('refuses a name without letters', () => {
      expect(issues(demoForm(), { ...valid, name: '1234' })).toEqual([['name', 'invalid_name']]);
    });

    it.each(['on', 'true', '1', 'yes', 'Y', 'Checked', 'AGREE', 'accepted', ' on '])(
      'reads consent %j as given',
      (value) => {
        expect(lead(demoForm(), { ...valid, consent: value }).consent).toBe(true);
      },
    );

    it.each(['', 'off', 'false', '0', 'no', 'nope'])('reads consent %j as refused', (value) => {
      expect(issues(demoForm(), { ...valid, consent: value })).toEqual([['consent', 'consent_required']]);
    });
  });

  describe('cleaning', () => {
    it('strips control characters and line breaks from single-line values (header injection)', () => {
      const event = lead(surveyForm, {
        fullName: 'Kim\r\nBcc: victim@example.com\u0000',
        email: 'a@example.com',
        company: 'Acme\u0007\u2028Corp',
      });
      expect(event.contact.name).toBe('Kim Bcc: victim@example.com');
      expect(event.answers.company).toBe('Acme Corp');
    });

    it('keeps line breaks in the message but drops control characters', () => {
      expect(lead(demoForm(), { ...valid, message: 'a\r\nb\rc\u0000d\u001b' }).message).toBe('a\nb\ncd');
    });

    it('leaves the message out when it is blank', () => {
      expect(lead(demoForm(), { ...valid, message: ' \r\n ' })).not.toHaveProperty('message');
    });

    it('keeps single-line values to one clean line for any input', () => {
      const messy = fc.string({
        unit: fc.oneof(
          fc.constantFrom('\r', '\n', '\u0000', '\u0085', '\u2028', ' '),
          fc.string({ unit: 'binary', maxLength: 1 }),
        ),
      });
      fc.assert(
        fc.property(
          messy.map((text) => `K${text}`),
          messy,
          (name, company) => {
            let event: CaptureEvent;
            try {
              event = lead(surveyForm, { fullName: name, company: `A${company}`, email: 'a@example.com' });
            } catch (error) {
              expect(error).toBeInstanceOf(ValidationError);
              return;
            }
            expect(event.contact.name ?? '').not.toMatch(CONTROL_OR_LINE_BREAK);
            for (const value of Object.values(event.answers))
              expect(value).not.toMatch(CONTROL_OR_LINE_BREAK);
          },
        ),
      );
    });
  });

  it('only ever throws ValidationError naming real form fields, and otherwise returns a valid capture event', () => {
    const names = fc.constantFrom(
      'name',
      'email',
      'phone',
      'message',
      'consent',
      'website',
      'utm_source',
      'page_url',
      'other',
    );
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('on', 'kim@example.com', '010-1234-5678', 'https://x.example/?utm_medium=cpc', '   '),
    );
    const form = demoForm();
    const fieldNames = new Set(form.fields.map((field) => field.name));
    fc.assert(
      fc.property(fc.dictionary(names, value), (fields) => {
        try {
          const outcome = captureFormSubmission(form, fields, meta);
          if (outcome.kind === 'lead') expect(captureEventSchema.parse(outcome.event)).toEqual(outcome.event);
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
          const issueFields = (error as ValidationError).fields.map((issue) => issue.field);
          expect(issueFields.length).toBeGreaterThan(0);
          for (const field of issueFields) expect(fieldNames).toContain(field);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('captureSource', () => {
  it('takes UTM tags from fields, lowercasing their names', () => {
    expect(
      captureSource({ utm_source: 'newsletter', UTM_Campaign: 'Spring Sale', name: 'Kim' }, {}).utm,
    ).toEqual({
      utm_source: 'newsletter',
      utm_campaign: 'Spring Sale',
    });
  });

  it('takes UTM tags from the page URL query, fields winning over the URL', () => {
    const source = captureSource(
      { utm_source: 'form', page_url: 'https://www.example.com/p?utm_source=url&utm_medium=cpc&x=1' },
      {},
    );
    expect(source).toEqual({
      utm: { utm_source: 'form', utm_medium: 'cpc' },
      pageUrl: 'https://www.example.com/p?utm_source=url&utm_medium=cpc&x=1',
    });
  });

  it('takes the page URL from the Referer header when the form did not send one', () => {
    const source = captureSource(
      {},
      { referer: 'https://www.example.com/pricing?utm_campaign=k1', origin: 'https://www.example.com' },
    );
    expect(source).toEqual({
      utm: { utm_campaign: 'k1' },
      pageUrl: 'https://www.example.com/pricing?utm_campaign=k1',
      origin: 'https://www.example.com/',
    });
  });

  it('prefers the page_url field over the Referer header, and reads pageUrl too', () => {
    expect(captureSource({ page_url: 'https://a.example/' }, { referer: 'https://b.example/' }).pageUrl).toBe(
      'https://a.example/',
    );
    expect(captureSource({ pageUrl: 'https://c.example/' }, { referer: 'https://b.example/' }).pageUrl).toBe(
      'https://c.example/',
    );
  });

  it('keeps the referrer field', () => {
    expect(captureSource({ referrer: 'https://www.google.com/' }, {}).referrer).toBe(
      'https://www.google.com/',
    );
  });

  it.each([
    'javascript:alert(1)',
    'data:text/html,<script>',
    'not a url',
    'ftp://files.example/',
    `https://x.example/${'a'.repeat(2000)}`,
  ])('drops the page URL %s', (url) => {
    expect(captureSource({ page_url: url }, {})).not.toHaveProperty('pageUrl');
  });

  it('ignores tags that are not utm_ names, empty tags, and keeps at most 10', () => {
    const fields: FieldMap = {
      utm_: 'x',
      'utm-source': 'x',
      utm_empty: ' ',
      utm_toolong_name_that_goes_on_and_on_and_on_and_on: 'x',
    };
    for (let index = 0; index < 12; index++) fields[`utm_t${index}`] = `v${index}`;
    const { utm } = captureSource(fields, {});
    expect(Object.keys(utm)).toHaveLength(10);
    expect(Object.keys(utm).every((key) => /^utm_t\d+$/.test(key))).toBe(true);
  });

  it('cleans UTM values to one line of at most 200 characters', () => {
    const { utm } = captureSource({ utm_content: `a\r\nb${'c'.repeat(300)}` }, {});
    expect(utm.utm_content).toBe(`a b${'c'.repeat(197)}`);
  });
});

describe('identity', () => {
  it('lists the email identity before the phone identity', () => {
    expect(identityKeys({ emailKey: 'kim@example.com', phone: '+821012345678' })).toEqual([
      'email:kim@example.com',
      'phone:+821012345678',
    ]);
    expect(identityKeys({ name: 'Kim' })).toEqual([]);
  });

  it('groups by the strongest identity, hashed so no address appears in queue metadata', () => {
    const group = messageGroupId({ emailKey: 'kim@example.com', phone: '+821012345678' });
    expect(group).toMatch(/^[0-9a-f]{40}$/);
    expect(messageGroupId({ emailKey: 'kim@example.com' })).toBe(group);
    expect(messageGroupId({ phone: '+821012345678' })).not.toBe(group);
    expect(() => messageGroupId({ name: 'Kim' })).toThrow();
  });
});
