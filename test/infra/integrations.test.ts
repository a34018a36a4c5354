import {
  domainEventSource,
  eventSources,
  functions,
  queues,
  streamEventSource,
} from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DELIVERER_READ_KEYS, DELIVERER_WRITE_KEYS, EVENTS_READ_KEYS } from '../../infra/functions';
import type { LeadflowStack } from '../../infra/stack';
import { webhookKeys } from '../../packages/aws/src/items/webhooks';
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

type Fn = 'events' | 'deliverer' | 'api';
const statements = (fn: Fn): PolicyStatementJson[] =>
  statementsOf(template, logicalId(stack.functions.byKey[fn].role));
const serviceActions = (fn: Fn, service: string) =>
  statements(fn)
    .flatMap(actionsOf)
    .filter((action) => action.startsWith(`${service}:`))
    .sort();
const queueArn = (key: keyof typeof queues) => ({
  'Fn::GetAtt': [logicalId(stack.queues.byKey[key].queue), 'Arn'],
});
const functionRef = (fn: keyof typeof functions) => ({ Ref: logicalId(stack.functions.byKey[fn].function) });
const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

function streamMapping(fn: 'outbox' | 'events') {
  const found = Object.values(
    template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { FunctionName: functionRef(fn) },
    }),
  );
  expect(found).toHaveLength(1);
  return found[0]?.Properties as Record<string, unknown> & {
    FilterCriteria: { Filters: { Pattern: string }[] };
  };
}

describe('the table stream feeds two functions', () => {
  it('maps the stream to the outbox and the events function, and to nothing else (two readers per shard)', () => {
    const onStream = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (mapping) => mapping.Properties.EventSourceArn['Fn::GetAtt']?.[1] === 'StreamArn',
    );
    expect(
      onStream.map((mapping) => mapping.Properties.FunctionName).sort((a, b) => a.Ref.localeCompare(b.Ref)),
    ).toEqual([functionRef('events'), functionRef('outbox')].sort((a, b) => a.Ref.localeCompare(b.Ref)));
  });

  it('feeds the events function inserted timeline and audit entries, with retries and an on-failure queue', () => {
    const mapping = streamMapping('events');
    expect(mapping).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.storage.table), 'StreamArn'] },
      FunctionName: functionRef('events'),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: domainEventSource.batchSize,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: domainEventSource.retryAttempts,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [logicalId(stack.functions.eventsDeadLetterQueue), 'Arn'] },
        },
      },
      FilterCriteria: { Filters: [{ Pattern: expect.any(String) }, { Pattern: expect.any(String) }] },
    });
    expect(mapping.FilterCriteria.Filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      {
        eventName: ['INSERT'],
        dynamodb: { Keys: { pk: { S: [{ prefix: 'CONTACT#' }] }, sk: { S: [{ prefix: 'TL#' }] } } },
      },
      { eventName: ['INSERT'], dynamodb: { Keys: { pk: { S: [{ prefix: 'AUDIT#' }] } } } },
    ]);
  });

  it('keeps the outbox’s own filter: inserted or modified submissions only', () => {
    expect(
      streamMapping('outbox').FilterCriteria.Filters.map((filter) => JSON.parse(filter.Pattern)),
    ).toEqual([{ eventName: ['INSERT', 'MODIFY'], dynamodb: { Keys: { pk: { S: [{ prefix: 'SUB#' }] } } } }]);
    expect(streamEventSource.function).toBe('outbox');
  });

  it('filters on the key builders’ own prefixes', () => {
    const matches = (pk: string, sk: string) =>
      domainEventSource.keyFilters.some(
        (filter) =>
          pk.startsWith(filter.partitionKeyPrefix) &&
          (!('sortKeyPrefix' in filter) || sk.startsWith(filter.sortKeyPrefix)),
      );
    const entry = keys.interaction('c1', '2026-01-01T00:00:00.000Z', 'i1');
    const audit = keys.audit('2026-01-01T00:00:00.000Z', 'a1');
    expect(matches(entry.pk, entry.sk)).toBe(true);
    expect(matches(audit.pk, audit.sk)).toBe(true);
    for (const other of [
      keys.lead('c1', 'l1'),
      keys.contact('c1'),
      keys.task('c1', 't1'),
      keys.submission('x'),
    ]) {
      expect(matches(other.pk, other.sk)).toBe(false);
    }
  });

  it('describes exhausted records in an encrypted queue kept 14 days, alarmed on its first message', () => {
    const queue = logicalId(stack.functions.eventsDeadLetterQueue);
    expect(template.findResources('AWS::SQS::Queue')[queue]?.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: domainEventSource.onFailure.retentionSeconds,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 1,
    });
  });
});

