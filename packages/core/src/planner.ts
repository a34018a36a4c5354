import { ACKNOWLEDGEMENT_INTERVAL_MS } from './abuse';
import { type AssignmentPlan, type ManagerLoad, planAssignment } from './assignment';
import type { OpenConversations } from './bounds';
import type { CaptureEvent } from './capture';
import { isCallConversation } from './channels/twilio';
import type { LeadflowConfig } from './config';
import type { Assignment } from './routing';
import { evaluateRules, type RuleDecision } from './rules';
import { scoreCapture } from './scoring';
import { CHANNELS } from './vocabulary';

/** What the router knows of the contact a capture resolved to; undefined for a new contact. */
export interface ContactState {
  readonly ownerId?: string | undefined;
  readonly conversations?: OpenConversations | undefined;
  readonly lastAcknowledgedAt?: string | undefined;
  /** When the contact's latest lead was captured, for the repeat-contact score. */
  readonly lastLeadAt?: string | undefined;
}

export interface PlanInput {
  readonly capture: CaptureEvent;
  readonly config: LeadflowConfig;
  readonly contact?: ContactState | undefined;
  /** Open leads and last assignment per manager id, as counted on write. */
  readonly loads: Readonly<Record<string, ManagerLoad>>;
  /** The team's cursor, drawn once by the adapter when a plan asked for it. */
  readonly cursor?: { readonly teamId: string; readonly value: number } | undefined;
  readonly now: Date;
}

/** A message that continues an open conversation: added to that lead, alerted to its owner. */
export interface MessagePlan {
  readonly kind: 'message';
  readonly leadId: string;
  /** Who holds the lead; absent while it waits in its team's queue (then nobody is alerted). */
  readonly ownerId: string | undefined;
  readonly assignment: Assignment;
  /** This message's own score: the lead keeps the highest of its interactions' scores. */
  readonly score: number;
}

/** A new lead: where the rules sent it, its score, who takes it (or the queue), and what to send. */
export interface LeadPlan {
  readonly kind: 'lead';
  readonly decision: RuleDecision;
  readonly score: number;
  readonly scoreReasons: readonly { points: number; why: string }[];
  readonly assignment: Extract<AssignmentPlan, { kind: 'assigned' | 'queued' }>;
  /** What the lead and its notifications carry; `ownerId` is absent for a queued lead. */
  readonly record: Assignment;
  /** The owner the contact has after this lead: unchanged for a substitution or a queued lead. */
  readonly contactOwnerId: string | undefined;
  readonly acknowledge: boolean;
}

export type RoutePlan = { readonly kind: 'needs_cursor'; readonly teamId: string } | MessagePlan | LeadPlan;

/** Channels whose captures can continue a conversation. */
const CONVERSATIONAL = new Set<CaptureEvent['channel']>(CHANNELS.filter((channel) => channel !== 'web_form'));

/**
 * Decides what one capture becomes, as a pure function of the capture, the configuration, what is known
 * of the contact and the managers' loads, and `now`: the router, the dry-run and the replay all call it.
 * A plan that depends on a round-robin cursor asks for it first (`needs_cursor`), so the adapter draws
 * the cursor once, only when it is needed, and reuses that value for every retry of the same capture.
 */
