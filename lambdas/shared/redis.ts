/**
 * Redis of a worker container: TLS for rediss:// (ElastiCache in transit encryption) and the AUTH token
 * from Secrets Manager (REDIS_AUTH_SECRET_ARN, plain text or {"token": ...}), read once per container.
 * Dedupe keys, cooldowns, cached results and rate-limit buckets all carry TTLs (see each writer).
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Redis, { type RedisOptions } from 'ioredis';
import type { WorkerConfig } from './config';
import { coreLogger, type CoreLogger } from './logger';

type SecretsReader = Pick<SecretsManagerClient, 'send'>;

/** The text of a secret that holds one value: plain text, or JSON with `token` / `password`. */
export function secretValue(raw: string | undefined, what: string): string {
  const s = (raw ?? '').trim();
  let v = s;
  if (s.startsWith('{')) {
    const j = JSON.parse(s) as { token?: unknown; password?: unknown };
    v = typeof j.token === 'string' ? j.token : typeof j.password === 'string' ? j.password : '';
  }
  if (!v) throw new Error(`the secret at ${what} is empty: put the value in it`);
  return v;
}

/** ioredis options for this configuration (the AUTH token read when REDIS_AUTH_SECRET_ARN is set). */
export async function redisOptions(cfg: Pick<WorkerConfig, 'REDIS_URL' | 'REDIS_AUTH_SECRET_ARN'>, sm?: SecretsReader): Promise<RedisOptions> {
  const opts: RedisOptions = {
    // a command fails after 2 reconnect attempts instead of hanging the invocation
    maxRetriesPerRequest: 2,
    connectTimeout: 3_000,
    tls: cfg.REDIS_URL.startsWith('rediss://') ? {} : undefined,
  };
  if (cfg.REDIS_AUTH_SECRET_ARN) {
    const r = await (sm ?? new SecretsManagerClient({})).send(new GetSecretValueCommand({ SecretId: cfg.REDIS_AUTH_SECRET_ARN }));
    opts.password = secretValue(r.SecretString, 'REDIS_AUTH_SECRET_ARN');
  }
  return opts;
}

export async function createRedis(
  cfg: Pick<WorkerConfig, 'REDIS_URL' | 'REDIS_AUTH_SECRET_ARN'>,
  sm?: SecretsReader,
  log: Pick<CoreLogger, 'warn'> = coreLogger,
): Promise<Redis> {
  const redis = new Redis(cfg.REDIS_URL, await redisOptions(cfg, sm));
  // connection errors surface on the commands that fail; log them once each instead of ioredis's
  // "Unhandled error event" (the message never holds the token)
  let last = '';
  redis.on('error', (err: Error) => {
    if (err.message !== last) log.warn('redis connection error', { error: err.message, url: cfg.REDIS_URL.replace(/\/\/[^@]*@/, '//') });
    last = err.message;
  });
  redis.on('ready', () => (last = ''));
  return redis;
}
