import { describe, expect, it } from 'vitest';
import { ContractError, wrapDispatch, type Envelope } from '../../../lib/contract';
import { Pool } from 'pg';
import { handleMemberEvent } from '../../../lambdas/member/core';
import { handleMembersChunk, handleRateLimited, handleSyncEvent, membersChunkOf, type ChunkMember, type MemberSyncRepository } from '../../../lambdas/sync/core';

const G = '200000000000000001';
let seq = 0;
const user = (i: number) => String(300000000000000000n + BigInt(i));
const member = (i: number) => ({ user: { id: user(i), username: `u${i}` }, nick: i % 2 ? `n${i}` : null, roles: [], joined_at: '2024-01-01T00:00:00.000000+00:00', deaf: false, mute: false, flags: 0 });
const chunk = (index: number, count: number, ids: number[], extra: Record<string, unknown> = {}): Envelope =>
  wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: 's', seq: ++seq, type: 'GUILD_MEMBERS_CHUNK', receivedAt: 1_800_000_000_000 + seq, data: { guild_id: G, members: ids.map(member), chunk_index: index, chunk_count: count, nonce: 'sync-1', ...extra } });

/** The repository in memory, with the SQL's rules: one claim per event id, a chunk index counted once per nonce. */
function fakeRepo() {
  const claimed = new Set<string>();
  const members = new Map<string, ChunkMember>();
  const syncs = new Map<string, { indexes: Set<number>; chunkCount: number; members: number; completed: boolean }>();
  const rateLimits = new Map<string, { guildId: string; rateLimitedAt: number; retryAfterMs: number }>();
  const sync: MemberSyncRepository = {
    inGuild: (guildId, fn) =>
      fn({
        claimEvent: (id) => Promise.resolve(!claimed.has(id) && Boolean(claimed.add(id))),
        upsertMembers: (ms) => {
          for (const m of ms) members.set(`${guildId}/${m.userId}`, m);
          return Promise.resolve(ms.length);
        },
        recordChunk: (nonce, c) => {
          const s = syncs.get(nonce) ?? { indexes: new Set<number>(), chunkCount: c.chunkCount, members: 0, completed: false };
          syncs.set(nonce, s);
          if (s.indexes.has(c.chunkIndex)) return Promise.resolve({ chunksSeen: s.indexes.size, chunkCount: s.chunkCount, completedNow: false });
          s.indexes.add(c.chunkIndex);
          s.members += c.members;
          const completedNow = s.indexes.size === c.chunkCount;
          s.completed ||= completedNow;
          return Promise.resolve({ chunksSeen: s.indexes.size, chunkCount: c.chunkCount, completedNow });
        },
        recordRateLimit: (nonce, limit) => {
          rateLimits.set(nonce, { guildId, ...limit });
          return Promise.resolve();
        },
      }),
  };
  return { sync, members, syncs, rateLimits, claimed };
}

describe('member list chunks (GUILD_MEMBERS_CHUNK)', () => {
  it('upserts every member and completes the sync when the last of chunk_count arrives, in any order', async () => {
    const { sync, members, syncs } = fakeRepo();
    const outcomes: string[] = [];
    const onOutcome = (o: string) => void outcomes.push(o);
    await handleMembersChunk(chunk(2, 3, [5, 6]), { sync, onOutcome });
    await handleMembersChunk(chunk(0, 3, [1, 2]), { sync, onOutcome });
    expect(syncs.get('sync-1')?.completed).toBe(false);
    await handleMembersChunk(chunk(1, 3, [3, 4]), { sync, onOutcome });
    expect(outcomes).toEqual(['applied', 'applied', 'sync-completed', 'applied']);
    expect(syncs.get('sync-1')).toMatchObject({ chunkCount: 3, members: 6, completed: true });
    expect(members.size).toBe(6);
    expect(members.get(`${G}/${user(3)}`)).toEqual({ userId: user(3), username: 'u3', nick: 'n3', roles: [], joinedAt: '2024-01-01T00:00:00.000000+00:00' });
  });

  it('counts a chunk once: a redelivery is a duplicate, and the same chunk index under another envelope id is not counted again', async () => {
    const { sync, syncs } = fakeRepo();
    const first = chunk(0, 2, [1]);
    expect(await handleMembersChunk(first, { sync })).toBe('applied');
    expect(await handleMembersChunk(first, { sync })).toBe('duplicate');
    await handleMembersChunk(chunk(0, 2, [1]), { sync });
    expect(syncs.get('sync-1')).toMatchObject({ members: 1, completed: false });
  });

  it('upserts the members of a chunk without nonce and records no sync; keeps the last entry of a member listed twice', async () => {
    const { sync, members, syncs } = fakeRepo();
    const c = chunk(0, 1, [1, 1], { nonce: undefined });
    expect(membersChunkOf(c).members).toHaveLength(1);
    await handleMembersChunk(c, { sync });
    expect(members.size).toBe(1);
    expect(syncs.size).toBe(0);
    expect(membersChunkOf(chunk(0, 1, [], { not_found: [user(9), user(8)] })).notFound).toBe(2);
  });

  it('refuses a bad chunk with a contract error naming the field', () => {
    const bad = (data: Record<string, unknown>) => () => membersChunkOf({ ...chunk(0, 1, [1]), data } as Envelope);
    const base = { guild_id: G, members: [member(1)], chunk_index: 0, chunk_count: 1 };
    expect(bad({ ...base, guild_id: 7 })).toThrow(/guild_id/);
    expect(bad({ ...base, members: 'all' })).toThrow(/members must be an array/);
    expect(bad({ ...base, members: [member(1), { user: {} }] })).toThrow(/members\[1\]\.user\.id/);
    expect(bad({ ...base, members: [{ ...member(1), roles: [1] }] })).toThrow(/members\[0\]\.roles/);
    expect(bad({ ...base, members: [{ ...member(1), joined_at: 'yesterday' }] })).toThrow(/joined_at/);
    expect(bad({ ...base, chunk_index: 1 })).toThrow(/chunk_index/);
    expect(bad({ ...base, chunk_count: 0 })).toThrow(/chunk_count/);
    expect(bad({ ...base, nonce: 5 })).toThrow(ContractError);
  });

  it('is handled the same by the member worker when a deployment routes chunks to the members tier; other types are ignored', async () => {
    const { sync, members } = fakeRepo();
    // the pool is not touched: the chunk goes through the sync repository
    const untouched = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    expect(await handleMemberEvent(chunk(0, 1, [1, 2]), { pool: untouched, sync })).toBe('applied');
    await untouched.end();
    expect(members.size).toBe(2);
    expect(await handleMembersChunk({ ...chunk(0, 1, [3]), type: 'GUILD_MEMBER_ADD' }, { sync })).toBe('ignored');
  });
});

