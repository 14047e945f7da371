/**
 * Resharding without losing events (docs/architecture.md, Resharding). When Discord asks for more
 * shards (close 4011, or GET /gateway/bot recommends more than the active count), one task records
 * the request in Redis; every task then starts the new shard set beside the active one (its leases,
 * budget and resume points under their own key) and takes its shards like any other. Both sets
 * receive every event of their guilds, so while they overlap envelope ids are made from content and
 * the workers' dedupe absorbs the copies. When every shard of the new set is READY, one task switches
 * the active set in Redis; each task then ends the old set's sessions (after publishing what they
 * received) and releases its leases.
 */
import type { ShardLeases } from './leases';
import { ShardSets, type ShardSet, type ShardSetState } from './shard-sets';

/** What the controller needs of one shard set served by this task (AppRuntime). */
export interface ReshardableSet {
  readonly appId: string;
  readonly key: string;
  readonly totalShards: number;
  budget: string;
  contentIds: boolean;
  /** ms epoch before which the set's shards do not connect */
  connectAfter: number;
  readonly gateway: { held(): number[]; state(shardId: number): string | undefined };
  recommendedShards(): Promise<number>;
  retire(): Promise<void>;
}

export interface ReshardingOptions<S extends ReshardableSet> {
  sets: Map<string, S>;
  /** one ShardSets per application whose shard count is Discord's to choose */
  registry: (appId: string) => ShardSets | undefined;
  /** starts the runtime of a new shard set of the application */
  start: (appId: string, set: ShardSet) => Promise<S>;
  leases: ShardLeases;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** how long after the switch envelope ids stay content-based (the old set may still be publishing) @default 60000 */
  overlapGraceMs?: number;
  /** how long after a reshard is requested its new set connects: every task's loop has switched the old set to content ids by then @default 5000 */
  settleMs?: number;
  now?: () => number;
}

export class Resharding<S extends ReshardableSet> {
  requested = 0;
  switched = 0;
  retired = 0;
  private readonly retiring = new Set<string>();
  private ticking: Promise<void> | undefined;

  constructor(private readonly o: ReshardingOptions<S>) {}

  private appIds(): Set<string> {
    return new Set([...this.o.sets.values()].map((s) => s.appId));
  }

  /** Asks for a reshard to `count` (or Discord's recommendation when larger). */
  async request(appId: string, atLeast: number): Promise<void> {
    const sets = this.o.registry(appId);
    const active = [...this.o.sets.values()].find((s) => s.appId === appId && s.budget === 'main');
    if (!sets || !active) return;
    const recommended = await active.recommendedShards().catch(() => 0);
    const count = Math.max(atLeast, recommended);
    if (await sets.request(count)) {
      this.requested++;
      this.o.log('warn', 'resharding: starting a new shard set beside the active one', { appId, from: active.totalShards, to: count });
    }
  }

  /** Close 4011: Discord will not IDENTIFY this shard count any more. */
  shardingRequired(appId: string): void {
    const active = [...this.o.sets.values()].find((s) => s.appId === appId && s.budget === 'main');
    void this.request(appId, (active?.totalShards ?? 1) * 2).catch((err: unknown) => this.o.log('warn', 'could not request a reshard', { appId, error: String(err) }));
  }

  /** Periodic check of Discord's recommendation. */
  async checkRecommendations(): Promise<void> {
    for (const appId of this.appIds()) {
      const active = [...this.o.sets.values()].find((s) => s.appId === appId && s.budget === 'main');
      if (!active || !this.o.registry(appId)) continue;
      const recommended = await active.recommendedShards().catch(() => 0);
      if (recommended > active.totalShards) await this.request(appId, recommended);
    }
  }

  /** One pass: follow the state in Redis for every application (never two passes at once). */
  tick(): Promise<void> {
    this.ticking ??= this.pass().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async pass(): Promise<void> {
    for (const appId of this.appIds()) {
      const sets = this.o.registry(appId);
      if (!sets) continue;
      const state = await sets.read();
      if (!state.active) continue;
      await this.follow(appId, sets, state);
    }
  }

  private async follow(appId: string, sets: ShardSets, state: ShardSetState): Promise<void> {
    const { active, next } = state;
    if (!active) return;
    const now = (this.o.now ?? Date.now)();
    // content ids while two sets run: during the reshard, and for a grace period after the switch
    // (the old set's last events are still being published); never for the application's first set
    const overlap = next !== undefined || (active.key !== appId && now - active.since < (this.o.overlapGraceMs ?? 60_000));
    // the sets this task already runs switch to content ids before anything else (the new set's first
    // events must find them switched)
    for (const s of this.o.sets.values()) if (s.appId === appId) s.contentIds = overlap;
    if (next && !this.o.sets.has(next.key)) {
      const started = await this.o.start(appId, next);
      started.budget = next.key;
      started.contentIds = true;
      // the new set connects only once every task has had time to see the reshard (its loop runs every second)
      started.connectAfter = next.since + (this.o.settleMs ?? 5_000);
      this.o.sets.set(next.key, started);
      this.o.log('info', 'resharding: serving the new shard set', { appId, setKey: next.key, shards: next.count });
    }
    for (const [key, s] of this.o.sets) {
      if (s.appId !== appId) continue;
      s.contentIds = overlap;
      if (key === active.key) s.budget = 'main';
      else if (key !== next?.key) this.retire(key, s);
    }
    if (next) await this.reportReady(sets, next);
    if (next && (await sets.allReady(next.count)) && (await sets.switchOver(next))) {
      this.switched++;
      this.o.log('info', 'resharding: every shard of the new set is READY: it is the active set now', { appId, shards: next.count, setKey: next.key });
    }
  }

  /** The shards of the next set this task holds and has READY. */
  private async reportReady(sets: ShardSets, next: ShardSet): Promise<void> {
    const s = this.o.sets.get(next.key);
    if (!s) return;
    for (const shardId of s.gateway.held()) {
      if (s.gateway.state(shardId) === 'ready' && this.o.leases.holds(next.key, shardId)) await sets.markReady(next.count, shardId, this.o.leases.ttlMs * 2);
    }
  }

  /** Ends the old set's sessions on this task (once), then forgets the set. */
  private retire(key: string, s: S): void {
    if (this.retiring.has(key)) return;
    this.retiring.add(key);
    this.o.log('info', 'resharding: stopping the old shard set', { appId: s.appId, setKey: key, shards: s.totalShards, held: s.gateway.held().length });
    void s
      .retire()
      .then(() => {
        this.retired++;
        this.o.sets.delete(key);
      })
      .catch((err: unknown) => this.o.log('error', 'could not stop the old shard set', { setKey: key, error: String(err) }))
      .finally(() => this.retiring.delete(key));
  }
}
