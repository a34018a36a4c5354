import { z } from 'zod';

/** The words every other module shares; a leaf, so schemas can use them without import cycles. */
export const LANGUAGES = ['en', 'ko', 'th'] as const;
export const languageSchema = z.enum(LANGUAGES);
export type Language = z.infer<typeof languageSchema>;

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

/** How soon a lead needs an answer; rules set it, alerts show it, SLAs are per priority. */
export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const;
export const prioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof prioritySchema>;
