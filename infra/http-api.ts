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
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
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

export interface ManagersApiProps {
  /** The api function: the managers' API, its OpenAPI document, reference page and console. */
  readonly handler: IFunction;
  /** The issuer whose tokens the JWT authorizer accepts (the user pool's URL). */
  readonly jwtIssuer: string;
  /** App client ids: Cognito access tokens carry `client_id`, which the authorizer matches when `aud` is absent. */
  readonly jwtAudience: readonly string[];
}

interface ManagersRouteDefinition {
  readonly id: string;
  readonly key: HttpRouteKey;
  /** Why the route has no authorizer (cdk-nag AwsSolutions-APIG4); absent: the JWT authorizer guards it. */
  readonly reason?: string;
}

const API_DESCRIPTION_REASON =
  'The API description is public by design: the OpenAPI document and its reference page describe the ' +
  "routes and hold no data; every managers' route they describe is itself behind the JWT authorizer.";

/**
 * The managers' routes, all to the api function. `/v1/{proxy+}` is greedy, so API Gateway prefers the more
 * specific public routes above (forms, chat, webhooks), which stay with ingest and stay public.
 */
const MANAGERS_ROUTES: readonly ManagersRouteDefinition[] = [
  { id: 'ManagersRoute', key: HttpRouteKey.with('/v1/{proxy+}', HttpMethod.ANY) },
  {
    id: 'OpenApiRoute',
    key: HttpRouteKey.with('/openapi.json', HttpMethod.GET),
    reason: API_DESCRIPTION_REASON,
  },
  { id: 'DocsRoute', key: HttpRouteKey.with('/docs', HttpMethod.GET), reason: API_DESCRIPTION_REASON },
  {
    id: 'DocsAssetsRoute',
    key: HttpRouteKey.with('/docs/{proxy+}', HttpMethod.GET),
    reason: API_DESCRIPTION_REASON,
  },
  {
    id: 'ConsoleRoute',
    key: HttpRouteKey.with('/console/{proxy+}', HttpMethod.ANY),
    reason:
      "The console's pages carry their own authority: a browser cannot send a bearer token, so each page " +
      'reads the session cookie (the Cognito access token from the managed sign-in with PKCE, HttpOnly, ' +
      'Secure, SameSite=Lax) and the function verifies it with the same code and the same viewer rules as ' +
      'the /v1/ routes; without a valid session a page only redirects to the sign-in, and every form post ' +
      "must come from this origin with the session's CSRF token.",
  },
  ...([HttpMethod.GET, HttpMethod.POST] as const).map((method) => ({
    id: method === HttpMethod.GET ? 'ActionLinkPageRoute' : 'ActionLinkActRoute',
    key: HttpRouteKey.with('/a/{token}', method),
    reason:
      "The alert's one-tap links are opened from a manager's mailbox, which cannot send a token: the link's " +
      'own HMAC-signed, expiring, single-purpose token is the authority, checked by the function; a GET only ' +
      'shows a confirmation page, and a token acts once, as the one manager it names, on the one lead it names.',
  })),
  ...([HttpMethod.GET, HttpMethod.POST] as const).map((method) => ({
    id: method === HttpMethod.GET ? 'UnsubscribePageRoute' : 'UnsubscribeRoute',
    key: HttpRouteKey.with('/u/{token}', method),
    reason:
      'RFC 8058 one-click unsubscribe: mailbox providers POST to the link with no cookie and no credentials, ' +
      "by design; the link's HMAC-signed token is the authority, it names one contact and can only stop " +
      'follow-up mail to it, and a GET only shows a confirmation page.',
  })),
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

/**
 * The HTTP API: the public routes go to the ingest function, whose hono app routes and handles CORS;
 * `addManagersApi` adds the managers' routes, behind a JWT authorizer, for the api function.
 */
export class IngestHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The JWT authorizer of the managers' routes, once `addManagersApi` has run. */
  managersAuthorizer: HttpJwtAuthorizer | undefined;

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

  /**
   * The managers' API on this HTTP API: `ANY /v1/{proxy+}` behind a JWT authorizer (issuer and client
   * checked by API Gateway, then again with the user's role by the function), and the public API
   * description and console pages.
   */
  addManagersApi(props: ManagersApiProps): HttpRoute[] {
    const integration = new HttpLambdaIntegration('Api', props.handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      scopePermissionToRoute: false,
    });
    const authorizer = new HttpJwtAuthorizer('ManagersAuthorizer', props.jwtIssuer, {
      authorizerName: 'managers-jwt',
      identitySource: ['$request.header.Authorization'],
      jwtAudience: [...props.jwtAudience],
    });
    this.managersAuthorizer = authorizer;
    return MANAGERS_ROUTES.map((definition) => {
      const route = new HttpRoute(this, definition.id, {
        httpApi: this.api,
        routeKey: definition.key,
        integration,
        ...(definition.reason === undefined ? { authorizer } : {}),
      });
      const resource = route.node.defaultChild as CfnRoute;
      if (definition.reason !== undefined) {
        Validations.of(resource).acknowledge({ id: 'AwsSolutions-APIG4', reason: definition.reason });
      }
      // As for the public routes: the stage comes after every route, so route settings may name any of them.
      (this.stage.node.defaultChild as CfnStage).addResourceDependency(resource);
      return route;
    });
  }
}
