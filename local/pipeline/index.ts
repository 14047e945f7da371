/**
 * The whole pipeline on this machine, deployed by the CDK app itself: the local stage
 * (DiscordGateway-<env>-Local: bus, rules, queues, DLQs, the worker functions with their SQS event
 * source mappings, the HTTP interactions endpoint, a claim-check bucket) is deployed with
 * `cdk deploy` to the AWS emulator, which runs the workers from their mappings. The Discord
 * simulator stands in for Discord; the ingestor is the real one, in this process. Used by
 * `npm run local`, the e2e tests and the benchmarks. Everything deployed is found through the
 * stack's Outputs (local/pipeline/deploy.ts); nothing here creates AWS resources by hand.
 *
 * The deployed functions reach the simulator and the score service on fixed ports
 * (LOCAL_SIMULATOR_PORT, default 7150; LOCAL_SCORE_PORT, default 7151), given to them as CDK context
 * at deploy time; the bot token and nothing else secret travels through the emulator's Secrets Manager.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { migrate } from '../../db/migrate';
import { classify, CONSUMERS, type RoutingOverrides, type TierName } from '../../lib/contract';
import { LOCAL_CONTEXT_KEYS } from '../../lib/stacks/local-stack';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { startIngestor, type IngestorHandle } from '../../ingestor/src/main';
import { LatencyRecorder } from '../latency';
import { required } from '../required';
import { localAwsConfig, localSqsConfig } from '../aws';
import { DiscordSimulator, type SimulatorOptions } from '../simulator';
import { startScoreService, type ScoreService } from '../score-service';
import { HttpInteractions, type TestKeyPair } from '../simulator/http-interactions';
import { deployLocalStack, type DeployResult, type LocalStackOutputs } from './deploy';
import { EventSourceMappings } from './mappings';

export const LOCAL_DATABASE_URL = 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';
export const LOCAL_APPLICATION_ID = '100000000000000001';
const BOT_TOKEN_SECRET = 'discord-gateway-proxy/local/bot-token';

/**
 * The local stage's tier settings, shared by `npm run local`, `npm run deploy:local` and the tests
 * (so they share one deployment): a failed member or guild batch comes back after 30 s instead of
 * 180 s, so a crash and its recovery fit in a test. The other settings are the routing table's.
 */
export const LOCAL_TIER_OVERRIDES: RoutingOverrides = {
  members: { queue: { functionTimeoutSeconds: 5, visibilityTimeoutSeconds: 30 } },
  guilds: { queue: { functionTimeoutSeconds: 5, visibilityTimeoutSeconds: 30 } },
};

/**
 * The application's key pair for signed HTTP interactions. Fixed (derived from a constant seed), so
 * the deployed endpoint's public key does not change between runs; a local test key, not a secret.
 */
export function localKeyPair(): TestKeyPair {
  const seed = Buffer.alloc(32, 0x42);
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKeyHex: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12).toString('hex') };
}

