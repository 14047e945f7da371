/**
 * The CDK app's configuration: read once in bin/ from CDK context (-c key=value) or the environment,
 * validated here, passed down as typed props. Bad values stop synth with a message that names the
 * setting, the value received and what to set.
 */
import { z } from 'zod';
import { DEFAULT_ROUTING_TABLE, intentsForRouting, validateRoutingTable, withOverrides, type RoutingOverrides, type RoutingTable } from '../contract';

export interface AppConfig {
  envName: string;
  account?: string;
  region?: string;
  totalShards: number;
  /** shard ids per ingestor service, e.g. [[0,1,2,3],[4,5,6,7]] */
  shardGroups: number[][];
  alarmEmail?: string;
  routing: RoutingTable;
  /** alarm when the oldest message of a non-interaction tier is older than this */
  tierMaxAgeSeconds: number;
  /** alarm when the oldest interaction message is older than this (Discord's window is 3 s) */
  interactionMaxAgeSeconds: number;
  ingestorCpu: number;
  ingestorMemoryMiB: number;
  redisNodeType: string;
  dbInstanceClass: string;
  discordApplicationId: string;
  gatewayIntents: number;
  claimCheckThresholdBytes: number;
  /** what deleting a stack does to the database, cache, bucket, secrets and queues */
  removalPolicy: 'retain' | 'destroy';
  dbMultiAz: boolean;
  natGateways: number;
  scoreServiceUrl?: string;
  /** provisioned pollers for the interactions tier's event source, e.g. { minimum: 1, maximum: 2 } */
  interactionPollers?: { minimum: number; maximum: number };
  /** the application's Ed25519 public key (64 hex): set, it adds the HTTP interactions endpoint */
  discordPublicKey?: string;
  /** stage throttle of the HTTP interactions endpoint, requests per second and burst */
  httpInteractionsRateLimit: number;
  httpInteractionsBurstLimit: number;
  /** a WAFv2 web ACL (scope CLOUDFRONT) in front of the HTTP interactions endpoint */
  httpInteractionsWebAclArn?: string;
  /** the PRD 8.2 alarms' thresholds */
  alarms: AlarmThresholds;
}

/** The thresholds of the PRD 8.2 alarms (lib/constructs/monitoring.ts; runbook in docs/deploy.md). */
export interface AlarmThresholds {
  /** a shard not READY for this many minutes pages (PRD: > 1 min) */
  shardNotReadyMinutes: number;
  /** ingestor task memory, % of the task's (PRD: > 80 %) */
  ingestorMemoryPercent: number;
  /** ingestor process starts per shard group in 15 minutes above which it pages (OOM kills, crash loops; one start is a deploy or a replacement) */
  ingestorStartsPer15Min: number;
  /** visible messages in a tier's queue (PRD: backlog > 1,000) */
  queueBacklogMessages: number;
  /** worker duration p99 in ms (PRD: > 1 s) */
  workerP99Ms: number;
  /** worker errors, % of invocations (PRD: > 1 %) */
  workerErrorRatePercent: number;
  /** Redis DatabaseMemoryUsagePercentage (PRD: > 80 %) */
  redisMemoryPercent: number;
  /** Redis CurrConnections per node (PRD: > 1,000) */
  redisConnections: number;
}

export const DEFAULT_ALARM_THRESHOLDS: Readonly<AlarmThresholds> = Object.freeze({
  shardNotReadyMinutes: 1,
  ingestorMemoryPercent: 80,
  ingestorStartsPer15Min: 1,
  queueBacklogMessages: 1000,
  workerP99Ms: 1000,
  workerErrorRatePercent: 1,
  redisMemoryPercent: 80,
  redisConnections: 1000,
});

/** A context or environment value as the schemas read it: objects (JSON context values) as JSON. */
export function settingText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

