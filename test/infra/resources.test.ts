import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  env,
  eventSources,
  functions,
  queues,
  streamEventSource,
  streamEventSources,
  table,
} from '@leadflow/aws/resources';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LeadflowStack } from '../../infra/stack';
import { secretEnv } from '../../packages/aws/src/secrets';
import { BUILD_TIMEOUT_MS, build, logicalId, testContext } from './support';

let app: App;
let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ app, stack, template } = build());
}, BUILD_TIMEOUT_MS);

const functionKeys = Object.keys(functions) as (keyof typeof functions)[];
const queueKeys = Object.keys(queues) as (keyof typeof queues)[];

interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

function resource(logical: string): CfnResourceJson {
  const found = template.toJSON().Resources[logical] as CfnResourceJson | undefined;
  if (!found) throw new Error(`No resource ${logical} in the template`);
  return found;
}

const queueId = (key: keyof typeof queues) => logicalId(stack.queues.byKey[key].queue);
const dlqId = (key: keyof typeof queues) => logicalId(stack.queues.byKey[key].deadLetterQueue);
const functionId = (key: keyof typeof functions) => logicalId(stack.functions.byKey[key].function);

describe('table', () => {
  it('has the key schema, GSI and TTL of resources.ts', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: table.sortKey.name, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
      TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  it('streams new images, for the outbox', () => {
    expect(table.stream).toBe('NEW_IMAGE');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
  });

  it('is encrypted, point-in-time recoverable, deletion protected and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('queues', () => {
  it('creates each queue and its DLQ, the inbound-email DLQ, the stream mappings’ on-failure queues, and nothing else', () => {
    // The on-failure queues: the outbox's and the events function's; and the sesEvents function's DLQ.
    template.resourceCountIs('AWS::SQS::Queue', queueKeys.length * 2 + 4);
  });

  it.each(queueKeys)('%s redrives to its own DLQ after maxReceiveCount receives', (key) => {
    const definition = queues[key];
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId(key), 'Arn'] },
        maxReceiveCount: definition.deadLetter.maxReceiveCount,
      },
      VisibilityTimeout: definition.visibilityTimeoutSeconds,
      MessageRetentionPeriod: definition.retentionSeconds,
      ReceiveMessageWaitTimeSeconds: definition.receiveWaitTimeSeconds,
      FifoQueue: definition.fifo ? true : Match.absent(),
    });
    expect(resource(dlqId(key)).Properties).toMatchObject({
      MessageRetentionPeriod: definition.deadLetter.retentionSeconds,
    });
  });

  it('gives the FIFO leads queue a FIFO DLQ', () => {
    expect(queues.leads.fifo).toBe(true);
    expect(resource(queueId('leads')).Properties.FifoQueue).toBe(true);
    expect(resource(dlqId('leads')).Properties.FifoQueue).toBe(true);
    expect(resource(queueId('leads')).Properties.ContentBasedDeduplication).toBe(
      queues.leads.contentBasedDeduplication,
    );
  });

  it('keeps FIFO-only attributes off standard queues', () => {
    expect(resource(queueId('notifications')).Properties).not.toHaveProperty('FifoQueue');
    expect(resource(queueId('notifications')).Properties).not.toHaveProperty('ContentBasedDeduplication');
    expect(resource(dlqId('notifications')).Properties).not.toHaveProperty('FifoQueue');
  });

  it('encrypts every queue at rest', () => {
    const all = template.findResources('AWS::SQS::Queue');
    for (const queue of Object.values(all)) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    }
  });

  it('denies non-TLS access to every queue', () => {
    template.resourceCountIs('AWS::SQS::QueuePolicy', queueKeys.length * 2 + 4);
    const inboundEmailDlq = logicalId(stack.functions.inboundEmailDeadLetterQueue);
    const outboxDlq = logicalId(stack.functions.outboxDeadLetterQueue);
    const eventsDlq = logicalId(stack.functions.eventsDeadLetterQueue);
    for (const id of [
      ...queueKeys.flatMap((key) => [queueId(key), dlqId(key)]),
      inboundEmailDlq,
      outboxDlq,
      eventsDlq,
      logicalId(stack.functions.sesEventsDeadLetterQueue),
    ]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('event sources', () => {
  it('maps each event source in resources.ts, and only those', () => {
    template.resourceCountIs(
      'AWS::Lambda::EventSourceMapping',
      eventSources.length + streamEventSources.length,
    );
  });

  it.each(eventSources.map((source) => [source.queue, source] as const))(
    '%s reports partial batch failures with the declared batch settings',
    (_, source) => {
      const fifo = queues[source.queue].fifo;
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId(source.queue), 'Arn'] },
        FunctionName: { Ref: functionId(source.function) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: source.batchSize,
        ScalingConfig: { MaximumConcurrency: source.maxConcurrency },
        // FIFO sources cannot have a window; a 0 s window is left to the default.
        MaximumBatchingWindowInSeconds:
          !fifo && source.maxBatchingWindowSeconds > 0 ? source.maxBatchingWindowSeconds : Match.absent(),
      });
    },
  );

  it('never sets a batching window on a FIFO source', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    const fifoArns = queueKeys
      .filter((key) => queues[key].fifo)
      .map((key) => JSON.stringify({ 'Fn::GetAtt': [queueId(key), 'Arn'] }));
    const fifoMappings = mappings.filter((m) =>
      fifoArns.includes(JSON.stringify(m.Properties.EventSourceArn)),
    );
    expect(fifoMappings.length).toBeGreaterThan(0);
    for (const mapping of fifoMappings) {
      expect(mapping.Properties).not.toHaveProperty('MaximumBatchingWindowInSeconds');
    }
  });

  it('gives every consumed queue a visibility timeout of at least 6x its consumer timeout', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (mapping) => mapping.Properties.EventSourceArn['Fn::GetAtt'][1] === 'Arn',
    );
    expect(mappings).toHaveLength(eventSources.length);
    for (const mapping of mappings) {
      const [queueLogicalId] = mapping.Properties.EventSourceArn['Fn::GetAtt'] as [string];
      const functionLogicalId = mapping.Properties.FunctionName.Ref as string;
      const visibility = resource(queueLogicalId).Properties.VisibilityTimeout as number;
      const timeout = resource(functionLogicalId).Properties.Timeout as number;
      expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
    }
  });
});

