/**
 * The sync worker's repository on PostgreSQL (members, member_syncs of db/migrations/004_member_syncs.sql
 * and its rate limit columns of 006_member_sync_rate_limits.sql):
 * every call in a withGuild transaction, so row-level security scopes it to the chunk's guild.
 */
import type { Pool, PoolClient } from 'pg';
import { claimEvent, withGuild } from '../shared/db';
import type { MemberSyncRepository, MemberSyncTx } from './core';

function syncTx(c: PoolClient, guildId: string): MemberSyncTx {
  return {
    claimEvent: (eventId, type) => claimEvent(c, guildId, eventId, type),
    async upsertMembers(members, version) {
      // one statement for the whole chunk (up to 1,000 members): the members travel as one JSON parameter
      const rows = members.map((m) => ({ user_id: m.userId, username: m.username, nick: m.nick, roles: m.roles, joined_at: m.joinedAt }));
      const r = await c.query(
        `INSERT INTO members (guild_id, user_id, username, nick, roles, joined_at, present, event_at, event_seq)
         SELECT $1, m.user_id, m.username, m.nick, m.roles, m.joined_at, true, $3, $4
           FROM jsonb_to_recordset($2::jsonb) AS m(user_id bigint, username text, nick text, roles text[], joined_at timestamptz)
         ON CONFLICT (guild_id, user_id) DO UPDATE SET
           username = coalesce(excluded.username, members.username),
           nick = excluded.nick,
           roles = excluded.roles,
           joined_at = coalesce(excluded.joined_at, members.joined_at),
           present = true,
           event_at = excluded.event_at,
           event_seq = excluded.event_seq,
           updated_at = now()
         WHERE (members.event_at, members.event_seq) < (excluded.event_at, excluded.event_seq)`,
        [guildId, JSON.stringify(rows), version.eventAt, version.eventSeq],
      );
      return r.rowCount ?? 0;
    },
    async recordChunk(nonce, chunk) {
      const r = await c.query<{ chunks_seen: number; chunk_count: number }>(
        `INSERT INTO member_syncs AS s (guild_id, nonce, chunk_indexes, chunks_seen, chunk_count, members, not_found, completed_at)
         VALUES ($1, $2, ARRAY[$3::int], 1, $4, $5, $6, CASE WHEN $4 = 1 THEN now() END)
         ON CONFLICT (guild_id, nonce) DO UPDATE SET
           chunk_indexes = s.chunk_indexes || $3::int,
           chunks_seen = s.chunks_seen + 1,
           chunk_count = $4,
           members = s.members + $5,
           not_found = s.not_found + $6,
           completed_at = CASE WHEN s.chunks_seen + 1 >= $4 THEN coalesce(s.completed_at, now()) ELSE s.completed_at END,
           updated_at = now()
         WHERE NOT ($3::int = ANY (s.chunk_indexes))
         RETURNING chunks_seen, chunk_count`,
        [guildId, nonce, chunk.chunkIndex, chunk.chunkCount, chunk.members, chunk.notFound],
      );
      const row = r.rows[0];
      if (row) return { chunksSeen: row.chunks_seen, chunkCount: row.chunk_count, completedNow: row.chunks_seen === row.chunk_count };
      // this chunk index was counted before (the same chunk under another envelope id)
      const seen = await c.query<{ chunks_seen: number; chunk_count: number | null }>('SELECT chunks_seen, chunk_count FROM member_syncs WHERE nonce = $1', [nonce]);
      const s = seen.rows[0];
      return { chunksSeen: s?.chunks_seen ?? 0, chunkCount: s?.chunk_count ?? chunk.chunkCount, completedNow: false };
    },
    async recordRateLimit(nonce, limit) {
      await c.query(
        `INSERT INTO member_syncs AS s (guild_id, nonce, rate_limited_at, retry_after_ms)
         VALUES ($1, $2, to_timestamp($3::double precision / 1000), $4)
         ON CONFLICT (guild_id, nonce) DO UPDATE SET
           rate_limited_at = excluded.rate_limited_at,
           retry_after_ms = excluded.retry_after_ms,
           updated_at = now()`,
        [guildId, nonce, limit.rateLimitedAt, limit.retryAfterMs],
      );
    },
  };
}

export const pgMemberSyncRepository = (pool: Pool): MemberSyncRepository => ({
  inGuild: (guildId, fn) => withGuild(pool, guildId, (c) => fn(syncTx(c, guildId))),
});
