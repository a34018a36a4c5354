import { rawMailBucket } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INBOUND_EMAIL_LEADING_KEYS, INGEST_LEADING_KEYS } from '../../infra/functions';
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

const queueArn = (key: 'leads' | 'notifications' | 'timers') => ({
  'Fn::GetAtt': [logicalId(stack.queues.byKey[key].queue), 'Arn'],
});

type FunctionName = 'ingest' | 'router' | 'notifier' | 'inboundEmail' | 'dispatcher';
const ALL: readonly FunctionName[] = ['ingest', 'router', 'notifier', 'inboundEmail', 'dispatcher'];

function statements(fn: FunctionName): PolicyStatementJson[] {
  return statementsOf(template, logicalId(stack.functions.byKey[fn].role));
}

function serviceActions(fn: FunctionName, service: string): string[] {
  return statements(fn)
    .flatMap(actionsOf)
    .filter((action) => action.startsWith(`${service}:`))
    .sort();
}

const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

describe('every function role', () => {
  it.each(ALL)('%s uses no AWS managed policy', (fn) => {
    const role = template.findResources('AWS::IAM::Role')[logicalId(stack.functions.byKey[fn].role)];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.Policies).toBeUndefined();
  });

  it.each(ALL)('%s has no wildcard action, and no wildcard resource but raw-mail object keys', (fn) => {
    for (const statement of statements(fn)) {
      expect(actionsOf(statement).some((action) => action.includes('*'))).toBe(false);
      // Only S3 object ARNs may end in a wildcard, and only under the receipt rule's prefix.
      const resource = JSON.stringify(statement.Resource).replace(`/${rawMailBucket.objectKeyPrefix}*`, '');
      expect(resource).not.toContain('*');
    }
  });

  it.each(['ingest', 'router', 'notifier', 'dispatcher'] as const)('%s cannot read raw mail', (fn) => {
    expect(serviceActions(fn, 's3')).toEqual([]);
  });

  it.each(['router', 'inboundEmail', 'dispatcher'] as const)('%s cannot read any secret', (fn) => {
    expect(serviceActions(fn, 'secretsmanager')).toEqual([]);
  });

  it('notifier may read the link key (to sign the alert’s links) and no other secret', () => {
    expect(serviceActions('notifier', 'secretsmanager')).toEqual(['secretsmanager:GetSecretValue']);
    expect(
      statements('notifier').filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      ),
    ).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: { Ref: logicalId(stack.functions.linkSecret) },
      },
    ]);
  });

  it.each(ALL)('%s may write only to its own log group', (fn) => {
    expect(statements(fn)).toContainEqual(
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.functions.byKey[fn].logGroup), 'Arn'] },
      }),
    );
  });
});

describe('ingest (public)', () => {
  it('may only put and update items under the submission, counter and rate-window partitions', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack.functions.byKey.ingest.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
            Resource: table,
            Condition: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SUB#*', 'STATS#*', 'RATE#*'] },
            },
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

  it('LeadingKeys patterns cover submissions, counters and rate windows but not contacts, leads or acks', () => {
    const allowed = (pk: string) => INGEST_LEADING_KEYS.some((glob) => globToRegExp(glob).test(pk));
    expect(allowed(keys.submission('abc').pk)).toBe(true);
    expect(allowed(keys.stats('form:contact', '2026-01-01').pk)).toBe(true);
    expect(allowed(keys.rate('form:contact', '203.0.113.7', 1_767_225_600).pk)).toBe(true);
    expect(allowed(keys.contact('c1').pk)).toBe(false);
    expect(allowed(keys.lead('c1', 'l1').pk)).toBe(false);
    expect(allowed(keys.identity('email:a@b.c').pk)).toBe(false);
    // The acknowledgement ledger belongs to the notifier: a public caller must not be able to reset it.
    expect(allowed(keys.ackMailbox('0f1e2d').pk)).toBe(false);
    expect(allowed(keys.ackDomain('contact', 'example.com', '2026-01-01T09').pk)).toBe(false);
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

  it('may read only the channel secret, with GetSecretValue alone', () => {
    expect(serviceActions('ingest', 'secretsmanager')).toEqual(['secretsmanager:GetSecretValue']);
    expect(statements('ingest')).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: logicalId(stack.channelSecrets.secret) },
    });
  });
});

