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
import type { GuildChannelResponse } from 'discord-api-spec';
import {
  GatewayIntentBits,
  GatewayOpcodes,
  PresenceUpdateStatus,
  type APIGuildMember,
  type APIUser,
  type APIVoiceState,
  type GatewayGuildCreateDispatchData,
  type GatewayGuildMemberAddDispatchData,
  type GatewayGuildMembersChunkPresence,
  type GatewayPresenceUpdateData,
  type GatewayPresenceUpdateDispatchData,
  type GatewayRateLimitedDispatchData,
  type GatewayVoiceServerUpdateDispatchData,
  type GatewayVoiceStateUpdateData,
} from 'discord-api-types/v10';
import { envelopeId } from '../../lib/contract';
import { memberChunks, selectMembers, validNonce, type GatewayCommand, type RequestGuildMembers, type RosterEntry } from './commands';
import { GatewaySimulator, Ledger, type ConnectionStats, type LedgerEntry, type Received, type Session } from './gateway';
import { RateLimiter, type WindowLimit } from './ratelimit';
import { HttpError } from './rest/errors';
import * as rest from './rest/objects';
import { RestRouter, type RestHost, type RestInteraction, type RouteName } from './rest/routes';
import { loadSpec } from './rest/spec';
import {
  chatInputInteraction,
  DEFAULT_MIX,
  guildCreate,
  guildLayout,
  member,
  memberAdd,
  payloadFor,
  rosterIndex,
  rosterMember,
  rosterUsername,
  rosterUserId,
  seededRandom,
  soundboardSounds,
  user,
  voiceState,
  weightedPicker,
  type GuildLayout,
  type TrafficType,
} from './scenarios';
import { shardOf, SnowflakeGenerator, snowflakeTime } from './snowflake';

export { shardOf, snowflakeTime } from './snowflake';
export { Ledger, PRIVILEGED_INTENTS } from './gateway';
export type { CommandRecord, ConnectionStats, IdentifyRecord, LedgerEntry, Received, ResumeRecord } from './gateway';
export { MEMBERS_PER_CHUNK, memberChunks, selectMembers } from './commands';
export { DEFAULT_MIX, TRAFFIC_TYPES, type TrafficType } from './scenarios';
export { ROUTES, type RouteDef, type RouteName } from './rest/routes';
export { specVersion } from './rest/spec';

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
  /**
   * members of each guild: GUILD_CREATE's member_count, and the roster op 8 answers from (user ids
   * distinct across guilds, usernames `member0`, `member1`...); `setMemberCount` changes one guild @default 50
   */
  membersPerGuild?: number;
  /**
   * Discord answers a request for every member of a guild (op 8, query '' and limit 0) once per guild
   * per 30 s; a second one within the window gets a RATE_LIMITED dispatch instead. 0 turns it off. @default 30000
   */
  memberRequestIntervalMs?: number;
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
  /** IDENTIFY with fewer shards closes 4011 (Sharding required); see `requireShards` @default none */
  requiredShards?: number;
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

/** The gateway's counters (`sim.stats()`). */
export interface SimulatorStats {
  /** payloads received on every connection, by opcode (heartbeats, IDENTIFY, RESUME and commands) */
  receivedByOp: Record<number, number>;
  /** commands (op 3, 4, 8, 31) received, by opcode, whatever became of them */
  commandsByOp: Record<number, number>;
  /** commands for a guild the connection's shard does not own: Discord ignores them, so does the simulator */
  wrongShardCommands: number;
  /** valid commands ignored for another reason (unknown guild or channel, missing intent, RATE_LIMITED) */
  ignoredCommands: number;
  /** commands closed with 4001 (fields that do not match) or 4003 (before IDENTIFY) */
  invalidCommands: number;
  /** connections closed with 4008: more than 120 payloads in a sliding 60 s */
  rateLimitCloses: number;
  /** the most payloads any connection sent in a 60 s window (a well-behaved client: at most 120) */
  maxPayloadsInWindow: number;
  /** heartbeats later than 1.5 intervals after the previous one, all connections */
  lateHeartbeats: number;
  /** per connection, open or closed */
  connections: ConnectionStats[];
}

