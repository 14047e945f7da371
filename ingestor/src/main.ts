/**
 * The ingestor's composition root: configuration, clients, and the pipeline's stages wired in order.
 *
 *   gateway (shards, session store) -> classify (routing table) -> envelope (claim check)
 *     -> publish (publisher, spool, dead letters, watermark) -> health and metrics
 *
 * Runs no business logic and caches nothing. `startIngestor` is the pipeline (used by the process
 * below, the local pipeline, the tests and the benchmarks); run as a program, this file starts it
 * from the environment and stops it gracefully on SIGTERM within the ECS stop timeout (120 s).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DiscordAPIError, REST } from '@discordjs/rest';
import type { CompressionMethod } from '@discordjs/ws';
import type Redis from 'ioredis';
import { DEFAULT_ROUTING_TABLE, type RoutingTable } from '../../lib/contract';
import { createRedis } from '../../shared/redis';
import { readSecret } from '../../shared/secrets';
import { createRouter } from './classify/router';
import { IngestorConfigError, parseIngestorConfig, type IngestorConfig } from './config';
import { zlibSyncCompression } from './gateway/compression';
import { SessionStore } from './gateway/session-store';
import { GatewayShards, type ShardState } from './gateway/shards';
import { GuildCounter } from './health/guilds';
import { startHealthServer } from './health/server';
import { createIngest } from './ingest';
import { IngestorMetrics } from './metrics';
import { ClaimChecker } from './publish/claim-check';
import { DeadLetterStore } from './publish/dead-letters';
import { DirectPutEventsSender } from './publish/direct-put-events';
import { Publisher } from './publish/publisher';
import { DiskSpool } from './publish/spool';
import type { CorruptSpoolRecord, EntryMeta, EventSender } from './publish/types';
import { WatermarkTracker } from './publish/watermark';
import { checkBufferFitsHeap } from './runtime';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;

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
  /** Redis key prefix of the resume points @default gateway:<applicationId> */
  keyPrefix?: string;
}

export interface IngestorStatus {
  ready: boolean;
  shards: { total: number; ready: number; states: Record<number, ShardState> };
  guilds: number;
  bufferDepth: number;
  spoolDepth: number;
  inFlight: number;
  busReachable: boolean;
  backpressure: boolean;
  deadLettersPending: number;
  counters: ReturnType<IngestorMetrics['counters']>;
  fatal?: string;
}

export interface IngestorHandle {
  readonly metrics: IngestorMetrics;
  readonly publisher: Publisher;
  readonly watermarks: WatermarkTracker;
  readonly sessions: SessionStore;
  readonly deadLetters: DeadLetterStore;
  readonly httpPort: number;
  status(): IngestorStatus;
  /** graceful: close the sockets with a resumable code, flush, persist the resume point */
  stop(): Promise<void>;
  /** a crash: drop everything at once, persist nothing more (tests of resume without loss) */
  kill(): Promise<void>;
}

