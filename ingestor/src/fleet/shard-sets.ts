/**
 * Which shard set of an application the fleet runs, kept in Redis so every task agrees: the active
 * set (shard count + the key its leases and resume points live under) and, during a reshard, the next
 * set that runs beside it until every one of its shards is READY (docs/architecture.md, Resharding).
 * The active count is also what the gateway-command path routes by: shard = (guild_id >> 22) % count.
 */
import type Redis from 'ioredis';
import { z } from 'zod';
import { commandKeys } from '../../../lib/contract/gateway-commands';

export const ShardSetSchema = z.object({
  /** the shard count of the set */
  count: z.number().int().min(1),
  /** the key its leases and resume points live under: the application id for the first set, `<app id>~<count>` after */
  key: z.string().min(1),
  /** when it was requested (next) or became active (ms epoch) */
  since: z.number().int().nonnegative(),
});
export type ShardSet = z.infer<typeof ShardSetSchema>;

export interface ShardSetState {
  active: ShardSet | undefined;
  next: ShardSet | undefined;
}

export const shardSetKeys = (ns: string, appId: string) => ({
  active: `${ns}:{${appId}}:shard-set`,
  next: `${ns}:{${appId}}:reshard`,
  /** the active count alone: what the gateway-command senders read (the contract's key) */
  shardCount: commandKeys(ns, appId).shardCount(),
  ready: (count: number, shardId: number) => `${ns}:{${appId}}:ready:${count}:${shardId}`,
});

/** A reshard is requested only beyond the active count and only when none is under way. */
const REQUEST = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local active = redis.call('GET', KEYS[1])
if active and cjson.decode(active).count >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1`;

/** The switch: the next set becomes the active one, only if it is still the one that was checked. */
const SWITCH = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('DEL', KEYS[2])
return 1`;

export const nextSetKey = (appId: string, count: number) => `${appId}~${count}`;

export class ShardSets {
  private readonly keys: ReturnType<typeof shardSetKeys>;
  /** the raw `next` value last read, for the compare-and-set of the switch */
  private nextRaw: string | null = null;

  constructor(
    private readonly redis: Redis,
    ns: string,
    readonly appId: string,
    private readonly log: (msg: string, extra?: Record<string, unknown>) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = shardSetKeys(ns, appId);
  }

  private parse(raw: string | null, which: string): ShardSet | undefined {
    if (raw === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    const r = ShardSetSchema.safeParse(value);
    if (!r.success) this.log('the stored shard set is unreadable: treated as absent', { appId: this.appId, which });
    return r.success ? r.data : undefined;
  }

  async read(): Promise<ShardSetState> {
    const [active, next] = await this.redis.mget(this.keys.active, this.keys.next);
    this.nextRaw = next ?? null;
    return { active: this.parse(active ?? null, 'active'), next: this.parse(next ?? null, 'next') };
  }

  /**
   * The active set at start: the stored one when the count is Discord's to choose (`fixed` undefined),
   * else the configured count (a configuration change wins). Writes the count the command path reads.
   */
  async ensureActive(count: number, fixed: boolean): Promise<ShardSet> {
    const first: ShardSet = { count, key: this.appId, since: this.now() };
    if (fixed) {
      const stored = (await this.read()).active;
      const set = stored?.count === count ? stored : first;
      await this.redis.mset(this.keys.active, JSON.stringify(set), this.keys.shardCount, String(set.count));
      return set;
    }
    await this.redis.set(this.keys.active, JSON.stringify(first), 'NX');
    const active = (await this.read()).active ?? first;
    await this.redis.set(this.keys.shardCount, String(active.count));
    return active;
  }

  /** Asks the fleet to reshard to `count`; false when a reshard is under way or the count is not larger. */
  async request(count: number): Promise<boolean> {
    const next: ShardSet = { count, key: nextSetKey(this.appId, count), since: this.now() };
    return (await this.redis.eval(REQUEST, 2, this.keys.active, this.keys.next, JSON.stringify(next), count)) === 1;
  }

  /** The owner of a shard of the next set says it is READY (refreshed while it stays so). */
  async markReady(count: number, shardId: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.keys.ready(count, shardId), '1', 'PX', ttlMs);
  }

  async allReady(count: number): Promise<boolean> {
    const marks = await this.redis.mget(Array.from({ length: count }, (_, i) => this.keys.ready(count, i)));
    return marks.every((m) => m === '1');
  }

  /** Makes `next` the active set; false if another task already did (or the reshard changed). */
  async switchOver(next: ShardSet): Promise<boolean> {
    if (this.nextRaw === null) return false;
    const active: ShardSet = { ...next, since: this.now() };
    return (await this.redis.eval(SWITCH, 3, this.keys.active, this.keys.next, this.keys.shardCount, this.nextRaw, JSON.stringify(active), String(next.count))) === 1;
  }
}
