/** Clients of the interaction worker, built once per container on first use. No bot token here. */
import { REST } from '@discordjs/rest';
import Redis from 'ioredis';
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import { commandRegistry } from './commands';
import type { InteractionDeps } from './core';
import { createScoreClient } from './score';

let deps: InteractionDeps | undefined;
export const interactionDeps = async (): Promise<InteractionDeps> => {
  if (deps) return deps;
  const cfg = workerConfig();
  deps = {
    redis: new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 2, tls: cfg.REDIS_URL.startsWith('rediss://') ? {} : undefined }),
    pool: createPool(cfg),
    // interaction callbacks and webhooks use the interaction token: the REST client holds no bot token
    rest: new REST({ api: cfg.DISCORD_API_URL ?? 'https://discord.com/api', retries: 2, timeout: 5_000 }),
    applicationId: cfg.DISCORD_APPLICATION_ID,
    commands: commandRegistry(),
    score: createScoreClient(cfg.SCORE_SERVICE_URL, cfg.SCORE_TIMEOUT_MS),
    windowMs: cfg.INTERACTION_WINDOW_MS,
  };
  return deps;
};
