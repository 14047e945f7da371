import type { Command } from './types';

/**
 * `/check-eligibility`: asks the (slow) score service for the user's score, behind a timeout and a
 * circuit breaker, cached in Redis for 5 minutes. Deferred first because the service takes up to 2 s.
 */
export const checkEligibility: Command = {
  definition: { name: 'check-eligibility', description: 'Check whether you are eligible (asks the score service)' },
  mode: 'slow',
  cooldownSeconds: 10,
  async run(ctx) {
    const cacheKey = `score:${ctx.userId}`;
    // the cache is an optimization: a Redis failure falls through to the service
    const cached = await ctx.redis.get(cacheKey).catch(() => null);
    let score: number;
    if (cached !== null) score = Number(cached);
    else {
      try {
        score = await ctx.score(ctx.userId);
      } catch (err) {
        return { content: `The score service is unavailable right now (${(err as Error).message}). Please try again in a minute.` };
      }
      await ctx.redis.set(cacheKey, String(score), 'EX', 300).catch(() => undefined);
    }
    const eligible = score >= 50;
    return { content: `Your score is ${score}: you are ${eligible ? '' : 'not '}eligible.` };
  },
};
