import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundling, env, type FunctionKey, functions } from '@leadflow/aws/resources';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Email } from './email';
import type { Storage } from './storage';

/** Entries in resources.ts are relative to the repository root, not to the CDK's working directory. */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The CloudWatch namespace of every function's Powertools metrics (alarms on them name it too). */
export const METRICS_NAMESPACE = 'leadflow';

/** Item-level DynamoDB actions; transactions are authorized per item by these same actions. */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'ConditionCheckItem';

export interface TableAccess {
  readonly actions: readonly TableAction[];
  /** Partition-key patterns the function may touch (`dynamodb:LeadingKeys`); omit for the whole table. */
  readonly leadingKeys?: readonly string[];
  /** Grant the actions on the declared GSIs as well. */
  readonly indexes?: boolean;
}

export interface LeadflowFunctionProps {
  /** Key in `functions` (resources.ts): picks the entry, timeout and memory, and names the service. */
  readonly name: FunctionKey;
  /** For functions invoked asynchronously: where an event goes after Lambda's retries are exhausted. */
  readonly deadLetterQueue?: IQueue;
  /**
   * Files the code reads at run time, which esbuild does not bundle: path in the bundle (next to the
   * handler) → path in the repository. Copied after bundling.
   */
  readonly bundledFiles?: Readonly<Record<string, string>>;
}

/** A NodejsFunction with the house defaults: Node 24 on ARM, bundled ESM with source maps, own logs and role. */
export class LeadflowFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, { name, deadLetterQueue, bundledFiles }: LeadflowFunctionProps) {
    super(scope, id);
    const definition = functions[name];

    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH });
    // An own role scoped to this log group replaces AWSLambdaBasicExecutionRole, whose logs:* on every
    // log group is broader than one function needs.
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: `${repoRoot}${definition.entry}`,
      handler: 'handler',
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(definition.timeoutSeconds),
      memorySize: definition.memoryMb,
      role: this.role,
      logGroup: this.logGroup,
      ...(deadLetterQueue ? { deadLetterQueue } : {}),
      // No tracer is bundled, so X-Ray would only add cost and an xray:* on * grant for a bare Lambda segment.
      tracing: Tracing.DISABLED,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: bundling.target,
        minify: bundling.minify,
        sourceMap: bundling.sourceMap,
        sourcesContent: bundling.sourcesContent,
        mainFields: [...bundling.mainFields],
        banner: bundling.banner,
        // Bundle the pinned SDK instead of the runtime's copy: one known version, tree-shaken, faster init.
        externalModules: [],
        ...(bundledFiles ? { commandHooks: copyAfterBundling(bundledFiles) } : {}),
      },
    });
  }

  /** Sets TABLE_NAME and grants exactly `access` on the table. */
  bindTable(storage: Storage, access: TableAccess): this {
    this.function.addEnvironment(env.tableName, storage.table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: access.actions.map((action) => `dynamodb:${action}`),
        resources: [storage.table.tableArn, ...(access.indexes ? storage.indexArns : [])],
        conditions: access.leadingKeys && {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...access.leadingKeys] },
        },
      }),
    );
    return this;
  }

  /**
   * Grants dynamodb:Query on the table's declared GSIs only (a team's queue, a manager's leads), or on the
   * named ones (`only`), each by its ARN.
   */
  bindIndexQuery(storage: Storage, only?: readonly string[]): this {
    const arns = only
      ? storage.indexArns.filter((arn) => only.some((name) => arn.endsWith(`/index/${name}`)))
      : storage.indexArns;
    if (only && arns.length !== only.length) throw new Error(`Unknown index among ${only.join(', ')}`);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['dynamodb:Query'], resources: [...arns] }),
    );
    return this;
  }

  /** Sets the queue URL under `envName` and grants sqs:SendMessage on that queue only. */
  bindQueueSender(queue: IQueue, envName: string): this {
    this.function.addEnvironment(envName, queue.queueUrl);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    return this;
  }

  /** Sets the raw-mail bucket and prefix and grants s3:GetObject on objects under that prefix only. */
  bindRawMail(bucket: IBucket, prefix: string): this {
    this.function.addEnvironment(env.rawMailBucket, bucket.bucketName);
    this.function.addEnvironment(env.rawMailPrefix, prefix);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${prefix}*`)] }),
    );
    const bucketId = Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
      reason:
        'Object keys are SES message ids, known only when a message arrives; the grant is GetObject alone, ' +
        'on the one bucket and under the receipt rule prefix only.',
    });
    return this;
  }

  /** Sets the secret's ARN under `envName` and grants secretsmanager:GetSecretValue on that secret only. */
  bindSecret(secret: ISecret, envName: string): this {
    this.function.addEnvironment(envName, secret.secretArn);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    return this;
  }

  /** Sets the SES sender and configuration set and grants sending through that identity and set only. */
  bindEmail(email: Email): this {
    this.function.addEnvironment(env.sesFromAddress, email.fromAddress);
    this.function.addEnvironment(env.sesConfigurationSet, email.configurationSet.configurationSetName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        // SESv2 SendEmail authorizes ses:SendEmail; SendRawEmail covers raw MIME sends.
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [email.identity.emailIdentityArn, email.configurationSetArn],
      }),
    );
    return this;
  }
}

/**
 * Commands that copy `files` (path in the bundle → path in the repository) into the bundle after esbuild
 * has run. The paths are joined to the bundling's own input and output folders, which are the repository and
 * the asset folder locally, and their mounts when bundling runs in Docker.
 */
export function copyAfterBundling(files: Readonly<Record<string, string>>): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) => {
      const entries = Object.entries(files);
      const folders = [...new Set(entries.map(([to]) => posix.dirname(to)))].filter((dir) => dir !== '.');
      return [
        ...folders.map((dir) => `mkdir -p "${outputDir}/${dir}"`),
        ...entries.map(([to, from]) => `cp "${inputDir}/${from}" "${outputDir}/${to}"`),
      ];
    },
  };
}
