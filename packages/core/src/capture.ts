import { createHash } from 'node:crypto';
import { z } from 'zod';
import { channelSchema, languageSchema } from './vocabulary';

export { CHANNELS, type Channel, channelSchema } from './vocabulary';

export const contactSchema = z.object({
  name: z.string().optional(),
  /** As written (domain lowercased). */
  email: z.string().optional(),
  /** The identity key: the whole address lowercased. */
  emailKey: z.string().optional(),
  /** E.164. */
  phone: z.string().optional(),
  /** Digits dialled after the phone (`ext. 89`), kept apart so `phone` stays an identity key. */
  phoneExtension: z
    .string()
    .regex(/^\d{1,10}$/)
    .optional(),
});
export type ContactDetails = z.infer<typeof contactSchema>;

/** Channel handles that identify a person on one platform (claimed like emails and phones). */
export const HANDLE_TYPES = ['whatsapp', 'messenger', 'instagram', 'telegram', 'chat'] as const;
export const handleTypeSchema = z.enum(HANDLE_TYPES);
export type HandleType = z.infer<typeof handleTypeSchema>;

/** A phone call, for telephony captures. */
export const callSchema = z.object({
  /** Provider call id (Twilio CallSid). */
  sid: z.string().min(1),
  status: z.string().min(1),
  direction: z.string().optional(),
  durationSeconds: z.number().int().nonnegative().optional(),
  recordingUrl: z.string().optional(),
  /** No answer, busy, failed, or voicemail: the lead needs a call back. */
  missed: z.boolean(),
  /** The business number that was called (E.164). */
  to: z.string().optional(),
});
export type CallDetails = z.infer<typeof callSchema>;

/** An inbound email's metadata; the text part goes in `message`. */
export const emailDetailsSchema = z.object({
  messageId: z.string().min(1),
  /**
   * The receiving service's id of this delivery (SES `mail.messageId`): the raw MIME's object key in the
   * raw-mail bucket, which export and erasure reach it by. Absent on mail received before it was kept.
   */
  deliveryId: z.string().min(1).optional(),
  /**
   * The sender's DMARC verdict as the receiving service judged it: `pass` (the From domain vouches for
   * the sender), `fail` (anyone could have written this From: the alert says so), `none` (no policy to
   * judge by, or no verdict). Absent on mail received before verdicts were kept.
   */
  dmarc: z.enum(['pass', 'fail', 'none']).optional(),
  subject: z.string().optional(),
  attachments: z
    .array(
      z.object({
        filename: z.string().optional(),
        contentType: z.string(),
        size: z.number().int().nonnegative(),
      }),
    )
    .default([]),
});
export type EmailDetails = z.infer<typeof emailDetailsSchema>;

export const sourceSchema = z.object({
  utm: z.record(z.string(), z.string()).default({}),
  pageUrl: z.string().optional(),
  referrer: z.string().optional(),
  origin: z.string().optional(),
});
export type CaptureSource = z.infer<typeof sourceSchema>;

/**
 * The one canonical event every channel adapter produces: it is what is stored at the door,
 * what travels on the leads queue, and what the router consumes.
 */
export const captureEventSchema = z.object({
  version: z.literal(1),
  submissionId: z.string().min(1),
  channel: channelSchema,
  /** Form id, phone number id, mailbox… whatever the channel's entry point is. */
  sourceId: z.string().min(1),
  teamId: z.string().min(1),
  receivedAt: z.iso.datetime(),
  language: languageSchema,
  contact: contactSchema,
  message: z.string().optional(),
  consent: z.boolean(),
  urgent: z.boolean().default(false),
  /** Answers to the form's other fields, by field name. */
  answers: z.record(z.string(), z.string()).default({}),
  source: sourceSchema,
  /** The provider's natural key of this delivery (CallSid, MessageSid, wamid, update_id, Message-ID). */
  externalId: z.string().optional(),
  /** Platform handles of the person, e.g. `{ telegram: '123456' }`. */
  handles: z.partialRecord(handleTypeSchema, z.string().min(1)).optional(),
  /**
   * The identity keys (as `identityKeys` spells them, e.g. `phone:+821012345678`) the provider vouches the
   * sender controls: a caller ID, a wa_id, a platform id, a DMARC-passing sender. Every other identity of
   * the capture is claimed. Absent on captures queued before provenance was recorded: `vouchedIdentities`
   * reads those by channel.
   */
  verified: z.array(z.string().min(1).max(300)).max(10).optional(),
  /** The thread this message belongs to; messages within the window join the thread's open lead. */
  conversationId: z.string().optional(),
  call: callSchema.optional(),
  email: emailDetailsSchema.optional(),
});
export type CaptureEvent = z.infer<typeof captureEventSchema>;

/**
 * The identities a capture claims, strongest first: `email:<key>`, `phone:<e164>`, then platform
 * handles such as `telegram:<user id>`.
 */
export function identityKeys(contact: ContactDetails, handles: CaptureEvent['handles'] = {}): string[] {
  const keys: string[] = [];
  if (contact.emailKey) keys.push(`email:${contact.emailKey}`);
  if (contact.phone) keys.push(`phone:${contact.phone}`);
  for (const type of HANDLE_TYPES) {
    const handle = handles?.[type];
    if (handle) keys.push(`${type}:${handle}`);
  }
  return keys;
}

/**
 * The FIFO message group, so captures that must not race are processed in order: one conversation's
 * messages (a chat session, a phone number's texts) by their conversation, anything else by the person's
 * strongest identity. Two groups of one person may still run at once; identity claims, merge fences and
 * conditional writes keep that safe. Hashed so that no address or number shows up in queue metadata.
 */
export function messageGroupId(
  contact: ContactDetails,
  handles?: CaptureEvent['handles'],
  conversationId?: string,
): string {
  const [primary] = identityKeys(contact, handles);
  if (!primary) throw new Error('A capture needs an email, a phone or a platform handle to be grouped');
  return sha256(conversationId ? `conversation:${conversationId}` : primary).slice(0, 40);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
