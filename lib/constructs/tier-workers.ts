/**
 * The worker Lambdas: one NodejsFunction per tier that has a consumer in the routing table, fed by
 * the tier's queue through an SQS event source whose batch size, batching window and maximum
 * concurrency come from the routing table, with partial batch failures reported.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { tiersByPriority, WORKER_METRICS_NAMESPACE, type ConsumerName, type RoutingTable, type TierRoute } from '../contract';
import { grantReadAppTokenSecrets } from './app-token-secrets';
import { acknowledge } from './nag';
import { pascal, type TieredEventBus } from './tiered-event-bus';

/**
 * Consumers that call bot-token REST routes and so may read the bot token. The interaction worker
 * answers with the interaction token only and never gets it (docs/architecture.md, limits).
 */
export const BOT_TOKEN_CONSUMERS: readonly ConsumerName[] = ['member', 'guild'];

export { WORKER_METRICS_NAMESPACE } from '../contract';

/** Where the worker handlers live: `lambdas/<consumer>/handler.ts`, exporting `handler`. */
export const DEFAULT_LAMBDAS_DIR = path.join(__dirname, '..', '..', 'lambdas');

export interface WorkerDatabaseProps {
  /** The RDS Proxy the workers connect through (IAM authentication). */
  readonly proxy: rds.IDatabaseProxy;
  /** @default 5432 */
  readonly port?: number;
  /** @default 'gateway_proxy' */
  readonly databaseName?: string;
  /** The database user the workers log in as; `rds-db:connect` is granted for it only. @default 'gateway_worker' */
  readonly user?: string;
}

export interface TierWorkersProps {
  readonly eventBus: TieredEventBus;
  readonly routing: RoutingTable;
  /** Environment of every worker (REDIS_URL, DISCORD_APPLICATION_ID, ...). */
  readonly environment: Readonly<Record<string, string>>;
  /** Extra environment per consumer, e.g. SCORE_SERVICE_URL for the interaction worker. @default - none */
  readonly consumerEnvironment?: Readonly<Partial<Record<ConsumerName, Readonly<Record<string, string>>>>>;
  /** The bot token; readable by BOT_TOKEN_CONSUMERS only. @default - no token wired */
  readonly botTokenSecret?: secretsmanager.ISecret;
  /** The Redis AUTH token, readable by every worker. @default - no Redis auth */
  readonly redisAuthSecret?: secretsmanager.ISecret;
  /** The claim-check bucket the workers read oversized payloads from. @default - none */
  readonly claimCheckBucket?: s3.IBucket;
  /** Managed policy granting s3:GetObject on the claim-check objects. @default - an inline statement with the same grant */
  readonly claimCheckReaderPolicy?: iam.IManagedPolicy;
  /** PostgreSQL through RDS Proxy. @default - no database wiring (local stage sets DATABASE_URL) */
  readonly database?: WorkerDatabaseProps;
  /** @default - not in a VPC (local stage only) */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default - none */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default 512 */
  readonly memorySize?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs of a function, not data) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Folder that holds `<consumer>/handler.ts`. @default DEFAULT_LAMBDAS_DIR */
  readonly lambdasDir?: string;
  /**
   * Provisioned pollers for the interactions tier, which cut pick-up latency (about $13 a month at
   * the minimum). They replace the tier's maxConcurrency (Lambda refuses both). @default - none (on-demand polling)
   */
  readonly interactionPollers?: { readonly minimum: number; readonly maximum: number };
}

export interface TierWorker {
  readonly route: TierRoute;
  readonly consumer: ConsumerName;
  readonly function: nodejs.NodejsFunction;
  readonly eventSource: SqsEventSource;
}

/** One worker function per consumed tier, with its SQS event source. */
export class TierWorkers extends Construct {
  readonly workers: readonly TierWorker[];

  constructor(scope: Construct, id: string, props: TierWorkersProps) {
    super(scope, id);
    const dir = props.lambdasDir ?? DEFAULT_LAMBDAS_DIR;
    const workers: TierWorker[] = [];
    for (const route of tiersByPriority(props.routing)) {
      if (route.consumer === null) continue;
      workers.push(this.addWorker(route, route.consumer, dir, props));
    }
    this.workers = workers;
  }

  worker(consumer: ConsumerName): TierWorker {
    const w = this.workers.find((x) => x.consumer === consumer);
    if (!w) throw new Error(`no tier in the routing table is consumed by the ${consumer} worker`);
    return w;
  }