describe('inbound-email (invoked by SES)', () => {
  it('may only put and update items under the submission and counter partitions, like ingest', () => {
    expect(INBOUND_EMAIL_LEADING_KEYS).toEqual(['SUB#*', 'STATS#*']);
    expect(statements('inboundEmail')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...INBOUND_EMAIL_LEADING_KEYS] } },
    });
    expect(serviceActions('inboundEmail', 'dynamodb')).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('may read raw mail objects under the receipt rule prefix, and nothing else in S3', () => {
    expect(serviceActions('inboundEmail', 's3')).toEqual(['s3:GetObject']);
    expect(statements('inboundEmail')).toContainEqual({
      Effect: 'Allow',
      Action: 's3:GetObject',
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

  it('sends only to the leads queue and to its own dead-letter queue', () => {
    const sends = statements('inboundEmail').filter((statement) =>
      actionsOf(statement).includes('sqs:SendMessage'),
    );
    expect(sends.map((statement) => statement.Resource)).toEqual(
      expect.arrayContaining([
        queueArn('leads'),
        { 'Fn::GetAtt': [logicalId(stack.functions.inboundEmailDeadLetterQueue), 'Arn'] },
      ]),
    );
    expect(sends).toHaveLength(2);
    expect(serviceActions('inboundEmail', 'sqs')).not.toContain('sqs:ReceiveMessage');
  });

  it('has no SES, KMS or table-read access', () => {
    expect(serviceActions('inboundEmail', 'ses')).toEqual([]);
    expect(serviceActions('inboundEmail', 'kms')).toEqual([]);
    expect(serviceActions('inboundEmail', 'dynamodb')).not.toContain('dynamodb:GetItem');
  });
});

describe('outbox', () => {
  const outboxStatements = () => statementsOf(template, logicalId(stack.functions.byKey.outbox.role));
  const outboxActions = (service: string) =>
    outboxStatements()
      .flatMap(actionsOf)
      .filter((action) => action.startsWith(`${service}:`))
      .sort();

  it('has no DynamoDB item action at all, only the stream reads of its event source', () => {
    expect(outboxActions('dynamodb')).toEqual([
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
    ]);
    expect(outboxStatements()).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'StreamArn'] },
    });
    // ListStreams is the one action IAM authorizes only on "*".
    const wildcard = outboxStatements().filter((statement) =>
      JSON.stringify(statement.Resource).includes('*'),
    );
    expect(wildcard.flatMap(actionsOf)).toEqual(['dynamodb:ListStreams']);
  });

  it('sends only to the leads queue and to its on-failure queue', () => {
    const sends = outboxStatements().filter((statement) => actionsOf(statement).includes('sqs:SendMessage'));
    expect(sends.map((statement) => statement.Resource)).toEqual(
      expect.arrayContaining([
        queueArn('leads'),
        { 'Fn::GetAtt': [logicalId(stack.functions.outboxDeadLetterQueue), 'Arn'] },
      ]),
    );
    expect(sends).toHaveLength(2);
    expect(outboxActions('sqs')).not.toContain('sqs:ReceiveMessage');
  });

  it('has no S3, SES, KMS or Secrets Manager access', () => {
    for (const service of ['s3', 'ses', 'kms', 'secretsmanager']) expect(outboxActions(service)).toEqual([]);
  });

  it('may write only to its own log group', () => {
    expect(outboxStatements()).toContainEqual(
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.functions.byKey.outbox.logGroup), 'Arn'] },
      }),
    );
  });
});

describe('router', () => {
  it('reads and writes items on the table only (Query and DeleteItem for merges), never Scan or an index', () => {
    expect(statements('router')).toContainEqual({
      Effect: 'Allow',
      Action: [
        'dynamodb:GetItem',
        // The managers' loads are read in one BatchGetItem, which IAM authorizes as its own action.
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:Query',
        'dynamodb:DeleteItem',
      ],
      Resource: table,
    });
    expect(serviceActions('router', 'dynamodb')).not.toContain('dynamodb:Scan');
    expect(serviceActions('router', 'dynamodb')).not.toContain('dynamodb:BatchWriteItem');
  });

  it('consumes the leads queue and sends only to the notifications and timers queues', () => {
    const sqs = statements('router').filter((statement) => actionsOf(statement)[0]?.startsWith('sqs:'));
    expect(sqs).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: queueArn('notifications'),
    });
    // A new lead's SLA clock (and its follow-ups) wake up through the timers queue.
    expect(sqs).toContainEqual({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn('timers') });
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
    expect(sqs.filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))).toHaveLength(2);
  });
});

describe('notifier', () => {
  it('reads its send ledger, the configuration and alert preferences, and writes only its ledgers: never a lead or a contact', () => {
    expect(statements('notifier')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: table,
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': ['NOTIFY#*', 'CONFIG#*', 'MANAGER#*', 'SUPPRESS#*'],
        },
      },
    });
    expect(statements('notifier')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['NOTIFY#*', 'ACK#*'] } },
    });
    expect(serviceActions('notifier', 'dynamodb')).not.toContain('dynamodb:Query');
  });

  it('needs no ConditionCheckItem for its acknowledgement-ledger transaction', () => {
    // TransactWriteItems is authorized per entry: a Put or an Update, conditions included, by PutItem or
    // UpdateItem; ConditionCheckItem only for a ConditionCheck entry, which the ledger does not use.
    expect(serviceActions('notifier', 'dynamodb')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
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
