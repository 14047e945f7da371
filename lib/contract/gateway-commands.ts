/**
 * Commands for the gateway (issue 16): what a worker or an operator asks an ingestor task to send on
 * the shard that holds a guild. Discord's four client commands that are not part of the connection's
 * own lifecycle (https://discord.com/developers/docs/events/gateway-events#send-events):
 * op 3 Update Presence, op 4 Update Voice State, op 8 Request Guild Members, op 31 Request Soundboard
 * Sounds.
 *
 * The path: the sender (lambdas/shared/gateway-commands.ts, scripts/gateway-command.ts) validates with
 * `parseGatewayCommand` and XADDs one entry to the Redis stream of the target shard
 * (`commandKeys(ns, appId).stream(shardId)`, capped at COMMAND_STREAM_MAXLEN); the ingestor task that
 * holds the shard reads it with consumer group COMMAND_GROUP and sends it. The ingestor publishes the
 * application's shard count at `commandKeys(ns, appId).shardCount()`, from which the sender computes a
 * guild's shard (`shardForGuild`, Discord's formula).
 *
 * A bad command is refused where it is made, with every bad field named; the ingestor decodes each entry
 * again (`decodeCommandEntry`, never throws) and dead-letters what it cannot read.
 */
import { ActivityType, GatewayOpcodes, PresenceUpdateStatus, type GatewayRequestGuildMembers, type GatewayRequestSoundboardSounds, type GatewayUpdatePresence, type GatewayVoiceStateUpdate } from 'discord-api-types/v10';
import { z } from 'zod';
import { SnowflakeSchema } from './envelope';
import { ContractError } from './errors';

/** The commands this path carries, as discord-api-types defines their payloads. */
export type GatewayCommand = GatewayUpdatePresence | GatewayVoiceStateUpdate | GatewayRequestGuildMembers | GatewayRequestSoundboardSounds;

export const GATEWAY_COMMAND_OPCODES = [GatewayOpcodes.PresenceUpdate, GatewayOpcodes.VoiceStateUpdate, GatewayOpcodes.RequestGuildMembers, GatewayOpcodes.RequestSoundboardSounds] as const;

/** Discord: "Nonce can only be up to 32 bytes." Bytes of UTF-8, not characters. */
export const MAX_NONCE_BYTES = 32;
/** Discord returns at most 100 members for `user_ids`; more ids in one request are refused here. */
export const MAX_USER_IDS = 100;
/** an activity's name, in characters */
export const MAX_ACTIVITY_NAME = 128;

const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;
const lengthOf = (input: unknown): number => (Array.isArray(input) ? input.length : 0);

/** Bots may set only name, state, type and url of an activity. */
const ActivitySchema = z.strictObject({
  name: z
    .string()
    .min(1, 'at least 1 character')
    .max(MAX_ACTIVITY_NAME, { error: (i) => `at most ${MAX_ACTIVITY_NAME} characters (got ${typeof i.input === 'string' ? i.input.length : '?'})` }),
  type: z.enum(ActivityType, {
    error: `one of ${Object.values(ActivityType)
      .filter((v) => typeof v === 'number')
      .join(', ')} (Playing, Streaming, Listening, Watching, Custom, Competing)`,
  }),
  /** the stream URL: Discord honours it for type 1 (Streaming), Twitch and YouTube only */
  url: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL' })
    .nullable()
    .optional(),
  /** the text of a custom status (type 4) */
  state: z.string().nullable().optional(),
});

const PresenceUpdateSchema = z.strictObject({
  op: z.literal(GatewayOpcodes.PresenceUpdate),
  d: z.strictObject({
    since: z.number().int().nonnegative().nullable(),
    activities: z.array(ActivitySchema),
    status: z.enum(PresenceUpdateStatus, { error: `one of ${Object.values(PresenceUpdateStatus).join(', ')}` }),
    afk: z.boolean(),
  }),
});

