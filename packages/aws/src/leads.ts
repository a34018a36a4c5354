import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Assignment,
  type CaptureEvent,
  CHANNELS,
  identityKeys,
  isCallConversation,
  type LeadflowConfig,
  MAX_OPEN_CONVERSATIONS,
  type Notification,
  type OpenConversations,
  planConversationWrite,
  roundRobin,
  stickyOwner,
} from '@leadflow/core';
import {
  type ContactProfile,
  getProfile,
  isConditionalConflict,
  type MergeRecord,
  NOT_MERGING,
  resolveContact,
} from './contacts';
import { dayOf, keys } from './keys';

export interface RouterDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly config: LeadflowConfig;
  readonly newId: () => string;
  readonly enqueueNotifications: (notifications: readonly Notification[]) => Promise<void>;
  readonly clock?: () => Date;
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
 * Routes one capture: resolves (and if needed merges) the contact, then either adds the message to the
 * open lead of its conversation (inside the configured window) or creates a lead with its first timeline
 * entry and an owner (sticky owner, else round robin on an atomic cursor), records why, and queues the
 * notifications. Safe to repeat: the timeline entry is keyed by the submission id, so a redelivery finds
 * it and only re-queues the same notifications, whose sends are idempotent.
 */
export async function routeCapture(deps: RouterDeps, capture: CaptureEvent): Promise<RoutedLead> {
  const { doc, tableName } = deps;
  const now = (deps.clock ?? (() => new Date()))().toISOString();
  const interactionId = capture.submissionId;
  const contact = await resolveContact(
    doc,
    tableName,
    identityKeys(capture.contact, capture.handles),
    capture.contact,
    { newContactId: deps.newId, now, interactionId, occurredAt: capture.receivedAt },
  );
  const contactId = contact.contactId;

  let routed = contact.created
    ? undefined
    : await getInteraction(doc, tableName, contactId, capture, interactionId);
  let createdNow = false;
  let profile = contact.profile;
  for (let attempt = 1; !routed; attempt++) {
    // A sticky owner who left the team (removed or inactive in the config) no longer gets leads.
    const previousOwner = profile?.ownerId;
    const ownerId =
      previousOwner && deps.config.managers.get(previousOwner)?.active ? previousOwner : undefined;
    const open = ownerId ? openConversation(deps.config, capture, profile) : undefined;
    const next: Routed =
      open && ownerId
        ? {
            mode: 'message',
            leadId: open.leadId,
            assignment: stickyOwner(ownerId, capture.teamId),
            acknowledge: false,
          }
        : {
            mode: 'lead',
            leadId: interactionId,
            assignment: ownerId
              ? stickyOwner(ownerId, capture.teamId)
              : roundRobin(
                  deps.config.team(capture.teamId),
                  await nextCursor(doc, tableName, capture.teamId),
                  previousOwner,
                ),
            acknowledge: acknowledgementDue(capture, profile),
          };
    const target = {
      capture,
      contactId,
      now,
      previousOwner,
      windowMinutes: deps.config.channels.conversationWindowMinutes,
      conversations: profile?.conversations,
      ...next,
    };
    if (
      await write(() =>
        next.mode === 'message' ? writeMessage(doc, tableName, target) : writeLead(doc, tableName, target),
      )
    ) {
      routed = next;
      createdNow = true;
      break;
    }
    // Lost a race: a concurrent delivery of this capture won, another capture set the owner or opened the
    // conversation first, retired the same oldest conversation, or the contact is being merged. Re-read
    // and decide again.
    routed = await getInteraction(doc, tableName, contactId, capture, interactionId);
    if (routed || attempt >= ROUTE_ATTEMPTS) break;
    profile = await getProfile(doc, tableName, contactId);
  }
  if (!routed) throw new Error('The contact kept changing while routing; the message will be retried');

  const base = {
    leadId: routed.leadId,
    contactId,
    capture,
    assignment: routed.assignment,
    returning: !contact.created,
  };
  const notifications: Notification[] =
    routed.mode === 'message'
      ? [{ kind: 'message_alert', notificationId: `${interactionId}:message_alert`, ...base }]
      : [{ kind: 'manager_alert', notificationId: `${interactionId}:manager_alert`, ...base }];
  if (routed.mode === 'lead' && routed.acknowledge) {
    notifications.push({
      kind: 'acknowledgement',
      notificationId: `${interactionId}:acknowledgement`,
      ...base,
    });
  }
  await deps.enqueueNotifications(notifications);
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

/** Runs a routing transaction; false when it lost a conditional race (the caller re-reads). */
async function write(transaction: () => Promise<void>): Promise<boolean> {
  try {
    await transaction();
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException && isConditionalConflict(error)) return false;
    throw error;
  }
}

