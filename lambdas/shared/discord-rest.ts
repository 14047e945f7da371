/**
 * Bot-token REST calls that share Discord's rate limits across every worker container through Redis.
 * https://discord.com/developers/docs/topics/rate-limits
 *
 * @discordjs/rest honours rate-limit headers and 429 `retry_after` within one process; Lambda runs
 * many processes behind one NAT IP, and Discord bans an IP after 10,000 invalid requests (401, 403,
 * 429) in 10 minutes (DESIGN.md section 7). So before each request a Lua script in Redis takes a
 * permit from the global window (50 requests per second per bot by default) and from the route
 * bucket's shared state, which every container updates from the response headers. A request that
 * gets no permit waits the time the script returns. Interaction callbacks do not come here: they use
 * the interaction token and are exempt from the global limit.
 */
import type { REST, RequestData, RouteLike } from '@discordjs/rest';
import type Redis from 'ioredis';

const ACQUIRE = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local rem = redis.call('HGET', KEYS[2], 'remaining')
local reset = redis.call('HGET', KEYS[2], 'reset_at')
if rem and reset and tonumber(reset) > now and tonumber(rem) <= 0 then
  return tonumber(reset) - now
end
-- a sliding window: at most limit requests in any window ms, so whatever window Discord counts in
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window * 2)
if rem and reset and tonumber(reset) > now then
  redis.call('HINCRBY', KEYS[2], 'remaining', -1)
end
return 0
`;

/** The rate-limit bucket of a request: method + route with the major parameter kept and other ids generalized. */
export function bucketKey(method: string, path: string): string {
  const generalized = path.replace(/^(\/(?:channels|guilds|webhooks)\/\d+)|\/\d{16,20}/g, (m, major: string | undefined) => major ?? '/:id');
  return `${method.toUpperCase()} ${generalized}`;
}

export interface SharedRateLimitOptions {
  /** requests per window across all containers @default 50 */
  globalLimit?: number;
  /** @default 1000 */
  globalWindowMs?: number;
  /**
   * Added to the window: a permit is taken before the request travels, so requests granted a window
   * apart can still arrive closer together at Discord. @default 250
   */
  safetyMarginMs?: number;
  /** Redis key prefix (one per bot) @default 'discord:rl' */
  prefix?: string;
  now?: () => number;
}

export class SharedRateLimitedRest {
  waits = 0;
  waitedMs = 0;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(
    private readonly rest: REST,
    private readonly redis: Redis,
    opts: SharedRateLimitOptions = {},
  ) {
    this.limit = opts.globalLimit ?? 50;
    this.windowMs = (opts.globalWindowMs ?? 1000) + (opts.safetyMarginMs ?? 250);
    this.prefix = opts.prefix ?? 'discord:rl';
    this.now = opts.now ?? Date.now;
    // learn every bucket's state from the headers, for all containers
    rest.on('response', (req, res) => {
      const remaining = res.headers.get('x-ratelimit-remaining');
      const resetAfter = res.headers.get('x-ratelimit-reset-after');
      if (remaining === null || resetAfter === null) return;
      const key = `${this.prefix}:bucket:${bucketKey(req.method, String(req.path))}`;
      const resetAt = this.now() + Math.ceil(Number(resetAfter) * 1000);
      void this.redis
        .multi()
        .hset(key, 'remaining', remaining, 'reset_at', String(resetAt))
        .pexpire(key, Math.max(1000, resetAt - this.now() + 1000))
        .exec()
        .catch(() => undefined);
    });
  }

  /** Waits for a permit for this request (global window and route bucket), shared through Redis. */
  async acquire(method: string, path: string): Promise<void> {
    const bucket = `${this.prefix}:bucket:${bucketKey(method, path)}`;
    for (;;) {
      const id = `${this.now()}-${Math.random().toString(36).slice(2)}`;
      const wait = Number(await this.redis.eval(ACQUIRE, 2, `${this.prefix}:global`, bucket, String(this.now()), String(this.limit), String(this.windowMs), id));
      if (wait <= 0) return;
      this.waits++;
      this.waitedMs += wait;
      // a little jitter so waiting containers do not all come back in the same millisecond
      await new Promise((r) => setTimeout(r, wait + Math.floor(Math.random() * 20)));
    }
  }

  async put(route: RouteLike, options: RequestData = {}): Promise<unknown> {
    await this.acquire('PUT', route);
    return this.rest.put(route, options);
  }

  async delete(route: RouteLike, options: RequestData = {}): Promise<unknown> {
    await this.acquire('DELETE', route);
    return this.rest.delete(route, options);
  }

  async post(route: RouteLike, options: RequestData = {}): Promise<unknown> {
    await this.acquire('POST', route);
    return this.rest.post(route, options);
  }
}