const VoiceStateUpdateSchema = z.strictObject({
  op: z.literal(GatewayOpcodes.VoiceStateUpdate),
  d: z.strictObject({
    guild_id: SnowflakeSchema,
    /** null leaves the voice channel */
    channel_id: SnowflakeSchema.nullable(),
    self_mute: z.boolean(),
    self_deaf: z.boolean(),
  }),
});

const UserIdsSchema = z.union(
  [
    SnowflakeSchema,
    z
      .array(SnowflakeSchema)
      .min(1, 'at least 1 id')
      .max(MAX_USER_IDS, { error: (i) => `at most ${MAX_USER_IDS} (got ${lengthOf(i.input)})` }),
  ],
  {
    error: `a snowflake or an array of at most ${MAX_USER_IDS} snowflakes`,
  },
);

const RequestGuildMembersSchema = z.strictObject({
  op: z.literal(GatewayOpcodes.RequestGuildMembers),
  d: z
    .strictObject({
      guild_id: SnowflakeSchema,
      /** the prefix of the usernames; '' with limit 0: every member (needs the GUILD_MEMBERS intent) */
      query: z.string().optional(),
      limit: z.number().int().nonnegative().optional(),
      user_ids: UserIdsSchema.optional(),
      presences: z.boolean().optional(),
      nonce: z
        .string()
        .refine((s) => utf8Bytes(s) <= MAX_NONCE_BYTES, { error: (i) => `at most ${MAX_NONCE_BYTES} bytes (got ${typeof i.input === 'string' ? utf8Bytes(i.input) : '?'})` })
        .optional(),
    })
    .superRefine((d, ctx) => {
      if ((d.query === undefined) === (d.user_ids === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['query'], message: `exactly one of query or user_ids (got ${d.query === undefined ? 'neither' : 'both'})` });
      }
      if (d.query !== undefined && d.limit === undefined) ctx.addIssue({ code: 'custom', path: ['limit'], message: 'required with query (0 with an empty query: every member)' });
    }),
});

const RequestSoundboardSoundsSchema = z.strictObject({
  op: z.literal(GatewayOpcodes.RequestSoundboardSounds),
  d: z.strictObject({ guild_ids: z.array(SnowflakeSchema).min(1, 'at least 1 guild id') }),
});

export const GatewayCommandSchema = z.discriminatedUnion('op', [PresenceUpdateSchema, VoiceStateUpdateSchema, RequestGuildMembersSchema, RequestSoundboardSoundsSchema], {
  error: (i) => (typeof i.input === 'object' && i.input !== null && !Array.isArray(i.input) ? `one of ${GATEWAY_COMMAND_OPCODES.join(', ')} (Update Presence, Update Voice State, Request Guild Members, Request Soundboard Sounds)` : 'expected an object {op, d}'),
});

type Issue = z.core.$ZodIssue;

/**
 * `path: message` per issue. A union's issue is replaced by the issues of the one branch the input
 * had the type of (an array of 101 ids reports "at most 100", not "invalid input").
 */
function describeIssues(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((i) => {
    const path = [...prefix, ...i.path];
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      const typed = i.errors.filter((branch) => !branch.every((b) => b.code === 'invalid_type' && b.path.length === 0));
      if (typed.length === 1 && typed[0]) return describeIssues(typed[0], path);
    }
    return [`${path.length > 0 ? path.map(String).join('.') : '(root)'}: ${i.message}`];
  });
}

/** Validates a command at the sender (and again at the ingestor). Throws INVALID_GATEWAY_COMMAND naming every bad field. */
export function parseGatewayCommand(input: unknown): GatewayCommand {
  const r = GatewayCommandSchema.safeParse(input);
  if (!r.success) throw new ContractError('INVALID_GATEWAY_COMMAND', 'invalid gateway command', describeIssues(r.error.issues));
  // the schema checks what the union type of op 8 expresses (exactly one of query / user_ids, limit with query)
  return r.data as GatewayCommand;
}

