import type { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/app';
import type { LeadflowStack } from '../../infra/stack';
import { acknowledgements, BUILD_TIMEOUT_MS, NO_BUNDLING, testContext } from './support';

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

  it('acknowledges only APIG4, on the public route itself', () => {
    const acknowledged = acknowledgements(stack).map(({ id, path }) => ({ id, path }));
    expect(acknowledged).toEqual([
      {
        id: expect.stringMatching(/AwsSolutions-APIG4$/),
        path: `${stack.stackName}/HttpApi/DefaultRoute/Resource`,
      },
    ]);
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
  });
});
