/**
 * The gateway stack: the tiered event bus (bus, archive, per-tier queues, DLQs and rules), the
 * ingestor Fargate services (one per shard group), the worker Lambdas, and the dashboard and alarms.
 * Everything stateful it uses (VPC, Redis, database proxy, secrets, claim-check bucket) comes from the
 * StatefulStack by reference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { validateRoutingTable, type RoutingTable } from '../contract';
import { IngestorService } from '../constructs/ingestor-service';
import { HttpInteractionsEndpoint } from '../constructs/http-interactions-endpoint';
import { GatewayMonitoring } from '../constructs/monitoring';
import { acknowledge } from '../constructs/nag';
import { TieredEventBus } from '../constructs/tiered-event-bus';
import { TierWorkers } from '../constructs/tier-workers';
import { DATABASE_NAME, POSTGRES_PORT, WORKER_DB_USER, type StatefulStack } from './stateful-stack';

export const INGESTOR_DIR = path.join(__dirname, '..', '..', 'ingestor');

export interface GatewayStackProps extends StackProps {
  readonly envName: string;
  readonly routing: RoutingTable;
  readonly stateful: StatefulStack;
  readonly totalShards: number;
  /** Shard ids per ingestor service, e.g. [[0,1,2,3],[4,5,6,7]]. */
  readonly shardGroups: readonly (readonly number[])[];
  readonly discordApplicationId: string;
  readonly gatewayIntents: number;
  readonly claimCheckThresholdBytes: number;
  /** @default 256 */
  readonly ingestorCpu?: number;
  /** @default 512 */
  readonly ingestorMemoryMiB?: number;
  /** @default - the ingestor/ folder built as a Docker image asset */
  readonly ingestorImage?: ecs.ContainerImage;
  /** Subscribed to the alarm topic. @default - no subscription (the topic is still created) */
  readonly alarmEmail?: string;
  /** @default 2 */
  readonly interactionMaxAgeSeconds?: number;
  /** @default 300 */
  readonly tierMaxAgeSeconds?: number;
  /** @default - unset (the interaction worker's score command reports it unavailable) */
  readonly scoreServiceUrl?: string;
  /** @default RemovalPolicy.RETAIN */
  readonly queueRemovalPolicy?: RemovalPolicy;
  /** Provisioned pollers for the interactions event source. @default - on-demand polling */
  readonly interactionPollers?: { readonly minimum: number; readonly maximum: number };
  /**
   * Discord's HTTP interactions endpoint in front of the interactions tier (docs/http-interactions.md).
   * @default - none (interactions arrive over the gateway only)
   */
  readonly httpInteractions?: {
    /** the application's Ed25519 public key, 64 hex characters */
    readonly publicKey: string;
    /** @default DEFAULT_HTTP_INTERACTIONS_RATE_LIMIT */
    readonly throttleRateLimit?: number;
    /** @default DEFAULT_HTTP_INTERACTIONS_BURST_LIMIT */
    readonly throttleBurstLimit?: number;
    /** @default - no WAF */
    readonly webAclArn?: string;
  };
}

export class GatewayStack extends Stack {
  readonly eventBus: TieredEventBus;
  readonly workers: TierWorkers;
  readonly ingestors: readonly IngestorService[];
  readonly monitoring: GatewayMonitoring;
  readonly cluster: ecs.Cluster;
  readonly httpInteractions?: HttpInteractionsEndpoint;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const routing = validateRoutingTable(props.routing);
    const st = props.stateful;

    this.eventBus = new TieredEventBus(this, 'EventBus', { routing, queueRemovalPolicy: props.queueRemovalPolicy ?? RemovalPolicy.RETAIN });

    this.workers = new TierWorkers(this, 'Workers', {
      eventBus: this.eventBus,
      routing,
      environment: {
        REDIS_URL: st.redisUrl,
        DISCORD_APPLICATION_ID: props.discordApplicationId,
      },
      consumerEnvironment: props.scoreServiceUrl ? { interaction: { SCORE_SERVICE_URL: props.scoreServiceUrl } } : undefined,
      botTokenSecret: st.botTokenSecret,
      redisAuthSecret: st.redisAuthSecret,
      claimCheckBucket: st.claimCheckBucket,
      claimCheckReaderPolicy: st.claimCheckReaderPolicy,
      database: { proxy: st.proxy, port: POSTGRES_PORT, databaseName: DATABASE_NAME, user: WORKER_DB_USER },
      vpc: st.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [st.workerSecurityGroup],
      interactionPollers: props.interactionPollers,
    });

