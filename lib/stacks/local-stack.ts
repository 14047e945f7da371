/**
 * The local stage: the bus, the tier queues, DLQs and rules, and the worker functions with their
 * event source mappings, plus a claim-check bucket, without VPC, Fargate, ElastiCache or RDS (none of
 * which run on this machine). Same constructs as the gateway stack. `npm run deploy:local`,
 * `npm run local` and the end-to-end tests deploy it with the CDK CLI to the local AWS endpoint
 * (`cdk deploy DiscordGateway-<env>-Local -c stage=local`), and the emulator runs the workers from
 * their event source mappings (docs/local-stage.md).
 *
 * Where the local services are (simulator REST, Redis, PostgreSQL, score service, the secrets on the
 * emulator) reaches the functions as CDK context, the way a real deployment gets its settings
 * (`-c localDiscordApiUrl=http://127.0.0.1:7150/api/v10 ...`, see LOCAL_CONTEXT_KEYS). Tools find what
 * was deployed through the stack's Outputs (LOCAL_OUTPUTS), never by guessing names.
 */
import { App, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DEFAULT_ROUTING_TABLE, TIER_NAMES, validateRoutingTable, type ConsumerName, type RoutingTable, type TierName } from '../contract';
import { settingText } from '../config/app-config';
import { HttpInteractionsEndpoint } from '../constructs/http-interactions-endpoint';
import { acknowledge } from '../constructs/nag';
import { TieredEventBus } from '../constructs/tiered-event-bus';
import { TierWorkers } from '../constructs/tier-workers';

/** The application id of the local stage when -c discordApplicationId is not given. */
const LOCAL_APPLICATION_ID = '100000000000000001';

/** Where the local services listen by default (local/env.sh, local/pipeline). */
export const LOCAL_WORKER_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy',
  DB_NAME: 'gateway_proxy',
  DB_USER: 'gateway_worker',
  DB_IAM_AUTH: 'false',
  DISCORD_APPLICATION_ID: LOCAL_APPLICATION_ID,
});

/**
 * The CDK context keys of the local stage (`-c key=value`), each becoming a worker setting. Unset
 * keys fall back to LOCAL_WORKER_ENVIRONMENT or leave the setting out.
 */
export const LOCAL_CONTEXT_KEYS = {
  /** DISCORD_API_URL: the Discord simulator's REST base, e.g. http://127.0.0.1:7150/api/v10 */
  discordApiUrl: 'localDiscordApiUrl',
  /** DISCORD_APPLICATION_ID (the same key as a real deployment) */
  discordApplicationId: 'discordApplicationId',
  /** SCORE_SERVICE_URL of the interaction worker (the same key as a real deployment) */
  scoreServiceUrl: 'scoreServiceUrl',
  /** REDIS_URL, e.g. redis://127.0.0.1:6380 */
  redisUrl: 'localRedisUrl',
  /** REDIS_AUTH_SECRET_ARN: a Secrets Manager secret on the emulator holding the Redis password */
  redisAuthSecretArn: 'localRedisAuthSecretArn',
  /** DATABASE_URL of the worker role */
  databaseUrl: 'localDatabaseUrl',
  /** DISCORD_TOKEN_SECRET_ARN: a Secrets Manager secret on the emulator holding the (simulator's) bot token */
  botTokenSecretArn: 'localBotTokenSecretArn',
  /** DB_POOL_MAX of each worker container */
  dbPoolMax: 'localDbPoolMax',
  /** GATEWAY_PROXY_LOG_FILE: the workers' JSON log lines go to this file too (`npm run trace` reads it) */
  logFile: 'localLogFile',
} as const;

/** Stack output keys, read by scripts/dlq.ts, local/pipeline and the tests (CloudFormation DescribeStacks). */
export const LOCAL_OUTPUTS = {
  eventBusName: 'EventBusName',
  claimCheckBucket: 'ClaimCheckBucketName',
  httpInteractionsUrl: 'HttpInteractionsUrl',
  queueUrl: (tier: TierName) => `${tier}QueueUrl`,
  deadLetterQueueUrl: (tier: TierName) => `${tier}DeadLetterQueueUrl`,
  targetDeadLetterQueueUrl: (tier: TierName) => `${tier}TargetDeadLetterQueueUrl`,
  functionName: (consumer: ConsumerName | 'httpIngress') => `${consumer}FunctionName`,
} as const;

