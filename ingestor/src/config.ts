/**
 * Ingestor configuration, parsed once from the environment with zod. A bad value stops startup with
 * a message naming the variable and what to set. The token is never echoed.
 */
import { GatewayIntentBits, GatewayOpcodes, type GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { z } from 'zod';
import { DEFAULT_ROUTING_TABLE, INTENT_NAMES as DISCORD_INTENT_NAMES, intentsForRouting, parseGatewayCommand, PRIVILEGED_INTENTS } from '../../lib/contract';
import { errorText } from '../../shared/error-text';

export interface IngestorConfig {
  token?: string;
  tokenSecretArn?: string;
  applicationId: string;
  apiUrl?: string;
  /** null: every shard of totalShards */
  shardIds: number[] | null;
  /** null: Discord's recommendation */
  totalShards: number | null;
  /** GATEWAY_INTENTS, else what the routing table's dispatch types need */
  intents: number;
  /** the presence the shards IDENTIFY with (GATEWAY_PRESENCE) @default none */
  presence?: GatewayPresenceUpdateData;
  /** where `intents` came from, for the startup log */
  intentsFrom: 'GATEWAY_INTENTS' | 'routing table';
  eventBusName: string;
  claimCheckBucket?: string;
  claimCheckThresholdBytes: number;
  redisUrl?: string;
  redisAuthSecretArn?: string;
  httpPort: number;
  spoolDir: string;
  spoolMaxBytes: number;
  bufferMaxEvents: number;
  bufferMaxBytes: number;
  maxInFlight: number;
  /** S3 bucket of the durable dead letters (events that can never be published) */
  deadLetterBucket: string;
  /** how long a new connection waits for Discord's HELLO before it is retried */
  helloTimeoutMs: number;
  /** most shards this task holds, across applications (the ECS service runs total / this tasks) */
  shardsPerTask: number;
  /** shard lease TTL: a dead task's shards are taken over within it */
  leaseTtlMs: number;
  /** this task's name in the leases @default hostname-pid-random */
  taskId?: string;
  /** how often the application registry is read @default 5000 */
  registryRefreshMs: number;
  reshardCheckMs: number;
  /** namespace of the Redis keys (resume points, leases, registry) @default gw */
  redisKeyPrefix: string;
  metricsNamespace: string;
  shardGroup: string;
  /** how often EMF metrics are written @default 60000 */
  metricsIntervalMs: number;
}

export class IngestorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad ingestor configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'IngestorConfigError';
  }
}

const INTENT_NAMES = Object.fromEntries(Object.entries(GatewayIntentBits).filter(([, v]) => typeof v === 'number') as Array<[string, number]>);

/** GATEWAY_PRESENCE: Update Presence's `d` as JSON, held to the same rules as a presence command (lib/contract/gateway-commands.ts). */
export function parsePresence(json: string): GatewayPresenceUpdateData {
  let d: unknown;
  try {
    d = JSON.parse(json);
  } catch {
    throw new Error('not JSON: expected {"status":"online","activities":[{"name":"...","type":0}],"since":null,"afk":false}');
  }
  const command = parseGatewayCommand({ op: GatewayOpcodes.PresenceUpdate, d });
  if (command.op !== GatewayOpcodes.PresenceUpdate) throw new Error('not a presence');
  return command.d;
}

/** The privileged intents (each must be enabled in the Developer Portal) in a bit field, by Discord's name. */
export function privilegedIntents(bits: number): string[] {
  return PRIVILEGED_INTENTS.filter((name) => (bits & DISCORD_INTENT_NAMES[name]) !== 0);
}

/** "GUILDS|GUILD_MEMBERS", "Guilds,GuildMembers" or a number */
export function parseIntents(spec: string): number {
  if (/^\d+$/.test(spec.trim())) return Number(spec);
  let bits = 0;
  for (const raw of spec.split(/[|,\s]+/).filter(Boolean)) {
    const camel = raw.includes('_') || raw === raw.toUpperCase() ? raw.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) : raw;
    const bit = INTENT_NAMES[camel];
    if (bit === undefined) throw new Error(`unknown intent "${raw}" (known: ${Object.keys(INTENT_NAMES).join(', ')})`);
    bits |= bit;
  }
  return bits;
}

