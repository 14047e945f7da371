import { describe, expect, it } from 'vitest';
import { ContractError, wrapDispatch, type Envelope } from '../../../lib/contract';
import { handleVoiceEvent, type StoredVoiceState, type VoiceRepository } from '../../../lambdas/voice/core';

const G = '200000000000000001';
const U = '300000000000000001';
const A = '400000000000000001';
const B = '400000000000000002';
let seq = 0;
const voice = (channelId: string | null, opts: { at?: number; guildId?: string | null; userId?: string } = {}): Envelope =>
  wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: 's',
    seq: ++seq,
    type: 'VOICE_STATE_UPDATE',
    receivedAt: opts.at ?? 1_800_000_000_000 + seq,
    data: {
      ...(opts.guildId === null ? {} : { guild_id: opts.guildId ?? G }),
      user_id: opts.userId ?? U,
      channel_id: channelId,
      session_id: 'x',
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: false,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    },
  });

interface Session {
  guildId: string;
  userId: string;
  channelId: string;
  joinedAt: number;
  leftAt?: number;
}

/** The repository in memory, with the same rules as the SQL: one claim per event id, one open session per member. */
function fakeRepo() {
  const claimed = new Set<string>();
  const states = new Map<string, StoredVoiceState>();
  const sessions: Session[] = [];
  const repo: VoiceRepository = {
    async inGuild(guildId, fn) {
      const k = (u: string) => `${guildId}/${u}`;
      return fn({
        claimEvent: (id) => Promise.resolve(!claimed.has(`${guildId}/${id}`) && Boolean(claimed.add(`${guildId}/${id}`))),
        lockState: (u) => Promise.resolve(states.get(k(u))),
        saveState: (u, s) => Promise.resolve(void states.set(k(u), s)),
        openSession: (userId, channelId, at) => {
          if (sessions.some((s) => s.guildId === guildId && s.userId === userId && s.leftAt === undefined)) return Promise.reject(new Error('two open sessions'));
          sessions.push({ guildId, userId, channelId, joinedAt: at });
          return Promise.resolve();
        },
        closeSession: (userId, at) => {
          for (const s of sessions) if (s.guildId === guildId && s.userId === userId && s.leftAt === undefined) s.leftAt = at;
          return Promise.resolve();
        },
      });
    },
  };
  return { repo, sessions, states };
}

describe('voice worker core', () => {
  it('records a join, a move (leave + join) and a leave as sessions with the receive times', async () => {
    const { repo, sessions } = fakeRepo();
    const join = voice(A, { at: 1000 });
    const move = voice(B, { at: 5000 });
    const leave = voice(null, { at: 9000 });
    expect(await handleVoiceEvent(join, { repo })).toBe('joined');
    expect(await handleVoiceEvent(move, { repo })).toBe('moved');
    expect(await handleVoiceEvent(leave, { repo })).toBe('left');
    expect(sessions).toEqual([
      { guildId: G, userId: U, channelId: A, joinedAt: 1000, leftAt: 5000 },
      { guildId: G, userId: U, channelId: B, joinedAt: 5000, leftAt: 9000 },
    ]);
  });

  it('treats mute, deafen and stream toggles in the same channel as no change', async () => {
    const { repo, sessions } = fakeRepo();
    await handleVoiceEvent(voice(A), { repo });
    expect(await handleVoiceEvent(voice(A), { repo })).toBe('unchanged');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.leftAt).toBeUndefined();
  });

  it('changes nothing for a redelivered event, and ignores an older state that arrives late', async () => {
    const { repo, sessions } = fakeRepo();
    const outcomes: string[] = [];
    const onOutcome = (o: string) => void outcomes.push(o);
    const join = voice(A, { at: 1000 });
    const leave = voice(null, { at: 2000 });
    await handleVoiceEvent(join, { repo, onOutcome });
    await handleVoiceEvent(leave, { repo, onOutcome });
    await handleVoiceEvent(leave, { repo, onOutcome });
    // a move sent before the leave, delivered after it (standard SQS is unordered)
    await handleVoiceEvent(voice(B, { at: 1500 }), { repo, onOutcome });
    expect(outcomes).toEqual(['joined', 'left', 'duplicate', 'stale']);
    expect(sessions).toEqual([{ guildId: G, userId: U, channelId: A, joinedAt: 1000, leftAt: 2000 }]);
  });

  it('keeps guilds apart and ignores voice states without a guild (direct-message calls) and other types', async () => {
    const { repo, sessions } = fakeRepo();
    const other = '200000000000000002';
    await handleVoiceEvent(voice(A, { guildId: G }), { repo });
    await handleVoiceEvent(voice(null, { guildId: other }), { repo });
    expect(sessions.filter((s) => s.leftAt === undefined)).toHaveLength(1);
    expect(await handleVoiceEvent(voice(A, { guildId: null }), { repo })).toBe('ignored');
    expect(await handleVoiceEvent({ ...voice(A), type: 'GUILD_MEMBER_ADD' }, { repo })).toBe('ignored');
  });

  it('refuses bad input with a contract error naming the field', async () => {
    const { repo } = fakeRepo();
    const bad = (data: Record<string, unknown>) => handleVoiceEvent({ ...voice(A), data } as Envelope, { repo });
    await expect(bad({ guild_id: G, user_id: 42, channel_id: A })).rejects.toThrow(/user_id/);
    await expect(bad({ guild_id: G, user_id: U, channel_id: 7 })).rejects.toThrow(/channel_id/);
    await expect(bad({ guild_id: 'x', user_id: U, channel_id: A })).rejects.toThrow(/guild_id/);
    await expect(bad({ guild_id: G, user_id: U })).rejects.toBeInstanceOf(ContractError);
    const { data: _data, ...claimChecked } = voice(A);
    const ref: Envelope = { ...claimChecked, dataRef: { bucket: 'b', key: 'k', bytes: 1 } };
    await expect(handleVoiceEvent(ref, { repo })).rejects.toThrow(/claim-checked/);
  });
});
