import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  type CaptureEvent,
  CHANNELS,
  firstFollowUpTimers,
  identityKeys,
  type LeadflowConfig,
  type LeadPlan,
  leadFacts,
  MAX_OPEN_CONVERSATIONS,
  type ManagerLoad,
  type Notification,
  newLeadEvents,
  type OpenConversations,
  planConversationWrite,
  planRoute,
  type RoutePlan,
  type SlaRecord,
  slaTimerFor,
  startSlaClock,
  vouchedIdentities,
} from '@leadflow/core';
import {
  type ContactProfile,
  getProfile,
  isConditionalConflict,
  type MergeRecord,
  resolveContact,
} from './contacts';
import { recordAnalytics } from './crm/analytics';
import {
  type ConversationFragments,
  contactItem,
  counterItem,
  cursorItem,
  cursorItemSchema,
  interactionItem,
  interactionItemSchema,
  keys,
  leadItem,
  managerLoadItem,
  managerLoadItemSchema,
  parseItem,
} from './items';
import type { TimerScheduler } from './timers';

export interface RouterDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly config: LeadflowConfig;
  readonly newId: () => string;
  readonly enqueueNotifications: (notifications: readonly Notification[]) => Promise<void>;
  readonly clock?: () => Date;
  /** The timers queue: a new lead's follow-up sequence (and SLA clock) start beside its alert. */
  readonly timers?: TimerScheduler | undefined;
}

export interface RoutedLead {
  /** The lead this capture opened, or the open lead its message joined. */
  readonly leadId: string;
  readonly contactId: string;
  readonly assignment: Assignment;
  /** `lead`: a new lead; `message`: a message added to an open lead of the same conversation. */
  readonly mode: 'lead' | 'message';
  /** False when this capture had already been routed (a redelivery). */
  readonly createdNow: boolean;
  readonly merged?: MergeRecord;
  readonly notifications: readonly Notification[];
}

/**
 * Writes tried per delivery before it is left to the queue's retry. Each round of a race lets at least one
 * router commit; at a contact's conversation bound every concurrent new conversation competes for the
 * same oldest entry, so a handful of racers needs as many rounds.
 */
const ROUTE_ATTEMPTS = 6;

/** Channels whose captures can continue a conversation (a missed call is urgent and always opens a lead). */
const CONVERSATIONAL = new Set<CaptureEvent['channel']>(CHANNELS.filter((channel) => channel !== 'web_form'));

/**
 * Routes one capture: resolves (and if needed merges) the contact, reads the managers' loads, lets the
 * pure planner (`planRoute` in core) decide, drawing the team's cursor once if the plan asks for it, and
 * commits the plan: a message added to its conversation's open lead, or a lead with its first timeline
 * entry, its owner (or its team's queue) and the manager's load, in one transaction. Then it queues the
 * notifications. Safe to repeat: the timeline entry is keyed by the submission id, so a redelivery finds
 * it and only re-queues the same notifications, whose sends are idempotent.
 */
