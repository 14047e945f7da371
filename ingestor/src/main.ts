/**
 * The ingestor's composition root: configuration, clients, and the pipeline's stages wired in order.
 *
 *   fleet (leases, registry) -> per application: gateway (shards, session store) -> classify
 *     (routing table) -> envelope (claim check) -> publish (one publisher, spool, dead letters,
 *     watermark per application) -> health and metrics
 *
 * Runs no business logic and caches nothing. `startIngestor` is the pipeline (used by the process
 * below, the local pipeline, the tests and the benchmarks); run as a program, this file starts it
 * from the environment and stops it gracefully on SIGTERM within the ECS stop timeout (120 s).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CompressionMethod } from '@discordjs/ws';
import type Redis from 'ioredis';
import type { RoutingTable } from '../../lib/contract';
import { errorText } from '../../shared/error-text';
import { createRedis } from '../../shared/redis';
import { AppRuntime, type Log, type SharedParts } from './app-runtime';
import { IngestorConfigError, parseIngestorConfig, privilegedIntents, type IngestorConfig } from './config';
import { ShardLeases } from './fleet/leases';
import { Fleet } from './fleet/orchestrator';
import { Resharding } from './fleet/resharding';
import { GatewayCommandRelay } from './gateway/commands';
import { ShardSets, type ShardSet } from './fleet/shard-sets';
import { listApplications, type Application } from '../../shared/app-registry';
import { zlibSyncCompression } from './gateway/compression';
import type { ShardState } from './gateway/shards';
import { startHealthServer } from './health/server';
import { IngestorMetrics, type IngestorCounters } from './metrics';
import { ClaimChecker } from './publish/claim-check';
import { DeadLetterStore } from './publish/dead-letters';
import { DirectPutEventsSender } from './publish/direct-put-events';
import { Publisher } from './publish/publisher';
import { DiskSpool } from './publish/spool';
import { setKeyOf, type CorruptSpoolRecord, type EntryMeta, type EventSender } from './publish/types';
import { checkBufferFitsHeap } from './runtime';

export type { Log } from './app-runtime';

export interface IngestorDeps {
  /** AWS SDK settings (endpoint, credentials) for EventBridge, S3 and Secrets Manager */
  aws?: Record<string, unknown>;
  /** @default DirectPutEventsSender (the benchmark injects the SDK's PutEventsCommand to compare) */
  sender?: EventSender;
  /** @default zlib-sync (the benchmark injects node:zlib to compare) */
  compression?: CompressionMethod;
  routing?: RoutingTable;
  log?: Log;
  /** EMF lines go here @default stdout */
  emf?: (line: string) => void;
  /** told of every accepted entry (the local pipeline and the benchmark measure latency with it) */
  onPublished?: (meta: EntryMeta, latencyMs: number) => void;
  /** write-behind interval of the resume point @default 1000 */
  persistIntervalMs?: number;
  /** namespace of every Redis key (resume points, leases, registry) @default REDIS_KEY_PREFIX */
  keyPrefix?: string;
}

export interface IngestorStatus {
  ready: boolean;
  shards: { total: number; ready: number; states: Record<string, ShardState> };
  guilds: number;
  bufferDepth: number;
  spoolDepth: number;
  inFlight: number;
  busReachable: boolean;
  backpressure: boolean;
  deadLettersPending: number;
  fleet: { taskId: string; leasesHeld: number; leaseRenewFailures: number; taken: number; lost: number; handOffs: number; identifyWaitMs: number; applications: string[] };
  counters: IngestorCounters;
  fatal?: string;
}

export interface IngestorHandle {
  readonly metrics: IngestorMetrics;
  readonly publisher: Publisher;
  readonly deadLetters: DeadLetterStore;
  readonly httpPort: number;
  readonly taskId: string;
  /** the application of the task's own configuration */
  readonly app: AppRuntime;
  readonly apps: ReadonlyMap<string, AppRuntime>;
  status(): IngestorStatus;
  /** graceful: hand every shard off (drain, persist, close resumably, release), then stop */
  stop(): Promise<void>;
  /** a crash: drop everything at once, persist and release nothing (tests of takeover without loss) */
  kill(): Promise<void>;
}

