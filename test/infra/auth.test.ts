import { env, rawMailBucket } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import type { LeadflowStack } from '../../infra/stack';
import {
  actionsOf,
  BUILD_TIMEOUT_MS,
  build,
  logicalId,
  type PolicyStatementJson,
  statementsOf,
  testContext,
} from './support';

let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
}, BUILD_TIMEOUT_MS);

const pool = () => ({ Ref: logicalId(stack.auth.userPool) });
const client = () => ({ Ref: logicalId(stack.auth.client) });
/** The `iss` of the pool's tokens, as CloudFormation builds it. */
const issuer = () => ({
  'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', pool()]],
});
const apiEndpoint = () => ({ 'Fn::GetAtt': [logicalId(stack.httpApi.api), 'ApiEndpoint'] });

describe('the user pool', () => {
  it('lets only administrators create users, who sign in by username or email', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: Match.objectLike({ AllowAdminCreateUserOnly: true }),
      AliasAttributes: ['email'],
      UsernameAttributes: Match.absent(),
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
    });
  });

  it('asks for strong passwords and offers TOTP MFA, never SMS', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
          TemporaryPasswordValidityDays: 3,
          PasswordHistorySize: 5,
        },
      },
      MfaConfiguration: 'OPTIONAL',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
  });

  it('enforces threat protection on the Plus plan, blocking high-risk sign-ins and compromised credentials', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
    });
    template.hasResourceProperties('AWS::Cognito::UserPoolRiskConfigurationAttachment', {
      UserPoolId: pool(),
      ClientId: 'ALL',
      AccountTakeoverRiskConfiguration: {
        Actions: {
          HighAction: { EventAction: 'BLOCK', Notify: false },
          MediumAction: { EventAction: 'MFA_IF_CONFIGURED', Notify: false },
          LowAction: { EventAction: 'NO_ACTION', Notify: false },
        },
      },
      CompromisedCredentialsRiskConfiguration: { Actions: { EventAction: 'BLOCK' } },
    });
  });

  it('survives a stack deletion: deletion protection on, and retained', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('has exactly the groups admin, team_lead and manager', () => {
    const groups = template.findResources('AWS::Cognito::UserPoolGroup');
    expect(
      Object.values(groups)
        .map((group) => group.Properties.GroupName)
        .sort(),
    ).toEqual(['admin', 'manager', 'team_lead']);
    for (const group of Object.values(groups)) expect(group.Properties.UserPoolId).toEqual(pool());
  });

  it('has no hosted domain unless a prefix is configured', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
  });
});

describe('the console app client', () => {
  it('uses the authorization code flow with PKCE: a public client without a secret', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      UserPoolId: pool(),
      GenerateSecret: false,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      SupportedIdentityProviders: ['COGNITO'],
      // SRP and refresh only: no flow sends a password in the clear, and no implicit grant.
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
  });

  it('issues access and ID tokens for 1 h and refresh tokens for 30 days', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      AccessTokenValidity: 60,
      IdTokenValidity: 60,
      RefreshTokenValidity: 30 * 24 * 60,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
    });
  });

  it("returns to the API's own /console/callback by default", () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: [{ 'Fn::Join': ['', [apiEndpoint(), '/console/callback']] }],
      LogoutURLs: [{ 'Fn::Join': ['', [apiEndpoint(), '/console/signed-out']] }],
    });
  });

  it('takes callback URLs and a hosted domain prefix from context', () => {
    const { template: custom } = build({
      bundle: false,
      context: {
        authCallbackUrls: 'https://crm.example.com/console/callback,http://localhost:3000/console/callback',
        authDomainPrefix: 'leadflow-demo',
        publicBaseUrl: 'https://leads.example.com',
      },
    });
    custom.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      CallbackURLs: ['https://crm.example.com/console/callback', 'http://localhost:3000/console/callback'],
      LogoutURLs: ['https://leads.example.com/console/signed-out'],
    });
    custom.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'leadflow-demo' });
    // The console's managed sign-in goes to that domain; without one (the default) the api is not told any.
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'api',
          [env.authDomainUrl]: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'api',
          [env.authDomainUrl]: Match.absent(),
        }),
      },
    });
  });

  it.each([
    ['authDomainPrefix', 'LeadFlow'],
    ['authDomainPrefix', 'my-cognito-login'],
    ['authCallbackUrls', 'http://crm.example.com/callback'],
  ] as const)('refuses leadflow:%s %s', (key, value) => {
    expect(() => createApp({ context: { ...testContext, [key]: value } })).toThrow(
      new RegExp(`leadflow:${key}`),
    );
  });
});

