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

/**
 * The HTTP API's public routes: $default, the anonymous form and chat routes, the provider webhooks, and
 * the managers' API description and console pages.
 */
const ROUTE_IDS = [
  'DefaultRoute',
  'FormPostRoute',
  'FormPreflightRoute',
  'ChatPostRoute',
  'ChatPreflightRoute',
  'WebhookRoute',
  'OpenApiRoute',
  'DocsRoute',
  'DocsAssetsRoute',
  'ConsoleRoute',
  'ActionLinkPageRoute',
  'ActionLinkActRoute',
  'UnsubscribePageRoute',
  'UnsubscribeRoute',
];
/** The routes behind the JWT authorizer: nothing to acknowledge. */
const AUTHORIZED_ROUTE_IDS = ['ManagersRoute'];

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
        // Each public route, on its CfnRoute.
        ...ROUTE_IDS.map((route) => ({
          id: expect.stringMatching(/AwsSolutions-APIG4$/),
          path: `${stack.stackName}/HttpApi/${route}/Resource`,
        })),
        // Provider-issued webhook secrets cannot be rotated by a Lambda.
        {
          id: expect.stringMatching(/AwsSolutions-SMG4$/),
          path: `${stack.stackName}/ChannelSecrets/Secret/Resource`,
        },
        // The link key is rotated by hand: a rotation invalidates every link in mailboxes at once.
        {
          id: expect.stringMatching(/AwsSolutions-SMG4$/),
          path: `${stack.stackName}/Functions/LinkSecret/Secret/Resource`,
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
        // The events function's stream mapping: its on-failure queue, and ListStreams on "*".
        {
          id: expect.stringMatching(/AwsSolutions-SQS3$/),
          path: `${stack.stackName}/Functions/EventsDeadLetterQueue`,
        },
        {
          id: expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
          path: `${stack.stackName}/Functions/Events/Role`,
        },
        // The managers' API exports and erases raw mail: exactly the raw-mail prefix again.
        {
          id: expect.stringMatching(
            new RegExp(
              `AwsSolutions-IAM5\\[Resource::<${rawMail}\\.Arn>/${rawMailBucket.objectKeyPrefix}\\*\\]$`,
            ),
          ),
          path: `${stack.stackName}/Functions/Api/Role`,
        },
        // The sesEvents function's asynchronous-invocation DLQ is a dead-letter queue itself.
        {
          id: expect.stringMatching(/AwsSolutions-SQS3$/),
          path: `${stack.stackName}/Functions/SesEventsDeadLetterQueue`,
        },
        // MFA is optional (TOTP), on the user pool itself.
        {
          id: expect.stringMatching(/AwsSolutions-COG2$/),
          path: `${stack.stackName}/Auth/UserPool/Resource`,
        },
      ]),
    );
    expect(acknowledged).toHaveLength(ROUTE_IDS.length + 11);
  });

  it('says why the webhook route needs no authorizer: providers sign their requests', () => {
    const [webhook] = acknowledgements(stack).filter(({ path }) =>
      path.endsWith('/HttpApi/WebhookRoute/Resource'),
    );
    expect(webhook?.reason).toMatch(/cannot send AWS credentials/);
    expect(webhook?.reason).toMatch(/verifies its provider's signature/);
  });

  it('gives every acknowledgement a substantive reason', () => {
    for (const { reason } of acknowledgements(app)) {
      expect(typeof reason).toBe('string');
      expect((reason as string).trim().length).toBeGreaterThan(40);
    }
  });

  it('writes acknowledgements into the template as an audit trail', () => {
    const routes = Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(routes)).toHaveLength(ROUTE_IDS.length + AUTHORIZED_ROUTE_IDS.length);
    const authorized = AUTHORIZED_ROUTE_IDS.map((id) => logicalId(stack.httpApi.node.findChild(id)));
    for (const [id, route] of Object.entries(routes)) {
      if (authorized.includes(id)) {
        expect(route.Metadata).toBeUndefined();
        continue;
      }
      expect(route.Metadata).toEqual({
        cdk_nag: {
          rules_to_suppress: [{ id: 'AwsSolutions-APIG4', reason: expect.stringMatching(/.{40,}/) }],
        },
      });
    }
    Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', {
      Metadata: {
        cdk_nag: {
          rules_to_suppress: [{ id: 'AwsSolutions-SMG4', reason: Match.stringLikeRegexp('.{40,}') }],
        },
      },
    });
  });
});
