/**
 * Member worker core: GUILD_MEMBER_ADD / UPDATE / REMOVE upserted under row-level security (and a
 * member list chunk as the sync worker handles it, when a deployment routes chunks to this tier).
 *
 * - Idempotent on the envelope id (processed_events): a redelivered or replayed event changes nothing twice.
 * - Ordering: standard SQS is unordered, so an event applies only when its version
 *   (receivedAt, seq) is newer than the stored one. receivedAt is the ingestor's receive time in ms and
 *   seq breaks ties within a gateway session. REMOVE leaves a tombstone (present = false) so a late ADD
 *   cannot resurrect a member who left.
 * - Side effects (the auto role on join) are recorded as pending_action in the event's own transaction
 *   and cleared after the REST call, so a crash in between leaves them to the redelivery.
 * - The auto role is a security-relevant action: an audit row (audit_log) is written when it is decided
 *   (with the pending action) and when it is done or dropped (with the clearing), correlation id = the
 *   envelope id.
 * https://discord.com/developers/docs/events/gateway-events#guild-member-add
 */
import type { Pool, PoolClient } from 'pg';
import { ContractError, type Envelope } from '../../lib/contract';
import { writeAudit } from '../shared/audit';
import { claimEvent, withGuild } from '../shared/db';
import { handleMembersChunk, type ChunkSyncOutcome, type MemberSyncRepository } from '../sync/core';
import { pgMemberSyncRepository } from '../sync/repository';

export interface MemberDeps {
  pool: Pool;
  /** bot-token REST for per-guild actions (the auto role); absent: such actions are skipped */
  botRest?: { put(route: `/${string}`): Promise<unknown> };
  /** GUILD_MEMBERS_CHUNK's repository (lambdas/sync) @default on `pool` */
  sync?: MemberSyncRepository;
  /** optional hook for metrics: what happened to each event */
  onOutcome?: (outcome: MemberOutcome | MemberActionOutcome | ChunkSyncOutcome, envelope: Envelope) => void;
}

export type MemberOutcome = 'applied' | 'stale' | 'duplicate' | 'ignored';
/** reported besides the outcome when a pending action cannot ever succeed and is dropped */
export type MemberActionOutcome = 'action-done' | 'action-dropped';

interface MemberData {
  guild_id?: unknown;
  user?: { id?: unknown; username?: unknown };
  nick?: unknown;
  roles?: unknown;
  joined_at?: unknown;
}

const MEMBER_TYPES = new Set(['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE']);

