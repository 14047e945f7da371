/**
 * The envelope every dispatch travels in (docs/architecture.md), its zod schema and derived type,
 * the deterministic id, and the id extraction used for filters and log correlation.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { assertDispatchType, DISPATCH_TYPES, type DispatchType } from './dispatch';
import { ContractError } from './errors';

export const ENVELOPE_VERSION = 1 as const;

/** Discord snowflake: an unsigned 64-bit integer as a decimal string. */
export const SnowflakeSchema = z.string().regex(/^\d{1,20}$/, 'expected a snowflake (decimal string)');
export type Snowflake = z.infer<typeof SnowflakeSchema>;

/** A JSON object (not null, not an array): what Discord sends as a dispatch's `d`. */
export const DispatchDataSchema = z.record(z.string(), z.unknown());

/** Where a claim-checked payload lives when the entry would exceed the size limit. */
/**
 * How an interaction reached us: over a gateway shard, or as a signed POST to the HTTP interactions
 * endpoint (whose response already deferred it). Absent means `gateway`: gateway envelopes stay
 * byte-for-byte what they were.
 */
export const INGRESSES = ['gateway', 'http'] as const;
export type Ingress = (typeof INGRESSES)[number];
export const IngressSchema = z.enum(INGRESSES);

export const DataRefSchema = z
  .object({
    bucket: z.string().min(3),
    key: z.string().min(1),
    /** Serialized size of the stored payload, bytes. */
    bytes: z.number().int().nonnegative(),
  })
  .strict();
export type DataRef = z.infer<typeof DataRefSchema>;

const base = {
  v: z.literal(ENVELOPE_VERSION),
  id: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 lowercase hex characters'),
  appId: SnowflakeSchema,
  shardId: z.number().int().nonnegative(),
  sessionId: z.string().min(1),
  seq: z.number().int().nonnegative(),
  type: z.enum(DISPATCH_TYPES as unknown as [DispatchType, ...DispatchType[]]),
  receivedAt: z.number().int().nonnegative(),
  guildId: SnowflakeSchema.nullable(),
  channelId: SnowflakeSchema.nullable(),
  userId: SnowflakeSchema.nullable(),
  ingress: IngressSchema.optional(),
};

/** Exactly one of `data` (inline) or `dataRef` (claim check) is present. */
export const EnvelopeSchema = z
  .object({ ...base, data: DispatchDataSchema.optional(), dataRef: DataRefSchema.optional() })
  .strict()
  .superRefine((e, ctx) => {
    if ((e.data === undefined) === (e.dataRef === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['data'], message: 'exactly one of data or dataRef must be present' });
    }
  });
type ParsedEnvelope = z.infer<typeof EnvelopeSchema>;
type Common = Omit<ParsedEnvelope, 'data' | 'dataRef'>;
export type InlineEnvelope = Common & { data: Record<string, unknown>; dataRef?: undefined };
export type ClaimCheckedEnvelope = Common & { dataRef: DataRef; data?: undefined };
export type Envelope = InlineEnvelope | ClaimCheckedEnvelope;

export const isClaimChecked = (e: Envelope): e is ClaimCheckedEnvelope => e.dataRef !== undefined;

/** The envelope's ingress, `gateway` when the field is absent. */
export const ingressOf = (e: Pick<Envelope, 'ingress'>): Ingress => e.ingress ?? 'gateway';

/** A zod error as one line per issue, `path: message` (`(root)` for the value itself). */
export const formatIssues = (error: z.ZodError): string[] => error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);

/** Validates an envelope at a trust boundary (worker input). Throws INVALID_ENVELOPE with each issue. */
export function parseEnvelope(input: unknown): Envelope {
  const r = EnvelopeSchema.safeParse(input);
  if (!r.success) throw new ContractError('INVALID_ENVELOPE', 'invalid envelope', formatIssues(r.error));
  return r.data as Envelope;
}

/**
 * Deterministic envelope id: the same Discord event replayed after a RESUME carries the same
 * session id and seq, so it gets the same id; workers dedupe on it.
 */
export function envelopeId(appId: string, shardId: number, sessionId: string, seq: number): string {
  // crypto.hash: the one-shot form (same digest as createHash().update().digest(), no Hash object per event)
  return hash('sha256', `v1|${appId}|${shardId}|${sessionId}|${seq}`, 'hex').slice(0, 32);
}

/**
 * The id of an event by its content, for the switch-over of a reshard: two shard sets connected at
 * once each receive every event of their guilds, in different sessions, so the session-based id
 * differs; the same event has the same type and data in both, so this id is the same and the
 * workers' dedupe by envelope id absorbs the copy (docs/architecture.md, Resharding).
 */
export function contentEnvelopeId(appId: string, type: string, data: unknown): string {
  return hash('sha256', `v1c|${appId}|${type}|${JSON.stringify(data)}`, 'hex').slice(0, 32);
}

export interface ExtractedIds {
  guildId: Snowflake | null;
  channelId: Snowflake | null;
  userId: Snowflake | null;
}