export interface LocalStageSettings {
  readonly discordApiUrl?: string;
  readonly discordApplicationId?: string;
  readonly scoreServiceUrl?: string;
  readonly redisUrl?: string;
  readonly redisAuthSecretArn?: string;
  readonly databaseUrl?: string;
  readonly botTokenSecretArn?: string;
  readonly dbPoolMax?: string;
  readonly logFile?: string;
}

export class LocalStageConfigError extends Error {}

/** Reads and checks the local stage's context; a bad value stops synth naming the key and what to set. */
export function localStageSettings(get: (key: string) => unknown): LocalStageSettings {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [field, key] of Object.entries(LOCAL_CONTEXT_KEYS)) {
    const v = get(key);
    if (v === undefined || v === '') continue;
    const s = settingText(v);
    const url = /Url$/.test(field);
    const arn = /Arn$/.test(field);
    if (url && !/^(https?|rediss?|postgres(ql)?):\/\/[^\s]+$/.test(s)) problems.push(`-c ${key}: expected a URL (http://, redis://, postgres://), got ${field === 'databaseUrl' ? 'a malformed value' : JSON.stringify(s)}`);
    else if (arn && !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(s)) problems.push(`-c ${key}: expected a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>), got ${JSON.stringify(s)}`);
    else if (field === 'discordApplicationId' && !/^\d{17,20}$/.test(s)) problems.push(`-c ${key}: expected the application's snowflake (17-20 digits), got ${JSON.stringify(s)}`);
    else if (field === 'dbPoolMax' && !/^[1-9]\d{0,2}$/.test(s)) problems.push(`-c ${key}: expected a whole number 1..999, got ${JSON.stringify(s)}`);
    else if (field === 'logFile' && !s.startsWith('/')) problems.push(`-c ${key}: expected an absolute file path, got ${JSON.stringify(s)}`);
    else out[field] = s;
  }
  if (problems.length) throw new LocalStageConfigError(`local stage configuration:\n  ${problems.join('\n  ')}`);
  return out;
}

export interface LocalGatewayStackProps extends StackProps {
  /** @default DEFAULT_ROUTING_TABLE */
  readonly routing?: RoutingTable;
  /** @default - read from CDK context (LOCAL_CONTEXT_KEYS) */
  readonly settings?: LocalStageSettings;
  /** Overrides of the worker environment, applied last (tests of the template). */
  readonly environment?: Readonly<Record<string, string>>;
  /** The application's public key: set, the stage gets the HTTP interactions endpoint too. @default - none */
  readonly discordPublicKey?: string;
}

export class LocalGatewayStack extends Stack {
  readonly eventBus: TieredEventBus;
  readonly workers: TierWorkers;
  readonly claimCheckBucket: s3.Bucket;
  readonly httpInteractions?: HttpInteractionsEndpoint;

