import { randomBytes } from 'node:crypto';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import {
  AcknowledgementLedger,
  createDocumentClient,
  createDynamoClient,
  createSesClient,
  loadLinkSecret,
  notifierIdempotency,
  readAlertPreferences,
  readEnv,
  SuppressionList,
  sendEmail,
  tableConfigSource,
} from '@leadflow/aws';
import {
  ALERT_EVENT_OF_KIND,
  actionLinkFor,
  actionLinkUrl,
  type Language,
  type LeadflowConfig,
  type Notification,
  notificationSchema,
  signActionLink,
  signUnsubscribeLink,
  unsubscribeUrl,
  wantsAlert,
} from '@leadflow/core';
import middy from '@middy/core';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { config } from '../../config';
import { composeNotification } from './compose';

const logger = new Logger({ serviceName: 'notifier' });
const metrics = new Metrics({ serviceName: 'notifier' });
const settings = readEnv([
  'tableName',
  'sesFromAddress',
  'sesConfigurationSet',
  'leadLinkBaseUrl',
  'configCacheSeconds',
  'publicBaseUrl',
  'linkSecretArn',
  'linkSecret',
  'sesFollowUpFromAddress',
]);
// The key the alert's one-tap links are signed with, read once per container (the api function checks them).
const linkKey = await loadLinkSecret(settings);
const { publicBaseUrl } = settings;
if (!publicBaseUrl) logger.warn('PUBLIC_BASE_URL is not set: alerts go out without their one-tap links');
const ses = createSesClient();
const dynamo = createDynamoClient();
const doc = createDocumentClient(dynamo);
const ledger = new AcknowledgementLedger(doc, settings.tableName);
// Managers (their names and addresses) as changed at runtime: a manager added since the deploy gets alerts.
const configSource = tableConfigSource({
  doc,
  tableName: settings.tableName,
  bundled: config,
  ttlSeconds: settings.configCacheSeconds,
  onError: (error, serving) => logger.warn('Configuration not read; sending goes on', { serving, error }),
});
/** A form's default cap when the acknowledgement comes from a capture with no form (none do today). */
const DEFAULT_DOMAIN_HOURLY_CAP = 30;

type SendResult =
  | { messageId: string }
  | { skipped: 'mailbox_recent' | 'domain_cap' | 'preference' | 'suppressed' };

// Addresses that bounced permanently or complained: no mail to a lead goes to them, acknowledgements included.
const suppression = new SuppressionList(doc, settings.tableName);

/** A contact's one-click unsubscribe URL (follow-ups): signed with the link key, naming only the contact. */
const unsubscribeLink = publicBaseUrl
  ? (link: { contactId: string; language: Language }) =>
      unsubscribeUrl(publicBaseUrl, signUnsubscribeLink(link, linkKey))
  : undefined;

/** A lead-facing template without the lead's language: sent in English, and said so here. */
const onFallback = (fallback: { template: string; version: number; asked: string; used: string }) =>
  logger.warn('Template has no translation for the lead; sent in English', fallback);

/**
 * The URL of a signed link ("I'm on it", "Pass it on") for one manager on one lead, valid for a day; none
 * without a public base URL to point it at.
 */
const actionLink = publicBaseUrl
  ? (link: { leadId: string; action: 'acknowledge' | 'pass'; managerId: string }) =>
      actionLinkUrl(
        publicBaseUrl,
        signActionLink(
          actionLinkFor({ ...link, now: new Date(), nonce: randomBytes(12).toString('base64url') }),
          linkKey,
        ),
      )
  : undefined;

/** Whether the manager a notification is for wants its kind by email (their `PATCH /v1/me` choices). */
async function wanted(notification: Notification, config: LeadflowConfig): Promise<boolean> {
  const event = ALERT_EVENT_OF_KIND[notification.kind];
  if (event === null) return true;
  const recipientId =
    'recipientId' in notification ? notification.recipientId : notification.assignment.ownerId;
  if (recipientId === undefined) return true;
  const preferences = await readAlertPreferences(doc, settings.tableName, recipientId);
  const leadsATeam = [...config.teams.values()].some((team) => team.teamLead === recipientId);
  return wantsAlert(preferences, event, { leadsATeam });
}

const processor = new BatchProcessor(EventType.SQS);

const idempotency = new IdempotencyConfig({
  eventKeyJmesPath: 'notificationId',
  // Longer than a message can live: 4 days on the queue, then 14 in the DLQ before a redrive.
  expiresAfterSeconds: 19 * 24 * 60 * 60,
});

/** Sends one notification at most once per notification id, however often the queue delivers it. */
const send = makeIdempotent(
  async (notification: Notification): Promise<SendResult> => {
    const config = await configSource.current();
    // Composed first: a notification that cannot be written reserves nothing in the ledger.
    const email = composeNotification(notification, {
      config,
      settings,
      actionLink,
      unsubscribeLink,
      onFallback,
    });
    if (!(await wanted(notification, config))) return { skipped: 'preference' };
    // Before every send to a lead's own address, and before the acknowledgement ledger reserves anything.
    const toLead = notification.kind === 'acknowledgement' || notification.kind === 'followup';
    if (toLead && (await suppression.isSuppressed(email.to.address))) return { skipped: 'suppressed' };
    if (notification.kind === 'acknowledgement' && notification.capture.contact.email) {
      // The mail-relay guard: one per mailbox a day, a cap per recipient domain an hour, reserved first.
      const decision = await ledger.reserve({
        address: notification.capture.contact.email,
        formId: notification.capture.sourceId,
        domainHourlyCap:
          config.forms.get(notification.capture.sourceId)?.acknowledgementDomainHourlyCap ??
          DEFAULT_DOMAIN_HOURLY_CAP,
        notificationId: notification.notificationId,
      });
      if (!decision.send) return { skipped: decision.reason };
    }
    const messageId = await sendEmail(ses, email, { configurationSetName: settings.sesConfigurationSet });
    return { messageId };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: settings.tableName,
      keyAttr: 'pk',
      sortKeyAttr: 'sk',
      staticPkValue: notifierIdempotency.staticPkValue,
      expiryAttr: 'ttl',
      awsSdkV3Client: dynamo,
    }),
    config: idempotency,
    // A fixed prefix (not the Lambda's physical name): erasing a contact computes its records' keys.
    keyPrefix: notifierIdempotency.keyPrefix,
  },
);

export async function recordHandler(record: SQSRecord): Promise<void> {
  const notification = notificationSchema.parse(JSON.parse(record.body));
  const result = await send(notification);
  if ('skipped' in result) {
    metrics.addMetric(`Skipped_${notification.kind}_${result.skipped}`, MetricUnit.Count, 1);
    logger.info('Notification not sent', {
      kind: notification.kind,
      leadId: notification.leadId,
      reason: result.skipped,
    });
    return;
  }
  const { messageId } = result;
  const lagMs = Date.now() - Date.parse(notification.capture.receivedAt);
  metrics.addMetric(`Sent_${notification.kind}`, MetricUnit.Count, 1);
  // Speed to alert is capture → a lead's first alerts; SLA and task notices come late on purpose.
  if (['manager_alert', 'message_alert', 'team_warning'].includes(notification.kind)) {
    metrics.addMetric('SpeedToAlert', MetricUnit.Milliseconds, lagMs);
  }
  logger.info('Notification sent', {
    kind: notification.kind,
    leadId: notification.leadId,
    ownerId: notification.assignment.ownerId,
    sesMessageId: messageId,
    lagMs,
  });
}

export const handler = middy(async (event: SQSEvent, context: Context) => {
  idempotency.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