describe('outbox stream event source', () => {
  const mapping = () => {
    // The stream also feeds the events function (test/infra/integrations.test.ts): the outbox's mapping.
    const found = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (m) =>
        m.Properties.EventSourceArn['Fn::GetAtt']?.[1] === 'StreamArn' &&
        m.Properties.FunctionName.Ref === functionId('outbox'),
    );
    expect(found).toHaveLength(1);
    return found[0]?.Properties as Record<string, unknown>;
  };

  it('reads the table stream into the outbox with the declared batch, retry and failure settings', () => {
    expect(mapping()).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'StreamArn'] },
      FunctionName: { Ref: functionId('outbox') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: streamEventSource.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: streamEventSource.retryAttempts,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [logicalId(stack.functions.outboxDeadLetterQueue), 'Arn'] },
        },
      },
      FilterCriteria: { Filters: [{ Pattern: expect.any(String) }] },
    });
    expect(streamEventSource.maxBatchingWindowSeconds).toBe(0);
  });

  it('lets only inserted or modified submission items through', () => {
    const filters = (mapping().FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(JSON.parse(filters[0]?.Pattern ?? '')).toEqual({
      eventName: ['INSERT', 'MODIFY'],
      dynamodb: { Keys: { pk: { S: [{ prefix: 'SUB#' }] } } },
    });
  });

  it('sends exhausted records to an encrypted on-failure queue kept 14 days', () => {
    expect(resource(logicalId(stack.functions.outboxDeadLetterQueue)).Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: streamEventSource.onFailure.retentionSeconds,
    });
  });
});

