/**
 * The local stage: the bus, the tier queues, DLQs and rules, and the worker functions with their
 * event source mappings, without VPC, Fargate, ElastiCache or RDS (none of which run on this
 * machine). `npm run local` and the end-to-end tests create this template's wiring on the emulator
 * and invoke the workers the way its mappings say (DESIGN.md section 4). Same constructs as the
 * gateway stack, so the local wiring is never a second copy written by hand.
 */
import { App, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DEFAULT_ROUTING_TABLE, validateRoutingTable, type RoutingTable } from '../contract';
import { HttpInteractionsEndpoint } from '../constructs/http-interactions-endpoint';
import { TieredEventBus } from '../constructs/tiered-event-bus';
import { TierWorkers } from '../constructs/tier-workers';

/** Where the local services listen (local/env.sh). */
export const LOCAL_WORKER_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://gateway_worker@127.0.0.1:5432/gateway_proxy',
  DB_NAME: 'gateway_proxy',
  DB_USER: 'gateway_worker',
  DB_IAM_AUTH: 'false',
  DISCORD_APPLICATION_ID: '100000000000000001',
});

export interface LocalGatewayStackProps extends StackProps {
  /** @default DEFAULT_ROUTING_TABLE */
  readonly routing?: RoutingTable;
  /** Overrides of the worker environment (e.g. DISCORD_API_URL of the simulator). */
  readonly environment?: Readonly<Record<string, string>>;
  /** The application's public key: set, the stage gets the HTTP interactions endpoint too. @default - none */
  readonly discordPublicKey?: string;
}

export class LocalGatewayStack extends Stack {
  readonly eventBus: TieredEventBus;
  readonly workers: TierWorkers;
  readonly httpInteractions?: HttpInteractionsEndpoint;

  constructor(scope: Construct, id: string, props: LocalGatewayStackProps = {}) {
    super(scope, id, props);
    const routing = validateRoutingTable(props.routing ?? DEFAULT_ROUTING_TABLE);
    this.eventBus = new TieredEventBus(this, 'EventBus', {
      routing,
      encryptBus: false,
      archive: false,
      queueRemovalPolicy: RemovalPolicy.DESTROY,
    });
    this.workers = new TierWorkers(this, 'Workers', {
      eventBus: this.eventBus,
      routing,
      environment: { ...LOCAL_WORKER_ENVIRONMENT, ...(props.environment ?? {}) },
    });
    const interactions = this.eventBus.tiers.interactions;
    if (props.discordPublicKey && interactions) {
      this.httpInteractions = new HttpInteractionsEndpoint(this, 'HttpInteractions', {
        interactionQueue: interactions.queue,
        applicationId: props.environment?.DISCORD_APPLICATION_ID ?? LOCAL_WORKER_ENVIRONMENT.DISCORD_APPLICATION_ID!,
        publicKey: props.discordPublicKey,
      });
    }
  }
}

export interface SynthLocalOptions {
  readonly routing?: RoutingTable;
  readonly environment?: Readonly<Record<string, string>>;
  /** Adds the HTTP interactions endpoint, verifying with this public key. @default - none */
  readonly discordPublicKey?: string;
  /** Bundle the worker code with esbuild (slower); the wiring does not need it. @default false */
  readonly bundle?: boolean;
}

/**
 * Synthesizes the local stage in memory and returns its CloudFormation template (JSON object).
 * Bundling is skipped by default: the local runner imports the handlers from source.
 */
export function synthLocalTemplate(options: SynthLocalOptions = {}): Record<string, unknown> {
  const app = new App(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LocalGatewayStack(app, 'DiscordGatewayLocal', { routing: options.routing, environment: options.environment, discordPublicKey: options.discordPublicKey });
  return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
}
