/**
 * The ingestor, composed: @discordjs/ws shards (no caches, zlib-stream) -> classify by the routing
 * table (drop what no tier wants before any AWS call) -> envelope -> claim check when oversize ->
 * adaptive PutEvents publisher (memory buffer, disk spool) -> watermark -> Redis resume point.
 * Runs no business logic. `startIngestor` is used by main.ts, the local pipeline and the tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DiscordAPIError, REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import Redis from 'ioredis';
import { createClassifier, DEFAULT_ROUTING_TABLE, entrySize, toPutEventsEntry, wrapDispatch, type RoutingTable } from '../../lib/contract';
import { IngestorConfigError, type IngestorConfig } from './config';
import { checkBufferFitsHeap } from './runtime';
import { fatalCloseAdvice } from './gateway/close-codes';
import { SessionStore } from './gateway/session-store';
import { IngestorMetrics } from './metrics';
import { ClaimChecker } from './publish/claim-check';
import { chooseCompression } from './gateway/compression';
import { DirectPutEventsSender } from './publish/direct-put-events';
import { createEventBridgeClient, EventBridgeSender } from './publish/eventbridge-sender';
import { Publisher, type EventSender } from './publish/publisher';
import { DiskSpool } from './publish/spool';
import { WatermarkTracker } from './publish/watermark';

export type ShardState = 'connecting' | 'ready' | 'reconnecting' | 'fatal';

export interface IngestorDeps {
  /** AWS SDK settings (endpoint, credentials) for EventBridge, S3 and Secrets Manager */
  aws?: Record<string, unknown>;
  sender?: EventSender;
  routing?: RoutingTable;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** EMF lines go here @default stdout */
  emf?: (line: string) => void;
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
  fatal?: string;
}

export interface IngestorHandle {
  readonly metrics: IngestorMetrics;
  readonly publisher: Publisher;
  readonly watermarks: WatermarkTracker;
  readonly sessions: SessionStore;
  readonly httpPort: number;
  status(): IngestorStatus;
  /** graceful: close the sockets with a resumable code, flush, persist the resume point */
  stop(): Promise<void>;
  /** a crash: drop everything at once, persist nothing more (tests of resume without loss) */
  kill(): Promise<void>;
}

const defaultLog: NonNullable<IngestorDeps['log']> = (level, msg, extra) =>
  process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), service: 'ingestor', msg, ...extra })}\n`);

async function resolveToken(cfg: IngestorConfig, aws: Record<string, unknown>): Promise<string> {
  if (cfg.token) return cfg.token;
  const sm = new SecretsManagerClient(aws);
  const r = await sm.send(new GetSecretValueCommand({ SecretId: cfg.tokenSecretArn! })).catch((err) => {
    throw new Error(`could not read the bot token from DISCORD_TOKEN_SECRET_ARN (${(err as Error).name}): check the ARN and the task role's secretsmanager:GetSecretValue`);
  });
  const raw = r.SecretString ?? '';
  let token = raw;
  if (raw.trim().startsWith('{')) token = (JSON.parse(raw) as { token?: string }).token ?? '';
  if (!token) throw new Error('the secret at DISCORD_TOKEN_SECRET_ARN is empty: put the bot token in it (plain text, or JSON {"token": "..."})');
  return token;
}