describe('functions', () => {
  it('creates one function per definition in resources.ts, and the provider that seeds the configuration', () => {
    // The provider is the AwsCustomResource singleton (infra/runtime-config.ts), on its own role and logs.
    template.resourceCountIs('AWS::Lambda::Function', functionKeys.length + 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalId(stack.runtimeConfig.role), 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: logicalId(stack.runtimeConfig.logGroup) } },
    });
  });

  it.each(functionKeys)('%s runs nodejs24.x on arm64 with the declared timeout and memory', (key) => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: functions[key].timeoutSeconds,
      MemorySize: functions[key].memoryMb,
      TracingConfig: Match.absent(),
      LoggingConfig: { LogGroup: { Ref: logicalId(stack.functions.byKey[key].logGroup) } },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: key,
          POWERTOOLS_METRICS_NAMESPACE: 'leadflow',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        }),
      },
    });
  });

  it('gives every function its own log group with a retention', () => {
    for (const key of functionKeys) {
      expect(resource(logicalId(stack.functions.byKey[key].logGroup)).Properties.RetentionInDays).toBe(30);
    }
  });

  it.each([
    [
      'ingest',
      [
        env.tableName,
        env.leadsQueueUrl,
        secretEnv.secretArn,
        env.rateLimitPerClient,
        env.publicBaseUrl,
        env.rawPayloadRetentionDays,
      ],
    ],
    ['router', [env.tableName, env.notificationsQueueUrl, env.timersQueueUrl]],
    [
      'notifier',
      [
        env.tableName,
        env.sesFromAddress,
        env.sesConfigurationSet,
        env.leadLinkBaseUrl,
        env.sesFollowUpFromAddress,
        env.linkSecretArn,
        env.publicBaseUrl,
      ],
    ],
    [
      'inboundEmail',
      [env.tableName, env.leadsQueueUrl, env.rawMailBucket, env.rawMailPrefix, env.rawPayloadRetentionDays],
    ],
    ['outbox', [env.leadsQueueUrl]],
    ['dispatcher', [env.tableName, env.notificationsQueueUrl, env.timersQueueUrl]],
    [
      'api',
      [
        env.tableName,
        env.notificationsQueueUrl,
        env.rawMailBucket,
        env.rawMailPrefix,
        env.authIssuer,
        env.authJwksUrl,
        env.authClientId,
        env.publicBaseUrl,
        env.deliveriesQueueUrl,
        env.linkSecretArn,
        env.timersQueueUrl,
      ],
    ],
    ['timer', [env.tableName, env.notificationsQueueUrl, env.timersQueueUrl]],
    ['events', [env.tableName, env.deliveriesQueueUrl, env.leadLinkBaseUrl, secretEnv.secretArn]],
    ['deliverer', [env.tableName, env.deliveriesQueueUrl, secretEnv.secretArn]],
    ['sesEvents', [env.tableName]],
  ] as const)('%s gets exactly the app variables it reads', (key, names) => {
    const variables = resource(functionId(key)).Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    const appVariables = Object.keys(variables.Variables).filter(
      (name) => name !== 'NODE_OPTIONS' && !name.startsWith('POWERTOOLS_'),
    );
    expect(appVariables.sort()).toEqual([...names].sort());
  });

  it('passes ingest the per-client rate limit from context, where 0 turns it off', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'ingest',
          [env.rateLimitPerClient]: String(testContext.rateLimitPerClient),
        }),
      },
    });
    const { template: off } = build({ context: { rateLimitPerClient: 0 }, bundle: false });
    off.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'ingest', [env.rateLimitPerClient]: '0' }),
      },
    });
  });

  it('passes the notifier its sender, configuration set and lead link', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [env.sesFromAddress]: testContext.sesFromAddress,
          [env.sesConfigurationSet]: { Ref: logicalId(stack.email.configurationSet) },
          [env.leadLinkBaseUrl]: testContext.leadLinkBaseUrl,
        }),
      },
    });
  });

  it.each(functionKeys)('%s bundle is ESM with a createRequire banner and exports handler', (key) => {
    const code = resource(functionId(key)).Properties.Code as { S3Key: string };
    const assetDir = join(app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    const bundle = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(bundle).toContain('createRequire(import.meta.url)');
    expect(bundle).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\}|export\s*\{[^}]*\bhandler\b[^}]*\}/);
    expect(existsSync(join(assetDir, 'index.mjs.map'))).toBe(true);
  });
});

