/**
 * Bot-token REST calls that share Discord's rate limits across every worker container through Redis.
 * https://discord.com/developers/docs/topics/rate-limits
 *
 * @discordjs/rest honours rate-limit headers and 429 `retry_after` within one process; Lambda runs
 * many processes behind one NAT IP, and Discord bans an IP after 10,000 invalid requests (401, 403,
 * 429) in 10 minutes (docs/architecture.md, limits). So before each request a Lua script (atomic in Redis)
 * takes a permit from
 * - the global limit: a sliding window, 50 requests per second per bot by default, plus a block set
 *   by a global 429 for its `retry_after`;
 * - the route's bucket: Discord's bucket hash (X-RateLimit-Bucket) + major parameter, with the
 *   remaining count and reset time every container learns from X-RateLimit-Remaining/Reset-After.
 *   A bucket nobody has seen yet lets one probe through at a time until its headers are known.
 * A request that gets no permit waits the time the script returns. A 429 that still happens (a shared
 * or unknown sublimit) blocks the bucket (or everything, when global) for all containers, and
 * @discordjs/rest retries it after `retry_after`.
 * Interaction callbacks do not come here: they use the interaction token and are exempt.
 */
import type { REST, RequestData, RouteLike } from '@discordjs/rest';
import type Redis from 'ioredis';

/**
 * KEYS: global window (zset), global block (string: until ms), route bucket (hash), token-rejected flag
 * ARGV: now, global limit, global window ms, permit id, probe ms, safety margin ms
 * Returns 0 for a permit, -1 while the bot token is marked rejected, else the ms to wait.
 */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked > now then return blocked - now end
local b = redis.call('HMGET', KEYS[3], 'limit', 'remaining', 'reset_at', 'window', 'probe_until')
local limit, rem, reset, win, probe = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4]), tonumber(b[5])
local take
if not limit then
  if probe and probe > now then return math.min(50, probe - now) end
  take = 'probe'
elseif reset and reset > now then
  if rem <= 0 then return reset - now end
  take = 'dec'
else
  take = 'fresh'
end
local window = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window * 2)
if take == 'probe' then
  redis.call('HSET', KEYS[3], 'probe_until', now + tonumber(ARGV[5]))
elseif take == 'dec' then
  redis.call('HINCRBY', KEYS[3], 'remaining', -1)
