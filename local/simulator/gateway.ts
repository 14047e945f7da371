/**
 * The gateway half of the simulator: Discord Gateway v10 over WebSocket, JSON encoding, optional
 * zlib-stream transport compression (one deflate context per connection, Z_SYNC_FLUSH per message).
 * https://discord.com/developers/docs/events/gateway
 *
 * Sessions outlive connections: events dispatched while a shard is disconnected are kept in its
 * session and replayed on RESUME, like Discord does. A session is invalidated by a 1000/1001 close,
 * by op 9 d:false, or by a fatal close code.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes, type GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { isCommandOpcode, parseCommand, presenceUpdateSchema, type CommandOpcode, type GatewayCommand } from './commands';
import { HeartbeatClock, SlidingWindowCounter } from './sendlimit';
import { shardOf } from './snowflake';
import { createMessageDeflater, type MessageDeflater } from './zlibstream';

export const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;
export const ALL_INTENTS = Object.values(GatewayIntentBits)
  .filter((v): v is number => typeof v === 'number')
  .reduce((a, b) => a | b, 0);

export interface GatewayOptions {
  token: string;
  appId: string;
  shards: number;
  heartbeatIntervalMs: number;
  maxConcurrency: number;
  identifyWindowMs: number;
  /** privileged intents enabled in the "developer portal" */
  allowedIntents: number;
  sessionStartTotal: number;
  sessionResetAfterMs: number;
  /** max guilds a shard may hold before 4011 */
  maxGuildsPerShard: number;
  /** events kept per session for RESUME */
  replayBufferSize: number;
  /** how long a disconnected session stays resumable */
  sessionTtlMs: number;
  /** client send limit (120 per 60 s) */
  sendLimit: { limit: number; windowMs: number };
  maxPayloadBytes: number;
  /** zlib-stream implementation: 'auto' (synchronous when it works on this Node), 'sync' or 'stream' */
  zlib?: 'auto' | 'sync' | 'stream';
}

export interface LedgerEntry {
  /**
   * The event: one dispatch Discord produced. During a reshard two sessions own a guild and each gets
   * its own copy (its own session, seq and entry); the copies share the event id. The simulator always
   * sets it; an entry without one (built by hand) is its own event.
   */
  eventId?: number;
  shardId: number;
  sessionId: string;
  seq: number;
  type: string;
  guildId: string | null;
  /** when the event was produced */
  at: number;
  /** when it first went out over an open socket (undefined: never sent, e.g. the session died first) */
  sentAt?: number;
  /** the object the event is about, for correlation: the interaction, message or guild id, or the member's user id */
  id?: string;
  /** times it went out again in a RESUME replay (a consumer that acknowledged it may see it twice) */
  replays?: number;
}

/** Something a consumer received, identified the way Discord identifies a dispatch: session and seq. */
export interface Received {
  sessionId: string;
  seq: number;
}

/** A JSON object, or undefined for anything else (arrays, primitives, null). */
const asRecord = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

const keyOf = (e: Received): string => `${e.sessionId}:${e.seq}`;
const eventOf = (e: LedgerEntry): number | string => e.eventId ?? keyOf(e);

/**
 * Every dispatch the simulator produced, in order. An array (filter/map/length work as usual) with
 * helpers that compare it with what a consumer received.
 */
export class Ledger extends Array<LedgerEntry> {
  // filter/map/slice return plain arrays
  static get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  /** Entries that went out over a socket at least once, optionally of the wanted types. */
  sent(wanted: (e: LedgerEntry) => boolean = () => true): LedgerEntry[] {
    return this.filter((e) => e.sentAt !== undefined && wanted(e));
  }

  /**
   * Events (of the wanted types) sent and never received: what the consumer lost. An event counts as
   * received when any of its copies was (two sessions during a reshard); one entry per lost event, its
   * first copy sent.
   */
  missed(received: Iterable<Received>, wanted: (e: LedgerEntry) => boolean = () => true): LedgerEntry[] {
    const got = new Set<string>();
    for (const r of received) got.add(keyOf(r));
    const delivered = new Set<number | string>();
    const sent = this.sent(wanted);
    for (const e of sent) if (got.has(keyOf(e))) delivered.add(eventOf(e));
    const lost = new Map<number | string, LedgerEntry>();
    for (const e of sent) if (!delivered.has(eventOf(e)) && !lost.has(eventOf(e))) lost.set(eventOf(e), e);
    return [...lost.values()];
  }

