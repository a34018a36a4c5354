import { createHash } from 'node:crypto';
import { z } from 'zod';
import { languageSchema } from './config';

export const CHANNELS = [
  'web_form',
  'phone_call',
  'sms',
  'email',
  'whatsapp',
  'messenger',
  'instagram',
  'telegram',
  'chat',
] as const;
export const channelSchema = z.enum(CHANNELS);
export type Channel = z.infer<typeof channelSchema>;

export const contactSchema = z.object({
  name: z.string().optional(),
  /** As written (domain lowercased). */
  email: z.string().optional(),
  /** The identity key: the whole address lowercased. */
  emailKey: z.string().optional(),
  /** E.164. */
  phone: z.string().optional(),
});
export type ContactDetails = z.infer<typeof contactSchema>;

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
});
export type CaptureEvent = z.infer<typeof captureEventSchema>;

/** The identities a capture claims, strongest first: `email:<key>`, `phone:<e164>`. */
export function identityKeys(contact: ContactDetails): string[] {
  const keys: string[] = [];
  if (contact.emailKey) keys.push(`email:${contact.emailKey}`);
  if (contact.phone) keys.push(`phone:${contact.phone}`);
  return keys;
}

/**
 * The FIFO message group: one group per person so two captures of one person never race.
 * Hashed so that no address or number shows up in queue metadata.
 */
export function messageGroupId(contact: ContactDetails): string {
  const [primary] = identityKeys(contact);
  if (!primary) throw new Error('A capture needs an email or a phone to be grouped');
  return sha256(primary).slice(0, 40);
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
