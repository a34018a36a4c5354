import { env, eventSources, queues } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TIMER_LEADING_KEYS } from '../../infra/functions';
import type { LeadflowStack } from '../../infra/stack';
import { keys } from '../../packages/aws/src/items/schema';
import { actionsOf, BUILD_TIMEOUT_MS, build, logicalId, statementsOf } from './support';

// The timer function and the timers queue: least privilege, its event source, its DLQ alarm, and that the
// deployed stack never speeds the SLA clock up.
let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
}, BUILD_TIMEOUT_MS);

const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({
  'Fn::GetAtt': [logicalId(construct), 'Arn'],
});

function environmentOf(name: keyof LeadflowStack['functions']['byKey']): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(stack.functions.byKey[name].function)];
  return (fn?.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
}

const globToRegExp = (glob: string) =>
  new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

describe('the timer function', () => {
  const statements = () => statementsOf(template, logicalId(stack.functions.byKey.timer.role));

  it('reads and writes table items only in the partitions it acts on, and never scans or deletes', () => {
    const table = arnOf(stack.storage.table);
    const onTable = statements().filter(
      (statement) => JSON.stringify(statement.Resource) === JSON.stringify(table),
    );
    // The SLA clock's own grant (other timer kinds add theirs, each limited to its partitions).
    const sla = onTable.filter(
      (statement) =>
        JSON.stringify(statement.Condition) ===
        JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...TIMER_LEADING_KEYS] } }),
    );
    expect(sla).toHaveLength(1);
    expect(actionsOf(sla[0] as never).sort()).toEqual(
      [
        'dynamodb:BatchGetItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ].sort(),
    );
    // Nothing on the table without a partition condition.
    for (const statement of onTable) {
      expect(statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toBeDefined();
    }
    const all = statements().flatMap(actionsOf);
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:DeleteItem', 'ses:SendEmail']) {
      expect(all).not.toContain(forbidden);
    }
  });

  it('covers the partitions of leads, loads, cursors, counters and the audit, and nothing of the ledgers', () => {
    const allowed = (pk: string) => TIMER_LEADING_KEYS.some((glob) => globToRegExp(glob).test(pk));
    for (const pk of [
      keys.lead('c1', 'l1').pk,
      keys.task('c1', 't1').pk,
      keys.managerLoad('bob').pk,
      keys.cursor('sales').pk,
      keys.config().pk,
      keys.audit('2026-03-10T01:00:00Z', 'a1').pk,
      'ANALYTICS#ALL',
    ]) {
      expect(allowed(pk), pk).toBe(true);
    }
    for (const pk of [
      keys.submission('h').pk,
      keys.identity('email:x@y.z').pk,
      keys.ackMailbox('h').pk,
      'NOTIFY#notifier',
    ]) {
      expect(allowed(pk), pk).toBe(false);
    }
  });

  it('queries gsi3 only among the indexes (a lead or task by id), and sends to the timers and notifications queues', () => {
    const indexQueries = statements().filter((statement) =>
      JSON.stringify(statement.Resource).includes('/index/'),
    );
    expect(indexQueries).toHaveLength(1);
    expect(actionsOf(indexQueries[0] as never)).toEqual(['dynamodb:Query']);
    expect(JSON.stringify(indexQueries[0]?.Resource)).toMatch(/\/index\/gsi3"/);
    const sends = statements().filter((statement) => actionsOf(statement).includes('sqs:SendMessage'));
    expect(sends.map((statement) => statement.Resource)).toEqual(
      expect.arrayContaining([
        arnOf(stack.queues.byKey.notifications.queue),
        arnOf(stack.queues.byKey.timers.queue),
      ]),
    );
    for (const statement of sends) expect(JSON.stringify(statement.Resource)).not.toContain('*');
  });

  it('is fed by the timers queue with partial batch failures, and that queue dead-letters into an alarmed DLQ', () => {
    const source = eventSources.find((candidate) => candidate.queue === 'timers');
    expect(source?.function).toBe('timer');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.functions.byKey.timer.function) },
      EventSourceArn: arnOf(stack.queues.byKey.timers.queue),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: source?.batchSize,
      ScalingConfig: { MaximumConcurrency: source?.maxConcurrency },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: arnOf(stack.queues.byKey.timers.deadLetterQueue),
        maxReceiveCount: queues.timers.deadLetter.maxReceiveCount,
      },
      VisibilityTimeout: queues.timers.visibilityTimeoutSeconds,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.queues.byKey.timers.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
    });
  });
});

describe('scheduling functions', () => {
  it('give the router, the dispatcher, the managers’ API and the timer the timers queue', () => {
    const timersUrl = { Ref: logicalId(stack.queues.byKey.timers.queue) };
    for (const name of ['router', 'dispatcher', 'api', 'timer'] as const) {
      expect(environmentOf(name)[env.timersQueueUrl], name).toEqual(timersUrl);
      const sends = statementsOf(template, logicalId(stack.functions.byKey[name].role)).filter((statement) =>
        actionsOf(statement).includes('sqs:SendMessage'),
      );
      expect(
        sends.map((statement) => statement.Resource),
        name,
      ).toContainEqual(arnOf(stack.queues.byKey.timers.queue));
    }
  });

  it('never set SLA_TIME_SCALE: the deployed clock runs at real speed', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThan(0);
    for (const [id, fn] of Object.entries(functions)) {
      expect(Object.keys(fn.Properties.Environment?.Variables ?? {}), id).not.toContain(env.slaTimeScale);
    }
    expect(JSON.stringify(template.toJSON())).not.toContain(env.slaTimeScale);
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ [env.slaTimeScale]: Match.anyValue() }) } },
      0,
    );
  });
});
