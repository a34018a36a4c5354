import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { env, functions, table } from '@leadflow/aws/resources';
import { lambdaContext } from './lambda-context';

/**
 * `npm run -s ses-event -- bounce|complaint <address> [--transient]`: what SES would publish for a bounce or
 * a complaint, fed to the real sesEvents handler against the local system's table. The local SES emulator
 * publishes no events, so this stands in for the configuration set's SNS destination: the same SNS envelope,
 * the same SES event-publishing JSON (field names from the SES documentation), the same handler.
 */
const USAGE = `usage: npm run -s ses-event -- bounce|complaint <address> [options]

  bounce <address>          a permanent bounce (undeliverable: suppressed, follow-ups stop)
  bounce <address> --transient
                            a transient bounce (mailbox full): recorded on the timeline only
  complaint <address>       a complaint (marked as spam): like a permanent bounce

options
  --table <name>            the table (default: the local system's, ${table.localName})
  --endpoint <url>          DynamoDB (default: http://127.0.0.1:$DYNAMODB_PORT, else 8000)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function readArgs() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        transient: { type: 'boolean', default: false },
        table: { type: 'string' },
        endpoint: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

/** The SES event-publishing record SES would send for `kind` to `address`. */
export function sesEventFor(kind: 'bounce' | 'complaint', address: string, transient: boolean) {
  const now = new Date();
  const sentAt = new Date(now.getTime() - 1000).toISOString();
  const messageId = `local-${randomUUID()}-000000`;
  const feedbackId = `local-${randomUUID()}-000000`;
  const mail = {
    timestamp: sentAt,
    source: `news@example.com`,
    sourceArn: 'arn:aws:ses:us-east-1:000000000000:identity/example.com',
    sendingAccountId: '000000000000',
    messageId,
    destination: [address],
    headersTruncated: false,
    tags: { 'ses:configuration-set': ['leadflow-local'] },
  };
  if (kind === 'complaint') {
    return {
      eventType: 'Complaint',
      complaint: {
        feedbackId,
        complaintSubType: null,
        complainedRecipients: [{ emailAddress: address }],
        timestamp: now.toISOString(),
        userAgent: 'leadflow ses-event',
        complaintFeedbackType: 'abuse',
        arrivalDate: now.toISOString(),
      },
      mail,
    };
  }
  return {
    eventType: 'Bounce',
    bounce: transient
      ? {
          feedbackId,
          bounceType: 'Transient',
          bounceSubType: 'MailboxFull',
          bouncedRecipients: [
            {
              emailAddress: address,
              action: 'failed',
              status: '4.2.2',
              diagnosticCode: 'smtp; 452 4.2.2 Mailbox full',
            },
          ],
          timestamp: now.toISOString(),
          reportingMTA: 'dsn; localhost',
        }
      : {
          feedbackId,
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [
            {
              emailAddress: address,
              action: 'failed',
              status: '5.1.1',
              diagnosticCode: 'smtp; 550 5.1.1 user unknown',
            },
          ],
          timestamp: now.toISOString(),
          reportingMTA: 'dsn; localhost',
        },
    mail,
  };
}

/** The SNS notification Lambda gets from the configuration set's topic, wrapping one SES event. */
export function snsEventOf(message: unknown) {
  const topic = 'arn:aws:sns:us-east-1:000000000000:leadflow-ses-events';
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: `${topic}:${randomUUID()}`,
        Sns: {
          Type: 'Notification',
          MessageId: randomUUID(),
          TopicArn: topic,
          Subject: null,
          Message: JSON.stringify(message),
          Timestamp: new Date().toISOString(),
          SignatureVersion: '1',
          Signature: 'local',
          SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/local.pem',
          UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

async function main(): Promise<void> {
  const { positionals, values } = readArgs();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [kind, address, ...rest] = positionals;
  if ((kind !== 'bounce' && kind !== 'complaint') || !address || rest.length > 0) fail(USAGE);
  if (values.transient && kind !== 'bounce') fail('--transient is for a bounce only');
  // The handler reads its settings at import, like a Lambda cold start.
  Object.assign(process.env, {
    [env.tableName]: values.table ?? table.localName,
    AWS_ENDPOINT_URL_DYNAMODB: values.endpoint ?? `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? 8000}`,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    POWERTOOLS_METRICS_NAMESPACE: 'leadflow',
  });
  const { handler } = await import('../functions/ses-events/handler');
  const definition = functions.sesEvents;
  const result = (await handler(
    snsEventOf(sesEventFor(kind, address, values.transient)),
    lambdaContext('sesEvents', definition.timeoutSeconds, definition.memoryMb),
  )) as { outcomes: unknown[] };
  process.stdout.write(`${JSON.stringify({ kind, transient: values.transient, ...result })}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /ECONNREFUSED/.test(message)
    ? ' (is `npm start` running? --endpoint names another DynamoDB)'
    : '';
  process.stderr.write(`${message}${hint}\n`);
  process.exit(1);
});
