/** Clients of the member worker, built once per container on first use. */
import Redis from 'ioredis';
import { createBotRest } from '../shared/bot-rest';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { MemberDeps } from './core';

let deps: Promise<MemberDeps> | undefined;
export const memberDeps = (): Promise<MemberDeps> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    const pool = createPool(cfg);
    // the bot token is optional here: without it the per-guild actions (auto role) are skipped
    if (!cfg.DISCORD_TOKEN && !cfg.DISCORD_TOKEN_SECRET_ARN) return { pool };
    const redis = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 2, tls: cfg.REDIS_URL.startsWith('rediss://') ? {} : undefined });
    return { pool, botRest: await createBotRest(cfg, redis) };
  })().catch((err) => {
    deps = undefined;
    throw err;
  }));
