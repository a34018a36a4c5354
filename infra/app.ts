import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
// The configuration every function bundles, validated on import: a wrong team id or a duplicate form id
// fails `cdk synth` here, before a deploy, not at routing time.
import '../config';
import { CONTEXT_PREFIX, type RawContext, readContext } from './context';
import { LeadflowStack } from './stack';

export const STACK_NAME = 'LeadflowStack';

/**
 * CDK behaviours this app relies on, set here rather than in cdk.json so tests build the same template.
 * Server access logs are delivered under a bucket policy instead of the legacy LogDeliveryWrite ACL, so
 * every bucket can keep ACLs disabled (bucket owner enforced).
 */
const FEATURE_FLAGS = { '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true };

export interface CreateAppOptions {
  /** `leadflow:*` parameters without the prefix; the CDK CLI supplies them from cdk.json and `-c` instead. */
  readonly context?: RawContext;
  /** Passed to the App as is: outdir, or CDK's own context keys. */
  readonly appProps?: AppProps;
}

/** Builds the app and its one stack with cdk-nag attached; tests call it in-process with their own context. */
export function createApp({ context = {}, appProps = {} }: CreateAppOptions = {}): {
  app: App;
  stack: LeadflowStack;
} {
  const prefixed = Object.entries(context).map(([key, value]) => [`${CONTEXT_PREFIX}${key}`, value]);
  const app = new App({
    ...appProps,
    context: { ...FEATURE_FLAGS, ...appProps.context, ...Object.fromEntries(prefixed) },
  });
  const stack = new LeadflowStack(app, STACK_NAME, {
    description: 'leadflow: serverless lead capture and routing',
    config: readContext(app.node),
  });
  // cdk-nag 3 runs as a policy-validation plugin: any unacknowledged finding stops the synth.
  // Acknowledgements are also copied into template Metadata as an audit trail.
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
  return { app, stack };
}

if (import.meta.main) {
  createApp().app.synth();
}
