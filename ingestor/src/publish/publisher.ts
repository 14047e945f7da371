/**
 * The adaptive PutEvents publisher.
 *
 * - Low latency at low load, full batches at high load, no fixed sleeps: when nothing is in flight a
 *   request goes out at once with whatever is queued; while requests are in flight, entries accumulate
 *   and only full batches (10 entries or the size limit) go out, up to `maxInFlight` at a time.
 * - Only the failed entries of a partial failure are retried, with exponential backoff and full
 *   jitter. ThrottlingException and InternalFailure (and whole-request errors) are retryable;
 *   InvalidArgument, MalformedDetail, AccessDeniedException and other entry errors are not: they go to
 *   the dead-letter hook with the reason (stored durably in AWS by the caller).
 * - Memory is bounded: past `bufferMaxEvents` queued entries, new ones go to the disk spool (in order),
 *   drained back when the queue has room. When the spool is full too, the publisher still keeps what
 *   it is given (the few events in flight between the signal and the socket's close) and signals
 *   backpressure, so the gateway stops reading until memory and spool are half empty again.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
import { entrySize, MAX_ENTRIES_PER_PUT, type PutEventsEntry } from '../../../lib/contract';
import type { EntryMeta, EventSender, QueuedEntry, Spool } from './types';

export interface PublisherHooks {
  accepted(meta: EntryMeta, latencyMs: number): void;
  /** refused for good by EventBridge: the caller stores it durably, then passes the watermark */
  deadLettered(meta: EntryMeta, entry: PutEventsEntry, reason: string): void;
  failedEntries(count: number, code: string): void;
  /**
   * true: memory and spool are full, so stop taking events (the gateway closes resumably and Discord
   * holds them); false: there is room again. Nothing already read is refused.
   */
  backpressure(on: boolean): void;
  /** an entry of a shard this task no longer holds, not sent (its new owner RESUMEs before it) */
  discarded?(meta: EntryMeta): void;
  requestError?(err: unknown): void;
}

export interface PublisherOptions {
  maxInFlight: number;
  bufferMaxEvents: number;
  /** bytes of entries held in memory before the spool takes over @default 32 MiB */
  bufferMaxBytes?: number;
  /** the request limit: sum of entry sizes per PutEvents @default 262144 */
  maxRequestBytes?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  random?: () => number;
  /** whether an entry may still be published (its shard's lease is held) @default always */
  mayPublish?: (meta: EntryMeta) => boolean;
}

/**
 * A FIFO with a moving head (no O(n) shifts). Taken slots are cleared at once: a slot behind the head
 * that still pointed at its entry kept the entry's Detail alive after it was published (up to 4,096
 * entries until the next compaction: after a GUILD_CREATE burst, megabytes of published guilds).
 */
class Lane {
  items: Array<QueuedEntry | undefined> = [];
  head = 0;
  bytes = 0;
  get depth(): number {
    return this.items.length - this.head;
  }
  push(q: QueuedEntry): void {
    this.items.push(q);
    this.bytes += q.size;
  }
  at(i: number): QueuedEntry | undefined {
    return this.items[this.head + i];
  }
  advance(n: number): void {
    for (let i = 0; i < n; i++) {
      this.bytes -= this.items[this.head + i]?.size ?? 0;
      this.items[this.head + i] = undefined;
    }
    this.head += n;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
  /** puts entries back at the head, in their order */
  unshift(qs: QueuedEntry[]): void {
    for (const q of qs) this.bytes += q.size;
    if (this.head >= qs.length) {
      this.head -= qs.length;
      qs.forEach((q, k) => (this.items[this.head + k] = q));
    } else {
      this.items.splice(this.head, 0, ...qs);
    }
  }
}

export const RETRYABLE_ENTRY_CODES = new Set(['ThrottlingException', 'InternalFailure', 'InternalException', 'ServiceUnavailable']);

export class Publisher {
  /** lane 0: priority (interactions: useless after Discord's 3 s window), lane 1: everything else */
  private readonly lanes: readonly [Lane, Lane] = [new Lane(), new Lane()];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly waiters: Array<() => void> = [];
  private readonly maxRequestBytes: number;
  private readonly bufferMaxBytes: number;
  private readonly now: () => number;
  private readonly random: () => number;
  /** memory and spool were full: the gateway was told to stop reading */
  private saturated = false;
  /** consecutive whole-request failures: the bus looks unavailable */
  consecutiveRequestFailures = 0;
  requests = 0;