const asObject = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** A value for an error message: JSON when it has one (a function or symbol has none), 64 characters at most. */
const shown = (value: unknown): string => {
  const json = JSON.stringify(value) as string | undefined;
  return (json ?? String(value)).slice(0, 64);
};

function snowflakeAt(value: unknown, field: string): Snowflake | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return value;
  throw new ContractError('INVALID_ID', `field ${field} is not a snowflake`, [`got ${shown(value)}`]);
}

/** Types whose payload's own `id` is the guild's id. */
const GUILD_SELF = new Set<string>(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);
/** Types whose payload's own `id` is a channel's (or thread's) id. */
const CHANNEL_SELF = new Set<string>(['CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE']);

/**
 * Guild, channel and user ids of any dispatch, or null where the payload has none. RATE_LIMITED names
 * its guild in `meta.guild_id` (the rate-limited request's own fields,
 * https://discord.com/developers/docs/events/gateway-events#rate-limited).
 * A field that is present but not a snowflake is an INVALID_ID error, never silently null.
 */
export function extractIds(type: string, data: unknown): ExtractedIds {
  const d = asObject(data);
  if (!d) throw new ContractError('INVALID_DATA', `dispatch ${type} data must be a JSON object`, [`got ${describe(data)}`]);
  const member = asObject(d.member);
  const guildId = snowflakeAt(d.guild_id, 'guild_id') ?? (GUILD_SELF.has(type) ? snowflakeAt(d.id, 'id') : null) ?? (type === 'RATE_LIMITED' ? snowflakeAt(asObject(d.meta)?.guild_id, 'meta.guild_id') : null);
  const channelId = snowflakeAt(d.channel_id, 'channel_id') ?? (CHANNEL_SELF.has(type) ? snowflakeAt(d.id, 'id') : null) ?? snowflakeAt(asObject(d.channel)?.id, 'channel.id');
  const userId = snowflakeAt(asObject(d.user)?.id, 'user.id') ?? snowflakeAt(asObject(member?.user)?.id, 'member.user.id') ?? snowflakeAt(asObject(d.author)?.id, 'author.id') ?? snowflakeAt(d.user_id, 'user_id');
  return { guildId, channelId, userId };
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** What the ingestor knows about one dispatch when it wraps it. */
export interface DispatchInput {
  appId: string;
  shardId: number;
  sessionId: string;
  seq: number;
  type: string;
  data: unknown;
  receivedAt: number;
  /** @default 'gateway' (and then the envelope carries no `ingress` field) */
  ingress?: Ingress;
  /** 'content' while two shard sets overlap during a reshard (contentEnvelopeId) @default 'session' */
  idFrom?: 'session' | 'content';
}

const DispatchInputSchema = z.object({
  appId: SnowflakeSchema,
  shardId: z.number().int().nonnegative(),
  sessionId: z.string().min(1),
  seq: z.number().int().nonnegative(),
  type: z.string(),
  data: z.unknown(),
  receivedAt: z.number().int().nonnegative(),
  ingress: IngressSchema.optional(),
});

/**
 * Wraps one gateway dispatch in the envelope. Unknown types, missing fields and non-object data
 * give a typed ContractError (INVALID_DISPATCH, UNKNOWN_DISPATCH_TYPE, INVALID_DATA, INVALID_ID).
 */
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * The ingestor wraps every dispatch (thousands a second): a plain check of what the schema checks
 * (never looser), and the schema itself only for an input that fails it, for the error's issues.
 */
// the input comes from the gateway at run time: these checks test what its type only claims
const isValidDispatchInput = (i: DispatchInput): boolean =>
  typeof i.appId === 'string' &&
  /^\d{1,20}$/.test(i.appId) &&
  isCount(i.shardId) &&
  typeof i.sessionId === 'string' &&
  i.sessionId.length > 0 &&
  isCount(i.seq) &&
  typeof i.type === 'string' &&
  isCount(i.receivedAt) &&
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  (i.ingress === undefined || i.ingress === 'gateway' || i.ingress === 'http');

export function wrapDispatch(input: DispatchInput): InlineEnvelope {
  if (!isValidDispatchInput(input)) {
    const r = DispatchInputSchema.safeParse(input);
    if (!r.success) throw new ContractError('INVALID_DISPATCH', 'invalid dispatch', formatIssues(r.error));
  }
  const { appId, shardId, sessionId, seq, data, receivedAt } = input;
  const type = assertDispatchType(input.type);
  if (!asObject(data)) {
    throw new ContractError('INVALID_DATA', `dispatch ${type} data must be a JSON object`, [`got ${describe(data)}`]);
  }
  return {
    v: ENVELOPE_VERSION,
    id: input.idFrom === 'content' ? contentEnvelopeId(appId, type, data) : envelopeId(appId, shardId, sessionId, seq),
    appId,
    shardId,
    sessionId,
    seq,
    type,
    receivedAt,
    ...extractIds(type, data),
    // only a non-default ingress is written, so gateway envelopes keep their size and bytes
    ...(input.ingress === 'http' ? { ingress: 'http' as const } : {}),
    data: data as Record<string, unknown>,
  };
}
