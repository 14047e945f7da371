/** Clients of the member worker, built once per container on first use. */
import { BotRestClients } from '../shared/bot-rest';
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import { createRedis } from '../shared/redis';
import type { WorkerDepsBase } from '../shared/worker';
import type { MemberDeps } from './core';

export type MemberWorkerDeps = Omit<MemberDeps, 'botRest'> &
  WorkerDepsBase & {
    /** the bot-token REST client of each application (an envelope's appId picks its own) */
    botRests?: BotRestClients;
  };

let deps: Promise<MemberWorkerDeps> | undefined;
export const memberDeps = (): Promise<MemberWorkerDeps> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    const pool = createPool(cfg);
    const loadClaimCheck = await claimCheckLoaderFor(cfg);
    // the bot token is optional here: without it the per-guild actions (auto role) are skipped
    if (!cfg.DISCORD_TOKEN && !cfg.DISCORD_TOKEN_SECRET_ARN) return { pool, loadClaimCheck };
    return { pool, loadClaimCheck, botRests: new BotRestClients(cfg, await createRedis(cfg)) };
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  }));
