import { rawMailBucket } from '@leadflow/aws/resources';
import type { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import type { LeadflowStack } from '../../infra/stack';
import { acknowledgements, BUILD_TIMEOUT_MS, logicalId, NO_BUNDLING, testContext } from './support';

let app: App;
let stack: LeadflowStack;

// Built without Template.fromStack: synthesis runs the nag plugin and would throw before the report test runs.
beforeAll(() => {
  ({ app, stack } = createApp({ context: testContext, appProps: NO_BUNDLING }));
}, BUILD_TIMEOUT_MS);

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding, error or warning', () => {
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(stack);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('lets the app synthesize with the plugin registered', () => {
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  it('leaves no error annotation on the stack', () => {
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });

  it('acknowledges only these findings, each on the one construct it is about', () => {
    const acknowledged = acknowledgements(stack).map(({ id, path }) => ({ id, path }));
    const rawMail = logicalId(stack.inboundEmail.bucket);
    expect(acknowledged).toEqual(
      expect.arrayContaining([
        {
          id: expect.stringMatching(/AwsSolutions-APIG4$/),
          path: `${stack.stackName}/HttpApi/DefaultRoute/Resource`,
        },
        // Provider-issued webhook secrets cannot be rotated by a Lambda.
        {
          id: expect.stringMatching(/AwsSolutions-SMG4$/),
          path: `${stack.stackName}/ChannelSecrets/Secret/Resource`,
        },
        // The access-log bucket does not log itself.
        {
          id: expect.stringMatching(/AwsSolutions-S1$/),
          path: `${stack.stackName}/InboundEmail/AccessLogs/Resource`,
        },
        // Exactly the raw-mail prefix, not a blanket IAM5 on the role.
        {
          id: expect.stringMatching(
            new RegExp(
              `AwsSolutions-IAM5\\[Resource::<${rawMail}\\.Arn>/${rawMailBucket.objectKeyPrefix}\\*\\]$`,
            ),
          ),
          path: `${stack.stackName}/Functions/InboundEmail/Role`,
        },
        // The outbox's on-failure destination is a dead-letter queue itself.
        {
          id: expect.stringMatching(/AwsSolutions-SQS3$/),
          path: `${stack.stackName}/Functions/OutboxDeadLetterQueue`,
        },
        // dynamodb:ListStreams, which IAM authorizes on "*" only.
        {
          id: expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
          path: `${stack.stackName}/Functions/Outbox/Role`,
        },
      ]),
    );
    expect(acknowledged).toHaveLength(6);
  });

  it('gives every acknowledgement a substantive reason', () => {
    for (const { reason } of acknowledgements(app)) {
      expect(typeof reason).toBe('string');
      expect((reason as string).trim().length).toBeGreaterThan(40);
    }
  });

  it('writes acknowledgements into the template as an audit trail', () => {
    Template.fromStack(stack).hasResource('AWS::ApiGatewayV2::Route', {
      Metadata: {
        cdk_nag: {
          rules_to_suppress: [{ id: 'AwsSolutions-APIG4', reason: Match.stringLikeRegexp('.{40,}') }],
        },
      },
    });
    Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', {
      Metadata: {
        cdk_nag: {
          rules_to_suppress: [{ id: 'AwsSolutions-SMG4', reason: Match.stringLikeRegexp('.{40,}') }],
        },
      },
    });
  });
});
