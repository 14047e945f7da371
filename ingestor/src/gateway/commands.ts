/**
 * The command stage: gateway commands queued by workers and operators (lib/contract/gateway-commands.ts)
 * go out on the shard this task holds. One Redis stream per (application, shard), read with the fleet's
 * consumer group, so whichever task holds the shard's lease sends its commands; an entry is acknowledged
 * only after the shard sent it, so a command read by a task that then lost the shard stays pending and
 * the next owner claims it (XAUTOCLAIM) when it takes the shard.
 *
 * Discord allows 120 events sent per connection per 60 s and closes with 4008 beyond
 * (https://discord.com/developers/docs/events/gateway#rate-limiting). Heartbeats, IDENTIFY and RESUME
 * count too but bypass every queue (the library sends them at once), so commands get a sliding window
 * of what is left of 120 per 60 s once the heartbeats of HELLO's interval and an IDENTIFY or RESUME
 * are counted, at most 110; commands over it wait, never dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { COMMAND_GROUP, COMMAND_STREAM_MAXLEN, commandKeys, commandShard, decodeCommandEntry, encodeCommandEntry, type GatewayCommandEntry } from '../../../lib/contract/gateway-commands';
import { errorText } from '../../../shared/error-text';

/** Discord's limit of events sent per connection per window */
export const GATEWAY_SEND_LIMIT = 120;
export const COMMAND_WINDOW_MS = 60_000;
/** at most this many commands per window, whatever the heartbeat interval */
export const COMMANDS_PER_WINDOW = 110;

/** Commands per window on a connection that beats every `heartbeatMs`: what heartbeats and a (re)connect leave. */
export function commandBudget(heartbeatMs: number | undefined, windowMs = COMMAND_WINDOW_MS): number {
  // Discord's usual 41,250 ms until HELLO says otherwise; +1 heartbeat for the jittered first one, +2 for IDENTIFY/RESUME
  const heartbeats = Math.ceil(windowMs / (heartbeatMs ?? 41_250)) + 1;
  return Math.max(1, Math.min(COMMANDS_PER_WINDOW, GATEWAY_SEND_LIMIT - heartbeats - 2));
}
/** entries read ahead per shard; the rest stay in Redis until these are sent */
const READ_AHEAD = 20;

/** A shard set this task serves (AppRuntime): commands go to its shards while it is the active set. */
export interface CommandTarget {
  readonly appId: string;
  readonly key: string;
  /** 'main' for the application's active set */
  readonly budget: string;
  /** the set's shard count: which shard holds a guild */
  readonly totalShards: number;
  readonly gateway: { held(): number[]; state(shardId: number): string | undefined; heartbeatInterval(shardId: number): number | undefined; send(shardId: number, payload: GatewayCommandEntry['command']): Promise<void> };
}

export interface CommandRelayOptions {
  /**
   * a connection of its own for the blocking reads (XREADGROUP BLOCK): Redis answers a connection's
   * commands in order, so anything sent on it waits for the read to return
   */
  reader: Redis;
  /** acknowledgements, claims and groups: a connection no read blocks */
  redis: Redis;
  ns: string;
  taskId: string;
  targets: () => Iterable<CommandTarget>;
  /** whether this task still holds the shard's lease */
  holds: (key: string, shardId: number) => boolean;
  metrics: { onCommandSent(op: number, waitMs: number): void; onCommandRefused(op: number | undefined, reason: string): void };
  /** stores an entry that can never be sent, with its reason (S3) */
  deadLetter: (detail: string, raw: string) => Promise<void>;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** @default commandBudget(the connection's heartbeat interval) per 60 s */
  rate?: { limit: number; windowMs: number };
  /** how long one blocking read waits @default 1000 */
  blockMs?: number;
}

interface Pending {
  streamId: string;
  entry: GatewayCommandEntry;
}

/** One shard's queue: sends in order, within the window, only while the lease is held. */
class ShardCommands {
  readonly queue: Pending[] = [];
  private readonly sentAt: number[] = [];
  private pumping = false;
  /** the send (and acknowledgement) under way, which a hand-off waits for */
  private current: Promise<void> = Promise.resolve();

  constructor(
    readonly target: CommandTarget,
    readonly shardId: number,
    readonly stream: string,
    private readonly o: CommandRelayOptions,
  ) {}

  get held(): boolean {
    return this.target.gateway.held().includes(this.shardId) && this.o.holds(this.target.key, this.shardId);
  }

  /** ms until the window has room for one more */
  private waitForRoom(now: number): number {
    const { limit, windowMs } = this.o.rate ?? { limit: commandBudget(this.target.gateway.heartbeatInterval(this.shardId)), windowMs: COMMAND_WINDOW_MS };
    while (this.sentAt.length > 0 && (this.sentAt[0] ?? 0) <= now - windowMs) this.sentAt.shift();
    return this.sentAt.length < limit ? 0 : (this.sentAt[0] ?? now) + windowMs - now;
  }

  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.drain()
      .catch((err: unknown) => this.o.log('warn', 'the command queue of a shard stopped: it starts again with the next command', { shardId: this.shardId, error: errorText(err) }))
      .finally(() => (this.pumping = false));
  }

  private async drain(): Promise<void> {
    for (let next = this.queue[0]; next; next = this.queue[0]) {
      // a shard handed off or lost: what is queued here stays pending in Redis for its next owner
      if (!this.held) {
        this.queue.length = 0;
        return;
      }
      // queued under the shard count before a reshard switched sets: its guild is on another shard now
      const home = commandShard(next.entry.command, this.target.totalShards);
      if (home !== undefined && home !== this.shardId) {
        this.current = this.moveTo(home, next);
        if (!(await this.current.then(() => true).catch(() => false))) await sleep(500);
        continue;
      }
      const wait = this.waitForRoom(Date.now());
      if (wait > 0) {
        await sleep(wait);
        continue;
      }
      if (this.target.gateway.state(this.shardId) !== 'ready') {
        await sleep(250);
        continue;
      }
      this.current = this.sendOne(next);
      if (!(await this.current.then(() => true).catch(() => false))) await sleep(500);
    }
  }