/** The shard that receives a guild's events and takes its commands (https://discord.com/developers/docs/events/gateway#sharding). */
export function shardForGuild(guildId: string, shardCount: number): number {
  const id = SnowflakeSchema.safeParse(guildId);
  if (!id.success) throw new ContractError('INVALID_GATEWAY_COMMAND', `guild id ${JSON.stringify(guildId)} is not a snowflake`);
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new ContractError('INVALID_GATEWAY_COMMAND', `shard count must be a whole number >= 1 (got ${shardCount})`);
  return Number((BigInt(id.data) >> 22n) % BigInt(shardCount));
}

/**
 * The shard a command belongs on under `shardCount`: the one holding the guild it names. Undefined when
 * it names none (presence goes on any connection) or guilds of several shards (op 31 may list many).
 */
export function commandShard(command: GatewayCommand, shardCount: number): number | undefined {
  const d = command.d as { guild_id?: string; guild_ids?: readonly string[] };
  const guilds = d.guild_id !== undefined ? [d.guild_id] : (d.guild_ids ?? []);
  const shards = new Set(guilds.map((g) => shardForGuild(g, shardCount)));
  return shards.size === 1 ? [...shards][0] : undefined;
}

/** Redis keys of the command path, hash-tagged by application like the fleet's keys (ingestor/src/fleet/leases.ts). */
export const commandKeys = (ns: string, appId: string) => ({
  /** the stream of commands for one shard */
  stream: (shardId: number) => `${ns}:{${appId}}:commands:${shardId}`,
  /** the application's current shard count, written by the ingestor */
  shardCount: () => `${ns}:{${appId}}:shard-count`,
});

/** The consumer group every ingestor task of the fleet reads the command streams with. */
export const COMMAND_GROUP = 'ingestor';
/** Approximate cap of each command stream (XADD MAXLEN ~). */
export const COMMAND_STREAM_MAXLEN = 10_000;

/** One stream entry. */
export interface GatewayCommandEntry {
  /** the validated command */
  command: GatewayCommand;
  /** when it was queued, ms since the epoch */
  queuedAt: number;
  /** who queued it: a worker's name, `cli`, ... (free text, for logs) */
  origin: string;
  /** a uuid that follows the command through the logs */
  id: string;
}

const ENTRY_FIELDS = ['command', 'queuedAt', 'origin', 'id'] as const;

/** The entry as XADD field/value pairs. */
export function encodeCommandEntry(entry: GatewayCommandEntry): string[] {
  return ['command', JSON.stringify({ op: entry.command.op, d: entry.command.d }), 'queuedAt', String(entry.queuedAt), 'origin', entry.origin, 'id', entry.id];
}

export type DecodedCommandEntry = { ok: true; entry: GatewayCommandEntry } | { ok: false; reason: string };

/** An entry from XREAD(GROUP)'s flat field list. Never throws: what it cannot read comes back with the reason. */
export function decodeCommandEntry(fields: readonly string[]): DecodedCommandEntry {
  const map = new Map<string, string>();
  for (let k = 0; k + 1 < fields.length; k += 2) map.set(fields[k] ?? '', fields[k + 1] ?? '');
  const missing = ENTRY_FIELDS.filter((f) => !map.has(f));
  if (missing.length > 0) return { ok: false, reason: `missing field(s): ${missing.join(', ')}` };
  const queuedAt = Number(map.get('queuedAt'));
  if (!Number.isSafeInteger(queuedAt) || queuedAt < 0) return { ok: false, reason: 'queuedAt: expected ms since the epoch' };
  let raw: unknown;
  try {
    raw = JSON.parse(map.get('command') ?? '');
  } catch {
    return { ok: false, reason: 'command: not JSON' };
  }
  try {
    return { ok: true, entry: { command: parseGatewayCommand(raw), queuedAt, origin: map.get('origin') ?? '', id: map.get('id') ?? '' } };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : 'command: unreadable' };
  }
}
