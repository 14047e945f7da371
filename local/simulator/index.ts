/**
 * A Discord simulator on loopback: the gateway (v10, JSON, zlib-stream) and the REST routes the
 * workers use, with Discord's rate-limit headers and 429s. The real `@discordjs/ws` and
 * `@discordjs/rest` run against it unmodified, pointed at it through `@discordjs/rest`'s `api` option
 * (`sim.restUrl`). Every REST request and every dispatch is recorded for assertions.
 * See docs/simulator.md.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayIntentBits } from 'discord-api-types/v10';
import { envelopeId } from '../../lib/contract';
import { GatewaySimulator, Ledger, type LedgerEntry, type Received } from './gateway';
import { RateLimiter, type WindowLimit } from './ratelimit';
import { DEFAULT_MIX, payloadFor, seededRandom, weightedPicker, type TrafficType } from './scenarios';
import { shardOf, SnowflakeGenerator, snowflakeTime } from './snowflake';

export { shardOf, snowflakeTime } from './snowflake';
export { Ledger, PRIVILEGED_INTENTS } from './gateway';
export type { IdentifyRecord, LedgerEntry, Received, ResumeRecord } from './gateway';
export { DEFAULT_MIX, TRAFFIC_TYPES, type TrafficType } from './scenarios';

export interface SimulatorOptions {
  /** @default 0 (any free port) */
  port?: number;
  /** the bot token the simulator accepts @default a random fake token */
  token?: string;
  /** @default '100000000000000001' */
  appId?: string;
  /** shards Discord recommends in /gateway/bot @default 1 */
  shards?: number;
  /** guilds, spread over shards by (id >> 22) % shards @default 10 */
  guilds?: number;
  /** members listed in each GUILD_CREATE's member_count @default 50 */
  membersPerGuild?: number;
  /** channels in each GUILD_CREATE @default 1 */
  channelsPerGuild?: number;
  /** roles besides @everyone in each GUILD_CREATE @default 0 */
  rolesPerGuild?: number;
  /** members listed inline in each GUILD_CREATE (Discord sends some for small guilds) @default 0 */
  inlineMembersPerGuild?: number;
  /** @default 41250 (Discord's); use ~500 in tests */
  heartbeatIntervalMs?: number;
  /** session_start_limit.max_concurrency @default 1 */
  maxConcurrency?: number;
  /** session_start_limit.total @default 1000 */
  sessionStartTotal?: number;
  /** one IDENTIFY per bucket per window @default 5000 */
  identifyWindowMs?: number;
  /** how long an interaction may wait for its first callback @default 3000 */
  interactionWindowMs?: number;
  /** how long an interaction token works for follow-ups @default 15 minutes */
  interactionTokenTtlMs?: number;
  /** privileged intents enabled in the "developer portal" @default GuildMembers */
  allowedIntents?: number;
  /** @default 2500 */
  maxGuildsPerShard?: number;
  /** events kept per session for RESUME; a RESUME from before the oldest gets op 9 @default 100000 */
  replayBufferSize?: number;
  /** how long a disconnected session stays resumable @default 120000 */
  sessionTtlMs?: number;
  /**
   * Makes generated ids repeatable: guild ids (and their channels, owners) are created at fixed
   * times derived from the seed instead of "now minus a day". @default none (time-based)
   */
  seed?: number;
  /**
   * zlib-stream implementation: 'sync' drives one zlib context synchronously (about 10 µs a
   * message), 'stream' uses Node's zlib stream (a thread-pool hop per message, ~5,000 messages/s per
   * connection); 'auto' is 'sync' when its startup self-check passes. @default 'auto'
   */
  zlib?: 'auto' | 'sync' | 'stream';
  rateLimits?: {
    /** per bot token, all bot routes @default 50 per second */
    global?: WindowLimit;
    /** per route bucket @default 5 per second; per route name overrides in `routes` */
    route?: WindowLimit;
    routes?: Partial<Record<RouteName, WindowLimit>>;
  };
}

export type RouteName =
  | 'gateway_bot'
  | 'interaction_callback'
  | 'webhook_original_edit'
  | 'webhook_followup'
  | 'member_role_add'
  | 'member_role_remove'
  | 'commands_overwrite'
  | 'channel_message';

