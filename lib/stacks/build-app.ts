/**
 * Builds the stacks of the app from a validated configuration. `bin/gateway-proxy.ts` calls it with
 * the configuration it read; tests call it with their own.
 */
import { RemovalPolicy, Validations, type App } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { AppConfig } from '../config/app-config';
import { GatewayStack } from './gateway-stack';
import { LocalGatewayStack } from './local-stack';
import { StatefulStack } from './stateful-stack';

export interface BuiltApp {
  readonly stateful: StatefulStack;
  readonly gateway: GatewayStack;
  readonly local?: LocalGatewayStack;
}

export interface BuildAppOptions {
  /** Run cdk-nag's AwsSolutions pack on synth. @default true */
  readonly nag?: boolean;
  /** Add the local stage (LocalGatewayStack) too. @default false */
  readonly local?: boolean;
  /** @default - ingestor/ as a Docker image asset */
  readonly ingestorImage?: ecs.ContainerImage;
}

export const stackNames = (envName: string) => ({
  stateful: `DiscordGateway-${envName}-Stateful`,
  gateway: `DiscordGateway-${envName}-Gateway`,
  local: `DiscordGateway-${envName}-Local`,
});

export function buildApp(app: App, config: AppConfig, options: BuildAppOptions = {}): BuiltApp {
  const env = config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const names = stackNames(config.envName);
  const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
  const tags = { project: 'discord-gateway-proxy', environment: config.envName };

  const stateful = new StatefulStack(app, names.stateful, {
    env,
    tags,
    description: `Discord gateway proxy (${config.envName}): VPC, Redis, PostgreSQL + RDS Proxy, secrets, claim-check bucket`,
    redisNodeType: config.redisNodeType,
    dbInstanceClass: config.dbInstanceClass,
    dbMultiAz: config.dbMultiAz,
    natGateways: config.natGateways,
    removalPolicy,
  });
  const gateway = new GatewayStack(app, names.gateway, {
    env,
    tags,
    description: `Discord gateway proxy (${config.envName}): event bus, tier queues, ingestors, workers, monitoring`,
    envName: config.envName,
    routing: config.routing,
    stateful,
    totalShards: config.totalShards,
    shardGroups: config.shardGroups,
    discordApplicationId: config.discordApplicationId,
    gatewayIntents: config.gatewayIntents,
    claimCheckThresholdBytes: config.claimCheckThresholdBytes,
    ingestorCpu: config.ingestorCpu,
    ingestorMemoryMiB: config.ingestorMemoryMiB,
    ingestorImage: options.ingestorImage,
    alarmEmail: config.alarmEmail,
    interactionMaxAgeSeconds: config.interactionMaxAgeSeconds,
    tierMaxAgeSeconds: config.tierMaxAgeSeconds,
    scoreServiceUrl: config.scoreServiceUrl,
    queueRemovalPolicy: removalPolicy,
    interactionPollers: config.interactionPollers,
    httpInteractions: config.discordPublicKey ? { publicKey: config.discordPublicKey, throttleRateLimit: config.httpInteractionsRateLimit, throttleBurstLimit: config.httpInteractionsBurstLimit, webAclArn: config.httpInteractionsWebAclArn } : undefined,
  });
  const local = options.local ? new LocalGatewayStack(app, names.local, { routing: config.routing, discordPublicKey: config.discordPublicKey }) : undefined;
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, gateway, local };
}
