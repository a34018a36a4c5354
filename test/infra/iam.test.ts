import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INGEST_LEADING_KEYS } from '../../infra/functions';
import type { LeadflowStack } from '../../infra/stack';
import { keys } from '../../packages/aws/src/keys';
import {
  actionsOf,
  BUILD_TIMEOUT_MS,
  build,
  logicalId,
  type PolicyStatementJson,
  statementsOf,
} from './support';

let stack: LeadflowStack;
let template: Template;
let table: { 'Fn::GetAtt': [string, 'Arn'] };

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
  table = { 'Fn::GetAtt': [logicalId(stack.storage.table), 'Arn'] };
}, BUILD_TIMEOUT_MS);

const queueArn = (key: 'leads' | 'notifications') => ({
  'Fn::GetAtt': [logicalId(stack.queues.byKey[key].queue), 'Arn'],
});

function statements(fn: 'ingest' | 'router' | 'notifier'): PolicyStatementJson[] {
  return statementsOf(template, logicalId(stack.functions.byKey[fn].role));
}

function serviceActions(fn: 'ingest' | 'router' | 'notifier', service: string): string[] {
  return statements(fn)
    .flatMap(actionsOf)
    .filter((action) => action.startsWith(`${service}:`))
    .sort();
}

const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

describe('every function role', () => {
  it.each(['ingest', 'router', 'notifier'] as const)('%s uses no AWS managed policy', (fn) => {
    const role = template.findResources('AWS::IAM::Role')[logicalId(stack.functions.byKey[fn].role)];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.Policies).toBeUndefined();
  });

  it.each(['ingest', 'router', 'notifier'] as const)('%s has no wildcard action or resource', (fn) => {
    for (const statement of statements(fn)) {
      expect(actionsOf(statement).some((action) => action.includes('*'))).toBe(false);
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
    }
  });

  it.each(['ingest', 'router', 'notifier'] as const)('%s may write only to its own log group', (fn) => {
    expect(statements(fn)).toContainEqual(
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.functions.byKey[fn].logGroup), 'Arn'] },
      }),
    );
  });
});

describe('ingest (public)', () => {
  it('may only put and update items under the submission and counter partitions', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack.functions.byKey.ingest.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
            Resource: table,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUB#*', 'STATS#*'] } },
          },
        ]),
      },
    });
    expect(serviceActions('ingest', 'dynamodb')).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('cannot read anything from the table', () => {
    const actions = statements('ingest').flatMap(actionsOf);
    for (const read of ['GetItem', 'BatchGetItem', 'Query', 'Scan', 'PartiQLSelect', 'DeleteItem']) {
      expect(actions).not.toContain(`dynamodb:${read}`);
    }
  });

  it('LeadingKeys patterns cover submissions and counters but not contacts or leads', () => {
    const allowed = (pk: string) => INGEST_LEADING_KEYS.some((glob) => globToRegExp(glob).test(pk));
    expect(allowed(keys.submission('abc').pk)).toBe(true);
    expect(allowed(keys.stats('form:contact', '2026-01-01').pk)).toBe(true);
    expect(allowed(keys.contact('c1').pk)).toBe(false);
    expect(allowed(keys.lead('c1', 'l1').pk)).toBe(false);
    expect(allowed(keys.identity('email:a@b.c').pk)).toBe(false);
  });

  it('may only send to the leads queue', () => {
    expect(serviceActions('ingest', 'sqs')).toEqual(['sqs:SendMessage']);
    expect(statements('ingest')).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: queueArn('leads'),
    });
  });

  it('has no SES or KMS access', () => {
    expect(serviceActions('ingest', 'ses')).toEqual([]);
    expect(serviceActions('ingest', 'kms')).toEqual([]);
  });
});

describe('router', () => {
  it('reads and writes single items on the table only, without Query, Scan or DeleteItem', () => {
    expect(statements('router')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      Resource: table,
    });
    expect(serviceActions('router', 'dynamodb')).not.toContain('dynamodb:Query');
    expect(serviceActions('router', 'dynamodb')).not.toContain('dynamodb:Scan');
    expect(serviceActions('router', 'dynamodb')).not.toContain('dynamodb:DeleteItem');
  });

  it('consumes the leads queue and sends only to the notifications queue', () => {
    const sqs = statements('router').filter((statement) => actionsOf(statement)[0]?.startsWith('sqs:'));
    expect(sqs).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: queueArn('notifications'),
    });
    expect(sqs).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining([
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
        ]),
        Resource: queueArn('leads'),
      }),
    );
    expect(sqs.filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))).toHaveLength(1);
  });
});

describe('notifier', () => {
  it('reads and writes items, and deletes idempotency records, on the table only', () => {
    expect(statements('notifier')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: table,
    });
    expect(serviceActions('notifier', 'dynamodb')).not.toContain('dynamodb:Query');
  });

  it('sends email only through the leadflow identity and configuration set', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack.functions.byKey.notifier.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['ses:SendEmail', 'ses:SendRawEmail'],
            Resource: [
              { 'Fn::Join': ['', Match.arrayWith([':identity/', { Ref: logicalId(stack.email.identity) }])] },
              {
                'Fn::Join': [
                  '',
                  Match.arrayWith([':configuration-set/', { Ref: logicalId(stack.email.configurationSet) }]),
                ],
              },
            ],
          },
        ]),
      },
    });
    expect(
      statements('notifier').filter((statement) => actionsOf(statement)[0]?.startsWith('ses:')),
    ).toHaveLength(1);
  });

  it('consumes the notifications queue and sends to no queue', () => {
    expect(serviceActions('notifier', 'sqs')).not.toContain('sqs:SendMessage');
    expect(statements('notifier')).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
        Resource: queueArn('notifications'),
      }),
    );
  });
});