const stdoutLog: Log = (level, msg, extra) => process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), service: 'ingestor', msg, ...extra })}\n`);

/** The clients every stage shares, each built once. */
async function buildClients(cfg: IngestorConfig, deps: IngestorDeps, log: Log) {
  const aws = deps.aws ?? {};
  const secrets = new SecretsManagerClient(aws);
  const redis: Redis | undefined = cfg.redisUrl ? await createRedis({ url: cfg.redisUrl, authSecretArn: cfg.redisAuthSecretArn }, secrets, (msg, extra) => log('warn', msg, extra), { lazyConnect: true }) : undefined;
  if (redis) await redis.connect();
  const s3 = new S3Client({ forcePathStyle: true, ...aws });
  const eventBridge = new EventBridgeClient(aws);
  const sender = deps.sender ?? new DirectPutEventsSender(eventBridge, { connections: cfg.maxInFlight });
  const close = async () => {
    redis?.disconnect();
    eventBridge.destroy();
    await sender.destroy?.();
    s3.destroy();
    secrets.destroy();
  };
  return { secrets, redis, s3, sender, close };
}
type Clients = Awaited<ReturnType<typeof buildClients>>;

/** The publish stage: durable dead letters, the disk spool and one publisher for every application. */
function buildPublishStage(cfg: IngestorConfig, deps: IngestorDeps, c: Clients, metrics: IngestorMetrics, apps: ReadonlyMap<string, AppRuntime>, leases: ShardLeases | undefined, log: Log) {
  const deadLetters = new DeadLetterStore(c.s3, { bucket: cfg.deadLetterBucket, onRetry: (err, n) => n === 0 && log('warn', 'could not store a dead letter in S3: retrying; its event stays before the watermark', { error: errorText(err) }) });
  const spoolCorrupt = (rec: CorruptSpoolRecord, lost: EntryMeta[]) => {
    metrics.onDeadLettered('SpoolCorrupt');
    log('error', 'a spool record cannot be read back: dead-lettered with its bytes', { file: rec.file, offset: rec.offset, reason: rec.reason, events: lost.length });
    void deadLetters.store({ reason: 'SpoolCorrupt', detail: `${rec.reason} at ${rec.file}:${rec.offset}`, meta: lost[0] ?? {}, raw: rec.bytes.toString('base64') }).then(
      () => lost.forEach((m) => apps.get(setKeyOf(m))?.watermarks.accepted(m.shardId, m.sessionId, m.seq)),
      () => undefined,
    );
  };
  const spool = new DiskSpool({ dir: cfg.spoolDir, maxBytes: cfg.spoolMaxBytes, onCorrupt: spoolCorrupt, onTruncated: (file, bytes) => log('warn', 'cut a torn record off the spool (a crash mid-write; Discord replays its event)', { file, bytes }) });
  const publisher: Publisher = new Publisher(
    c.sender,
    spool,
    {
      accepted: (meta, latencyMs) => {
        apps.get(setKeyOf(meta))?.watermarks.accepted(meta.shardId, meta.sessionId, meta.seq);
        metrics.onPublished(latencyMs, meta.shardId, meta.appId);
        deps.onPublished?.(meta, latencyMs);
      },
      deadLettered: (meta, entry, reason) => apps.get(setKeyOf(meta))?.deadLetter({ reason: 'EventBridgeRefused', detail: reason, meta, entry }),
      failedEntries: (n) => (metrics.failedEntries += n),
      backpressure: (on) => {
        if (on) metrics.backpressureEpisodes++;
        for (const a of apps.values()) {
          if (on) a.gateway.pause('buffer and spool full');
          else a.gateway.resume();
        }
      },
      discarded: () => metrics.discarded++,
      requestError: (err) => {
        if (publisher.consecutiveRequestFailures === 3) log('warn', 'EventBridge unreachable: buffering, then spooling to disk', { error: errorText(err) });
      },
    },
    // an entry of a shard whose lease is gone is not published: its new owner RESUMEs before it
    { maxInFlight: cfg.maxInFlight, bufferMaxEvents: cfg.bufferMaxEvents, bufferMaxBytes: cfg.bufferMaxBytes, mayPublish: leases ? (m) => leases.holds(setKeyOf(m), m.shardId) : undefined },
  );
  return { deadLetters, spool, publisher };
}

/**
 * The applications this task serves, each on the shard set the fleet runs: `sets` is keyed by the set's
 * fleet key (the application id, or `<app id>~<count>` after a reshard).
 */
class Applications {
  /** the applications whose shard count is Discord's to choose: they can be resharded */
  readonly reshardable = new Map<string, ShardSets>();
  private readonly definitions = new Map<string, Application>();
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly cfg: IngestorConfig,
    private readonly shared: SharedParts,
    readonly sets: Map<string, AppRuntime>,
  ) {}

  /** Starts an application on the active shard set (recorded in Redis so every task agrees). */
  async start(app: Application, shardIds?: number[] | null): Promise<AppRuntime> {
    const { redis, ns, log } = this.shared;
    const fixed = app.shardCount !== undefined;
    const sets = redis ? new ShardSets(redis, ns, app.appId, (msg, extra) => log('warn', msg, extra)) : undefined;
    const rt = await AppRuntime.create(app, this.shared, { defaultIntents: this.cfg.intents, shardIds, choose: sets ? (count) => sets.ensureActive(count, fixed) : undefined });
    this.definitions.set(app.appId, app);
    if (sets && !fixed && !shardIds) this.reshardable.set(app.appId, sets);
    this.sets.set(rt.key, rt);
    return rt;
  }

  /** Starts a new shard set of a served application (a reshard). */
  startSet(appId: string, set: ShardSet): Promise<AppRuntime> {
    const app = this.definitions.get(appId);
    if (!app) return Promise.reject(new Error(`application ${appId} is not served here`));
    return AppRuntime.create(app, this.shared, { defaultIntents: this.cfg.intents, set });
  }

  serves(appId: string): boolean {
    return this.definitions.has(appId);
  }

  /** An application left the registry: hand every shard of every set of it off. */
  async remove(appId: string): Promise<void> {
    this.definitions.delete(appId);
    this.reshardable.delete(appId);
    for (const [key, a] of this.sets) {
      if (a.appId !== appId) continue;
      // a shard whose take is under way would connect after the hand-off below, held by no set
      await a.stopTaking();
      this.sets.delete(key);
      for (const shardId of a.gateway.held()) {
        await a.handOff(shardId);
        await this.shared.leases?.release(key, shardId);
      }
    }
  }

  /**
   * Keeps the served applications in step with the registry (the task's own one always stays). One
   * pass at a time: starting an application (GET /gateway/bot, its token secret) can outlast the
   * refresh interval, and a second pass would start it again beside the first.
   */
  sync(ownAppId: string): Promise<void> {
    this.syncing ??= this.syncPass(ownAppId).finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async syncPass(ownAppId: string): Promise<void> {
    const { redis, ns, log } = this.shared;
    if (!redis) return;
    const listed = await listApplications(redis, ns, (msg, extra) => log('warn', msg, extra));
    const want = new Set([ownAppId, ...listed.map((a) => a.appId)]);
    for (const a of listed) {
      if (this.serves(a.appId)) continue;
      try {
        await this.start(a);
        log('info', 'serving an application from the registry', { appId: a.appId });
      } catch (err) {
        log('error', 'could not start an application from the registry: retried at the next read', { appId: a.appId, error: errorText(err) });
      }
    }
    for (const appId of [...this.definitions.keys()]) {
      if (want.has(appId)) continue;
      log('info', 'an application left the registry: stopping its shards', { appId });
      await this.remove(appId);
    }
  }
}

interface StatusParts {
  apps: ReadonlyMap<string, AppRuntime>;
  publisher: Publisher;
  spool: DiskSpool;
  deadLetters: DeadLetterStore;
  leases: ShardLeases | undefined;
  fleet: Fleet | undefined;
  metrics: IngestorMetrics;
  taskId: string;
}

/** What /ready, /status and the metrics report. */
function ingestorStatus(p: StatusParts): IngestorStatus {
  const all = [...p.apps.values()];
  const states: Record<string, ShardState> = {};
  let held = 0;
  let ready = 0;
  let guilds = 0;
  for (const a of all) {
    for (const id of a.gateway.held()) states[p.apps.size > 1 ? `${a.key}/${id}` : String(id)] = a.gateway.state(id) ?? 'connecting';
    held += a.gateway.held().length;
    ready += a.gateway.readyCount();
    guilds += a.guilds.count(a.gateway.held());
  }
  const fatal = all.find((a) => a.gateway.fatal)?.gateway.fatal;
  const { publisher, fleet } = p;
  return {
    ready: ready === held && held > 0 && publisher.busReachable && !fatal,
    shards: { total: held, ready, states },
    guilds,
    bufferDepth: publisher.depth,
    spoolDepth: p.spool.depth,
    inFlight: publisher.inFlightRequests,
    busReachable: publisher.busReachable,
    backpressure: publisher.backpressured,
    deadLettersPending: p.deadLetters.pending,
    fleet: {
      taskId: p.taskId,
      leasesHeld: p.leases?.list().length ?? held,
      leaseRenewFailures: p.leases?.renewFailures ?? 0,
      taken: fleet?.taken ?? held,
      lost: fleet?.lost ?? 0,
      handOffs: fleet?.handOffs ?? 0,
      identifyWaitMs: all.reduce((n, a) => n + (a.throttler?.waitedMs ?? 0), 0),
      applications: [...p.apps.keys()],
    },
    counters: p.metrics.counters(),
    fatal,
  };
}

interface Periodic {
  apps: ReadonlyMap<string, AppRuntime>;
  flushMetrics: () => void;
  syncRegistry: () => Promise<void>;
  resharding: Resharding<AppRuntime> | undefined;
  log: Log;
}

/** Periodic work: resume points written behind, metrics flushed, the registry re-read, resharding followed. */
function startTimers(cfg: IngestorConfig, deps: IngestorDeps, p: Periodic) {
  const { log, resharding } = p;
  const warnOn = (what: string) => (err: unknown) => log('warn', what, { error: errorText(err) });
  const persist = () => {
    for (const a of p.apps.values()) void a.sessions.flush().catch(warnOn(`could not persist the resume point of ${a.key}`));
  };
  const registry = setInterval(() => void p.syncRegistry().catch(warnOn('could not read the application registry')), cfg.registryRefreshMs);
  const timers = [registry, setInterval(persist, deps.persistIntervalMs ?? 1000), setInterval(p.flushMetrics, cfg.metricsIntervalMs)];
  if (resharding) {
    timers.push(setInterval(() => void resharding.tick().catch(warnOn('could not follow the shard sets in Redis')), 1000));
    if (cfg.reshardCheckMs > 0) timers.push(setInterval(() => void resharding.checkRecommendations().catch(warnOn("could not read Discord's shard recommendation")), cfg.reshardCheckMs));
  }
  /** `registry`: only the registry is no longer read (leaving); resume points and metrics go on until the end */
  return (only?: 'registry') => (only ? clearInterval(registry) : timers.forEach((t) => clearInterval(t)));
}

/** Shards owned / unowned per application (its active set), for the next metrics interval. */
async function countOwned(apps: ReadonlyMap<string, AppRuntime>, leases: ShardLeases | undefined, metrics: IngestorMetrics): Promise<void> {
  if (!leases) return;
  for (const a of apps.values()) {
    if (a.budget !== 'main') continue;
    metrics.appShards.set(a.appId, { owned: await leases.countOwned(a.key, a.totalShards), total: a.totalShards });
  }
}

/** The command stage on a Redis connection of its own (its reads block). */
function startCommandRelay(redis: Redis, p: { ns: string; taskId: string; apps: ReadonlyMap<string, AppRuntime>; leases: ShardLeases | undefined; metrics: IngestorMetrics; deadLetters: DeadLetterStore; log: Log }): GatewayCommandRelay {
  const { leases, metrics, deadLetters, log } = p;
  const relay = new GatewayCommandRelay({
    reader: redis.duplicate(),
    redis,
    ns: p.ns,
    taskId: p.taskId,
    targets: () => p.apps.values(),
    holds: (key, shardId) => leases?.holds(key, shardId) ?? true,
    metrics,
    deadLetter: async (detail, raw) => {
      metrics.onDeadLettered('CommandUnreadable');
      await deadLetters.store({ reason: 'CommandUnreadable', detail, meta: {}, raw });
    },
    log,
  });
  relay.start();
  return relay;
}

/** Before anything opens: a missing zlib-sync or a buffer the heap cannot hold stops startup with what to do. */
function checkRuntime(cfg: IngestorConfig, deps: IngestorDeps): CompressionMethod {
  const bufferProblem = checkBufferFitsHeap(cfg.bufferMaxBytes);
  if (bufferProblem) throw new IngestorConfigError([bufferProblem]);
  return deps.compression ?? zlibSyncCompression();
}

export async function startIngestor(cfg: IngestorConfig, deps: IngestorDeps = {}): Promise<IngestorHandle> {
  const log = deps.log ?? stdoutLog;
  const compression = checkRuntime(cfg, deps);
  const taskId = cfg.taskId ?? `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const ns = deps.keyPrefix ?? cfg.redisKeyPrefix;
  const clients = await buildClients(cfg, deps, log);
  const { redis } = clients;

  // health and metrics first: every other stage reports to them
  const metrics = new IngestorMetrics(cfg.metricsNamespace, cfg.shardGroup, deps.emf);
  // the fleet: leases decide which (application, shard) this task owns; without Redis it owns all
  const leases = redis ? new ShardLeases(redis, taskId, ns, { ttlMs: cfg.leaseTtlMs }) : undefined;
  const apps = new Map<string, AppRuntime>();
  const { deadLetters, spool, publisher } = buildPublishStage(cfg, deps, clients, metrics, apps, leases, log);
  const claimChecker = new ClaimChecker(cfg.claimCheckBucket ? clients.s3 : undefined, cfg.claimCheckBucket, cfg.claimCheckThresholdBytes);
  const shared: SharedParts = { taskId, ns, redis, secrets: clients.secrets, leases, publisher, deadLetters, claimChecker, metrics, eventBusName: cfg.eventBusName, compression, helloTimeoutMs: cfg.helloTimeoutMs, presence: cfg.presence, routing: deps.routing, log };
  const close = async () => {
    publisher.stop();
    deadLetters.stop();
    await clients.close();
  };

  // applications: the task's own (environment), then the registry's; resharding follows Discord's count
  const applications = new Applications(cfg, shared, apps);
  const resharding = leases ? new Resharding({ sets: apps, registry: (id) => applications.reshardable.get(id), start: (id, set) => applications.startSet(id, set), leases, log }) : undefined;
  shared.onShardingRequired = resharding ? (appId) => resharding.shardingRequired(appId) : undefined;
  const own: Application = { appId: cfg.applicationId, token: cfg.token, tokenSecretArn: cfg.tokenSecretArn, intents: cfg.intents, shardCount: cfg.totalShards ?? undefined, apiUrl: cfg.apiUrl };
  const app = await applications.start(own, cfg.shardIds).catch(async (err: unknown) => {
    await close();
    throw err;
  });
  const syncRegistry = () => applications.sync(app.appId);
  await syncRegistry().catch((err: unknown) => log('warn', 'could not read the application registry', { error: errorText(err) }));

  // the fleet loop, or (no Redis: local use) every candidate shard at once
  const fleet = leases ? new Fleet({ leases, apps: () => apps.values(), maxShards: cfg.shardsPerTask, log }) : undefined;
  if (fleet) {
    await resharding?.tick();
    await fleet.tick();
    fleet.start();
    await fleet.started();
  } else {
    await Promise.all([...apps.values()].flatMap((a) => a.candidates.map((id) => a.take(id))));
  }

  // health and metrics
  const status = () => ingestorStatus({ apps, publisher, spool, deadLetters, leases, fleet, metrics, taskId });
  const flushMetrics = () => {
    void countOwned(apps, leases, metrics).catch((err: unknown) => log('warn', 'could not count the shards owned per application', { error: errorText(err) }));
    const s = status();
    Object.assign(metrics.gauges, { bufferDepth: s.bufferDepth, spoolDepth: s.spoolDepth, shardsReady: s.shards.ready, shardsTotal: s.shards.total, inFlight: s.inFlight });
    metrics.flushEmf();
  };
  // commands from workers and operators, sent on the shards this task holds (needs Redis)
  const commands = redis ? startCommandRelay(redis, { ns, taskId, apps, leases, metrics, deadLetters, log }) : undefined;
  shared.commandsSettled = commands ? (appId, shardId) => commands.settle(appId, shardId) : undefined;
  const health = await startHealthServer(cfg.httpPort, status);
  const stopTimers = startTimers(cfg, deps, { apps, flushMetrics, syncRegistry, resharding, log });
  log('info', 'ingestor started', { intents: cfg.intents, intentsFrom: cfg.intentsFrom, privilegedIntents: privilegedIntents(cfg.intents), taskId, applications: [...apps.keys()], shards: status().shards.states, bus: cfg.eventBusName, httpPort: health.port });

  const parts: RunningParts = { apps, fleet, publisher, spool, deadLetters, metrics, log, flushMetrics, stopTimers, closeHealth: () => health.close(), close: async () => (await commands?.stop(), close()) };
  return { metrics, publisher, deadLetters, httpPort: health.port, taskId, app, apps, status, ...stoppers(parts) };
}