const port = (name: string, def: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a TCP port (1..65535), got ${JSON.stringify(v)}`);
  return n;
};
export const localPorts = () => ({ simulator: port('LOCAL_SIMULATOR_PORT', 7150), score: port('LOCAL_SCORE_PORT', 7151) });
/** a fixed bot token for the simulator: warm worker containers keep the token they read across runs */
const LOCAL_BOT_TOKEN = 'sim.bG9jYWwtc3RhZ2U.bG9jYWwtc2ltdWxhdG9yLWJvdC10b2tlbg';

/** Where the deployed workers append their JSON log lines (the emulator runs them on this machine): `npm run trace` reads it. */
export function localWorkerLogFile(): string {
  const file = process.env.GATEWAY_PROXY_LOG_FILE ?? join(process.env.GATEWAY_PROXY_STATE_DIR ?? join(homedir(), '.local', 'state', 'discord-gateway-proxy'), 'logs', 'local-run.jsonl');
  mkdirSync(dirname(file), { recursive: true });
  return file;
}

/** The CDK context the local stage is deployed with (what `npm run deploy:local` passes too). */
export function localStageContext(o: { simulatorRestUrl: string; scoreServiceUrl: string; botTokenSecretArn?: string; httpInteractions?: boolean }): Record<string, string> {
  return {
    [LOCAL_CONTEXT_KEYS.discordApiUrl]: o.simulatorRestUrl,
    [LOCAL_CONTEXT_KEYS.scoreServiceUrl]: o.scoreServiceUrl,
    [LOCAL_CONTEXT_KEYS.discordApplicationId]: LOCAL_APPLICATION_ID,
    [LOCAL_CONTEXT_KEYS.redisUrl]: LOCAL_REDIS_URL,
    [LOCAL_CONTEXT_KEYS.databaseUrl]: LOCAL_DATABASE_URL,
    [LOCAL_CONTEXT_KEYS.logFile]: localWorkerLogFile(),
    ...(o.botTokenSecretArn ? { [LOCAL_CONTEXT_KEYS.botTokenSecretArn]: o.botTokenSecretArn } : {}),
    tierOverrides: JSON.stringify(LOCAL_TIER_OVERRIDES),
    ...(o.httpInteractions === false ? {} : { discordPublicKey: localKeyPair().publicKeyHex }),
  };
}

/** Puts the simulator's bot token in the emulator's Secrets Manager; returns the secret's ARN. */
export async function localBotTokenSecret(token = LOCAL_BOT_TOKEN): Promise<string> {
  const sm = new SecretsManagerClient(localAwsConfig());
  try {
    return required((await sm.send(new CreateSecretCommand({ Name: BOT_TOKEN_SECRET, SecretString: token }))).ARN, 'CreateSecret ARN');
  } catch (err) {
    if ((err as Error).name !== 'ResourceExistsException') throw err;
    return required((await sm.send(new PutSecretValueCommand({ SecretId: BOT_TOKEN_SECRET, SecretString: token }))).ARN, 'PutSecretValue ARN');
  } finally {
    sm.destroy();
  }
}

/** The REST URL the deployed workers use for the simulator on its fixed port. */
export const simulatorRestUrl = (p = localPorts().simulator) => `http://127.0.0.1:${p}/api`;
export const scoreServiceUrl = (p = localPorts().score) => `http://127.0.0.1:${p}`;

export interface PipelineOptions {
  shards?: number;
  guilds?: number;
  /** score service latency for /check-eligibility @default 200 (changeable later: p.score.latencyMs) */
  scoreLatencyMs?: number;
  simulator?: Partial<SimulatorOptions>;
  /** the HTTP interactions endpoint (API Gateway + the http-ingress function on the emulator) @default true */
  httpInteractions?: boolean;
  /** skip `cdk deploy` when the deployed stack is up to date (tests) @default false */
  reuseStack?: boolean;
  log?: (msg: string) => void;
}

export interface TierNumbers {
  tier: TierName;
  visible: number;
  inFlight: number;
  dlq: number;
  targetDlq: number;
}

export class LocalPipeline {
  private started?: IngestorHandle;
  /** receive -> PutEvents accepted, for the summary */
  readonly publishLatency = new LatencyRecorder();
  /** the workers' event source mappings on the emulator (switch off, set MaximumConcurrency, counts) */
  readonly mappings: EventSourceMappings;
  /** the HTTP interactions endpoint on the emulator and the simulator's HTTP delivery to it */
  httpIngress?: { url: string };
  http?: HttpInteractions;
  private readonly keyPrefix = `local-${randomUUID().slice(0, 8)}`;

  constructor(
    readonly sim: DiscordSimulator,
    readonly score: ScoreService,
    readonly sqs: SQSClient,
    readonly outputs: LocalStackOutputs,
    readonly deploy: DeployResult,
    private readonly ingestorEnv: Record<string, string>,
  ) {
    this.mappings = new EventSourceMappings({ interaction: outputs.functions.interaction, member: outputs.functions.member, guild: outputs.functions.guild });
  }

  /** The in-process ingestor (startLocalPipeline starts it before it returns the pipeline). */
  get ingestor(): IngestorHandle {
    if (!this.started) throw new Error('the local pipeline has not started its ingestor (startIngestor)');
    return this.started;
  }

  async startIngestor(): Promise<IngestorHandle> {
    const cfg = parseIngestorConfig(this.ingestorEnv);
    this.started = await startIngestor(cfg, { aws: localAwsConfig(), emf: () => undefined, log: () => undefined, persistIntervalMs: 200, keyPrefix: this.keyPrefix, onPublished: this.publishLatency.record });
    return this.started;
  }

  queueUrl(tier: TierName, which: 'queue' | 'dlq' | 'targetDlq' = 'queue'): string {
    const t = this.outputs.tiers[tier];
    if (!t) throw new Error(`the local stack has no ${tier} tier in its outputs`);
    return which === 'queue' ? t.queueUrl : which === 'dlq' ? t.dlqUrl : t.targetDlqUrl;
  }

  async tierNumbers(): Promise<TierNumbers[]> {
    const count = async (url: string) => {
      const a = (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
      return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
    };
    const out: TierNumbers[] = [];
    for (const tier of Object.keys(this.outputs.tiers) as TierName[]) {
      const [q, d, td] = await Promise.all([count(this.queueUrl(tier)), count(this.queueUrl(tier, 'dlq')), count(this.queueUrl(tier, 'targetDlq'))]);
      out.push({ tier, visible: q.visible, inFlight: q.inFlight, dlq: d.visible + d.inFlight, targetDlq: td.visible + td.inFlight });
    }
    return out;
  }

  /** Envelope ids the ingestor had to publish: every wanted event Discord sent over a socket. */
  expectedIds(): Set<string> {
    return this.sim.expectedEnvelopeIds((t) => classify(t) !== undefined);
  }

  async stop(): Promise<void> {
    await this.started?.stop().catch(() => undefined);
    // leave the mappings as a run found them
    for (const w of CONSUMERS) if (this.outputs.functions[w]) await this.mappings.setEnabled(w, true).catch(() => undefined);
    this.mappings.close();
    await this.sim.stop();
    await this.score.stop();
    this.sqs.destroy();
  }
}

/** The execute-api URL the emulator answers on 127.0.0.1 (its own host form needs DNS for *.localhost). */
function loopbackExecuteApiUrl(url: string): string {
  const m = /^https?:\/\/([a-z0-9]+)\.execute-api\.[^/]+(\/.*)?$/.exec(url);
  if (!m) return url;
  return `${localAwsConfig().endpoint.replace(/\/$/, '')}/_aws/execute-api/${m[1]}${m[2] ?? ''}`;
}

export async function startLocalPipeline(opts: PipelineOptions = {}): Promise<LocalPipeline> {
  const log = opts.log ?? (() => undefined);
  const shards = opts.shards ?? 2;
  const ports = localPorts();
  log('migrating the database');
  await migrate();
  const sim = await DiscordSimulator.start({
    shards,
    guilds: opts.guilds ?? 20,
    maxConcurrency: shards,
    heartbeatIntervalMs: 5_000,
    identifyWindowMs: 0,
    ...opts.simulator,
    port: ports.simulator,
    token: LOCAL_BOT_TOKEN,
    appId: LOCAL_APPLICATION_ID,
  }).catch((err: unknown) => {
    throw err instanceof Error && 'code' in err && err.code === 'EADDRINUSE' ? new Error(`the Discord simulator cannot listen on 127.0.0.1:${ports.simulator}: the port is in use (another npm run local or test still running?); stop it or set LOCAL_SIMULATOR_PORT`) : err;
  });
  let score: ScoreService | undefined;
  try {
    score = await startScoreService(opts.scoreLatencyMs ?? 200, ports.score);
    const httpInteractions = opts.httpInteractions !== false;
    const context = localStageContext({ simulatorRestUrl: sim.restUrl, scoreServiceUrl: score.url, botTokenSecretArn: await localBotTokenSecret(), httpInteractions });
    const deploy = await deployLocalStack({ context, reuse: opts.reuseStack, log });
    if (deploy.action === 'deployed') log(`deployed ${deploy.outputs.stackName} (${deploy.outputs.status}) in ${(deploy.ms / 1000).toFixed(1)} s${deploy.bootstrapped ? ', after cdk bootstrap' : ''}`);
    const out = deploy.outputs;
    const sqs = new SQSClient(localSqsConfig());
    // a clean start: what a previous run left in the queues and DLQs is not this run's
    for (const t of Object.values(out.tiers)) for (const url of [t.queueUrl, t.dlqUrl, t.targetDlqUrl]) await sqs.send(new PurgeQueueCommand({ QueueUrl: url })).catch(() => undefined);

    const pipeline = new LocalPipeline(sim, score, sqs, out, deploy, {
      DISCORD_TOKEN: sim.token,
      DISCORD_APPLICATION_ID: sim.appId,
      DISCORD_API_URL: sim.restUrl,
      TOTAL_SHARDS: String(shards),
      EVENT_BUS_NAME: out.busName,
      CLAIM_CHECK_BUCKET: out.claimCheckBucket,
      REDIS_URL: LOCAL_REDIS_URL,
      HTTP_PORT: '0',
      SPOOL_DIR: mkdtempSync(join(tmpdir(), 'gp-spool-')),
      METRICS_INTERVAL_MS: '3600000',
    });
    for (const m of await pipeline.mappings.list()) if (m.state !== 'Enabled') await pipeline.mappings.setEnabled(m.worker, true);
    if (httpInteractions) {
      if (!out.httpInteractionsUrl) throw new Error(`stack ${out.stackName} has no HttpInteractionsUrl output although a public key was given`);
      pipeline.httpIngress = { url: loopbackExecuteApiUrl(out.httpInteractionsUrl) };
      pipeline.http = new HttpInteractions(sim, { url: pipeline.httpIngress.url, keys: localKeyPair() });
      // what the developer portal checks when the URL is saved
      const check = await pipeline.http.verifyEndpoint();
      if (!check.ok) throw new Error(`the local HTTP interactions endpoint fails Discord's check: ${check.problems.join('; ')}`);
      log(`HTTP interactions endpoint at ${pipeline.httpIngress.url} (API Gateway on the emulator; PING answered, unsigned probe refused with 401)`);
    }
    log('starting the ingestor');
    await pipeline.startIngestor();
    await sim.waitForShardsReady(shards, 60_000);
    return pipeline;
  } catch (err) {
    await sim.stop().catch(() => undefined);
    await score?.stop().catch(() => undefined);
    throw err;
  }
}
