import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { fieldIssues } from '../body';
import type { CallDetails, CaptureEvent } from '../capture';
import type { ChannelSource } from '../config';
import { ValidationError } from '../errors';
import { cleanLine, cleanText, normalizePhone } from '../normalize';

/** Form parameters as Twilio posts them; a repeated name carries every value. */
export type TwilioParams = Readonly<Record<string, string | readonly string[]>>;

/** What a channel adapter needs besides the provider's payload to build a capture. */
export interface TelephonyCaptureContext {
  readonly submissionId: string;
  readonly receivedAt: Date;
  /** The channel's entry in `config.channels`: team, language, default phone region. */
  readonly source: ChannelSource;
}

/** Parses an application/x-www-form-urlencoded body, keeping repeated names as lists. */
export function parseTwilioForm(body: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    const existing = params[name];
    if (existing === undefined) params[name] = value;
    else if (typeof existing === 'string') params[name] = [existing, value];
    else existing.push(value);
  }
  return params;
}

/**
 * X-Twilio-Signature: HMAC-SHA1 with the auth token over the full URL followed by every POST
 * parameter sorted by name, as name + value with no separators, base64. Repeated values are
 * sorted (and deduplicated) the way Twilio's own helper libraries do.
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name] ?? '';
    const values = typeof value === 'string' ? [value] : [...new Set(value)].sort();
    for (const item of values) data += name + item;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Verifies X-Twilio-Signature in constant time. The URL is tried as given and with the scheme's
 * default port added or removed, since Twilio signs the URL exactly as it was configured.
 */
export function verifyTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: TwilioParams,
): boolean {
  if (!signature) return false;
  const given = Buffer.from(signature, 'utf8');
  let valid = false;
  for (const candidate of defaultPortVariants(url)) {
    const expected = Buffer.from(twilioSignature(authToken, candidate, params), 'utf8');
    // Evaluate every candidate: which variant matched is no secret, but there is no need to reveal it.
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}

function defaultPortVariants(url: string): string[] {
  const match = /^(https?):\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const port = /^(.*):(\d+)$/.exec(authority);
  if (!port) return [url, `${scheme}://${authority}:${defaultPort}${rest}`];
  return port[2] === defaultPort ? [url, `${scheme}://${port[1]}${rest}`] : [url];
}

/** The request as this process received it: its URL and its headers. */
export interface ReceivedRequest {
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/** Where the public URL a provider signed comes from. */
export interface PublicUrlSettings {
  /** The origin providers call, e.g. https://api.example.com: when set, the only one checked against. */
  readonly publicBaseUrl?: string | undefined;
  /**
   * Lowercase names of the proxy headers a proxy we run sets (`x-forwarded-host`, `x-forwarded-proto`).
   * Any other client could send them too, so a header not named here is never read.
   */
  readonly trustedProxyHeaders?: readonly string[] | undefined;
}

/** A host name, IPv4 or bracketed IPv6 address, with an optional port: nothing that could change the path. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The public URL Twilio signed: `publicBaseUrl` + path + query when configured (the stack sets it, and
 * `npm start` sets the address it listens on). Without it, the URL as this process received it, with
 * the scheme of X-Forwarded-Proto and the host of X-Forwarded-Host only when `trustedProxyHeaders` names
 * them: otherwise a request Twilio signed for another host would pass by naming that host.
 */
export function publicRequestUrl(request: ReceivedRequest, settings: PublicUrlSettings = {}): string {
  const received = new URL(request.url);
  const pathAndQuery = `${received.pathname}${received.search}`;
  if (settings.publicBaseUrl) return `${settings.publicBaseUrl.replace(/\/+$/, '')}${pathAndQuery}`;
  const trusted = (name: 'x-forwarded-host' | 'x-forwarded-proto') =>
    settings.trustedProxyHeaders?.includes(name)
      ? request.headers.get(name)?.split(',')[0]?.trim() || undefined
      : undefined;
  const proto = trusted('x-forwarded-proto')?.toLowerCase();
  const scheme = proto === 'http' || proto === 'https' ? proto : received.protocol.slice(0, -1);
  const forwardedHost = trusted('x-forwarded-host');
  const host = forwardedHost && HOST.test(forwardedHost) ? forwardedHost : received.host;
  return `${scheme}://${host}${pathAndQuery}`;
}

const sid = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `must be a 34-character ${prefix}… SID`);
const seconds = z
  .string()
  .regex(/^\d{1,9}$/, 'must be a whole number of seconds')
  .transform(Number);

/** The parameters of a Twilio voice request: incoming call, status callback, <Record> or <Dial> action. */
export const twilioVoiceParamsSchema = z.object({
  CallSid: sid('CA'),
  AccountSid: sid('AC'),
  From: z.string().default(''),
  To: z.string().default(''),
  CallStatus: z.string().min(1),
  Direction: z.string().optional(),
  CallDuration: seconds.optional(),
  /** Set on status callbacks only; absent on the TwiML requests (incoming call, verb actions). */
  CallbackSource: z.string().optional(),
  AnsweredBy: z.string().optional(),
  RecordingUrl: z.string().optional(),
  RecordingSid: sid('RE').optional(),
  RecordingDuration: seconds.optional(),
  /** On a <Dial> action: how the leg to the team's phone ended. */
  DialCallStatus: z.string().optional(),
  DialCallDuration: seconds.optional(),
});
export type TwilioVoiceParams = z.infer<typeof twilioVoiceParamsSchema>;

/** The parameters of an inbound Twilio SMS/MMS webhook. */
export const twilioSmsParamsSchema = z.object({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/, 'must be a 34-character SM… or MM… SID'),
  AccountSid: sid('AC'),
  From: z.string().min(1),
  To: z.string().default(''),
  Body: z.string().max(10_000).default(''),
  NumMedia: z
    .string()
    .regex(/^\d{1,2}$/)
    .transform(Number)
    .default(0),
});
export type TwilioSmsParams = z.infer<typeof twilioSmsParamsSchema>;