  private addWorker(route: TierRoute, consumer: ConsumerName, dir: string, props: TierWorkersProps): TierWorker {
    const q = route.queue;
    const entry = path.join(dir, consumer, 'handler.ts');
    if (!fs.existsSync(entry)) {
      throw new Error(`worker entry ${entry} does not exist: the ${route.name} tier is consumed by '${consumer}', which needs lambdas/${consumer}/handler.ts exporting handler`);
    }
    const tier = props.eventBus.tier(route.name);
    const name = `${pascal(consumer)}Worker`;
    const logGroup = new logs.LogGroup(this, `${name}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    const environment = this.environmentOf(consumer, props);
    if (!BOT_TOKEN_CONSUMERS.includes(consumer) && ('DISCORD_TOKEN_SECRET_ARN' in environment || 'DISCORD_TOKEN' in environment)) {
      throw new Error(`the ${consumer} worker must not get the bot token (it answers with the interaction token): remove DISCORD_TOKEN* from its environment`);
    }

    const fn = new nodejs.NodejsFunction(this, name, {
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(q.functionTimeoutSeconds),
      memorySize: props.memorySize ?? 512,
      description: `Discord gateway ${route.name} tier worker (${consumer})`,
      environment,
      logGroup,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? (props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }) : undefined,
      securityGroups: props.vpc ? props.securityGroups : undefined,
      bundling: {
        forceDockerBundling: false,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // file:line:column and names are all a stack trace needs; the embedded sources would only make
        // the map, and the heap --enable-source-maps holds, larger (docs/workers.md, Connections)
        sourcesContent: false,
        // pg's optional native binding is never used; the SDK is bundled at the pinned versions
        externalModules: ['pg-native'],
      },
    });

    // Provisioned mode and MaximumConcurrency are mutually exclusive in Lambda: with pollers, the
    // maximum poller count bounds concurrency instead of the tier's maxConcurrency.
    const pollers = consumer === 'interaction' ? props.interactionPollers : undefined;
    const eventSource = new SqsEventSource(tier.queue, {
      batchSize: q.batchSize,
      maxBatchingWindow: q.maxBatchingWindowSeconds > 0 ? Duration.seconds(q.maxBatchingWindowSeconds) : undefined,
      maxConcurrency: pollers ? undefined : q.maxConcurrency,
      reportBatchItemFailures: true,
      provisionedPollerConfig: pollers ? { minimumPollers: pollers.minimum, maximumPollers: pollers.maximum } : undefined,
    });
    fn.addEventSource(eventSource);

    // a poison record goes to the tier's DLQ at once, with its reason (lambdas/shared/dead-letter.ts)
    tier.deadLetterQueue.grantSendMessages(fn);
    props.redisAuthSecret?.grantRead(fn);
    if (props.claimCheckBucket) {
      if (props.claimCheckReaderPolicy) fn.role?.addManagedPolicy(props.claimCheckReaderPolicy);
      else fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.claimCheckBucket.arnForObjects('*')] }));
    }
    if (props.botTokenSecret && BOT_TOKEN_CONSUMERS.includes(consumer)) {
      props.botTokenSecret.grantRead(fn);
      // replies of another application go out with its token (lambdas/shared/bot-rest.ts)
      grantReadAppTokenSecrets(fn, fn);
    }
    props.database?.proxy.grantConnect(fn, props.database.user ?? 'gateway_worker');

    acknowledge(fn, 'Pinned to nodejs22.x, the runtime the workers are built and tested for; moving runtimes is a deliberate change.', 'AwsSolutions-L1');
    acknowledge(
      fn,
      'AWS managed minimum for logs and VPC ENIs.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    );
    return { route, consumer, function: fn, eventSource };
  }

  /** The function's environment: shared settings, its clients' endpoints and secrets, its own extras. */
  private environmentOf(consumer: ConsumerName, props: TierWorkersProps): Record<string, string> {
    return {
      ...props.environment,
      WORKER: consumer,
      POWERTOOLS_SERVICE_NAME: `${consumer}-worker`,
      POWERTOOLS_METRICS_NAMESPACE: WORKER_METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
      ...(props.redisAuthSecret ? { REDIS_AUTH_SECRET_ARN: props.redisAuthSecret.secretArn } : {}),
      ...(props.claimCheckBucket ? { CLAIM_CHECK_BUCKET: props.claimCheckBucket.bucketName } : {}),
      ...(props.database
        ? {
            DB_HOST: props.database.proxy.endpoint,
            DB_PORT: String(props.database.port ?? 5432),
            DB_NAME: props.database.databaseName ?? 'gateway_proxy',
            DB_USER: props.database.user ?? 'gateway_worker',
            DB_IAM_AUTH: 'true',
          }
        : {}),
      ...(props.botTokenSecret && BOT_TOKEN_CONSUMERS.includes(consumer) ? { DISCORD_TOKEN_SECRET_ARN: props.botTokenSecret.secretArn } : {}),
      ...(props.consumerEnvironment?.[consumer] ?? {}),
    };
  }
}