/** "0-3", "0,2,5" or "0-1,4-5" */
export function parseShardIds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a shard id or range like 0-3`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`range "${part}" ends before it starts`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return [...new Set(out)];
}

const Env = z.object({
  DISCORD_TOKEN: z.string().min(1).optional(),
  DISCORD_TOKEN_SECRET_ARN: z.string().startsWith('arn:', 'expected a Secrets Manager ARN').optional(),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{1,20}$/, 'expected the application id (a snowflake)'),
  DISCORD_API_URL: z.url().optional(),
  SHARD_IDS: z.string().optional(),
  TOTAL_SHARDS: z
    .string()
    .regex(/^(auto|\d+)$/, 'expected a number or "auto"')
    .default('auto'),
  // unset: what the routing table's dispatch types need (lib/contract intentsForRouting)
  GATEWAY_INTENTS: z.string().optional(),
  // the presence every shard IDENTIFYs with: JSON of Update Presence's d, e.g. {"status":"online","activities":[{"name":"/help","type":0}],"since":null,"afk":false}
  GATEWAY_PRESENCE: z.string().optional(),
  EVENT_BUS_NAME: z.string().min(1, 'set the EventBridge bus name'),
  CLAIM_CHECK_BUCKET: z.string().min(3).optional(),
  CLAIM_CHECK_THRESHOLD_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(262_144),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://host:port')
    .optional(),
  REDIS_AUTH_SECRET_ARN: z.string().startsWith('arn:').optional(),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  SPOOL_DIR: z.string().min(1).default('/tmp/spool'),
  SPOOL_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024 * 1024),
  BUFFER_MAX_EVENTS: z.coerce.number().int().min(10).default(50_000),
  BUFFER_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(32 * 1024 * 1024),
  PUBLISH_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(256).default(64),
  DEAD_LETTER_BUCKET: z.string().min(3).optional(),
  GATEWAY_HELLO_TIMEOUT_MS: z.coerce.number().int().min(500).max(300_000).default(60_000),
  SHARDS_PER_TASK: z.coerce.number().int().min(1).max(10_000).default(10_000),
  LEASE_TTL_MS: z.coerce.number().int().min(2_000).max(120_000).default(10_000),
  TASK_ID: z
    .string()
    .regex(/^[\w.-]{1,64}$/, 'letters, digits, . _ - (at most 64)')
    .optional(),
  REGISTRY_REFRESH_MS: z.coerce.number().int().min(200).max(300_000).default(5_000),
  // how often GET /gateway/bot is asked whether Discord recommends more shards (TOTAL_SHARDS=auto); 0: only on close 4011
  RESHARD_CHECK_MS: z.coerce.number().int().min(0).max(86_400_000).default(900_000),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\w.-]{1,40}$/, 'letters, digits, . _ - (at most 40)')
    .default('gw'),
  METRICS_NAMESPACE: z.string().default('DiscordGatewayProxy/Ingestor'),
  SHARD_GROUP: z.string().default('g0'),
  METRICS_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
});

export function parseIngestorConfig(env: Record<string, string | undefined> = process.env): IngestorConfig {
  const r = Env.safeParse(env);
  if (!r.success) {
    throw new IngestorConfigError(
      r.error.issues.map((i) => {
        const name = String(i.path[0]);
        if (env[name] === undefined) return `${name}: missing: set it (see docs/ingestor.md)`;
        return `${name}: ${i.message}${name.includes('TOKEN') ? '' : `; got ${JSON.stringify(env[name])}`}`;
      }),
    );
  }
  const e = r.data;
  const problems: string[] = [];
  const deadLetterBucket = e.DEAD_LETTER_BUCKET ?? e.CLAIM_CHECK_BUCKET;
  if (!deadLetterBucket) problems.push("DEAD_LETTER_BUCKET: missing: set it (or CLAIM_CHECK_BUCKET, whose bucket then also holds the dead letters); events that can never be published are stored there, never only on the task's disk");
  if (!e.DISCORD_TOKEN && !e.DISCORD_TOKEN_SECRET_ARN) problems.push('DISCORD_TOKEN / DISCORD_TOKEN_SECRET_ARN: set one (the token directly, or the ARN of the secret holding it)');
  let intents = 0;
  try {
    intents = e.GATEWAY_INTENTS === undefined ? intentsForRouting(DEFAULT_ROUTING_TABLE).intents : parseIntents(e.GATEWAY_INTENTS);
  } catch (err) {
    problems.push(`GATEWAY_INTENTS: ${errorText(err)}`);
  }
  let presence: GatewayPresenceUpdateData | undefined;
  try {
    presence = e.GATEWAY_PRESENCE === undefined ? undefined : parsePresence(e.GATEWAY_PRESENCE);
  } catch (err) {
    problems.push(`GATEWAY_PRESENCE: ${errorText(err)}`);
  }
  const totalShards = e.TOTAL_SHARDS === 'auto' ? null : Number(e.TOTAL_SHARDS);
  if (totalShards === 0) problems.push('TOTAL_SHARDS: must be at least 1 (or "auto")');
  let shardIds: number[] | null = null;
  if (e.SHARD_IDS) {
    try {
      shardIds = parseShardIds(e.SHARD_IDS);
      if (totalShards === null) problems.push(`SHARD_IDS ${e.SHARD_IDS} needs TOTAL_SHARDS: set TOTAL_SHARDS to the shard count of the whole bot`);
      else {
        const over = shardIds.filter((s) => s >= totalShards);
        if (over.length) problems.push(`SHARD_IDS ${e.SHARD_IDS} exceed TOTAL_SHARDS=${totalShards}: set TOTAL_SHARDS or narrow SHARD_IDS`);
      }
    } catch (err) {
      problems.push(`SHARD_IDS: ${(err as Error).message}`);
    }
  }
  // (a missing bucket is among the problems)
  if (problems.length > 0 || !deadLetterBucket) throw new IngestorConfigError(problems);
  return {
    token: e.DISCORD_TOKEN,
    tokenSecretArn: e.DISCORD_TOKEN_SECRET_ARN,
    applicationId: e.DISCORD_APPLICATION_ID,
    apiUrl: e.DISCORD_API_URL,
    shardIds,
    totalShards,
    intents,
    intentsFrom: e.GATEWAY_INTENTS === undefined ? 'routing table' : 'GATEWAY_INTENTS',
    presence,
    eventBusName: e.EVENT_BUS_NAME,
    claimCheckBucket: e.CLAIM_CHECK_BUCKET,
    claimCheckThresholdBytes: e.CLAIM_CHECK_THRESHOLD_BYTES,
    redisUrl: e.REDIS_URL,
    redisAuthSecretArn: e.REDIS_AUTH_SECRET_ARN,
    httpPort: e.HTTP_PORT,
    spoolDir: e.SPOOL_DIR,
    spoolMaxBytes: e.SPOOL_MAX_BYTES,
    bufferMaxEvents: e.BUFFER_MAX_EVENTS,
    bufferMaxBytes: e.BUFFER_MAX_BYTES,
    maxInFlight: e.PUBLISH_MAX_IN_FLIGHT,
    deadLetterBucket,
    helloTimeoutMs: e.GATEWAY_HELLO_TIMEOUT_MS,
    shardsPerTask: e.SHARDS_PER_TASK,
    leaseTtlMs: e.LEASE_TTL_MS,
    taskId: e.TASK_ID,
    registryRefreshMs: e.REGISTRY_REFRESH_MS,
    reshardCheckMs: e.RESHARD_CHECK_MS,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    metricsNamespace: e.METRICS_NAMESPACE,
    shardGroup: e.SHARD_GROUP,
    metricsIntervalMs: e.METRICS_INTERVAL_MS,
  };
}