  /** Sends the head of the queue and acknowledges it; throws (keeping it queued) when it could not go yet. */
  private async sendOne(next: Pending): Promise<void> {
    try {
      await this.target.gateway.send(this.shardId, next.entry.command);
    } catch (err) {
      this.o.log('warn', 'a gateway command could not be sent yet: retrying', { shardId: this.shardId, op: next.entry.command.op, id: next.entry.id, error: errorText(err) });
      throw err;
    }
    this.sentAt.push(Date.now());
    this.queue.shift();
    this.o.metrics.onCommandSent(next.entry.command.op, Date.now() - next.entry.queuedAt);
    await this.o.redis.xack(this.stream, COMMAND_GROUP, next.streamId);
  }

  /** Moves the head of the queue to the stream of the shard that holds its guild (it is sent from there). */
  private async moveTo(shardId: number, next: Pending): Promise<void> {
    await this.o.redis.xadd(commandKeys(this.o.ns, this.target.appId).stream(shardId), 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', ...encodeCommandEntry(next.entry));
    await this.o.redis.xack(this.stream, COMMAND_GROUP, next.streamId);
    this.queue.shift();
    this.o.log('info', 'a gateway command was queued for the shard that held its guild before a reshard: moved to the shard that holds it now', { from: this.shardId, to: shardId, op: next.entry.command.op, id: next.entry.id });
  }

  /** Resolves once no send of this shard is under way (a hand-off releases the lease only then). */
  settled(): Promise<void> {
    return this.current.catch(() => undefined);
  }
}

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

export class GatewayCommandRelay {
  private readonly shards = new Map<string, ShardCommands>();
  private readonly groups = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: CommandRelayOptions) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.reader.disconnect();
    await this.loop?.catch(() => undefined);
  }

  /** A shard is being handed off: waits for its command under way, so the next owner does not send it again. */
  async settle(appId: string, shardId: number): Promise<void> {
    await this.shards.get(commandKeys(this.o.ns, appId).stream(shardId))?.settled();
  }

  /** The queues of the shards this task holds now; new ones claim what their previous owner left pending. */
  private async current(): Promise<ShardCommands[]> {
    const live = new Set<string>();
    for (const t of this.o.targets()) {
      if (t.budget !== 'main') continue;
      for (const shardId of t.gateway.held()) {
        const stream = commandKeys(this.o.ns, t.appId).stream(shardId);
        live.add(stream);
        if (this.shards.has(stream) || !this.o.holds(t.key, shardId)) continue;
        const q = new ShardCommands(t, shardId, stream, this.o);
        this.shards.set(stream, q);
        await this.ensureGroup(stream);
        await this.claim(q);
      }
    }
    for (const stream of [...this.shards.keys()]) if (!live.has(stream)) this.shards.delete(stream);
    return [...this.shards.values()];
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.groups.has(stream)) return;
    await this.o.redis.xgroup('CREATE', stream, COMMAND_GROUP, '0', 'MKSTREAM').catch((err: unknown) => {
      if (!errorText(err).includes('BUSYGROUP')) throw err;
    });
    this.groups.add(stream);
  }

  /** Takes over every entry the shard's previous owner read but did not send. */
  private async claim(q: ShardCommands): Promise<void> {
    for (let cursor = '0-0'; ;) {
      const [next, entries] = (await this.o.redis.xautoclaim(q.stream, COMMAND_GROUP, this.o.taskId, 0, cursor, 'COUNT', 100)) as [string, Array<[string, string[]] | null>];
      for (const e of entries) if (e) await this.accept(q, e[0], e[1]);
      if (next === '0-0') break;
      cursor = next;
    }
    q.pump();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const readable = (await this.current()).filter((q) => q.queue.length < READ_AHEAD);
        if (readable.length === 0) {
          await sleep(250);
          continue;
        }
        const streams = readable.map((q) => q.stream);
        const reply = (await this.o.reader.xreadgroup('GROUP', COMMAND_GROUP, this.o.taskId, 'COUNT', READ_AHEAD, 'BLOCK', this.o.blockMs ?? 1000, 'STREAMS', ...streams, ...streams.map(() => '>'))) as StreamReply;
        for (const [stream, entries] of reply ?? []) {
          const q = this.shards.get(stream);
          if (!q) continue;
          for (const [id, fields] of entries) await this.accept(q, id, fields);
          q.pump();
        }
      } catch (err) {
        // stop() disconnects the connection a read is blocked on
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (this.stopped) return;
        this.o.log('warn', 'could not read the gateway command streams: retrying', { error: errorText(err) });
        await sleep(1000);
      }
    }
  }

  /** Queues a readable entry; one that can never be sent is dead-lettered with its reason, then acknowledged. */
  private async accept(q: ShardCommands, streamId: string, fields: string[]): Promise<void> {
    const decoded = decodeCommandEntry(fields);
    if (decoded.ok) {
      q.queue.push({ streamId, entry: decoded.entry });
      return;
    }
    this.o.metrics.onCommandRefused(undefined, 'Unreadable');
    this.o.log('error', 'a gateway command cannot be read: dead-lettered', { stream: q.stream, streamId, reason: decoded.reason });
    await this.o.deadLetter(`${q.stream} ${streamId}: ${decoded.reason}`, JSON.stringify(fields));
    await this.o.redis.xack(q.stream, COMMAND_GROUP, streamId);
  }
}
