/**
 * Guild worker core: GUILD_CREATE / UPDATE / DELETE under row-level security.
 *
 * GUILD_DELETE with `unavailable: true` is an outage (the guild comes back with GUILD_CREATE): the row
 * is kept and marked unavailable. Without it, the bot was removed: removed_at is set.
 * https://discord.com/developers/docs/events/gateway-events#guild-delete
 * Same idempotency and ordering rules as the member worker.
 */
import type { Pool } from 'pg';
import { ContractError, type Envelope } from '../../lib/contract';
import { claimEvent, withGuild } from '../shared/db';

export interface GuildDeps {
  pool: Pool;
  onOutcome?: (outcome: GuildOutcome, envelope: Envelope) => void;
}

export type GuildOutcome = 'applied' | 'stale' | 'duplicate' | 'ignored';

const GUILD_TYPES = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);

export async function handleGuildEvent(env: Envelope, deps: GuildDeps): Promise<GuildOutcome> {
  if (!GUILD_TYPES.has(env.type)) {
    deps.onOutcome?.('ignored', env);
    return 'ignored';
  }
  // GUILD_CREATE can be large (channels, members): the ingestor may have claim-checked it; the
  // envelope's extracted guildId is enough for the row, the details we keep are small
  const d = (env.data ?? {}) as { id?: unknown; name?: unknown; owner_id?: unknown; member_count?: unknown; unavailable?: unknown };
  const guildId = typeof d.id === 'string' ? d.id : env.guildId;
  if (!guildId) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} has no guild id`);
  const outage = env.type === 'GUILD_DELETE' && d.unavailable === true;
  const removed = env.type === 'GUILD_DELETE' && !outage;
  const outcome = await withGuild(deps.pool, guildId, async (c) => {
    if (!(await claimEvent(c, guildId, env.id, env.type))) return 'duplicate' as const;
    const r = await c.query(
      `INSERT INTO guilds (guild_id, name, owner_id, member_count, available, removed_at, event_at, event_seq)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END, $7, $8)
       ON CONFLICT (guild_id) DO UPDATE SET
         name = coalesce(excluded.name, guilds.name),
         owner_id = coalesce(excluded.owner_id, guilds.owner_id),
         member_count = coalesce(excluded.member_count, guilds.member_count),
         available = excluded.available,
         removed_at = CASE WHEN $6 THEN now() WHEN $9 THEN guilds.removed_at ELSE NULL END,
         event_at = excluded.event_at,
         event_seq = excluded.event_seq,
         updated_at = now()
       WHERE (guilds.event_at, guilds.event_seq) < (excluded.event_at, excluded.event_seq)`,
      [guildId, typeof d.name === 'string' ? d.name : null, typeof d.owner_id === 'string' ? d.owner_id : null, typeof d.member_count === 'number' ? d.member_count : null, !outage, removed, env.receivedAt, env.seq, outage],
    );
    return r.rowCount === 1 ? ('applied' as const) : ('stale' as const);
  });
  deps.onOutcome?.(outcome, env);
  return outcome;
}
