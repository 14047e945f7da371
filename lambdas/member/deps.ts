/** Clients of the member worker, built once per container on first use. */
import { createBotRest } from '../shared/bot-rest';
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import { createRedis } from '../shared/redis';
import type { WorkerDepsBase } from '../shared/worker';
import type { MemberDeps } from './core';

let deps: Promise<MemberDeps & WorkerDepsBase> | undefined;
export const memberDeps = (): Promise<MemberDeps & WorkerDepsBase> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    const pool = createPool(cfg);
    const loadClaimCheck = await claimCheckLoaderFor(cfg);
    // the bot token is optional here: without it the per-guild actions (auto role) are skipped
    if (!cfg.DISCORD_TOKEN && !cfg.DISCORD_TOKEN_SECRET_ARN) return { pool, loadClaimCheck };
    return { pool, loadClaimCheck, botRest: await createBotRest(cfg, await createRedis(cfg)) };
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  }));