/** Final statuses in which nobody picked up. */
const MISSED_STATUSES = new Set(['no-answer', 'busy', 'failed', 'canceled']);
const PENDING_STATUSES = new Set(['queued', 'initiated', 'ringing', 'in-progress']);
/** <Dial> leg statuses in which the team's phone was picked up. */
const ANSWERED_DIAL_STATUSES = new Set(['completed', 'answered']);

export type MissedCallReason =
  | 'no-answer'
  | 'busy'
  | 'failed'
  | 'canceled'
  /** Only our voicemail TwiML took the call, and the caller left a recording. */
  | 'voicemail'
  /** Only our voicemail TwiML took the call, and the caller hung up without leaving a recording. */
  | 'hung-up'
  /** Answering-machine detection found no person (`AnsweredBy` other than `human`). */
  | 'machine';

/** What a voice request means for leadflow. */
export type TwilioVoiceStage =
  /** The Voice URL request for a new call: answer with the voicemail greeting, capture nothing yet. */
  | { readonly stage: 'incoming' }
  /** A non-final status callback (queued, ringing, in-progress): nothing to capture. */
  | { readonly stage: 'progress' }
  | { readonly stage: 'missed'; readonly reason: MissedCallReason }
  | { readonly stage: 'answered' };

const missedBecause = (reason: MissedCallReason): TwilioVoiceStage => ({ stage: 'missed', reason });

/**
 * Classifies a voice request. Our Voice URL answers every inbound call with TwiML (greeting and
 * voicemail), so Twilio reports such a call `completed` even when nobody at the business spoke to
 * the caller. Only evidence that a person answered makes a call answered: a <Dial> leg to the team
 * that connected (`DialCallStatus` `completed`/`answered`), `AnsweredBy=human`, or an outbound
 * call (the team calling the lead, not handled by our TwiML) that completed without answering-machine
 * detection. Everything else final is missed: no-answer/busy/failed/canceled (of the call or of a
 * <Dial> leg), a recording our voicemail took, a machine answer, or a completed inbound call that
 * only our voicemail handled (the caller hung up during the greeting or left no message).
 */