export interface RecordedRequest {
  method: string;
  path: string;
  route: RouteName | 'unknown';
  body: unknown;
  /** request headers, lower-case; the Authorization value is redacted to its scheme (`Bot [redacted]`) */
  headers: Record<string, string>;
  /** the query string, e.g. `with_response=true` (empty when none) */
  query: string;
  status: number;
  /** arrival time, Unix ms */
  at: number;
  /** Discord error code when the response was an error */
  code?: number;
  rateLimited?: boolean;
  global?: boolean;
}

export interface SimInteraction {
  id: string;
  token: string;
  createdAt: number;
  guildId: string;
  channelId: string;
  userId: string;
  commandName: string;
  /** the INTERACTION_CREATE's seq, undefined when its shard had no session (nothing was sent) */
  seq?: number;
  /** the first callback (type and data), when it arrived */
  callback?: { type: number; data?: unknown; at: number };
  /** edits of @original and follow-ups */
  messages: Array<{ kind: 'edit' | 'followup'; body: unknown; at: number }>;
}

/** Dispatches whose `d.id` is the guild id (they carry no guild_id). */
const GUILD_OBJECT_EVENTS = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class DiscordSimulator {
  readonly token: string;
  readonly appId: string;
  readonly guildIds: string[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly interactions = new Map<string, SimInteraction>();
  private readonly interactionsByToken = new Map<string, SimInteraction>();
  readonly commands: unknown[] = [];
  readonly gateway: GatewaySimulator;
  private readonly snowflakes = new SnowflakeGenerator();
  private readonly limiter: RateLimiter;
  private readonly opts: Required<Omit<SimulatorOptions, 'rateLimits' | 'port' | 'channelsPerGuild' | 'rolesPerGuild' | 'inlineMembersPerGuild' | 'seed' | 'zlib'>> & {
    rateLimits: NonNullable<SimulatorOptions['rateLimits']>;
    channelsPerGuild: number;
    rolesPerGuild: number;
    inlineMembersPerGuild: number;
  };
  private readonly random: () => number;
  private server!: Server;
  private port = 0;
  private readonly guildMeta = new Map<string, { name: string; ownerId: string; memberCount: number; channelId: string }>();

  private constructor(options: SimulatorOptions) {
    this.token = options.token ?? `sim.${randomBytes(12).toString('base64url')}.${randomBytes(20).toString('base64url')}`;
    this.appId = options.appId ?? '100000000000000001';
    this.opts = {
      token: this.token,
      appId: this.appId,
      shards: options.shards ?? 1,
      guilds: options.guilds ?? 10,
      membersPerGuild: options.membersPerGuild ?? 50,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      maxConcurrency: options.maxConcurrency ?? 1,
      sessionStartTotal: options.sessionStartTotal ?? 1000,
      identifyWindowMs: options.identifyWindowMs ?? 5000,
      interactionWindowMs: options.interactionWindowMs ?? 3000,
      interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
      allowedIntents: options.allowedIntents ?? GatewayIntentBits.GuildMembers,
      maxGuildsPerShard: options.maxGuildsPerShard ?? 2500,
      replayBufferSize: options.replayBufferSize ?? 100_000,
      sessionTtlMs: options.sessionTtlMs ?? 120_000,
      rateLimits: options.rateLimits ?? {},
      channelsPerGuild: options.channelsPerGuild ?? 1,
      rolesPerGuild: options.rolesPerGuild ?? 0,
      inlineMembersPerGuild: options.inlineMembersPerGuild ?? 0,
    };
    this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.limiter = new RateLimiter(this.opts.rateLimits.global ?? { limit: 50, windowMs: 1000 });
    // guild ids created 1 ms apart, so (id >> 22) % shards spreads them evenly
    const base = options.seed !== undefined ? Date.UTC(2024, 0, 1) + (Math.abs(Math.trunc(options.seed)) % 1_000_000) * 10_000 : Date.now() - 86_400_000;
    for (let i = 0; i < this.opts.guilds; i++) {
      const id = this.snowflakes.next(base + i);
      this.guildIds.push(id);
      this.guildMeta.set(id, { name: `Guild ${i + 1}`, ownerId: this.snowflakes.next(base + i), memberCount: this.opts.membersPerGuild, channelId: this.snowflakes.next(base + i) });
    }
    this.gateway = new GatewaySimulator(
      {
        token: this.token,
        appId: this.appId,
        shards: this.opts.shards,
        heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
        maxConcurrency: this.opts.maxConcurrency,
        identifyWindowMs: this.opts.identifyWindowMs,
        allowedIntents: this.opts.allowedIntents,
        sessionStartTotal: this.opts.sessionStartTotal,
        sessionResetAfterMs: 86_400_000,
        maxGuildsPerShard: this.opts.maxGuildsPerShard,
        replayBufferSize: this.opts.replayBufferSize,
        sessionTtlMs: this.opts.sessionTtlMs,
        sendLimit: { limit: 120, windowMs: 60_000 },
        maxPayloadBytes: 4096,
        zlib: options.zlib ?? 'auto',
      },
      {
        guildsFor: (shardId, numShards) =>
          this.guildIds.filter((g) => shardOf(g, numShards) === shardId).map((id) => ({ id, payload: () => this.guildPayload(id) })),
        gatewayUrl: () => this.gatewayUrl,
        botUser: () => ({ id: this.appId, username: 'simulated-bot', discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 }),
      },
    );
  }

  static async start(options: SimulatorOptions = {}): Promise<DiscordSimulator> {
    const sim = new DiscordSimulator(options);
    sim.server = createServer((req, res) => void sim.onRequest(req, res));
    sim.server.on('upgrade', (req, socket, head) => sim.gateway.handleUpgrade(req, socket, head));
    sim.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    sim.port = (sim.server.address() as AddressInfo).port;
    return sim;
  }

  /** For `@discordjs/rest`'s `api` option. */
  get restUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Every dispatch produced, per shard and session, with when it first went out; see `Ledger`. */
  get ledger(): Ledger {
    return this.gateway.ledger;
  }

  /** Dispatches that went out over a socket (of the wanted types) but are not in `received`: what a consumer lost. */
  missedBy(received: Iterable<Received>, wanted: (type: string) => boolean = () => true): LedgerEntry[] {
    return this.gateway.ledger.missed(received, (e) => wanted(e.type));
  }

  /** The envelope ids our ingestor must produce for every event that went out over a socket and that `wanted` keeps. */
  expectedEnvelopeIds(wanted: (type: string) => boolean): Set<string> {
    const ids = new Set<string>();
    for (const e of this.gateway.ledger) {
      if (e.sentAt !== undefined && wanted(e.type)) ids.add(envelopeId(this.appId, e.shardId, e.sessionId, e.seq));
    }
    return ids;
  }

  private guildPayload(id: string): Record<string, unknown> {
    const m = this.guildMeta.get(id)!;
    return {
      id,
      name: m.name,
      owner_id: m.ownerId,
      member_count: m.memberCount,
      unavailable: false,
      large: m.memberCount > 250,
      joined_at: new Date(snowflakeTime(id)).toISOString(),
      // ids derived from the guild id (stable, unique): general first, then the extra channels and roles
      channels: [
        { id: m.channelId, type: 0, name: 'general', position: 0, guild_id: id },
        ...Array.from({ length: this.opts.channelsPerGuild - 1 }, (_, i) => ({ id: String(BigInt(id) + BigInt(1000 + i)), type: i % 5 === 4 ? 2 : 0, name: `channel-${i}`, position: i + 1, guild_id: id, topic: null, nsfw: false, permission_overwrites: [], rate_limit_per_user: 0, parent_id: null })),
      ],
      roles: [
        { id, name: '@everyone', permissions: '0', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 },
        ...Array.from({ length: this.opts.rolesPerGuild }, (_, i) => ({ id: String(BigInt(id) + BigInt(2000 + i)), name: `role-${i}`, permissions: '1024', position: i + 1, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 })),
      ],
      members: Array.from({ length: this.opts.inlineMembersPerGuild }, (_, i) => {
        const u = String(BigInt(id) + BigInt(3000 + i));
        return { user: { id: u, username: `member${i}`, discriminator: '0', global_name: null, avatar: null }, roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 };
      }),
      presences: [],
      voice_states: [],
      threads: [],
      stage_instances: [],
      guild_scheduled_events: [],
      emojis: [],
      stickers: [],
      features: [],
    };
  }

  /**
   * Sends a dispatch to the shard that owns data.guild_id (or `opts.shardId`; shard 0 for events
   * without a guild). Returns its seq, or undefined if that shard has no live session (then nothing
   * is produced, as with Discord). The ledger entry's `id` is `opts.id`, else data.id, else the
   * member's user id.
   */
  dispatch(type: string, data: Record<string, unknown>, opts: { shardId?: number; id?: string } = {}): number | undefined {
    const guildId = typeof data.guild_id === 'string' ? data.guild_id : GUILD_OBJECT_EVENTS.has(type) && typeof data.id === 'string' ? data.id : null;
    const s = this.gateway.sessionOf(opts.shardId ?? this.shardOfGuild(guildId));
    if (!s) return undefined;
    const user = data.user as { id?: unknown } | undefined;
    const id = opts.id ?? (typeof data.id === 'string' ? data.id : typeof user?.id === 'string' ? user.id : typeof data.user_id === 'string' ? data.user_id : undefined);
    return this.gateway.emit(s, type, data, guildId, id);
  }

  /** The shard that receives a guild's events: by the shard count its live session identified with, else the recommended count. */
  shardOfGuild(guildId: string | null): number {
    if (!guildId) return 0;
    for (const s of this.gateway.shardSessions.values()) if (s.valid && shardOf(guildId, s.numShards) === s.shardId) return s.shardId;
    return shardOf(guildId, this.opts.shards);
  }

  /** Creates a slash command interaction now and dispatches INTERACTION_CREATE; the 3 s window starts. */
  createInteraction(opts: { guildId?: string; channelId?: string; userId?: string; commandName: string; options?: Array<{ name: string; type: number; value: unknown }> }): SimInteraction {
    const now = Date.now();
    const guildId = opts.guildId ?? this.guildIds[0]!;
    const ix: SimInteraction = {
      id: this.snowflakes.next(now),
      token: `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`,
      createdAt: now,
      guildId,
      channelId: opts.channelId ?? this.guildMeta.get(guildId)?.channelId ?? this.snowflakes.next(now),
      userId: opts.userId ?? this.snowflakes.next(now - 1_000_000),
      commandName: opts.commandName,
      messages: [],
    };
    this.interactions.set(ix.id, ix);
    this.interactionsByToken.set(ix.token, ix);
    ix.seq = this.dispatch('INTERACTION_CREATE', {
      id: ix.id,
      application_id: this.appId,
      type: 2,
      token: ix.token,
      version: 1,
      guild_id: guildId,
      channel_id: ix.channelId,
      channel: { id: ix.channelId, type: 0 },
      member: { user: { id: ix.userId, username: `user${ix.userId.slice(-4)}`, discriminator: '0', global_name: null, avatar: null }, roles: [], permissions: '0', joined_at: new Date(now).toISOString(), deaf: false, mute: false, flags: 0 },
      data: { id: this.snowflakes.next(now), name: opts.commandName, type: 1, options: opts.options ?? [] },
      locale: 'en-US',
      guild_locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      attachment_size_limit: 8_388_608,
    });
    return ix;
  }

  /** `count` GUILD_MEMBER_ADD with distinct users, at `ratePerSec` (default: as fast as possible, yielding every 500). */
  async memberJoinStorm(guildId: string, count: number, opts: { ratePerSec?: number } = {}): Promise<string[]> {
    const users: string[] = [];
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      const userId = this.snowflakes.next(Date.now() - 10_000_000);
      users.push(userId);
      this.dispatch('GUILD_MEMBER_ADD', this.memberPayload(guildId, userId));
      if (opts.ratePerSec) {
        const due = start + ((i + 1) * 1000) / opts.ratePerSec;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    return users;
  }

  memberPayload(guildId: string, userId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      guild_id: guildId,
      user: { id: userId, username: `user${userId.slice(-6)}`, discriminator: '0', global_name: null, avatar: null },
      nick: null,
      roles: [],
      joined_at: new Date().toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      ...extra,
    };
  }

  /**
   * Mixed gateway traffic: `count` dispatches at `ratePerSec` (default: as fast as possible, yielding
   * every 500), types drawn by weight from `mix` (default `DEFAULT_MIX`: mostly presences, messages
   * and typing that no tier wants), spread over `guildIds` (default all) and `users` distinct users
   * per guild. Repeats exactly with the same `seed` option. Returns how many of each type went out.
   */
  async traffic(opts: { count: number; ratePerSec?: number; mix?: Partial<Record<TrafficType, number>>; guildIds?: string[]; users?: number }): Promise<Partial<Record<TrafficType, number>>> {
    const pick = weightedPicker(opts.mix ?? DEFAULT_MIX, this.random);
    const guilds = opts.guildIds ?? this.guildIds;
    if (guilds.length === 0) throw new Error('traffic: no guilds (start the simulator with guilds > 0 or pass guildIds)');
    const users = Math.max(1, opts.users ?? 1000);
    const userBase = BigInt(this.snowflakes.next(Date.UTC(2020, 0, 1)));
    const counts: Partial<Record<TrafficType, number>> = {};
    const start = Date.now();
    for (let i = 0; i < opts.count; i++) {
      const type = pick();
      const guildId = guilds[Math.floor(this.random() * guilds.length)]!;
      const userId = String(userBase + (BigInt(Math.floor(this.random() * users)) << 22n));
      if (type === 'INTERACTION_CREATE') this.createInteraction({ guildId, userId, commandName: 'ping' });
      else this.dispatch(type, payloadFor(type, { id: guildId, channelId: this.guildMeta.get(guildId)?.channelId ?? guildId }, userId, this.snowflakes));
      counts[type] = (counts[type] ?? 0) + 1;
      if (opts.ratePerSec) {
        const wait = start + ((i + 1) * 1000) / opts.ratePerSec - Date.now();
        if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
      } else if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    return counts;
  }

  /**
   * Requests Discord counts towards its invalid-request ban (10,000 per 10 minutes per IP): 401, 403,
   * and 429 other than shared-scope ones, within the last `windowMs`.
   */
  invalidRequestCount(windowMs = 600_000): number {
    const since = Date.now() - windowMs;
    return this.requests.filter((r) => r.at >= since && (r.status === 401 || r.status === 403 || r.status === 429)).length;
  }

  /** Traffic that no tier wants (messages, typing, presences): the ingestor must drop it. */
  noise(guildId: string, count: number): void {
    const ch = this.guildMeta.get(guildId)?.channelId ?? this.snowflakes.next();
    for (let i = 0; i < count; i++) {
      const user = this.snowflakes.next(Date.now() - 5_000_000);
      const kind = i % 3;
      if (kind === 0) this.dispatch('TYPING_START', { guild_id: guildId, channel_id: ch, user_id: user, timestamp: Math.floor(Date.now() / 1000) });
      else if (kind === 1) this.dispatch('MESSAGE_CREATE', { id: this.snowflakes.next(), guild_id: guildId, channel_id: ch, author: { id: user, username: 'x' }, content: '', type: 0 });
      else this.dispatch('PRESENCE_UPDATE', { guild_id: guildId, user: { id: user }, status: 'online', activities: [] });
    }
  }

  /**
   * An identify throttler for `@discordjs/ws`'s `buildIdentifyThrottler` that spaces IDENTIFYs by this
   * simulator's `identifyWindowMs` per `shard_id % max_concurrency` bucket (the library's own one
   * always waits Discord's 5 s): lets tests with a short window reconnect fast.
   */
  identifyThrottler(): { waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> } {
    const next = new Map<number, number>();
    return {
      waitForIdentify: async (shardId, signal) => {
        const bucket = shardId % this.opts.maxConcurrency;
        const at = Math.max(Date.now(), next.get(bucket) ?? 0);
        // +5 ms: the simulator measures the window on its own clock reading
        next.set(bucket, at + this.opts.identifyWindowMs + 5);
        const wait = at - Date.now();
        if (wait > 0) await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, wait);
          signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
        });
      },
    };
  }

  connectedShards(): number[] {
    return this.gateway.connectedShards();
  }

  async waitForShardsReady(n: number, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.connectedShards().length < n) {
      if (Date.now() > end) throw new Error(`waitForShardsReady: ${this.connectedShards().length} of ${n} shards connected after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Drops the shard's socket without a close frame. */
  dropSocket(shardId: number): boolean {
    return this.gateway.dropSocket(shardId);
  }
  /** Stops (or resumes) acknowledging the shard's heartbeats: the client sees a zombie connection. */
  pauseHeartbeatAcks(shardId: number, paused: boolean): void {
    if (paused) this.gateway.ackPaused.add(shardId);
    else this.gateway.ackPaused.delete(shardId);
  }
  /** Holds the shard's dispatches; unpausing sends them. */
  pauseShard(shardId: number, paused: boolean): void {
    this.gateway.pauseShard(shardId, paused);
  }

  /** A GUILD_CREATE of about `bytes` (a big server: many channels and roles), e.g. 300 KB. */
  bigGuildCreate(guildId: string, bytes: number): number | undefined {
    const base = this.guildPayload(guildId);
    const channels: unknown[] = [];
    let size = JSON.stringify(base).length;
    for (let i = 0; size < bytes; i++) {
      const c = { id: this.snowflakes.next(), type: 0, name: `channel-${i}-${'x'.repeat(40)}`, position: i, guild_id: guildId, topic: 'y'.repeat(100), permission_overwrites: [] };
      size += JSON.stringify(c).length + 1;
      channels.push(c);
    }
    return this.dispatch('GUILD_CREATE', { ...base, channels });
  }

  /** `count` slash commands at `ratePerSec`, spread over the guilds. */
  async interactionStream(count: number, ratePerSec: number, commandName = 'ping'): Promise<SimInteraction[]> {
    const out: SimInteraction[] = [];
    const start = Date.now();
    for (let i = 0; i < count; i++) {
      out.push(this.createInteraction({ commandName, guildId: this.guildIds[i % this.guildIds.length] }));
      const wait = start + ((i + 1) * 1000) / ratePerSec - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return out;
  }

  closeShard(shardId: number, code: number): boolean {
    return this.gateway.closeShard(shardId, code);
  }
  requestReconnect(shardId: number): boolean {
    return this.gateway.requestReconnect(shardId);
  }
  invalidateSession(shardId: number, resumable: boolean): boolean {
    return this.gateway.invalidateSession(shardId, resumable);
  }
  requestHeartbeat(shardId: number): boolean {
    return this.gateway.requestHeartbeat(shardId);
  }

  async stop(): Promise<void> {
    this.gateway.shutdown();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---------------- REST ----------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname).replace(/^\/api(\/v\d+)?/, '');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      const value = Array.isArray(v) ? v.join(', ') : v;
      // never keep a token: only the scheme survives
      headers[k] = k === 'authorization' ? `${value.split(' ')[0] ?? ''} [redacted]`.trim() : value;
    }
    const rec: RecordedRequest = { method: req.method ?? 'GET', path, route: 'unknown', body, headers, query: url.search.replace(/^\?/, ''), status: 0, at };
    this.requests.push(rec);
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      rec.status = status;
      // 204 carries no body and no content type, like Discord
      res.writeHead(status, payload === undefined ? headers : { 'Content-Type': 'application/json', ...headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    try {
      const match = this.route(rec.method, path);
      if (!match) throw new HttpError(404, 0, '404: Not Found');
      rec.route = match.name;
      const auth = req.headers.authorization;
      if (match.bot) {
        if (auth !== `Bot ${this.token}`) throw new HttpError(401, 0, '401: Unauthorized');
      }
      const limit = this.opts.rateLimits.routes?.[match.name] ?? this.opts.rateLimits.route ?? { limit: 5, windowMs: 1000 };
      // interaction and webhook-token routes are exempt from the global limit
      const decision = this.limiter.check(match.name, `${match.name}:${match.major}`, limit, match.bot ? this.token : undefined);
      if (!decision.ok) {
        rec.rateLimited = true;
        rec.global = decision.global;
        return reply(429, { message: 'You are being rate limited.', retry_after: Number(decision.retryAfter!.toFixed(3)), global: !!decision.global }, decision.headers);
      }
      const out = match.handle(body, at, url.searchParams);
      reply(out.status, out.body, decision.headers);
    } catch (err) {
      if (err instanceof HttpError) {
        rec.code = err.code;
        return reply(err.status, { message: err.message, code: err.code });
      }
      reply(500, { message: String((err as Error).message), code: 0 });
    }
  }

  private route(method: string, path: string): { name: RouteName; major: string; bot: boolean; handle: (body: unknown, at: number, query: URLSearchParams) => { status: number; body?: unknown } } | undefined {
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return {
        name: 'gateway_bot',
        major: '',
        bot: true,
        handle: () => ({
          status: 200,
          body: {
            url: this.gatewayUrl,
            shards: this.opts.shards,
            session_start_limit: {
              total: this.opts.sessionStartTotal,
              remaining: this.gateway.sessionStartRemaining,
              reset_after: Math.max(0, this.gateway.sessionResetAt - Date.now()),
              max_concurrency: this.opts.maxConcurrency,
            },
          },
        }),
      };
    }
    if (method === 'POST' && (m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      const [, id, token] = m;
      return { name: 'interaction_callback', major: id!, bot: false, handle: (body, at, query) => this.interactionCallback(id!, token!, body, at, query.get('with_response') === 'true') };
    }
    if (method === 'PATCH' && (m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/.exec(path))) {
      const [, app, token] = m;
      return { name: 'webhook_original_edit', major: `${app}/${token}`, bot: false, handle: (body, at) => this.webhookMessage('edit', app!, token!, body, at) };
    }
    if (method === 'POST' && (m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path))) {
      const [, app, token] = m;
      return { name: 'webhook_followup', major: `${app}/${token}`, bot: false, handle: (body, at) => this.webhookMessage('followup', app!, token!, body, at) };
    }
    if ((method === 'PUT' || method === 'DELETE') && (m = /^\/guilds\/(\d+)\/members\/(\d+)\/roles\/(\d+)$/.exec(path))) {
      const [, guild] = m;
      return {
        name: method === 'PUT' ? 'member_role_add' : 'member_role_remove',
        major: guild!,
        bot: true,
        handle: () => {
          if (!this.guildMeta.has(guild!)) throw new HttpError(404, 10004, 'Unknown Guild');
          return { status: 204 };
        },
      };
    }
    if (method === 'PUT' && (m = /^\/applications\/(\d+)\/commands$/.exec(path))) {
      const [, app] = m;
      return {
        name: 'commands_overwrite',
        major: app!,
        bot: true,
        handle: (body) => {
          if (app !== this.appId) throw new HttpError(403, 50001, 'Missing Access');
          if (!Array.isArray(body)) throw new HttpError(400, 50035, 'Invalid Form Body');
          this.commands.splice(0, this.commands.length, ...body);
          return { status: 200, body: body.map((c) => ({ ...(c as object), id: this.snowflakes.next(), application_id: this.appId, version: this.snowflakes.next() })) };
        },
      };
    }
    if (method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const [, channel] = m;
      return {
        name: 'channel_message',
        major: channel!,
        bot: true,
        handle: (body) => ({ status: 200, body: { id: this.snowflakes.next(), channel_id: channel, ...(body as object), author: { id: this.appId, bot: true } } }),
      };
    }
    return undefined;
  }

  private interactionCallback(id: string, token: string, body: unknown, at: number, withResponse: boolean): { status: number; body?: unknown } {
    const ix = this.interactions.get(id);
    if (!ix || ix.token !== token) throw new HttpError(404, 10062, 'Unknown interaction');
    if (ix.callback) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
    if (at - ix.createdAt > this.opts.interactionWindowMs) throw new HttpError(404, 10062, 'Unknown interaction');
    const b = (body ?? {}) as { type?: number; data?: unknown };
    if (typeof b.type !== 'number') throw new HttpError(400, 50035, 'Invalid Form Body');
    ix.callback = { type: b.type, data: b.data, at };
    if (!withResponse) return { status: 204 };
    // ?with_response=true: an InteractionCallbackResponse
    const messageId = b.type === 4 || b.type === 5 ? this.snowflakes.next(at) : null;
    const flags = (b.data as { flags?: number } | undefined)?.flags ?? 0;
    return {
      status: 200,
      body: {
        interaction: { id: ix.id, type: 2, activity_instance_id: null, response_message_id: messageId, response_message_loading: b.type === 5, response_message_ephemeral: (flags & 64) !== 0 },
        resource: { type: b.type, ...(b.type === 4 ? { message: { id: messageId, channel_id: ix.channelId, ...(b.data as object), author: { id: this.appId, bot: true } } } : {}) },
      },
    };
  }

  private webhookMessage(kind: 'edit' | 'followup', app: string, token: string, body: unknown, at: number): { status: number; body: unknown } {
    const ix = this.interactionsByToken.get(token);
    if (app !== this.appId || !ix) throw new HttpError(404, 10015, 'Unknown Webhook');
    if (at - ix.createdAt > this.opts.interactionTokenTtlMs) throw new HttpError(401, 50027, 'Invalid Webhook Token');
    // before the first callback there is no webhook message yet: no original to edit, no thread to follow up
    if (!ix.callback) throw kind === 'edit' ? new HttpError(404, 10008, 'Unknown Message') : new HttpError(404, 10015, 'Unknown Webhook');
    ix.messages.push({ kind, body, at });
    return { status: 200, body: { id: this.snowflakes.next(), channel_id: ix.channelId, ...(body as object), author: { id: this.appId, bot: true } } };
  }

  /** The interaction's recorded answer: first callback, edits and follow-ups. */
  interactionResponses(id: string): SimInteraction | undefined {
    return this.interactions.get(id);
  }
}