/**
 * The open lead this capture joins. A later event of one phone call (a voicemail recorded after the
 * call's final status callback) joins that call's lead, urgent or not; a new call has a new CallSid,
 * so a missed call still opens a lead of its own. Any other urgent capture opens a lead too. Otherwise
 * the lead of the capture's conversation whose last message is inside the window; an answered call
 * also continues the person's latest call, such as the team calling back a missed call.
 */
export function openConversation(
  config: LeadflowConfig,
  capture: CaptureEvent,
  profile: ContactProfile | undefined,
): { leadId: string } | undefined {
  const conversationId = capture.conversationId;
  const conversations = profile?.conversations ?? {};
  if (!conversationId || !CONVERSATIONAL.has(capture.channel)) return undefined;
  if (capture.channel === 'phone_call' && isCallConversation(conversationId)) {
    const call = conversations[conversationId];
    return call ? { leadId: call.leadId } : undefined;
  }
  if (capture.urgent) return undefined;
  const windowStart = Date.parse(capture.receivedAt) - config.channels.conversationWindowMinutes * 60_000;
  let open: { leadId: string; lastAt: string } | undefined;
  for (const [id, entry] of Object.entries(conversations)) {
    const continues = id === conversationId || (capture.channel === 'phone_call' && isCallConversation(id));
    if (!continues || Date.parse(entry.lastAt) < windowStart) continue;
    if (!open || entry.lastAt > open.lastAt) open = entry;
  }
  return open ? { leadId: open.leadId } : undefined;
}

type Routed = { mode: 'lead' | 'message'; leadId: string; assignment: Assignment; acknowledge: boolean };

/** One acknowledgement per contact a day: a form cannot be used to mail-bomb an address. */
const ACK_INTERVAL_MS = 24 * 60 * 60 * 1000;

