/** Clients of the sync worker, built once per container on first use. */
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { WorkerDepsBase } from '../shared/worker';
import type { MemberSyncRepository } from './core';
import { pgMemberSyncRepository } from './repository';

let deps: Promise<{ sync: MemberSyncRepository } & WorkerDepsBase> | undefined;
export const syncDeps = (): Promise<{ sync: MemberSyncRepository } & WorkerDepsBase> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    const pool = createPool(cfg);
    return { pool, sync: pgMemberSyncRepository(pool), loadClaimCheck: await claimCheckLoaderFor(cfg) };
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  }));