export async function routeCapture(deps: RouterDeps, capture: CaptureEvent): Promise<RoutedLead> {
  const { doc, tableName, config } = deps;
  const clock = (deps.clock ?? (() => new Date()))();
  const now = clock.toISOString();
  const interactionId = capture.submissionId;
  const [contact, initialLoads] = await Promise.all([
    resolveContact(doc, tableName, identityKeys(capture.contact, capture.handles), capture.contact, {
      newContactId: deps.newId,
      now,
      interactionId,
      occurredAt: capture.receivedAt,
      verified: vouchedIdentities(capture),
    }),
    readLoads(doc, tableName, [...config.managers.keys()]),
  ]);
  const contactId = contact.contactId;

  let routed = contact.created
    ? undefined
    : await getInteraction(doc, tableName, contactId, capture, interactionId);
  let createdNow = false;
  let profile = contact.profile;
  let loads = initialLoads;
  // Drawn at most once per team per delivery and reused by every retry, so a lost race skips no slot.
  const cursors = new Map<string, number>();
  for (let attempt = 1; !routed; attempt++) {
    const plan = await planWithCursor(deps, capture, profile, loads, clock, cursors);
    const target: RouteWrite = {
      capture,
      contactId,
      now,
      windowMinutes: config.channels.conversationWindowMinutes,
      conversations: profile?.conversations,
      previousOwner: profile?.ownerId,
      ...(contact.matchedBy ? { matchedBy: contact.matchedBy } : {}),
      ...(contact.linkedTo ? { linkedTo: contact.linkedTo } : {}),
      ...(plan.kind === 'message'
        ? {
            mode: 'message' as const,
            leadId: plan.leadId,
            assignment: plan.assignment,
            score: plan.score,
            acknowledge: false,
            // A lead still waiting in its queue takes the message without an alert: nobody holds it yet.
            notify: plan.ownerId ? [{ kind: 'message_alert' as const }] : [],
          }
        : {
            mode: 'lead' as const,
            leadId: interactionId,
            assignment: plan.record,
            acknowledge: plan.acknowledge,
            contactOwnerId: plan.contactOwnerId,
            notify: leadNotifications(config, plan),
            sla: newLeadClock(deps, capture, plan.record),
          }),
    };
    if (
      await write(() =>
        target.mode === 'message' ? writeMessage(doc, tableName, target) : writeLead(doc, tableName, target),
      )
    ) {
      routed = target;
      createdNow = true;
      break;
    }
    // Lost a race: a concurrent delivery of this capture won, another capture set the owner or opened the
    // conversation first, retired the same oldest conversation, or the contact is being merged. Re-read
    // and decide again (with the same cursor).
    routed = await getInteraction(doc, tableName, contactId, capture, interactionId);
    if (routed || attempt >= ROUTE_ATTEMPTS) break;
    [profile, loads] = await Promise.all([
      getProfile(doc, tableName, contactId),
      readLoads(doc, tableName, [...config.managers.keys()]),
    ]);
  }
  if (!routed) throw new Error('The contact kept changing while routing; the message will be retried');

  const base = {
    leadId: routed.leadId,
    contactId,
    capture,
    assignment: routed.assignment,
    returning: !contact.created,
    ...(contact.linkedTo ? { possibleDuplicateOf: contact.linkedTo } : {}),
  };
  const notifications: Notification[] = routed.notify.map((note) =>
    note.kind === 'team_warning'
      ? {
          kind: 'team_warning',
          notificationId: `${interactionId}:team_warning:${note.recipientId}`,
          recipientId: note.recipientId,
          warning: note.warning,
          ...base,
        }
      : { kind: note.kind, notificationId: `${interactionId}:${note.kind}`, ...base },
  );
  const counting =
    createdNow && routed.mode === 'lead'
      ? countLead(doc, tableName, routed as RouteWrite, config.timeZone)
      : createdNow
        ? countDaily(doc, tableName, capture, 'messages')
        : Promise.resolve();
  // A form lead with consent starts its follow-up sequence (again on a redelivery: a timer whose step was
  // recorded does nothing).
  const followUps =
    routed.mode === 'lead' && deps.timers
      ? firstFollowUpTimers(
          config.followUps,
          { capture, leadId: routed.leadId, contactId, rule: routed.assignment.rule },
          deps.timers.timeScale,
        )
      : [];
  // The alert first: the counts go beside it, and both settle before the capture is acknowledged.
  const enqueued = deps.enqueueNotifications(notifications);
  // The owner's SLA clock (written with the lead) wakes up beside the alert, never before it; a redelivery
  // schedules the same first step again, which does nothing once the clock moved on.
  const slaTimer =
    routed.mode === 'lead' && deps.timers
      ? slaTimerFor({ leadId: routed.leadId, contactId }, newLeadClock(deps, capture, routed.assignment))
      : undefined;
  const [sent, counted, scheduled, clocked] = await Promise.allSettled([
    enqueued,
    counting,
    followUps.length > 0 && deps.timers
      ? enqueued.then(() => deps.timers?.schedule(followUps))
      : Promise.resolve(),
    slaTimer && deps.timers ? enqueued.then(() => deps.timers?.schedule([slaTimer])) : Promise.resolve(),
  ]);
  if (sent.status === 'rejected') throw sent.reason;
  if (counted.status === 'rejected') throw counted.reason;
  if (scheduled.status === 'rejected') throw scheduled.reason;
  if (clocked.status === 'rejected') throw clocked.reason;
  // After the alert is on its way: a message that scores higher raises its lead's score.
  if (createdNow && routed.mode === 'message' && routed.score !== undefined) {
    await raiseScore(doc, tableName, contactId, routed.leadId, routed.score);
  }
  return {
    leadId: routed.leadId,
    contactId,
    assignment: routed.assignment,
    mode: routed.mode,
    createdNow,
    notifications,
    ...(contact.merged ? { merged: contact.merged } : {}),
  };
}