export function classifyTwilioVoice(params: TwilioVoiceParams): TwilioVoiceStage {
  // A <Dial> action: how the leg to the team ended decides, whatever the parent call's status.
  if (params.DialCallStatus !== undefined) {
    if (ANSWERED_DIAL_STATUSES.has(params.DialCallStatus)) return { stage: 'answered' };
    return MISSED_STATUSES.has(params.DialCallStatus)
      ? missedBecause(params.DialCallStatus as MissedCallReason)
      : { stage: 'progress' };
  }
  const status = params.CallStatus;
  if (MISSED_STATUSES.has(status)) return missedBecause(status as MissedCallReason);
  const statusCallback = params.CallbackSource !== undefined;
  // The <Record> action of our voicemail: while the caller is still on the line, or after they hung up.
  if (params.RecordingUrl && !statusCallback) return missedBecause('voicemail');
  if (status === 'completed') {
    if (params.AnsweredBy === 'human') return { stage: 'answered' };
    if (params.AnsweredBy !== undefined) return missedBecause('machine');
    if (params.Direction?.startsWith('outbound')) return { stage: 'answered' };
    return missedBecause(params.RecordingUrl ? 'voicemail' : 'hung-up');
  }
  if (!statusCallback && PENDING_STATUSES.has(status)) return { stage: 'incoming' };
  return { stage: 'progress' };
}

/**
 * The natural key of a final voice event. A recording (the <Record> action of our voicemail, or a
 * <Dial> action that recorded the leg) is keyed by its RecordingSid; the call's outcome (the final
 * status callback, a <Dial> action without a recording) by the CallSid. Twilio's retries of an event
 * carry the same key.
 */
export function twilioVoiceExternalId(
  params: Pick<TwilioVoiceParams, 'CallSid' | 'RecordingSid' | 'CallbackSource'>,
): string {
  // A status callback may carry the call's own recording; it still reports the call's outcome.
  return params.RecordingSid !== undefined && params.CallbackSource === undefined
    ? params.RecordingSid
    : params.CallSid;
}

const CALL_CONVERSATION = 'call:';

/** The conversation of one phone call: every missed-call event of the call is on it. */
export function callConversationId(callSid: string): string {
  return `${CALL_CONVERSATION}${callSid}`;
}

/** Whether a conversation id is one phone call's (see `callConversationId`). */
export function isCallConversation(conversationId: string): boolean {
  return conversationId.startsWith(CALL_CONVERSATION);
}

export type TwilioOutcome =
  | { readonly kind: 'none'; readonly stage: TwilioVoiceStage }
  /** A final event we cannot turn into a lead: the caller's number is withheld or not a phone. */
  | { readonly kind: 'no_caller'; readonly stage: TwilioVoiceStage }
  | {
      readonly kind: 'capture';
      readonly stage: TwilioVoiceStage;
      readonly capture: CaptureEvent;
      /** The natural key of this event: its RecordingSid when it brings a recording, else the CallSid. */
      readonly externalId: string;
      /**
       * The call's key. The first final event of a call to claim it stands for the call (its lead or
       * its answered-call entry); a later event is a replay, unless it brings a recording (see above).
       */
      readonly callSid: string;
    };

/** Validates Twilio's parameters, naming each bad one as a field issue (422). */
export function parseTwilioParams<T extends z.ZodType>(schema: T, params: TwilioParams): z.infer<T> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const first = typeof value === 'string' ? value : value[0];
    if (first !== undefined) flat[name] = first;
  }
  const parsed = schema.safeParse(flat);
  if (parsed.success) return parsed.data;
  throw new ValidationError('The webhook parameters are not what Twilio sends.', fieldIssues(parsed.error));
}

