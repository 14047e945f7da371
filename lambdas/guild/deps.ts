/** Clients of the guild worker, built once per container on first use. */
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { WorkerDepsBase } from '../shared/worker';
import type { GuildDeps } from './core';

let deps: Promise<GuildDeps & WorkerDepsBase> | undefined;
export const guildDeps = (): Promise<GuildDeps & WorkerDepsBase> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    return { pool: createPool(cfg), loadClaimCheck: await claimCheckLoaderFor(cfg) };
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  }));
