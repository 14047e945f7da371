/**
 * Discord's second ingress: the HTTP Interactions Endpoint URL. An API Gateway HTTP API (stage
 * throttling, access logs) in front of a small Lambda that verifies Discord's Ed25519 signature,
 * answers PING and self-contained fast commands itself, and defers the rest onto the interactions
 * tier's queue in the gateway path's envelope (docs/http-interactions.md: why an HTTP API rather than a
 * Function URL, and the abuse limits).
 *
 * https://discord.com/developers/docs/interactions/overview#configuring-an-interactions-endpoint-url
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { DEFAULT_LAMBDAS_DIR, WORKER_METRICS_NAMESPACE } from './tier-workers';

/** Stage throttling defaults: steady requests per second and burst (documented in docs/http-interactions.md). */
export const DEFAULT_HTTP_INTERACTIONS_RATE_LIMIT = 100;
export const DEFAULT_HTTP_INTERACTIONS_BURST_LIMIT = 200;
/** The route Discord is given: https://<api>/interactions */
export const HTTP_INTERACTIONS_PATH = '/interactions';

export interface HttpInteractionsEndpointProps {
  /** The interactions tier's queue: the only thing the function may send to. */
  readonly interactionQueue: sqs.IQueue;
  /** The application whose requests this endpoint verifies. */
  readonly applicationId: string;
  /** The application's Ed25519 public key from the developer portal (64 hex characters). */
  readonly publicKey: string;
  /** Stage steady-state rate, requests per second. @default DEFAULT_HTTP_INTERACTIONS_RATE_LIMIT */
  readonly throttleRateLimit?: number;
  /** Stage burst, requests. @default DEFAULT_HTTP_INTERACTIONS_BURST_LIMIT */
  readonly throttleBurstLimit?: number;
  /** Larger bodies get 413 before anything else. @default 131072 */
  readonly maxBodyBytes?: number;
  /** @default 512 (more CPU, faster cold starts; a request takes a few ms of it) */
  readonly memorySize?: number;
  /** A hard cap on concurrent executions. @default - none (the stage throttle bounds it) */
  readonly reservedConcurrency?: number;
  /**
   * A WAFv2 web ACL (scope CLOUDFRONT, so created in us-east-1) to put in front: adds a CloudFront
   * distribution whose URL is then the one to give Discord. HTTP APIs cannot take a web ACL directly.
   * @default - no WAF, no CloudFront
   */
  readonly webAclArn?: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs, not data) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Folder holding `http-ingress/handler.ts`. @default DEFAULT_LAMBDAS_DIR */
  readonly lambdasDir?: string;
}

export class HttpInteractionsEndpoint extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  readonly distribution?: cloudfront.Distribution;
  /** The Interactions Endpoint URL to enter in the developer portal. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: HttpInteractionsEndpointProps) {
    super(scope, id);
    if (!/^[0-9a-fA-F]{64}$/.test(props.publicKey)) {
      throw new Error(`HttpInteractionsEndpoint: publicKey must be the 64 hex characters of the application's public key (developer portal, General Information), got ${JSON.stringify(props.publicKey.slice(0, 80))}`);
    }
    const entry = path.join(props.lambdasDir ?? DEFAULT_LAMBDAS_DIR, 'http-ingress', 'handler.ts');
    if (!fs.existsSync(entry)) throw new Error(`HttpInteractionsEndpoint: ${entry} does not exist`);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.logRemovalPolicy ?? RemovalPolicy.DESTROY;

    this.function = new nodejs.NodejsFunction(this, 'Handler', {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      // Discord waits 3 s for the response
      timeout: Duration.seconds(3),
      memorySize: props.memorySize ?? 512,
      reservedConcurrentExecutions: props.reservedConcurrency,
      description: 'Discord HTTP interactions ingress: verifies signatures, answers or defers onto the interactions queue',
      environment: {
        WORKER: 'http-ingress',
        DISCORD_PUBLIC_KEY: props.publicKey.toLowerCase(),
        DISCORD_APPLICATION_ID: props.applicationId,
        INTERACTION_QUEUE_URL: props.interactionQueue.queueUrl,
        MAX_BODY_BYTES: String(props.maxBodyBytes ?? 131_072),
        POWERTOOLS_SERVICE_NAME: 'http-ingress',
        POWERTOOLS_METRICS_NAMESPACE: WORKER_METRICS_NAMESPACE,
        NODE_OPTIONS: '--enable-source-maps',
      },
      logGroup: new logs.LogGroup(this, 'HandlerLogs', { retention, removalPolicy }),
      bundling: { forceDockerBundling: false, target: 'node22', minify: true, sourceMap: true, sourcesContent: false, externalModules: ['pg-native'] },
    });
    props.interactionQueue.grantSendMessages(this.function);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention, removalPolicy });
    this.api = new apigw.HttpApi(this, 'Api', { description: 'Discord Interactions Endpoint URL', createDefaultStage: false });
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? DEFAULT_HTTP_INTERACTIONS_RATE_LIMIT, burstLimit: props.throttleBurstLimit ?? DEFAULT_HTTP_INTERACTIONS_BURST_LIMIT },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        // no headers and no body: the signature is not secret, but the interaction token in the body is
        format: accessLogFormat(),
      },
    });
    const routes = this.api.addRoutes({ path: HTTP_INTERACTIONS_PATH, methods: [apigw.HttpMethod.POST], integration: new HttpLambdaIntegration('Integration', this.function) });
    for (const r of routes) {
      acknowledge(r, 'Discord sends no credential an authorizer could check: every request carries an Ed25519 signature that the function verifies before any other work (401 otherwise).', 'AwsSolutions-APIG4');
    }

    let url = `${this.api.apiEndpoint}${HTTP_INTERACTIONS_PATH}`;
    if (props.webAclArn) {
      const region = Stack.of(this).region;
      this.distribution = new cloudfront.Distribution(this, 'Distribution', {
        comment: 'Discord Interactions Endpoint URL behind AWS WAF',
        webAclId: props.webAclArn,
        defaultBehavior: {
          origin: new origins.HttpOrigin(`${this.api.apiId}.execute-api.${region}.${Stack.of(this).urlSuffix}`, { protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY }),
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          // the signature headers and the body must reach the function untouched
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
        priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      });
      acknowledge(this.distribution, 'Discord calls from its own infrastructure; a geo restriction would only risk refusing it.', 'AwsSolutions-CFR1');
      acknowledge(this.distribution, 'Every request that reaches the origin is in the API stage access log; CloudFront standard logs would need a log bucket for the same lines.', 'AwsSolutions-CFR3');
      acknowledge(this.distribution, 'The default *.cloudfront.net certificate; a custom domain with an ACM certificate sets TLSv1.2_2021.', 'AwsSolutions-CFR4');
      url = `https://${this.distribution.distributionDomainName}${HTTP_INTERACTIONS_PATH}`;
    }
    this.url = url;

    const fn = this.function;
    acknowledge(fn, 'Pinned to nodejs22.x, the runtime the workers are built and tested for; moving runtimes is a deliberate change.', 'AwsSolutions-L1');
    acknowledge(fn, 'AWS managed minimum for logs.', 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]');
  }
}

/** One JSON line per request: who, what, how it ended and how long it took. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTimeEpoch',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      integrationError: '$context.integrationErrorMessage',
      throttled: '$context.error.messageString',
    }),
  );
}
