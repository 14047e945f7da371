import { GatewayOpcodes, InteractionContextType, MessageFlags, PermissionFlagsBits, type APIInteractionResponseCallbackData } from 'discord-api-types/v10';
import { withGuild } from '../../shared/db';
import { GatewayCommandUnavailableError, sendGatewayCommand } from '../../shared/gateway-commands';
import type { Command } from './types';

/**
 * Discord answers a request for a guild's whole member list once per guild per 30 s (more gets a
 * RATE_LIMITED dispatch instead of chunks), so a second /sync-members inside that window is answered
 * here without asking. https://discord.com/developers/docs/change-log#introducing-rate-limit-when-requesting-all-guild-members
 */
export const SYNC_MEMBERS_INTERVAL_S = 30;

/** A nonce Discord echoes in every chunk of the answer: at most 32 bytes, here `sm-` and the interaction id (22 at most). */
export const syncNonce = (interactionId: string): string => `sm-${interactionId}`;

/** `ephemeral` below covers a deferral; a direct answer carries the flag itself */
const privately = (content: string): APIInteractionResponseCallbackData => ({ content, flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } });

/**
 * `/sync-members`: asks the gateway for this server's whole member list (op 8, Request Guild Members,
 * query "" and limit 0) on the shard that holds the server, through the ingestor's command stream. The
 * answer arrives as GUILD_MEMBERS_CHUNK events, which the sync worker upserts and counts in
 * member_syncs under the nonce (docs/workers.md, member sync). While Discord's last RATE_LIMITED answer
 * for the server (member_syncs.rate_limited_at + retry_after_ms, recorded by the sync worker) has not
 * run out, the user is told how long to wait and nothing is sent. For server managers only (Manage Server),
 * since a sync of a large server is thousands of upserts; needs the GUILD_MEMBERS intent.
 */
export const syncMembers: Command = {
  definition: {
    name: 'sync-members',
    description: 'Refresh the stored member list of this server from Discord',
    contexts: [InteractionContextType.Guild],
    default_member_permissions: String(PermissionFlagsBits.ManageGuild),
  },
  mode: 'fast',
  ephemeral: true,
  cooldownSeconds: 10,
  async run(ctx) {
    const guildId = ctx.guildId;
    if (!guildId) return privately('/sync-members works in a server only.');
    // Discord's last RATE_LIMITED answer for this guild (recorded by the sync worker): asking again
    // before its retry_after has passed would only get another one
    const waitMs = await withGuild(ctx.pool, guildId, async (c) => {
      const r = await c.query<{ wait_ms: number | null }>(
        `SELECT max(extract(epoch FROM rate_limited_at + retry_after_ms * interval '1 millisecond' - now()) * 1000)::float8 AS wait_ms
           FROM member_syncs WHERE rate_limited_at IS NOT NULL AND retry_after_ms IS NOT NULL`,
      );
      return r.rows[0]?.wait_ms ?? null;
    });
    if (waitMs !== null && waitMs > 0) return privately(`Discord limits member requests for this guild: try again in ${Math.ceil(waitMs / 1000)} s`);
    const first = await ctx.redis.set(`sync-members:${guildId}`, ctx.interactionId, 'EX', SYNC_MEMBERS_INTERVAL_S, 'NX');
    if (first !== 'OK') return privately(`A member sync of this server started less than ${SYNC_MEMBERS_INTERVAL_S} s ago; Discord answers one at a time. Try again in a moment.`);
    const nonce = syncNonce(ctx.interactionId);
    try {
      await sendGatewayCommand(ctx.redis, ctx.applicationId, { guildId }, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: guildId, query: '', limit: 0, nonce } }, { origin: 'interaction-worker /sync-members' });
    } catch (err) {
      // the window is given back: nothing was asked of Discord
      await ctx.redis.del(`sync-members:${guildId}`).catch(() => undefined);
      if (err instanceof GatewayCommandUnavailableError) return privately('The bot is not connected to the gateway right now, so it cannot ask for the member list. Try again in a minute.');
      throw err;
    }
    // who asked and when, beside the chunk counts the sync worker adds under the same nonce
    const name = await withGuild(ctx.pool, guildId, async (c) => {
      await c.query(
        `INSERT INTO member_syncs (guild_id, nonce, requested_by, requested_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (guild_id, nonce) DO UPDATE SET requested_by = excluded.requested_by, requested_at = excluded.requested_at`,
        [guildId, nonce, ctx.userId || null],
      );
      return (await c.query<{ name: string | null }>('SELECT name FROM guilds')).rows[0]?.name ?? null;
    });
    // the server's name is user text: no mentions parsed
    return privately(`Syncing members of ${name ?? `server ${guildId}`}… (sync ${nonce})`);
  },
};
