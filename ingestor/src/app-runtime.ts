/**
 * One application served by this task: its token and REST client, its shards on the gateway, its
 * resume points (fenced by the shard leases), its watermark and its classify -> envelope path into
 * the shared publisher. The fleet loop calls take / lose / handOff as leases come and go; without
 * Redis (local use) every candidate shard is taken at once.
 */
import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes, type RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import type Redis from 'ioredis';
import { DEFAULT_ROUTING_TABLE, type RoutingTable } from '../../lib/contract';
import { errorText } from '../../shared/error-text';
import { readSecret, type SecretsReader } from '../../shared/secrets';
import { createRouter } from './classify/router';
import { RedisIdentifyThrottler } from './fleet/identify';
import { appKeys, type ShardLeases } from './fleet/leases';
import type { FleetApp } from './fleet/orchestrator';
import type { Application } from '../../shared/app-registry';
import { SessionStore } from './gateway/session-store';
import { GatewayShards, type ShardState } from './gateway/shards';
import { GuildCounter } from './health/guilds';
import { createIngest } from './ingest';
import type { IngestorMetrics } from './metrics';
import type { ClaimChecker } from './publish/claim-check';
import type { DeadLetterStore } from './publish/dead-letters';
import type { Publisher } from './publish/publisher';
import { WatermarkTracker } from './publish/watermark';
import type { CompressionMethod } from '@discordjs/ws';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;

export const TOKEN_REJECTED = 'Discord rejected the bot token (401 on GET /gateway/bot): check DISCORD_TOKEN or the secret DISCORD_TOKEN_SECRET_ARN points at';

/** What every application of the task shares. */
export interface SharedParts {
  taskId: string;
  /** Redis key namespace */
  ns: string;
  redis: Redis | undefined;
  secrets: SecretsReader;
  leases: ShardLeases | undefined;
  publisher: Publisher;
  deadLetters: DeadLetterStore;
  claimChecker: ClaimChecker;
  metrics: IngestorMetrics;
  eventBusName: string;
  compression: CompressionMethod;
  helloTimeoutMs: number;
  routing?: RoutingTable;
  log: Log;
  /** how long a hand-off waits for the shard's events to be published @default 30000 */
  handOffTimeoutMs?: number;
}

/** A REST client whose GET /gateway/bot is answered from a short cache: every shard's manager asks at connect. */
class GatewayInfoRest extends REST {
  private cached: { at: number; data: Promise<unknown> } | undefined;

  override async get(route: `/${string}`, options?: Parameters<REST['get']>[1]): Promise<unknown> {
    if (route !== Routes.gatewayBot()) return super.get(route, options);
    if (!this.cached || Date.now() - this.cached.at > 5_000) {
      const data = super.get(route, options);
      this.cached = { at: Date.now(), data };
      data.catch(() => (this.cached = undefined));
    }
    return this.cached.data;
  }
}

export class AppRuntime implements FleetApp {
  readonly watermarks = new WatermarkTracker();
  readonly guilds = new GuildCounter();
  readonly gateway: GatewayShards;
  readonly sessions: SessionStore;
  readonly throttler: RedisIdentifyThrottler | undefined;

