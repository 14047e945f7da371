/** Clients of the interaction worker, built once per container on first use. No bot token here. */
import { REST } from '@discordjs/rest';
import { claimCheckLoaderFor } from '../shared/claim-check';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import { createRedis } from '../shared/redis';
import type { WorkerDepsBase } from '../shared/worker';
import { commandRegistry } from './commands';
import type { InteractionDeps } from './core';
import { createScoreClient } from './score';

let deps: Promise<InteractionDeps & WorkerDepsBase> | undefined;
export const interactionDeps = (): Promise<InteractionDeps & WorkerDepsBase> =>
  (deps ??= (async () => {
    const cfg = workerConfig();
    return {
      redis: await createRedis(cfg),
      pool: createPool(cfg),
      // interaction callbacks and webhooks use the interaction token: the REST client holds no bot token
      rest: new REST({ api: cfg.DISCORD_API_URL ?? 'https://discord.com/api', retries: 2, timeout: 5_000 }),
      applicationId: cfg.DISCORD_APPLICATION_ID,
      commands: commandRegistry(),
      score: createScoreClient(cfg.SCORE_SERVICE_URL, cfg.SCORE_TIMEOUT_MS),
      windowMs: cfg.INTERACTION_WINDOW_MS,
      loadClaimCheck: await claimCheckLoaderFor(cfg),
    };
  })().catch((err: unknown) => {
    deps = undefined; // the next invocation tries again (e.g. Secrets Manager throttled)
    throw err;
  }));
