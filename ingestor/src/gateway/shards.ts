/**
 * The gateway stage: the shards of one application that this task holds, each on its own
 * @discordjs/ws WebSocketManager (no caches, zlib-stream), so a shard can be taken over, handed off
 * or stopped without touching the others. Tracks states, the close codes no reconnect fixes,
 * Discord's word on when a session ends, and backpressure (close resumably when the publish stage is
 * full; Discord holds the events until we RESUME).
 * Every dispatch goes to `onDispatch`; whatever that throws is handed to `onDispatchError`, so no
 * payload can take the process down (Discord would replay it after the restart: a crash loop).
 * https://discord.com/developers/docs/topics/gateway#resuming
 */
import type { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents, type CompressionMethod, type IIdentifyThrottler } from '@discordjs/ws';
import { GatewayCloseCodes, GatewayDispatchEvents, type GatewayPresenceUpdateData, type GatewaySendPayload } from 'discord-api-types/v10';
import { errorText } from '../../../shared/error-text';
import { fatalCloseAdvice } from './close-codes';
import type { SessionStore } from './session-store';

export type ShardState = 'connecting' | 'ready' | 'reconnecting' | 'paused' | 'fatal';

export interface GatewayShardsOptions {
  appId: string;
  token: string;
  intents: number;
  /** the presence every shard IDENTIFYs with @default none */
  presence?: GatewayPresenceUpdateData;
  rest: REST;
  totalShards: number;
  compression: CompressionMethod;
  /** how long a connection waits for HELLO before the library retries it */
  helloTimeoutMs?: number;
  sessions: SessionStore;
  /** IDENTIFY pacing (shared across tasks through Redis); @default the library's own, per shard */
  identifyThrottler?: IIdentifyThrottler;
  /** whether this task may (still) connect the shard: false after its lease is lost */
  mayConnect?: (shardId: number) => boolean;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  onDispatch: (payload: unknown, shardId: number) => void;
  onDispatchError: (payload: unknown, shardId: number, err: unknown) => void;
  onHeartbeat?: (latencyMs: number, shardId: number) => void;
  onStateChange?: (shardId: number, state: ShardState) => void;
  /** close 4011 (sharding required) when the fleet can reshard the application; else 4011 is fatal */
  onShardingRequired?: (shardId: number) => void;
}

/** The close code we use to leave: resumable (4000-range), never 1000/1001, which end the session. */
export const RESUMABLE_CLOSE = 4000;

/** Ends the session for good (after a reshard: nobody will RESUME it). */
export const SESSION_END_CLOSE = 1000;

/** ...and HELLO's heartbeat interval only as this one */
const HEARTBEAT_INTERVAL = /starting to beat every (\d+)ms/;

/** @discordjs/ws 2.0.4 reports op 9 only as this debug line (the session id stays in its store otherwise). */
const INVALID_SESSION_NOT_RESUMABLE = 'Invalid session; will attempt to resume: false';

