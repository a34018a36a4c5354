import { z } from 'zod';
import { decodeJson, MAX_BODY_BYTES } from '../body';
import { type CaptureEvent, sha256 } from '../capture';
import type { ChatWidget } from '../config';
import {
  type FieldIssue,
  MalformedBodyError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors';
import { captureSource } from '../form';
import { cleanLine, cleanText, normalizeEmail, normalizeName, normalizePhone } from '../normalize';

const chatId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,128}$/, 'Use 8 to 128 letters, digits, dashes or underscores.');
/** Absent, null and blank all mean "not given": widgets often send empty inputs. */
const optionalText = (max: number) =>
  z
    .string()
    .max(max, `At most ${max} characters.`)
    .nullish()
    .transform((value) => (value?.trim() ? value : undefined));

/** One message typed into the website chat widget. */
export const chatMessageSchema = z.object({
  visitorId: chatId,
  sessionId: chatId,
  /** Set by the widget per message, so a client retry is recognised. */
  messageId: chatId.optional(),
  text: z
    .string()
    .transform((value) => cleanText(value))
    .pipe(z.string().min(1, 'Write a message.').max(4_000, 'At most 4000 characters.')),
  name: optionalText(200),
  email: optionalText(254),
  phone: optionalText(40),
  pageUrl: optionalText(2_000),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Reads a chat widget body: JSON in UTF-8 only (415), at most 64 KiB (413), an object (400). */
export function parseChatBody(contentType: string | undefined, rawBody: Uint8Array): Record<string, unknown> {
  const [essence = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = params.find((param) => param.startsWith('charset='))?.slice('charset='.length);
  if (
    !(essence === 'application/json' || essence.endsWith('+json')) ||
    (charset && !/^"?utf-?8"?$/.test(charset))
  ) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${essence || '(none)'} is not accepted; send application/json in UTF-8.`,
    );
  }
  if (rawBody.byteLength > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(
      `The body is ${rawBody.byteLength} bytes; the limit is ${MAX_BODY_BYTES}.`,
    );
  }
  const value = decodeJson(rawBody);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MalformedBodyError('The JSON body must be an object.');
  }
  return value as Record<string, unknown>;
}

export interface ChatCaptureContext {
  readonly newId: () => string;
  readonly receivedAt: Date;
  readonly origin?: string | undefined;
  readonly referer?: string | undefined;
}

export interface ChatCapture {
  readonly capture: CaptureEvent & { readonly externalId: string };
  /** True when the widget sent a messageId: the natural key is then `widget:visitor:messageId`. */
  readonly clientKeyed: boolean;
  /** Hash of (widget, visitor, session, text): the key without a messageId, and the retry check with one. */
  readonly contentHash: string;
}

/**
 * Validates and normalizes one chat message into a capture. Throws a ValidationError (422) naming
 * every offending field, including an email or phone that cannot be normalized.
 */
export function chatCapture(widget: ChatWidget, body: unknown, context: ChatCaptureContext): ChatCapture {
  const parsed = chatMessageSchema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError(
      'Some fields are missing or invalid.',
      parsed.error.issues.map((issue) => ({
        field: issue.path.join('.') || 'body',
        code: issue.code === 'too_small' && issue.path[0] === 'text' ? 'required' : issue.code,
        message: issue.message,
      })),
    );
  }
  const message = parsed.data;
  const issues: FieldIssue[] = [];
  const contact: CaptureEvent['contact'] = {};
  if (message.name) {
    const name = normalizeName(message.name);
    if (name.ok) contact.name = name.value;
    else issues.push({ field: 'name', code: name.code, message: name.message });
  }
  if (message.email) {
    const email = normalizeEmail(message.email);
    if (email.ok) {
      contact.email = email.value.address;
      contact.emailKey = email.value.key;
    } else issues.push({ field: 'email', code: email.code, message: email.message });
  }
  if (message.phone) {
    const phone = normalizePhone(message.phone, widget.defaultRegion);
    if (phone.ok) {
      contact.phone = phone.value;
      if (phone.extension) contact.phoneExtension = phone.extension;
    } else issues.push({ field: 'phone', code: phone.code, message: phone.message });
  }
  if (issues.length > 0) throw new ValidationError('Some fields are missing or invalid.', issues);

  const contentHash = sha256(JSON.stringify([widget.id, message.visitorId, message.sessionId, message.text]));
  const externalId = message.messageId
    ? `${widget.id}:${message.visitorId}:${message.messageId}`
    : `${widget.id}:${message.visitorId}:${message.sessionId}:${contentHash.slice(0, 32)}`;
  const source = captureSource(message.pageUrl ? { page_url: cleanLine(message.pageUrl) } : {}, context);
  return {
    clientKeyed: message.messageId !== undefined,
    contentHash,
    capture: {
      version: 1,
      submissionId: context.newId(),
      channel: 'chat',
      sourceId: widget.id,
      teamId: widget.teamId,
      receivedAt: context.receivedAt.toISOString(),
      language: widget.language,
      contact,
      message: message.text,
      consent: false,
      urgent: false,
      answers: {},
      source,
      externalId,
      handles: { chat: message.visitorId },
      conversationId: `chat:${widget.id}:${message.sessionId}`,
    },
  };
}