else
  -- the old window is over: Discord starts a new one when this request arrives, so it ends no later
  -- than now + its length (+ margin for the request's travel time)
  redis.call('HSET', KEYS[3], 'remaining', limit - 1, 'reset_at', now + (win or 1000) + tonumber(ARGV[6]))
end
redis.call('PEXPIRE', KEYS[3], 600000)
return 0
`;

/**
 * What a response teaches about its bucket. KEYS: route bucket (hash)
 * ARGV: now, limit, remaining, reset_at (ms), reset-after (ms), safety margin (ms)
 * Grants since the response was sent are already counted here, so a header never raises the
 * remaining count of the window we are in; a response from an older window is ignored.
 */
const UPDATE = `
local now = tonumber(ARGV[1])
local hlimit, hrem, hreset, hafter = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local b = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset_at', 'window')
local limit, rem, reset, win = tonumber(b[1]), tonumber(b[2]), tonumber(b[3]), tonumber(b[4])
win = math.max(win or 0, hafter)
if not limit or not reset or reset <= now then
  rem, reset = hrem, hreset
elseif hreset < reset - tonumber(ARGV[6]) - win / 2 then
  -- stale: from a window that ended before the one we count in
else
  rem, reset = math.min(rem, hrem), math.max(reset, hreset)
end
redis.call('HSET', KEYS[1], 'limit', hlimit, 'remaining', rem, 'reset_at', reset, 'window', win)
redis.call('HDEL', KEYS[1], 'probe_until')
redis.call('PEXPIRE', KEYS[1], 600000)
return rem
`;

/** Blocks a bucket after a route 429. KEYS: bucket; ARGV: until (ms) */
const BLOCK = `
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset_at') or '0')
redis.call('HSET', KEYS[1], 'remaining', 0, 'reset_at', math.max(reset, tonumber(ARGV[1])))
redis.call('HDEL', KEYS[1], 'probe_until')
redis.call('PEXPIRE', KEYS[1], 600000)
return 0
`;

/**
 * A request's route with every id generalized (how Discord maps requests to a bucket hash) and its
 * major parameter (channel, guild or webhook id), which splits one bucket hash into buckets.
 */
export function routeOf(method: string, path: string): { route: string; major: string } {
  const clean = (path.split('?')[0] ?? '').replace(/\/+$/, '');
  const major = /^\/(?:channels|guilds|webhooks)\/(\d+)/.exec(clean)?.[1] ?? 'global';
  // reactions share one bucket whatever the emoji
  const route = clean.replace(/\/reactions\/.*/, '/reactions/:reaction').replace(/\/\d{16,20}(?=\/|$)/g, '/:id');
  return { route: `${method.toUpperCase()} ${route}`, major };
}

export interface SharedRateLimitOptions {
  /** requests per window across all containers @default 50 */
  globalLimit?: number;
  /** @default 1000 */
  globalWindowMs?: number;
  /**
   * Added to windows we cannot read from headers: a permit is taken before the request travels, so
   * requests granted a window apart can still arrive closer together at Discord. @default 250
   */
  safetyMarginMs?: number;
  /** how long an unknown bucket's probe holds other requests back when no response comes @default 5000 */
  probeMs?: number;
  /** Redis key prefix (one per bot) @default 'discord:rl' */
  prefix?: string;
  /**
   * After a 401 every container stops sending for this long: a rejected token would otherwise make
   * each retry an invalid request, and 10,000 in 10 minutes get the NAT's IP banned. @default 60000
   */
  unauthorizedPauseMs?: number;
  /** called once per container and 401 episode, e.g. to read a rotated token again */
  onUnauthorized?: () => Promise<void>;
  now?: () => number;
}

interface ResponseLike {
  status: number;
  headers: { get(name: string): string | null };
}

export class BotTokenRejectedError extends Error {
  constructor(readonly retryInMs: number) {
    super(`Discord rejected the bot token (401): bot-token requests are paused for every container for ${Math.ceil(retryInMs / 1000)} s ` + 'to stay clear of the invalid-request ban; put a valid token in the secret at DISCORD_TOKEN_SECRET_ARN (it is read again)');
    this.name = 'BotTokenRejectedError';
  }
}

export class SharedRateLimitedRest {
  /** how often and how long this container waited for a permit */
  waits = 0;
  waitedMs = 0;
  /** 429s this container received (should stay near zero) */
  rateLimited = 0;
  /** 401s this container received */
  unauthorized = 0;
  private readonly pauseMs: number;
  private readonly onUnauthorized?: () => Promise<void>;
  /** the 401 episode (flag value) this container already reacted to */
  private handledEpisode: string | null = null;
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly marginMs: number;
  private readonly probeMs: number;
  private readonly prefix: string;
  private readonly now: () => number;
  /** route -> Discord's bucket hash, learned from X-RateLimit-Bucket (also kept in Redis) */
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly rest: REST,
    private readonly redis: Redis,
    opts: SharedRateLimitOptions = {},
  ) {
    this.limit = opts.globalLimit ?? 50;
    this.marginMs = opts.safetyMarginMs ?? 250;
    this.windowMs = (opts.globalWindowMs ?? 1000) + this.marginMs;
    this.probeMs = opts.probeMs ?? 5000;
    this.prefix = opts.prefix ?? 'discord:rl';
    this.now = opts.now ?? Date.now;
    this.pauseMs = opts.unauthorizedPauseMs ?? 60_000;
    this.onUnauthorized = opts.onUnauthorized;
    // every response teaches all containers about its bucket (also 429s, which @discordjs/rest retries)
    rest.on('response', (req, res) => {
      void this.learn(req.method, req.path, res).catch(() => undefined);
    });
  }

  private bucketKey(route: string, major: string, hash: string | undefined): string {
    return hash ? `${this.prefix}:b:${hash}:${major}` : `${this.prefix}:r:${route}:${major}`;
  }

  private async hashOf(route: string): Promise<string | undefined> {
    let h = this.hashes.get(route);
    if (h === undefined) {
      h = (await this.redis.get(`${this.prefix}:hash:${route}`)) ?? undefined;
      if (h) this.hashes.set(route, h);
    }
    return h;
  }

  /** Records what a response says about its bucket (and the global limit) in Redis. */
  async learn(method: string, path: string, res: ResponseLike): Promise<void> {
    const { route, major } = routeOf(method, path);
    const hash = res.headers.get('x-ratelimit-bucket') ?? undefined;
    const key = this.bucketKey(route, major, hash ?? (await this.hashOf(route)));
    try {
      await this.record(key, res);
    } finally {
      // publish the route's hash only after its bucket holds state, so no container probes it twice
      if (hash && this.hashes.get(route) !== hash) {
        this.hashes.set(route, hash);
        await this.redis.set(`${this.prefix}:hash:${route}`, hash, 'EX', 86_400);
      }
    }
  }

  private async record(key: string, res: ResponseLike): Promise<void> {
    const now = this.now();
    if (res.status === 401) {
      this.unauthorized++;
      await this.redis.set(`${this.prefix}:unauthorized`, String(now), 'PX', this.pauseMs);
      return;
    }
    if (res.status === 429) {
      this.rateLimited++;
      const retryMs = Math.ceil(Number(res.headers.get('retry-after') ?? '1') * 1000);
      if (res.headers.get('x-ratelimit-global') === 'true' || res.headers.get('x-ratelimit-scope') === 'global') {
        await this.redis.set(`${this.prefix}:global:block`, String(now + retryMs), 'PX', retryMs + 1000);
        return;
      }
      const after = Number(res.headers.get('x-ratelimit-reset-after') ?? retryMs / 1000);
      await this.redis.eval(BLOCK, 1, key, String(now + Math.ceil(Math.max(after * 1000, 1)) + this.marginMs));
      return;
    }
    const limit = res.headers.get('x-ratelimit-limit');
    const remaining = res.headers.get('x-ratelimit-remaining');
    const resetAfter = res.headers.get('x-ratelimit-reset-after');
    if (limit === null || remaining === null || resetAfter === null) {
      // no rate-limit headers (an error before the limiter, for one): let the next probe go
      await this.redis.hdel(key, 'probe_until');
      return;
    }
    const afterMs = Math.ceil(Number(resetAfter) * 1000);
    await this.redis.eval(UPDATE, 1, key, String(now), limit, remaining, String(now + afterMs), String(afterMs), String(this.marginMs));
  }

  /** Waits for a permit for this request (global limit and route bucket), shared through Redis. */
  async acquire(method: string, path: string): Promise<void> {
    const { route, major } = routeOf(method, path);
    const global = `${this.prefix}:global`;
    for (;;) {
      const key = this.bucketKey(route, major, await this.hashOf(route));
      const id = `${this.now()}-${Math.random().toString(36).slice(2)}`;
      const wait = Number(await this.redis.eval(ACQUIRE, 4, global, `${global}:block`, key, `${this.prefix}:unauthorized`, String(this.now()), String(this.limit), String(this.windowMs), id, String(this.probeMs), String(this.marginMs)));
      if (wait === -1) await this.rejected();
      if (wait <= 0) return;
      this.waits++;
      this.waitedMs += wait;
      // a little jitter so waiting containers do not all come back in the same millisecond
      await new Promise((r) => setTimeout(r, wait + Math.floor(Math.random() * 20)));
    }
  }

  /** Throws while the token is marked rejected; reacts (onUnauthorized) once per episode. */
  private async rejected(): Promise<never> {
    const key = `${this.prefix}:unauthorized`;
    const [episode, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    if (episode && episode !== this.handledEpisode && this.onUnauthorized) {
      this.handledEpisode = episode;
      await this.onUnauthorized().catch(() => undefined);
    }
    throw new BotTokenRejectedError(Math.max(0, ttl));
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

  async patch(route: RouteLike, options: RequestData = {}): Promise<unknown> {
    await this.acquire('PATCH', route);
    return this.rest.patch(route, options);
  }
}
