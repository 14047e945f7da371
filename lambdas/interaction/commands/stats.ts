import { InteractionContextType } from 'discord-api-types/v10';
import type { Command } from './types';
import { withGuild } from '../../shared/db';

/** `/stats`: member counts of this guild from PostgreSQL (row-level security scopes it to the guild). */
export const stats: Command = {
  definition: { name: 'stats', description: 'Member numbers of this server', contexts: [InteractionContextType.Guild] },
  mode: 'fast',
  cooldownSeconds: 5,
  async run(ctx) {
    if (!ctx.guildId) return { content: '/stats works in a server only.' };
    const r = await withGuild(ctx.pool, ctx.guildId, (c) => c.query<{ present: string; left: string }>(`SELECT count(*) FILTER (WHERE present) AS present, count(*) FILTER (WHERE NOT present) AS left FROM members`));
    const row = r.rows[0] ?? { present: '0', left: '0' };
    return { content: `Members: ${row.present} present, ${row.left} left.` };
  },
};
