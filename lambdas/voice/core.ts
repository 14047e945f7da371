/**
 * Voice worker core: VOICE_STATE_UPDATE into voice sessions (who was in which voice channel when).
 * https://discord.com/developers/docs/events/gateway-events#voice-state-update
 *
 * A voice state says which channel a member is in now (channel_id, null when in none). Compared with
 * the member's stored state it is a join (none -> a channel), a leave (a channel -> none), a move
 * (leave + join: one session closed, the next opened) or no change (mute, deafen, stream and video
 * toggles arrive as voice state updates too).
 *
 * - Idempotent on the envelope id (claimEvent, the same processed_events record as the other workers).
 * - Ordering: standard SQS is unordered, so a state applies only when its version (receivedAt, seq) is
 *   newer than the stored one; an older one is 'stale' and changes nothing.
 * - Pure over the typed input and the repository interface: the SQL is in repository.ts.
 */
import { ContractError, type Envelope } from '../../lib/contract';

/** A member's stored voice state: the channel (null: none) and the version of the event that set it. */
export interface StoredVoiceState {
  channelId: string | null;
  eventAt: number;
  eventSeq: number;
}

/** One guild's transaction: every call runs under that guild's row-level security. */
export interface VoiceTx {
  /** records the envelope id; false when it was recorded before (a redelivery or replay) */
  claimEvent(eventId: string, type: string): Promise<boolean>;
  /** the member's stored state, locked until the transaction ends; undefined when none was stored */
  lockState(userId: string): Promise<StoredVoiceState | undefined>;
  saveState(userId: string, state: StoredVoiceState): Promise<void>;
  /** opens a session in `channelId` at `at` (Unix ms) */
  openSession(userId: string, channelId: string, at: number, eventId: string): Promise<void>;
  /** closes the member's open session at `at` (Unix ms), if there is one */
  closeSession(userId: string, at: number, eventId: string): Promise<void>;
}

export interface VoiceRepository {
  /** runs fn in one short transaction scoped to the guild (withGuild) */
  inGuild<T>(guildId: string, fn: (tx: VoiceTx) => Promise<T>): Promise<T>;
}

export interface VoiceDeps {
  repo: VoiceRepository;
  onOutcome?: (outcome: VoiceOutcome, envelope: Envelope) => void;
}

export type VoiceOutcome = 'joined' | 'left' | 'moved' | 'unchanged' | 'stale' | 'duplicate' | 'ignored';

export interface VoiceStateChange {
  guildId: string;
  userId: string;
  channelId: string | null;
}

const SNOWFLAKE = /^\d{1,20}$/;

/**
 * The fields the worker uses, checked. A voice state without guild_id (a direct-message call) has no
 * guild to record it under: undefined, and the event is ignored.
 */
export function voiceStateOf(env: Envelope): VoiceStateChange | undefined {
  if (!env.data) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} arrived claim-checked; voice states are small and must be inline`);
  const d = env.data as { guild_id?: unknown; user_id?: unknown; channel_id?: unknown };
  if (d.guild_id === undefined || d.guild_id === null) return undefined;
  if (typeof d.guild_id !== 'string' || !SNOWFLAKE.test(d.guild_id)) throw new ContractError('INVALID_DATA', `${env.type} ${env.id}: guild_id must be a snowflake string`);
  if (typeof d.user_id !== 'string' || !SNOWFLAKE.test(d.user_id)) throw new ContractError('INVALID_DATA', `${env.type} ${env.id}: user_id must be a snowflake string`);
  if (d.channel_id !== null && (typeof d.channel_id !== 'string' || !SNOWFLAKE.test(d.channel_id))) {
    throw new ContractError('INVALID_DATA', `${env.type} ${env.id}: channel_id must be a snowflake string or null`);
  }
  return { guildId: d.guild_id, userId: d.user_id, channelId: d.channel_id };
}

const newer = (a: { eventAt: number; eventSeq: number }, b: { eventAt: number; eventSeq: number }) => a.eventAt > b.eventAt || (a.eventAt === b.eventAt && a.eventSeq > b.eventSeq);

export async function handleVoiceEvent(env: Envelope, deps: VoiceDeps): Promise<VoiceOutcome> {
  const done = (o: VoiceOutcome) => {
    deps.onOutcome?.(o, env);
    return o;
  };
  if (env.type !== 'VOICE_STATE_UPDATE') return done('ignored');
  const change = voiceStateOf(env);
  if (!change) return done('ignored');
  const { guildId, userId, channelId } = change;
  const version = { eventAt: env.receivedAt, eventSeq: env.seq };
  const outcome = await deps.repo.inGuild(guildId, async (tx): Promise<VoiceOutcome> => {
    if (!(await tx.claimEvent(env.id, env.type))) return 'duplicate';
    const stored = await tx.lockState(userId);
    if (stored && !newer(version, stored)) return 'stale';
    await tx.saveState(userId, { channelId, ...version });
    const from = stored?.channelId ?? null;
    if (from === channelId) return 'unchanged';
    if (from !== null) await tx.closeSession(userId, env.receivedAt, env.id);
    if (channelId !== null) await tx.openSession(userId, channelId, env.receivedAt, env.id);
    return from === null ? 'joined' : channelId === null ? 'left' : 'moved';
  });
  return done(outcome);
}
