import { env, rawMailBucket } from '@leadflow/aws/resources';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASYNC_RETRY_ATTEMPTS } from '../../infra/functions';
import { RECEIPT_RULE_NAME } from '../../infra/inbound-email';
import { LINK_KEY_LENGTH } from '../../infra/link-secret';
import { INITIAL_CHANNEL_SECRETS } from '../../infra/secrets';
import type { LeadflowStack } from '../../infra/stack';
import { channelSecretsSchema, secretEnv } from '../../packages/aws/src/secrets';
import { BUILD_TIMEOUT_MS, build, logicalId, testContext } from './support';

let stack: LeadflowStack;
let template: Template;

beforeAll(() => {
  ({ stack, template } = build({ bundle: false }));
}, BUILD_TIMEOUT_MS);

const bucketId = () => logicalId(stack.inboundEmail.bucket);
const functionId = () => logicalId(stack.functions.byKey.inboundEmail.function);
const ruleArn = () => stack.resolve(stack.inboundEmail.ruleArn);

function resources(type: string) {
  return Object.entries(template.findResources(type));
}

describe('raw mail bucket', () => {
  it('is encrypted, private, TLS-only, and owner-enforced', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalId(stack.inboundEmail.accessLogs) },
        LogFilePrefix: 'raw-mail/',
      },
    });
    const [bucket] = resources('AWS::S3::Bucket').filter(([id]) => id === bucketId());
    expect(bucket?.[1].Properties.AccessControl).toBeUndefined();
  });

  it(`expires raw mail under ${rawMailBucket.objectKeyPrefix} after ${rawMailBucket.expirationDays} days`, () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Status: 'Enabled',
            Prefix: rawMailBucket.objectKeyPrefix,
            ExpirationInDays: rawMailBucket.expirationDays,
          }),
        ],
      },
      LoggingConfiguration: Match.anyValue(),
    });
  });

  it('lets only this account’s receipt rule put objects, only under the prefix, and denies plain HTTP', () => {
    const [[, policy] = []] = resources('AWS::S3::BucketPolicy').filter(
      ([, resource]) => JSON.stringify(resource.Properties.Bucket) === JSON.stringify({ Ref: bucketId() }),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as {
      Effect: string;
      Principal?: { Service?: string };
      Action: string | string[];
      Resource: unknown;
      Condition?: Record<string, Record<string, unknown>>;
    }[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const ses = statements.filter((statement) => statement.Principal?.Service === 'ses.amazonaws.com');
    expect(ses).toEqual([
      {
        Sid: 'AllowSesReceiptRulePuts',
        Effect: 'Allow',
        Principal: { Service: 'ses.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId(), 'Arn'] }, `/${rawMailBucket.objectKeyPrefix}*`]],
        },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' }, 'aws:SourceArn': ruleArn() },
        },
      },
    ]);
    // Nothing else may write or read: no other Allow statement on the raw-mail bucket.
    expect(statements.filter((statement) => statement.Effect === 'Allow')).toHaveLength(1);
  });

  it('has a private, encrypted access-log bucket that S3 logging delivers to by policy', () => {
    template.resourceCountIs('AWS::S3::Bucket', 2);
    const logs = logicalId(stack.inboundEmail.accessLogs);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' } }),
        ]),
      },
    });
  });
});

