/**
 * The routing table: the single source of truth for which Discord dispatch types go to which tier,
 * and for each tier's queue and consumer settings. CDK generates the EventBridge rules, queues and
 * event source mappings from it; the ingestor drops types that no tier wants; tests read it.
 *
 * Imports nothing from aws-cdk-lib or the Discord client libraries (docs/architecture.md).
 * Limits checked here follow AWS's SQS/Lambda docs:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
import { z } from 'zod';
import { DISPATCH_TYPES, type DispatchType } from './dispatch';
import { ContractError } from './errors';

/** EventBridge `Source` of every entry the ingestor publishes. */
export const EVENT_SOURCE = 'discord.gateway';

const MESSAGE_SIZE = 1_048_576;

/** A tier as written in TIERS: the TierRoute fields, before the names are known to the type system. */
interface TierDefinition {
  readonly name: string;
  readonly priority: number;
  readonly description: string;
  readonly dispatchTypes: readonly DispatchType[];
  /** the worker: `lambdas/<consumer>/handler.ts`; null = no default consumer */
  readonly consumer: string | null;
  readonly queue: TierQueueSettings;
}

/**
 * The tiers, one entry each: the default routing and the list every other part derives from (tier
 * names, worker names, queues, rules, functions, event sources, dashboards). Adding a worker is one
 * entry here with `consumer` set, plus its `lambdas/<consumer>/` folder (docs/workers.md).
 * Message, presence and typing traffic are in no tier: the ingestor drops them.
 */
