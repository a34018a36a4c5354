import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { parseJsonBody } from '../body';
import type { CaptureEvent } from '../capture';
import type { ChannelSource } from '../config';
import { cleanLine, cleanText, clip, normalizePhone } from '../normalize';
import { secretsEqual } from '../secrets';

/** The header Meta signs every webhook POST with: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const META_SIGNATURE_HEADER = 'x-hub-signature-256';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;
const MAX_NAME = 200;
const MAX_MESSAGE = 10_000;

/** The `X-Hub-Signature-256` value Meta would send for this body (for local tooling). */
export function metaSignature(body: Uint8Array | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * Verifies `X-Hub-Signature-256` against the raw body bytes, in constant time. Any header that is
 * not exactly `sha256=` and 64 hex digits fails before a comparison is made.
 */
export function verifyMetaSignature(
  rawBody: Uint8Array,
  header: string | null | undefined,
  appSecret: string,
): boolean {
  const hex = SIGNATURE.exec(header?.trim() ?? '')?.[1];
  if (!hex) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** The `hub.*` query parameters of Meta's subscription handshake. */
export interface MetaHandshake {
  readonly mode?: string | undefined;
  readonly verifyToken?: string | undefined;
  readonly challenge?: string | undefined;
}

/** The challenge to echo when the handshake is a subscription with our verify token; else undefined. */
export function metaChallengeResponse(query: MetaHandshake, verifyToken: string): string | undefined {
  if (query.mode !== 'subscribe' || query.challenge === undefined || query.verifyToken === undefined) {
    return undefined;
  }
  return secretsEqual(query.verifyToken, verifyToken) ? query.challenge : undefined;
}

// Content objects are read leniently (`.catch(undefined)`): a shape Meta changes must not turn a
// whole batched delivery into a 400 that is retried for days. Identity fields stay strict.
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);

const waMediaSchema = z.object({
  caption: z.string().optional(),
  filename: z.string().optional(),
  mime_type: z.string().optional(),
});

const waMessageSchema = z.object({
  from: z.string().min(1),
  id: z.string().min(1),
  timestamp: z.string().optional(),
  type: z.string().min(1),
  text: lenient(z.object({ body: z.string() })),
  image: lenient(waMediaSchema),
  video: lenient(waMediaSchema),
  audio: lenient(waMediaSchema.extend({ voice: z.boolean().optional() })),
  document: lenient(waMediaSchema),
  sticker: lenient(waMediaSchema),
  location: lenient(
    z.object({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
    }),
  ),
  interactive: lenient(
    z.object({
      type: z.string(),
      button_reply: z.object({ id: z.string(), title: z.string() }).optional(),
      list_reply: z
        .object({ id: z.string(), title: z.string(), description: z.string().optional() })
        .optional(),
    }),
  ),
  button: lenient(z.object({ text: z.string(), payload: z.string().optional() })),
  contacts: lenient(
    z.array(
      z.object({
        name: z.object({ formatted_name: z.string().optional() }).optional(),
        phones: z.array(z.object({ phone: z.string().optional() })).optional(),
      }),
    ),
  ),
});
export type WhatsAppMessage = z.infer<typeof waMessageSchema>;

const waValueSchema = z.object({
  messaging_product: z.string().optional(),
  metadata: z.object({ display_phone_number: z.string().optional(), phone_number_id: z.string().min(1) }),
  contacts: lenient(
    z.array(z.object({ wa_id: z.string().optional(), profile: z.object({ name: z.string() }).optional() })),
  ),
  messages: z.array(z.unknown()).optional(),
  /** Delivery receipts of our own outbound messages: never leads. */
  statuses: z.array(z.unknown()).optional(),
});

const messagingEventSchema = z.object({
  sender: z.object({ id: z.string().min(1) }),
  recipient: z.object({ id: z.string().min(1) }),
  timestamp: z.number().optional(),
  message: z
    .object({
      mid: z.string().min(1),
      text: z.string().optional(),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      is_unsupported: z.boolean().optional(),
      quick_reply: lenient(z.object({ payload: z.string() })),
      attachments: lenient(
        z.array(
          z.object({
            type: z.string(),
            payload: z
              .object({
                title: z.string().optional(),
                coordinates: z.object({ lat: z.number(), long: z.number() }).optional(),
              })
              .nullish(),
          }),
        ),
      ),
    })
    .optional(),
  postback: z
    .object({ mid: z.string().optional(), title: z.string().optional(), payload: z.string().optional() })
    .optional(),
});
export type MessagingEvent = z.infer<typeof messagingEventSchema>;

/**
 * The envelope of every Graph webhook. Items inside are validated one by one, so one odd item
 * cannot block the rest of a batch; only an envelope that is not Meta's shape is refused.
 */
export const metaWebhookSchema = z.object({
  object: z.string().min(1),
  entry: z.array(
    z.object({
      id: z.string().min(1),
      time: z.number().optional(),
      changes: z.array(z.object({ field: z.string(), value: z.unknown() })).optional(),
      messaging: z.array(z.unknown()).optional(),
    }),
  ),
});
export type MetaWebhook = z.infer<typeof metaWebhookSchema>;

/** Parses a verified webhook body; throws MalformedBodyError (400) when it is not Meta's envelope. */
export function parseMetaWebhook(rawBody: Uint8Array): MetaWebhook {
  return parseJsonBody(rawBody, metaWebhookSchema, 'The body is not a Meta webhook.');
}

/** A capture together with the provider's natural key of the message (wamid, mid). */
type KeyedCapture = CaptureEvent & { readonly externalId: string };

export interface MetaCaptureContext {
  readonly newId: () => string;
  readonly receivedAt: Date;
}

export interface MetaCaptures {
  /** One per inbound message, in delivery order. */
  readonly captures: KeyedCapture[];
  /** Items that are not leads: statuses, echoes, deliveries, reads, reactions, unknown objects. */
  readonly ignored: number;
  /** Items that should have been messages but did not match the documented shape. */
  readonly invalid: number;
}

/**
 * Turns one (possibly batched) delivery into captures: every WhatsApp message, Messenger message
 * and Instagram message from a person is its own capture; everything else is counted and dropped.
 */
export function metaCaptures(
  payload: MetaWebhook,
  source: ChannelSource,
  context: MetaCaptureContext,
): MetaCaptures {
  const result = { captures: [] as KeyedCapture[], ignored: 0, invalid: 0 };
  for (const entry of payload.entry) {
    if (payload.object === 'whatsapp_business_account') whatsAppEntry(entry, source, context, result);
    else if (payload.object === 'page' || payload.object === 'instagram') {
      const channel = payload.object === 'page' ? 'messenger' : 'instagram';
      messagingEntry(channel, entry, source, context, result);
    } else result.ignored += (entry.changes?.length ?? 0) + (entry.messaging?.length ?? 0);
  }
  return result;
}

type Entry = MetaWebhook['entry'][number];
type Tally = { captures: KeyedCapture[]; ignored: number; invalid: number };

function whatsAppEntry(entry: Entry, source: ChannelSource, context: MetaCaptureContext, tally: Tally): void {
  for (const change of entry.changes ?? []) {
    if (change.field !== 'messages') {
      tally.ignored++;
      continue;
    }
    const value = waValueSchema.safeParse(change.value);
    if (!value.success) {
      tally.invalid++;
      continue;
    }
    tally.ignored += value.data.statuses?.length ?? 0;
    for (const raw of value.data.messages ?? []) {
      const message = waMessageSchema.safeParse(raw);
      if (!message.success) tally.invalid++;
      // A system notice (number changed) or a reaction to our message is not an inquiry.
      else if (message.data.type === 'system' || message.data.type === 'reaction') tally.ignored++;
      else {
        const profile =
          value.data.contacts?.find((contact) => contact.wa_id === message.data.from) ??
          (value.data.contacts?.length === 1 ? value.data.contacts[0] : undefined);
        tally.captures.push(
          whatsAppCapture(
            message.data,
            profile?.profile?.name,
            value.data.metadata.phone_number_id,
            source,
            context,
          ),
        );
      }
    }
  }
}

function whatsAppCapture(
  message: WhatsAppMessage,
  profileName: string | undefined,
  phoneNumberId: string,
  source: ChannelSource,
  context: MetaCaptureContext,
): KeyedCapture {
  const waId = message.from.replace(/^\+/, '');
  const phone = /^\d{6,15}$/.test(waId) ? normalizePhone(`+${waId}`, source.defaultRegion) : undefined;
  // The handle is the E.164 of the wa_id; a wa_id libphonenumber cannot validate still names the person.
  const handle = phone?.ok ? phone.value : `+${waId}`;
  const name = profileName === undefined ? '' : clip(cleanLine(profileName), MAX_NAME);
  return {
    ...base('whatsapp', phoneNumberId, source, context),
    contact: { ...(name ? { name } : {}), ...(phone?.ok ? { phone: phone.value } : {}) },
    message: clip(cleanText(describeWhatsApp(message)), MAX_MESSAGE, '…'),
    externalId: message.id,
    handles: { whatsapp: handle },
    // The wa_id is the number WhatsApp verified when the sender registered.
    verified: [`whatsapp:${handle}`, ...(phone?.ok ? [`phone:${phone.value}`] : [])],
    conversationId: `whatsapp:${waId}`,
  };
}

/** What the manager reads for each WhatsApp message type. */
export function describeWhatsApp(message: WhatsAppMessage): string {
  const withCaption = (label: string, caption: string | undefined) =>
    caption?.trim() ? `[${label}] ${caption}` : `[${label}]`;
  switch (message.type) {
    case 'text':
      return message.text?.body.trim() ? message.text.body : '[text]';
    case 'image':
      return withCaption('image', message.image?.caption);
    case 'video':
      return withCaption('video', message.video?.caption);
    case 'audio':
      return message.audio?.voice ? '[voice message]' : '[audio]';
    case 'document': {
      const file = message.document?.filename ? `document: ${message.document.filename}` : 'document';
      return withCaption(file, message.document?.caption);
    }
    case 'sticker':
      return '[sticker]';
    case 'location': {
      const place = message.location;
      if (!place) return '[location]';
      const label = [place.name, place.address].filter(Boolean).join(', ');
      return `[location: ${place.latitude},${place.longitude}]${label ? ` ${label}` : ''}`;
    }
    case 'interactive': {
      const reply = message.interactive?.button_reply ?? message.interactive?.list_reply;
      return reply ? `[reply: ${reply.title}]` : '[interactive reply]';
    }
    case 'button':
      return message.button ? `[button: ${message.button.text}]` : '[button]';
    case 'contacts': {
      const shared = (message.contacts ?? [])
        .map((card) => [card.name?.formatted_name, card.phones?.[0]?.phone].filter(Boolean).join(' '))
        .filter(Boolean);
      return shared.length > 0 ? `[contact: ${shared.join('; ')}]` : '[contact]';
    }
    case 'unsupported':
      return '[unsupported message]';
    default:
      return `[${message.type}]`;
  }
}

function messagingEntry(
  channel: 'messenger' | 'instagram',
  entry: Entry,
  source: ChannelSource,
  context: MetaCaptureContext,
  tally: Tally,
): void {
  tally.ignored += entry.changes?.length ?? 0;
  for (const raw of entry.messaging ?? []) {
    const parsed = messagingEventSchema.safeParse(raw);
    if (!parsed.success) {
      tally.invalid++;
      continue;
    }
    const event = parsed.data;
    const text = describeMessaging(event);
    // Echoes of our own page's messages, deletions, deliveries and reads are not inquiries.
    const mid = event.message?.mid ?? event.postback?.mid;
    if (event.message?.is_echo || event.message?.is_deleted || text === undefined || mid === undefined) {
      tally.ignored++;
      continue;
    }
    const psid = event.sender.id;
    tally.captures.push({
      ...base(channel, entry.id, source, context),
      contact: {},
      message: clip(cleanText(text), MAX_MESSAGE, '…'),
      externalId: mid,
      handles: channel === 'messenger' ? { messenger: psid } : { instagram: psid },
      verified: [`${channel}:${psid}`],
      conversationId: `${channel}:${psid}`,
    });
  }
}

/** What the manager reads for a Messenger or Instagram event; undefined when it is not a message. */
export function describeMessaging(event: MessagingEvent): string | undefined {
  const message = event.message;
  if (message) {
    const parts: string[] = [];
    if (message.text?.trim()) parts.push(message.text);
    for (const attachment of message.attachments ?? []) {
      const coordinates = attachment.payload?.coordinates;
      if (attachment.type === 'location' && coordinates) {
        parts.push(`[location: ${coordinates.lat},${coordinates.long}]`);
      } else parts.push(`[${attachment.type}]`);
    }
    if (parts.length === 0) parts.push(message.is_unsupported ? '[unsupported message]' : '[message]');
    return parts.join('\n');
  }
  if (event.postback) return `[button: ${event.postback.title ?? event.postback.payload ?? 'postback'}]`;
  return undefined;
}

function base(
  channel: 'whatsapp' | 'messenger' | 'instagram',
  sourceId: string,
  source: ChannelSource,
  context: MetaCaptureContext,
) {
  return {
    version: 1 as const,
    submissionId: context.newId(),
    channel,
    sourceId,
    teamId: source.teamId,
    receivedAt: context.receivedAt.toISOString(),
    language: source.language,
    consent: false,
    urgent: false,
    answers: {},
    source: { utm: {} },
  };
}