describe('events function', () => {
  it('reads only the delivery targets and the configuration, and a lead by id on gsi3; writes nothing', () => {
    expect(EVENTS_READ_KEYS).toEqual(['WEBHOOKS', 'CONFIG#*']);
    expect(statements('events')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:Query'],
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...EVENTS_READ_KEYS] } },
    });
    expect(statements('events')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Join': ['', [table, '/index/gsi3']] },
    });
    const dynamo = serviceActions('events', 'dynamodb');
    for (const write of ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'Scan']) {
      expect(dynamo).not.toContain(`dynamodb:${write}`);
    }
  });

  it('sends only to the deliveries queue and its on-failure queue, and reads only the channel secret', () => {
    const sends = statements('events').filter((statement) =>
      actionsOf(statement).includes('sqs:SendMessage'),
    );
    expect(sends.map((statement) => statement.Resource)).toEqual(
      expect.arrayContaining([
        queueArn('deliveries'),
        { 'Fn::GetAtt': [logicalId(stack.functions.eventsDeadLetterQueue), 'Arn'] },
      ]),
    );
    expect(sends).toHaveLength(2);
    expect(statements('events')).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: logicalId(stack.channelSecrets.secret) },
    });
    expect(serviceActions('events', 'secretsmanager')).toEqual(['secretsmanager:GetSecretValue']);
    for (const service of ['s3', 'ses', 'kms']) expect(serviceActions('events', service)).toEqual([]);
  });
});

describe('deliverer function', () => {
  it('consumes the deliveries queue in small batches, reporting failed records only', () => {
    const source = eventSources.find((definition) => definition.function === 'deliverer');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: queueArn('deliveries'),
      FunctionName: functionRef('deliverer'),
      BatchSize: source?.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: source?.maxConcurrency },
    });
  });

  it('runs outside any VPC (outbound HTTPS only), with the declared timeout', () => {
    const fn =
      template.findResources('AWS::Lambda::Function')[logicalId(stack.functions.byKey.deliverer.function)];
    expect(fn?.Properties.VpcConfig).toBeUndefined();
    expect(fn?.Properties.Timeout).toBe(functions.deliverer.timeoutSeconds);
    // A message is not redelivered while an attempt (10 s post timeout) can still be running.
    expect(queues.deliveries.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(
      6 * functions.deliverer.timeoutSeconds,
    );
  });

  it('reads the targets and its sent markers; writes targets, dead letters, rate slots, sent markers and the audit trail', () => {
    expect(statements('deliverer')).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...DELIVERER_READ_KEYS] } },
    });
    expect(statements('deliverer')).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      Resource: table,
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...DELIVERER_WRITE_KEYS] } },
    });
    expect(serviceActions('deliverer', 'dynamodb')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('has LeadingKeys that cover its items and no lead, contact or configuration', () => {
    const may = (globs: readonly string[], pk: string) => globs.some((glob) => globToRegExp(glob).test(pk));
    for (const pk of [
      webhookKeys.subscription('wh_1').pk,
      webhookKeys.chat('sales', 'slack').pk,
      webhookKeys.deadLetter('01J').pk,
      webhookKeys.rate('slack:sales', 1).pk,
      webhookKeys.sent('dlv_1').pk,
      keys.audit('2026-01-01T00:00:00.000Z', 'a1').pk,
    ]) {
      expect(may(DELIVERER_WRITE_KEYS, pk), pk).toBe(true);
    }
    expect(may(DELIVERER_READ_KEYS, webhookKeys.subscription('wh_1').pk)).toBe(true);
    expect(may(DELIVERER_READ_KEYS, webhookKeys.sent('dlv_1').pk)).toBe(true);
    for (const pk of [
      keys.contact('c1').pk,
      keys.lead('c1', 'l1').pk,
      keys.config().pk,
      keys.submission('x').pk,
    ]) {
      expect(may(DELIVERER_WRITE_KEYS, pk), pk).toBe(false);
      expect(may(DELIVERER_READ_KEYS, pk), pk).toBe(false);
    }
    expect(may(EVENTS_READ_KEYS, keys.contact('c1').pk)).toBe(false);
  });

  it('sends only to its own queue (retries) and reads only the channel secret; no SES, S3 or KMS', () => {
    const sends = statements('deliverer').filter((statement) =>
      actionsOf(statement).includes('sqs:SendMessage'),
    );
    expect(sends.map((statement) => statement.Resource)).toEqual([queueArn('deliveries')]);
    expect(statements('deliverer')).toContainEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: logicalId(stack.channelSecrets.secret) },
    });
    for (const service of ['s3', 'ses', 'kms']) expect(serviceActions('deliverer', service)).toEqual([]);
  });

  it('has every action named and no wildcard resource', () => {
    for (const fn of ['events', 'deliverer'] as const) {
      for (const statement of statements(fn)) {
        expect(actionsOf(statement).some((action) => action.includes('*'))).toBe(false);
        const wildcard = JSON.stringify(statement.Resource).includes('*');
        // ListStreams (the events function's stream mapping) is authorized on "*" only.
        if (wildcard) expect(actionsOf(statement)).toEqual(['dynamodb:ListStreams']);
      }
    }
  });
});

describe('the admin API', () => {
  it('may queue a replayed delivery', () => {
    expect(statements('api')).toContainEqual({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: queueArn('deliveries'),
    });
  });
});

describe('alarms on deliveries', () => {
  it.each([['DeliveriesDeadLettered'], ['DeliveryTargetsDisabled']])(
    'fires on the deliverer’s %s metric within a minute',
    (metricName) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'leadflow',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: 'deliverer' }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('Topic') }],
      });
    },
  );

  it('alarms on the deliveries queue’s own DLQ (a message the deliverer itself could not handle)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.deliveries.deadLetterQueue), 'QueueName'] },
        },
      ],
    });
  });
});
