import type { FieldMap } from './body';
import type { CaptureEvent, CaptureSource } from './capture';
import type { FormConfig } from './config';
import { type FieldIssue, ValidationError } from './errors';
import { cleanLine, cleanText, clip, normalizeEmail, normalizeName, normalizePhone } from './normalize';

const TRUTHY = new Set(['on', 'true', '1', 'yes', 'y', 'checked', 'agree', 'accepted']);
const MAX_UTM = 10;
const MAX_URL = 2_000;

/** What the HTTP edge knows about a request besides its fields. */
export interface RequestMeta {
  readonly submissionId: string;
  readonly receivedAt: Date;
  readonly origin?: string | undefined;
  readonly referer?: string | undefined;
}

export type FormOutcome = { kind: 'spam' } | { kind: 'lead'; event: CaptureEvent };

/** True when the honeypot field, invisible to people, was filled in: a bot. */
export function isSpam(form: FormConfig, fields: FieldMap): boolean {
  return form.honeypotField !== undefined && (fields[form.honeypotField] ?? '').trim() !== '';
}

/**
 * Validates and normalizes one form submission into the canonical capture event.
 * Throws a ValidationError naming every offending field; returns `spam` for honeypot hits.
 */
export function captureFormSubmission(form: FormConfig, fields: FieldMap, meta: RequestMeta): FormOutcome {
  if (isSpam(form, fields)) return { kind: 'spam' };

  const issues: FieldIssue[] = [];
  const contact: CaptureEvent['contact'] = {};
  const answers: Record<string, string> = {};
  let message: string | undefined;
  let consent = false;

  for (const field of form.fields) {
    const raw = fields[field.name];
    const value = raw === undefined ? '' : field.type === 'message' ? cleanText(raw) : cleanLine(raw);
    const issue = (code: string, text: string) => issues.push({ field: field.name, code, message: text });

    if (field.type === 'consent') {
      consent = TRUTHY.has(value.toLowerCase());
      if (field.required && !consent) issue('consent_required', 'Consent is required to submit this form.');
      continue;
    }
    if (value === '') {
      if (field.required) issue('required', `${field.label ?? field.name} is required.`);
      continue;
    }
    if (value.length > field.maxLength) {
      issue('too_long', `${field.label ?? field.name} is longer than ${field.maxLength} characters.`);
      continue;
    }
    switch (field.type) {
      case 'name': {
        const name = normalizeName(value);
        if (name.ok) contact.name = name.value;
        else issue(name.code, name.message);
        break;
      }
      case 'email': {
        const email = normalizeEmail(value);
        if (email.ok) {
          contact.email = email.value.address;
          contact.emailKey = email.value.key;
        } else issue(email.code, email.message);
        break;
      }
      case 'phone': {
        const phone = normalizePhone(value, form.defaultRegion);
        if (phone.ok) {
          contact.phone = phone.value;
          if (phone.extension) contact.phoneExtension = phone.extension;
        } else issue(phone.code, phone.message);
        break;
      }
      case 'message':
        message = value;
        break;
      case 'text':
        answers[field.name] = value;
        break;
    }
  }

  const contactFields = form.fields.filter((field) => field.type === 'email' || field.type === 'phone');
  const contactFieldFailed = issues.some((issue) =>
    contactFields.some((field) => field.name === issue.field),
  );
  if (!contact.emailKey && !contact.phone && !contactFieldFailed) {
    for (const field of contactFields) {
      issues.push({
        field: field.name,
        code: 'contact_required',
        message: 'Give an email or a phone number so we can reach you.',
      });
    }
  }
  if (issues.length > 0) throw new ValidationError('Some fields are missing or invalid.', issues);

  return {
    kind: 'lead',
    event: {
      version: 1,
      submissionId: meta.submissionId,
      channel: 'web_form',
      sourceId: form.id,
      teamId: form.teamId,
      receivedAt: meta.receivedAt.toISOString(),
      language: form.language,
      contact,
      ...(message === undefined ? {} : { message }),
      consent,
      urgent: false,
      answers,
      source: captureSource(fields, meta),
    },
  };
}

/** UTM tags (from fields or the page URL's query), the page URL and the referrer. */
export function captureSource(
  fields: FieldMap,
  meta: Pick<RequestMeta, 'origin' | 'referer'>,
): CaptureSource {
  const pageUrl = safeUrl(fields.page_url) ?? safeUrl(fields.pageUrl) ?? safeUrl(meta.referer);
  const referrer = safeUrl(fields.referrer) ?? safeUrl(fields.referer);
  const utm: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    const clean = clip(cleanLine(value), 200);
    if (
      /^utm_[a-z0-9_]{1,40}$/.test(key) &&
      clean !== '' &&
      Object.keys(utm).length < MAX_UTM &&
      !(key in utm)
    ) {
      utm[key] = clean;
    }
  };
  for (const [name, value] of Object.entries(fields)) add(name, value);
  if (pageUrl) for (const [name, value] of new URL(pageUrl).searchParams) add(name, value);
  const origin = safeUrl(meta.origin);
  return {
    utm,
    ...(pageUrl ? { pageUrl } : {}),
    ...(referrer ? { referrer } : {}),
    ...(origin ? { origin } : {}),
  };
}

function safeUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const trimmed = cleanLine(value);
  if (trimmed.length > MAX_URL || !URL.canParse(trimmed)) return undefined;
  const url = new URL(trimmed);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
}
