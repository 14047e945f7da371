/**
 * One ingestor Fargate service per shard group: a single ARM64 task that holds the gateway
 * WebSockets of its shards and publishes dispatches to the bus. The task role may put events on this
 * bus, put objects in the claim-check bucket (claim checks and dead letters) and read the secrets it
 * is given (bot token, Redis AUTH), nothing else.
 *
 * A deploy runs the new task beside the old one (minHealthyPercent 100, maxHealthyPercent 200): the
 * shard leases in Redis let only one of them own a shard at a time, and the old task hands its
 * shards off one at a time on SIGTERM (drain, persist, close resumably, release); the new one
 * RESUMEs each (docs/ingestor.md, "The fleet").
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { grantReadAppTokenSecrets } from './app-token-secrets';
import { acknowledge } from './nag';
import { ingestorMallocEnv, ingestorNodeOptions } from '../contract';

/** Namespace of the ingestor's EMF metrics (dimension ShardGroup). */
export const INGESTOR_METRICS_NAMESPACE = 'DiscordGatewayProxy/Ingestor';
export const INGESTOR_HTTP_PORT = 8080;
/** Created in the image and owned by its `node` user (ingestor/Dockerfile); on the task's ephemeral storage. */
export const INGESTOR_SPOOL_DIR = '/tmp/spool';
/** Fargate's maximum stop timeout: the shutdown flush must fit in it. */
export const MAX_STOP_TIMEOUT_SECONDS = 120;

/** "0-3" for contiguous groups, else "0,2,5". */
export function shardIdsLabel(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined) throw new Error('a shard group needs at least one shard id');
  const contiguous = sorted.every((v, i) => v === first + i);
  return contiguous ? (first === last ? `${first}` : `${first}-${last}`) : sorted.join(',');
}

export interface IngestorServiceProps {
  readonly cluster: ecs.ICluster;
  readonly image: ecs.ContainerImage;
  /** Shard ids this service owns. */
  readonly shardIds: readonly number[];
  readonly totalShards: number;
  readonly eventBus: events.IEventBus;
  readonly claimCheckBucket: s3.IBucket;
  /** Managed policy granting s3:PutObject on the claim-check objects. @default - an inline statement with the same grant */
  readonly claimCheckWriterPolicy?: iam.IManagedPolicy;
  readonly claimCheckThresholdBytes: number;
  readonly botTokenSecret: secretsmanager.ISecret;
  readonly discordApplicationId: string;
  readonly gatewayIntents: number;
  /** rediss://host:port */
  readonly redisUrl: string;
  /** The Redis AUTH token (REDIS_AUTH_SECRET_ARN). @default - no Redis auth */
  readonly redisAuthSecret?: secretsmanager.ISecret;
  readonly securityGroups: ec2.ISecurityGroup[];
  /** @default - private subnets with egress */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default 256 */
  readonly cpu?: number;
  /** @default 512 */
  readonly memoryLimitMiB?: number;
  /** Time the container has to flush on SIGTERM. @default Duration.seconds(120) */
  readonly stopTimeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export class IngestorService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;
  /** The ShardGroup dimension value of this service's metrics, e.g. "0-3". */
  readonly shardGroup: string;

  constructor(scope: Construct, id: string, props: IngestorServiceProps) {
    super(scope, id);
    const bad = props.shardIds.filter((s) => !Number.isInteger(s) || s < 0 || s >= props.totalShards);
    if (bad.length > 0) {
      throw new Error(`shard ids ${bad.join(',')} are outside 0..${props.totalShards - 1}: set totalShards (TOTAL_SHARDS) or narrow the shard group`);
    }
    const stopTimeout = props.stopTimeout ?? Duration.seconds(MAX_STOP_TIMEOUT_SECONDS);
    if (stopTimeout.toSeconds() > MAX_STOP_TIMEOUT_SECONDS) {
      throw new Error(`ingestor stopTimeout ${stopTimeout.toSeconds()} s exceeds Fargate's maximum of ${MAX_STOP_TIMEOUT_SECONDS} s`);
    }
    this.shardGroup = shardIdsLabel(props.shardIds);

    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 256,
      memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.container = this.taskDefinition.addContainer('ingestor', {
      image: props.image,
      essential: true,
      stopTimeout,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'ingestor', logGroup: this.logGroup }),
      portMappings: [{ containerPort: INGESTOR_HTTP_PORT, protocol: ecs.Protocol.TCP }],
      environment: {
        DISCORD_TOKEN_SECRET_ARN: props.botTokenSecret.secretArn,
        DISCORD_APPLICATION_ID: props.discordApplicationId,
        SHARD_IDS: this.shardGroup,
        // one task holds the whole group; during a deploy the new task takes each shard its predecessor hands off
        SHARDS_PER_TASK: String(props.shardIds.length),
        // the ShardGroup dimension of the ingestor's metrics, which the alarms select on
        SHARD_GROUP: this.shardGroup,
        TOTAL_SHARDS: String(props.totalShards),
        GATEWAY_INTENTS: String(props.gatewayIntents),
        EVENT_BUS_NAME: props.eventBus.eventBusName,
        CLAIM_CHECK_BUCKET: props.claimCheckBucket.bucketName,
        // events that can never be published, stored under ingestor-dead-letters/ (same object grant)
        DEAD_LETTER_BUCKET: props.claimCheckBucket.bucketName,
        CLAIM_CHECK_THRESHOLD_BYTES: String(props.claimCheckThresholdBytes),
        REDIS_URL: props.redisUrl,
        ...(props.redisAuthSecret ? { REDIS_AUTH_SECRET_ARN: props.redisAuthSecret.secretArn } : {}),
        HTTP_PORT: String(INGESTOR_HTTP_PORT),
        SPOOL_DIR: INGESTOR_SPOOL_DIR,
        METRICS_NAMESPACE: INGESTOR_METRICS_NAMESPACE,
        // the heap bounded by the task's memory (see ingestor/src/runtime.ts)
        NODE_OPTIONS: ingestorNodeOptions(memoryLimitMiB),
        // large buffers mmapped and given back after a GUILD_CREATE burst (see ingestor/src/runtime.ts)
        ...ingestorMallocEnv(),
      },
      // node is in the image; no curl/wget needed
      healthCheck: {
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${INGESTOR_HTTP_PORT}/health').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))`],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
    });

    if (this.taskDefinition.executionRole) {
      acknowledge(this.taskDefinition.executionRole, 'Execution role only: ecr:GetAuthorizationToken has no resource-level permissions; image pulls are scoped to the asset repository.', 'AwsSolutions-IAM5[Resource::*]');
    }

    this.grantTaskRole(props);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: 1,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: props.securityGroups,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
    });
  }

  /** Least privilege: this bus, this bucket's objects, these secrets. */
  private grantTaskRole(props: IngestorServiceProps): void {
    const role = this.taskDefinition.taskRole;
    props.eventBus.grantPutEventsTo(role);
    if (props.claimCheckWriterPolicy) role.addManagedPolicy(props.claimCheckWriterPolicy);
    else role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.claimCheckBucket.arnForObjects('*')] }));
    props.botTokenSecret.grantRead(role);
    grantReadAppTokenSecrets(role, this.taskDefinition);
    props.redisAuthSecret?.grantRead(role);
  }
}