  /** Events the consumer received more than once, over all copies and replays: event id -> times received. */
  duplicateEvents(received: Iterable<Received>): Map<number | string, number> {
    const events = new Map<string, number | string>();
    for (const e of this) events.set(keyOf(e), eventOf(e));
    const counts = new Map<number | string, number>();
    for (const r of received) {
      const id = events.get(keyOf(r));
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [k, n] of counts) if (n < 2) counts.delete(k);
    return counts;
  }

  /** Received items that the simulator never sent (a consumer bug, or a different simulator). */
  unknown(received: Iterable<Received>): Received[] {
    const known = new Set(this.map(keyOf));
    return [...received].filter((r) => !known.has(keyOf(r)));
  }

  /** How many times each received event arrived more than once, by `sessionId:seq`. */
  static duplicates(received: Iterable<Received>): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of received) counts.set(keyOf(r), (counts.get(keyOf(r)) ?? 0) + 1);
    for (const [k, n] of counts) if (n < 2) counts.delete(k);
    return counts;
  }
}

interface Frame {
  op: 0;
  s: number;
  t: string;
  d: unknown;
}

interface Buffered {
  f: Frame;
  /** the ledger entry (none for RESUMED) */
  e?: LedgerEntry;
}

export interface Session {
  id: string;
  shardId: number;
  numShards: number;
  intents: number;
  seq: number;
  /** frames kept for RESUME, oldest first */
  buffer: Buffered[];
  conn?: Connection;
  valid: boolean;
  disconnectedAt?: number;
  /** guilds this session was told about in READY */
  guildIds: string[];
  /** the bot's presence on this session: IDENTIFY's `presence`, then each op 3 */
  presence?: GatewayPresenceUpdateData;
}

/** What one connection sent, kept after it closes (`gateway.connections`, `sim.stats()`). */
export interface ConnectionStats {
  id: number;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  /** the shard and session it identified or resumed as */
  shardId?: number;
  numShards?: number;
  sessionId?: string;
  /** payloads received, by opcode (-1: a payload without a numeric op) */
  received: Record<number, number>;
  /** commands (op 3, 4, 8, 31) ignored because the guild is not on this connection's shard */
  wrongShardCommands: number;
  /** the most payloads it sent in any 60 s (the send limit's window); over 120 is a 4008 */
  maxInWindow: number;
  heartbeats: number;
  /** heartbeats later than 1.5 heartbeat intervals after the previous one (or HELLO) */
  lateHeartbeats: number;
  maxHeartbeatGapMs: number;
  /** the last op 3 it sent */
  presence?: GatewayPresenceUpdateData;
}

/** One gateway command the simulator received, with what it did about it. */
export interface CommandRecord {
  at: number;
  connectionId: number;
  shardId?: number;
  numShards?: number;
  op: number;
  /** answered; or why not: the guild is on another shard, unknown, or the payload was invalid (4001) */
  outcome: 'answered' | 'wrong-shard' | 'ignored' | 'invalid';
  /** why it was ignored or invalid */
  detail?: string;
}

interface Connection {
  ws: WebSocket;
  id: number;
  /** the URL path it connected on ('/resume/...' for a session's resume_gateway_url) */
  path: string;
  deflate?: MessageDeflater;
  session?: Session;
  /** payloads sent in the send limit's sliding window */
  window: SlidingWindowCounter;
  heartbeat: HeartbeatClock;
  lastHeartbeatAt: number;
  heartbeatTimer?: NodeJS.Timeout;
  closed: boolean;
  stats: ConnectionStats;
}

export interface GatewayHooks {
  /** guilds owned by shard `shardId` of `numShards` */
  guildsFor(shardId: number, numShards: number): Array<{ id: string; payload: () => Record<string, unknown> }>;
  gatewayUrl(): string;
  botUser(): Record<string, unknown>;
  /** whether the guild is one of the bot's */
  hasGuild(guildId: string): boolean;
  /**
   * Answers a valid command that arrived on the session's connection (for op 4, 8 and 31 only for the
   * guilds that session owns). Returns why it was ignored, or undefined when it was answered.
   */
  onCommand(session: Session, command: GatewayCommand): string | undefined;
}

