import { z } from 'zod';
import { parseJsonBody } from '../body';
import type { CaptureEvent } from '../capture';
import type { ChannelSource } from '../config';
import { cleanLine, cleanText, clip, normalizePhone } from '../normalize';
import { secretsEqual } from '../secrets';

/** The header Telegram echoes the `secret_token` of setWebhook in. */
export const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const MAX_NAME = 200;
const MAX_MESSAGE = 10_000;

/** True when the header carries the bot's secret token; compared in constant time. */
export function verifyTelegramSecretToken(header: string | null | undefined, secretToken: string): boolean {
  if (header === undefined || header === null || header === '') return false;
  return secretsEqual(header, secretToken);
}

// Content fields are read leniently (`.catch(undefined)`): Telegram adds fields and types over time,
// and an update we cannot fully read is still a person writing to us.
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const userSchema = z.object({
  id: z.number().int(),
  is_bot: z.boolean(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
  language_code: z.string().optional(),
});

const messageSchema = z.object({
  message_id: z.number().int(),
  from: userSchema.optional(),
  chat: z.object({ id: z.number().int(), type: z.string() }),
  date: z.number().int(),
  text: z.string().optional(),
  caption: z.string().optional(),
  contact: lenient(
    z.object({
      phone_number: z.string(),
      first_name: z.string(),
      last_name: z.string().optional(),
      user_id: z.number().int().optional(),
    }),
  ),
  photo: lenient(z.array(z.unknown())),
  document: lenient(z.object({ file_name: z.string().optional() })),
  voice: lenient(z.object({})),
  audio: lenient(z.object({ title: z.string().optional() })),
  video: lenient(z.object({})),
  video_note: lenient(z.object({})),
  sticker: lenient(z.object({ emoji: z.string().optional() })),
  location: lenient(z.object({ latitude: z.number(), longitude: z.number() })),
});
export type TelegramMessage = z.infer<typeof messageSchema>;

/** The Update object; only `message` is a lead, every other kind of update is acknowledged and dropped. */
export const telegramUpdateSchema = z.object({
  update_id: z.number().int(),
  message: messageSchema.optional(),
  edited_message: z.unknown().optional(),
});
export type TelegramUpdate = z.infer<typeof telegramUpdateSchema>;

/** Parses a verified webhook body; throws MalformedBodyError (400) when it is not an Update. */
export function parseTelegramUpdate(rawBody: Uint8Array): TelegramUpdate {
  return parseJsonBody(rawBody, telegramUpdateSchema, 'The body is not a Telegram Update.');
}

export interface TelegramCaptureContext {
  readonly newId: () => string;
  readonly receivedAt: Date;
}

/**
 * The capture for an update, or undefined when it is not a lead: no `message` (edits, callbacks,
 * membership changes), a message from a bot, or one without a sender (channel posts).
 */
export function telegramCapture(
  update: TelegramUpdate,
  source: ChannelSource,
  context: TelegramCaptureContext,
): (CaptureEvent & { readonly externalId: string }) | undefined {
  const message = update.message;
  const from = message?.from;
  if (!message || !from || from.is_bot) return undefined;
  const name = clip(cleanLine([from.first_name, from.last_name].filter(Boolean).join(' ')), MAX_NAME);
  // Only the sender's own number (shared with the request_contact button) identifies them; a contact
  // card of someone else must not merge two people, so it only shows in the message.
  const own = message.contact && message.contact.user_id === from.id ? message.contact : undefined;
  const phone = own ? telegramPhone(own.phone_number, source) : undefined;
  return {
    version: 1,
    submissionId: context.newId(),
    channel: 'telegram',
    sourceId: 'bot',
    teamId: source.teamId,
    receivedAt: context.receivedAt.toISOString(),
    language: source.language,
    contact: { ...(name ? { name } : {}), ...(phone ? { phone } : {}) },
    message: clip(cleanText(describeTelegram(message)), MAX_MESSAGE, '…'),
    consent: false,
    urgent: false,
    answers: {},
    source: { utm: {} },
    externalId: String(update.update_id),
    handles: { telegram: String(from.id) },
    // Telegram vouches for the sender's id, and for a number the sender shared as their own.
    verified: [`telegram:${from.id}`, ...(phone ? [`phone:${phone}`] : [])],
    conversationId: `telegram:${message.chat.id}`,
  };
}

/**
 * Telegram reports a shared number as international digits, with or without the leading `+`: read bare
 * digits as international first (a national reading of `8210…` in Korea would be a different, sometimes
 * valid, number), and fall back to the channel's region for anything else.
 */
export function telegramPhone(raw: string, source: ChannelSource): string | undefined {
  const digits = raw.trim();
  if (/^\d{6,15}$/.test(digits)) {
    const international = normalizePhone(`+${digits}`, source.defaultRegion);
    if (international.ok) return international.value;
  }
  const national = normalizePhone(raw, source.defaultRegion);
  return national.ok ? national.value : undefined;
}

/** What the manager reads for a Telegram message. */
export function describeTelegram(message: TelegramMessage): string {
  const caption = message.caption?.trim() ? ` ${message.caption}` : '';
  if (message.text?.trim()) return message.text;
  if (message.contact) {
    const card = [message.contact.first_name, message.contact.last_name, message.contact.phone_number]
      .filter(Boolean)
      .join(' ');
    return `[contact: ${card}]`;
  }
  if (message.photo) return `[photo]${caption}`;
  if (message.document) {
    return `[document${message.document.file_name ? `: ${message.document.file_name}` : ''}]${caption}`;
  }
  if (message.voice) return '[voice message]';
  if (message.audio) return `[audio]${caption}`;
  if (message.video) return `[video]${caption}`;
  if (message.video_note) return '[video message]';
  if (message.sticker) return `[sticker${message.sticker.emoji ? ` ${message.sticker.emoji}` : ''}]`;
  if (message.location) return `[location: ${message.location.latitude},${message.location.longitude}]`;
  return message.caption?.trim() ? message.caption : '[message]';
}