/** Plans the capture, drawing the cursor of the team the plan asks for (once per team per delivery). */
async function planWithCursor(
  deps: RouterDeps,
  capture: CaptureEvent,
  profile: ContactProfile | undefined,
  loads: Record<string, ManagerLoad>,
  now: Date,
  cursors: Map<string, number>,
): Promise<Exclude<RoutePlan, { kind: 'needs_cursor' }>> {
  let cursor: { teamId: string; value: number } | undefined;
  for (let round = 0; round < 4; round++) {
    const plan = planRoute({
      capture,
      config: deps.config,
      contact: profile && {
        ownerId: profile.ownerId,
        conversations: profile.conversations,
        lastAcknowledgedAt: profile.lastAcknowledgedAt,
        lastLeadAt: profile.lastLeadAt,
      },
      loads,
      cursor,
      now,
    });
    if (plan.kind !== 'needs_cursor') return plan;
    let value = cursors.get(plan.teamId);
    if (value === undefined) {
      value = await nextCursor(deps.doc, deps.tableName, plan.teamId);
      cursors.set(plan.teamId, value);
    }
    cursor = { teamId: plan.teamId, value };
  }
  throw new Error(`The routing plan for ${capture.submissionId} kept asking for a cursor`);
}

/**
 * A new lead's SLA clock, from its capture time, for the owner routing gave it (none while it waits in a
 * queue, nor without a timers queue to wake it).
 */
function newLeadClock(
  deps: RouterDeps,
  capture: CaptureEvent,
  assignment: Assignment,
): SlaRecord | undefined {
  if (!deps.timers) return undefined;
  return startSlaClock({
    lead: {
      priority: assignment.priority ?? (capture.urgent ? 'urgent' : 'normal'),
      teamId: assignment.teamId,
      rule: assignment.rule,
      ownerId: assignment.ownerId,
      status: 'new',
    },
    sla: deps.config.sla,
    team: deps.config.teams.get(assignment.teamId),
    start: new Date(capture.receivedAt),
    reason: 'created',
    scale: deps.timers.timeScale,
  });
}

/** The notifications of a new lead: its owner's alert (or the team lead's warning), the acknowledgement. */
function leadNotifications(config: LeadflowConfig, plan: LeadPlan): Notify[] {
  const notify: Notify[] = [];
  if (plan.assignment.kind === 'assigned') notify.push({ kind: 'manager_alert' });
  // Nobody was available: the lead waits in the queue, or went to a fallback team. Either way the team lead
  // of the team that had nobody hears of it.
  const warned =
    plan.assignment.kind === 'queued' ? [plan.assignment.teamId] : (plan.assignment.fallbackFrom ?? []);
  for (const teamId of warned) {
    const lead = config.teams.get(teamId)?.teamLead;
    if (lead && !notify.some((note) => note.kind === 'team_warning' && note.recipientId === lead)) {
      notify.push({
        kind: 'team_warning',
        recipientId: lead,
        warning: plan.assignment.kind === 'queued' ? 'queued' : 'fallback',
      });
    }
  }
  if (plan.acknowledge) notify.push({ kind: 'acknowledgement' });
  return notify;
}

