import { z } from 'zod';
import { normalizeEmail } from './normalize';

/**
 * SES's email sending events, as the configuration set publishes them to SNS (the SNS message is this JSON),
 * with the field names of the SES documentation ("Contents of event data that Amazon SES publishes to Amazon
 * SNS"): `eventType` (`notificationType` for identity feedback notifications), `mail.messageId`,
 * `bounce.bounceType` (`Permanent`, `Transient`, `Undetermined`), `bounce.bouncedRecipients[].emailAddress`,
 * `complaint.complainedRecipients[].emailAddress`. Only bounces and complaints are read; every other field
 * SES adds is let through.
 */

const recipientSchema = z.looseObject({ emailAddress: z.string().min(3).max(512) });

export const sesBounceSchema = z.looseObject({
  bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
  bounceSubType: z.string().optional(),
  bouncedRecipients: z.array(
    recipientSchema.extend({
      action: z.string().optional(),
      status: z.string().optional(),
      diagnosticCode: z.string().optional(),
    }),
  ),
  timestamp: z.string(),
  feedbackId: z.string().min(1),
});

export const sesComplaintSchema = z.looseObject({
  complainedRecipients: z.array(recipientSchema),
  timestamp: z.string(),
  feedbackId: z.string().min(1),
  complaintFeedbackType: z.string().optional(),
  complaintSubType: z.string().nullable().optional(),
});

export const sesEventSchema = z
  .looseObject({
    eventType: z.string().optional(),
    notificationType: z.string().optional(),
    mail: z.looseObject({
      messageId: z.string().min(1),
      timestamp: z.string().optional(),
      tags: z.record(z.string(), z.array(z.string())).optional(),
    }),
    bounce: sesBounceSchema.optional(),
    complaint: sesComplaintSchema.optional(),
  })
  .refine((event) => event.eventType !== undefined || event.notificationType !== undefined, {
    message: 'an SES event has an eventType (or notificationType)',
  });
export type SesEvent = z.infer<typeof sesEventSchema>;

/** What one recipient of an SES event means for us. */
export interface SesRecipientAction {
  /** The recipient as SES reported it, normalized (lowercased) when it is an address we can read. */
  readonly address: string;
  /**
   * `undeliverable`: a permanent bounce or a complaint (the address is marked undeliverable on its contact,
   * suppressed for every later send, and its sequences stop); `transient`: recorded on the timeline only.
   */
  readonly effect: 'undeliverable' | 'transient';
  readonly suppression?: 'bounce' | 'complaint';
  /** The timeline event and the reason recorded with it. */
  readonly event: 'email_bounced' | 'email_complained' | 'email_bounced_transient';
  readonly reason: string;
  readonly at: string;
  /** Stable per event and recipient: the timeline entry's id, so a redelivered event adds nothing. */
  readonly entryId: string;
  readonly messageId: string;
  /** The kind of mail that bounced (our `kind` message tag), when SES reported it. */
  readonly kind?: string | undefined;
}

/** The address inside `Name <address>`, or the text itself. */
function bare(address: string): string {
  const angle = /<([^<>]+)>\s*$/.exec(address);
  return (angle?.[1] ?? address).trim();
}

function normalized(address: string): string {
  const email = normalizeEmail(bare(address));
  return email.ok ? email.value.key : bare(address).toLowerCase();
}

/**
 * What an SES event asks of us, recipient by recipient: a permanent bounce or a complaint makes the address
 * undeliverable; a transient (or undetermined) bounce is recorded only; any other event type (deliveries,
 * sends, opens…) asks nothing. `entryId` hashes nothing: SES's feedback id is unique per bounce or complaint.
 */
export function planSesEvent(event: SesEvent): SesRecipientAction[] {
  const type = event.eventType ?? event.notificationType;
  const messageId = event.mail.messageId;
  const kind = event.mail.tags?.kind?.[0];
  if (type === 'Bounce' && event.bounce) {
    const { bounce } = event;
    const permanent = bounce.bounceType === 'Permanent';
    return bounce.bouncedRecipients.map((recipient, index) => ({
      address: normalized(recipient.emailAddress),
      effect: permanent ? 'undeliverable' : 'transient',
      ...(permanent ? { suppression: 'bounce' as const } : {}),
      event: permanent ? 'email_bounced' : 'email_bounced_transient',
      reason: `bounce: ${bounce.bounceType}${bounce.bounceSubType ? ` ${bounce.bounceSubType}` : ''}${
        recipient.status ? ` (${recipient.status})` : ''
      }`,
      at: bounce.timestamp,
      entryId: `ses:${bounce.feedbackId}:${index}`,
      messageId,
      kind,
    }));
  }
  if (type === 'Complaint' && event.complaint) {
    const { complaint } = event;
    return complaint.complainedRecipients.map((recipient, index) => ({
      address: normalized(recipient.emailAddress),
      effect: 'undeliverable',
      suppression: 'complaint',
      event: 'email_complained',
      reason: `complaint: ${complaint.complaintFeedbackType ?? 'not specified'}`,
      at: complaint.timestamp,
      entryId: `ses:${complaint.feedbackId}:${index}`,
      messageId,
      kind,
    }));
  }
  return [];
}
