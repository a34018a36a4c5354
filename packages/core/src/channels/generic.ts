import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseJsonBody } from '../body';
import type { CallDetails, CaptureEvent } from '../capture';
import type { GenericSource } from '../config';
import { type FieldIssue, ValidationError } from '../errors';
import { cleanLine, cleanText, clip, normalizeEmail, normalizeName, normalizePhone } from '../normalize';
import { type TelephonyCaptureContext, telephonyCaptureBase } from './twilio';

/** A signed timestamp further than this from our clock, either way, is a replay (Stripe's rule). */
export const GENERIC_WEBHOOK_TOLERANCE_SECONDS = 300;

const webUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
  .max(2_000, 'must be at most 2000 characters');

/**
 * The generic webhook body: one event from a call-tracking, SMS or lead provider that has no
 * adapter of its own. Unknown top-level properties are ignored, so providers may send more.
 */
export const genericEventSchema = z.object({
  /** The provider's unique id of this event: a redelivery with the same id adds nothing. */
  id: z.string().regex(/^[\x21-\x7E]{1,200}$/, 'must be 1 to 200 visible ASCII characters'),
  type: z.enum(['missed_call', 'call', 'sms', 'lead']),
  /** When it happened at the provider (informational; the lead is timed when leadflow received it). */
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  from: z.object({
    phone: z.string().max(40).optional(),
    email: z.string().max(254).optional(),
    name: z.string().max(200).optional(),
  }),
  /** The number or address the person contacted (a tracking number, a campaign line). */
  to: z.string().max(100).optional(),
  message: z.string().max(5_000).optional(),
  call: z
    .object({
      /** The provider's call id; defaults to the event id. */
      id: z.string().min(1).max(200).optional(),
      /** Provider status, e.g. completed, no-answer, busy, failed, canceled, voicemail. */
      status: z.string().min(1).max(40).optional(),
      durationSeconds: z.number().int().nonnegative().max(604_800).optional(),
      recordingUrl: webUrl.optional(),
    })
    .optional(),
  pageUrl: webUrl.optional(),
  referrer: webUrl.optional(),
  utm: z
    .record(z.string().regex(/^utm_[a-z0-9_]{1,40}$/, 'must look like utm_source'), z.string().max(200))
    .refine((utm) => Object.keys(utm).length <= 10, 'at most 10 utm tags')
    .optional(),
  /** Extra answers of a lead form at the provider, by field name. */
  fields: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must be a field name such as budget'),
      z.string().max(2_000),
    )
    .refine((fields) => Object.keys(fields).length <= 30, 'at most 30 fields')
    .optional(),
});
export type GenericEvent = z.infer<typeof genericEventSchema>;

/** Lowercase hex HMAC-SHA256 of `"{timestamp}.{raw body}"` with the source's secret. */
export function genericWebhookSignature(
  secret: string,
  timestamp: string,
  body: Uint8Array | string,
): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

export type GenericVerification =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'missing_timestamp' | 'stale_timestamp' | 'missing_signature' | 'signature_mismatch';
    };

/**
 * Verifies `X-Leadflow-Timestamp` and `X-Leadflow-Signature: v1=<hex>[,v1=<hex>…]` (several during
 * a secret rotation) over the raw body, in constant time. A timestamp more than 300 s from `now`,
 * either way, fails: a captured request cannot be replayed later.
 */
export function verifyGenericWebhook(input: {
  readonly secret: string;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: Uint8Array | string;
  readonly now: Date;
}): GenericVerification {
  const timestamp = input.timestamp?.trim() ?? '';
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'missing_timestamp' };
  const skew = Math.abs(Math.floor(input.now.getTime() / 1000) - Number(timestamp));
  if (skew > GENERIC_WEBHOOK_TOLERANCE_SECONDS) return { ok: false, reason: 'stale_timestamp' };

  const candidates = (input.signature ?? '')
    .slice(0, 2_000)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3))
    .slice(0, 10);
  if (candidates.length === 0) return { ok: false, reason: 'missing_signature' };

  const expected = Buffer.from(genericWebhookSignature(input.secret, timestamp, input.body), 'hex');
  let valid = false;
  for (const candidate of candidates) {
    if (!/^[0-9a-fA-F]{64}$/.test(candidate)) continue;
    if (timingSafeEqual(Buffer.from(candidate, 'hex'), expected)) valid = true;
  }
  return valid ? { ok: true } : { ok: false, reason: 'signature_mismatch' };
}

/** Parses the raw body into a generic event: 400 for bytes that are not JSON, 422 naming each bad field. */
export function parseGenericEvent(body: Uint8Array): GenericEvent {
  return parseJsonBody(
    body,
    genericEventSchema,
    'The event is missing fields or has invalid ones.',
    ValidationError,
  );
}

