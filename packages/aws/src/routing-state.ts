import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ContactState, LeadflowConfig, ManagerLoad } from '@leadflow/core';
import type { ContactProfile } from './contacts';
import { cursorItemSchema, identityItemSchema, keys, parseItem, profileItemSchema } from './keys';
import { readLoads } from './leads';

export interface RoutingState {
  /** The contact the capture's identities lead to (following merges), if any. */
  readonly contactId?: string | undefined;
  readonly contact?: ContactState | undefined;
  readonly loads: Record<string, ManagerLoad>;
}

/**
 * What the planner needs to know, read without writing anything: the contact the identities already
 * point to (the first one found, strongest identity first, following merges) and the managers' loads.
 * The dry-run uses it; the router resolves (and claims) the contact instead.
 */
export async function readRoutingState(
  doc: DynamoDBDocumentClient,
  tableName: string,
  config: LeadflowConfig,
  identities: readonly string[],
): Promise<RoutingState> {
  const [loads, claims] = await Promise.all([
    readLoads(doc, tableName, [...config.managers.keys()]),
    Promise.all(
      identities.map(async (identity) => {
        const { Item } = await doc.send(
          new GetCommand({ TableName: tableName, Key: keys.identity(identity) }),
        );
        return Item ? parseItem(identityItemSchema, Item).contactId : undefined;
      }),
    ),
  ]);
  let contactId = claims.find((claim) => claim !== undefined);
  let profile: ContactProfile | undefined;
  for (let hop = 0; contactId && hop < 5; hop++) {
    const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: keys.contact(contactId) }));
    profile = Item ? (parseItem(profileItemSchema, Item) as ContactProfile) : undefined;
    const next = profile?.mergedInto ?? profile?.mergingInto;
    if (!next) break;
    contactId = next;
  }
  return {
    contactId: profile ? contactId : undefined,
    contact: profile && {
      ownerId: profile.ownerId,
      conversations: profile.conversations,
      lastAcknowledgedAt: profile.lastAcknowledgedAt,
      lastLeadAt: profile.lastLeadAt,
    },
    loads,
  };
}

/** The value the team's cursor would draw next, read without drawing it. */
export async function peekCursor(
  doc: DynamoDBDocumentClient,
  tableName: string,
  teamId: string,
): Promise<number> {
  const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: keys.cursor(teamId) }));
  return (Item ? parseItem(cursorItemSchema, Item).position : 0) + 1;
}
