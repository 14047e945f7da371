/**
 * Discord's REST rate limits as the simulator enforces them: a fixed window per route bucket (keyed by
 * the route and its major parameter), and a global limit per bot token, with Discord's headers.
 * https://discord.com/developers/docs/topics/rate-limits
 */
import { createHash } from 'node:crypto';

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimitDecision {
  ok: boolean;
  headers: Record<string, string>;
  /** seconds, for the 429 body */
  retryAfter?: number;
  global?: boolean;
}

interface Window {
  start: number;
  count: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Window>();
  private readonly globals = new Map<string, Window>();

  constructor(
    private readonly global: WindowLimit,
    private readonly now: () => number = Date.now,
  ) {}

  private take(map: Map<string, Window>, key: string, l: WindowLimit): { ok: boolean; w: Window } {
    const t = this.now();
    let w = map.get(key);
    if (!w || t - w.start >= l.windowMs) {
      w = { start: t, count: 0 };
      map.set(key, w);
    }
    if (w.count >= l.limit) return { ok: false, w };
    w.count++;
    return { ok: true, w };
  }

  /**
   * Checks one request. `bucketKey` is route + major parameter; `routeName` names the bucket hash;
   * `globalKey` is the bot token (undefined for interaction routes, which are exempt).
   */
  check(routeName: string, bucketKey: string, limit: WindowLimit, globalKey?: string): RateLimitDecision {
    const t = this.now();
    if (globalKey !== undefined) {
      const g = this.take(this.globals, globalKey, this.global);
      if (!g.ok) {
        const retryAfter = Math.max(0.001, (g.w.start + this.global.windowMs - t) / 1000);
        return {
          ok: false,
          global: true,
          retryAfter,
          headers: { 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global', 'Retry-After': String(Math.ceil(retryAfter)) },
        };
      }
    }
    const r = this.take(this.buckets, bucketKey, limit);
    const resetAfter = Math.max(0.001, (r.w.start + limit.windowMs - t) / 1000);
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(limit.limit),
      'X-RateLimit-Remaining': String(Math.max(0, limit.limit - r.w.count)),
      'X-RateLimit-Reset': ((r.w.start + limit.windowMs) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': resetAfter.toFixed(3),
      'X-RateLimit-Bucket': createHash('sha1').update(routeName).digest('hex').slice(0, 16),
    };
    if (!r.ok) {
      return { ok: false, retryAfter: resetAfter, headers: { ...headers, 'X-RateLimit-Scope': 'user', 'Retry-After': String(Math.ceil(resetAfter)) } };
    }
    return { ok: true, headers };
  }
}
