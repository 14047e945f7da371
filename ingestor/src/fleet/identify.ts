/**
 * Discord's identify budget, kept across every task of an application: at most `max_concurrency`
 * IDENTIFYs per 5 s, one per bucket `shard_id % max_concurrency`, and `session_start_limit.remaining`
 * a day. Each bucket is a Redis key taken with SET NX PX (the window plus a margin for the trip to
 * Discord); the daily budget is a counter that starts from /gateway/bot's `remaining` and expires
 * when Discord resets it. A shard this task does not hold never identifies (`mayIdentify`).
 * https://discord.com/developers/docs/events/gateway#sharding-max-concurrency
 */
import type { IIdentifyThrottler } from '@discordjs/ws';
import type Redis from 'ioredis';
import { appKeys } from './leases';

export const IDENTIFY_WINDOW_MS = 5_000;
/** Discord measures the window on its clock, after our request's trip: keep a margin */
const WINDOW_MARGIN_MS = 250;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

export interface IdentifyBudget {
  maxConcurrency: number;
  /** session_start_limit.remaining and reset_after (ms) from /gateway/bot */
  remaining: number;
  resetAfterMs: number;
}

export class RedisIdentifyThrottler implements IIdentifyThrottler {
  /** ms spent waiting for a bucket, the budget or the lease (metric) */
  waitedMs = 0;
  identifies = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ReturnType<typeof appKeys>,
    private readonly taskId: string,
    private readonly budget: IdentifyBudget,
    private readonly mayIdentify: (shardId: number) => boolean,
    private readonly log: (msg: string, extra: Record<string, unknown>) => void,
  ) {}

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const t0 = Date.now();
    const bucketKey = this.keys.identify(shardId % this.budget.maxConcurrency);
    const dayKey = this.keys.sessionStarts();
    try {
      for (;;) {
        if (!this.mayIdentify(shardId)) {
          await sleep(250, signal);
          continue;
        }
        if ((await this.redis.set(bucketKey, `${this.taskId}:${shardId}`, 'PX', IDENTIFY_WINDOW_MS + WINDOW_MARGIN_MS, 'NX')) !== 'OK') {
          await sleep(Math.max(25, await this.redis.pttl(bucketKey)), signal);
          continue;
        }
        await this.redis.set(dayKey, String(this.budget.remaining), 'PX', Math.max(1000, this.budget.resetAfterMs), 'NX');
        if ((await this.redis.decr(dayKey)) < 0) {
          await this.redis.incr(dayKey);
          const wait = Math.max(1000, await this.redis.pttl(dayKey));
          this.log('the daily session start limit is used up: waiting for Discord to reset it', { shardId, waitMs: wait });
          await sleep(wait, signal);
          continue;
        }
        this.identifies++;
        return;
      }
    } finally {
      this.waitedMs += Date.now() - t0;
    }
  }
}
