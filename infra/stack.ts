import { env, rawMailBucket } from '@leadflow/aws/resources';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './alarms';
import { Auth } from './auth';
import { followUpFromAddressOf, type LeadflowContext } from './context';
import { Email } from './email';
import { bindRawMailErasure, deliveryAlarmMetrics, Functions } from './functions';
import { IngestHttpApi } from './http-api';
import { InboundEmail } from './inbound-email';
import { Queues } from './queues';
import { RuntimeConfig } from './runtime-config';
import { ChannelSecrets } from './secrets';
import { Storage } from './storage';

export interface LeadflowStackProps extends StackProps {
  readonly config: LeadflowContext;
}

/** Everything leadflow runs on: table, queues, functions, HTTP API, SES sending and receiving, and alarms. */
export class LeadflowStack extends Stack {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly email: Email;
  readonly functions: Functions;
  readonly channelSecrets: ChannelSecrets;
  readonly inboundEmail: InboundEmail;
  readonly httpApi: IngestHttpApi;
  readonly alarms: Alarms;
  readonly runtimeConfig: RuntimeConfig;
  readonly auth: Auth;

  constructor(scope: Construct, id: string, { config, ...props }: LeadflowStackProps) {
    super(scope, id, props);

    this.storage = new Storage(this, 'Storage');
    this.runtimeConfig = new RuntimeConfig(this, 'RuntimeConfig', { storage: this.storage });
    this.queues = new Queues(this, 'Queues');
    this.email = new Email(this, 'Email', {
      domain: config.sesIdentityDomain,
      fromAddress: config.sesFromAddress,
      followUpFromAddress: followUpFromAddressOf(config),
    });
    this.channelSecrets = new ChannelSecrets(this, 'ChannelSecrets');
    this.functions = new Functions(this, 'Functions', {
      storage: this.storage,
      queues: this.queues,
      email: this.email,
      leadLinkBaseUrl: config.leadLinkBaseUrl,
      channelSecrets: this.channelSecrets.secret,
      rateLimitPerClient: config.rateLimitPerClient,
      rawPayloadRetentionDays: config.rawPayloadRetentionDays,
    });
    this.inboundEmail = new InboundEmail(this, 'InboundEmail', {
      recipients: config.inboundRecipients,
      handler: this.functions.byKey.inboundEmail,
    });
    this.httpApi = new IngestHttpApi(this, 'HttpApi', {
      handler: this.functions.byKey.ingest.function,
      rateLimit: config.throttleRateLimit,
      burstLimit: config.throttleBurstLimit,
      anonymousThrottle: {
        rateLimit: config.anonymousThrottleRateLimit,
        burstLimit: config.anonymousThrottleBurstLimit,
      },
      webhookThrottle: {
        rateLimit: config.webhookThrottleRateLimit,
        burstLimit: config.webhookThrottleBurstLimit,
      },
    });
    // Twilio signs the URL it called, so ingest must know the public origin: a custom domain in front of the
    // API when one is configured, else the API's own endpoint. Only the routes, integration and permission
    // depend on the function, never the API resource itself, so referencing it here makes no cycle.
    // The notifier points the alert's action links (`/a/<token>`) at the same origin.
    for (const key of ['ingest', 'api', 'notifier'] as const) {
      this.functions.byKey[key].function.addEnvironment(
        env.publicBaseUrl,
        config.publicBaseUrl || this.httpApi.api.apiEndpoint,
      );
    }

    // The managers' API: Cognito users, the JWT authorizer on /v1/{proxy+}, and the api function's access.
    const consoleBase = `${config.publicBaseUrl || this.httpApi.api.apiEndpoint}/console`;
    this.auth = new Auth(this, 'Auth', {
      callbackUrls:
        config.authCallbackUrls.length > 0 ? config.authCallbackUrls : [`${consoleBase}/callback`],
      logoutUrls: [`${consoleBase}/signed-out`],
      domainPrefix: config.authDomainPrefix,
    });
    const api = this.functions.byKey.api;
    this.auth.bindTokenVerifier(api);
    // The console's managed sign-in (authorization code with PKCE) needs the hosted domain; without one the
    // console has no sign-in on AWS and the JSON API works as before.
    if (this.auth.domain) api.function.addEnvironment(env.authDomainUrl, this.auth.domain.baseUrl());
    bindRawMailErasure(api, this.inboundEmail.bucket, rawMailBucket.objectKeyPrefix);
    this.httpApi.addManagersApi({
      handler: api.function,
      jwtIssuer: this.auth.issuer,
      jwtAudience: [this.auth.client.userPoolClientId],
    });
    this.alarms = new Alarms(this, 'Alarms', {
      email: config.alarmEmail,
      deadLetterQueues: {
        ...Object.fromEntries(
          Object.entries(this.queues.byKey).map(([key, pair]) => [key, pair.deadLetterQueue]),
        ),
        inboundEmail: this.functions.inboundEmailDeadLetterQueue,
        outbox: this.functions.outboxDeadLetterQueue,
        events: this.functions.eventsDeadLetterQueue,
        sesEvents: this.functions.sesEventsDeadLetterQueue,
      },
      functions: Object.fromEntries(
        Object.entries(this.functions.byKey).map(([key, fn]) => [key, fn.function]),
      ),
      ingest: this.functions.byKey.ingest.function,
      stage: this.httpApi.stage,
      metrics: deliveryAlarmMetrics(),
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Public ingest endpoint (the hono app routes below it)',
      value: this.httpApi.stage.url,
    });
    // DNS for the domain is managed elsewhere: publish these records to verify the identity, sign with
    // DKIM and align SPF through the custom MAIL FROM domain.
    this.email.identity.dkimRecords.forEach((record, index) => {
      new CfnOutput(this, `DkimRecord${index + 1}`, {
        description: `DKIM CNAME for ${config.sesIdentityDomain}`,
        value: `${record.name} CNAME ${record.value}`,
      });
    });
    new CfnOutput(this, 'MailFromMxRecord', {
      description: 'MX record for the custom MAIL FROM domain',
      value: `${this.email.mailFromDomain} MX 10 feedback-smtp.${this.region}.amazonses.com`,
    });
    new CfnOutput(this, 'MailFromSpfRecord', {
      description: 'SPF record for the custom MAIL FROM domain',
      value: `${this.email.mailFromDomain} TXT "v=spf1 include:amazonses.com ~all"`,
    });
    new CfnOutput(this, 'InboundMxRecords', {
      description:
        'MX records that deliver mail for the inbound recipients to SES (a subdomain keeps your mailboxes)',
      value: this.inboundEmail.mxRecords(config.inboundRecipients).join('; '),
    });
    new CfnOutput(this, 'ActivateReceiptRuleSet', {
      description: 'Run once after the first deploy: one rule set is active per account and region',
      value: `aws ses set-active-receipt-rule-set --rule-set-name ${this.inboundEmail.ruleSetName} --region ${this.region}`,
    });
    // What the admin command needs on AWS: `npm run -s admin -- … --table <TableName> --queue-url <…>`.
    new CfnOutput(this, 'TableName', {
      description: 'The table: the runtime configuration, contacts and leads (admin --table)',
      value: this.storage.table.tableName,
    });
    new CfnOutput(this, 'NotificationsQueueUrl', {
      description: 'Where the admin command queues the alerts of the leads it assigns (admin --queue-url)',
      value: this.queues.byKey.notifications.queue.queueUrl,
    });
    new CfnOutput(this, 'UserPoolId', {
      description:
        'The managers: aws cognito-idp admin-create-user, then admin-add-user-to-group (admin, team_lead, manager)',
      value: this.auth.userPool.userPoolId,
    });
    new CfnOutput(this, 'UserPoolClientId', {
      description: 'The console app client (authorization code with PKCE); its access tokens call /v1/',
      value: this.auth.client.userPoolClientId,
    });
    new CfnOutput(this, 'TokenIssuer', {
      description: 'The issuer the managers API trusts (its JWKS is at /.well-known/jwks.json under it)',
      value: this.auth.issuer,
    });
    if (this.auth.domain) {
      new CfnOutput(this, 'SignInUrl', {
        description: 'The Cognito-hosted sign-in of the console client',
        value: this.auth.domain.signInUrl(this.auth.client, {
          redirectUri: config.authCallbackUrls[0] ?? `${consoleBase}/callback`,
        }),
      });
    }
    new CfnOutput(this, 'ChannelSecretsArn', {
      description: 'Put the provider webhook secrets here (JSON; see README, channel secrets)',
      value: this.channelSecrets.secret.secretArn,
    });
  }
}
