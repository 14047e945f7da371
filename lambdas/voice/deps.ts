/** Clients of the voice worker, built once per container on first use. */
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { WorkerDepsBase } from '../shared/worker';
import type { VoiceDeps } from './core';
import { pgVoiceRepository } from './repository';

let deps: Promise<VoiceDeps & WorkerDepsBase> | undefined;
export const voiceDeps = (): Promise<VoiceDeps & WorkerDepsBase> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    const pool = createPool(cfg);
    return { pool, repo: pgVoiceRepository(pool), loadClaimCheck: await claimCheckLoaderFor(cfg) };
  })().catch((err: unknown) => {
    deps = undefined;
    throw err;
  }));
