import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type FollowUpContactState,
  type FollowUpDecision,
  type FollowUpSequence,
  followUpTimer,
  type Notification,
  planFollowUpStep,
  type TimerOf,
} from '@leadflow/core';
import { latestInboundAfter, putTimelineEntryOnce, SuppressionList } from '../follow-ups';
import { keys, type LeadItem } from '../items';
import type { TimerDeps } from './deps';
import type { TimerOutcome } from './outcome';
import { findLeadById } from './sla';

/** Merged-away contacts looked at for an unsubscribe or a bounce (a merge keeps them, marked merged). */
const MAX_MERGED_PROFILES = 10;

/** The timeline entry of a step's outcome: one per lead, sequence and step, however often its timer fires. */
function entryIdOf(timer: TimerOf<'followup'>): string {
  return `followup:${timer.leadId}:${timer.sequenceId}:${timer.step}`;
}

/**
 * Fires a follow-up step: re-reads the lead, its contact (and the contacts merged into it), whether the
 * person wrote again since the capture and whether the address is suppressed, lets the pure planner decide,
 * then queues the email (the notifier sends it once per notification id and checks suppression again) and
 * the next step's timer, and records the outcome on the timeline last. A step whose outcome is recorded
 * already (a duplicate timer) does nothing, so a duplicate never forks the sequence; a crash before the
 * record is repeated whole, each effect idempotent.
 */
export async function fireFollowUpTimer(deps: TimerDeps, timer: TimerOf<'followup'>): Promise<TimerOutcome> {
  const { doc, tableName } = deps;
  const lead = await findLeadById(doc, tableName, timer.leadId);
  if (!lead) return { skipped: 'not_found' };
  const entryId = entryIdOf(timer);
  const { Item: recorded } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.interaction(lead.contactId, timer.dueAt, entryId),
      ConsistentRead: true,
    }),
  );
  if (recorded) return { skipped: 'superseded', detail: { step: timer.step } };

  const config = await deps.config();
  const sequence = config.followUps.sequences.find((candidate) => candidate.id === timer.sequenceId);
  const email = lead.capture.contact.email;
  const [contact, suppressed] = await Promise.all([
    contactState(doc, tableName, lead),
    email ? new SuppressionList(doc, tableName).isSuppressed(email) : Promise.resolve(false),
  ]);
  const decision: FollowUpDecision = sequence
    ? planFollowUpStep({
        sequence,
        step: timer.step,
        lead: {
          status: lead.status,
          capturedAt: lead.capturedAt,
          consent: lead.capture.consent,
          email,
          acknowledgedAt: lead.acknowledgedAt,
          firstResponseAt: lead.firstResponseAt,
          erasedAt: lead.erasedAt,
        },
        contact,
        suppressed,
        timeScale: deps.timers.timeScale,
      })
    : { action: 'stop', reason: 'unknown_step' };

  if (decision.action === 'send' && sequence) {
    await deps.enqueueNotifications([followUpNotification(lead, sequence, timer, decision.step.template)]);
  }
  if (decision.action !== 'stop' && decision.next && sequence) {
    await deps.timers.schedule([
      followUpTimer({
        sequence,
        step: decision.next.step,
        leadId: lead.leadId,
        contactId: lead.contactId,
        capturedAt: lead.capturedAt,
        timeScale: deps.timers.timeScale,
      }),
    ]);
  }
  const stepNumber = timer.step + 1;
  const stepId = sequence?.steps[timer.step]?.id ?? String(timer.step);
  await putTimelineEntryOnce(doc, tableName, {
    contactId: lead.contactId,
    occurredAt: timer.dueAt,
    interactionId: entryId,
    event: decision.action === 'send' ? 'followup_sent' : 'followup_skipped',
    leadId: lead.leadId,
    sequenceId: timer.sequenceId,
    step: timer.step,
    stepId,
    firedAt: deps.clock().toISOString(),
    ...(decision.action === 'send'
      ? { template: decision.step.template }
      : { reason: decision.reason, stopped: decision.action === 'stop' }),
    ...(decision.action !== 'stop' && decision.next ? { nextDueAt: decision.next.dueAt } : {}),
    summary:
      decision.action === 'send'
        ? `Follow-up ${stepNumber} (${stepId}) of ${timer.sequenceId} sent to the lead`
        : decision.action === 'skip'
          ? `Follow-up ${stepNumber} (${stepId}) of ${timer.sequenceId} skipped: the lead was already answered; the sequence goes on`
          : `Follow-up ${stepNumber} (${stepId}) of ${timer.sequenceId} not sent, and the sequence ended: ${STOP_WORDS[decision.reason]}`,
  });
  return decision.action === 'send'
    ? { acted: 'followup_sent', detail: { step: timer.step, sequenceId: timer.sequenceId } }
    : { acted: 'followup_skipped', detail: { step: timer.step, reason: decision.reason } };
}

