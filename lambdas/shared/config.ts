/**
 * Worker configuration, parsed once from the environment with zod. A missing or bad variable stops
 * the cold start with a message naming the variable and what to set. Never echoes secret values.
 */
import { z } from 'zod';

const Port = z.coerce.number().int().min(1).max(65535);
/** The namespace of the Redis keys shared with the ingestor (its REDIS_KEY_PREFIX, same rule and default). */
const RedisKeyPrefix = z
  .string()
  .regex(/^[\w.-]{1,40}$/, 'letters, digits, . _ - (at most 40)')
  .default('gw');

export const WorkerConfigSchema = z
  .object({
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://host:port'),
    REDIS_AUTH_SECRET_ARN: z.string().startsWith('arn:').optional(),
    REDIS_KEY_PREFIX: RedisKeyPrefix,
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected postgres://user:password@host:port/db')
      .optional(),
    DB_HOST: z.string().min(1).optional(),
    DB_PORT: Port.default(5432),
    DB_NAME: z.string().min(1).default('gateway_proxy'),
    DB_USER: z.string().min(1).default('gateway_worker'),
    /** connections per container: Lambda runs one invocation at a time, so 2 suffice there */
    DB_POOL_MAX: z.coerce.number().int().min(1).max(50).default(2),
    DB_IAM_AUTH: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    AWS_REGION: z.string().default('us-east-1'),
    DISCORD_APPLICATION_ID: z.string().regex(/^\d{1,20}$/, 'expected the application id (a snowflake)'),
    DISCORD_API_URL: z.url().optional(),
    DISCORD_TOKEN: z.string().min(1).optional(),
    DISCORD_TOKEN_SECRET_ARN: z.string().startsWith('arn:').optional(),
    CLAIM_CHECK_BUCKET: z.string().min(3).optional(),
    SCORE_SERVICE_URL: z.url().optional(),
    SCORE_TIMEOUT_MS: z.coerce.number().int().min(50).max(10_000).default(2_500),
    INTERACTION_WINDOW_MS: z.coerce.number().int().min(100).max(15_000).default(3_000),
  })
  .superRefine((c, ctx) => {
    if (!c.DATABASE_URL && !c.DB_HOST) ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'set DATABASE_URL (local) or DB_HOST (RDS Proxy endpoint)' });
  });

export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad worker configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every bad variable (names only, never values of secrets). */
export function parseWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const r = WorkerConfigSchema.safeParse(env);
  if (!r.success) {
    throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return r.data;
}

/** REDIS_KEY_PREFIX alone, for code that needs the namespace without the rest of the worker configuration. */
export function redisKeyPrefix(env: Record<string, string | undefined> = process.env): string {
  const r = RedisKeyPrefix.safeParse(env.REDIS_KEY_PREFIX);
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `REDIS_KEY_PREFIX: ${i.message}`));
  return r.data;
}

let cached: WorkerConfig | undefined;
/** The configuration of this container, parsed on first use. */
export const workerConfig = (): WorkerConfig => (cached ??= parseWorkerConfig());
