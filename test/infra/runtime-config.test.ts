import { unmarshall } from '@aws-sdk/util-dynamodb';
import { configLeadingKeys, schedules } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { Rule } from 'aws-cdk-lib/aws-events';
import { beforeAll, describe, expect, it } from 'vitest';
import { config } from '../../config';
import { SEED_IGNORED_ERRORS } from '../../infra/runtime-config';
import type { LeadflowStack } from '../../infra/stack';
import { keys } from '../../packages/aws/src/keys';
import { actionsOf, BUILD_TIMEOUT_MS, build, logicalId, statementsOf } from './support';

let stack: LeadflowStack;
let template: Template;
let table: { 'Fn::GetAtt': [string, 'Arn'] };

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
  table = { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] };
}, BUILD_TIMEOUT_MS);

/** A custom resource's call, with CloudFormation tokens (the table's name) replaced by a placeholder. */
function sdkCall(value: unknown): Record<string, unknown> {
  const text =
    typeof value === 'string'
      ? value
      : (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
          .map((part) => (typeof part === 'string' ? part : '<token>'))
          .join('');
  return JSON.parse(text);
}

interface SeedPut {
  Put: { TableName: string; Item: Record<string, never>; ConditionExpression: string };
}

function seed() {
  const resources = template.findResources('Custom::AWS');
  expect(Object.keys(resources)).toHaveLength(1);
  const properties = Object.values(resources)[0]?.Properties as Record<string, unknown>;
  return { properties, create: sdkCall(properties.Create), update: sdkCall(properties.Update) };
}

const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

describe('runtime configuration seed (custom resource)', () => {
  it('puts version 1 of the bundled routing section, only where no configuration exists, on create and update', () => {
    const { create, update, properties } = seed();
    expect(update).toEqual(create);
    expect(properties.InstallLatestAwsSdk).toBe(false);
    expect(create).toMatchObject({
      service: 'DynamoDB',
      action: 'TransactWriteItems',
      physicalResourceId: { id: 'leadflow-routing-config-seed' },
      // A configuration already there refuses the put: ignored, so a redeploy keeps runtime changes.
      ignoreErrorCodesMatching: SEED_IGNORED_ERRORS,
    });
    const puts = (create.parameters as { TransactItems: SeedPut[] }).TransactItems;
    expect(puts).toHaveLength(2);
    for (const { Put } of puts) {
      expect(Put.TableName).toBe('<token>');
      expect(Put.ConditionExpression).toBe('attribute_not_exists(pk)');
    }
    const [current, history] = puts.map(({ Put }) => unmarshall(Put.Item));
    expect(current).toMatchObject({ ...keys.config(), version: 1, updatedBy: 'deploy' });
    expect(history).toMatchObject({ ...keys.config(1), version: 1 });
    expect(history?.sk).toBe('V#0000000001');
    const section = JSON.parse(String(current?.config));
    expect(Object.keys(section).sort()).toEqual(['routing', 'scoring', 'teams']);
    expect(section.teams).toEqual(config.raw.teams);
    expect(section.routing).toEqual(config.raw.routing);
    expect(history?.config).toBe(current?.config);
  });

  it('runs on its own role, which may only put items under CONFIG# and write its own logs', () => {
    const role = template.findResources('AWS::IAM::Role')[logicalId(stack.runtimeConfig.role)];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = statementsOf(template, logicalId(stack.runtimeConfig.role));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CONFIG#*'] } },
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [logicalId(stack.runtimeConfig.logGroup), 'Arn'] },
    });
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'dynamodb:PutItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  it('LeadingKeys cover the current configuration and its history, and nothing of the leads', () => {
    const allowed = (pk: string) => configLeadingKeys.some((glob) => globToRegExp(glob).test(pk));
    expect(allowed(keys.config().pk)).toBe(true);
    expect(allowed(keys.config(7).pk)).toBe(true);
    expect(allowed(keys.contact('c1').pk)).toBe(false);
    expect(allowed(keys.lead('c1', 'l1').pk)).toBe(false);
    expect(allowed(keys.managerLoad('bob').pk)).toBe(false);
    expect(allowed(keys.submission('abc').pk)).toBe(false);
  });
});

describe('functions that read the runtime configuration', () => {
  it.each(['router', 'dispatcher'] as const)('%s may GetItem on the whole table, CONFIG# included', (fn) => {
    const gets = statementsOf(template, logicalId(stack.functions.byKey[fn].role)).filter((statement) =>
      actionsOf(statement).includes('dynamodb:GetItem'),
    );
    expect(gets).toHaveLength(1);
    expect(gets[0]?.Resource).toEqual(table);
    expect(gets[0]?.Condition).toBeUndefined();
  });

  it('notifier may GetItem only its send ledger, the configuration (CONFIG#), alert preferences (MANAGER#) and the suppression list (SUPPRESS#)', () => {
    const gets = statementsOf(template, logicalId(stack.functions.byKey.notifier.role)).filter((statement) =>
      actionsOf(statement).includes('dynamodb:GetItem'),
    );
    expect(gets).toHaveLength(1);
    expect(gets[0]?.Resource).toEqual(table);
    expect(gets[0]?.Condition).toEqual({
      'ForAllValues:StringLike': {
        'dynamodb:LeadingKeys': ['NOTIFY#*', 'CONFIG#*', 'MANAGER#*', 'SUPPRESS#*'],
      },
    });
  });
});

describe('dispatcher (the queue drain)', () => {
  const dispatcher = () => stack.functions.byKey.dispatcher;

  it('runs every minute from an EventBridge rule, with no retry on top of the next tick', () => {
    const [definition] = schedules;
    expect(definition).toMatchObject({ function: 'dispatcher', everyMinutes: 1 });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [logicalId(dispatcher().function), 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        },
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalId(dispatcher().function), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalId(stack.functions.schedules[0] as Rule), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(dispatcher().function) },
      MaximumRetryAttempts: 0,
    });
  });

  it('queries only the index, reads and writes items on the table, never scans or deletes', () => {
    const statements = statementsOf(template, logicalId(dispatcher().role));
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: table,
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Join': ['', [table, '/index/gsi1']] },
    });
    const dynamo = statements.flatMap(actionsOf).filter((action) => action.startsWith('dynamodb:'));
    for (const action of ['Scan', 'DeleteItem', 'BatchWriteItem', 'PartiQLSelect']) {
      expect(dynamo).not.toContain(`dynamodb:${action}`);
    }
  });

  it('sends only to the notifications queue and, for a dequeued lead’s SLA clock, the timers queue', () => {
    const sends = statementsOf(template, logicalId(dispatcher().role)).filter((statement) =>
      actionsOf(statement).includes('sqs:SendMessage'),
    );
    expect(sends).toEqual([
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.notifications.queue), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.timers.queue), 'Arn'] },
      },
    ]);
  });
});

describe('outputs for the admin command', () => {
  it('names the table and the notifications queue', () => {
    template.hasOutput('TableName', { Value: { Ref: logicalId(stack.storage.table) } });
    template.hasOutput('NotificationsQueueUrl', {
      Value: { Ref: logicalId(stack.queues.byKey.notifications.queue) },
    });
  });
});