export interface IdentifyRecord {
  at: number;
  shardId: number;
  bucket: number;
  outcome: 'ready' | 'rate-limited' | 'sharding-required';
}

export interface ResumeRecord {
  at: number;
  sessionId: string;
  shardId?: number;
  seq: number;
  /** whether it came in on the session's resume_gateway_url */
  viaResumeUrl: boolean;
  outcome: 'resumed' | 'invalid' | 'invalid-seq';
  /** events replayed before RESUMED */
  replayed?: number;
}

export class GatewaySimulator {
  readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly sessions = new Map<string, Session>();
  /** the latest session identified for each shard id (of any shard count): what the fault methods act on */
  readonly shardSessions = new Map<number, Session>();
  /** the live session of each (shard id, shard count), oldest first: where events go */
  private readonly liveSessions = new Map<string, Session>();
  /** IDENTIFY with fewer shards than this closes 4011 (Sharding required); sessions already running stay */
  requiredShards: number | undefined;
  private nextEventId = 1;
  readonly ledger = new Ledger();
  readonly identifies: IdentifyRecord[] = [];
  readonly resumes: ResumeRecord[] = [];
  readonly closes: Array<{ at: number; shardId?: number; code: number; by: 'server' | 'client'; reason?: string }> = [];
  /** every connection's counters, open or closed, in connection order */
  readonly connections: ConnectionStats[] = [];
  /** every command (op 3, 4, 8, 31) received, with its outcome */
  readonly commands: CommandRecord[] = [];
  /** payloads received on all connections, by opcode */
  readonly receivedByOp: Record<number, number> = {};
  /** commands for a guild on another shard of the connection's shard count (Discord ignores them) */
  wrongShardCommands = 0;
  /** valid commands the simulator ignored otherwise (unknown guild or channel, missing intent, rate limited) */
  ignoredCommands = 0;
  /** connections closed with 4008 for sending more than 120 payloads in a sliding 60 s */
  rateLimitCloses = 0;
  /** heartbeats, over all connections, later than 1.5 intervals after the previous one */
  lateHeartbeats = 0;
  sessionStartRemaining: number;
  sessionResetAt: number;
  private readonly lastIdentifyPerBucket = new Map<number, number>();
  /** shards whose heartbeats are not acknowledged (a zombie connection, from the client's side) */
  readonly ackPaused = new Set<number>();
  /** shards whose dispatches are held (kept in the session, sent on resume or unpause) */
  readonly paused = new Set<number>();
  private readonly conns = new Set<Connection>();
  private nextConnId = 1;
  /**
   * A network fault for new connections: 'refuse' drops the TCP connection at the upgrade (the
   * network is down), 'silent' opens the WebSocket but never sends HELLO (the client's hello timeout).
   */
  connectFault: 'refuse' | 'silent' | undefined;
  /** connections the fault refused or silenced */
  faultedConnections = 0;

  constructor(
    readonly opts: GatewayOptions,
    private readonly hooks: GatewayHooks,
  ) {
    this.sessionStartRemaining = opts.sessionStartTotal;
    this.sessionResetAt = Date.now() + opts.sessionResetAfterMs;
    // sessions left disconnected past their TTL are over: release their replay buffers
    this.sweepTimer = setInterval(
      () => {
        const now = Date.now();
        for (const s of this.sessions.values()) {
          if (s.valid && !s.conn && s.disconnectedAt !== undefined && now - s.disconnectedAt > opts.sessionTtlMs) this.endSession(s);
        }
      },
      Math.max(1000, Math.min(opts.sessionTtlMs, 30_000)),
    );
    this.sweepTimer.unref();
  }

