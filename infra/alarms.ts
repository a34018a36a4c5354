import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  /** Address subscribed to the alarm topic; empty means no subscription. */
  readonly email: string;
  readonly deadLetterQueues: Record<string, IQueue>;
  readonly functions: Record<string, IFunction>;
  /** The public function, whose throttling means lost form posts. */
  readonly ingest: IFunction;
  readonly stage: HttpStage;
  /** The functions' own metrics that must wake someone (a dead-lettered delivery, a disabled target), by alarm id. */
  readonly metrics?: Record<string, { readonly metric: Metric; readonly description: string }>;
}

const PERIOD = Duration.minutes(1);

const pascal = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** One SNS topic and the alarms that must wake someone: dead letters, function errors, dropped requests. */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const cloudwatch = new ServicePrincipal('cloudwatch.amazonaws.com');

    // A customer-managed key because CloudWatch cannot use the AWS-managed aws/sns key to publish.
    const key = new Key(this, 'TopicKey', {
      description: 'Encrypts leadflow alarm notifications',
      enableKeyRotation: true,
      // It protects only transient notifications, so nothing is lost when the stack goes.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );

    this.topic = new Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    // The topic policy replaces SNS's default one, so CloudWatch needs an explicit grant, limited to our alarms.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': Stack.of(this).formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(
        `${pascal(name)}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        `Messages reached the ${name} DLQ after exhausting retries; inspect them and redrive.`,
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(
        `${pascal(name)}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        `The ${name} function failed an invocation.`,
      );
    }
    this.alarm(
      'IngestThrottles',
      props.ingest.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
      'The ingest function was throttled: public requests are being rejected.',
    );
    for (const [name, { metric, description }] of Object.entries(props.metrics ?? {})) {
      this.alarm(name, metric, description);
    }
    this.alarm(
      'Api5xx',
      props.stage.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      'The HTTP API returned 5xx responses to public callers.',
    );
  }

  private alarm(id: string, metric: Metric, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no dead letters, errors or throttles.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