export async function startIngestor(cfg: IngestorConfig, deps: IngestorDeps = {}): Promise<IngestorHandle> {
  const log = deps.log ?? defaultLog;
  const aws = deps.aws ?? {};
  // before anything opens: a missing zlib-sync or a buffer the heap cannot hold stops startup with what to do
  const bufferProblem = checkBufferFitsHeap(cfg.bufferMaxBytes);
  if (bufferProblem) throw new IngestorConfigError([bufferProblem]);
  const compression = chooseCompression(cfg.gatewayInflate);
  if (compression.warning) log('error', compression.warning);
  const token = await resolveToken(cfg, aws);
  const routing = deps.routing ?? DEFAULT_ROUTING_TABLE;
  const classify = createClassifier(routing);
  // the top-priority tier (interactions) also goes first through the publisher
  const topPriority = Math.min(...Object.values(routing).map((r) => r.priority));
  const metrics = new IngestorMetrics(cfg.metricsNamespace, cfg.shardGroup, deps.emf);
  const watermarks = new WatermarkTracker();
  const redis = cfg.redisUrl ? new Redis(cfg.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true, tls: cfg.redisUrl.startsWith('rediss://') ? {} : undefined }) : undefined;
  if (redis) await redis.connect();
  const sessions = new SessionStore(redis, deps.keyPrefix ?? `gateway:${cfg.applicationId}`, watermarks);

  const spool = new DiskSpool(cfg.spoolDir, cfg.spoolMaxBytes);
  const eventBridge = createEventBridgeClient(aws);
  const sender: EventSender = deps.sender ?? (cfg.putEventsClient === 'sdk' ? new EventBridgeSender(eventBridge) : new DirectPutEventsSender(eventBridge, { connections: cfg.maxInFlight }));
  const claimChecker = new ClaimChecker(cfg.claimCheckBucket ? new S3Client({ forcePathStyle: true, ...aws }) : undefined, cfg.claimCheckBucket, cfg.claimCheckThresholdBytes);
  const publisher = new Publisher(
    sender,
    spool,
    {
      accepted: (meta, latencyMs) => {
        watermarks.accepted(meta.shardId, meta.sessionId, meta.seq);
        metrics.onPublished(latencyMs);
      },
      deadLettered: (meta, entry, reason) => {
        spool.deadLetter(meta, entry, reason);
        metrics.deadLettered++;
        watermarks.accepted(meta.shardId, meta.sessionId, meta.seq);
        log('error', 'EventBridge refused an entry for good: written to the dead-letter file', { envelopeId: meta.id, type: meta.type, reason });
      },
      failedEntries: (n) => {
        metrics.failedEntries += n;
      },
      refused: (meta) => {
        metrics.refused++;
        log('error', 'buffer and spool are full: event refused; the resume point stays before it so a restart replays it', { envelopeId: meta.id, type: meta.type, seq: meta.seq, shardId: meta.shardId });
      },
      requestError: (err) => {
        if (publisher.consecutiveRequestFailures === 3) log('warn', 'EventBridge unreachable: buffering, then spooling to disk', { error: String((err as Error).message ?? err) });
      },
    },
    { maxInFlight: cfg.maxInFlight, bufferMaxEvents: cfg.bufferMaxEvents, bufferMaxBytes: cfg.bufferMaxBytes },
  );

  const rest = new REST({ api: cfg.apiUrl ?? 'https://discord.com/api' }).setToken(token);
  // how many shards there are, and which are ours
  let totalShards = cfg.totalShards;
  if (totalShards === null) {
    const info = (await rest.get('/gateway/bot').catch((err) => {
      if (err instanceof DiscordAPIError && err.status === 401) throw new Error('Discord rejected the bot token (401 on GET /gateway/bot): check DISCORD_TOKEN or the secret DISCORD_TOKEN_SECRET_ARN points at');
      throw err;
    })) as { shards: number };
    totalShards = info.shards;
  }
  const shardIds = cfg.shardIds ?? Array.from({ length: totalShards }, (_, i) => i);
  const loaded = await sessions.load(shardIds);
  for (const [id, p] of loaded) log('info', 'resuming from the persisted resume point', { shardId: id, sessionId: p.sessionId, seq: p.sequence });

  const states: Record<number, ShardState> = Object.fromEntries(shardIds.map((id) => [id, 'connecting' as ShardState]));
  const guildsByShard = new Map<number, Set<string>>();
  let fatal: string | undefined;

  const manager = new WebSocketManager({
    token,
    intents: cfg.intents,
    rest,
    shardCount: totalShards,
    shardIds,
    compression: compression.method,
    retrieveSessionInfo: (shardId) => sessions.retrieve(shardId),
    updateSessionInfo: (shardId, info) => sessions.update(shardId, info),
  });

  /** a dispatch we cannot wrap or store: keep it on disk with the reason, never lose it silently */
  const deadLetterUnwrapped = (payload: GatewayDispatchPayload, shardId: number, sessionId: string, err: unknown) => {
    const type = payload.t as string;
    spool.deadLetter({ shardId, sessionId, seq: payload.s, type, id: 'unwrapped', receivedAt: Date.now() }, { Source: 'discord.gateway', DetailType: type, Detail: JSON.stringify(payload.d ?? null), EventBusName: cfg.eventBusName }, String((err as Error).message ?? err));
    metrics.deadLettered++;
    watermarks.accepted(shardId, sessionId, payload.s);
    log('error', 'could not wrap a dispatch: written to the dead-letter file', { type, shardId, seq: payload.s, reason: String((err as Error).message ?? err) });
  };

  // synchronous for every event but an oversize one (thousands a second: no promise per event)
  const onDispatch = (payload: GatewayDispatchPayload, shardId: number): void => {
    const type = payload.t as string;
    metrics.onReceived(type);
    const info = sessions.retrieve(shardId);
    const sessionId = info?.sessionId ?? 'unknown';
    watermarks.seen(shardId, sessionId, payload.s);
    if (type === 'READY') {
      guildsByShard.set(shardId, new Set(((payload.d as { guilds?: Array<{ id: string }> }).guilds ?? []).map((g) => g.id)));
    } else if (type === 'GUILD_DELETE' && !(payload.d as { unavailable?: boolean }).unavailable) {
      guildsByShard.get(shardId)?.delete((payload.d as { id: string }).id);
    } else if (type === 'GUILD_CREATE') {
      (guildsByShard.get(shardId) ?? guildsByShard.set(shardId, new Set()).get(shardId)!).add((payload.d as { id: string }).id);
    }
    const tier = classify(type);
    if (!tier) {
      metrics.dropped++;
      return;
    }
    watermarks.pending(shardId, sessionId, payload.s);
    const priority = routing[tier].priority === topPriority;
    try {
      const env = wrapDispatch({ appId: cfg.applicationId, shardId, sessionId, seq: payload.s, type, receivedAt: Date.now(), data: payload.d });
      const meta = { shardId, sessionId, seq: payload.s, type, id: env.id, receivedAt: env.receivedAt };
      // serialize once; only an oversize entry is serialized again, after the claim check
      const entry = toPutEventsEntry(env, cfg.eventBusName);
      const size = entrySize(entry);
      if (size <= claimChecker.thresholdBytes) {
        publisher.enqueue(entry, meta, priority, size);
        return;
      }
      claimChecker
        .store(env)
        .then((checked) => {
          const small = toPutEventsEntry(checked, cfg.eventBusName);
          metrics.claimChecked++;
          publisher.enqueue(small, meta, priority, entrySize(small));
        })
        .catch((err: unknown) => deadLetterUnwrapped(payload, shardId, sessionId, err));
    } catch (err) {
      deadLetterUnwrapped(payload, shardId, sessionId, err);
    }
  };

  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    if (payload.t === 'READY' || payload.t === 'RESUMED') states[shardId] = 'ready';
    onDispatch(payload, shardId);
  });
  manager.on(WebSocketShardEvents.Resumed, (shardId) => {
    states[shardId] = 'ready';
  });
  manager.on(WebSocketShardEvents.Ready, (_d, shardId) => {
    states[shardId] = 'ready';
  });
  manager.on(WebSocketShardEvents.Closed, (code, shardId) => {
    const advice = fatalCloseAdvice(code, { shardIds: shardIds.join(','), totalShards: String(totalShards), intents: cfg.intents });
    if (advice) {
      states[shardId] = 'fatal';
      fatal = advice;
      log('error', advice, { shardId, code });
    } else if (states[shardId] !== 'fatal') {
      states[shardId] = 'reconnecting';
    }
  });
  manager.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }) => {
    metrics.heartbeatLatencies.push(latency);
  });
  manager.on(WebSocketShardEvents.Error, (err, shardId) => {
    log('warn', 'gateway error', { shardId, error: String((err as Error).message ?? err) });
  });

  const status = (): IngestorStatus => {
    const ready = shardIds.filter((id) => states[id] === 'ready').length;
    let guilds = 0;
    for (const id of shardIds) guilds += guildsByShard.get(id)?.size ?? 0;
    return {
      ready: ready === shardIds.length && publisher.busReachable && !fatal,
      shards: { total: shardIds.length, ready, states: { ...states } },
      guilds,
      bufferDepth: publisher.depth,
      spoolDepth: spool.depth,
      inFlight: publisher.inFlightRequests,
      busReachable: publisher.busReachable,
      fatal,
    };
  };
  const refreshGauges = () => {
    const s = status();
    Object.assign(metrics.gauges, { bufferDepth: s.bufferDepth, spoolDepth: s.spoolDepth, shardsReady: s.shards.ready, shardsTotal: s.shards.total, inFlight: s.inFlight });
  };

  const http: Server = createServer((req, res) => {
    refreshGauges();
    if (req.url === '/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
    } else if (req.url === '/ready') {
      const s = status();
      res.writeHead(s.ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(s));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(metrics.prometheus());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => http.listen(cfg.httpPort, '0.0.0.0', () => r()));
  const httpPort = (http.address() as AddressInfo).port;

  const persistTimer = setInterval(() => void sessions.flush().catch((err) => log('warn', 'could not persist the resume point', { error: String(err) })), deps.persistIntervalMs ?? 1000);
  const emfTimer = setInterval(() => {
    refreshGauges();
    metrics.flushEmf();
  }, cfg.metricsIntervalMs);

  try {
    await manager.connect();
  } catch (err) {
    if (err instanceof DiscordAPIError && err.status === 401) {
      await new Promise<void>((r) => http.close(() => r()));
      clearInterval(persistTimer);
      clearInterval(emfTimer);
      redis?.disconnect();
      throw new Error('Discord rejected the bot token (401 on GET /gateway/bot): check DISCORD_TOKEN or the secret DISCORD_TOKEN_SECRET_ARN points at');
    }
    // a fatal close during the first connect: keep serving /ready with what to fix, do not retry
    if (!fatal) throw err;
  }
  log('info', 'ingestor started', { shards: shardIds, totalShards, bus: cfg.eventBusName, httpPort, inflate: compression.name, putEvents: cfg.putEventsClient });

  let stopped = false;
  const close = async () => {
    clearInterval(persistTimer);
    clearInterval(emfTimer);
    publisher.stop();
    await new Promise<void>((r) => http.close(() => r()));
    http.closeAllConnections();
    redis?.disconnect();
    eventBridge.destroy(); // its keep-alive sockets
    await sender.destroy?.();
    claimChecker.destroy();
  };
  return {
    metrics,
    publisher,
    watermarks,
    sessions,
    httpPort,
    status,
    async stop() {
      if (stopped) return;
      stopped = true;
      sessions.keepOnDestroy = true;
      // a resumable close (never 1000/1001): Discord keeps the session for the next task
      await manager.destroy({ code: 4000, reason: 'ingestor shutting down' });
      const flushed = await publisher.drain(100_000);
      await sessions.flush();
      refreshGauges();
      metrics.flushEmf();
      log(flushed ? 'info' : 'warn', flushed ? 'ingestor stopped: everything published' : 'ingestor stopped before the buffer drained: the resume point stays before what was not published', {
        published: metrics.published,
        bufferDepth: publisher.depth,
        spoolDepth: spool.depth,
      });
      await close();
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      sessions.keepOnDestroy = true;
      await manager.destroy({ code: 4000, reason: 'killed' });
      await close();
    },
  };
}
