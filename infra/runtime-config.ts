import { marshall } from '@aws-sdk/util-dynamodb';
import { configLeadingKeys } from '@leadflow/aws/resources';
import { Duration } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  type AwsSdkCall,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { config } from '../config';
import { configItems, routingSectionOf, SEED_CONDITION } from '../packages/aws/src/config-store';
import type { Storage } from './storage';

export interface RuntimeConfigProps {
  readonly storage: Storage;
}

/** The error a seed gets when the table already has a configuration: the runtime one stays. */
export const SEED_IGNORED_ERRORS = 'TransactionCanceledException';

/**
 * Seeds the runtime routing configuration (`CONFIG#routing`) with the bundled `config/leadflow.json` as
 * version 1, on every create and update of the stack, with the same conditional put as `npm start`: when
 * a configuration is already there the put is refused and the refusal ignored, so a redeploy never
 * overwrites the teams, availability and rules changed at runtime. The provider may put items under
 * `CONFIG#` only, and nothing else.
 */
export class RuntimeConfig extends Construct {
  readonly seed: AwsCustomResource;
  /** The provider's own role: its log group and the seed's put, no AWS managed policy. */
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, { storage }: RuntimeConfigProps) {
    super(scope, id);
    const items = configItems(1, routingSectionOf(config), {
      by: 'deploy',
      change: 'Seeded from config/leadflow.json at deploy',
    });
    const put = (item: Record<string, unknown>) => ({
      Put: { TableName: storage.table.tableName, Item: marshall(item), ConditionExpression: SEED_CONDITION },
    });
    const call: AwsSdkCall = {
      service: 'DynamoDB',
      action: 'TransactWriteItems',
      parameters: { TransactItems: [put(items.current), put(items.history)] },
      // One seed per stack: an update runs the same conditional put again and changes nothing.
      physicalResourceId: PhysicalResourceId.of('leadflow-routing-config-seed'),
      ignoreErrorCodesMatching: SEED_IGNORED_ERRORS,
    };
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);
    this.seed = new AwsCustomResource(this, 'Seed', {
      onCreate: call,
      onUpdate: call,
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({
          actions: ['dynamodb:PutItem'],
          resources: [storage.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...configLeadingKeys] } },
        }),
      ]),
      // The SDK in the Lambda runtime has DynamoDB; downloading another at deploy time adds nothing but risk.
      installLatestAwsSdk: false,
      timeout: Duration.minutes(2),
      logGroup: this.logGroup,
      role: this.role,
    });
  }
}