const rateLimited = (data: Record<string, unknown>): Envelope => wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: 's', seq: ++seq, type: 'RATE_LIMITED', receivedAt: 1_800_000_000_000 + seq, data });

describe('RATE_LIMITED (a whole member list asked for again within 30 s)', () => {
  it('records the limit on the sync of its nonce at the envelope time, in the guild of meta.guild_id; a redelivery is a duplicate', async () => {
    const { sync, rateLimits } = fakeRepo();
    const outcomes: string[] = [];
    const env = rateLimited({ opcode: 8, retry_after: 12.3456, meta: { guild_id: G, nonce: 'sm-1' } });
    expect(env.guildId).toBe(G);
    expect(await handleRateLimited(env, { sync, onOutcome: (o) => void outcomes.push(o) })).toBe('rate-limited');
    expect(rateLimits.get('sm-1')).toEqual({ guildId: G, rateLimitedAt: env.receivedAt, retryAfterMs: 12_346 });
    expect(await handleSyncEvent(env, { sync, onOutcome: (o) => void outcomes.push(o) })).toBe('duplicate');
    expect(outcomes).toEqual(['rate-limited', 'duplicate']);
    expect(rateLimits.size).toBe(1);
  });

  it('ignores one without nonce or for another opcode: claimed, nothing else written', async () => {
    const { sync, rateLimits, claimed } = fakeRepo();
    const noNonce = rateLimited({ opcode: 8, retry_after: 5, meta: { guild_id: G } });
    const emptyNonce = rateLimited({ opcode: 8, retry_after: 5, meta: { guild_id: G, nonce: '' } });
    const otherOp = rateLimited({ opcode: 31, retry_after: 5, meta: { guild_id: G, nonce: 'sm-2' } });
    for (const e of [noNonce, emptyNonce, otherOp]) expect(await handleSyncEvent(e, { sync })).toBe('ignored');
    expect(rateLimits.size).toBe(0);
    expect(claimed).toEqual(new Set([noNonce.id, emptyNonce.id, otherOp.id]));
  });

  it('refuses a malformed one with an INVALID_DATA contract error naming the field, writing nothing', async () => {
    const { sync, rateLimits, claimed } = fakeRepo();
    const base = { opcode: 8, retry_after: 5, meta: { guild_id: G, nonce: 'sm-3' } };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, retry_after: '5' }, /retry_after/],
      [{ ...base, retry_after: -1 }, /retry_after/],
      [{ ...base, opcode: 8.5 }, /opcode/],
      [{ ...base, meta: { nonce: 'sm-3' } }, /meta\.guild_id/],
      [{ ...base, meta: { guild_id: G, nonce: 7 } }, /meta\.nonce/],
      [{ opcode: 8, retry_after: 5 }, /meta/],
    ];
    for (const [data, field] of cases) {
      // the envelope as the ingestor would wrap it, with the payload replaced (extractIds checks meta.guild_id itself)
      const env = { ...rateLimited(base), data } as Envelope;
      const err = await handleRateLimited(env, { sync }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ContractError);
      expect((err as ContractError).code).toBe('INVALID_DATA');
      expect(JSON.stringify({ message: (err as ContractError).message, details: (err as ContractError).details })).toMatch(field);
    }
    expect(rateLimits.size).toBe(0);
    expect(claimed.size).toBe(0);
  });
});