/** A simulated interaction: what the REST routes read and write, plus the gateway side. */
export interface SimInteraction extends RestInteraction {
  /** the INTERACTION_CREATE's seq, undefined when its shard had no session (nothing was sent) */
  seq?: number;
}

/** A typed payload for the gateway's untyped hooks. */
const untyped = (o: object) => o as Record<string, unknown>;

/** Dispatches whose `d.id` is the guild id (they carry no guild_id). */
const GUILD_OBJECT_EVENTS = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);

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
  private readonly opts: Required<Omit<SimulatorOptions, 'rateLimits' | 'port' | 'channelsPerGuild' | 'rolesPerGuild' | 'inlineMembersPerGuild' | 'seed' | 'zlib' | 'memberRequestIntervalMs' | 'requiredShards'>> & {
    rateLimits: NonNullable<SimulatorOptions['rateLimits']>;
    channelsPerGuild: number;
    rolesPerGuild: number;
    inlineMembersPerGuild: number;
  };
  private readonly random: () => number;
  private server!: Server;
  private port = 0;
  private router!: RestRouter;
  private readonly guildMeta = new Map<string, GuildLayout>();
  /** channel id -> its guild, for GET /channels/{id} */
  private readonly channelGuild = new Map<string, string>();
  /** voice states by guild, then user: the bot's (op 4) and members' (`memberVoiceState`) */
  private readonly voiceStates = new Map<string, Map<string, APIVoiceState>>();
  /** when each guild's whole member list was last requested (Discord's 1 per guild per 30 s) */
  private readonly lastAllMembersRequest = new Map<string, number>();
  private readonly memberRequestIntervalMs: number;

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
    this.memberRequestIntervalMs = options.memberRequestIntervalMs ?? 30_000;
    this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.limiter = new RateLimiter(this.opts.rateLimits.global ?? { limit: 50, windowMs: 1000 });
    // guild ids created 1 ms apart, so (id >> 22) % shards spreads them evenly
    const base = options.seed !== undefined ? Date.UTC(2024, 0, 1) + (Math.abs(Math.trunc(options.seed)) % 1_000_000) * 10_000 : Date.now() - 86_400_000;
    for (let i = 0; i < this.opts.guilds; i++) {
      const id = this.snowflakes.next(base + i);
      this.guildIds.push(id);
      const layout = guildLayout(id, `Guild ${i + 1}`, this.snowflakes.next(base + i), this.opts.membersPerGuild, this.snowflakes.next(base + i), this.opts.channelsPerGuild, this.opts.rolesPerGuild, this.opts.inlineMembersPerGuild);
      this.guildMeta.set(id, layout);
      for (const c of layout.channels) this.channelGuild.set(c.id, id);
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
        guildsFor: (shardId, numShards) => this.guildIds.filter((g) => shardOf(g, numShards) === shardId).map((id) => ({ id, payload: () => untyped(this.guildPayload(id)) })),
        gatewayUrl: () => this.gatewayUrl,
        botUser: () => untyped(this.botUser()),
        hasGuild: (guildId) => this.guildMeta.has(guildId),
        onCommand: (session, command) => this.onCommand(session, command),
      },
    );
  }

  static async start(options: SimulatorOptions = {}): Promise<DiscordSimulator> {
    const sim = new DiscordSimulator(options);
    sim.requireShards(options.requiredShards);
    // every REST request is checked against Discord's published spec
    sim.router = new RestRouter(await loadSpec());
    sim.host = sim.makeHost();
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

  private guildPayload(id: string): GatewayGuildCreateDispatchData {
    return guildCreate(this.layoutOf(id), [...(this.voiceStates.get(id)?.values() ?? [])]);
  }

  private botUser(): APIUser {
    return { ...user(this.appId), username: 'simulated-bot', bot: true };
  }

  /** The layout of one of the simulator's guilds; an unknown id is a caller's mistake, named in the error. */
  private layoutOf(guildId: string): GuildLayout {
    const g = this.guildMeta.get(guildId);
    if (!g) throw new Error(`guild ${guildId} is not one of the simulator's guilds`);
    return g;
  }

  /** A guild id to default to: the first guild (throws when the simulator has none). */
  private firstGuild(what: string): string {
    const g = this.guildIds[0];
    if (g === undefined) throw new Error(`${what}: the simulator has no guilds; start it with guilds > 0 or pass a guild id`);
    return g;
  }

  /**
   * Sends a dispatch to every live session whose own (shard id, shard count) owns data.guild_id: one
   * session normally, two while shard sets of two counts run side by side (a reshard), each its own
   * copy of one event (`LedgerEntry.eventId`). Events without a guild go to the sessions of shard 0;
   * `opts.shardId` picks that shard's latest session instead; `opts.intent` keeps only sessions that
   * identified with it. Returns the seq in the oldest such session, or undefined when no session owns
   * the guild (then nothing is produced, as with Discord). The ledger entry's `id` is `opts.id`, else
   * data.id, else the member's user id.
   */
  dispatch(type: string, payload: object, opts: { shardId?: number; id?: string; intent?: number } = {}): number | undefined {
    const data = payload as Record<string, unknown>;
    const guildId = typeof data.guild_id === 'string' ? data.guild_id : GUILD_OBJECT_EVENTS.has(type) && typeof data.id === 'string' ? data.id : null;
    const one = opts.shardId === undefined ? undefined : this.gateway.sessionOf(opts.shardId);
    const targets = (opts.shardId !== undefined ? (one ? [one] : []) : guildId ? this.gateway.sessionsOwning(guildId) : this.gateway.sessionsOfShard(0)).filter((s) => opts.intent === undefined || (s.intents & opts.intent) !== 0);
    if (targets.length === 0) return undefined;
    const user = data.user as { id?: unknown } | undefined;
    const id = opts.id ?? (typeof data.id === 'string' ? data.id : typeof user?.id === 'string' ? user.id : typeof data.user_id === 'string' ? data.user_id : undefined);
    const eventId = this.gateway.newEventId();
    const seqs = targets.map((s) => this.gateway.emit(s, type, data, guildId, id, eventId));
    return seqs[0];
  }

  /**
   * What Discord recommends in GET /gateway/bot: `shards` from now on (a bot that reads it reshards).
   * Sessions already running keep theirs.
   */
  recommendShards(shards: number): void {
    if (!Number.isInteger(shards) || shards < 1) throw new Error(`recommendShards: a whole number >= 1 (got ${shards})`);
    this.opts.shards = shards;
  }

  /**
   * From now on an IDENTIFY with fewer than `shards` shards closes with 4011 (Sharding required), as
   * Discord does when a session would hold too many guilds; running sessions keep running. undefined
   * lifts it.
   */
  requireShards(shards: number | undefined): void {
    this.gateway.requiredShards = shards;
  }

  /** Every connected session, oldest first (two shard sets during a reshard). */
  connectedSessions(): Array<{ shardId: number; numShards: number; sessionId: string }> {
    return this.gateway.connectedSessions();
  }

  /** The shard that receives a guild's events: by the shard count of the oldest live session that owns it, else the recommended count. */
  shardOfGuild(guildId: string | null): number {
    if (!guildId) return 0;
    return this.gateway.sessionsOwning(guildId)[0]?.shardId ?? shardOf(guildId, this.opts.shards);
  }

  /** Creates a slash command interaction now and dispatches INTERACTION_CREATE; the 3 s window starts. */
  createInteraction(opts: { guildId?: string; channelId?: string; userId?: string; commandName: string; options?: Array<{ name: string; type: number; value: unknown }> }): SimInteraction {
    const now = Date.now();
    const guildId = opts.guildId ?? this.firstGuild('createInteraction');
    const ix: SimInteraction = {
      id: this.snowflakes.next(now),
      token: `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`,
      createdAt: now,
      guildId,
      channelId: opts.channelId ?? this.guildMeta.get(guildId)?.channels[0].id ?? this.snowflakes.next(now),
      userId: opts.userId ?? this.snowflakes.next(now - 1_000_000),
      commandName: opts.commandName,
      messages: [],
    };
    this.interactions.set(ix.id, ix);
    this.interactionsByToken.set(ix.token, ix);
    ix.seq = this.dispatch('INTERACTION_CREATE', chatInputInteraction({ ...ix, appId: this.appId, commandId: this.snowflakes.next(now - 86_400_000), options: opts.options }));
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

  /** A GUILD_MEMBER_ADD payload: the user joined now; `extra` overrides member fields. */
  memberPayload(guildId: string, userId: string, extra: Partial<GatewayGuildMemberAddDispatchData> = {}): GatewayGuildMemberAddDispatchData {
    return { ...memberAdd(guildId, userId, Date.now()), ...extra };
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
    const [firstGuild] = guilds;
    if (firstGuild === undefined) throw new Error('traffic: no guilds (start the simulator with guilds > 0 or pass guildIds)');
    const users = Math.max(1, opts.users ?? 1000);
    const userBase = BigInt(this.snowflakes.next(Date.UTC(2020, 0, 1)));
    const counts: Partial<Record<TrafficType, number>> = {};
    const start = Date.now();
    for (let i = 0; i < opts.count; i++) {
      const type = pick();
      const guildId = guilds[Math.floor(this.random() * guilds.length)] ?? firstGuild;
      const userId = String(userBase + (BigInt(Math.floor(this.random() * users)) << 22n));
      if (type === 'INTERACTION_CREATE') this.createInteraction({ guildId, userId, commandName: 'ping' });
      else this.dispatch(type, payloadFor(type, { id: guildId, channelId: this.guildMeta.get(guildId)?.channels[0].id ?? guildId }, userId, this.snowflakes));
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
    const ch = this.guildMeta.get(guildId)?.channels[0].id ?? this.snowflakes.next();
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
        if (wait > 0)
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, wait);
            signal.addEventListener(
              'abort',
              () => {
                clearTimeout(t);
                reject(signal.reason instanceof Error ? signal.reason : new Error('identify wait aborted'));
              },
              { once: true },
            );
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

  // ---------------- gateway commands ----------------

  /** Sets how many members a guild has: its GUILD_CREATE member_count and the roster op 8 answers from (e.g. 5,000). */
  setMemberCount(guildId: string, count: number): void {
    if (!Number.isInteger(count) || count < 0 || count > 4_000_000) throw new Error(`setMemberCount: count must be a whole number from 0 to 4,000,000 (got ${count})`);
    this.layoutOf(guildId).memberCount = count;
  }

  /** A guild's members in roster order: distinct user ids, usernames `member0`, `member1`, ... */
  guildMembers(guildId: string): APIGuildMember[] {
    const g = this.layoutOf(guildId);
    return Array.from({ length: g.memberCount }, (_, i) => rosterMember(g, i));
  }

  /** The bot's presence on a shard's live session (of `numShards`, else the latest): IDENTIFY's `presence`, then each op 3 it sent. */
  presenceOf(shardId: number, numShards?: number): GatewayPresenceUpdateData | undefined {
    return this.gateway.sessionFor(shardId, numShards)?.presence;
  }

  /** A guild's first voice channel (guilds with `channelsPerGuild` >= 6 have one: every fifth extra channel). */
  voiceChannelOf(guildId: string): string | undefined {
    return this.layoutOf(guildId).channels.find((c) => c.type === 2)?.id;
  }

  /** The voice states the simulator holds for a guild (also in its GUILD_CREATE). */
  voiceStatesOf(guildId: string): APIVoiceState[] {
    return [...(this.voiceStates.get(guildId)?.values() ?? [])];
  }

  /**
   * A member joins `channelId` (or moves to it), or leaves voice (`null`): VOICE_STATE_UPDATE with the
   * member, as Discord sends it to the guild's shard. Returns its seq (undefined: no session owns the guild).
   */
  memberVoiceState(guildId: string, userId: string, channelId: string | null, self: { mute?: boolean; deaf?: boolean } = {}): number | undefined {
    const g = this.layoutOf(guildId);
    if (channelId !== null && !g.channels.some((c) => c.id === channelId)) throw new Error(`memberVoiceState: channel ${channelId} is not a channel of guild ${guildId}`);
    const i = rosterIndex(g, userId);
    const m = i === undefined ? member(userId, snowflakeTime(guildId)) : rosterMember(g, i);
    const sessionId = this.voiceStates.get(guildId)?.get(userId)?.session_id ?? randomBytes(16).toString('hex');
    const vs = voiceState(guildId, channelId, m, sessionId, self);
    this.setVoiceState(vs);
    return this.dispatch('VOICE_STATE_UPDATE', vs, { id: userId });
  }

  /** The gateway's counters: payloads by opcode, commands and their outcomes, per connection. */
  stats(): SimulatorStats {
    const g = this.gateway;
    const commandsByOp: Record<number, number> = {};
    for (const c of g.commands) commandsByOp[c.op] = (commandsByOp[c.op] ?? 0) + 1;
    return {
      receivedByOp: { ...g.receivedByOp },
      commandsByOp,
      wrongShardCommands: g.wrongShardCommands,
      ignoredCommands: g.ignoredCommands,
      invalidCommands: g.commands.filter((c) => c.outcome === 'invalid').length,
      rateLimitCloses: g.rateLimitCloses,
      maxPayloadsInWindow: Math.max(0, ...g.connections.map((c) => c.maxInWindow)),
      lateHeartbeats: g.lateHeartbeats,
      connections: g.connections.map((c) => ({ ...c, received: { ...c.received } })),
    };
  }

  private setVoiceState(vs: APIVoiceState): void {
    const guildId = vs.guild_id ?? '';
    let states = this.voiceStates.get(guildId);
    if (!states) this.voiceStates.set(guildId, (states = new Map<string, APIVoiceState>()));
    if (vs.channel_id === null) states.delete(vs.user_id);
    else states.set(vs.user_id, vs);
  }

  /** A valid command for a guild the session's shard owns (the gateway checked both). Returns why it was ignored. */
  private onCommand(s: Session, cmd: GatewayCommand): string | undefined {
    switch (cmd.op) {
      case GatewayOpcodes.RequestGuildMembers:
        return this.requestGuildMembers(s, cmd.d);
      case GatewayOpcodes.PresenceUpdate:
        return this.presenceUpdate(s, cmd.d);
      case GatewayOpcodes.VoiceStateUpdate:
        return this.botVoiceState(s, cmd.d);
      case GatewayOpcodes.RequestSoundboardSounds:
        for (const g of cmd.d.guild_ids) this.gateway.emit(s, 'SOUNDBOARD_SOUNDS', { guild_id: g, soundboard_sounds: soundboardSounds(g, this.layoutOf(g).ownerId) }, g, g);
        return undefined;
    }
  }

  /**
   * op 8 as Discord answers it: GUILD_MEMBERS_CHUNK dispatches of up to 1000 members on the session
   * that asked. The whole list (empty query) needs GUILD_MEMBERS; presences need GUILD_PRESENCES (else
   * none are sent); the whole list (query '' and limit 0) once per guild per `memberRequestIntervalMs`,
   * else RATE_LIMITED (https://discord.com/developers/docs/change-log#introducing-rate-limit-when-requesting-all-guild-members).
   */
  private requestGuildMembers(s: Session, d: RequestGuildMembers): string | undefined {
    const g = this.layoutOf(d.guild_id);
    const everyone = d.user_ids === undefined && d.query === '';
    if (everyone && (s.intents & GatewayIntentBits.GuildMembers) === 0) return 'an empty query needs the GUILD_MEMBERS intent';
    if (everyone && d.limit === 0 && this.memberRequestIntervalMs > 0) {
      const now = Date.now();
      const last = this.lastAllMembersRequest.get(g.id);
      if (last !== undefined && now - last < this.memberRequestIntervalMs) {
        const limited: GatewayRateLimitedDispatchData<GatewayOpcodes.RequestGuildMembers> = {
          opcode: GatewayOpcodes.RequestGuildMembers,
          retry_after: (last + this.memberRequestIntervalMs - now) / 1000,
          meta: validNonce(d.nonce) ? { guild_id: g.id, nonce: d.nonce } : { guild_id: g.id },
        };
        this.gateway.emit(s, 'RATE_LIMITED', limited, g.id);
        return 'every member requested again within the interval: RATE_LIMITED';
      }
      this.lastAllMembersRequest.set(g.id, now);
    }
    const roster: RosterEntry[] = Array.from({ length: g.memberCount }, (_, i) => ({ userId: rosterUserId(g, i), username: rosterUsername(i) }));
    const selected = selectMembers(roster, d);
    const presences = d.presences === true && (s.intents & GatewayIntentBits.GuildPresences) !== 0;
    const chunks = memberChunks(
      g.id,
      selected.indexes.map((i) => rosterMember(g, i)),
      { notFound: selected.notFound, nonce: d.nonce, presenceOf: presences ? (m) => this.memberPresence(g, m) : undefined },
    );
    for (const chunk of chunks) this.gateway.emit(s, 'GUILD_MEMBERS_CHUNK', chunk, g.id, g.id);
    return undefined;
  }

  /** Roster members with an even index are online (on desktop); the others offline, which chunks leave out. */
  private memberPresence(g: GuildLayout, m: APIGuildMember): GatewayGuildMembersChunkPresence | undefined {
    const i = rosterIndex(g, m.user.id);
    if (i === undefined || i % 2 === 1) return undefined;
    return { user: { id: m.user.id }, status: PresenceUpdateStatus.Online, activities: [], client_status: { desktop: PresenceUpdateStatus.Online } };
  }

  /** op 3: the session keeps it (the gateway stored it); with GUILD_PRESENCES, PRESENCE_UPDATE for the bot in each of its guilds. */
  private presenceUpdate(s: Session, d: GatewayPresenceUpdateData): string | undefined {
    if ((s.intents & GatewayIntentBits.GuildPresences) === 0) return undefined;
    // others see an invisible user as offline
    const status = d.status === PresenceUpdateStatus.Invisible ? PresenceUpdateStatus.Offline : d.status;
    const now = Date.now();
    const activities = d.activities.map((a, i) => ({ ...a, id: String(i), created_at: now }));
    for (const guildId of s.guildIds) {
      const p: GatewayPresenceUpdateDispatchData = { user: { id: this.appId }, guild_id: guildId, status, activities, client_status: status === PresenceUpdateStatus.Offline ? {} : { desktop: status } };
      // every session that owns the guild and asked for presences sees it (both shard sets during a reshard)
      this.dispatch('PRESENCE_UPDATE', p, { id: this.appId, intent: GatewayIntentBits.GuildPresences });
    }
    return undefined;
  }

  /** op 4: the bot joins (VOICE_STATE_UPDATE, then VOICE_SERVER_UPDATE) or leaves (VOICE_STATE_UPDATE, channel null). */
  private botVoiceState(s: Session, d: GatewayVoiceStateUpdateData): string | undefined {
    const g = this.layoutOf(d.guild_id);
    if (d.channel_id !== null && !g.channels.some((c) => c.id === d.channel_id && c.type === 2)) return `channel ${d.channel_id} is not a voice channel of guild ${g.id}`;
    const vs = voiceState(g.id, d.channel_id, member(this.appId, snowflakeTime(g.id), { user: this.botUser() }), s.id, { mute: d.self_mute, deaf: d.self_deaf });
    this.setVoiceState(vs);
    this.dispatch('VOICE_STATE_UPDATE', vs, { id: this.appId });
    if (d.channel_id !== null) {
      // no voice server is simulated: the endpoint is the simulator's own loopback address
      const server: GatewayVoiceServerUpdateDispatchData = { token: randomBytes(8).toString('hex'), guild_id: g.id, endpoint: new URL(this.gatewayUrl).host };
      this.gateway.emit(s, 'VOICE_SERVER_UPDATE', server, g.id, g.id);
    }
    return undefined;
  }

  // ---------------- REST ----------------

  /** What the REST routes (./rest/routes) read and change. */
  private makeHost = (): RestHost => ({
    appId: this.appId,
    commands: this.commands,
    gatewayBot: () =>
      rest.gatewayBot(this.gatewayUrl, this.opts.shards, {
        total: this.opts.sessionStartTotal,
        remaining: this.gateway.sessionStartRemaining,
        reset_after: Math.max(0, this.gateway.sessionResetAt - Date.now()),
        max_concurrency: this.opts.maxConcurrency,
      }),
    guildShape: (id) => {
      const g = this.guildMeta.get(id);
      return g && { id: g.id, name: g.name, ownerId: g.ownerId, memberCount: g.memberCount, channelId: g.channels[0].id, roles: g.roles };
    },
    channel: (id): GuildChannelResponse | undefined => {
      const guildId = this.channelGuild.get(id);
      if (guildId === undefined) return undefined;
      const c = this.guildMeta.get(guildId)?.channels.find((x) => x.id === id);
      return c && rest.textChannel(c.id, guildId, c.name, c.position, c.type);
    },
    interaction: (id) => this.interactions.get(id),
    interactionByToken: (token) => this.interactionsByToken.get(token),
    snowflake: (at) => this.snowflakes.next(at),
    interactionWindowMs: this.opts.interactionWindowMs,
    interactionTokenTtlMs: this.opts.interactionTokenTtlMs,
  });
  private host!: RestHost;

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    let badJson = false;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
        badJson = true;
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
      const match = this.router.match(rec.method, path);
      if (match === undefined) throw new HttpError(404, 0, '404: Not Found');
      if (match === 'method') throw new HttpError(405, 0, '405: Method Not Allowed');
      const { def, params } = match;
      rec.route = def.name;
      // interaction callbacks and webhooks are authorized by the interaction token in the path
      if (def.auth === 'bot' && req.headers.authorization !== `Bot ${this.token}`) throw new HttpError(401, 0, '401: Unauthorized');
      this.router.checkPath(params);
      const limit = this.opts.rateLimits.routes?.[def.name] ?? this.opts.rateLimits.route ?? { limit: 5, windowMs: 1000 };
      // interaction and webhook-token routes are exempt from the global limit
      const decision = this.limiter.check(def.name, `${def.name}:${def.major(params)}`, limit, def.auth === 'bot' ? this.token : undefined);
      if (!decision.ok) {
        rec.rateLimited = true;
        rec.global = decision.global;
        reply(429, { message: 'You are being rate limited.', retry_after: Number((decision.retryAfter ?? 0).toFixed(3)), global: !!decision.global }, decision.headers);
        return;
      }
      try {
        if (badJson) throw new HttpError(400, 50109, 'The request body contains invalid JSON.');
        // no body reads as an empty JSON object, as on Discord
        this.router.checkRequest(def, url.searchParams, body ?? {});
        const out = def.handle(this.host, { params, query: url.searchParams, body: body ?? {}, at });
        reply(out.status, out.body, decision.headers);
      } catch (err) {
        // errors after the limiter still carry its headers
        if (err instanceof HttpError) {
          rec.code = err.code;
          reply(err.status, err.body, decision.headers);
          return;
        }
        throw err;
      }
    } catch (err) {
      if (err instanceof HttpError) {
        rec.code = err.code;
        reply(err.status, err.body);
        return;
      }
      reply(500, { message: err instanceof Error ? err.message : String(err), code: 0 });
    }
  }

  /** The interaction's recorded answer: first callback, edits and follow-ups. */
  interactionResponses(id: string): SimInteraction | undefined {
    return this.interactions.get(id);
  }
}