function memberFields(env: Envelope) {
  if (!env.data) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} arrived claim-checked; member events are small and must be inline`);
  const d = env.data as MemberData;
  const userId = d.user?.id;
  if (typeof d.guild_id !== 'string' || typeof userId !== 'string') {
    throw new ContractError('INVALID_DATA', `${env.type} ${env.id} lacks guild_id or user.id`);
  }
  return {
    guildId: d.guild_id,
    userId,
    username: typeof d.user?.username === 'string' ? d.user.username : null,
    nick: typeof d.nick === 'string' ? d.nick : null,
    roles: Array.isArray(d.roles) ? d.roles.filter((r): r is string => typeof r === 'string') : null,
    joinedAt: typeof d.joined_at === 'string' ? d.joined_at : null,
  };
}

/** guild id -> auto role and when it was read; per container, a minute old at most */
const autoRoles = new Map<string, { role: string | null; at: number }>();
async function autoRole(c: PoolClient, guildId: string): Promise<string | null> {
  const hit = autoRoles.get(guildId);
  if (hit && Date.now() - hit.at < 60_000) return hit.role;
  const r = await c.query<{ role: string | null }>("SELECT settings->>'autoRoleId' AS role FROM guild_config");
  const role = r.rows[0]?.role ?? null;
  const valid = role && /^\d{1,20}$/.test(role) ? role : null;
  autoRoles.set(guildId, { role: valid, at: Date.now() });
  return valid;
}

/**
 * Discord errors that no retry can fix: the member, role or user is gone (10007, 10011, 10013), or the
 * bot lacks the permission or access (50013, 50001). Retrying those would only add invalid requests
 * (Discord bans an IP after 10,000 in 10 minutes), so the action is dropped and counted.
 */
const PERMANENT = new Set([10007, 10011, 10013, 50001, 50013]);

export async function handleMemberEvent(env: Envelope, deps: MemberDeps): Promise<MemberOutcome> {
  if (env.type === 'GUILD_MEMBERS_CHUNK') return handleMembersChunk(env, { sync: deps.sync ?? pgMemberSyncRepository(deps.pool), onOutcome: deps.onOutcome });
  if (!MEMBER_TYPES.has(env.type)) {
    deps.onOutcome?.('ignored', env);
    return 'ignored';
  }
  const m = memberFields(env);
  const { outcome, pending } = await withGuild(deps.pool, m.guildId, async (c) => {
    if (!(await claimEvent(c, m.guildId, env.id, env.type))) {
      // a redelivery: nothing to apply, but an action an earlier delivery committed and never did is left
      const r = await c.query<{ pending_action: string | null }>('SELECT pending_action FROM processed_events WHERE event_id = $1', [env.id]);
      return { outcome: 'duplicate' as const, pending: r.rows[0]?.pending_action ?? null };
    }
    const present = env.type !== 'GUILD_MEMBER_REMOVE';
    const r = await c.query(
      `INSERT INTO members (guild_id, user_id, username, nick, roles, joined_at, present, event_at, event_seq)
       VALUES ($1, $2, $3, $4, coalesce($5::text[], '{}'), $6, $7, $8, $9)
       ON CONFLICT (guild_id, user_id) DO UPDATE SET
         username = coalesce(excluded.username, members.username),
         nick = CASE WHEN $7 THEN excluded.nick ELSE members.nick END,
         roles = CASE WHEN $5::text[] IS NULL THEN members.roles ELSE excluded.roles END,
         joined_at = coalesce(excluded.joined_at, members.joined_at),
         present = excluded.present,
         event_at = excluded.event_at,
         event_seq = excluded.event_seq,
         updated_at = now()
       WHERE (members.event_at, members.event_seq) < (excluded.event_at, excluded.event_seq)`,
      [m.guildId, m.userId, m.username, m.nick, m.roles, m.joinedAt, present, env.receivedAt, env.seq],
    );
    if (r.rowCount !== 1) return { outcome: 'stale' as const, pending: null };
    // per-guild config: a role to give every member who joins (guild_config.settings.autoRoleId),
    // recorded with the event so it survives a crash between this commit and the REST call
    let action: string | null = null;
    if (env.type === 'GUILD_MEMBER_ADD' && deps.botRest) {
      const roleId = await autoRole(c, m.guildId);
      if (roleId) {
        action = `/guilds/${m.guildId}/members/${m.userId}/roles/${roleId}`;
        await c.query('UPDATE processed_events SET pending_action = $2 WHERE event_id = $1', [env.id, action]);
        await writeAudit(c, { guildId: m.guildId, action: 'member.auto_role.decided', actor: 'member-worker', subjectId: m.userId, correlationId: env.id, detail: { roleId, type: env.type } });
      }
    }
    return { outcome: 'applied' as const, pending: action };
  });
  if (pending && deps.botRest) {
    let action: MemberActionOutcome = 'action-done';
    let discordCode: number | undefined;
    try {
      await deps.botRest.put(pending as `/${string}`);
    } catch (err) {
      // anything else (network, 5xx, a paused token) is retried with the record
      discordCode = Number((err as { code?: unknown }).code);
      if (!PERMANENT.has(discordCode)) throw err;
      action = 'action-dropped';
    }
    deps.onOutcome?.(action, env);
    const roleId = pending.split('/').pop();
    await withGuild(deps.pool, m.guildId, async (c) => {
      await c.query('UPDATE processed_events SET pending_action = NULL WHERE event_id = $1', [env.id]);
      const detail = action === 'action-done' ? { roleId } : { roleId, discordCode };
      await writeAudit(c, { guildId: m.guildId, action: action === 'action-done' ? 'member.auto_role.added' : 'member.auto_role.dropped', actor: 'member-worker', subjectId: m.userId, correlationId: env.id, detail });
    });
  }
  deps.onOutcome?.(outcome, env);
  return outcome;
}