describe('receipt rule', () => {
  it('lives in a named rule set and matches the context recipients, with spam and virus scanning', () => {
    template.resourceCountIs('AWS::SES::ReceiptRuleSet', 1);
    template.hasResourceProperties('AWS::SES::ReceiptRuleSet', {
      RuleSetName: `${stack.stackName}-inbound`,
    });
    template.resourceCountIs('AWS::SES::ReceiptRule', 1);
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      RuleSetName: { Ref: logicalId(stack.inboundEmail.ruleSet) },
      Rule: Match.objectLike({
        Name: RECEIPT_RULE_NAME,
        Enabled: true,
        ScanEnabled: true,
        Recipients: [...testContext.inboundRecipients],
      }),
    });
  });

  it('stores the raw message in S3 first, then invokes the function asynchronously', () => {
    const [[, rule] = []] = resources('AWS::SES::ReceiptRule');
    expect(rule?.Properties.Rule.Actions).toEqual([
      { S3Action: { BucketName: { Ref: bucketId() }, ObjectKeyPrefix: rawMailBucket.objectKeyPrefix } },
      { LambdaAction: { FunctionArn: { 'Fn::GetAtt': [functionId(), 'Arn'] }, InvocationType: 'Event' } },
    ]);
  });

  it('is created after the grants SES checks when the rule is created', () => {
    const [[, rule] = []] = resources('AWS::SES::ReceiptRule');
    const policyId = logicalId(
      stack.inboundEmail.bucket.policy as NonNullable<typeof stack.inboundEmail.bucket.policy>,
    );
    const [[permissionId] = []] = resources('AWS::Lambda::Permission').filter(
      ([, permission]) => permission.Properties.Principal === 'ses.amazonaws.com',
    );
    expect(rule?.DependsOn).toEqual(expect.arrayContaining([policyId, permissionId]));
  });

  it('lets SES invoke the function only for this account and this rule', () => {
    const ses = resources('AWS::Lambda::Permission').filter(
      ([, permission]) => permission.Properties.Principal === 'ses.amazonaws.com',
    );
    expect(ses).toHaveLength(1);
    expect(ses[0]?.[1].Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionId(), 'Arn'] },
      Principal: 'ses.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: ruleArn(),
    });
  });

  it('names the rule in its ARN, as the grants require', () => {
    expect(JSON.stringify(ruleArn())).toContain(
      `:receipt-rule-set/${stack.stackName}-inbound:receipt-rule/${RECEIPT_RULE_NAME}`,
    );
  });

  it('accepts domain-level recipients from a comma-separated -c value', () => {
    const { template: domains } = build({
      context: { inboundRecipients: 'leads.example.com, .example.net' },
      bundle: false,
    });
    domains.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({ Recipients: ['leads.example.com', '.example.net'] }),
    });
    domains.hasOutput('InboundMxRecords', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith([Match.stringLikeRegexp('^leads\\.example\\.com MX 10 inbound-smtp\\.')]),
        ],
      },
    });
  });

  it('outputs the one command that activates the rule set', () => {
    template.hasOutput('ActivateReceiptRuleSet', {
      Value: {
        'Fn::Join': [
          '',
          [
            `aws ses set-active-receipt-rule-set --rule-set-name ${stack.stackName}-inbound --region `,
            { Ref: 'AWS::Region' },
          ],
        ],
      },
    });
  });
});

describe('inbound-email function', () => {
  it('reads the bucket and prefix of the receipt rule from its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [env.rawMailBucket]: { Ref: bucketId() },
          [env.rawMailPrefix]: rawMailBucket.objectKeyPrefix,
        }),
      },
    });
  });

  it(`is retried ${ASYNC_RETRY_ATTEMPTS} times, then dead-lettered to an encrypted queue`, () => {
    const dlq = logicalId(stack.functions.inboundEmailDeadLetterQueue);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [env.rawMailPrefix]: rawMailBucket.objectKeyPrefix }) },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId() },
      MaximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      MaximumEventAgeInSeconds: 6 * 60 * 60,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 60 * 60,
    });
  });

  it('alarms on its errors and on its dead letters', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId() } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalId(stack.functions.inboundEmailDeadLetterQueue), 'QueueName'] },
        },
      ],
    });
  });
});