const stdoutLog: Log = (level, msg, extra) => process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), service: 'ingestor', msg, ...extra })}\n`);
const errorText = (err: unknown) => String((err as Error)?.message ?? err);
const TOKEN_REJECTED = 'Discord rejected the bot token (401 on GET /gateway/bot): check DISCORD_TOKEN or the secret DISCORD_TOKEN_SECRET_ARN points at';

/** The gateway URL, the shards of the whole bot (Discord's recommendation when TOTAL_SHARDS=auto) and ours. */
async function shardPlan(cfg: IngestorConfig, rest: REST): Promise<{ gatewayUrl: string; totalShards: number; shardIds: number[] }> {
  const info = (await rest.get('/gateway/bot').catch((err: unknown) => {
    throw err instanceof DiscordAPIError && err.status === 401 ? new Error(TOKEN_REJECTED) : err;
  })) as { url: string; shards: number };
  const totalShards = cfg.totalShards ?? info.shards;
  return { gatewayUrl: info.url, totalShards, shardIds: cfg.shardIds ?? Array.from({ length: totalShards }, (_, i) => i) };
}

export async function startIngestor(cfg: IngestorConfig, deps: IngestorDeps = {}): Promise<IngestorHandle> {
  const log = deps.log ?? stdoutLog;
  const aws = deps.aws ?? {};
  // before anything opens: a missing zlib-sync or a buffer the heap cannot hold stops startup with what to do
  const bufferProblem = checkBufferFitsHeap(cfg.bufferMaxBytes);
  if (bufferProblem) throw new IngestorConfigError([bufferProblem]);
  const compression = deps.compression ?? zlibSyncCompression();

  // clients, each built once
  const secrets = new SecretsManagerClient(aws);
  const token = cfg.token ?? (await readSecret(secrets, cfg.tokenSecretArn!, 'DISCORD_TOKEN_SECRET_ARN'));
  const redis: Redis | undefined = cfg.redisUrl
    ? await createRedis({ url: cfg.redisUrl, authSecretArn: cfg.redisAuthSecretArn }, secrets, (msg, extra) => log('warn', msg, extra), { lazyConnect: true })
    : undefined;
  if (redis) await redis.connect();
  const s3 = new S3Client({ forcePathStyle: true, ...aws });
  const eventBridge = new EventBridgeClient(aws);
  const sender = deps.sender ?? new DirectPutEventsSender(eventBridge, { connections: cfg.maxInFlight });
  const rest = new REST({ api: cfg.apiUrl ?? 'https://discord.com/api' }).setToken(token);

  // health and metrics first: every other stage reports to them
  const metrics = new IngestorMetrics(cfg.metricsNamespace, cfg.shardGroup, deps.emf);
  const guilds = new GuildCounter();

  // publish: watermark, durable dead letters, spool, publisher
  const watermarks = new WatermarkTracker();
  const deadLetters = new DeadLetterStore(s3, { bucket: cfg.deadLetterBucket, onRetry: (err, n) => n === 0 && log('warn', 'could not store a dead letter in S3: retrying; its event stays before the watermark', { error: errorText(err) }) });
  const spoolCorrupt = (rec: CorruptSpoolRecord, lost: EntryMeta[]) => {
    metrics.onDeadLettered('SpoolCorrupt');
    log('error', 'a spool record cannot be read back: dead-lettered with its bytes', { file: rec.file, offset: rec.offset, reason: rec.reason, events: lost.length });
    void deadLetters.store({ reason: 'SpoolCorrupt', detail: `${rec.reason} at ${rec.file}:${rec.offset}`, meta: lost[0] ?? {}, raw: rec.bytes.toString('base64') }).then(
      () => lost.forEach((m) => watermarks.accepted(m.shardId, m.sessionId, m.seq)),
      () => undefined,
    );
  };
  const spool = new DiskSpool({ dir: cfg.spoolDir, maxBytes: cfg.spoolMaxBytes, onCorrupt: spoolCorrupt, onTruncated: (file, bytes) => log('warn', 'cut a torn record off the spool (a crash mid-write; Discord replays its event)', { file, bytes }) });
  let shards: GatewayShards | undefined; // built below; backpressure reaches it through here
  const publisher = new Publisher(
    sender,
    spool,
    {
      accepted: (meta, latencyMs) => {
        watermarks.accepted(meta.shardId, meta.sessionId, meta.seq);
        metrics.onPublished(latencyMs);
        deps.onPublished?.(meta, latencyMs);
      },
      deadLettered: (meta, entry, reason) => ingest.deadLetter({ reason: 'EventBridgeRefused', detail: reason, meta, entry }),
      failedEntries: (n) => (metrics.failedEntries += n),
      backpressure: (on) => {
        if (on) metrics.backpressureEpisodes++;
        if (on) shards?.pause('buffer and spool full');
        else shards?.resume();
      },
      requestError: (err) => {
        if (publisher.consecutiveRequestFailures === 3) log('warn', 'EventBridge unreachable: buffering, then spooling to disk', { error: errorText(err) });
      },
    },
    { maxInFlight: cfg.maxInFlight, bufferMaxEvents: cfg.bufferMaxEvents, bufferMaxBytes: cfg.bufferMaxBytes },
  );

  // classify -> envelope -> publish, for one dispatch at a time
  const claimChecker = new ClaimChecker(cfg.claimCheckBucket ? s3 : undefined, cfg.claimCheckBucket, cfg.claimCheckThresholdBytes);
  const sessions = new SessionStore(redis, deps.keyPrefix ?? `gateway:${cfg.applicationId}`, watermarks, (level, msg, extra) => log(level, msg, extra));
  const persist = () => void sessions.flush().catch((err: unknown) => log('warn', 'could not persist the resume point', { error: errorText(err) }));
  sessions.onNewSession = persist;
  const ingest = createIngest({
    appId: cfg.applicationId,
    eventBusName: cfg.eventBusName,
    route: createRouter(deps.routing ?? DEFAULT_ROUTING_TABLE),
    sessionId: (shardId) => sessions.sessionId(shardId),
    watermarks,
    guilds,
    claimChecker,
    publisher,
    deadLetters,
    metrics,
    log,
  });

  // gateway: which shards, where each resumes, then connect
  const { gatewayUrl, totalShards, shardIds } = await shardPlan(cfg, rest);
  sessions.gatewayUrl = gatewayUrl;
  for (const [id, p] of await sessions.load(shardIds)) log('info', 'resuming from the persisted resume point', { shardId: id, sessionId: p.sessionId, seq: p.sequence });
  shards = new GatewayShards({
    token,
    intents: cfg.intents,
    rest,
    totalShards,
    shardIds,
    compression,
    helloTimeoutMs: cfg.helloTimeoutMs,
    sessions,
    log,
    onDispatch: ingest.onDispatch,
    onDispatchError: ingest.onDispatchError,
    onHeartbeat: (latency) => metrics.heartbeatLatencies.push(latency),
  });
  const gateway = shards;

  // health and metrics
  const status = (): IngestorStatus => {
    const ready = gateway.readyCount();
    return {
      ready: ready === shardIds.length && publisher.busReachable && !gateway.fatal,
      shards: { total: shardIds.length, ready, states: { ...gateway.states } },
      guilds: guilds.count(shardIds),
      bufferDepth: publisher.depth,
      spoolDepth: spool.depth,
      inFlight: publisher.inFlightRequests,
      busReachable: publisher.busReachable,
      backpressure: publisher.backpressured,
      deadLettersPending: deadLetters.pending,
      counters: metrics.counters(),
      fatal: gateway.fatal,
    };
  };
  const flushMetrics = () => {
    const s = status();
    Object.assign(metrics.gauges, { bufferDepth: s.bufferDepth, spoolDepth: s.spoolDepth, shardsReady: s.shards.ready, shardsTotal: s.shards.total, inFlight: s.inFlight });
    metrics.flushEmf();
  };
  const health = await startHealthServer(cfg.httpPort, status);
  const persistTimer = setInterval(persist, deps.persistIntervalMs ?? 1000);
  const emfTimer = setInterval(flushMetrics, cfg.metricsIntervalMs);

  const close = async () => {
    clearInterval(persistTimer);
    clearInterval(emfTimer);
    publisher.stop();
    deadLetters.stop();
    await health.close();
    redis?.disconnect();
    eventBridge.destroy();
    await sender.destroy?.();
    s3.destroy();
    secrets.destroy();
  };

  try {
    await gateway.connect();
  } catch (err) {
    await close();
    throw err instanceof DiscordAPIError && err.status === 401 ? new Error(TOKEN_REJECTED) : err;
  }
  log('info', 'ingestor started', { shards: shardIds, totalShards, bus: cfg.eventBusName, httpPort: health.port });

  let stopped = false;
  return {
    metrics,
    publisher,
    watermarks,
    sessions,
    deadLetters,
    httpPort: health.port,
    status,
    async stop() {
      if (stopped) return;
      stopped = true;
      await gateway.stop('ingestor shutting down');
      const flushed = await publisher.drain(100_000);
      for (let i = 0; i < 100 && deadLetters.pending > 0; i++) await new Promise((r) => setTimeout(r, 100));
      await sessions.flush();
      flushMetrics();
      log(flushed ? 'info' : 'warn', flushed ? 'ingestor stopped: everything published' : 'ingestor stopped before the buffer drained: the resume point stays before what was not published', {
        published: metrics.published,
        bufferDepth: publisher.depth,
        spoolDepth: spool.depth,
        deadLettersPending: deadLetters.pending,
      });
      await close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      publisher.stop();
      deadLetters.stop();
      await gateway.stop('killed');
      await close();
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
  const aws = process.env.AWS_ENDPOINT_URL
    ? { endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' } }
    : {};
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
