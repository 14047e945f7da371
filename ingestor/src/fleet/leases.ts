/**
 * Shard leases with fencing: each (application, shard) is owned by one task at a time through a
 * Redis key with a TTL, and a token from a counter that only grows. Renewing, releasing and every
 * write of the resume point are compare-and-set on "task:token" (Lua, atomic in Redis), so a task
 * that lost its lease (paused, cut off) can neither extend it nor move the resume point.
 *
 * Locally, a lease counts as held only until `renewedAt + ttl - margin` on the monotonic clock: a
 * task that was paused past that (SIGSTOP, a long GC, a frozen VM) knows it may have lost the lease
 * before Redis tells it, and publishes nothing for that shard (`holds`).
 * https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html (fencing tokens)
 */
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';

/** KEYS: lease, fence. ARGV: task id, ttl ms. Returns the new token, or nil when someone holds it. */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token`;
/** KEYS: lease. ARGV: owner ("task:token"), ttl ms. 1 when renewed. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
/** KEYS: lease. ARGV: owner. 1 when released. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
/** KEYS: lease, target. ARGV: owner, value, ttl s. Sets target only while the owner holds the lease. */
const FENCED_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1`;
/** KEYS: lease, target. ARGV: owner. Deletes target only while the owner holds the lease. */
const FENCED_DEL = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
return 1`;

export interface LeaseOptions {
  /** @default 10000 */
  ttlMs?: number;
  /** a lease counts as held locally until this long before its TTL ends @default 2000 */
  marginMs?: number;
  /** monotonic clock, ms @default performance.now */
  now?: () => number;
}

export interface Lease {
  appId: string;
  shardId: number;
  token: number;
  /** monotonic ms until which the lease counts as held here */
  validUntil: number;
}

/** Keys of one application share its hash tag, so the Lua scripts touch one Redis Cluster slot. */
export const appKeys = (ns: string, appId: string) => ({
  lease: (shardId: number) => `${ns}:{${appId}}:lease:${shardId}`,
  fence: (shardId: number) => `${ns}:{${appId}}:fence:${shardId}`,
  session: (shardId: number) => `${ns}:{${appId}}:shard:${shardId}`,
  identify: (bucket: number) => `${ns}:{${appId}}:identify:${bucket}`,
  sessionStarts: () => `${ns}:{${appId}}:session-starts`,
});
const id = (appId: string, shardId: number) => `${appId}/${shardId}`;

export class ShardLeases {
  private readonly held = new Map<string, Lease>();
  readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  renewFailures = 0;

  constructor(
    private readonly redis: Redis,
    readonly taskId: string,
    /** key namespace @default gw */
    private readonly ns = 'gw',
    opts: LeaseOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.marginMs = opts.marginMs ?? Math.min(2_000, Math.floor(this.ttlMs / 4));
    this.now = opts.now ?? (() => performance.now());
  }

  private owner(l: Pick<Lease, 'token'>): string {
    return `${this.taskId}:${l.token}`;
  }

  /** Takes the lease if nobody holds it; the new fencing token, or undefined. */
  async acquire(appId: string, shardId: number): Promise<Lease | undefined> {
    const t0 = this.now();
    const token = (await this.redis.eval(ACQUIRE, 2, appKeys(this.ns, appId).lease(shardId), appKeys(this.ns, appId).fence(shardId), this.taskId, this.ttlMs)) as number | null;
    if (token === null) return undefined;
    const lease = { appId, shardId, token, validUntil: t0 + this.ttlMs - this.marginMs };
    this.held.set(id(appId, shardId), lease);
    return lease;
  }

  /** How many of the set's shards have a live lease (any task's): the dashboard's owned / unowned. */
  async countOwned(key: string, shardCount: number): Promise<number> {
    const keys = appKeys(this.ns, key);
    const owners = await this.redis.mget(Array.from({ length: shardCount }, (_, i) => keys.lease(i)));
    return owners.filter((o) => o !== null).length;
  }

  /** Renews every held lease; returns the ones that were lost (someone else has them, or they expired). */
  async renewAll(): Promise<Lease[]> {
    const lost: Lease[] = [];
    for (const l of [...this.held.values()]) {
      const t0 = this.now();
      let ok = false;
      try {
        ok = (await this.redis.eval(RENEW, 1, appKeys(this.ns, l.appId).lease(l.shardId), this.owner(l), this.ttlMs)) === 1;
      } catch {
        this.renewFailures++;
        // Redis unreachable: the lease stays ours only until its local validity ends
        if (this.now() < l.validUntil) continue;
      }
      if (ok) l.validUntil = t0 + this.ttlMs - this.marginMs;
      else {
        this.renewFailures++;
        this.held.delete(id(l.appId, l.shardId));
        lost.push(l);
      }
    }
    return lost;
  }

  /** Whether this task may act for the shard now (publish, persist, connect). */
  holds(appId: string, shardId: number): boolean {
    const l = this.held.get(id(appId, shardId));
    return !!l && this.now() < l.validUntil;
  }

  get(appId: string, shardId: number): Lease | undefined {
    return this.held.get(id(appId, shardId));
  }

  list(): Lease[] {
    return [...this.held.values()];
  }

  async release(appId: string, shardId: number): Promise<void> {
    const l = this.held.get(id(appId, shardId));
    if (!l) return;
    this.held.delete(id(appId, shardId));
    await this.redis.eval(RELEASE, 1, appKeys(this.ns, appId).lease(shardId), this.owner(l));
  }

  /** Forgets a lease locally without touching Redis (it was lost). */
  drop(appId: string, shardId: number): void {
    this.held.delete(id(appId, shardId));
  }

  /** SET key value EX ttl, only while this task holds the shard's lease. */
  async fencedSet(appId: string, shardId: number, key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const l = this.held.get(id(appId, shardId));
    if (!l || this.now() >= l.validUntil) return false;
    return (await this.redis.eval(FENCED_SET, 2, appKeys(this.ns, appId).lease(shardId), key, this.owner(l), value, ttlSeconds)) === 1;
  }

  async fencedDel(appId: string, shardId: number, key: string): Promise<boolean> {
    const l = this.held.get(id(appId, shardId));
    if (!l || this.now() >= l.validUntil) return false;
    return (await this.redis.eval(FENCED_DEL, 2, appKeys(this.ns, appId).lease(shardId), key, this.owner(l))) === 1;
  }
}
