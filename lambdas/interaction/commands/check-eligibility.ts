import { writeAudit } from '../../shared/audit';
import { withGuild } from '../../shared/db';
import { currentCorrelation } from '../../shared/logger';
import type { Command } from './types';

/** the score a user needs to be eligible */
const ELIGIBLE_SCORE = 50;

/**
 * `/check-eligibility`: asks the (slow) score service for the user's score, behind a timeout and a
 * circuit breaker, cached in Redis for 5 minutes. Deferred first because the service takes up to 2 s.
 *
 * The decision is security-relevant (it gates access): in a guild it is written to audit_log under
 * that guild's row-level security before the user sees it, correlation id = the envelope id (the
 * interaction id when run outside a worker record). If the row cannot be written the user is asked to
 * retry rather than told an unrecorded decision. In a DM there is no guild scope: the log line only.
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
    const eligible = score >= ELIGIBLE_SCORE;
    if (ctx.guildId) {
      const guildId = ctx.guildId;
      const correlationId = currentCorrelation()?.envelopeId ?? ctx.interactionId;
      try {
        await withGuild(ctx.pool, guildId, (c) =>
          writeAudit(c, {
            guildId,
            action: 'eligibility.decided',
            actor: 'interaction-worker',
            subjectId: ctx.userId,
            correlationId,
            detail: { eligible, score, threshold: ELIGIBLE_SCORE, source: cached !== null ? 'cache' : 'score-service', interactionId: ctx.interactionId },
          }),
        );
      } catch (err) {
        return { content: `Your eligibility could not be recorded right now (${(err as Error).message}). Please try again in a minute.` };
      }
    }
    return { content: `Your score is ${score}: you are ${eligible ? '' : 'not '}eligible.` };
  },
};
