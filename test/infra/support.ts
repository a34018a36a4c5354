import { type CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createApp } from '../../infra/app';
import type { RawContext } from '../../infra/context';

/** The parameters cdk.json ships with, so tests build what `cdk synth` builds. */
export const testContext = {
  sesFromAddress: 'leads@example.com',
  sesIdentityDomain: 'example.com',
  leadLinkBaseUrl: 'https://crm.example.com/leads',
  throttleRateLimit: 50,
  throttleBurstLimit: 100,
  anonymousThrottleRateLimit: 20,
  anonymousThrottleBurstLimit: 40,
  webhookThrottleRateLimit: 50,
  webhookThrottleBurstLimit: 100,
  rateLimitPerClient: 60,
  alarmEmail: '',
  inboundRecipients: ['sales@example.com'],
  publicBaseUrl: '',
} as const satisfies RawContext;

/** CDK's own switch to skip esbuild, for tests that do not look at the code. */
export const NO_BUNDLING = { context: { 'aws:cdk:bundling-stacks': [] } };

/** Bundling takes seconds: give beforeAll room for it. */
export const BUILD_TIMEOUT_MS = 120_000;

export interface BuildOptions {
  readonly context?: RawContext;
  /** False skips esbuild, for tests that do not look at the code. */
  readonly bundle?: boolean;
}

/** Builds the real app in-process and returns the stack with its synthesized template. */
export function build({ context = {}, bundle = true }: BuildOptions = {}) {
  const { app, stack } = createApp({
    context: { ...testContext, ...context },
    appProps: bundle ? {} : NO_BUNDLING,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical ID CloudFormation will see for an L2 construct. */
export function logicalId(construct: IConstruct): string {
  const resource = construct.node.defaultChild as CfnElement;
  return (resource.stack as Stack).getLogicalId(resource);
}

export interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement attached to a role, from its separate AWS::IAM::Policy resources. */
export function statementsOf(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleLogicalId }] },
  });
  return Object.values(policies).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as PolicyStatementJson[],
  );
}

export const actionsOf = (statement: PolicyStatementJson): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** Every `Validations.acknowledge` in the tree: rule id, reason and where it was made. */
export function acknowledgements(root: IConstruct): { id: string; reason: unknown; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({
          id,
          reason,
          path: construct.node.path,
        })),
      ),
  );
}