const STOP_WORDS: Record<Extract<FollowUpDecision, { action: 'stop' }>['reason'], string> = {
  lead_gone: 'the lead or its contact is gone',
  no_consent: 'the lead gave no consent to subscription mail',
  no_email: 'the lead has no usable email address',
  unsubscribed: 'the person unsubscribed',
  undeliverable: 'the address bounced or complained and is suppressed',
  status_changed: 'the lead moved on from new',
  replied: 'the person wrote again',
  unknown_step: 'the sequence or step is no longer configured',
};

/** The email a step queues: the lead's own capture and current owner, the step's template. */
function followUpNotification(
  lead: LeadItem,
  sequence: FollowUpSequence,
  timer: TimerOf<'followup'>,
  template: string,
): Notification {
  return {
    kind: 'followup',
    notificationId: `${lead.leadId}:followup:${sequence.id}:${timer.step}`,
    leadId: lead.leadId,
    contactId: lead.contactId,
    capture: lead.capture,
    assignment: lead.assignment,
    returning: false,
    sequenceId: sequence.id,
    step: timer.step,
    template,
  };
}

/**
 * The contact as a step decides on it: its unsubscribe and undeliverable addresses, together with those of
 * the contacts merged into it (a merge does not carry them over), and the person's latest message since
 * the lead's capture.
 */
async function contactState(
  doc: DynamoDBDocumentClient,
  tableName: string,
  lead: LeadItem,
): Promise<FollowUpContactState | undefined> {
  const profiles: Record<string, unknown>[] = [];
  const queue = [lead.contactId];
  const seen = new Set<string>();
  while (queue.length > 0 && seen.size < MAX_MERGED_PROFILES) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    const { Item } = await doc.send(
      new GetCommand({ TableName: tableName, Key: keys.contact(id), ConsistentRead: true }),
    );
    if (!Item) continue;
    profiles.push(Item);
    queue.push(...setOf(Item.mergedFrom));
  }
  const [own] = profiles;
  if (!own || own.contactId !== lead.contactId) return undefined;
  const unsubscribedAt = profiles
    .map((profile) => profile.unsubscribedAt)
    .find((at): at is string => typeof at === 'string');
  const lastInboundAt = await latestInboundAfter(
    doc,
    tableName,
    lead.contactId,
    lead.capturedAt,
    lead.leadId,
  );
  return {
    ...(unsubscribedAt ? { unsubscribedAt } : {}),
    undeliverableAddresses: profiles.flatMap((profile) => setOf(profile.undeliverableAddresses)),
    ...(typeof own.erasedAt === 'string' ? { erasedAt: own.erasedAt } : {}),
    ...(lastInboundAt ? { lastInboundAt } : {}),
  };
}

function setOf(value: unknown): string[] {
  if (value instanceof Set) return [...value].filter((entry): entry is string => typeof entry === 'string');
  if (Array.isArray(value)) return value.filter((entry): entry is string => typeof entry === 'string');
  return [];
}
