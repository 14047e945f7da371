/**
 * Sync worker core: GUILD_MEMBERS_CHUNK, one part of Discord's answer to a Request Guild Members
 * (gateway op 8, sent by /sync-members). Each chunk carries up to 1,000 members of one guild, its
 * chunk_index of chunk_count and the request's nonce.
 * https://discord.com/developers/docs/events/gateway-events#guild-members-chunk
 *
 * Chunks have a tier of their own (sync): one chunk is up to 1,000 member upserts (40-120 ms measured
 * locally), a thousand times a member event, so they come in batches of 10 with a longer timeout and
 * never queue in front of member joins. The member worker handles a chunk the same way when a
 * deployment routes GUILD_MEMBERS_CHUNK to the members tier instead.
 *
 * - Every member of the chunk is upserted as present, with the chunk's version (receivedAt, seq): the
 *   same ordering rule as member events, so a chunk older than a member's REMOVE does not bring them back.
 * - Idempotent on the envelope id (processed_events), like every event; a chunk index already counted
 *   for its nonce (the same chunk under another envelope id) is not counted twice.
 * - Per nonce, member_syncs counts the chunks seen of chunk_count and the members they carried; the
 *   sync is complete when every chunk arrived (completed_at), which an operator and the tests read.
 * - RATE_LIMITED (Discord's answer instead of chunks when a whole-list op 8 came within 30 s of the
 *   last one for the guild): recorded on the row of the request's nonce (rate_limited_at, retry_after_ms),
 *   so the sync shows why it never completes and /sync-members tells the user when to try again.
 *   https://discord.com/developers/docs/events/gateway-events#rate-limited
 * - Pure over the typed input and the repository interface: the SQL is in repository.ts.
 */
import { z } from 'zod';
import { GatewayOpcodes } from 'discord-api-types/v10';
import { ContractError, formatIssues, SnowflakeSchema, type Envelope } from '../../lib/contract';

export interface ChunkMember {
  userId: string;
  username: string | null;
  nick: string | null;
  roles: string[];
  joinedAt: string | null;
}

export interface MembersChunk {
  guildId: string;
  members: ChunkMember[];
  chunkIndex: number;
  chunkCount: number;
  /** the op 8 request's nonce; null when it had none (another client's request) */
  nonce: string | null;
  /** how many requested user ids Discord did not find */
  notFound: number;
}

export interface ChunkProgress {
  chunksSeen: number;
  chunkCount: number;
  /** this chunk was the last one missing */
  completedNow: boolean;
}

/** One guild's transaction: every call runs under that guild's row-level security. */
export interface MemberSyncTx {
  /** records the envelope id; false when it was recorded before (a redelivery or replay) */
  claimEvent(eventId: string, type: string): Promise<boolean>;
  /** upserts the members where the version is newer than the stored one; returns how many rows changed */
  upsertMembers(members: readonly ChunkMember[], version: { eventAt: number; eventSeq: number }): Promise<number>;
  /** counts the chunk for its nonce (once per chunk index) */
  recordChunk(nonce: string, chunk: { chunkIndex: number; chunkCount: number; members: number; notFound: number }): Promise<ChunkProgress>;
  /** records Discord's RATE_LIMITED answer on the sync of the nonce (creating its row when there is none) */
  recordRateLimit(nonce: string, limit: { rateLimitedAt: number; retryAfterMs: number }): Promise<void>;
}

export interface MemberSyncRepository {
  inGuild<T>(guildId: string, fn: (tx: MemberSyncTx) => Promise<T>): Promise<T>;
}

export type ChunkOutcome = 'applied' | 'duplicate' | 'ignored';
export type RateLimitOutcome = 'rate-limited' | 'duplicate' | 'ignored';
/** reported besides the outcome when the chunk completed its sync */
export type ChunkSyncOutcome = 'sync-completed';

const SNOWFLAKE = /^\d{1,20}$/;
/** RATE_LIMITED names the limited opcode as a plain number */
const REQUEST_GUILD_MEMBERS: number = GatewayOpcodes.RequestGuildMembers;
const bad = (env: Envelope, field: string, what: string) => new ContractError('INVALID_DATA', `${env.type} ${env.id}: ${field} ${what}`);
const optionalString = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function memberOf(env: Envelope, raw: unknown, k: number): ChunkMember {
  const m = (typeof raw === 'object' && raw !== null ? raw : {}) as { user?: { id?: unknown; username?: unknown }; nick?: unknown; roles?: unknown; joined_at?: unknown };
  const userId = m.user?.id;
  if (typeof userId !== 'string' || !SNOWFLAKE.test(userId)) throw bad(env, `members[${k}].user.id`, 'must be a snowflake string');
  if (m.roles !== undefined && !(Array.isArray(m.roles) && m.roles.every((r) => typeof r === 'string' && SNOWFLAKE.test(r)))) throw bad(env, `members[${k}].roles`, 'must be an array of snowflake strings');
  if (m.joined_at !== undefined && m.joined_at !== null && (typeof m.joined_at !== 'string' || Number.isNaN(Date.parse(m.joined_at)))) throw bad(env, `members[${k}].joined_at`, 'must be an ISO 8601 timestamp or null');
  return { userId, username: optionalString(m.user?.username), nick: optionalString(m.nick), roles: (m.roles as string[] | undefined) ?? [], joinedAt: optionalString(m.joined_at) };
}