interface RunningParts {
  apps: ReadonlyMap<string, AppRuntime>;
  fleet: Fleet | undefined;
  publisher: Publisher;
  spool: DiskSpool;
  deadLetters: DeadLetterStore;
  metrics: IngestorMetrics;
  log: Log;
  flushMetrics: () => void;
  stopTimers: (only?: 'registry') => void;
  closeHealth: () => Promise<void>;
  close: () => Promise<void>;
}

/** Leaving gracefully (hand every shard off) or as a crash would (tests of takeover). */
function stoppers(p: RunningParts): Pick<IngestorHandle, 'stop' | 'kill'> {
  let stopped = false;
  const all = () => [...p.apps.values()];
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      p.stopTimers('registry');
      // one shard at a time: closed resumably, its events published, its resume point written, its lease released
      if (p.fleet) await p.fleet.stop();
      else for (const a of all()) for (const id of a.gateway.held()) await a.handOff(id);
      const flushed = await p.publisher.drain(60_000);
      for (let i = 0; i < 100 && p.deadLetters.pending > 0; i++) await new Promise((r) => setTimeout(r, 100));
      p.stopTimers();
      p.flushMetrics();
      p.log(flushed ? 'info' : 'warn', flushed ? 'ingestor stopped: everything published' : 'ingestor stopped before the buffer drained: the resume point stays before what was not published', {
        published: p.metrics.published,
        handOffs: p.fleet?.handOffs,
        bufferDepth: p.publisher.depth,
        spoolDepth: p.spool.depth,
        deadLettersPending: p.deadLetters.pending,
      });
      await p.closeHealth();
      await p.close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      p.fleet?.kill();
      p.stopTimers();
      p.publisher.stop();
      p.deadLetters.stop();
      await Promise.all(all().map((a) => a.stop('killed')));
      await p.closeHealth();
      await p.close();
    },
  };
}

/** The program: configuration from the environment, SIGTERM/SIGINT stop gracefully. */
async function runProcess(): Promise<void> {
  let cfg: IngestorConfig;
  try {
    cfg = parseIngestorConfig();
  } catch (err) {
    if (err instanceof IngestorConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // the last line of defence: a library callback that throws must not end the process (Discord
  // would replay the same input after the restart: a crash loop); the stages dead-letter their own input
  process.on('unhandledRejection', (reason) => stdoutLog('error', 'unhandled rejection (kept running)', { error: errorText(reason) }));
  const aws = process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' } } : {};
  const ingestor = await startIngestor(cfg, { aws });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stdoutLog('info', `${signal}: stopping`);
    const hard = setTimeout(() => process.exit(1), 115_000);
    void ingestor.stop().then(() => {
      clearTimeout(hard);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (typeof module !== 'undefined' && require.main === module) {
  runProcess().catch((err: unknown) => {
    stdoutLog('error', 'ingestor failed to start', { error: errorText(err) });
    process.exit(1);
  });
}
