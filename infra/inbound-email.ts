import { rawMailBucket } from '@leadflow/aws/resources';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { type IReceiptRuleAction, type ReceiptRule, ReceiptRuleSet, TlsPolicy } from 'aws-cdk-lib/aws-ses';
import { Lambda, LambdaInvocationType } from 'aws-cdk-lib/aws-ses-actions';
import { Construct } from 'constructs';
import type { LeadflowFunction } from './leadflow-function';

export interface InboundEmailProps {
  /** Addresses, domains or `.domain` subdomain wildcards SES receives for. */
  readonly recipients: readonly string[];
  /** The inbound-email function: it gets read access to the raw mail and is invoked by the rule. */
  readonly handler: LeadflowFunction;
}

/** The receipt rule's name inside its rule set; both names are fixed so the grants can name the rule. */
export const RECEIPT_RULE_NAME = 'store-and-capture';

/**
 * SES receiving: an encrypted bucket for the raw MIME, a receipt rule set whose one rule (spam and virus
 * scanning on) stores each message under `inbound/` and then invokes the inbound-email function
 * asynchronously, and the two grants that let SES do exactly that, limited to this rule.
 *
 * CloudFormation cannot activate a rule set, and an account has one active set per region: activating
 * it here would silently switch off whatever set the account already uses for other mail, and deleting
 * the stack would leave mail bouncing. Activation is one documented command (see the stack outputs).
 */
export class InboundEmail extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly ruleSet: ReceiptRuleSet;
  readonly rule: ReceiptRule;
  readonly ruleSetName: string;
  readonly ruleArn: string;

  constructor(scope: Construct, id: string, { recipients, handler }: InboundEmailProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = rawMailBucket.objectKeyPrefix;
    this.ruleSetName = `${stack.stackName}-inbound`;
    this.ruleArn = stack.formatArn({
      service: 'ses',
      resource: 'receipt-rule-set',
      resourceName: `${this.ruleSetName}:receipt-rule/${RECEIPT_RULE_NAME}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

    // Server access logs only support SSE-S3 destinations; a year covers an access audit of the raw mail.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: Duration.days(365) }],
    });
    Validations.of(this.accessLogs.node.defaultChild as Construct).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log bucket of the raw-mail bucket; logging it would need yet another ' +
        'log bucket, and S3 writes its log deliveries with its own service principal only.',
    });

    // SSE-S3 rather than KMS: SES's S3 action can write to it without a key grant, and a customer key
    // would only move the raw mail's protection, not add to it, for a bucket only SES and one role touch.
    this.bucket = new Bucket(this, 'RawMail', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'raw-mail/',
      lifecycleRules: [
        {
          id: 'ExpireRawMail',
          prefix,
          expiration: Duration.days(rawMailBucket.expirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    // The CDK's own S3 action grants with aws:SourceAccount only; this one also names the rule.
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowSesReceiptRulePuts',
        principals: [new ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.ruleArn } },
      }),
    );

    handler.bindRawMail(this.bucket, prefix);
    // Added under the id the CDK's Lambda action looks for, so it reuses this grant (which names the
    // rule) instead of adding its account-wide one.
    handler.function.addPermission('AllowSes', {
      principal: new ServicePrincipal('ses.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: stack.account,
      sourceArn: this.ruleArn,
    });

    this.ruleSet = new ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: this.ruleSetName });
    this.rule = this.ruleSet.addRule('Rule', {
      receiptRuleName: RECEIPT_RULE_NAME,
      recipients: [...recipients],
      enabled: true,
      // SES's spam and virus verdicts reach the function, which drops FAIL verdicts.
      scanEnabled: true,
      // Optional, so a lead whose mail server cannot do TLS still reaches us.
      tlsPolicy: TlsPolicy.OPTIONAL,
      // In order: the raw MIME is in S3 before the function is invoked to read it.
      actions: [
        storeRawMail(this.bucket, prefix),
        new Lambda({ function: handler.function, invocationType: LambdaInvocationType.EVENT }),
      ],
    });
    // SES checks its write access when the rule is created.
    const policy = this.bucket.policy;
    if (policy) this.rule.node.addDependency(policy);
  }

  /** One MX record per receiving domain, to publish so mail for the recipients reaches SES. */
  mxRecords(recipients: readonly string[]): string[] {
    const domains = new Set(
      recipients.map((r) => (r.includes('@') ? (r.split('@')[1] ?? r) : r).replace(/^\./, '*.')),
    );
    const region = Stack.of(this).region;
    return [...domains].map((domain) => `${domain.toLowerCase()} MX 10 inbound-smtp.${region}.amazonaws.com`);
  }
}

/** The receipt rule's S3 action, without the broader bucket grant the CDK's own S3 action adds. */
function storeRawMail(bucket: IBucket, objectKeyPrefix: string): IReceiptRuleAction {
  return { bind: () => ({ s3Action: { bucketName: bucket.bucketName, objectKeyPrefix } }) };
}
