import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnRoute,
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** API Gateway throttle targets: steady requests per second and the bucket size. */
export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface IngestHttpApiProps {
  readonly handler: IFunction;
  /** The stage default, for every route without its own limits below ($default: health, 404s). */
  readonly rateLimit: number;
  readonly burstLimit: number;
  /** Form posts, chat messages and their CORS preflights. */
  readonly anonymousThrottle: Throttle;
  /** Provider webhooks, kept apart so a form flood cannot starve Twilio, Meta or Telegram. */
  readonly webhookThrottle: Throttle;
}

type RouteClass = 'anonymous' | 'webhook' | 'default';

interface RouteDefinition {
  readonly id: string;
  readonly key: HttpRouteKey;
  readonly class: RouteClass;
  /** Why the route has no authorizer (cdk-nag AwsSolutions-APIG4). */
  readonly reason: string;
}

const ANONYMOUS_POST_REASON =
  'Public by design: anonymous browsers cannot carry AWS credentials or Cognito tokens. The app accepts ' +
  'only configured form and widget ids, per-form CORS origins and bounded bodies, limits each client ' +
  'address, and drops honeypot hits; this route has its own stage throttle.';
const PREFLIGHT_REASON =
  'CORS preflight: browsers send OPTIONS without credentials by specification, and the app answers it from ' +
  "the form's or widget's origin list without touching any data; this route has its own stage throttle.";

/**
 * Every route goes to the one ingest integration (the hono app routes and handles CORS); the explicit
 * routes exist so each class of caller gets its own stage throttle.
 */
const ROUTES: readonly RouteDefinition[] = [
  {
    id: 'DefaultRoute',
    key: HttpRouteKey.DEFAULT,
    class: 'default',
    reason:
      'Catch-all for the public health check and unmatched paths, which the app answers with 404; ' +
      'nothing here stores data, and the stage default throttle applies.',
  },
  {
    id: 'FormPostRoute',
    key: HttpRouteKey.with('/v1/forms/{formId}', HttpMethod.POST),
    class: 'anonymous',
    reason: ANONYMOUS_POST_REASON,
  },
  {
    id: 'FormPreflightRoute',
    key: HttpRouteKey.with('/v1/forms/{formId}', HttpMethod.OPTIONS),
    class: 'anonymous',
    reason: PREFLIGHT_REASON,
  },
  {
    id: 'ChatPostRoute',
    key: HttpRouteKey.with('/v1/chat/{widgetId}', HttpMethod.POST),
    class: 'anonymous',
    reason: ANONYMOUS_POST_REASON,
  },
  {
    id: 'ChatPreflightRoute',
    key: HttpRouteKey.with('/v1/chat/{widgetId}', HttpMethod.OPTIONS),
    class: 'anonymous',
    reason: PREFLIGHT_REASON,
  },
  {
    // ANY: Meta's subscription handshake is a GET.
    id: 'WebhookRoute',
    key: HttpRouteKey.with('/v1/webhooks/{proxy+}', HttpMethod.ANY),
    class: 'webhook',
    reason:
      'Providers (Twilio, Meta, Telegram, partner systems) cannot send AWS credentials; every webhook ' +
      "verifies its provider's signature or secret token before anything is stored, and this route has " +
      'its own stage throttle.',
  },
];

// Request metadata only: HTTP APIs cannot log bodies, and form fields are personal data anyway.
const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
};

/** The public HTTP API: every request goes to the ingest function, whose hono app routes and handles CORS. */
export class IngestHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: IngestHttpApiProps) {
    super(scope, id);
    const { handler, rateLimit, burstLimit } = props;

    // No corsPreflight: API-level CORS would answer OPTIONS itself and shadow the app's own CORS rules.
    // The built-in default stage takes no throttling or access-log settings, so it is declared below.
    this.api = new HttpApi(this, 'Api', { createDefaultStage: false });
    // One integration for every route. One API-wide invoke permission instead of one per route: $default
    // needs the whole API anyway, and it keeps the function's resource policy from growing with routes.
    const integration = new HttpLambdaIntegration('Ingest', handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      scopePermissionToRoute: false,
    });
    const routes = ROUTES.map((definition) => {
      const route = new HttpRoute(this, definition.id, {
        httpApi: this.api,
        routeKey: definition.key,
        integration,
      });
      const resource = route.node.defaultChild as CfnRoute;
      // On the CfnRoute itself, so the acknowledgement cannot cover the integration or the Lambda permission.
      Validations.of(resource).acknowledge({ id: 'AwsSolutions-APIG4', reason: definition.reason });
      return { definition, resource };
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    // HttpStage has no per-route settings, so they go on the CfnStage. Each route gets its own token bucket
    // and its own limits replace the stage default for it.
    const throttles: Record<RouteClass, Throttle | undefined> = {
      anonymous: props.anonymousThrottle,
      webhook: props.webhookThrottle,
      default: undefined,
    };
    const stage = this.stage.node.defaultChild as CfnStage;
    // RouteSettings is plain JSON to the L1, so the CloudFormation names are spelled out here.
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const { definition } of routes) {
      const throttle = throttles[definition.class];
      if (throttle) {
        routeSettings[definition.key.key] = {
          ThrottlingRateLimit: throttle.rateLimit,
          ThrottlingBurstLimit: throttle.burstLimit,
        };
      }
    }
    stage.routeSettings = routeSettings;
    // API Gateway rejects settings for a route key that does not exist yet, so the stage waits for the routes.
    for (const { resource } of routes) stage.addResourceDependency(resource);
  }
}
