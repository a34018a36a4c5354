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

/** What an SLA notice says about the clock: whose it is, its deadline, and how far it has escalated. */
const slaNotice = z.object({
  policyId: z.string(),
  priority: z.string(),
  /** The owner who has not responded. */
  ownerId: z.string(),
  dueAt: z.string(),
  /** The escalation level this notice is (0: the owner's warning). */
  level: z.number().int().nonnegative(),
});

/** What a task notice says about the task. */
const taskNotice = z.object({
  taskId: z.string(),
  type: z.string(),
  title: z.string().optional(),
  dueAt: z.string(),
  assigneeId: z.string(),
});

/** The body of a message on the notifications queue. */
export const notificationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('manager_alert'), ...base }),
  /** A new message on a lead that is already open (same conversation, inside the window). */
  z.object({ kind: z.literal('message_alert'), ...base }),
  z.object({ kind: z.literal('acknowledgement'), ...base }),
  /**
   * A step of a follow-up sequence, to the lead: subscription mail, from the follow-up address with the
   * owner as sender name and Reply-To, with both List-Unsubscribe headers. Decided by the follow-up timer.
   */
  z.object({
    kind: z.literal('followup'),
    ...base,
    sequenceId: z.string().min(1),
    /** The step's index in its sequence (0: the first after the acknowledgement). */
    step: z.number().int().nonnegative(),
    /** The step's template (configuration `templates`). */
    template: z.string().min(1),
  }),
  /** To the owner, shortly before their first-response deadline (`recipientId` is the owner). */
  z.object({ kind: z.literal('sla_warning'), ...base, recipientId: z.string().min(1), sla: slaNotice }),
  /** To the owner's team lead when the deadline passed, at each escalation level: `[Overdue] …`. */
  z.object({ kind: z.literal('sla_overdue'), ...base, recipientId: z.string().min(1), sla: slaNotice }),
  /** To a task's assignee at its due time. */
  z.object({ kind: z.literal('task_reminder'), ...base, recipientId: z.string().min(1), task: taskNotice }),
  /** To the assignee's team lead when the task is still open a while after its due time. */
  z.object({ kind: z.literal('task_overdue'), ...base, recipientId: z.string().min(1), task: taskNotice }),
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
