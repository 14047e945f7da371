/**
 * The gateway stage: this task's shards on @discordjs/ws (no caches, zlib-stream), their states, the
 * close codes no reconnect fixes, Discord's word on when a session ends, and backpressure (close
 * resumably when the publish stage is full; Discord holds the events until we RESUME).
 * Every dispatch goes to `onDispatch`; whatever that throws is handed to `onDispatchError`, so no
 * payload can take the process down (Discord would replay it after the restart: a crash loop).
 * https://discord.com/developers/docs/topics/gateway#resuming
 */
import type { REST } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents, type CompressionMethod } from '@discordjs/ws';
import { GatewayCloseCodes } from 'discord-api-types/v10';
import { fatalCloseAdvice } from './close-codes';
import type { SessionStore } from './session-store';

export type ShardState = 'connecting' | 'ready' | 'reconnecting' | 'paused' | 'fatal';

export interface GatewayShardsOptions {
  token: string;
  intents: number;
  rest: REST;
  totalShards: number;
  shardIds: number[];
  compression: CompressionMethod;
  /** how long a connection waits for HELLO before the library retries it */
  helloTimeoutMs?: number;
  sessions: SessionStore;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  onDispatch: (payload: unknown, shardId: number) => void;
  onDispatchError: (payload: unknown, shardId: number, err: unknown) => void;
  onHeartbeat?: (latencyMs: number, shardId: number) => void;
}

/** The close code we use to leave: resumable (4000-range), never 1000/1001, which end the session. */
export const RESUMABLE_CLOSE = 4000;

/** @discordjs/ws 2.0.4 reports op 9 only as this debug line (the session id stays in its store otherwise). */
const INVALID_SESSION_NOT_RESUMABLE = 'Invalid session; will attempt to resume: false';

export class GatewayShards {
  readonly states: Record<number, ShardState>;
  fatal: string | undefined;
  private readonly manager: WebSocketManager;
  private paused = false;
  private transition: Promise<void> = Promise.resolve();

  constructor(private readonly opts: GatewayShardsOptions) {
    this.states = Object.fromEntries(opts.shardIds.map((id) => [id, 'connecting' as ShardState]));
    this.manager = new WebSocketManager({
      token: opts.token,
      intents: opts.intents,
      rest: opts.rest,
      shardCount: opts.totalShards,
      shardIds: opts.shardIds,
      compression: opts.compression,
      helloTimeout: opts.helloTimeoutMs,
      retrieveSessionInfo: (shardId) => opts.sessions.retrieve(shardId),
      updateSessionInfo: (shardId, info) => opts.sessions.update(shardId, info),
    });
    this.listen();
  }

  private listen(): void {
    const m = this.manager;
    m.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
      try {
        if (payload.t === 'READY' || payload.t === 'RESUMED') this.states[shardId] = 'ready';
        this.opts.onDispatch(payload, shardId);
      } catch (err) {
        this.opts.onDispatchError(payload, shardId, err);
      }
    });
    m.on(WebSocketShardEvents.Resumed, (shardId) => (this.states[shardId] = 'ready'));
    m.on(WebSocketShardEvents.Ready, (_d, shardId) => (this.states[shardId] = 'ready'));
    m.on(WebSocketShardEvents.Closed, (code, shardId) => this.onClosed(code, shardId));
    m.on(WebSocketShardEvents.Debug, (message, shardId) => {
      if (message.startsWith(INVALID_SESSION_NOT_RESUMABLE)) this.opts.sessions.forget(shardId, 'op 9 (invalid session, not resumable)');
    });
    m.on(WebSocketShardEvents.HeartbeatComplete, ({ latency }, shardId) => this.opts.onHeartbeat?.(latency, shardId));
    m.on(WebSocketShardEvents.Error, (err, shardId) => this.opts.log('warn', 'gateway error', { shardId, error: String((err as Error).message ?? err) }));
  }

  private onClosed(code: number, shardId: number): void {
    if (code === GatewayCloseCodes.InvalidSeq || code === GatewayCloseCodes.SessionTimedOut) this.opts.sessions.forget(shardId, `close ${code}`);
    const advice = fatalCloseAdvice(code, { shardIds: this.opts.shardIds.join(','), totalShards: String(this.opts.totalShards), intents: this.opts.intents });
    if (advice) {
      this.states[shardId] = 'fatal';
      this.fatal = advice;
      this.opts.log('error', advice, { shardId, code });
    } else if (this.states[shardId] !== 'fatal' && !this.paused) {
      this.states[shardId] = 'reconnecting';
    }
  }

  /** Connects every shard; a fatal close during the first connect is kept in `fatal`, not thrown. */
  async connect(): Promise<void> {
    try {
      await this.manager.connect();
    } catch (err) {
      if (!this.fatal) throw err;
    }
  }

  /** Stops reading (backpressure): closes resumably; Discord keeps the session and what it sends. */
  pause(why: string): void {
    if (this.paused) return;
    this.paused = true;
    this.opts.log('warn', 'publish buffer and spool are full: closing the shards resumably until there is room', { why });
    this.transition = this.transition.then(async () => {
      await this.manager.destroy({ code: RESUMABLE_CLOSE, reason: 'backpressure' });
      for (const id of this.opts.shardIds) if (this.states[id] !== 'fatal') this.states[id] = 'paused';
    });
  }

  /** Reading again after backpressure: every shard RESUMEs where it left. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.opts.log('info', 'room in the publish buffer again: resuming the shards', {});
    this.transition = this.transition.then(() => {
      for (const id of this.opts.shardIds) if (this.states[id] !== 'fatal') this.states[id] = 'connecting';
      // connect() resolves when every shard is ready; progress shows in the states, errors in the log
      void this.manager.connect().catch((err: unknown) => this.opts.log('error', 'could not reconnect after backpressure', { error: String((err as Error).message ?? err) }));
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Leaves resumably (never 1000/1001): the next task RESUMEs these sessions. */
  async stop(reason: string): Promise<void> {
    this.paused = true;
    await this.transition;
    await this.manager.destroy({ code: RESUMABLE_CLOSE, reason });
  }

  readyCount(): number {
    return this.opts.shardIds.filter((id) => this.states[id] === 'ready').length;
  }
}
