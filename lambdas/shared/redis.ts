/**
 * Redis of a worker container, from the one connection factory every process uses (shared/redis.ts):
 * TLS for rediss:// and the AUTH token from REDIS_AUTH_SECRET_ARN, read once per container.
 * Dedupe keys, cooldowns, cached results and rate-limit buckets all carry TTLs (see each writer).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { createRedis as connect, redisOptions as options } from '../../shared/redis';
import type { SecretsReader } from '../../shared/secrets';
import type { WorkerConfig } from './config';
import { coreLogger, type CoreLogger } from './logger';

export { secretValue } from '../../shared/secrets';

type RedisEnv = Pick<WorkerConfig, 'REDIS_URL' | 'REDIS_AUTH_SECRET_ARN'>;
const connection = (cfg: RedisEnv) => ({ url: cfg.REDIS_URL, authSecretArn: cfg.REDIS_AUTH_SECRET_ARN });

/** ioredis options for this configuration (the AUTH token read when REDIS_AUTH_SECRET_ARN is set). */
export async function redisOptions(cfg: RedisEnv, sm?: SecretsReader): Promise<RedisOptions> {
  return options(connection(cfg), sm ?? (cfg.REDIS_AUTH_SECRET_ARN ? new SecretsManagerClient({}) : undefined));
}

export async function createRedis(cfg: RedisEnv, sm?: SecretsReader, log: Pick<CoreLogger, 'warn'> = coreLogger): Promise<Redis> {
  return connect(connection(cfg), sm ?? (cfg.REDIS_AUTH_SECRET_ARN ? new SecretsManagerClient({}) : undefined), (msg, extra) => log.warn(msg, extra));
}
