import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { secretEnv, webhookItem } from '@leadflow/aws';
import { DOMAIN_EVENT_TYPES, isDeliverableUrl, webhookSecretOf, webhookSecretSchema } from '@leadflow/core';

/** The demo team whose chat integrations `SLACK_WEBHOOK_URL` and `TEAMS_WEBHOOK_URL` set. */
export const LOCAL_CHAT_TEAM = 'sales';
/** The id of the demo subscription `WEBHOOK_URL` sets. */
export const LOCAL_WEBHOOK_ID = 'wh_local_demo';

/**
 * The handlers' `INTEGRATION_SECRETS` (the teams' chat webhooks, a Secrets Manager key on AWS) from
 * `SLACK_WEBHOOK_URL` and `TEAMS_WEBHOOK_URL`, for the demo team `sales`. An explicit `INTEGRATION_SECRETS`
 * wins; nothing set, nothing returned.
 */
export function localIntegrationEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env[secretEnv.integrations]) return { [secretEnv.integrations]: env[secretEnv.integrations] as string };
  const slack = env.SLACK_WEBHOOK_URL;
  const teams = env.TEAMS_WEBHOOK_URL;
  if (!slack && !teams) return {};
  const team = {
    ...(slack ? { slack: { webhookUrl: slack } } : {}),
    ...(teams ? { teams: { webhookUrl: teams } } : {}),
  };
  return { [secretEnv.integrations]: JSON.stringify({ [LOCAL_CHAT_TEAM]: team }) };
}

/**
 * Seeds the demo subscription to every event from `WEBHOOK_URL` and `WEBHOOK_SECRET` (a `whsec_` secret;
 * one is made up and logged when unset), written over on every start so a changed variable takes effect.
 * Returns the subscription's secret, or undefined when `WEBHOOK_URL` is unset.
 */
export async function seedLocalWebhook(
  doc: DynamoDBDocumentClient,
  tableName: string,
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined,
): Promise<string | undefined> {
  const url = env.WEBHOOK_URL;
  if (!url) return undefined;
  if (!isDeliverableUrl(url, { allowLoopback: true })) {
    throw new Error('WEBHOOK_URL must be https, or http to localhost, without credentials');
  }
  const given = env.WEBHOOK_SECRET;
  if (given !== undefined && !webhookSecretSchema.safeParse(given).success) {
    throw new Error('WEBHOOK_SECRET must be a whsec_ secret: whsec_ and the base64 of 24-64 random bytes');
  }
  const secret = given ?? webhookSecretOf(randomBytes(32));
  if (given === undefined) log(`WEBHOOK_SECRET is unset: the demo webhook signs with ${secret}`);
  await doc.send(
    new PutCommand({
      TableName: tableName,
      ...webhookItem.seed({
        subscriptionId: LOCAL_WEBHOOK_ID,
        url,
        events: [...DOMAIN_EVENT_TYPES],
        secret,
        description: 'npm start demo (WEBHOOK_URL)',
        createdAt: new Date().toISOString(),
        createdBy: 'npm start',
      }),
    }),
  );
  return secret;
}
