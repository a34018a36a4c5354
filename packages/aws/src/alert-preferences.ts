import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertEvent, AlertPreferences } from '@leadflow/core';
import { alertPreferencesItem, alertPreferencesOf } from './items';

/** A manager's alert preferences as stored (`MANAGER#<id>`/`PREFS`); none stored: every event is on. */
export async function readAlertPreferences(
  doc: DynamoDBDocumentClient,
  tableName: string,
  managerId: string,
): Promise<AlertPreferences> {
  const { Item } = await doc.send(
    new GetCommand({ TableName: tableName, Key: alertPreferencesItem.key(managerId), ConsistentRead: true }),
  );
  return Item ? alertPreferencesOf(Item) : {};
}

/** Sets the given events of a manager's alert preferences (the others stay) and returns them all. */
export async function writeAlertPreferences(
  doc: DynamoDBDocumentClient,
  tableName: string,
  managerId: string,
  alerts: Partial<Record<AlertEvent, boolean>>,
  at: Date,
): Promise<AlertPreferences> {
  const { Attributes } = await doc.send(
    new UpdateCommand({
      TableName: tableName,
      ...alertPreferencesItem.set(managerId, alerts, at.toISOString()),
      ReturnValues: 'ALL_NEW',
    }),
  );
  return alertPreferencesOf(Attributes);
}