describe('channel secrets', () => {
  it('are one stack-created secret whose initial value the ingest loader accepts', () => {
    // The channel secrets, and the generated link key (below).
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: JSON.stringify(INITIAL_CHANNEL_SECRETS),
      Description: Match.stringLikeRegexp(
        'twilioAuthToken.*metaAppSecret.*metaVerifyToken.*telegramSecretToken.*generic.*forms.*keys.*captchaSecret',
      ),
    });
    // An empty string would fail the schema and stop every ingest container at init.
    expect(channelSecretsSchema.safeParse(INITIAL_CHANNEL_SECRETS).success).toBe(true);
  });

  it('keep the initial value a deployed stack was created with', () => {
    // A changed SecretString becomes the secret's current version on the next deploy, replacing the
    // operator's provider secrets: new keys such as `forms` are documented in the description instead.
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: '{"generic":{}}' });
  });

  it('reach ingest, and the events and deliverer functions (team chat webhooks), as CHANNEL_SECRETS_ARN', () => {
    const secret = { Ref: logicalId(stack.channelSecrets.secret) };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [secretEnv.secretArn]: secret }) },
    });
    const withSecret = resources('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.Environment?.Variables?.[secretEnv.secretArn] !== undefined,
    );
    expect(withSecret.map(([id]) => id).sort()).toEqual(
      [
        logicalId(stack.functions.byKey.ingest.function),
        logicalId(stack.functions.byKey.events.function),
        logicalId(stack.functions.byKey.deliverer.function),
      ].sort(),
    );
    template.hasOutput('ChannelSecretsArn', { Value: secret });
  });

  it('set PUBLIC_BASE_URL on ingest, the api and the notifier only, to the API endpoint unless a custom domain is given', () => {
    // Twilio signs the URL it called; with no custom domain that is the API's own endpoint. The notifier
    // points the alert's action links there.
    const withBase = (built: Template) =>
      Object.entries(built.findResources('AWS::Lambda::Function'))
        .filter(([, fn]) => fn.Properties.Environment?.Variables?.[env.publicBaseUrl] !== undefined)
        .map(([id, fn]) => [id, fn.Properties.Environment.Variables[env.publicBaseUrl]]);
    const endpoint = { 'Fn::GetAtt': [logicalId(stack.httpApi.api), 'ApiEndpoint'] };
    expect(withBase(template).sort()).toEqual(
      [
        [logicalId(stack.functions.byKey.ingest.function), endpoint],
        [logicalId(stack.functions.byKey.api.function), endpoint],
        [logicalId(stack.functions.byKey.notifier.function), endpoint],
      ].sort(),
    );

    const { stack: withUrl, template: custom } = build({
      context: { publicBaseUrl: 'https://api.example.com' },
      bundle: false,
    });
    expect(withBase(custom).sort()).toEqual(
      [
        [logicalId(withUrl.functions.byKey.ingest.function), 'https://api.example.com'],
        [logicalId(withUrl.functions.byKey.api.function), 'https://api.example.com'],
        [logicalId(withUrl.functions.byKey.notifier.function), 'https://api.example.com'],
      ].sort(),
    );
  });
});

describe('the link key', () => {
  it('is generated by Secrets Manager, never written in the template', () => {
    const [, secret] =
      resources('AWS::SecretsManager::Secret').find(([id]) => id === logicalId(stack.functions.linkSecret)) ??
      [];
    expect(secret?.Properties).toMatchObject({
      GenerateSecretString: {
        PasswordLength: LINK_KEY_LENGTH,
        ExcludePunctuation: true,
        IncludeSpace: false,
      },
    });
    expect(secret?.Properties).not.toHaveProperty('SecretString');
    expect(LINK_KEY_LENGTH).toBeGreaterThanOrEqual(32);
  });

  it('reaches the notifier (which signs) and the api (which checks) as LINK_SECRET_ARN, and no other function', () => {
    const withKey = resources('AWS::Lambda::Function').filter(
      ([, fn]) => fn.Properties.Environment?.Variables?.[env.linkSecretArn] !== undefined,
    );
    expect(withKey.map(([id]) => id).sort()).toEqual(
      [
        logicalId(stack.functions.byKey.notifier.function),
        logicalId(stack.functions.byKey.api.function),
      ].sort(),
    );
    for (const [, fn] of withKey) {
      expect(fn.Properties.Environment.Variables[env.linkSecretArn]).toEqual({
        Ref: logicalId(stack.functions.linkSecret),
      });
      // The key itself never sits in a function's environment on AWS.
      expect(fn.Properties.Environment.Variables).not.toHaveProperty(env.linkSecret);
    }
  });
});
