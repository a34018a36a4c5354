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
  type LeadflowConfig,
  type Notification,
  roundRobin,
  stickyOwner,
} from '@leadflow/core';
import { isConditionalConflict, resolveContact } from './contacts';
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
  readonly leadId: string;
  readonly contactId: string;
  readonly assignment: Assignment;
  /** False when this capture had already been routed (a redelivery). */
  readonly createdNow: boolean;
  readonly notifications: readonly Notification[];
}

/**
 * Routes one capture: resolves the contact, creates the lead and its first timeline entry, assigns
 * an owner (sticky owner, else round robin on an atomic cursor), records why, and queues the
 * notifications. Safe to repeat: the lead id is the submission id, so a redelivery finds the lead
 * and only re-queues the same notifications, whose sends are idempotent.
 */
export async function routeCapture(deps: RouterDeps, capture: CaptureEvent): Promise<RoutedLead> {
  const { doc, tableName } = deps;
  const now = (deps.clock ?? (() => new Date()))().toISOString();
  const leadId = capture.submissionId;
  const contact = await resolveContact(doc, tableName, capture.contact, { newContactId: deps.newId, now });

  let assignment: Assignment;
  let createdNow = false;
  // A contact created just now has no owner and no leads; otherwise read both at once.
  const [existing, ownerId] = contact.created
    ? [undefined, undefined]
    : await Promise.all([
        getLead(doc, tableName, contact.contactId, leadId),
        getOwner(doc, tableName, contact.contactId),
      ]);
  if (existing) {
    assignment = existing.assignment;
  } else {
    assignment = ownerId
      ? stickyOwner(ownerId, capture.teamId)
      : roundRobin(deps.config.team(capture.teamId), await nextCursor(doc, tableName, capture.teamId));
    try {
      await writeLead(doc, tableName, { capture, leadId, contactId: contact.contactId, assignment, now });
      createdNow = true;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException) || !isConditionalConflict(error)) throw error;
      // Either a concurrent delivery wrote this lead, or another lead claimed the owner first.
      const raced = await getLead(doc, tableName, contact.contactId, leadId);
      if (raced) assignment = raced.assignment;
      else {
        const owner = await getOwner(doc, tableName, contact.contactId);
        if (!owner) throw error;
        assignment = stickyOwner(owner, capture.teamId);
        await writeLead(doc, tableName, { capture, leadId, contactId: contact.contactId, assignment, now });
        createdNow = true;
      }
    }
  }

  const base = {
    leadId,
    contactId: contact.contactId,
    capture,
    assignment,
    returning: !contact.created,
  };
  const notifications: Notification[] = [
    { kind: 'manager_alert', notificationId: `${leadId}:manager_alert`, ...base },
  ];
  if (capture.consent && capture.contact.email) {
    notifications.push({ kind: 'acknowledgement', notificationId: `${leadId}:acknowledgement`, ...base });
  }
  await deps.enqueueNotifications(notifications);
  return { leadId, contactId: contact.contactId, assignment, createdNow, notifications };
}

async function getLead(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
  leadId: string,
): Promise<{ assignment: Assignment } | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.lead(contactId, leadId), ConsistentRead: true }),
  );
  return Item as { assignment: Assignment } | undefined;
}

async function getOwner(
  doc: DynamoDBDocumentClient,
  tableName: string,
  contactId: string,
): Promise<string | undefined> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: keys.contact(contactId), ConsistentRead: true }),
  );
  return Item?.ownerId as string | undefined;
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

interface LeadWrite {
  readonly capture: CaptureEvent;
  readonly leadId: string;
  readonly contactId: string;
  readonly assignment: Assignment;
  readonly now: string;
}

/**
 * One transaction: the lead, its first timeline interaction and the contact's owner (set only if
 * unset or already this owner). All or nothing. Then the per-channel daily counter.
 */
async function writeLead(doc: DynamoDBDocumentClient, tableName: string, write: LeadWrite): Promise<void> {
  const { capture, leadId, contactId, assignment, now } = write;
  const ownerKey = keys.owner(assignment.ownerId);
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
            Item: {
              ...keys.interaction(contactId, capture.receivedAt, leadId),
              type: 'interaction',
              interactionId: leadId,
              leadId,
              channel: capture.channel,
              direction: 'inbound',
              occurredAt: capture.receivedAt,
              summary: summarize(capture),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Update: {
            TableName: tableName,
            Key: keys.contact(contactId),
            UpdateExpression:
              'SET ownerId = :owner, gsi1pk = :ownerKey, gsi1sk = if_not_exists(gsi1sk, :contactSk), lastLeadAt = :at, updatedAt = :now ADD leadCount :one',
            ConditionExpression:
              'attribute_exists(pk) AND (attribute_not_exists(ownerId) OR ownerId = :owner)',
            ExpressionAttributeValues: {
              ':owner': assignment.ownerId,
              ':ownerKey': ownerKey,
              ':contactSk': `CONTACT#${now}`,
              ':at': capture.receivedAt,
              ':now': now,
              ':one': 1,
            },
          },
        },
      ],
    }),
  );
  // Outside the transaction: every lead of a channel and day touches this one item, and in a transaction
  // concurrent routers would cancel each other (TransactionConflict). A crash right here undercounts by one.
  await doc.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.stats(`CHANNEL#${capture.channel}`, dayOf(capture.receivedAt)),
      UpdateExpression: 'ADD leads :one',
      ExpressionAttributeValues: { ':one': 1 },
    }),
  );
}

/** A one-line summary for the timeline; never the whole message. */
export function summarize(capture: CaptureEvent): string {
  const text = (capture.message ?? '').replace(/\s+/g, ' ').trim();
  const head = `${capture.channel} ${capture.sourceId}`;
  return text ? `${head}: ${text.length > 120 ? `${text.slice(0, 119)}…` : text}` : head;
}