const alarmKeys = Object.keys(DEFAULT_ALARM_THRESHOLDS) as Array<keyof AlarmThresholds>;
/** context alarmQueueBacklogMessages / env ALARM_QUEUE_BACKLOG_MESSAGES, ... */
const alarmContextKey = (k: keyof AlarmThresholds) => `alarm${k.charAt(0).toUpperCase()}${k.slice(1)}`;
const alarmEnvKey = (k: keyof AlarmThresholds) => `ALARM_${k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
export const ALARM_SOURCES: Record<keyof AlarmThresholds, { context: string; env: string }> = Object.fromEntries(alarmKeys.map((k) => [k, { context: alarmContextKey(k), env: alarmEnvKey(k) }])) as Record<keyof AlarmThresholds, { context: string; env: string }>;

const alarmSchema = z.object({
  shardNotReadyMinutes: z.coerce.number().int().min(1).max(60),
  ingestorMemoryPercent: z.coerce.number().min(1).max(100),
  ingestorStartsPer15Min: z.coerce.number().int().min(0).max(100),
  queueBacklogMessages: z.coerce.number().int().min(0),
  workerP99Ms: z.coerce.number().int().min(1).max(900_000),
  workerErrorRatePercent: z.coerce.number().min(0).max(100),
  redisMemoryPercent: z.coerce.number().min(1).max(100),
  redisConnections: z.coerce.number().int().min(1).max(65_000),
});

/** The alarm thresholds from CDK context (wins) or the environment, defaults for the rest. */
export function loadAlarmThresholds(getContext: (key: string) => unknown, env: Record<string, string | undefined> = process.env): AlarmThresholds {
  const input: Record<string, unknown> = {};
  for (const k of alarmKeys) {
    const v = getContext(ALARM_SOURCES[k].context) ?? env[ALARM_SOURCES[k].env];
    input[k] = v === undefined || v === '' ? DEFAULT_ALARM_THRESHOLDS[k] : settingText(v);
  }
  const r = alarmSchema.safeParse(input);
  if (!r.success) {
    throw new AppConfigError(
      r.error.issues.map((i) => {
        const k = String(i.path[0]) as keyof AlarmThresholds;
        return `${ALARM_SOURCES[k].context} (context) / ${ALARM_SOURCES[k].env} (env): ${i.message}; got ${JSON.stringify(input[k])}`;
      }),
    );
  }
  return r.data;
}

export class AppConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'AppConfigError';
  }
}

/** "0-3,4-7" or "0,1;2,3" -> [[0,1,2,3],[4,5,6,7]]; groups are separated by ";" or ",", ranges with "-". */
export function parseShardGroups(spec: string): number[][] {
  const groups = spec.includes(';') ? spec.split(';') : spec.split(',').map((g) => g);
  return groups
    .map((g) => g.trim())
    .filter(Boolean)
    .map((g) =>
      g.split(/[ ,]+/).flatMap((part) => {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
        if (!m) throw new Error(`"${part}" is not a shard id or range (like 0-3)`);
        const a = Number(m[1]);
        const b = m[2] === undefined ? a : Number(m[2]);
        if (b < a) throw new Error(`range "${part}" ends before it starts`);
        return Array.from({ length: b - a + 1 }, (_, i) => a + i);
      }),
    );
}

const raw = z.object({
  envName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,19}$/, 'lowercase letters, digits and -, at most 20 characters, starting with a letter')
    .default('dev'),
  totalShards: z.coerce.number().int().min(1).max(10_000).default(1),
  shardGroups: z.string().optional(),
  shardsPerTask: z.coerce.number().int().min(1).max(64).default(4),
  alarmEmail: z.email().optional(),
  tierOverrides: z.string().optional(),
  tierMaxAgeSeconds: z.coerce.number().int().min(10).max(1_209_600).default(300),
  interactionMaxAgeSeconds: z.coerce.number().int().min(1).max(900).default(2),
  ingestorCpu: z.coerce
    .number()
    .refine((v) => [256, 512, 1024, 2048, 4096].includes(v), 'one of 256, 512, 1024, 2048, 4096')
    .default(256),
  ingestorMemoryMiB: z.coerce.number().int().min(512).max(30_720).default(512),
  redisNodeType: z
    .string()
    .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'an ElastiCache node type like cache.t4g.small')
    .default('cache.t4g.small'),
  dbInstanceClass: z
    .string()
    .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'an instance class without the db. prefix, like t4g.small')
    .default('t4g.small'),
  discordApplicationId: z
    .string()
    .regex(/^\d{17,20}$/, 'the application id from the Discord developer portal (a snowflake)')
    .default('100000000000000001'),
  // unset: what the routing table's dispatch types need (intentsForRouting)
  gatewayIntents: z.coerce.number().int().min(0).optional(),
  claimCheckThresholdBytes: z.coerce.number().int().min(1024).max(1_048_576).default(262_144),
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  dbMultiAz: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  natGateways: z.coerce.number().int().min(1).max(3).default(1),
  scoreServiceUrl: z.url().optional(),
  interactionPollers: z
    .string()
    .regex(/^\d+-\d+$/, 'minimum-maximum provisioned pollers, like 2-4')
    .optional(),
  discordPublicKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "the application's public key from the developer portal (64 hex characters)")
    .optional(),
  httpInteractionsRateLimit: z.coerce.number().int().min(1).max(10_000).default(100),
  httpInteractionsBurstLimit: z.coerce.number().int().min(1).max(5_000).default(200),
  httpInteractionsWebAclArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/.+/, 'the ARN of a WAFv2 web ACL with scope CLOUDFRONT (created in us-east-1)')
    .optional(),
  account: z
    .string()
    .regex(/^\d{12}$/)
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/)
    .optional(),
});

/** Context keys and the environment variables that may set them. */
export const CONFIG_SOURCES: Record<keyof z.input<typeof raw>, { context: string; env: string }> = {
  envName: { context: 'envName', env: 'ENV_NAME' },
  totalShards: { context: 'totalShards', env: 'TOTAL_SHARDS' },
  shardGroups: { context: 'shardGroups', env: 'SHARD_GROUPS' },
  shardsPerTask: { context: 'shardsPerTask', env: 'SHARDS_PER_TASK' },
  alarmEmail: { context: 'alarmEmail', env: 'ALARM_EMAIL' },
  tierOverrides: { context: 'tierOverrides', env: 'TIER_OVERRIDES' },
  tierMaxAgeSeconds: { context: 'tierMaxAgeSeconds', env: 'TIER_MAX_AGE_SECONDS' },
  interactionMaxAgeSeconds: { context: 'interactionMaxAgeSeconds', env: 'INTERACTION_MAX_AGE_SECONDS' },
  ingestorCpu: { context: 'ingestorCpu', env: 'INGESTOR_CPU' },
  ingestorMemoryMiB: { context: 'ingestorMemoryMiB', env: 'INGESTOR_MEMORY_MIB' },
  redisNodeType: { context: 'redisNodeType', env: 'REDIS_NODE_TYPE' },
  dbInstanceClass: { context: 'dbInstanceClass', env: 'DB_INSTANCE_CLASS' },
  discordApplicationId: { context: 'discordApplicationId', env: 'DISCORD_APPLICATION_ID' },
  gatewayIntents: { context: 'gatewayIntents', env: 'GATEWAY_INTENTS' },
  claimCheckThresholdBytes: { context: 'claimCheckThresholdBytes', env: 'CLAIM_CHECK_THRESHOLD_BYTES' },
  removalPolicy: { context: 'removalPolicy', env: 'REMOVAL_POLICY' },
  dbMultiAz: { context: 'dbMultiAz', env: 'DB_MULTI_AZ' },
  natGateways: { context: 'natGateways', env: 'NAT_GATEWAYS' },
  scoreServiceUrl: { context: 'scoreServiceUrl', env: 'SCORE_SERVICE_URL' },
  interactionPollers: { context: 'interactionPollers', env: 'INTERACTION_POLLERS' },
  discordPublicKey: { context: 'discordPublicKey', env: 'DISCORD_PUBLIC_KEY' },
  httpInteractionsRateLimit: { context: 'httpInteractionsRateLimit', env: 'HTTP_INTERACTIONS_RATE_LIMIT' },
  httpInteractionsBurstLimit: { context: 'httpInteractionsBurstLimit', env: 'HTTP_INTERACTIONS_BURST_LIMIT' },
  httpInteractionsWebAclArn: { context: 'httpInteractionsWebAclArn', env: 'HTTP_INTERACTIONS_WEB_ACL_ARN' },
  account: { context: 'account', env: 'CDK_DEFAULT_ACCOUNT' },
  region: { context: 'region', env: 'CDK_DEFAULT_REGION' },
};

/**
 * Builds the configuration from CDK context (wins) and the environment.
 * `getContext(key)` is `app.node.tryGetContext`.
 */
export function loadAppConfig(getContext: (key: string) => unknown, env: Record<string, string | undefined> = process.env): AppConfig {
  const input: Record<string, unknown> = {};
  for (const [key, src] of Object.entries(CONFIG_SOURCES)) {
    const v = getContext(src.context) ?? env[src.env];
    if (v !== undefined && v !== '') input[key] = settingText(v);
  }
  const r = raw.safeParse(input);
  const name = (k: string) => {
    if (!Object.hasOwn(CONFIG_SOURCES, k)) return k;
    const s = CONFIG_SOURCES[k as keyof typeof CONFIG_SOURCES];
    return `${s.context} (context) / ${s.env} (env)`;
  };
  if (!r.success) {
    throw new AppConfigError(r.error.issues.map((i) => `${name(String(i.path[0]))}: ${i.message}; got ${JSON.stringify(input[String(i.path[0])])}`));
  }
  const c = r.data;
  const problems: string[] = [];

  let shardGroups: number[][];
  try {
    shardGroups = c.shardGroups ? parseShardGroups(c.shardGroups) : Array.from({ length: Math.ceil(c.totalShards / c.shardsPerTask) }, (_, g) => Array.from({ length: Math.min(c.shardsPerTask, c.totalShards - g * c.shardsPerTask) }, (_, i) => g * c.shardsPerTask + i));
  } catch (err) {
    throw new AppConfigError([`${name('shardGroups')}: ${(err as Error).message}; got ${JSON.stringify(c.shardGroups)}`]);
  }
  const all = shardGroups.flat();
  const outOfRange = all.filter((s) => s >= c.totalShards);
  if (outOfRange.length) problems.push(`${name('shardGroups')}: shard ids ${outOfRange.join(',')} exceed totalShards=${c.totalShards}: set TOTAL_SHARDS or narrow SHARD_GROUPS`);
  const dup = all.filter((s, i) => all.indexOf(s) !== i);
  if (dup.length) problems.push(`${name('shardGroups')}: shard ids ${[...new Set(dup)].join(',')} are in more than one group: each shard must have exactly one owner`);
  const missing = Array.from({ length: c.totalShards }, (_, i) => i).filter((s) => !all.includes(s));
  if (missing.length) problems.push(`${name('shardGroups')}: shards ${missing.join(',')} have no group: every shard of totalShards=${c.totalShards} needs an ingestor`);

  let routing: RoutingTable = DEFAULT_ROUTING_TABLE;
  if (c.tierOverrides) {
    try {
      routing = withOverrides(JSON.parse(c.tierOverrides) as RoutingOverrides);
      validateRoutingTable(routing);
    } catch (err) {
      problems.push(`${name('tierOverrides')}: ${(err as Error).message}`);
    }
  }
  let interactionPollers: { minimum: number; maximum: number } | undefined;
  if (c.interactionPollers) {
    const [minimum, maximum] = c.interactionPollers.split('-').map(Number) as [number, number];
    // Lambda's limits for SQS provisioned mode: minimum 2..200, maximum up to 2,000, minimum <= maximum
    if (minimum < 2 || minimum > 200 || maximum < minimum || maximum > 2000) {
      problems.push(`${name('interactionPollers')}: ${c.interactionPollers} is outside minimum 2..200, maximum minimum..2000`);
    } else interactionPollers = { minimum, maximum };
  }
  let alarms: AlarmThresholds = { ...DEFAULT_ALARM_THRESHOLDS };
  try {
    alarms = loadAlarmThresholds(getContext, env);
  } catch (err) {
    problems.push(...(err instanceof AppConfigError ? err.problems : [String(err)]));
  }
  if (problems.length) throw new AppConfigError(problems);
  const { shardsPerTask: _unused, tierOverrides: _t, shardGroups: _s, interactionPollers: _p, ...rest } = c;
  return { ...rest, gatewayIntents: c.gatewayIntents ?? intentsForRouting(routing).intents, shardGroups, routing, alarms, ...(interactionPollers ? { interactionPollers } : {}) };
}
