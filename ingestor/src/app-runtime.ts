/**
 * One application served by this task: its token and REST client, its shards on the gateway, its
 * resume points (fenced by the shard leases), its watermark and its classify -> envelope path into
 * the shared publisher. The fleet loop calls take / lose / handOff as leases come and go; without
 * Redis (local use) every candidate shard is taken at once.
 */
import { DiscordAPIError, REST } from '@discordjs/rest';
import { Routes, type GatewayPresenceUpdateData, type RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
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
import { GatewayShards, SESSION_END_CLOSE, type ShardState } from './gateway/shards';
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
  /** the presence every shard IDENTIFYs with */
  presence?: GatewayPresenceUpdateData;
  /** how long a hand-off waits for the shard's events to be published @default 30000 */
  handOffTimeoutMs?: number;
  /** a shard was closed with 4011 (sharding required): the fleet reshards the application */
  onShardingRequired?: (appId: string) => void;
  /** resolves when no gateway command of the shard is being sent (a hand-off waits for it) */
  commandsSettled?: (appId: string, shardId: number) => Promise<void>;
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

/** Which shard set of the application a runtime serves (fleet/shard-sets.ts). */
export interface SetChoice {
  count: number;
  /** the key its leases and resume points live under @default the application id */
  key?: string;
}

export interface CreateOptions {
  defaultIntents: number;
  /** the shards of the set this task may take @default all */
  shardIds?: number[] | null;
  /** the shard set to serve @default the one `choose` returns, else the application's own count */
  set?: SetChoice;
  /** picks the set from the count the application would use (configured, else Discord's recommendation) */
  choose?: (count: number) => Promise<SetChoice>;
}

export class AppRuntime implements FleetApp {
  readonly watermarks = new WatermarkTracker();
  readonly guilds = new GuildCounter();
  readonly gateway: GatewayShards;
  readonly sessions: SessionStore;
  readonly throttler: RedisIdentifyThrottler | undefined;
  readonly deadLetter: ReturnType<typeof createIngest>['deadLetter'];
  /** the fleet key of this shard set: leases, fences and resume points live under it */
  readonly key: string;
  /** envelope ids by content while two shard sets of the application overlap (a reshard) */
  contentIds = false;
  /** whose SHARDS_PER_TASK budget its shards count against (fleet/orchestrator.ts) */
  budget = 'main';
  /** ms epoch before which a shard taken does not connect (a new shard set, fleet/resharding.ts) */
  connectAfter = 0;
  /** the set is being stopped (a reshard, or the application left the registry): no shard of it is taken any more */
  private retiring = false;
  /** takes under way: a lease is held, the connection not yet added */
  private readonly taking = new Set<Promise<void>>();

  private constructor(
    readonly appId: string,
    readonly totalShards: number,
    private readonly shardIds: readonly number[],
    private readonly shared: SharedParts,
    readonly rest: REST,
    token: string,
    info: RESTGetAPIGatewayBotResult,
    intents: number,
    key: string,
  ) {
    const { leases, redis, log } = shared;
    this.key = key;
    this.sessions = new SessionStore(
      redis,
      `${shared.ns}:{${key}}`,
      this.watermarks,
      (level, msg, extra) => log(level, msg, { appId, setKey: key, ...extra }),
      leases ? { set: (id, k, value, ttl) => leases.fencedSet(key, id, k, value, ttl), del: (id, k) => leases.fencedDel(key, id, k) } : undefined,
    );
    this.sessions.gatewayUrl = info.url;
    // a session READY starts is written at once: a task killed before the next periodic write still RESUMEs
    this.sessions.onNewSession = () => void this.sessions.flush().catch((err: unknown) => log('warn', 'could not persist the resume point', { appId, error: errorText(err) }));
    const mayConnect = leases ? (id: number) => leases.holds(key, id) : undefined;
    const budget = { maxConcurrency: Math.max(1, info.session_start_limit.max_concurrency), remaining: info.session_start_limit.remaining, resetAfterMs: info.session_start_limit.reset_after };
    // identify buckets belong to the application (Discord counts every session of the bot), not to a shard set
    this.throttler = redis ? new RedisIdentifyThrottler(redis, appKeys(shared.ns, appId), shared.taskId, budget, mayConnect ?? (() => true), (msg, extra) => log('warn', msg, { appId, ...extra })) : undefined;
    const ingest = createIngest({
      appId,
      setKey: key === appId ? undefined : key,
      idFrom: () => (this.contentIds ? 'content' : 'session'),
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
      presence: shared.presence,
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
      onShardingRequired: shared.onShardingRequired ? () => shared.onShardingRequired?.(appId) : undefined,
    });
  }

  /** Reads the token, asks Discord for the gateway and the shard count; a rejected token stops here with what to fix. */
  static async create(app: Application, shared: SharedParts, opts: CreateOptions): Promise<AppRuntime> {
    // the registry's schema and the ingestor's config both require one of the two
    if (app.token === undefined && app.tokenSecretArn === undefined) throw new Error(`application ${app.appId} has neither a token nor a token secret ARN`);
    const token = app.token ?? (await readSecret(shared.secrets, app.tokenSecretArn ?? '', 'DISCORD_TOKEN_SECRET_ARN'));
    const rest = new GatewayInfoRest({ api: app.apiUrl ?? 'https://discord.com/api' }).setToken(token);
    const info = await gatewayBot(rest, app.appId);
    const set = opts.set ?? (await opts.choose?.(app.shardCount ?? info.shards));
    const totalShards = set?.count ?? app.shardCount ?? info.shards;
    const shardIds = opts.shardIds ?? Array.from({ length: totalShards }, (_, i) => i);
    return new AppRuntime(app.appId, totalShards, shardIds, shared, rest, token, info, app.intents ?? opts.defaultIntents, set?.key ?? app.appId);
  }

  /** the shards of this set this task may take (none once it is being retired) */
  get candidates(): readonly number[] {
    return this.retiring ? [] : this.shardIds;
  }

  /** Discord's current recommendation for the application's shard count. */
  async recommendedShards(): Promise<number> {
    return (await gatewayBot(this.rest, this.appId)).shards;
  }

  take(shardId: number): Promise<void> {
    const t = this.connect(shardId).finally(() => this.taking.delete(t));
    this.taking.add(t);
    return t;
  }

  /** Takes no more shards and waits for the takes under way: after it, `gateway.held()` is all this task connects. */
  async stopTaking(): Promise<void> {
    this.retiring = true;
    await Promise.allSettled([...this.taking]);
  }

  private async connect(shardId: number): Promise<void> {
    const wait = this.connectAfter - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
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
    await this.shared.commandsSettled?.(this.appId, shardId);
    await this.drained(shardId);
    await this.sessions.flush(shardId);
    if (this.watermarks.pendingCount(shardId) > 0) this.shared.log('warn', 'handed a shard off before everything was published: the next owner RESUMEs before it', { appId: this.appId, shardId, pending: this.watermarks.pendingCount(shardId) });
    this.sessions.drop(shardId);
    this.watermarks.forgetShard(shardId);
  }

  /**
   * After a reshard: ends every session of this (old) set for good (close 1000), once what each
   * received is published, and releases its leases; the new set has received the same events since
   * it was READY.
   */
  async retire(): Promise<void> {
    await this.stopTaking();
    for (const shardId of this.gateway.held()) {
      await this.gateway.remove(shardId, 'resharded: the new shard set is READY', SESSION_END_CLOSE);
      await this.drained(shardId);
      this.sessions.forget(shardId, 'resharded');
      await this.sessions.flush(shardId).catch(() => undefined);
      this.sessions.drop(shardId);
      this.watermarks.forgetShard(shardId);
      await this.shared.leases?.release(this.key, shardId);
    }
  }

  /** Waits (bounded) until every event the shard received is published or dead-lettered. */
  private async drained(shardId: number): Promise<void> {
    const end = Date.now() + (this.shared.handOffTimeoutMs ?? 30_000);
    while (this.watermarks.pendingCount(shardId) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  }

  /** Stops every shard resumably (shutdown without leases, or a crash in tests). */
  stop(reason: string): Promise<void> {
    return this.gateway.stop(reason);
  }
}

/** GET /gateway/bot; a rejected token stops here with what to fix. */
async function gatewayBot(rest: REST, appId: string): Promise<RESTGetAPIGatewayBotResult> {
  return (await rest.get(Routes.gatewayBot()).catch((err: unknown) => {
    throw err instanceof DiscordAPIError && err.status === 401 ? new Error(`${TOKEN_REJECTED} (application ${appId})`) : err;
  })) as RESTGetAPIGatewayBotResult;
}
