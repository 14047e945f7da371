/**
 * The one Redis connection factory of every process (ingestor task and workers): TLS for rediss://
 * (ElastiCache with in-transit encryption) and the AUTH token from Secrets Manager when
 * REDIS_AUTH_SECRET_ARN is set. ElastiCache with transit encryption refuses every command without
 * the token (NOAUTH), so a process that knows the ARN must send it.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
 */
import Redis, { type RedisOptions } from 'ioredis';
import { readSecret, type SecretsReader } from './secrets';

export interface RedisConnection {
  /** redis://host:port or rediss://host:port (never with a password in it) */
  readonly url: string;
  /** the secret holding the AUTH token; the variable is REDIS_AUTH_SECRET_ARN */
  readonly authSecretArn?: string;
}

/** ioredis options for this connection, with the AUTH token read from its secret. */
export async function redisOptions(conn: RedisConnection, sm?: SecretsReader, extra: RedisOptions = {}): Promise<RedisOptions> {
  const opts: RedisOptions = {
    // a command fails after 2 reconnect attempts instead of hanging the caller
    maxRetriesPerRequest: 2,
    connectTimeout: 3_000,
    tls: conn.url.startsWith('rediss://') ? {} : undefined,
    ...extra,
  };
  if (conn.authSecretArn) {
    if (!sm) throw new Error('REDIS_AUTH_SECRET_ARN is set but no Secrets Manager client was given to read it');
    opts.password = await readSecret(sm, conn.authSecretArn, 'REDIS_AUTH_SECRET_ARN');
  }
  return opts;
}

/** The URL without credentials, for logs. */
export const redactedRedisUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, '//');

/**
 * A connected-on-demand client. Connection errors surface on the commands that fail; they are logged
 * once each (never with the token) instead of ioredis's "Unhandled error event".
 */
export async function createRedis(conn: RedisConnection, sm: SecretsReader | undefined, log: (msg: string, extra: Record<string, unknown>) => void, extra: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis(conn.url, await redisOptions(conn, sm, extra));
  let last = '';
  redis.on('error', (err: Error) => {
    if (err.message !== last) log('redis connection error', { error: err.message, url: redactedRedisUrl(conn.url) });
    last = err.message;
  });
  redis.on('ready', () => (last = ''));
  return redis;
}
