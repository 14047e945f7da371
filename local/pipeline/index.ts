/**
 * The whole pipeline on this machine, wired from the CDK app itself: the local stage's synthesized
 * template gives the bus, rules, queues and DLQs (created on the AWS emulator) and the event source
 * mappings (run by the local runner, which invokes the real worker handlers). The Discord simulator
 * stands in for Discord; the ingestor is the real one. Used by `npm run local` and the e2e tests.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { migrate } from '../../db/migrate';
import { classify, type RoutingTable, type TierName } from '../../lib/contract';
import { synthLocalTemplate } from '../../lib/stacks/local-stack';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { startIngestor, type IngestorHandle } from '../../ingestor/src/main';
import { LatencyRecorder } from '../latency';
import { localAwsConfig, localSqsConfig } from '../aws';
import { DiscordSimulator, type SimulatorOptions } from '../simulator';
import { startScoreService, type ScoreService } from '../score-service';
import { applyWiring, type AppliedWiring } from '../wiring/apply';
import { EventSourceRunner, loadWorkerHandlers, type SqsHandler } from '../wiring/runner';
import { planFromTemplate, type WiringPlan } from '../wiring/template';
import { startHttpIngressServer, type HttpIngressServer } from '../http-ingress-server';
import { HttpInteractions, testKeyPair } from '../simulator/http-interactions';
import { refTarget } from '../wiring/template';

export const LOCAL_DATABASE_URL = 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy';

export interface PipelineOptions {
  shards?: number;
  guilds?: number;
  routing?: RoutingTable;
  /** score service latency for /check-eligibility @default 200 */
  scoreLatencyMs?: number;
  /** wrap a worker's handler (fault injection in tests) */
  wrapHandler?: (worker: string, handler: SqsHandler) => SqsHandler;
  /** per worker concurrency cap for the runner, instead of the template's MaximumConcurrency */
  concurrency?: Partial<Record<string, number>>;
  simulator?: Partial<SimulatorOptions>;
  /** serve the HTTP interactions endpoint too (the local stage's http-ingress function) @default true */
  httpInteractions?: boolean;
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
  ingestor!: IngestorHandle;
  private readonly ingestorEnv: Record<string, string>;
  private readonly prefix: string;

  /** receive -> PutEvents accepted, for the summary */
  readonly publishLatency = new LatencyRecorder();

  constructor(
    readonly sim: DiscordSimulator,
    readonly plan: WiringPlan,
    readonly wiring: AppliedWiring,
    readonly runner: EventSourceRunner,
    readonly sqs: SQSClient,
    readonly score: ScoreService,
    ingestorEnv: Record<string, string>,
  ) {
    this.ingestorEnv = ingestorEnv;
    this.prefix = `local-${randomUUID().slice(0, 8)}`;
  }

  async startIngestor(): Promise<IngestorHandle> {
    const cfg = parseIngestorConfig(this.ingestorEnv);
    this.ingestor = await startIngestor(cfg, { aws: localAwsConfig(), emf: () => undefined, log: () => undefined, persistIntervalMs: 200, keyPrefix: this.prefix, onPublished: this.publishLatency.record });
    return this.ingestor;
  }

  queueUrl(tier: TierName, which: 'queue' | 'dlq' | 'targetDlq' = 'queue'): string {
    const t = this.wiring.tiers[tier];
    const id = which === 'queue' ? t?.queue : which === 'dlq' ? t?.dlq : t?.targetDlq;
    if (!id) throw new Error(`tier ${tier} has no ${which} in the template`);
    return this.wiring.queues[id]!.url;
  }

  async tierNumbers(): Promise<TierNumbers[]> {
    const out: TierNumbers[] = [];
    const count = async (url: string) => {
      const a = (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
      return { visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
    };
    for (const tier of Object.keys(this.wiring.tiers) as TierName[]) {
      const q = await count(this.queueUrl(tier));
      const d = await count(this.queueUrl(tier, 'dlq'));
      const td = this.wiring.tiers[tier]?.targetDlq ? await count(this.queueUrl(tier, 'targetDlq')) : { visible: 0, inFlight: 0 };
      out.push({ tier, visible: q.visible, inFlight: q.inFlight, dlq: d.visible + d.inFlight, targetDlq: td.visible + td.inFlight });
    }
    return out;
  }

  /** Envelope ids the ingestor had to publish: every wanted event Discord sent over a socket. */
  expectedIds(): Set<string> {
    return this.sim.expectedEnvelopeIds((t) => classify(t) !== undefined);
  }

  /** the HTTP interactions endpoint and the simulator's HTTP delivery to it (unless httpInteractions: false) */
  httpIngress?: HttpIngressServer;
  http?: HttpInteractions;

  async stop(): Promise<void> {
    await this.httpIngress?.stop();
    await this.ingestor?.stop().catch(() => undefined);
    await this.runner.stop();
    await this.sim.stop();
    await this.score.stop();
  }
}

export async function startLocalPipeline(opts: PipelineOptions = {}): Promise<LocalPipeline> {
  const log = opts.log ?? (() => undefined);
  const shards = opts.shards ?? 2;
  log('migrating the database');
  await migrate();
  const sim = await DiscordSimulator.start({ shards, guilds: opts.guilds ?? 20, maxConcurrency: shards, heartbeatIntervalMs: 5_000, identifyWindowMs: 0, ...opts.simulator });
  const score = await startScoreService(opts.scoreLatencyMs ?? 200);
  const prefix = `gp-${randomUUID().slice(0, 6)}`;
  // oversize events (a big guild's GUILD_CREATE) travel through S3 like in AWS: the ingestor stores,
  // the workers load
  const claimCheckBucket = `${prefix}-claim-checks`;
  const s3 = new S3Client(localAwsConfig());
  await s3.send(new CreateBucketCommand({ Bucket: claimCheckBucket }));
  s3.destroy();

  // the worker environment, as the template will carry it
  const workerEnv: Record<string, string> = {
    CLAIM_CHECK_BUCKET: claimCheckBucket,
    REDIS_URL: 'redis://127.0.0.1:6379',
    DATABASE_URL: LOCAL_DATABASE_URL,
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    SCORE_SERVICE_URL: score.url,
    SCORE_TIMEOUT_MS: '2500',
    // all worker invocations share this one process here (one container each in AWS)
    DB_POOL_MAX: '16',
  };
  log('synthesizing the local stage of the CDK app');
  // the application's key pair for signed HTTP interactions: the template carries the public half
  const httpKeys = opts.httpInteractions === false ? undefined : testKeyPair();
  const template = synthLocalTemplate({ routing: opts.routing, environment: workerEnv, discordPublicKey: httpKeys?.publicKeyHex });
  const plan = planFromTemplate(template);
  const eb = new EventBridgeClient(localAwsConfig());
  const sqs = new SQSClient(localSqsConfig());
  log(`creating the template's bus, ${plan.rules.length} rules and ${plan.queues.length} queues on ${localAwsConfig().endpoint}`);
  const wiring = await applyWiring(plan, eb, sqs, { prefix, table: opts.routing, purge: true });

  // the workers read their environment once per process (like a Lambda container): the template's
  // environment of each function, plus the bot token for the bot-token workers
  const fnEnv = Object.assign({}, ...plan.functions.map((f) => f.environment)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(fnEnv)) if (typeof v === 'string' && k !== 'WORKER' && k !== 'POWERTOOLS_SERVICE_NAME') process.env[k] = v;
  process.env.DISCORD_TOKEN = sim.token;
  // what Lambda's runtime gives every function (region, credentials), with the endpoint pointed at the
  // local one: the workers' own AWS clients (S3 for claim checks) read them from the environment
  const aws = localAwsConfig();
  process.env.AWS_REGION ??= aws.region;
  process.env.AWS_ENDPOINT_URL ??= aws.endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= aws.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= aws.credentials.secretAccessKey;
  // the workers' EMF metric lines would flood this one screen; CloudWatch reads them in AWS
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const loaded = await loadWorkerHandlers(plan);
  const handlers: Record<string, SqsHandler> = {};
  for (const [fn, h] of Object.entries(loaded)) {
    const worker = plan.functions.find((f) => f.logicalId === fn)?.worker ?? fn;
    handlers[fn] = opts.wrapHandler ? opts.wrapHandler(worker, h) : h;
  }
  const runner = new EventSourceRunner(plan, wiring, sqs, { handlers, concurrencyOverride: opts.concurrency, defaultConcurrency: 5 });
  runner.start();

  const pipeline = new LocalPipeline(sim, plan, wiring, runner, sqs, score, {
    DISCORD_TOKEN: sim.token,
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    TOTAL_SHARDS: String(shards),
    EVENT_BUS_NAME: wiring.busName,
    CLAIM_CHECK_BUCKET: claimCheckBucket,
    REDIS_URL: 'redis://127.0.0.1:6379',
    HTTP_PORT: '0',
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'gp-spool-')),
    METRICS_INTERVAL_MS: '3600000',
  });
  if (httpKeys) {
    // the http-ingress function of the template, its queue reference resolved to the emulator's URL
    const fn = plan.functions.find((f) => f.worker === 'http-ingress');
    if (!fn) throw new Error('the local stage has no http-ingress function although a public key was given');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(fn.environment)) {
      const ref = refTarget(v);
      if (typeof v === 'string') env[k] = v;
      else if (ref && wiring.queues[ref]) env[k] = wiring.queues[ref]!.url;
    }
    pipeline.httpIngress = await startHttpIngressServer({ env, sqs });
    pipeline.http = new HttpInteractions(sim, { url: pipeline.httpIngress.url, keys: httpKeys });
    // what the developer portal checks when the URL is saved
    const check = await pipeline.http.verifyEndpoint();
    if (!check.ok) throw new Error(`the local HTTP interactions endpoint fails Discord's check: ${check.problems.join('; ')}`);
    log(`HTTP interactions endpoint at ${pipeline.httpIngress.url} (PING answered, unsigned probe refused with 401)`);
  }
  log('starting the ingestor');
  await pipeline.startIngestor();
  await sim.waitForShardsReady(shards, 60_000);
  return pipeline;
}