export function planRoute(input: PlanInput): RoutePlan {
  const { capture, config, contact, now } = input;
  const owner = contact?.ownerId ? config.managers.get(contact.ownerId) : undefined;
  const activeOwner = owner?.active ? owner.id : undefined;

  const { score, reasons: scoreReasons } = scoreCapture({
    capture,
    scoring: config.scoring,
    previousLeadAt: contact?.lastLeadAt,
    now,
  });
  // A message of an open conversation always joins its lead, whoever holds it: its owner when the lead was
  // assigned (a substitute keeps the conversation they took), else the contact's owner; a lead still waiting
  // in its queue takes the message without an alert (its team lead was warned; its owner hears on dequeue).
  const open = openConversation(input);
  if (open) {
    const holder = [open.ownerId, activeOwner].find(
      (id) => id !== undefined && config.managers.get(id)?.active,
    );
    return {
      kind: 'message',
      leadId: open.leadId,
      ownerId: holder,
      score,
      assignment: {
        ...(holder ? { ownerId: holder } : {}),
        teamId: (holder && config.teamOf(holder)?.id) || capture.teamId,
        rule: 'conversation',
        strategy: 'sticky_owner',
        reason: holder
          ? 'A message of an open conversation: added to its lead, for its owner.'
          : 'A message of an open conversation: added to its lead, which waits in its team’s queue.',
      },
    };
  }

  const decision = evaluateRules({
    routing: config.routing,
    capture,
    score,
    now,
    teamHours: (teamId) => config.teams.get(teamId)?.businessHours,
  });
  const assignment = planAssignment({
    config,
    teamId: decision.teamId,
    ...(contact?.ownerId ? { ownerId: contact.ownerId } : {}),
    loads: input.loads,
    ...(input.cursor ? { cursor: input.cursor } : {}),
    now,
  });
  if (assignment.kind === 'needs_cursor') return assignment;

  const record: Assignment = {
    ...(assignment.kind === 'assigned' ? { ownerId: assignment.managerId } : {}),
    teamId: assignment.teamId,
    rule: decision.ruleId,
    strategy: assignment.kind === 'assigned' ? assignment.strategy : 'queue',
    reason: assignment.reason,
    priority: decision.priority,
    score,
    tags: decision.tags,
    candidates: assignment.candidates,
    ...(assignment.kind === 'assigned' && assignment.cursor !== undefined
      ? { cursor: assignment.cursor }
      : {}),
    ...(assignment.kind === 'assigned' && assignment.substitutedFor
      ? { substitutedFor: assignment.substitutedFor }
      : {}),
    ...(assignment.fallbackFrom && assignment.fallbackFrom.length > 0
      ? { fallbackFrom: [...assignment.fallbackFrom] }
      : {}),
  };
  // A substitution (the owner was unavailable) or a queued lead leaves the contact with its owner.
  const contactOwnerId =
    assignment.kind === 'queued' || assignment.substitutedFor !== undefined
      ? contact?.ownerId
      : assignment.managerId;
  return {
    kind: 'lead',
    decision,
    score,
    scoreReasons,
    assignment,
    record,
    contactOwnerId,
    acknowledge: acknowledgementDue(capture, contact),
  };
}

/**
 * The open lead this capture joins. A later event of one phone call (a voicemail recorded after the
 * call's final status callback) joins that call's lead, urgent or not; a new call has a new CallSid,
 * so a missed call still opens a lead of its own. Any other urgent capture opens a lead too. Otherwise
 * the lead of the capture's conversation whose last message is inside the window; an answered call
 * also continues the person's latest call, such as the team calling back a missed call.
 */
export function openConversation(
  input: Pick<PlanInput, 'capture' | 'config' | 'contact'>,
): { leadId: string; ownerId?: string | undefined } | undefined {
  const { capture, config } = input;
  const conversationId = capture.conversationId;
  const conversations = input.contact?.conversations ?? {};
  if (!conversationId || !CONVERSATIONAL.has(capture.channel)) return undefined;
  if (capture.channel === 'phone_call' && isCallConversation(conversationId)) {
    const call = conversations[conversationId];
    return call ? { leadId: call.leadId, ownerId: call.ownerId } : undefined;
  }
  if (capture.urgent) return undefined;
  const windowStart = Date.parse(capture.receivedAt) - config.channels.conversationWindowMinutes * 60_000;
  let open: { leadId: string; lastAt: string; ownerId?: string | undefined } | undefined;
  for (const [id, entry] of Object.entries(conversations)) {
    const continues = id === conversationId || (capture.channel === 'phone_call' && isCallConversation(id));
    if (!continues || Date.parse(entry.lastAt) < windowStart) continue;
    if (!open || entry.lastAt > open.lastAt) open = entry;
  }
  return open ? { leadId: open.leadId, ownerId: open.ownerId } : undefined;
}

/** A form lead with an email and consent gets an acknowledgement, at most one per contact a day. */
export function acknowledgementDue(capture: CaptureEvent, contact: ContactState | undefined): boolean {
  if (!capture.consent || !capture.contact.email) return false;
  const last = contact?.lastAcknowledgedAt;
  return !last || Date.parse(capture.receivedAt) - Date.parse(last) >= ACKNOWLEDGEMENT_INTERVAL_MS;
}
