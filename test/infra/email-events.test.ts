import { env } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import type { LeadflowStack } from '../../infra/stack';
import { actionsOf, BUILD_TIMEOUT_MS, build, logicalId, statementsOf, testContext } from './support';

/**
 * SES bounces and complaints: the configuration set suppresses and publishes them to an encrypted topic,
 * the sesEvents function is its only subscriber with only the access it needs, and subscription mail has its
 * own sender address.
 */
let stack: LeadflowStack;
let template: Template;
let table: { 'Fn::GetAtt': [string, 'Arn'] };

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
  table = { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] };
}, BUILD_TIMEOUT_MS);

const statements = (key: 'sesEvents' | 'timer' | 'notifier') =>
  statementsOf(template, logicalId(stack.functions.byKey[key].role));
const functionOf = (key: 'sesEvents' | 'notifier') =>
  template.findResources('AWS::Lambda::Function')[logicalId(stack.functions.byKey[key].function)];

describe('the configuration set', () => {
  it('suppresses addresses that bounced or complained', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('publishes BOUNCE and COMPLAINT events (and nothing else) to the events topic', () => {
    const destinations = template.findResources('AWS::SES::ConfigurationSetEventDestination');
    expect(Object.keys(destinations)).toHaveLength(1);
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: logicalId(stack.email.configurationSet) },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint'],
        SnsDestination: { TopicARN: { Ref: logicalId(stack.email.eventsTopic) } },
      },
    });
  });
});

describe('the events topic', () => {
  it('is encrypted with a rotated customer key that SES may use for this configuration set only', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(stack.email.eventsKey), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Principal: { Service: 'ses.amazonaws.com' },
            Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
            Resource: '*',
            Condition: {
              StringEquals: { 'aws:SourceAccount': Match.anyValue() },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    Match.arrayWith([
                      ':configuration-set/',
                      { Ref: logicalId(stack.email.configurationSet) },
                    ]),
                  ],
                },
              },
            },
          },
        ]),
      },
    });
  });

  it('lets SES publish for this configuration set, and refuses anything but TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalId(stack.email.eventsTopic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'ses.amazonaws.com' },
            Condition: {
              StringEquals: {
                'AWS:SourceAccount': Match.anyValue(),
                'AWS:SourceArn': Match.objectLike({
                  'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':configuration-set/')])],
                }),
              },
            },
          }),
        ]),
      },
    });
  });

  it('has the sesEvents function as its one subscriber, allowed to invoke it from this topic only', () => {
    const subscriptions = template.findResources('AWS::SNS::Subscription');
    expect(Object.values(subscriptions)).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: logicalId(stack.email.eventsTopic) },
      Endpoint: { 'Fn::GetAtt': [logicalId(stack.functions.byKey.sesEvents.function), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.functions.byKey.sesEvents.function), 'Arn'] },
      SourceArn: { Ref: logicalId(stack.email.eventsTopic) },
    });
  });
});

describe('the sesEvents function', () => {
  it('reads the identity claim and the contact, writes the profile, timeline and suppression list: nothing else', () => {
    const dynamo = statements('sesEvents').filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
    );
    expect(dynamo).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: table,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IDENT#*', 'CONTACT#*', 'SUPPRESS#*'] },
        },
      },
    ]);
    const all = statements('sesEvents').flatMap(actionsOf);
    expect(all.filter((action) => /^(ses|sqs:Receive|secretsmanager|s3):?/.test(action))).toEqual([]);
  });

  it('retries twice, then dead-letters the event to an alarmed queue', () => {
    const fn = functionOf('sesEvents');
    expect(fn?.Properties.DeadLetterConfig).toEqual({
      TargetArn: { 'Fn::GetAtt': [logicalId(stack.functions.sesEventsDeadLetterQueue), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(stack.functions.byKey.sesEvents.function) },
      MaximumRetryAttempts: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.functions.sesEventsDeadLetterQueue), 'QueueName'] },
        },
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
    });
  });

  it('runs the handler named in resources.ts with the table name only', () => {
    const fn = functionOf('sesEvents');
    expect(fn?.Properties.Handler).toBe('index.handler');
    expect(Object.keys(fn?.Properties.Environment.Variables ?? {})).toContain(env.tableName);
    expect(fn?.Properties.Environment.Variables).not.toHaveProperty(env.sesFromAddress);
  });
});

describe('who reads the suppression list', () => {
  it('the notifier, before every send to a lead', () => {
    expect(statements('notifier')).toContainEqual(
      expect.objectContaining({
        Action: 'dynamodb:GetItem',
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': expect.arrayContaining(['SUPPRESS#*']) },
        },
      }),
    );
  });

  it('the timer, with the contact’s timeline, when a follow-up step falls due', () => {
    expect(statements('timer')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUPPRESS#*'] } },
    });
    expect(statements('timer')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONTACT#*'] } },
    });
  });
});

describe('the follow-ups’ sender', () => {
  it('is news@ at the identity domain by default, another address than the transactional sender', () => {
    const variables = functionOf('notifier')?.Properties.Environment.Variables;
    expect(variables[env.sesFollowUpFromAddress]).toBe('news@example.com');
    expect(variables[env.sesFromAddress]).toBe('leads@example.com');
  });

  it('can be configured, at the identity domain only, and never the transactional address', () => {
    const { stack: custom, template: customTemplate } = build({
      bundle: false,
      context: { sesFollowUpFromAddress: 'hello@mail.example.com' },
    });
    const variables =
      customTemplate.findResources('AWS::Lambda::Function')[
        logicalId(custom.functions.byKey.notifier.function)
      ]?.Properties.Environment.Variables;
    expect(variables[env.sesFollowUpFromAddress]).toBe('hello@mail.example.com');
    expect(() =>
      createApp({ context: { ...testContext, sesFollowUpFromAddress: 'news@elsewhere.org' } }),
    ).toThrow(/leadflow:sesFollowUpFromAddress: Must be an address at example\.com/);
    expect(() =>
      createApp({ context: { ...testContext, sesFollowUpFromAddress: 'Leads@example.com' } }),
    ).toThrow(/leadflow:sesFollowUpFromAddress: Must differ from sesFromAddress/);
  });
});

describe('the unsubscribe link', () => {
  it.each(['GET', 'POST'])('%s /u/{token} goes to the api function, with no authorizer', (method) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: `${method} /u/{token}`,
      AuthorizationType: 'NONE',
      Target: Match.anyValue(),
    });
  });
});