function acknowledgementDue(capture: CaptureEvent, profile: ContactProfile | undefined): boolean {
  if (!capture.consent || !capture.contact.email) return false;
  const last = profile?.lastAcknowledgedAt;
  return !last || Date.parse(capture.receivedAt) - Date.parse(last) >= ACK_INTERVAL_MS;
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
  return {
    mode: Item.mode ?? 'lead',
    leadId: Item.leadId,
    assignment: Item.assignment,
    acknowledge: Item.acknowledge === true,
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
      Key: keys.cursor(teamId),
      UpdateExpression: 'ADD #position :one',
      ExpressionAttributeNames: { '#position': 'position' },
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(Attributes?.position);
}

interface RouteWrite extends Routed {
  readonly capture: CaptureEvent;
  readonly contactId: string;
  readonly now: string;
  /** The owner being replaced because they left the team, if any. */
  readonly previousOwner?: string | undefined;
  readonly windowMinutes: number;
  /** The contact's open conversations as read: what the bound is decided on. */
  readonly conversations?: OpenConversations | undefined;
}

function interactionItem(write: RouteWrite) {
  const { capture, contactId, leadId, assignment, mode, acknowledge } = write;
  return {
    ...keys.interaction(contactId, capture.receivedAt, capture.submissionId),
    type: 'interaction',
    interactionId: capture.submissionId,
    leadId,
    mode,
    assignment,
    acknowledge,
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
function conversationUpdate(write: RouteWrite): {
  expression: string;
  /** ` REMOVE …` of the retired conversations, or empty. */
  remove: string;
  /**
   * The map is as read where it matters: a new lead's conversation has no open lead (a concurrent message
   * may have opened it), and no concurrent capture grew the map past what the retirements allow for.
   */
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
  /** Timeline entries of the retirements, to put in the same transaction. */
  entries: Record<string, unknown>[];
} {
  const { capture } = write;
  if (!capture.conversationId) {
    return { expression: '', remove: '', condition: '', names: {}, values: {}, entries: [] };
  }
  const guarded = write.mode === 'lead' && CONVERSATIONAL.has(capture.channel) && !capture.urgent;
  const windowStart = new Date(Date.parse(capture.receivedAt) - write.windowMinutes * 60_000).toISOString();
  const plan = planConversationWrite(write.conversations, capture.conversationId);
  const names: Record<string, string> = { '#conversation': capture.conversationId };
  const conditions = [
    ...(guarded
      ? [
          '(attribute_not_exists(conversations.#conversation) OR conversations.#conversation.lastAt < :windowStart)',
        ]
      : []),
    // Counted as already there: it must still be, or the write would grow the map after all.
    ...(plan.isNew ? [] : ['attribute_exists(conversations.#conversation)']),
    'size(conversations) <= :conversationsBefore',
  ];
  plan.retire.forEach((conversationId, index) => {
    names[`#retired${index}`] = conversationId;
    conditions.push(`attribute_exists(conversations.#retired${index})`);
  });
  return {
    expression: ', conversations.#conversation = :conversation',
    remove:
      plan.retire.length > 0
        ? ` REMOVE ${plan.retire.map((_, index) => `conversations.#retired${index}`).join(', ')}`
        : '',
    condition: conditions.map((condition) => ` AND ${condition}`).join(''),
    names,
    values: {
      ':conversation': { leadId: write.leadId, lastAt: capture.receivedAt },
      ':conversationsBefore': plan.maxSizeBefore,
      ...(guarded ? { ':windowStart': windowStart } : {}),
    },
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
  return {
    ...keys.interaction(contactId, capture.receivedAt, interactionId),
    type: 'interaction',
    interactionId,
    channel: 'system',
    direction: 'internal',
    occurredAt: capture.receivedAt,
    event: 'conversation_retired',
    retired: { conversationId, ...retired },
    summary: `Conversation ${conversationId} retired: the contact has ${open} open conversations, at most ${MAX_OPEN_CONVERSATIONS} are kept; a new message in it opens a new lead`,
  };
}

/**
 * One transaction: the lead, its first timeline interaction and the contact's owner (set only if
 * unset or already this owner) and open conversation (retiring the oldest past the bound). All or
 * nothing. Then the daily counter.
 */
async function writeLead(doc: DynamoDBDocumentClient, tableName: string, write: RouteWrite): Promise<void> {
  const { capture, leadId, contactId, assignment, now } = write;
  const ownerKey = keys.owner(assignment.ownerId);
  const conversation = conversationUpdate(write);
  const acknowledged = write.acknowledge ? ', lastAcknowledgedAt = :at' : '';
  await doc.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: tableName,
            Item: {
              ...keys.lead(contactId, leadId),
              type: 'lead',
              leadId,
              contactId,
              status: 'new',
              channel: capture.channel,
              sourceId: capture.sourceId,
              teamId: capture.teamId,
              ownerId: assignment.ownerId,
              assignment,
              urgent: capture.urgent,
              capturedAt: capture.receivedAt,
              lastMessageAt: capture.receivedAt,
              messageCount: 1,
              createdAt: now,
              capture,
              gsi1pk: ownerKey,
              gsi1sk: `LEAD#${capture.receivedAt}#${leadId}`,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: tableName,
            Item: interactionItem(write),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: keys.contact(contactId),
            UpdateExpression: `SET ownerId = :owner, gsi1pk = :ownerKey, gsi1sk = if_not_exists(gsi1sk, :contactSk), lastLeadAt = :at, updatedAt = :now${conversation.expression}${acknowledged}${conversation.remove} ADD leadCount :one`,
            // The owner may be set only if unset, already this owner, or the one who left the team;
            // never while the contact is being merged into another.
            ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING} AND (attribute_not_exists(ownerId) OR ownerId = :owner${
              write.previousOwner ? ' OR ownerId = :previousOwner' : ''
            })${conversation.condition}`,
            ...(capture.conversationId ? { ExpressionAttributeNames: conversation.names } : {}),
            ExpressionAttributeValues: {
              ...(write.previousOwner ? { ':previousOwner': write.previousOwner } : {}),
              ':owner': assignment.ownerId,
              ':ownerKey': ownerKey,
              ':contactSk': `CONTACT#${now}`,
              ':at': capture.receivedAt,
              ':now': now,
              ':one': 1,
              ...conversation.values,
            },
          },
        },
        ...conversation.entries.map((Item) => ({ Put: { TableName: tableName, Item } })),
      ],
    }),
  );
  // Outside the transaction: every lead of a channel and day touches this one item, and in a transaction
  // concurrent routers would cancel each other (TransactionConflict). A crash right here undercounts by one.
  await countDaily(doc, tableName, capture, 'leads');
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
            Item: interactionItem(write),
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: keys.lead(contactId, leadId),
            UpdateExpression: 'SET lastMessageAt = :at ADD messageCount :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':at': capture.receivedAt, ':one': 1 },
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: keys.contact(contactId),
            UpdateExpression: `SET updatedAt = :now${conversation.expression}${conversation.remove}`,
            ConditionExpression: `attribute_exists(pk) AND ${NOT_MERGING}${conversation.condition}`,
            ...(capture.conversationId ? { ExpressionAttributeNames: conversation.names } : {}),
            ExpressionAttributeValues: { ':now': now, ...conversation.values },
          },
        },
        ...conversation.entries.map((Item) => ({ Put: { TableName: tableName, Item } })),
      ],
    }),
  );
  await countDaily(doc, tableName, capture, 'messages');
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
      Key: keys.stats(`CHANNEL#${capture.channel}`, dayOf(capture.receivedAt)),
      UpdateExpression: 'ADD #counter :one',
      ExpressionAttributeNames: { '#counter': counter },
      ExpressionAttributeValues: { ':one': 1 },
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