/** Sets a lead's score to `score` if that is higher than the score it has (scores only go up). */
async function raiseScore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
  leadId: string,
  score: number,
): Promise<void> {
  try {
    await doc.send(
      new UpdateCommand({
        TableName: tableName,
        ...leadItem.raiseScore(contactId, leadId, score),
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** The managers' open-lead counts and last assignments, as maintained on write (never scanned). */
export async function readLoads(
  doc: DynamoDBDocumentClient,
  tableName: string,
  managerIds: readonly string[],
): Promise<Record<string, ManagerLoad>> {
  const loads: Record<string, ManagerLoad> = {};
  for (let index = 0; index < managerIds.length; index += 100) {
    const chunk = managerIds.slice(index, index + 100);
    let request: Record<string, { Keys: Record<string, string>[]; ConsistentRead: boolean }> | undefined = {
      [tableName]: { Keys: chunk.map((id) => keys.managerLoad(id)), ConsistentRead: true },
    };
    for (let round = 0; request && round < 5; round++) {
      const result: BatchGetCommandOutput = await doc.send(new BatchGetCommand({ RequestItems: request }));
      for (const raw of result.Responses?.[tableName] ?? []) {
        const item = parseItem(managerLoadItemSchema, raw);
        loads[item.managerId] = {
          openLeads: item.openLeads,
          ...(item.lastAssignedAt ? { lastAssignedAt: item.lastAssignedAt } : {}),
        };
      }
      const unprocessed = result.UnprocessedKeys?.[tableName];
      request =
        unprocessed?.Keys && unprocessed.Keys.length > 0
          ? { [tableName]: { Keys: unprocessed.Keys as Record<string, string>[], ConsistentRead: true } }
          : undefined;
      // Throttled: back off (with jitter) before asking for the rest again.
      if (request) await new Promise((done) => setTimeout(done, 2 ** round * 20 + Math.random() * 20));
    }
    // A load left unread would count as zero open leads and bypass capacity: retry the message instead.
    if (request)
      throw new Error('Could not read every manager load (throttled); the capture will be retried');
  }
  return loads;
}

/** Runs a routing transaction; false when it lost a conditional race (the caller re-reads). */
async function write(transaction: () => Promise<void>): Promise<boolean> {
  try {
    await transaction();
    return true;
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    if (isConditionalConflict(error)) return false;
    // Another transaction held one of the items (the same contact, routed by two groups at once): a short,
    // jittered pause, then the caller re-reads and tries again rather than waiting out the visibility timeout.
    if (error.CancellationReasons?.some((reason) => reason.Code === 'TransactionConflict')) {
      await new Promise((done) => setTimeout(done, 5 + Math.random() * 20));
      return false;
    }
    throw error;
  }
}

type Notify =
  | { kind: 'manager_alert' | 'message_alert' | 'acknowledgement' }
  | { kind: 'team_warning'; recipientId: string; warning: 'queued' | 'fallback' };

/** What a routed capture became, as written on its timeline entry (what a redelivery re-reads). */
interface Routed {
  readonly mode: 'lead' | 'message';
  readonly leadId: string;
  readonly assignment: Assignment;
  readonly acknowledge: boolean;
  readonly notify: readonly Notify[];
  /** A message's own score (a new lead's score is on its assignment). */
  readonly score?: number;
}

async function getInteraction(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
  capture: CaptureEvent,
  interactionId: string,
): Promise<Routed | undefined> {
  const { Item } = await doc.send(
    new GetCommand({
      TableName: tableName,
      Key: keys.interaction(contactId, capture.receivedAt, interactionId),
      ConsistentRead: true,
    }),
  );
  if (!Item) return undefined;
  const item = parseItem(interactionItemSchema, Item);
  return {
    mode: item.mode,
    leadId: item.leadId,
    assignment: item.assignment,
    acknowledge: item.acknowledge,
    // Entries written before notifications were recorded: the alert, and the acknowledgement if due.
    notify:
      item.notify ??
      (item.mode === 'message'
        ? [{ kind: 'message_alert' }]
        : [{ kind: 'manager_alert' }, ...(item.acknowledge ? [{ kind: 'acknowledgement' as const }] : [])]),
  };
}

/** Atomically draws the team's next round-robin position (1, 2, 3, …). */
export async function nextCursor(
  doc: DynamoDBDocumentClient,
  tableName: string,
  teamId: string,
): Promise<number> {
  const { Attributes } = await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...cursorItem.draw(teamId),
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return parseItem(cursorItemSchema, { ...keys.cursor(teamId), ...Attributes }).position;
}

interface RouteWrite extends Routed {
  readonly capture: CaptureEvent;
  readonly contactId: string;
  readonly now: string;
  /** The contact's owner as read: the owner may change only from this one (or from none). */
  readonly previousOwner?: string | undefined;
  /** The owner the contact has after this lead (unchanged for a substitution or a queued lead). */
  readonly contactOwnerId?: string | undefined;
  /** How the capture found its contact (which identity, verified or claimed), and a possible duplicate. */
  readonly matchedBy?: unknown;
  readonly linkedTo?: string | undefined;
  readonly windowMinutes: number;
  /** The contact's open conversations as read: what the bound is decided on. */
  readonly conversations?: OpenConversations | undefined;
  /** A new lead's SLA clock, written with it. */
  readonly sla?: SlaRecord | undefined;
}

function interactionOf(write: RouteWrite) {
  const { capture, contactId, leadId, assignment, mode, acknowledge, notify } = write;
  return {
    ...keys.interaction(contactId, capture.receivedAt, capture.submissionId),
    type: 'interaction',
    interactionId: capture.submissionId,
    leadId,
    mode,
    assignment,
    acknowledge,
    notify,
    ...(write.matchedBy ? { matchedBy: write.matchedBy } : {}),
    ...(write.linkedTo ? { possibleDuplicateOf: write.linkedTo } : {}),
    channel: capture.channel,
    direction: 'inbound',
    occurredAt: capture.receivedAt,
    summary: summarize(capture),
    ...(capture.externalId ? { externalId: capture.externalId } : {}),
    ...(capture.conversationId ? { conversationId: capture.conversationId } : {}),
    ...(capture.message ? { message: capture.message } : {}),
    ...(capture.call ? { call: capture.call } : {}),
    ...(capture.email ? { email: capture.email } : {}),
  };
}

/**
 * The conversation map entry, set only when the capture belongs to a conversation, and the oldest open
 * conversations it retires so the map stays within `MAX_OPEN_CONVERSATIONS`, each recorded on the
 * timeline in the same transaction (so a redelivery, which finds the capture's entry, records nothing).
 */
function conversationUpdate(write: RouteWrite): ConversationFragments & {
  /** Timeline entries of the retirements, to put in the same transaction. */
  entries: Record<string, unknown>[];
} {
  const { capture } = write;
  if (!capture.conversationId) {
    return { expression: '', remove: '', condition: '', names: {}, values: {}, entries: [] };
  }
  const plan = planConversationWrite(write.conversations, capture.conversationId);
  return {
    ...contactItem.conversation({
      conversationId: capture.conversationId,
      // A new lead's conversation has no open lead (a concurrent message may have opened it).
      guarded: write.mode === 'lead' && CONVERSATIONAL.has(capture.channel) && !capture.urgent,
      windowStart: new Date(Date.parse(capture.receivedAt) - write.windowMinutes * 60_000).toISOString(),
      isNew: plan.isNew,
      retire: plan.retire,
      maxSizeBefore: plan.maxSizeBefore,
      // Who holds the lead travels with its conversation, so the next message reaches them.
      value: {
        leadId: write.leadId,
        lastAt: capture.receivedAt,
        ...(write.assignment.ownerId ? { ownerId: write.assignment.ownerId } : {}),
      },
    }),
    entries: plan.retire.map((conversationId) =>
      retirementEntry(write, conversationId, write.conversations?.[conversationId], plan.size),
    ),
  };
}

/** The timeline entry of an open conversation retired to keep the contact within its bound. */
function retirementEntry(
  write: RouteWrite,
  conversationId: string,
  retired: { leadId: string; lastAt: string } | undefined,
  open: number,
) {
  const { capture, contactId } = write;
  const interactionId = `${capture.submissionId}:retired:${conversationId}`;
  return interactionItem.system({
    contactId,
    occurredAt: capture.receivedAt,
    interactionId,
    event: 'conversation_retired',
    retired: { conversationId, ...retired },
    summary: `Conversation ${conversationId} retired: the contact has ${open} open conversations, at most ${MAX_OPEN_CONVERSATIONS} are kept; a new message in it opens a new lead`,
  });
}

/**
 * One transaction: the lead, its first timeline interaction and the contact's owner (set only if
 * unset or already this owner) and open conversation (retiring the oldest past the bound). All or
 * nothing. Then the daily counter, the owner's load and the analytics (captured, assigned).
 */
async function writeLead(doc: DynamoDBDocumentClient, tableName: string, write: RouteWrite): Promise<void> {
  const { capture, leadId, contactId, assignment, now } = write;
  const ownerId = assignment.ownerId;
  const conversation = conversationUpdate(write);
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            ...leadItem.put(contactId, leadId, {
              type: 'lead',
              leadId,
              contactId,
              status: 'new',
              channel: capture.channel,
              sourceId: capture.sourceId,
              teamId: assignment.teamId,
              ...(ownerId ? { ownerId } : { queuedAt: now }),
              assignment,
              rule: assignment.rule,
              ...(write.matchedBy ? { matchedBy: write.matchedBy } : {}),
              ...(write.linkedTo ? { possibleDuplicateOf: write.linkedTo } : {}),
              priority: assignment.priority ?? (capture.urgent ? 'urgent' : 'normal'),
              score: assignment.score ?? 0,
              tags: assignment.tags ?? [],
              urgent: capture.urgent,
              capturedAt: capture.receivedAt,
              lastMessageAt: capture.receivedAt,
              messageCount: 1,
              createdAt: now,
              capture,
              // A manager's leads by their owner index; a queued lead by its team's queue, oldest first.
              gsi1pk: ownerId ? keys.owner(ownerId) : keys.queue(assignment.teamId),
              gsi1sk: keys.leadIndexSk(capture.receivedAt, leadId),
              // Its team's leads (team leads, admins), a read by id, and its team's open leads by last touch.
              gsi2pk: keys.team(assignment.teamId),
              gsi2sk: keys.leadIndexSk(capture.receivedAt, leadId),
              ...keys.leadRef(leadId),
              gsi4pk: keys.open(assignment.teamId),
              gsi4sk: keys.openSk(now, leadId),
              touchedAt: now,
              version: 1,
              ...(write.sla ? { sla: write.sla } : {}),
            }),
          },
        },
        {
          Put: {
            TableName: tableName,
            ...interactionItem.put(interactionOf(write)),
          },
        },
        {
          Update: {
            TableName: tableName,
            ...contactItem.leadWritten({
              contactId,
              // The contact's owner changes only to the plan's (never for a substitution or a queued lead), and
              // only from the owner the plan was made with: a concurrent lead that set one first re-plans.
              previousOwner: write.previousOwner,
              contactOwnerId: write.contactOwnerId,
              receivedAt: capture.receivedAt,
              now,
              acknowledge: write.acknowledge,
              channel: capture.channel,
              sourceId: capture.sourceId,
              hasConversation: Boolean(capture.conversationId),
              conversation,
            }),
          },
        },
        ...conversation.entries.map((Item) => ({ Put: { TableName: tableName, Item } })),
      ],
    }),
  );
}

