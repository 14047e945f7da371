/** What a bot developer writes to add a slash command: one file in this folder, listed in index.ts. */
import type { APIInteractionResponseCallbackData, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord-api-types/v10';
import type { Pool } from 'pg';
import type Redis from 'ioredis';

export interface CommandContext {
  interactionId: string;
  /** the application the interaction is for (a deployment may serve several) */
  applicationId: string;
  guildId: string | null;
  channelId: string | null;
  userId: string;
  /** option values by name, as Discord sent them */
  options: Record<string, string | number | boolean>;
  redis: Redis;
  pool: Pool;
  score: (userId: string) => Promise<number>;
}

export interface Command {
  /** the slash command as registered with Discord (bulk overwrite by `npm run commands:register`) */
  definition: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /** fast: answered in the callback at once; slow: deferred (type 5) first, then the original is edited */
  mode: 'fast' | 'slow';
  /** the answer is ephemeral (only the user sees it): a deferral shows its "thinking" ephemerally too */
  ephemeral?: boolean;
  /** per-user cooldown in seconds (Redis), none when absent */
  cooldownSeconds?: number;
  /**
   * `run` uses nothing but the interaction (no redis, pool or score): a `fast` one without a cooldown
   * is then answered by the HTTP ingress in its own response (type 4), with no queue and no worker.
   * Touching ctx.redis, ctx.pool or ctx.score there throws, and the interaction is deferred to the
   * worker instead. @default false
   */
  selfContained?: boolean;
  run(ctx: CommandContext): Promise<APIInteractionResponseCallbackData>;
}
