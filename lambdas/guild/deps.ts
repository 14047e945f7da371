/** Clients of the guild worker, built once per container on first use. */
import { workerConfig } from '../shared/config';
import { createPool } from '../shared/db';
import type { GuildDeps } from './core';

let deps: GuildDeps | undefined;
export const guildDeps = async (): Promise<GuildDeps> => (deps ??= { pool: createPool(workerConfig()) });
