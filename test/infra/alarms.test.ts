import { functions, queues } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LeadflowStack } from '../../infra/stack';
import { BUILD_TIMEOUT_MS, build, logicalId } from './support';

let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
}, BUILD_TIMEOUT_MS);

const queueKeys = Object.keys(queues) as (keyof typeof queues)[];
const functionKeys = Object.keys(functions) as (keyof typeof functions)[];

function alarmsOn(metricName: string) {
  return Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
  );
}

describe('alarms', () => {
  // Each queue's DLQ, the asynchronous-invocation DLQs of the inbound-email and sesEvents functions and the
  // on-failure queues of the stream's two mappings (outbox, events).
  const deadLetterQueues = () => [
    ...queueKeys.map((key) => stack.queues.byKey[key].deadLetterQueue),
    stack.functions.inboundEmailDeadLetterQueue,
    stack.functions.outboxDeadLetterQueue,
    stack.functions.eventsDeadLetterQueue,
    stack.functions.sesEventsDeadLetterQueue,
  ];
  // The deliverer's dead-lettered deliveries and disabled targets (test/infra/integrations.test.ts).
  const METRIC_ALARMS = 2;

  it('has one alarm per DLQ, per function error, ingest throttles, API 5xx and the delivery metrics', () => {
    template.resourceCountIs(
      'AWS::CloudWatch::Alarm',
      queueKeys.length + 4 + functionKeys.length + 2 + METRIC_ALARMS,
    );
    expect(alarmsOn('ApproximateNumberOfMessagesVisible')).toHaveLength(queueKeys.length + 4);
    expect(alarmsOn('Errors')).toHaveLength(functionKeys.length);
    expect(alarmsOn('Throttles')).toHaveLength(1);
    expect(alarmsOn('5xx')).toHaveLength(1);
  });

  it('fires on the first message in any DLQ within a minute', () => {
    for (const queue of deadLetterQueues()) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      });
    }
  });

  it('fires on any error of each function', () => {
    for (const key of functionKeys) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [
          { Name: 'FunctionName', Value: { Ref: logicalId(stack.functions.byKey[key].function) } },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('watches ingest throttles and the API stage 5xx', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Throttles',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalId(stack.functions.byKey.ingest.function) } },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: Match.arrayWith([{ Name: 'Stage', Value: '$default' }]),
    });
  });

  it('sends every alarm to the topic and treats missing data as fine', () => {
    const topic = { Ref: logicalId(stack.alarms.topic) };
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('alarm topic', () => {
  it('is encrypted with a rotating customer key CloudWatch may use', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('TopicKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('requires TLS and lets only this account’s alarms publish', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('has no subscription when alarmEmail is empty', () => {
    // (The SES events topic's one subscriber is the sesEvents function: test/infra/email-events.test.ts.)
    expect(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'email' } })).toEqual(
      {},
    );
    expect(
      template.findResources('AWS::SNS::Subscription', {
        Properties: { TopicArn: { Ref: logicalId(stack.alarms.topic) } },
      }),
    ).toEqual({});
  });

  it('subscribes alarmEmail when set', () => {
    const { template: withEmail } = build({ context: { alarmEmail: 'oncall@example.com' }, bundle: false });
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });
});