describe('the HTTP API', () => {
  const routes = () =>
    Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties as Record<string, unknown>,
    );
  const route = (key: string) => {
    const found = routes().filter((properties) => properties.RouteKey === key);
    expect(found, key).toHaveLength(1);
    return found[0] ?? {};
  };
  const integrationOf = (functionKey: 'ingest' | 'api') => {
    const [id] = Object.keys(
      template.findResources('AWS::ApiGatewayV2::Integration', {
        Properties: {
          IntegrationUri: { 'Fn::GetAtt': [logicalId(stack.functions.byKey[functionKey].function), 'Arn'] },
        },
      }),
    );
    return { 'Fn::Join': ['', ['integrations/', { Ref: id }]] };
  };

  it("has a JWT authorizer that trusts the pool's access tokens for the console client", () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: { Ref: logicalId(stack.httpApi.api) },
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      // Access tokens carry no aud: API Gateway matches the audience against client_id.
      JwtConfiguration: { Issuer: issuer(), Audience: [client()] },
    });
  });

  it('guards ANY /v1/{proxy+} with the JWT authorizer and sends it to the api function', () => {
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(route('ANY /v1/{proxy+}')).toMatchObject({
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: authorizerId },
      Target: integrationOf('api'),
    });
  });

  it('keeps the more specific public routes public, and with ingest', () => {
    for (const key of [
      'POST /v1/forms/{formId}',
      'OPTIONS /v1/forms/{formId}',
      'POST /v1/chat/{widgetId}',
      'OPTIONS /v1/chat/{widgetId}',
      'ANY /v1/webhooks/{proxy+}',
      '$default',
    ]) {
      expect(route(key), key).toMatchObject({ AuthorizationType: 'NONE', Target: integrationOf('ingest') });
      expect(route(key)).not.toHaveProperty('AuthorizerId');
    }
  });

  it('serves the API description, the console, the alert’s link pages and the unsubscribe link from the api function without a token', () => {
    for (const key of [
      'GET /openapi.json',
      'GET /docs',
      'GET /docs/{proxy+}',
      'ANY /console/{proxy+}',
      'GET /a/{token}',
      'POST /a/{token}',
      'GET /u/{token}',
      'POST /u/{token}',
    ]) {
      expect(route(key), key).toMatchObject({ AuthorizationType: 'NONE', Target: integrationOf('api') });
      expect(route(key)).not.toHaveProperty('AuthorizerId');
    }
  });

  it('has no other route behind the authorizer, and no other route to the api function', () => {
    expect(routes().filter((properties) => properties.AuthorizationType !== 'NONE')).toHaveLength(1);
    expect(routes().filter((properties) => equal(properties.Target, integrationOf('api')))).toHaveLength(9);
  });

  it('lets API Gateway invoke the api function for this API only', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.functions.byKey.api.function), 'Arn'] },
      SourceArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack.httpApi.api) }, '/*/*/*'])] },
    });
  });
});

const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

describe('the api function', () => {
  const statements = (): PolicyStatementJson[] =>
    statementsOf(template, logicalId(stack.functions.byKey.api.role));
  const serviceActions = (service: string) =>
    statements()
      .flatMap(actionsOf)
      .filter((action) => action.startsWith(`${service}:`))
      .sort();
  const table = () => ({ 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] });

  it('verifies the pool tokens of the console client, and reads the runtime configuration like the router', () => {
    const variables =
      template.findResources('AWS::Lambda::Function')[logicalId(stack.functions.byKey.api.function)]
        ?.Properties.Environment.Variables;
    expect(variables).toMatchObject({
      [env.authIssuer]: issuer(),
      [env.authJwksUrl]: {
        'Fn::Join': [
          '',
          [
            'https://cognito-idp.',
            { Ref: 'AWS::Region' },
            '.amazonaws.com/',
            pool(),
            '/.well-known/jwks.json',
          ],
        ],
      },
      [env.authClientId]: client(),
      [env.tableName]: { Ref: logicalId(stack.storage.table) },
      [env.notificationsQueueUrl]: { Ref: logicalId(stack.queues.byKey.notifications.queue) },
      [env.rawMailBucket]: { Ref: logicalId(stack.inboundEmail.bucket) },
      [env.rawMailPrefix]: rawMailBucket.objectKeyPrefix,
      // The key the alert's action links are checked with.
      [env.linkSecretArn]: { Ref: logicalId(stack.functions.linkSecret) },
    });
    // The default (10 s) applies, as for the router.
    expect(variables).not.toHaveProperty(env.configCacheSeconds);
  });

  it('reads and writes items of the whole table and queries its indexes, never Scan or BatchWriteItem', () => {
    expect(statements()).toContainEqual({
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:Query',
      ],
      Resource: table(),
    });
    const indexQuery = statements().find((statement) => equal(statement.Action, 'dynamodb:Query'));
    expect(indexQuery?.Resource).toEqual(
      stack.storage.indexArns.map((_, index) => ({
        'Fn::Join': ['', [table(), `/index/gsi${index + 1}`]],
      })),
    );
    for (const action of ['dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:PartiQLSelect']) {
      expect(serviceActions('dynamodb')).not.toContain(action);
    }
  });

  it('reads and deletes raw mail under the receipt prefix only', () => {
    expect(serviceActions('s3')).toEqual(['s3:DeleteObject', 's3:GetObject']);
    expect(statements()).toContainEqual({
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:DeleteObject'],
      Resource: {
        'Fn::Join': [
          '',
          [
            { 'Fn::GetAtt': [logicalId(stack.inboundEmail.bucket), 'Arn'] },
            `/${rawMailBucket.objectKeyPrefix}*`,
          ],
        ],
      },
    });
  });

  it('sends only to the notifications queue, reads only the link key, and has no SES or KMS access', () => {
    expect([...new Set(serviceActions('sqs'))]).toEqual(['sqs:SendMessage']);
    expect(statements()).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.notifications.queue), 'Arn'] },
    });
    // A reassigned lead's new SLA clock and a task's reminders go through the timers queue.
    expect(statements()).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.timers.queue), 'Arn'] },
    });
    for (const service of ['ses', 'kms', 'cognito-idp']) expect(serviceActions(service)).toEqual([]);
    // The alert's action links are checked with the link key; the channel secrets stay with ingest.
    expect(serviceActions('secretsmanager')).toEqual(['secretsmanager:GetSecretValue']);
    expect(statements()).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: logicalId(stack.functions.linkSecret) },
    });
  });

  it('has no wildcard action and no wildcard resource but raw-mail object keys', () => {
    for (const statement of statements()) {
      expect(actionsOf(statement).some((action) => action.includes('*'))).toBe(false);
      const resource = JSON.stringify(statement.Resource).replace(`/${rawMailBucket.objectKeyPrefix}*`, '');
      expect(resource).not.toContain('*');
    }
  });
});
