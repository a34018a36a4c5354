import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { normalizeEmail, planSesEvent, type SesEvent, type SesRecipientAction } from '@leadflow/core';
import { markUndeliverable } from './crm/hygiene';
import { putTimelineEntryOnce, SuppressionList } from './follow-ups';
import { keys } from './items';

/** At most this many merge hops are followed from an address's contact to where it lives now. */
const MAX_HOPS = 10;

export interface SesEventDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly clock: () => Date;
}

/** What one recipient of an event did to our data: for the handler's log (no address) and the CLI. */
export interface SesRecipientOutcome {
  readonly event: SesRecipientAction['event'];
  readonly suppressed: boolean;
  /** The contact the address belongs to, if it is one of ours. */
  readonly contactId?: string | undefined;
  /** False when the event was seen before (the timeline entry was there already). */
  readonly recorded: boolean;
}

/**
 * Applies an SES bounce or complaint: a permanent bounce or a complaint suppresses the address (every later
 * send to it is skipped, acknowledgements included), marks it undeliverable on the contact that holds it
 * (its follow-ups stop at their next step), and records it on that contact's timeline; a transient bounce
 * is recorded only. Safe to repeat: SNS may deliver an event twice.
 */
export async function recordSesEvent(deps: SesEventDeps, event: SesEvent): Promise<SesRecipientOutcome[]> {
  const suppression = new SuppressionList(deps.doc, deps.tableName);
  const outcomes: SesRecipientOutcome[] = [];
  for (const action of planSesEvent(event)) {
    const suppressed = action.suppression !== undefined;
    if (action.suppression) {
      // First, so that no send slips through while the rest is written.
      await suppression.suppress(action.address, { reason: action.suppression, at: action.at });
    }
    const marked =
      action.effect === 'undeliverable'
        ? await markUndeliverable(deps, action.address, action.reason)
        : undefined;
    const contactId = marked?.contactId ?? (await contactOfAddress(deps, action.address));
    const recorded = contactId
      ? await putTimelineEntryOnce(deps.doc, deps.tableName, {
          contactId,
          occurredAt: action.at,
          interactionId: action.entryId,
          event: action.event,
          reason: action.reason,
          sesMessageId: action.messageId,
          ...(action.kind ? { mailKind: action.kind } : {}),
          summary: summaryOf(action),
        })
      : false;
    outcomes.push({ event: action.event, suppressed, contactId, recorded });
  }
  return outcomes;
}

function summaryOf(action: SesRecipientAction): string {
  const mail = action.kind ? `An email (${action.kind})` : 'An email';
  switch (action.event) {
    case 'email_bounced':
      return `${mail} to this contact bounced for good (${action.reason}): the address is undeliverable and suppressed, follow-ups stop`;
    case 'email_complained':
      return `The contact marked ${mail.toLowerCase()} as spam (${action.reason}): the address is suppressed, follow-ups stop`;
    default:
      return `${mail} to this contact bounced for now (${action.reason}): recorded only`;
  }
}

/** The live contact an address's identity claim points to (following merges), if any. */
async function contactOfAddress(deps: SesEventDeps, address: string): Promise<string | undefined> {
  const email = normalizeEmail(address);
  if (!email.ok) return undefined;
  const { Item: claim } = await deps.doc.send(
    new GetCommand({
      TableName: deps.tableName,
      Key: keys.identity(`email:${email.value.key}`),
      ConsistentRead: true,
    }),
  );
  let id = typeof claim?.contactId === 'string' ? claim.contactId : undefined;
  for (let hop = 0; id && hop < MAX_HOPS; hop++) {
    const { Item } = await deps.doc.send(
      new GetCommand({ TableName: deps.tableName, Key: keys.contact(id), ConsistentRead: true }),
    );
    if (!Item || Item.erasedAt !== undefined) return undefined;
    const next = Item.mergedInto ?? Item.mergingInto;
    if (typeof next !== 'string') return id;
    id = next;
  }
  return undefined;
}