  private readonly sweepTimer: NodeJS.Timeout;

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.connectFault === 'refuse') {
      this.faultedConnections++;
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const id = this.nextConnId++;
    const now = Date.now();
    const stats: ConnectionStats = { id, openedAt: now, received: {}, wrongShardCommands: 0, maxInWindow: 0, heartbeats: 0, lateHeartbeats: 0, maxHeartbeatGapMs: 0 };
    this.connections.push(stats);
    const conn: Connection = { ws, id, path: url.pathname, window: new SlidingWindowCounter(this.opts.sendLimit.windowMs), heartbeat: new HeartbeatClock(this.opts.heartbeatIntervalMs, now), lastHeartbeatAt: now, closed: false, stats };
    this.conns.add(conn);
    const v = url.searchParams.get('v');
    if (v !== null && v !== '10') {
      this.close(conn, GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
      return;
    }
    const encoding = url.searchParams.get('encoding') ?? 'json';
    if (encoding !== 'json') {
      this.close(conn, GatewayCloseCodes.DecodeError, 'only json encoding is simulated');
      return;
    }
    if (url.searchParams.get('compress') === 'zlib-stream') {
      conn.deflate = createMessageDeflater(this.opts.zlib ?? 'auto');
    }
    ws.on('message', (data, isBinary) => this.onMessage(conn, data as Buffer, isBinary));
    ws.on('close', (code) => this.onClientClose(conn, code));
    ws.on('error', () => undefined);
    if (this.connectFault === 'silent') {
      this.faultedConnections++;
      return;
    }
    this.send(conn, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.opts.heartbeatIntervalMs, _trace: ['["gateway-sim",{}]'] } });
    // a connection that misses heartbeats is closed (zombie); the session stays resumable
    conn.heartbeatTimer = setInterval(
      () => {
        if (Date.now() - conn.lastHeartbeatAt > this.opts.heartbeatIntervalMs * 1.5 + 1000) {
          this.close(conn, GatewayCloseCodes.SessionTimedOut, 'heartbeat missed');
        }
      },
      Math.max(50, Math.floor(this.opts.heartbeatIntervalMs / 2)),
    );
  }

  /** Serializes and sends one payload, deflated with Z_SYNC_FLUSH when the connection asked for zlib-stream. */
  private send(conn: Connection, payload: unknown): boolean {
    if (conn.closed || conn.ws.readyState !== WebSocket.OPEN) return false;
    const json = JSON.stringify(payload);
    if (conn.deflate) {
      // one deflate context per connection, Z_SYNC_FLUSH per message, frames in order
      conn.deflate.write(json, (frame) => {
        if (!conn.closed && conn.ws.readyState === WebSocket.OPEN) conn.ws.send(frame, { binary: true });
      });
    } else {
      conn.ws.send(json);
    }
    return true;
  }

  private close(conn: Connection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearInterval(conn.heartbeatTimer);
    conn.deflate?.close();
    this.closes.push({ at: Date.now(), shardId: conn.session?.shardId, code, by: 'server', reason });
    conn.stats.closedAt = Date.now();
    conn.stats.closeCode = code;
    this.detach(conn, code);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
    this.conns.delete(conn);
  }

  private onClientClose(conn: Connection, code: number): void {
    if (conn.closed) return;
    conn.closed = true;
    clearInterval(conn.heartbeatTimer);
    conn.deflate?.close();
    this.closes.push({ at: Date.now(), shardId: conn.session?.shardId, code, by: 'client' });
    conn.stats.closedAt = Date.now();
    conn.stats.closeCode = code;
    this.detach(conn, code);
    this.conns.delete(conn);
  }

  /** Detaches a connection from its session; 1000/1001 and fatal codes end the session. */
  private detach(conn: Connection, code: number): void {
    const s = conn.session;
    if (!s || s.conn !== conn) return;
    s.conn = undefined;
    s.disconnectedAt = Date.now();
    const fatal = [1000, 1001, 4004, 4010, 4011, 4012, 4013, 4014].includes(code);
    if (fatal) this.endSession(s);
  }

  private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    // frames already in flight when the simulator closed the connection are not read
    if (conn.closed) return;
    const now = Date.now();
    // every payload counts, heartbeats, IDENTIFY and RESUME included; the one over the limit closes
    const inWindow = conn.window.add(now);
    conn.stats.maxInWindow = conn.window.max;
    if (inWindow > this.opts.sendLimit.limit) {
      this.rateLimitCloses++;
      this.close(conn, GatewayCloseCodes.RateLimited, 'You are being rate limited.');
      return;
    }
    if (data.byteLength > this.opts.maxPayloadBytes) {
      this.close(conn, GatewayCloseCodes.DecodeError, 'payload too large');
      return;
    }
    let p: { op?: unknown; d?: unknown } | undefined;
    try {
      if (isBinary) throw new Error('binary frames are not simulated');
      p = asRecord(JSON.parse(data.toString('utf8')));
    } catch {
      p = undefined;
    }
    if (!p) {
      this.close(conn, GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
      return;
    }
    const op = typeof p.op === 'number' ? p.op : -1;
    conn.stats.received[op] = (conn.stats.received[op] ?? 0) + 1;
    this.receivedByOp[op] = (this.receivedByOp[op] ?? 0) + 1;
    if (isCommandOpcode(op)) {
      this.command(conn, op, p.d);
      return;
    }
    switch (p.op) {
      case GatewayOpcodes.Heartbeat:
        conn.lastHeartbeatAt = now;
        if (conn.heartbeat.beat(now)) this.lateHeartbeats++;
        conn.stats.heartbeats = conn.heartbeat.count;
        conn.stats.lateHeartbeats = conn.heartbeat.late;
        conn.stats.maxHeartbeatGapMs = conn.heartbeat.maxGapMs;
        if (conn.session && this.ackPaused.has(conn.session.shardId)) return;
        this.send(conn, { op: GatewayOpcodes.HeartbeatAck });
        return;
      case GatewayOpcodes.Identify:
        this.identify(conn, p.d);
        return;
      case GatewayOpcodes.Resume:
        this.resume(conn, p.d);
        return;
      default:
        this.close(conn, GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
        return;
    }
  }

  /**
   * op 3, 4, 8, 31: before IDENTIFY 4003; fields that do not match 4001 (Discord's "invalid payload
   * for an opcode"); a guild the connection's shard does not own is ignored, as Discord does, and
   * counted in `wrongShardCommands`; the rest is answered by the simulator (`hooks.onCommand`).
   */
  private command(conn: Connection, op: CommandOpcode, d: unknown): void {
    const s = conn.session;
    const record: CommandRecord = { at: Date.now(), connectionId: conn.id, shardId: s?.shardId, numShards: s?.numShards, op, outcome: 'invalid' };
    this.commands.push(record);
    if (!s) {
      record.detail = 'before IDENTIFY';
      this.close(conn, GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
      return;
    }
    const parsed = parseCommand(op, d);
    if (!parsed.ok) {
      record.detail = parsed.error;
      this.close(conn, GatewayCloseCodes.UnknownOpcode, 'Invalid payload for an opcode.');
      return;
    }
    const cmd = parsed.command;
    if (cmd.op === GatewayOpcodes.PresenceUpdate) {
      conn.stats.presence = cmd.d;
      s.presence = cmd.d;
    }
    const guildIds = cmd.op === GatewayOpcodes.RequestSoundboardSounds ? cmd.d.guild_ids : cmd.op === GatewayOpcodes.PresenceUpdate ? [] : [cmd.d.guild_id];
    const known = guildIds.filter((g) => this.hooks.hasGuild(g));
    const owned = known.filter((g) => shardOf(g, s.numShards) === s.shardId);
    if (owned.length < known.length) {
      conn.stats.wrongShardCommands++;
      this.wrongShardCommands++;
    }
    if (guildIds.length > 0 && owned.length === 0) {
      record.outcome = known.length > 0 ? 'wrong-shard' : 'ignored';
      record.detail = known.length > 0 ? `guild ${known.join(', ')} is not on shard ${s.shardId} of ${s.numShards}` : `unknown guild ${guildIds.join(', ')}`;
      if (known.length === 0) this.ignoredCommands++;
      return;
    }
    // op 31 names several guilds: the ones this shard owns are answered, the others ignored
    const served: GatewayCommand = cmd.op === GatewayOpcodes.RequestSoundboardSounds ? { ...cmd, d: { guild_ids: owned } } : cmd;
    const ignored = this.hooks.onCommand(s, served);
    record.outcome = ignored === undefined ? 'answered' : 'ignored';
    if (ignored !== undefined) {
      record.detail = ignored;
      this.ignoredCommands++;
    }
  }

  /** IDENTIFY's and RESUME's common checks: the payload, or undefined once the connection is closed as Discord does. */
  private authenticate(conn: Connection, raw: unknown): Record<string, unknown> | undefined {
    if (conn.session) {
      this.close(conn, GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
      return undefined;
    }
    const d = asRecord(raw);
    if (d?.token !== this.opts.token) {
      this.close(conn, GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return undefined;
    }
    return d;
  }

  private identify(conn: Connection, raw: unknown): void {
    const d = this.authenticate(conn, raw);
    if (!d) return;
    const shard: unknown[] = Array.isArray(d.shard) ? d.shard : [0, 1];
    const shardId = Number(shard[0]);
    const numShards = Number(shard[1]);
    if (!Number.isInteger(shardId) || !Number.isInteger(numShards) || numShards < 1 || shardId < 0 || shardId >= numShards) {
      this.close(conn, GatewayCloseCodes.InvalidShard, 'Invalid shard.');
      return;
    }
    const intents = Number(d.intents);
    if (!Number.isInteger(intents) || intents < 0 || (intents & ~ALL_INTENTS) !== 0) {
      this.close(conn, GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
      return;
    }
    if ((intents & PRIVILEGED_INTENTS & ~this.opts.allowedIntents) !== 0) {
      this.close(conn, GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
      return;
    }
    const guilds = this.hooks.guildsFor(shardId, numShards);
    if (guilds.length > this.opts.maxGuildsPerShard || (this.requiredShards !== undefined && numShards < this.requiredShards)) {
      this.identifies.push({ at: Date.now(), shardId, bucket: shardId % this.opts.maxConcurrency, outcome: 'sharding-required' });
      this.close(conn, GatewayCloseCodes.ShardingRequired, 'Sharding is required.');
      return;
    }
    const now = Date.now();
    const bucket = shardId % this.opts.maxConcurrency;
    const last = this.lastIdentifyPerBucket.get(bucket);
    if (now >= this.sessionResetAt) {
      this.sessionStartRemaining = this.opts.sessionStartTotal;
      this.sessionResetAt = now + this.opts.sessionResetAfterMs;
    }
    if ((last !== undefined && now - last < this.opts.identifyWindowMs) || this.sessionStartRemaining <= 0) {
      this.identifies.push({ at: now, shardId, bucket, outcome: 'rate-limited' });
      this.send(conn, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    this.lastIdentifyPerBucket.set(bucket, now);
    this.sessionStartRemaining--;
    this.identifies.push({ at: now, shardId, bucket, outcome: 'ready' });

    // a new session replaces the previous one of the same shard and shard count; another shard count's
    // session of this shard id (a reshard under way) keeps running
    const key = `${shardId}/${numShards}`;
    const prev = this.liveSessions.get(key);
    if (prev) this.endSession(prev);
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      shardId,
      numShards,
      intents,
      seq: 0,
      buffer: [],
      conn,
      valid: true,
      guildIds: guilds.map((g) => g.id),
    };
    const presence = presenceUpdateSchema.safeParse(d.presence);
    if (presence.success) session.presence = presence.data;
    conn.stats.shardId = shardId;
    conn.stats.numShards = numShards;
    conn.stats.sessionId = session.id;
    this.sessions.set(session.id, session);
    this.shardSessions.set(shardId, session);
    this.liveSessions.set(key, session);
    conn.session = session;
    this.emit(session, 'READY', {
      v: 10,
      user: this.hooks.botUser(),
      guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      // per session, like Discord's: a client that resumes elsewhere still works, and `resumes` shows it
      resume_gateway_url: `${this.hooks.gatewayUrl()}/resume/${session.id.slice(0, 8)}`,
      shard: [shardId, numShards],
      application: { id: this.opts.appId, flags: 0 },
    });
    for (const g of guilds) this.emit(session, 'GUILD_CREATE', g.payload(), g.id, g.id);
  }

  private resume(conn: Connection, raw: unknown): void {
    const d = this.authenticate(conn, raw);
    if (!d) return;
    const sessionId = typeof d.session_id === 'string' ? d.session_id : '';
    const s = this.sessions.get(sessionId);
    const seq = Number(d.seq);
    const expired = s?.disconnectedAt !== undefined && Date.now() - s.disconnectedAt > this.opts.sessionTtlMs;
    const oldest = s?.buffer[0]?.f.s ?? (s ? s.seq + 1 : 0);
    if (s && s.valid && !expired && Number.isInteger(seq) && seq > s.seq) {
      // a seq the session never reached: 4007, and the session is over
      this.endSession(s);
      this.resumes.push({ at: Date.now(), sessionId: s.id, shardId: s.shardId, seq, viaResumeUrl: conn.path.startsWith('/resume/'), outcome: 'invalid-seq' });
      this.close(conn, GatewayCloseCodes.InvalidSeq, 'Invalid seq.');
      return;
    }
    const record: ResumeRecord = { at: Date.now(), sessionId, shardId: s?.shardId, seq, viaResumeUrl: conn.path.startsWith('/resume/'), outcome: 'invalid' };
    this.resumes.push(record);
    if (!s || !s.valid || expired || !Number.isInteger(seq) || seq < oldest - 1) {
      this.send(conn, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    record.outcome = 'resumed';
    record.replayed = s.buffer.filter((b) => b.f.s > seq).length;
    if (s.conn && s.conn !== conn) this.close(s.conn, GatewayCloseCodes.SessionTimedOut, 'resumed elsewhere');
    s.conn = conn;
    s.disconnectedAt = undefined;
    conn.session = s;
    conn.stats.shardId = s.shardId;
    conn.stats.numShards = s.numShards;
    conn.stats.sessionId = s.id;
    for (const b of s.buffer) {
      if (b.f.s <= seq) continue;
      if (b.e?.sentAt !== undefined) b.e.replays = (b.e.replays ?? 0) + 1;
      this.deliver(s, b);
    }
    this.emit(s, 'RESUMED', { _trace: ['["gateway-sim",{}]'] });
  }

  /** Sends a frame over the session's socket when it has one; records the first send in the ledger. */
  private deliver(s: Session, b: Buffered): void {
    if (!s.conn) return;
    if (this.paused.has(s.shardId) && b.f.t !== 'READY' && b.f.t !== 'RESUMED') return;
    if (this.send(s.conn, b.f) && b.e && b.e.sentAt === undefined) b.e.sentAt = Date.now();
  }

  /**
   * Produces one dispatch in a session: numbered, kept for replay, sent when connected, recorded.
   * RESUMED takes a seq like any dispatch but is not kept for replay (a later RESUME never replays an
   * old RESUMED).
   */
  emit(s: Session, type: string, data: unknown, guildId: string | null = null, id?: string, eventId = this.newEventId()): number {
    const f: Frame = { op: 0, s: ++s.seq, t: type, d: data };
    const e: LedgerEntry = { eventId, shardId: s.shardId, sessionId: s.id, seq: f.s, type, guildId, at: Date.now() };
    if (id !== undefined) e.id = id;
    this.ledger.push(e);
    const b: Buffered = { f, e };
    if (type !== 'RESUMED') {
      s.buffer.push(b);
      // trim in steps, not one splice per event
      const max = this.opts.replayBufferSize;
      if (s.buffer.length > max + Math.max(64, max >> 4)) s.buffer.splice(0, s.buffer.length - max);
    }
    this.deliver(s, b);
    return f.s;
  }

  /** A session that can no longer be resumed: its replay buffer is released (the ledger keeps the record). */
  private endSession(s: Session): void {
    s.valid = false;
    s.buffer = [];
    const key = `${s.shardId}/${s.numShards}`;
    if (this.liveSessions.get(key) === s) this.liveSessions.delete(key);
  }

  /** A new event id, for one dispatch that goes to several sessions (`emit`'s last argument). */
  newEventId(): number {
    return this.nextEventId++;
  }

  /** The live sessions (connected or resumable) whose own (shard id, shard count) owns the guild, oldest first. */
  sessionsOwning(guildId: string): Session[] {
    return [...this.liveSessions.values()].filter((s) => s.valid && shardOf(guildId, s.numShards) === s.shardId);
  }

  /** The live sessions of a shard id, of every shard count, oldest first (events without a guild go to shard 0). */
  sessionsOfShard(shardId: number): Session[] {
    return [...this.liveSessions.values()].filter((s) => s.valid && s.shardId === shardId);
  }

  /** The live session of (shard id, shard count); without a count, the latest identified for the shard id. */
  sessionFor(shardId: number, numShards?: number): Session | undefined {
    const s = numShards === undefined ? this.shardSessions.get(shardId) : this.liveSessions.get(`${shardId}/${numShards}`);
    return s?.valid ? s : undefined;
  }

  /** Every connected session, oldest first. */
  connectedSessions(): Array<{ shardId: number; numShards: number; sessionId: string }> {
    return [...this.liveSessions.values()].filter((s) => s.valid && s.conn && !s.conn.closed).map((s) => ({ shardId: s.shardId, numShards: s.numShards, sessionId: s.id }));
  }

  /** The live session of a shard, if any (connected or resumable). */
  sessionOf(shardId: number): Session | undefined {
    const s = this.shardSessions.get(shardId);
    return s?.valid ? s : undefined;
  }

  /** The shard ids of the connected sessions, sorted (an id twice while two shard counts run side by side). */
  connectedShards(): number[] {
    return this.connectedSessions()
      .map((s) => s.shardId)
      .sort((a, b) => a - b);
  }

  closeShard(shardId: number, code: number, reason = 'closed by the simulator'): boolean {
    const s = this.shardSessions.get(shardId);
    if (!s?.conn) return false;
    this.close(s.conn, code, reason);
    return true;
  }

  /** Drops the shard's TCP connection without a close frame (a network failure); the session stays resumable. */
  dropSocket(shardId: number): boolean {
    const s = this.shardSessions.get(shardId);
    const conn = s?.conn;
    if (!conn) return false;
    conn.closed = true;
    clearInterval(conn.heartbeatTimer);
    conn.deflate?.close();
    this.closes.push({ at: Date.now(), shardId, code: 1006, by: 'server' });
    conn.stats.closedAt = Date.now();
    conn.stats.closeCode = 1006;
    this.detach(conn, 1006);
    conn.ws.terminate();
    this.conns.delete(conn);
    return true;
  }

  /** Holds a shard's dispatches (they stay in the session); unpausing sends what was held. */
  pauseShard(shardId: number, paused: boolean): void {
    if (paused) {
      this.paused.add(shardId);
      return;
    }
    this.paused.delete(shardId);
    const s = this.shardSessions.get(shardId);
    if (!s?.conn) return;
    for (const b of s.buffer) if (b.e && b.e.sentAt === undefined) this.deliver(s, b);
  }

  requestReconnect(shardId: number): boolean {
    const s = this.shardSessions.get(shardId);
    return !!s?.conn && this.send(s.conn, { op: GatewayOpcodes.Reconnect, d: null });
  }

  /**
   * Sends op 9. Not resumable: the session is over, the client must IDENTIFY. Resumable: the session
   * is detached from the socket, so a RESUME (on this socket, as @discordjs/ws does, or a new one) works.
   */
  invalidateSession(shardId: number, resumable: boolean): boolean {
    const s = this.shardSessions.get(shardId);
    const conn = s?.conn;
    if (!s || !conn) return false;
    if (!resumable) this.endSession(s);
    const sent = this.send(conn, { op: GatewayOpcodes.InvalidSession, d: resumable });
    if (resumable) {
      s.conn = undefined;
      s.disconnectedAt = Date.now();
      conn.session = undefined;
    }
    return sent;
  }

  requestHeartbeat(shardId: number): boolean {
    const s = this.shardSessions.get(shardId);
    return !!s?.conn && this.send(s.conn, { op: GatewayOpcodes.Heartbeat, d: s.seq });
  }

  shutdown(): void {
    clearInterval(this.sweepTimer);
    for (const c of this.conns) {
      clearInterval(c.heartbeatTimer);
      c.closed = true;
      c.ws.terminate();
    }
    this.conns.clear();
    this.wss.close();
  }
}