const TIERS = [
  {
    name: 'interactions',
    priority: 1,
    description: 'Slash commands and components: must be answered within 3 s',
    dispatchTypes: ['INTERACTION_CREATE'],
    consumer: 'interaction',
    queue: {
      functionTimeoutSeconds: 15,
      visibilityTimeoutSeconds: 90,
      // an interaction cannot be answered after 3 s; a few retries are enough to reach the DLQ fast
      maxReceiveCount: 3,
      batchSize: 1,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 100,
      retentionSeconds: 3600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
  {
    name: 'members',
    priority: 2,
    description: 'Member joins, updates and leaves',
    dispatchTypes: ['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE'],
    consumer: 'member',
    queue: {
      functionTimeoutSeconds: 30,
      visibilityTimeoutSeconds: 180,
      maxReceiveCount: 5,
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 10,
      retentionSeconds: 345_600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
  {
    name: 'guilds',
    priority: 3,
    description: 'Guild lifecycle: joins, updates, outages and removals',
    dispatchTypes: ['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE'],
    consumer: 'guild',
    queue: {
      functionTimeoutSeconds: 30,
      visibilityTimeoutSeconds: 180,
      maxReceiveCount: 5,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 5,
      retentionSeconds: 345_600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
  {
    name: 'voice',
    priority: 4,
    // every mute, deafen and stream toggle is a VOICE_STATE_UPDATE too: batched like member events
    description: 'Voice channel joins, moves and leaves',
    dispatchTypes: ['VOICE_STATE_UPDATE'],
    consumer: 'voice',
    queue: {
      functionTimeoutSeconds: 30,
      visibilityTimeoutSeconds: 180,
      maxReceiveCount: 5,
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
      maxConcurrency: 5,
      retentionSeconds: 345_600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
  {
    name: 'sync',
    priority: 5,
    // op 8's answer (/sync-members): a chunk is up to 1,000 members, often above the claim-check
    // threshold (it travels through S3, loaded before the core), and 1,000 upserts of work (40-120 ms
    // measured locally), so small batches with a longer timeout, and never in front of member joins.
    // RATE_LIMITED is Discord's answer instead of chunks when op 8 asked too soon: the worker records it
    // on the sync's row, so /sync-members can tell the user when to try again
    description: 'Member list chunks of a member sync (/sync-members), and its RATE_LIMITED answers',
    dispatchTypes: ['GUILD_MEMBERS_CHUNK', 'RATE_LIMITED'],
    consumer: 'sync',
    queue: {
      functionTimeoutSeconds: 60,
      visibilityTimeoutSeconds: 360,
      maxReceiveCount: 5,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 2,
      retentionSeconds: 345_600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
  {
    name: 'bulk',
    priority: 6,
    description: 'Opt-in low-volume types kept for later consumers; no default consumer',
    dispatchTypes: ['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE', 'GUILD_BAN_ADD', 'GUILD_BAN_REMOVE'],
    consumer: null,
    queue: {
      functionTimeoutSeconds: 30,
      visibilityTimeoutSeconds: 180,
      maxReceiveCount: 5,
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 2,
      retentionSeconds: 1_209_600,
      maximumMessageSizeBytes: MESSAGE_SIZE,
    },
  },
] as const satisfies readonly TierDefinition[];

export type TierName = (typeof TIERS)[number]['name'];
/** Every tier's name, in TIERS order. */
export const TIER_NAMES: readonly TierName[] = Object.freeze(TIERS.map((t) => t.name));

/** Which worker consumes a tier (`lambdas/<consumer>/`); a tier with `consumer: null` has none (bulk). */
export type ConsumerName = Exclude<(typeof TIERS)[number]['consumer'], null>;
export const CONSUMERS: readonly ConsumerName[] = Object.freeze(TIERS.flatMap((t) => (t.consumer === null ? [] : [t.consumer])));

const dispatchTypeSchema = z.enum(DISPATCH_TYPES as unknown as [DispatchType, ...DispatchType[]]);

export const TierQueueSettingsSchema = z
  .object({
    /** Lambda function timeout of the tier's consumer, seconds. */
    functionTimeoutSeconds: z.number().int().min(1).max(900),
    /** SQS visibility timeout, seconds; AWS advises at least 6 x the function timeout. */
    visibilityTimeoutSeconds: z.number().int().min(0).max(43_200),
    /** Receives before a message moves to the tier's DLQ. */
    maxReceiveCount: z.number().int().min(1).max(1000),
    /** Event source mapping batch size (1..10,000 for standard queues). */
    batchSize: z.number().int().min(1).max(10_000),
    /** Event source mapping batching window, seconds (0..300); required >= 1 when batchSize > 10. */
    maxBatchingWindowSeconds: z.number().int().min(0).max(300),
    /** Event source mapping maximum concurrency (2..1,000). */
    maxConcurrency: z.number().int().min(2).max(1000),
    /** Message retention of the queue, seconds (60..1,209,600). */
    retentionSeconds: z.number().int().min(60).max(1_209_600),
    /** SQS MaximumMessageSize, bytes, set explicitly (1,024..1,048,576). */
    maximumMessageSizeBytes: z.number().int().min(1024).max(1_048_576),
  })
  .strict();
export type TierQueueSettings = z.infer<typeof TierQueueSettingsSchema>;

export const TierRouteSchema = z
  .object({
    name: z.enum(TIER_NAMES as [TierName, ...TierName[]]),
    /** 1 is served first; priority means separate queues with their own concurrency. */
    priority: z.number().int().min(1),
    description: z.string().min(1),
    dispatchTypes: z.array(dispatchTypeSchema).min(1),
    consumer: z.enum(CONSUMERS as [ConsumerName, ...ConsumerName[]]).nullable(),
    queue: TierQueueSettingsSchema,
  })
  .strict();
export type TierRoute = z.infer<typeof TierRouteSchema>;

export type RoutingTable = Readonly<Record<TierName, TierRoute>>;

/** Default routing: the tiers of TIERS by name. */
export const DEFAULT_ROUTING_TABLE: RoutingTable = Object.freeze(Object.fromEntries(TIERS.map((t) => [t.name, t as unknown as TierRoute])) as Record<TierName, TierRoute>);

/** Cross-field rules that a single field's schema cannot state. Returns every violation found. */
export function routingTableProblems(table: RoutingTable): string[] {
  const problems: string[] = [];
  const owner = new Map<string, TierName>();
  for (const name of TIER_NAMES) {
    const tier = table[name];
    // the table may come from JSON (tierOverrides): its type is what is being checked here
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (!tier) {
      problems.push(`tier ${name} is missing`);
      continue;
    }
    const parsed = TierRouteSchema.safeParse(tier);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${name}.${issue.path.join('.')}: ${issue.message}`);
      continue;
    }
    if (tier.name !== name) problems.push(`tier under key ${name} is named ${tier.name}`);
    const q = tier.queue;
    // AWS's advice for SQS event sources: a message must not become visible again while a slow or
    // retried batch of the function still holds it
    if (q.visibilityTimeoutSeconds < 6 * q.functionTimeoutSeconds) {
      problems.push(`${name}.queue.visibilityTimeoutSeconds=${q.visibilityTimeoutSeconds} is below 6 x functionTimeoutSeconds=${q.functionTimeoutSeconds}: raise it to at least ${6 * q.functionTimeoutSeconds}`);
    }
    if (q.batchSize > 10 && q.maxBatchingWindowSeconds < 1) {
      problems.push(`${name}.queue.batchSize=${q.batchSize} above 10 needs maxBatchingWindowSeconds >= 1`);
    }
    for (const t of tier.dispatchTypes) {
      const prev = owner.get(t);
      if (prev) problems.push(`dispatch type ${t} is routed to both ${prev} and ${name}: a type belongs to one tier`);
      else owner.set(t, name);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- as above: a tier may be missing
  const priorities = TIER_NAMES.map((n) => table[n]?.priority);
  if (new Set(priorities).size !== priorities.length) problems.push(`tier priorities must be distinct, got ${priorities.join(',')}`);
  return problems;
}

/** Throws INVALID_ROUTING_TABLE listing every problem, else returns the table. */
export function validateRoutingTable(table: RoutingTable): RoutingTable {
  const problems = routingTableProblems(table);
  if (problems.length > 0) throw new ContractError('INVALID_ROUTING_TABLE', 'invalid routing table', problems);
  return table;
}

export type TierOverride = {
  readonly dispatchTypes?: readonly string[];
  readonly queue?: Partial<TierQueueSettings>;
};
export type RoutingOverrides = Partial<Record<TierName, TierOverride>>;

/**
 * A routing table with per-tier overrides applied (e.g. from CDK context), validated.
 * Unknown tier names or dispatch types raise a ContractError naming them.
 */
export function withOverrides(overrides: RoutingOverrides, base: RoutingTable = DEFAULT_ROUTING_TABLE): RoutingTable {
  const unknownTiers = Object.keys(overrides).filter((k) => !(TIER_NAMES as readonly string[]).includes(k));
  if (unknownTiers.length > 0) {
    throw new ContractError('INVALID_ROUTING_TABLE', 'unknown tier in overrides', [`${unknownTiers.join(', ')} (tiers are ${TIER_NAMES.join(', ')})`]);
  }
  const out = {} as Record<TierName, TierRoute>;
  for (const name of TIER_NAMES) {
    const o = overrides[name];
    out[name] = {
      ...base[name],
      dispatchTypes: (o?.dispatchTypes ?? base[name].dispatchTypes) as DispatchType[],
      queue: { ...base[name].queue, ...(o?.queue ?? {}) },
    };
  }
  return Object.freeze(validateRoutingTable(out));
}

/** Tiers in priority order (1 first). */
export const tiersByPriority = (table: RoutingTable = DEFAULT_ROUTING_TABLE): TierRoute[] => TIER_NAMES.map((n) => table[n]).sort((a, b) => a.priority - b.priority);

/** A classifier over a table: dispatch type -> tier, or undefined when no tier wants it (drop). */
export function createClassifier(table: RoutingTable = DEFAULT_ROUTING_TABLE): (type: string) => TierName | undefined {
  const map = new Map<string, TierName>();
  for (const name of TIER_NAMES) for (const t of table[name].dispatchTypes) map.set(t, name);
  return (type) => map.get(type);
}

/** Classify with the default table. */
export const classify = createClassifier(DEFAULT_ROUTING_TABLE);

/** The EventBridge event pattern of a tier's rule: exactly its source and dispatch types. */
export const tierEventPattern = (tier: TierRoute) => ({
  source: [EVENT_SOURCE],
  'detail-type': [...tier.dispatchTypes],
});

validateRoutingTable(DEFAULT_ROUTING_TABLE);