/** The chunk's fields, checked; a bad one is a ContractError naming it. */
export function membersChunkOf(env: Envelope): MembersChunk {
  if (!env.data) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} arrived without its payload: the batch path loads claim checks before the core`);
  const d = env.data as { guild_id?: unknown; members?: unknown; chunk_index?: unknown; chunk_count?: unknown; nonce?: unknown; not_found?: unknown };
  if (typeof d.guild_id !== 'string' || !SNOWFLAKE.test(d.guild_id)) throw bad(env, 'guild_id', 'must be a snowflake string');
  if (!Array.isArray(d.members)) throw bad(env, 'members', 'must be an array');
  const count = d.chunk_count;
  const index = d.chunk_index;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw bad(env, 'chunk_count', 'must be a whole number >= 1');
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) throw bad(env, 'chunk_index', `must be a whole number in 0..${count - 1}`);
  if (d.nonce !== undefined && d.nonce !== null && typeof d.nonce !== 'string') throw bad(env, 'nonce', 'must be a string');
  // a member listed twice keeps its last entry: one upsert may not touch a row twice
  const byUser = new Map<string, ChunkMember>();
  d.members.forEach((raw, k) => {
    const m = memberOf(env, raw, k);
    byUser.set(m.userId, m);
  });
  return {
    guildId: d.guild_id,
    members: [...byUser.values()],
    chunkIndex: index,
    chunkCount: count,
    nonce: typeof d.nonce === 'string' && d.nonce !== '' ? d.nonce : null,
    notFound: Array.isArray(d.not_found) ? d.not_found.length : 0,
  };
}

export async function handleMembersChunk(env: Envelope, deps: { sync: MemberSyncRepository; onOutcome?: (outcome: ChunkOutcome | ChunkSyncOutcome, envelope: Envelope) => void }): Promise<ChunkOutcome> {
  if (env.type !== 'GUILD_MEMBERS_CHUNK') {
    deps.onOutcome?.('ignored', env);
    return 'ignored';
  }
  const chunk = membersChunkOf(env);
  const { outcome, completed } = await deps.sync.inGuild(chunk.guildId, async (tx) => {
    if (!(await tx.claimEvent(env.id, env.type))) return { outcome: 'duplicate' as const, completed: false };
    if (chunk.members.length > 0) await tx.upsertMembers(chunk.members, { eventAt: env.receivedAt, eventSeq: env.seq });
    if (chunk.nonce === null) return { outcome: 'applied' as const, completed: false };
    const progress = await tx.recordChunk(chunk.nonce, { chunkIndex: chunk.chunkIndex, chunkCount: chunk.chunkCount, members: chunk.members.length, notFound: chunk.notFound });
    return { outcome: 'applied' as const, completed: progress.completedNow };
  });
  if (completed) deps.onOutcome?.('sync-completed', env);
  deps.onOutcome?.(outcome, env);
  return outcome;
}

/** RATE_LIMITED's payload: `opcode` of the limited command, `retry_after` seconds (a float), `meta` of the command. */
export const RateLimitedSchema = z.object({
  opcode: z.number().int().nonnegative(),
  retry_after: z.number().nonnegative(),
  meta: z.looseObject({ guild_id: SnowflakeSchema, nonce: z.string().optional() }),
});

export interface RateLimited {
  guildId: string;
  /** the gateway opcode that was limited (8: Request Guild Members) */
  opcode: number;
  retryAfterMs: number;
  /** the limited request's nonce; null when it had none */
  nonce: string | null;
}

/** RATE_LIMITED's fields, checked with RateLimitedSchema; a bad one is a ContractError INVALID_DATA naming it. */
export function rateLimitedOf(env: Envelope): RateLimited {
  if (!env.data) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} arrived without its payload: the batch path loads claim checks before the core`);
  const r = RateLimitedSchema.safeParse(env.data);
  if (!r.success) throw new ContractError('INVALID_DATA', `${env.type} ${env.id}: invalid payload`, formatIssues(r.error));
  const d = r.data;
  return { guildId: d.meta.guild_id, opcode: d.opcode, retryAfterMs: Math.round(d.retry_after * 1000), nonce: d.meta.nonce !== undefined && d.meta.nonce !== '' ? d.meta.nonce : null };
}

/**
 * RATE_LIMITED: for op 8 (Request Guild Members) with a nonce, the limit is recorded on that sync's row
 * (rate_limited_at = the event's receivedAt); another opcode or a request without nonce is ignored (only
 * the claim is written). A malformed payload is a ContractError: the batch path dead-letters it.
 */
export async function handleRateLimited(env: Envelope, deps: { sync: MemberSyncRepository; onOutcome?: (outcome: RateLimitOutcome, envelope: Envelope) => void }): Promise<RateLimitOutcome> {
  const limit = rateLimitedOf(env);
  const outcome = await deps.sync.inGuild(limit.guildId, async (tx): Promise<RateLimitOutcome> => {
    if (!(await tx.claimEvent(env.id, env.type))) return 'duplicate';
    if (limit.opcode !== REQUEST_GUILD_MEMBERS || limit.nonce === null) return 'ignored';
    await tx.recordRateLimit(limit.nonce, { rateLimitedAt: env.receivedAt, retryAfterMs: limit.retryAfterMs });
    return 'rate-limited';
  });
  deps.onOutcome?.(outcome, env);
  return outcome;
}

/** The sync tier's envelopes: member list chunks and RATE_LIMITED answers. */
export function handleSyncEvent(env: Envelope, deps: { sync: MemberSyncRepository; onOutcome?: (outcome: ChunkOutcome | ChunkSyncOutcome | RateLimitOutcome, envelope: Envelope) => void }): Promise<ChunkOutcome | RateLimitOutcome> {
  return env.type === 'RATE_LIMITED' ? handleRateLimited(env, deps) : handleMembersChunk(env, deps);
}