  constructor(
    private readonly sender: EventSender,
    private readonly spool: Spool,
    private readonly hooks: PublisherHooks,
    private readonly opts: PublisherOptions,
  ) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 256 * 1024;
    this.bufferMaxBytes = opts.bufferMaxBytes ?? 32 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  get depth(): number {
    return this.lanes[0].depth + this.lanes[1].depth;
  }

  get inFlightRequests(): number {
    return this.inFlight;
  }

  get busReachable(): boolean {
    return this.consecutiveRequestFailures < 3;
  }

  /**
   * Queues an entry. Priority entries go ahead of the rest (a member storm must not hold an
   * interaction back), stay in memory and are never spooled.
   */
  enqueue(entry: PutEventsEntry, meta: EntryMeta, priority = false, size = entrySize(entry)): void {
    const item: QueuedEntry = { entry, size, meta, attempts: 0, notBefore: 0, lane: priority ? 0 : 1 };
    if (priority) this.lanes[0].push(item);
    else if (this.saturated || !this.toSpoolIfOver(item)) this.lanes[1].push(item);
    this.pump();
  }

  /** true when the item went to the spool; false when it belongs in memory (room there, or none on disk) */
  private toSpoolIfOver(item: QueuedEntry): boolean {
    const over = this.spool.depth > 0 || this.depth >= this.opts.bufferMaxEvents || this.lanes[1].bytes + item.size > this.bufferMaxBytes;
    if (!over) return false;
    // keep order: once anything is spooled, new entries queue behind it on disk
    if (this.spool.append(item)) return true;
    this.saturated = true;
    this.hooks.backpressure(true);
    return false;
  }

  /** Backpressure ends when memory and spool are both half empty (hysteresis: no flapping). */
  private releaseIfRoom(): void {
    if (!this.saturated) return;
    if (this.lanes[1].depth > this.opts.bufferMaxEvents / 2 || this.lanes[1].bytes > this.bufferMaxBytes / 2 || !this.spool.hasRoomFor(this.spool.maxBytes / 2)) return;
    this.saturated = false;
    this.hooks.backpressure(false);
  }

  get backpressured(): boolean {
    return this.saturated;
  }

  /** Resolves when nothing is queued, spooled or in flight (for shutdown and tests). */
  async drain(timeoutMs = 110_000): Promise<boolean> {
    const end = this.now() + timeoutMs;
    while (this.depth > 0 || this.inFlight > 0 || this.spool.depth > 0) {
      if (this.now() > end) return false;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
      this.pump();
    }
    return true;
  }

  private refill(): void {
    // bring spooled entries back when the memory queue has room, oldest first
    while (this.spool.depth > 0 && this.depth < this.opts.bufferMaxEvents / 2 && this.lanes[1].bytes < this.bufferMaxBytes / 2) {
      const items = this.spool.takeSegment();
      if (items.length === 0) break;
      for (const i of items) this.lanes[1].push({ ...i, lane: 1 });
    }
  }

  /** Takes the next batch from the lane heads, priority first: ready entries only, ≤10, ≤ maxRequestBytes. */
  private takeBatch(onlyFull: boolean, t: number): QueuedEntry[] | undefined {
    const batch: QueuedEntry[] = [];
    const fill = { bytes: 0, more: false };
    const takenPriority = this.takeFrom(this.lanes[0], batch, fill, t);
    const takenNormal = this.takeFrom(this.lanes[1], batch, fill, t);
    if (batch.length === 0) return undefined;
    const full = batch.length === MAX_ENTRIES_PER_PUT || fill.more;
    // a priority entry never waits for a full batch
    if (onlyFull && !full && takenPriority === 0) return undefined;
    this.lanes[0].advance(takenPriority);
    this.lanes[1].advance(takenNormal);
    return batch;
  }