describe('HTTP API', () => {
  // The contract with the ingest app's routes; everything else falls to $default (health, 404s).
  const anonymousRouteKeys = [
    'POST /v1/forms/{formId}',
    'OPTIONS /v1/forms/{formId}',
    'POST /v1/chat/{widgetId}',
    'OPTIONS /v1/chat/{widgetId}',
  ];
  // ANY: Meta's subscription handshake is a GET.
  const webhookRouteKeys = ['ANY /v1/webhooks/{proxy+}'];
  const routeKeys = ['$default', ...anonymousRouteKeys, ...webhookRouteKeys];
  // The managers' API, on its own integration (test/infra/auth.test.ts checks them one by one).
  const managersRouteKeys = [
    'ANY /v1/{proxy+}',
    'GET /openapi.json',
    'GET /docs',
    'GET /docs/{proxy+}',
    'ANY /console/{proxy+}',
    // The follow-ups' one-click unsubscribe link (test/infra/email-events.test.ts).
    'GET /u/{token}',
    'POST /u/{token}',
    // The alert's signed action links: a GET shows a page, only the POST acts.
    'GET /a/{token}',
    'POST /a/{token}',
  ];

  const routeSettingsOf = (built: Template) => {
    const stages = Object.values(built.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    return stages[0]?.Properties.RouteSettings as Record<string, unknown>;
  };

  it('sends $default and each explicit route to the one ingest integration, with no API-level CORS', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
    // One integration for ingest, one for the managers' API.
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    const ingestIntegration = {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: { 'Fn::GetAtt': [functionId('ingest'), 'Arn'] },
    };
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', ingestIntegration);
    const [integrationId] = Object.keys(
      template.findResources('AWS::ApiGatewayV2::Integration', { Properties: ingestIntegration }),
    );
    template.resourceCountIs('AWS::ApiGatewayV2::Route', routeKeys.length + managersRouteKeys.length);
    for (const routeKey of routeKeys) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        ApiId: { Ref: logicalId(stack.httpApi.api) },
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      });
    }
  });

  it('lets API Gateway invoke ingest through one permission, for this API only', () => {
    const permissions = template.findResources('AWS::Lambda::Permission', {
      Properties: {
        Principal: 'apigateway.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [functionId('ingest'), 'Arn'] },
      },
    });
    expect(Object.keys(permissions)).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [functionId('ingest'), 'Arn'] },
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack.httpApi.api) }, '/*/*/*'])] },
    });
  });

  it('throttles the auto-deployed $default stage with the context limits', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: testContext.throttleRateLimit,
        ThrottlingBurstLimit: testContext.throttleBurstLimit,
      },
    });
  });

  it('gives the anonymous routes and the webhook route their own throttles, and $default none', () => {
    const anonymous = {
      ThrottlingRateLimit: testContext.anonymousThrottleRateLimit,
      ThrottlingBurstLimit: testContext.anonymousThrottleBurstLimit,
    };
    const webhook = {
      ThrottlingRateLimit: testContext.webhookThrottleRateLimit,
      ThrottlingBurstLimit: testContext.webhookThrottleBurstLimit,
    };
    expect(routeSettingsOf(template)).toEqual({
      ...Object.fromEntries(anonymousRouteKeys.map((key) => [key, anonymous])),
      ...Object.fromEntries(webhookRouteKeys.map((key) => [key, webhook])),
    });
  });

  it('takes each route class its limits from its own context parameters', () => {
    const { template: tuned } = build({
      context: {
        anonymousThrottleRateLimit: 3,
        anonymousThrottleBurstLimit: 5,
        webhookThrottleRateLimit: 7,
        webhookThrottleBurstLimit: 11,
      },
      bundle: false,
    });
    const settings = routeSettingsOf(tuned);
    for (const key of anonymousRouteKeys) {
      expect(settings[key]).toEqual({ ThrottlingRateLimit: 3, ThrottlingBurstLimit: 5 });
    }
    for (const key of webhookRouteKeys) {
      expect(settings[key]).toEqual({ ThrottlingRateLimit: 7, ThrottlingBurstLimit: 11 });
    }
  });

  it('creates the stage after every route, since route settings may only name existing routes', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const routeIds = Object.keys(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routeIds).toHaveLength(routeKeys.length + managersRouteKeys.length);
    expect(stage?.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('writes JSON access logs with request metadata and no bodies', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const settings = stage?.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId(stack.httpApi.accessLogs), 'Arn'] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(settings.Format).not.toMatch(/body/i);
  });

  it('outputs the API URL', () => {
    template.hasOutput('ApiUrl', { Value: Match.anyValue() });
  });
});

describe('email', () => {
  it('verifies the context domain with the configuration set as default', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: testContext.sesIdentityDomain,
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: logicalId(stack.email.configurationSet) } },
    });
  });

  it('uses a custom MAIL FROM subdomain for SPF alignment and outputs its records', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      MailFromAttributes: {
        MailFromDomain: `mail.${testContext.sesIdentityDomain}`,
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
    });
    template.hasOutput('MailFromMxRecord', { Value: Match.anyValue() });
    template.hasOutput('MailFromSpfRecord', {
      Value: `mail.${testContext.sesIdentityDomain} TXT "v=spf1 include:amazonses.com ~all"`,
    });
  });

  it('tracks reputation and suppresses bounces and complaints', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      ReputationOptions: { ReputationMetricsEnabled: true },
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('outputs the three DKIM records to publish', () => {
    for (const index of [1, 2, 3]) {
      template.hasOutput(`DkimRecord${index}`, {
        Value: {
          'Fn::Join': [
            '',
            [
              { 'Fn::GetAtt': [logicalId(stack.email.identity), `DkimDNSTokenName${index}`] },
              ' CNAME ',
              { 'Fn::GetAtt': [logicalId(stack.email.identity), `DkimDNSTokenValue${index}`] },
            ],
          ],
        },
      });
    }
  });
});