/**
 * Turns a final voice request into a phone_call capture: a missed call is an urgent new lead, an
 * answered call a timeline entry; non-final requests capture nothing. A missed call's events are on
 * the call's own conversation, so a recording that arrives after the final status callback joins the
 * call's lead; an answered call is on the person's phone conversation.
 */
export function captureTwilioVoice(params: TwilioParams, context: TelephonyCaptureContext): TwilioOutcome {
  const voice = parseTwilioParams(twilioVoiceParamsSchema, params);
  const stage = classifyTwilioVoice(voice);
  if (stage.stage === 'incoming' || stage.stage === 'progress') return { kind: 'none', stage };

  // On an outbound call (the team calling the lead), the person is the called party.
  const outbound = voice.Direction?.startsWith('outbound') ?? false;
  const region = context.source.defaultRegion;
  const person = normalizePhone(outbound ? voice.To : voice.From, region);
  if (!person.ok) return { kind: 'no_caller', stage };
  const business = phoneOrLine(outbound ? voice.From : voice.To, region);

  const missed = stage.stage === 'missed';
  const recordingUrl = webUrl(voice.RecordingUrl);
  const durationSeconds = voice.DialCallDuration ?? voice.CallDuration;
  const call: CallDetails = {
    sid: voice.CallSid,
    status: voice.DialCallStatus ?? voice.CallStatus,
    ...(voice.Direction ? { direction: voice.Direction } : {}),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(recordingUrl ? { recordingUrl } : {}),
    missed,
    ...(business ? { to: business } : {}),
  };
  const externalId = twilioVoiceExternalId(voice);
  return {
    kind: 'capture',
    stage,
    externalId,
    callSid: voice.CallSid,
    capture: {
      ...telephonyCaptureBase(context, externalId),
      channel: 'phone_call',
      sourceId: business || 'twilio',
      contact: { phone: person.value },
      // Twilio's From is the caller ID the network delivered; the number we dialled vouches for nobody.
      verified: outbound ? [] : [`phone:${person.value}`],
      message: callMessage(stage, call, voice.RecordingDuration),
      urgent: missed,
      // A missed (urgent) call opens a lead of its own, which the call's later events (a late voicemail)
      // join; an answered call joins an open lead of the person's phone or of their latest call.
      conversationId: missed ? callConversationId(voice.CallSid) : `phone:${person.value}`,
      call,
    },
  };
}

const MISSED_TEXT: Record<MissedCallReason, string> = {
  'no-answer': 'Missed call (no answer)',
  busy: 'Missed call (line busy)',
  failed: 'Missed call (could not connect)',
  canceled: 'Missed call (caller hung up before it was answered)',
  voicemail: 'Missed call, voicemail left',
  'hung-up': 'Missed call (caller hung up without leaving a voicemail)',
  machine: 'Missed call, an answering machine picked up',
};

function callMessage(
  stage: TwilioVoiceStage,
  call: CallDetails,
  recordingSeconds: number | undefined,
): string {
  const lines: string[] = [];
  if (stage.stage === 'missed') {
    const length =
      stage.reason === 'voicemail' && recordingSeconds !== undefined ? ` (${recordingSeconds} s)` : '';
    lines.push(`${MISSED_TEXT[stage.reason]}${length} — call back.`);
    if (call.recordingUrl) lines.push(`Voicemail: ${call.recordingUrl}`);
  } else {
    const length = call.durationSeconds === undefined ? '' : ` (${call.durationSeconds} s)`;
    lines.push(`Call answered${length}.`);
    if (call.recordingUrl) lines.push(`Recording: ${call.recordingUrl}`);
  }
  return lines.join('\n');
}

/** Attachments beyond this many are counted, not listed. */
const MAX_LISTED_MEDIA = 10;