  /** Adds the lane's ready head entries to the batch; returns how many. */
  private takeFrom(lane: Lane, batch: QueuedEntry[], fill: { bytes: number; more: boolean }, t: number): number {
    let taken = 0;
    for (let q = lane.at(0); q; q = lane.at(taken)) {
      if (batch.length >= MAX_ENTRIES_PER_PUT || q.notBefore > t || (fill.bytes + q.size > this.maxRequestBytes && batch.length > 0)) {
        // keep order within a lane: stop at the first entry that cannot go
        fill.more = true;
        break;
      }
      batch.push(q);
      fill.bytes += q.size;
      taken++;
    }
    return taken;
  }

  pump(): void {
    if (this.stopped) return;
    this.refill();
    // one clock reading for the whole pass: what takeBatch found not yet due is exactly what gets a
    // timer below (reading the clock twice let an entry fall due in between and get neither, so it
    // waited for the next event, forever if none came; a flaky unit test on a loaded machine showed it)
    const t = this.now();
    while (this.inFlight < this.opts.maxInFlight) {
      const batch = this.takeBatch(this.inFlight > 0, t);
      if (!batch) break;
      this.send(batch);
    }
    // a backoff at the head: come back when it is due
    const due = Math.min(...this.lanes.map((l) => l.at(0)?.notBefore ?? Infinity));
    if (Number.isFinite(due) && due > t && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, due - t);
    }
    this.releaseIfRoom();
    if (this.depth === 0 && this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
  }

  private backoff(attempts: number): number {
    const cap = Math.min(this.opts.maxBackoffMs ?? 5_000, (this.opts.baseBackoffMs ?? 50) * 2 ** Math.min(attempts, 16));
    return Math.floor(this.random() * cap);
  }

  private retry(items: QueuedEntry[]): void {
    const t = this.now();
    for (const it of items) {
      it.attempts++;
      it.notBefore = t + this.backoff(it.attempts);
    }
    // back at the head of their lane, in their original order
    for (const l of [0, 1] as const) {
      const qs = items.filter((q) => (q.lane ?? 1) === l);
      if (qs.length) this.lanes[l].unshift(qs);
    }
  }

  private send(all: QueuedEntry[]): void {
    const may = this.opts.mayPublish;
    const batch = may ? all.filter((q) => may(q.meta) || (this.hooks.discarded?.(q.meta), false)) : all;
    if (batch.length === 0) return;
    this.inFlight++;
    this.requests++;
    this.sender
      .put(batch.map((b) => b.entry))
      .then((res) => {
        this.consecutiveRequestFailures = 0;
        const again: QueuedEntry[] = [];
        const failedByCode = new Map<string, number>();
        batch.forEach((b, k) => {
          const err = res.errors[k];
          if (!err) {
            this.hooks.accepted(b.meta, this.now() - b.meta.receivedAt);
            return;
          }
          failedByCode.set(err.code, (failedByCode.get(err.code) ?? 0) + 1);
          if (RETRYABLE_ENTRY_CODES.has(err.code)) again.push(b);
          else this.hooks.deadLettered(b.meta, b.entry, `${err.code}: ${err.message ?? ''}`.trim());
        });
        for (const [code, n] of failedByCode) this.hooks.failedEntries(n, code);
        if (again.length) this.retry(again);
      })
      .catch((err: unknown) => {
        this.consecutiveRequestFailures++;
        this.hooks.requestError?.(err);
        this.hooks.failedEntries(batch.length, err instanceof Error ? err.name : 'RequestError');
        this.retry(batch);
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }

  /** No more requests from here on (what is still queued stays where it is; the resume point is before it). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