    const interactions = this.eventBus.tiers.interactions;
    if (props.httpInteractions && interactions) {
      this.httpInteractions = new HttpInteractionsEndpoint(this, 'HttpInteractions', {
        interactionQueue: interactions.queue,
        applicationId: props.discordApplicationId,
        ...props.httpInteractions,
      });
      new CfnOutput(this, 'InteractionsEndpointUrl', { value: this.httpInteractions.url, description: 'Interactions Endpoint URL for the developer portal' });
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: st.vpc, containerInsightsV2: ecs.ContainerInsights.ENHANCED });
    const image = props.ingestorImage ?? ingestorImage(this);
    this.ingestors = props.shardGroups.map(
      (shardIds, i) =>
        new IngestorService(this, `Ingestor${i}`, {
          cluster: this.cluster,
          image,
          shardIds,
          totalShards: props.totalShards,
          eventBus: this.eventBus.bus,
          claimCheckBucket: st.claimCheckBucket,
          claimCheckWriterPolicy: st.claimCheckWriterPolicy,
          claimCheckThresholdBytes: props.claimCheckThresholdBytes,
          botTokenSecret: st.botTokenSecret,
          redisAuthSecret: st.redisAuthSecret,
          redisUrl: st.redisUrl,
          discordApplicationId: props.discordApplicationId,
          gatewayIntents: props.gatewayIntents,
          securityGroups: [st.ingestorSecurityGroup],
          cpu: props.ingestorCpu,
          memoryLimitMiB: props.ingestorMemoryMiB,
          stopTimeout: Duration.seconds(120),
        }),
    );
    for (const ing of this.ingestors) {
      acknowledge(ing.taskDefinition, 'The container environment holds names, ARNs and sizes only; the bot token and Redis AUTH token are read from Secrets Manager by ARN at start.', 'AwsSolutions-ECS2');
    }

    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      envName: props.envName,
      tiers: this.eventBus.tiers,
      functions: Object.fromEntries(this.workers.workers.map((w) => [w.consumer, w.function])),
      ingestors: this.ingestors,
      redisReplicationGroupId: st.redis.ref,
      proxyName: st.proxy.dbProxyName,
      alarmEmail: props.alarmEmail,
      interactionMaxAgeSeconds: props.interactionMaxAgeSeconds,
      tierMaxAgeSeconds: props.tierMaxAgeSeconds,
    });

    new CfnOutput(this, 'EventBusName', { value: this.eventBus.bus.eventBusName });
    if (this.eventBus.archive) new CfnOutput(this, 'ArchiveName', { value: this.eventBus.archive.archiveName, description: 'Replay with aws events start-replay' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    for (const [name, tier] of Object.entries(this.eventBus.tiers)) {
      new CfnOutput(this, `${name}QueueUrl`, { value: tier.queue.queueUrl });
      new CfnOutput(this, `${name}DeadLetterQueueUrl`, { value: tier.deadLetterQueue.queueUrl, description: `redrive: aws sqs start-message-move-task --source-arn ${name} DLQ arn` });
      new CfnOutput(this, `${name}TargetDeadLetterQueueUrl`, { value: tier.targetDeadLetterQueue.queueUrl });
    }
  }
}

/**
 * `ContainerImage.fromAsset('ingestor')`. While ingestor/Dockerfile does not exist yet, synth goes on
 * with a public Node image and a warning: that stack must not be deployed.
 */
export function ingestorImage(scope: Construct, dir: string = INGESTOR_DIR): ecs.ContainerImage {
  if (fs.existsSync(path.join(dir, 'Dockerfile'))) {
    return ecs.ContainerImage.fromAsset(dir, { platform: Platform.LINUX_ARM64 });
  }
  Annotations.of(scope).addWarningV2('gateway:ingestorDockerfileMissing', `${path.join(dir, 'Dockerfile')} does not exist: the ingestor image is a bare Node image. Do not deploy until the ingestor lands.`);
  return ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine');
}
