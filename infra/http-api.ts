import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
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

export interface IngestHttpApiProps {
  readonly handler: IFunction;
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

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

  constructor(scope: Construct, id: string, { handler, rateLimit, burstLimit }: IngestHttpApiProps) {
    super(scope, id);

    // No corsPreflight: API-level CORS would answer OPTIONS itself and shadow the app's own CORS rules.
    // The built-in default stage takes no throttling or access-log settings, so it is declared below.
    this.api = new HttpApi(this, 'Api', { createDefaultStage: false });
    const route = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('Ingest', handler, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    // On the CfnRoute itself, so the acknowledgement cannot cover the integration or the Lambda permission.
    Validations.of(route.node.findChild('Resource')).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Public by design: anonymous browser form posts cannot carry AWS credentials or Cognito tokens. ' +
        'The app accepts only configured form ids, per-form CORS origins and bounded bodies, and drops ' +
        'honeypot hits; this stage throttles every caller. Webhook routes must verify provider signatures.',
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
  }
}
