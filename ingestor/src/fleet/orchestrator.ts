/**
 * The fleet loop of one task: renew the leases it holds (a lost one stops its shard at once), take
 * free leases up to SHARDS_PER_TASK across every application, and on shutdown hand its shards off
 * one at a time (drain, persist, close resumably, release), so the next owner RESUMEs each within
 * moments. Several tasks run this loop against the same Redis; the leases decide who owns what.
 */
import type { Lease, ShardLeases } from './leases';

/** What the loop needs of one application served by this task (AppRuntime). */
export interface FleetApp {
  readonly appId: string;
  /** the shard set's key: the leases are taken under it (the application id, or `<app id>~<count>` after a reshard) */
  readonly key: string;
  /**
   * whose SHARDS_PER_TASK budget its shards count against: a set started by a reshard runs beside the
   * active one and has a budget of its own until the switch
   */
  readonly budget: string;
  /** the shards of this application this task may take */
  readonly candidates: readonly number[];
  /** a lease was taken: start the shard (resolves when it is READY) */
  take(shardId: number, lease: Lease): Promise<void>;
  /** the lease was lost: stop the shard, publish and persist nothing more for it */
  lose(shardId: number): Promise<void>;
  /** leaving: drain, persist, close resumably; the caller releases the lease */
  handOff(shardId: number): Promise<void>;
}

export interface FleetOptions {
  leases: ShardLeases;
  apps: () => Iterable<FleetApp>;
  maxShards: number;
  /** @default 250 */
  tickMs?: number;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export class Fleet {
  taken = 0;
  lost = 0;
  handOffs = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly starting = new Set<Promise<void>>();
  /** where each application's scan for free shards starts, so tasks do not all race for shard 0 */
  private readonly offset = Math.floor(Math.random() * 1_000_000);

  constructor(private readonly o: FleetOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 250);
  }

  private app(key: string): FleetApp | undefined {
    for (const a of this.o.apps()) if (a.key === key) return a;
    return undefined;
  }

  /** One pass: renew, stop what was lost, take free shards. Never two passes at once. */
  tick(): Promise<void> {
    this.ticking ??= this.pass().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    const { leases } = this.o;
    for (const l of await leases.renewAll()) {
      this.lost++;
      this.o.log('warn', 'a shard lease was lost: stopping the shard (another task owns it now)', { appId: l.appId, shardId: l.shardId, token: l.token });
      await this.app(l.appId)?.lose(l.shardId);
    }
    // (the shards of an application removed from the registry are handed off by the registry sync,
    // which releases their leases only once each is drained and its resume point written)
    const apps = [...this.o.apps()];
    const budgetOf = new Map(apps.map((a) => [a.key, a.budget]));
    const room = new Map<string, number>();
    for (const l of leases.list()) {
      const b = budgetOf.get(l.appId) ?? 'main';
      room.set(b, (room.get(b) ?? this.o.maxShards) - 1);
    }
    for (const app of apps) {
      const n = app.candidates.length;
      const start = n > 0 ? this.offset % n : 0;
      for (const shardId of [...app.candidates.slice(start), ...app.candidates.slice(0, start)]) {
        // stop() may have been called during an await of this loop
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if ((room.get(app.budget) ?? this.o.maxShards) <= 0 || this.stopped) break;
        if (leases.get(app.key, shardId)) continue;
        const lease = await leases.acquire(app.key, shardId).catch(() => undefined);
        if (!lease) continue;
        room.set(app.budget, (room.get(app.budget) ?? this.o.maxShards) - 1);
        this.taken++;
        this.o.log('info', 'took a shard lease', { appId: app.appId, setKey: app.key, shardId, token: lease.token });
        const started = app.take(shardId, lease).finally(() => this.starting.delete(started));
        this.starting.add(started);
      }
    }
  }

  /** Resolves when every shard taken so far is READY (or failed for good). */
  async started(): Promise<void> {
    while (this.starting.size > 0) await Promise.all(this.starting);
  }

  /** Leaving: hand every held shard off, one at a time, then stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const l of this.o.leases.list()) {
      const app = this.app(l.appId);
      if (app) await app.handOff(l.shardId);
      await this.o.leases.release(l.appId, l.shardId);
      this.handOffs++;
    }
  }

  /** A crash: stop renewing, release nothing (the leases expire after their TTL). */
  kill(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