  private constructor(
    readonly appId: string,
    readonly totalShards: number,
    readonly candidates: readonly number[],
    private readonly shared: SharedParts,
    token: string,
    rest: REST,
    info: RESTGetAPIGatewayBotResult,
    intents: number,
  ) {
    const { leases, redis, log } = shared;
    const keys = appKeys(shared.ns, appId);
    this.sessions = new SessionStore(
      redis,
      `${shared.ns}:{${appId}}`,
      this.watermarks,
      (level, msg, extra) => log(level, msg, { appId, ...extra }),
      leases ? { set: (id, key, value, ttl) => leases.fencedSet(appId, id, key, value, ttl), del: (id, key) => leases.fencedDel(appId, id, key) } : undefined,
    );
    this.sessions.gatewayUrl = info.url;
    // a session READY starts is written at once: a task killed before the next periodic write still RESUMEs
    this.sessions.onNewSession = () => void this.sessions.flush().catch((err: unknown) => log('warn', 'could not persist the resume point', { appId, error: errorText(err) }));
    const mayConnect = leases ? (id: number) => leases.holds(appId, id) : undefined;
    const budget = { maxConcurrency: Math.max(1, info.session_start_limit.max_concurrency), remaining: info.session_start_limit.remaining, resetAfterMs: info.session_start_limit.reset_after };
    this.throttler = redis ? new RedisIdentifyThrottler(redis, keys, shared.taskId, budget, mayConnect ?? (() => true), (msg, extra) => log('warn', msg, { appId, ...extra })) : undefined;
    const ingest = createIngest({
      appId,
      eventBusName: shared.eventBusName,
      route: createRouter(shared.routing ?? DEFAULT_ROUTING_TABLE),
      sessionId: (shardId) => this.sessions.sessionId(shardId),
      watermarks: this.watermarks,
      guilds: this.guilds,
      claimChecker: shared.claimChecker,
      publisher: shared.publisher,
      deadLetters: shared.deadLetters,
      metrics: shared.metrics,
      log,
    });
    this.deadLetter = ingest.deadLetter;
    this.gateway = new GatewayShards({
      appId,
      token,
      intents,
      rest,
      totalShards,
      compression: shared.compression,
      helloTimeoutMs: shared.helloTimeoutMs,
      sessions: this.sessions,
      identifyThrottler: this.throttler,
      mayConnect,
      log,
      onDispatch: ingest.onDispatch,
      onDispatchError: ingest.onDispatchError,
      onHeartbeat: (latency, shardId) => shared.metrics.onHeartbeat(latency, shardId, appId),
      onStateChange: (shardId, state: ShardState) => shared.metrics.onShardState(appId, shardId, state),
    });
  }

  readonly deadLetter: ReturnType<typeof createIngest>['deadLetter'];

  /** Reads the token, asks Discord for the gateway and the shard count; a rejected token stops here with what to fix. */
  static async create(app: Application, shared: SharedParts, opts: { defaultIntents: number; shardIds?: number[] | null }): Promise<AppRuntime> {
    // the registry's schema and the ingestor's config both require one of the two
    if (app.token === undefined && app.tokenSecretArn === undefined) throw new Error(`application ${app.appId} has neither a token nor a token secret ARN`);
    const token = app.token ?? (await readSecret(shared.secrets, app.tokenSecretArn ?? '', 'DISCORD_TOKEN_SECRET_ARN'));
    const rest = new GatewayInfoRest({ api: app.apiUrl ?? 'https://discord.com/api' }).setToken(token);
    const info = (await rest.get(Routes.gatewayBot()).catch((err: unknown) => {
      throw err instanceof DiscordAPIError && err.status === 401 ? new Error(`${TOKEN_REJECTED} (application ${app.appId})`) : err;
    })) as RESTGetAPIGatewayBotResult;
    const totalShards = app.shardCount ?? info.shards;
    const candidates = opts.shardIds ?? Array.from({ length: totalShards }, (_, i) => i);
    return new AppRuntime(app.appId, totalShards, candidates, shared, token, rest, info, app.intents ?? opts.defaultIntents);
  }

  async take(shardId: number): Promise<void> {
    const p = await this.sessions.loadOne(shardId);
    if (p) this.shared.log('info', 'resuming from the persisted resume point', { appId: this.appId, shardId, sessionId: p.sessionId, seq: p.sequence });
    await this.gateway.add(shardId);
  }

  async lose(shardId: number): Promise<void> {
    await this.gateway.remove(shardId, 'lease lost');
    this.sessions.drop(shardId);
    this.watermarks.forgetShard(shardId);
  }

  /** Closes the shard resumably, publishes what it received, persists the resume point (fenced). */
  async handOff(shardId: number): Promise<void> {
    await this.gateway.remove(shardId, 'handing the shard off');
    const end = Date.now() + (this.shared.handOffTimeoutMs ?? 30_000);
    while (this.watermarks.pendingCount(shardId) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await this.sessions.flush(shardId);
    if (this.watermarks.pendingCount(shardId) > 0) this.shared.log('warn', 'handed a shard off before everything was published: the next owner RESUMEs before it', { appId: this.appId, shardId, pending: this.watermarks.pendingCount(shardId) });
    this.sessions.drop(shardId);
    this.watermarks.forgetShard(shardId);
  }

  /** Stops every shard resumably (shutdown without leases, or a crash in tests). */
  stop(reason: string): Promise<void> {
    return this.gateway.stop(reason);
  }
}