/** Turns an inbound SMS/MMS into an sms capture; `no_caller` when the sender is not a phone number. */
export function captureTwilioSms(
  params: TwilioParams,
  context: TelephonyCaptureContext,
):
  | { readonly kind: 'no_caller' }
  | { readonly kind: 'capture'; readonly capture: CaptureEvent; readonly externalId: string } {
  const sms = parseTwilioParams(twilioSmsParamsSchema, params);
  const region = context.source.defaultRegion;
  const person = normalizePhone(sms.From, region);
  if (!person.ok) return { kind: 'no_caller' };
  const business = phoneOrLine(sms.To, region);

  const first = (name: string) => {
    const value = params[name];
    return typeof value === 'string' ? value : value?.[0];
  };
  const media: string[] = [];
  for (let index = 0; index < Math.min(sms.NumMedia, MAX_LISTED_MEDIA); index++) {
    const url = webUrl(first(`MediaUrl${index}`));
    if (!url) continue;
    const type = cleanLine(first(`MediaContentType${index}`) ?? '').slice(0, 100);
    media.push(`${type || 'file'}: ${url}`);
  }
  const body = cleanText(sms.Body);
  const note =
    sms.NumMedia > 0
      ? [`[${sms.NumMedia} attachment${sms.NumMedia === 1 ? '' : 's'}]`, ...media].join('\n')
      : '';
  const message = [body, note].filter((part) => part !== '').join('\n\n');
  return {
    kind: 'capture',
    externalId: sms.MessageSid,
    capture: {
      ...telephonyCaptureBase(context, sms.MessageSid),
      channel: 'sms',
      sourceId: business || 'twilio',
      contact: { phone: person.value },
      verified: [`phone:${person.value}`],
      ...(message === '' ? {} : { message }),
      urgent: false,
      conversationId: `sms:${person.value}`,
    },
  };
}

/** The fields every telephony capture shares: ids, team and language of the channel, no consent, the natural key. */
export function telephonyCaptureBase(context: TelephonyCaptureContext, externalId: string) {
  return {
    version: 1 as const,
    submissionId: context.submissionId,
    teamId: context.source.teamId,
    receivedAt: context.receivedAt.toISOString(),
    language: context.source.language,
    consent: false,
    answers: {},
    source: { utm: {} },
    externalId,
  };
}

/** A business number as E.164 when it is one, else the cleaned value (a client: or sip: address). */
function phoneOrLine(raw: string, region: ChannelSource['defaultRegion']): string {
  const phone = normalizePhone(raw, region);
  return phone.ok ? phone.value : cleanLine(raw).slice(0, 100);
}

function webUrl(value: string | undefined): string | undefined {
  if (!value || value.length > 2_000 || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML element content and attribute values. */
export function escapeTwiml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] as string);
}

/** A complete TwiML document; no verbs means `<Response/>` (Twilio ends the call or sends nothing). */
export function twiml(verbs = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${verbs === '' ? '<Response/>' : `<Response>${verbs}</Response>`}`;
}

/**
 * The answer to an incoming call: a greeting, then a voicemail of up to two minutes. <Record> has
 * no action, so Twilio posts the recording back to this same URL, which answers with a goodbye.
 */
export function voicemailTwiml(): string {
  return twiml(
    '<Say>Thank you for calling. We cannot take your call right now. Please leave your name, your number and a short message after the tone, and we will call you back.</Say>' +
      '<Record maxLength="120" playBeep="true"/>' +
      '<Say>We did not receive a message. Goodbye.</Say>',
  );
}

/** After the voicemail was recorded, while the caller is still on the line. */
export function voicemailThanksTwiml(): string {
  return twiml('<Say>Thank you. We will call you back soon. Goodbye.</Say><Hangup/>');
}

/** The TwiML answer to an inbound SMS: the auto-reply when there is one, else nothing. */
export function smsReplyTwiml(reply: string | undefined): string {
  const text = reply === undefined ? '' : cleanText(reply);
  return twiml(text === '' ? '' : `<Message>${escapeTwiml(text)}</Message>`);
}
