import { type AttributeType as KeyType, table } from '@leadflow/aws/resources';
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

const attributeTypes: Record<KeyType, AttributeType> = { S: AttributeType.STRING, N: AttributeType.NUMBER };

/** The single leadflow table, shaped by `table` in resources.ts. */
export class Storage extends Construct {
  readonly table: Table;
  /** ARNs of the declared GSIs, named one by one so no policy needs `index/*`. */
  readonly indexArns: string[];

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: table.partitionKey.name, type: attributeTypes[table.partitionKey.type] },
      sortKey: { name: table.sortKey.name, type: attributeTypes[table.sortKey.type] },
      timeToLiveAttribute: table.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The aws/dynamodb key gives KMS encryption and audit trail without key policies to maintain.
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // Feeds the outbox function, which re-queues every stored submission.
      stream: StreamViewType[table.stream],
    });

    for (const index of table.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey.name, type: attributeTypes[index.partitionKey.type] },
        sortKey: { name: index.sortKey.name, type: attributeTypes[index.sortKey.type] },
        projectionType: ProjectionType.ALL,
      });
    }

    this.indexArns = table.globalSecondaryIndexes.map(
      (index) => `${this.table.tableArn}/index/${index.indexName}`,
    );
  }
}
