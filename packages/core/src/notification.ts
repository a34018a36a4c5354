import { z } from 'zod';
import { captureEventSchema } from './capture';
import { assignmentSchema } from './routing';

const base = {
  /** Idempotency key of the send: one email per notification id, however often it is delivered. */
  notificationId: z.string().min(1),
  leadId: z.string().min(1),
  contactId: z.string().min(1),
  capture: captureEventSchema,
  assignment: assignmentSchema,
  returning: z.boolean(),
};

/** The body of a message on the notifications queue. */
export const notificationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manager_alert'), ...base }),
  /** A new message on a lead that is already open (same conversation, inside the window). */
  z.object({ kind: z.literal('message_alert'), ...base }),
  z.object({ kind: z.literal('acknowledgement'), ...base }),
]);
export type Notification = z.infer<typeof notificationSchema>;