/**
 * The counts of a lead just written. Outside the transaction, all: every lead of a channel and day touches
 * the daily counter and the day's analytics items, and every lead of a manager their load, so in the
 * transaction concurrent routers would cancel each other (TransactionConflict) and hold the person's FIFO
 * group back. They run beside the alert's enqueue, never before it, so counting costs speed to lead nothing;
 * a crash between the transaction and here undercounts by one.
 */
async function countLead(
  doc: DynamoDBDocumentClient,
  tableName: string,
  write: RouteWrite,
  timeZone: string,
) {
  const { capture, assignment, now } = write;
  const ownerId = assignment.ownerId;
  await Promise.all([
    countDaily(doc, tableName, capture, 'leads'),
    ...(ownerId ? [countLoad(doc, tableName, ownerId, now)] : []),
    recordAnalytics(
      doc,
      tableName,
      newLeadEvents(
        leadFacts({ capturedAt: capture.receivedAt, teamId: assignment.teamId, ownerId, capture }),
      ),
      timeZone,
    ),
  ]);
}

/** A manager's open leads, counted on write for least-loaded assignment and capacity; never scanned. */
async function countLoad(doc: DynamoDBDocumentClient, tableName: string, managerId: string, now: string) {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...managerLoadItem.assigned(managerId, now),
    }),
  );
}

