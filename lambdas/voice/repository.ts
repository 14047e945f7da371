/**
 * The voice worker's repository on PostgreSQL (db/migrations/005_voice_sessions.sql): every call in a
 * withGuild transaction, so row-level security scopes it to the event's guild.
 */
import type { Pool, PoolClient } from 'pg';
import { claimEvent, withGuild } from '../shared/db';
import type { StoredVoiceState, VoiceRepository, VoiceTx } from './core';

function voiceTx(c: PoolClient, guildId: string): VoiceTx {
  return {
    claimEvent: (eventId, type) => claimEvent(c, guildId, eventId, type),
    async lockState(userId) {
      // a placeholder row first, so that two deliveries for the same member serialize on its lock even
      // when none was stored yet (version 0 is older than any event)
      const placeholder = await c.query('INSERT INTO voice_states (guild_id, user_id, channel_id, event_at, event_seq) VALUES ($1, $2, NULL, 0, 0) ON CONFLICT DO NOTHING', [guildId, userId]);
      const r = await c.query<{ channel_id: string | null; event_at: string; event_seq: string }>('SELECT channel_id, event_at, event_seq FROM voice_states WHERE user_id = $1 FOR UPDATE', [userId]);
      const row = r.rows[0];
      if (!row || placeholder.rowCount === 1) return undefined;
      const state: StoredVoiceState = { channelId: row.channel_id, eventAt: Number(row.event_at), eventSeq: Number(row.event_seq) };
      return state;
    },
    async saveState(userId, s) {
      await c.query('UPDATE voice_states SET channel_id = $2, event_at = $3, event_seq = $4, updated_at = now() WHERE user_id = $1', [userId, s.channelId, s.eventAt, s.eventSeq]);
    },
    async openSession(userId, channelId, at, eventId) {
      await c.query('INSERT INTO voice_sessions (guild_id, user_id, channel_id, joined_at, join_event_id) VALUES ($1, $2, $3, to_timestamp($4 / 1000.0), $5)', [guildId, userId, channelId, at, eventId]);
    },
    async closeSession(userId, at, eventId) {
      await c.query('UPDATE voice_sessions SET left_at = to_timestamp($2 / 1000.0), leave_event_id = $3 WHERE user_id = $1 AND left_at IS NULL', [userId, at, eventId]);
    },
  };
}

export const pgVoiceRepository = (pool: Pool): VoiceRepository => ({
  inGuild: (guildId, fn) => withGuild(pool, guildId, (c) => fn(voiceTx(c, guildId))),
});