const MISSED_CALL_STATUSES = new Set(['no-answer', 'busy', 'failed', 'canceled', 'voicemail', 'missed']);

/**
 * Maps a verified generic event to the canonical capture. `missed_call` (and a `call` whose status is
 * no-answer, busy, failed, canceled or voicemail) is an urgent phone_call; `call` a timeline entry;
 * `sms` an sms; `lead` the channel the source is configured with. Calls and SMS need the person's
 * phone; a lead needs a phone or an email.
 */
export function captureGenericEvent(
  event: GenericEvent,
  context: TelephonyCaptureContext & { readonly source: GenericSource },
): CaptureEvent {
  const { source } = context;
  const issues: FieldIssue[] = [];
  const contact: CaptureEvent['contact'] = {};
  if (event.from.phone !== undefined && cleanLine(event.from.phone) !== '') {
    const phone = normalizePhone(event.from.phone, source.defaultRegion);
    if (phone.ok) {
      contact.phone = phone.value;
      if (phone.extension) contact.phoneExtension = phone.extension;
    } else issues.push({ field: 'from.phone', code: phone.code, message: phone.message });
  }
  if (event.from.email !== undefined && cleanLine(event.from.email) !== '') {
    const email = normalizeEmail(event.from.email);
    if (email.ok) {
      contact.email = email.value.address;
      contact.emailKey = email.value.key;
    } else issues.push({ field: 'from.email', code: email.code, message: email.message });
  }
  // A name the provider got wrong (a caller-ID label of digits) must not cost the lead.
  const name = event.from.name === undefined ? undefined : normalizeName(event.from.name);
  if (name?.ok) contact.name = name.value;

  const isCall = event.type === 'missed_call' || event.type === 'call';
  if ((isCall || event.type === 'sms') && !contact.phone && !issues.some((i) => i.field === 'from.phone')) {
    issues.push({
      field: 'from.phone',
      code: 'required',
      message: `A ${event.type} event needs the caller's phone number.`,
    });
  }
  if (!contact.phone && !contact.emailKey && issues.length === 0) {
    issues.push({
      field: 'from',
      code: 'contact_required',
      message: 'Give a phone or an email of the lead.',
    });
  }
  if (issues.length > 0) throw new ValidationError('The event does not identify a reachable person.', issues);

  const channel = isCall ? 'phone_call' : event.type === 'sms' ? 'sms' : source.channel;
  const status = event.call?.status ?? (event.type === 'missed_call' ? 'no-answer' : 'completed');
  const missed = event.type === 'missed_call' || (event.type === 'call' && MISSED_CALL_STATUSES.has(status));
  const to = event.to === undefined ? '' : businessLine(event.to, source.defaultRegion);
  const call: CallDetails | undefined = isCall
    ? {
        sid: event.call?.id ?? event.id,
        status,
        ...(event.call?.durationSeconds === undefined ? {} : { durationSeconds: event.call.durationSeconds }),
        ...(event.call?.recordingUrl ? { recordingUrl: event.call.recordingUrl } : {}),
        missed,
        ...(to ? { to } : {}),
      }
    : undefined;
  const text = event.message === undefined ? '' : cleanText(event.message);
  const message = text !== '' ? text : call ? callSummary(call) : '';
  const conversationId =
    contact.phone && channel === 'phone_call'
      ? `phone:${contact.phone}`
      : contact.phone && channel === 'sms'
        ? `sms:${contact.phone}`
        : undefined;
  const answers: Record<string, string> = {};
  for (const [field, value] of Object.entries(event.fields ?? {})) {
    const clean = cleanLine(value);
    if (clean !== '') answers[field] = clean;
  }
  const utm: Record<string, string> = {};
  for (const [tag, value] of Object.entries(event.utm ?? {})) {
    const clean = cleanLine(value);
    if (clean !== '') utm[tag] = clean;
  }

  return {
    ...telephonyCaptureBase(context, event.id),
    channel,
    sourceId: source.id,
    contact,
    ...(message === '' ? {} : { message }),
    urgent: missed,
    answers,
    source: {
      utm,
      ...(event.pageUrl ? { pageUrl: event.pageUrl } : {}),
      ...(event.referrer ? { referrer: event.referrer } : {}),
    },
    ...(conversationId ? { conversationId } : {}),
    ...(call ? { call } : {}),
  };
}

function callSummary(call: CallDetails): string {
  const recording = call.recordingUrl ? `\nRecording: ${call.recordingUrl}` : '';
  if (call.missed) return `Missed call (${call.status}) — call back.${recording}`;
  const length = call.durationSeconds === undefined ? '' : ` (${call.durationSeconds} s)`;
  return `Call answered${length}.${recording}`;
}

function businessLine(raw: string, region: GenericSource['defaultRegion']): string {
  const phone = normalizePhone(raw, region);
  return phone.ok ? phone.value : clip(cleanLine(raw), 100);
}