/**
 * One transaction: the message's timeline interaction, the open lead's activity, the conversation's clock
 * (and any conversation it retires).
 */
async function writeMessage(
  doc: DynamoDBDocumentClient,
  tableName: string,
  write: RouteWrite,
): Promise<void> {
  const { capture, leadId, contactId, now } = write;
  const conversation = conversationUpdate(write);
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            ...interactionItem.put(interactionOf(write)),
          },
        },
        {
          Update: {
            TableName: tableName,
            ...leadItem.messageAdded(contactId, leadId, capture.receivedAt),
          },
        },
        {
          Update: {
            TableName: tableName,
            ...contactItem.messageWritten({
              contactId,
              now,
              hasConversation: Boolean(capture.conversationId),
              conversation,
            }),
          },
        },
        ...conversation.entries.map((Item) => ({ Put: { TableName: tableName, Item } })),
      ],
    }),
  );
}

async function countDaily(
  doc: DynamoDBDocumentClient,
  tableName: string,
  capture: CaptureEvent,
  counter: 'leads' | 'messages',
): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...counterItem.channel(capture, counter),
    }),
  );
}

/** A one-line summary for the timeline; never the whole message. */
export function summarize(capture: CaptureEvent): string {
  const call = capture.call
    ? ` ${capture.call.missed ? 'missed call' : 'call'} (${capture.call.status}${
        capture.call.durationSeconds === undefined ? '' : `, ${capture.call.durationSeconds} s`
      })`
    : '';
  const subject = capture.email?.subject ? ` "${capture.email.subject}"` : '';
  const text = (capture.message ?? '').replace(/\s+/g, ' ').trim();
  const head = `${capture.channel} ${capture.sourceId}${call}${subject}`;
  return text ? `${head}: ${text.length > 120 ? `${text.slice(0, 119)}…` : text}` : head;
}