  constructor(scope: Construct, id: string, props: LocalGatewayStackProps = {}) {
    super(scope, id, props);
    const routing = validateRoutingTable(props.routing ?? DEFAULT_ROUTING_TABLE);
    const s = props.settings ?? localStageSettings((k) => this.node.tryGetContext(k));
    this.eventBus = new TieredEventBus(this, 'EventBus', {
      routing,
      encryptBus: false,
      archive: false,
      queueRemovalPolicy: RemovalPolicy.DESTROY,
    });
    // oversized events travel through S3 like in AWS: the ingestor stores, the workers load
    this.claimCheckBucket = new s3.Bucket(this, 'ClaimChecks', {
      removalPolicy: RemovalPolicy.DESTROY,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
    });
    acknowledge(this.claimCheckBucket, 'Local stage only (an emulator on loopback): no access log bucket.', 'AwsSolutions-S1');
    const secret = (name: string, arn?: string) => (arn ? secretsmanager.Secret.fromSecretCompleteArn(this, name, arn) : undefined);
    const applicationId = s.discordApplicationId ?? LOCAL_APPLICATION_ID;
    this.workers = new TierWorkers(this, 'Workers', {
      eventBus: this.eventBus,
      routing,
      environment: {
        ...LOCAL_WORKER_ENVIRONMENT,
        DISCORD_APPLICATION_ID: applicationId,
        ...(s.redisUrl ? { REDIS_URL: s.redisUrl } : {}),
        ...(s.databaseUrl ? { DATABASE_URL: s.databaseUrl } : {}),
        ...(s.discordApiUrl ? { DISCORD_API_URL: s.discordApiUrl } : {}),
        ...(s.dbPoolMax ? { DB_POOL_MAX: s.dbPoolMax } : {}),
        ...(s.logFile ? { GATEWAY_PROXY_LOG_FILE: s.logFile } : {}),
        ...(props.environment ?? {}),
      },
      consumerEnvironment: s.scoreServiceUrl ? { interaction: { SCORE_SERVICE_URL: s.scoreServiceUrl } } : undefined,
      botTokenSecret: secret('BotToken', s.botTokenSecretArn),
      redisAuthSecret: secret('RedisAuth', s.redisAuthSecretArn),
      claimCheckBucket: this.claimCheckBucket,
    });
    const bucketId = this.getLogicalId(this.claimCheckBucket.node.defaultChild as s3.CfnBucket);
    for (const w of this.workers.workers) {
      acknowledge(w.function, 'Reads claim-checked payloads: any object of the local claim-check bucket, nothing else.', `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`);
    }
    const interactions = this.eventBus.tiers.interactions;
    if (props.discordPublicKey && interactions) {
      this.httpInteractions = new HttpInteractionsEndpoint(this, 'HttpInteractions', {
        interactionQueue: interactions.queue,
        applicationId,
        publicKey: props.discordPublicKey,
      });
      new CfnOutput(this, 'HttpInteractionsUrlOutput', { key: LOCAL_OUTPUTS.httpInteractionsUrl, value: this.httpInteractions.url });
      new CfnOutput(this, 'HttpIngressFunctionNameOutput', { key: LOCAL_OUTPUTS.functionName('httpIngress'), value: this.httpInteractions.function.functionName });
    }

    // what the stack was deployed from (local/pipeline/deploy.ts): the tests reuse an up-to-date stack
    const fingerprint: unknown = this.node.tryGetContext('localFingerprint');
    if (fingerprint) new CfnOutput(this, 'LocalFingerprintOutput', { key: 'LocalFingerprint', value: settingText(fingerprint) });
    new CfnOutput(this, 'EventBusNameOutput', { key: LOCAL_OUTPUTS.eventBusName, value: this.eventBus.bus.eventBusName });
    new CfnOutput(this, 'ClaimCheckBucketOutput', { key: LOCAL_OUTPUTS.claimCheckBucket, value: this.claimCheckBucket.bucketName });
    for (const tier of TIER_NAMES) {
      const t = this.eventBus.tiers[tier];
      if (!t) continue;
      new CfnOutput(this, `${tier}QueueUrlOutput`, { key: LOCAL_OUTPUTS.queueUrl(tier), value: t.queue.queueUrl });
      new CfnOutput(this, `${tier}DeadLetterQueueUrlOutput`, { key: LOCAL_OUTPUTS.deadLetterQueueUrl(tier), value: t.deadLetterQueue.queueUrl });
      new CfnOutput(this, `${tier}TargetDeadLetterQueueUrlOutput`, { key: LOCAL_OUTPUTS.targetDeadLetterQueueUrl(tier), value: t.targetDeadLetterQueue.queueUrl });
    }
    for (const w of this.workers.workers) {
      new CfnOutput(this, `${w.consumer}FunctionNameOutput`, { key: LOCAL_OUTPUTS.functionName(w.consumer), value: w.function.functionName });
    }
  }
}

export interface SynthLocalOptions {
  readonly routing?: RoutingTable;
  readonly settings?: LocalStageSettings;
  readonly environment?: Readonly<Record<string, string>>;
  /** Adds the HTTP interactions endpoint, verifying with this public key. @default - none */
  readonly discordPublicKey?: string;
  /** Bundle the worker code with esbuild (slower); template assertions do not need it. @default false */
  readonly bundle?: boolean;
}

/** Synthesizes the local stage in memory and returns its CloudFormation template (for template assertions). */
export function synthLocalTemplate(options: SynthLocalOptions = {}): Record<string, unknown> {
  const app = new App(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LocalGatewayStack(app, 'DiscordGatewayLocal', { routing: options.routing, settings: options.settings ?? {}, environment: options.environment, discordPublicKey: options.discordPublicKey });
  return app.synth().getStackByName(stack.stackName).template as Record<string, unknown>;
}
