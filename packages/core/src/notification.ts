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
  /** The contact was made for identities typed into a public form that belong to this other contact. */
  possibleDuplicateOf: z.string().optional(),
};

/** The body of a message on the notifications queue. */
export const notificationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manager_alert'), ...base }),
  /** A new message on a lead that is already open (same conversation, inside the window). */
  z.object({ kind: z.literal('message_alert'), ...base }),
  z.object({ kind: z.literal('acknowledgement'), ...base }),
  /**
   * To a team lead: nobody in their team was available, so the lead waits in the team's queue
   * (`queued`) or went to the fallback team (`fallback`).
   */
  z.object({
    kind: z.literal('team_warning'),
    ...base,
    recipientId: z.string().min(1),
    warning: z.enum(['queued', 'fallback']),
  }),
]);
export type Notification = z.infer<typeof notificationSchema>;