export class GatewayShards {
  private readonly states = new Map<number, ShardState>();
  /** HELLO's heartbeat interval per shard: heartbeats count against the connection's send limit */
  private readonly heartbeatMs = new Map<number, number>();
  fatal: string | undefined;
  private readonly managers = new Map<number, WebSocketManager>();
  private paused = false;
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly opts: GatewayShardsOptions) {}

  private setState(shardId: number, state: ShardState): void {
    if (this.states.get(shardId) === state) return;
    this.states.set(shardId, state);
    this.opts.onStateChange?.(shardId, state);
  }

  private build(shardId: number): WebSocketManager {
    const o = this.opts;
    const may = o.mayConnect ?? (() => true);
    const throttler = o.identifyThrottler;
    const m = new WebSocketManager({
      token: o.token,
      // a bit field (an OR of GatewayIntentBits), which the library types as the enum
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
      intents: o.intents,
      initialPresence: o.presence ?? null,
      rest: o.rest,
      shardCount: o.totalShards,
      shardIds: [shardId],
      compression: o.compression,
      helloTimeout: o.helloTimeoutMs,
      // a shard whose lease is gone gets no session to RESUME (it would take it back from its new owner)
      retrieveSessionInfo: (id) => (may(id) ? o.sessions.retrieve(id) : null),
      updateSessionInfo: (id, info) => o.sessions.update(id, info),
      ...(throttler ? { buildIdentifyThrottler: () => throttler } : {}),
    });
    m.on(WebSocketShardEvents.Dispatch, (payload, id) => {
      try {
        if (payload.t === GatewayDispatchEvents.Ready || payload.t === GatewayDispatchEvents.Resumed) this.setState(id, 'ready');
        o.onDispatch(payload, id);
      } catch (err) {
        o.onDispatchError(payload, id, err);
      }
    });
    m.on(WebSocketShardEvents.Resumed, (id) => this.setState(id, 'ready'));
    m.on(WebSocketShardEvents.Ready, (_d, id) => this.setState(id, 'ready'));
    m.on(WebSocketShardEvents.Closed, (code, id) => this.onClosed(code, id));
    m.on(WebSocketShardEvents.Debug, (message, id) => {
      if (message.startsWith(INVALID_SESSION_NOT_RESUMABLE)) o.sessions.forget(id, 'op 9 (invalid session, not resumable)');
      const beat = HEARTBEAT_INTERVAL.exec(message);
      if (beat) this.heartbeatMs.set(id, Number(beat[1]));
    });
    m.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }, id) => o.onHeartbeat?.(latency, id));
    m.on(WebSocketShardEvents.Error, (err, id) => o.log('warn', 'gateway error', { appId: o.appId, shardId: id, error: errorText(err) }));
    return m;
  }

  private onClosed(code: number, shardId: number): void {
    if (code === (GatewayCloseCodes.InvalidSeq as number) || code === (GatewayCloseCodes.SessionTimedOut as number)) this.opts.sessions.forget(shardId, `close ${code}`);
    if (code === (GatewayCloseCodes.ShardingRequired as number) && this.opts.onShardingRequired) {
      this.setState(shardId, 'fatal');
      this.opts.log('warn', 'Discord requires more shards (close 4011): the fleet reshards the application', { appId: this.opts.appId, shardId, totalShards: this.opts.totalShards });
      this.opts.onShardingRequired(shardId);
      return;
    }
    const advice = fatalCloseAdvice(code, { shardIds: String(shardId), totalShards: String(this.opts.totalShards), intents: this.opts.intents });
    if (advice) {
      this.setState(shardId, 'fatal');
      this.fatal = advice;
      this.opts.log('error', advice, { appId: this.opts.appId, shardId, code });
    } else if (this.states.get(shardId) !== 'fatal' && !this.paused && this.managers.has(shardId)) {
      this.setState(shardId, 'reconnecting');
    }
  }

  private connect(shardId: number, m: WebSocketManager): Promise<void> {
    // resolves when READY or RESUMED; a fatal close is kept in `fatal`, not thrown
    return m.connect().catch((err: unknown) => {
      if (this.states.get(shardId) !== 'fatal' && this.managers.get(shardId) === m) this.opts.log('error', 'a shard could not connect', { appId: this.opts.appId, shardId, error: errorText(err) });
    });
  }

  /** Starts a shard (a lease was taken, or at start); resolves when it is READY or RESUMED. */
  add(shardId: number): Promise<void> {
    if (this.managers.has(shardId)) return Promise.resolve();
    const m = this.build(shardId);
    this.managers.set(shardId, m);
    this.setState(shardId, this.paused ? 'paused' : 'connecting');
    return this.paused ? Promise.resolve() : this.connect(shardId, m);
  }

  /** Stops a shard, resumably (4000) unless told otherwise: handed off, or its lease lost. */
  async remove(shardId: number, reason: string, code = RESUMABLE_CLOSE): Promise<void> {
    const m = this.managers.get(shardId);
    if (!m) return;
    this.managers.delete(shardId);
    this.states.delete(shardId);
    this.opts.onStateChange?.(shardId, 'paused');
    await Promise.resolve(m.destroy({ code, reason })).catch(() => undefined);
  }

  /** Sends a gateway command on the shard (the library waits for READY and keeps its own send limit). */
  async send(shardId: number, payload: GatewaySendPayload): Promise<void> {
    const m = this.managers.get(shardId);
    if (!m) throw new Error(`shard ${shardId} is not held by this task`);
    await m.send(shardId, payload);
  }

  /** the heartbeat interval Discord gave the shard's connection (HELLO) */
  heartbeatInterval(shardId: number): number | undefined {
    return this.heartbeatMs.get(shardId);
  }

  /** the state of a shard this task holds */
  state(shardId: number): ShardState | undefined {
    return this.states.get(shardId);
  }

  held(): number[] {
    return [...this.managers.keys()];
  }

  /** Stops reading (backpressure): closes resumably; Discord keeps the session and what it sends. */
  pause(why: string): void {
    if (this.paused) return;
    this.paused = true;
    this.opts.log('warn', 'publish buffer and spool are full: closing the shards resumably until there is room', { appId: this.opts.appId, why });
    this.transition = this.transition.then(async () => {
      for (const [id, m] of this.managers) {
        await Promise.resolve(m.destroy({ code: RESUMABLE_CLOSE, reason: 'backpressure' })).catch(() => undefined);
        if (this.states.get(id) !== 'fatal') this.setState(id, 'paused');
      }
    });
  }

  /** Reading again after backpressure: every shard RESUMEs where it left. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.opts.log('info', 'room in the publish buffer again: resuming the shards', { appId: this.opts.appId });
    this.transition = this.transition.then(() => {
      for (const [id, m] of this.managers) {
        if (this.states.get(id) === 'fatal') continue;
        this.setState(id, 'connecting');
        void this.connect(id, m);
      }
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Leaves resumably (never 1000/1001): the next owner RESUMEs these sessions. */
  async stop(reason: string): Promise<void> {
    this.paused = true;
    await this.transition;
    await Promise.all([...this.managers.keys()].map((id) => this.remove(id, reason)));
  }

  readyCount(): number {
    return this.held().filter((id) => this.states.get(id) === 'ready').length;
  }
}
