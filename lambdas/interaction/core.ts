/**
 * Interaction worker core: answers slash commands through the interaction token (no bot token).
 * https://discord.com/developers/docs/interactions/receiving-and-responding
 *
 * - Exactly one callback per interaction, even when SQS redelivers: Redis holds the interaction's
 *   state (claimed -> deferred -> done); Discord's 40060 "already acknowledged" counts as done.
 * - An interaction older than the 3 s window on arrival is not answered (it cannot be) and is counted.
 * - Unknown commands get an ephemeral error; per-user cooldowns get a friendly ephemeral reply.
 * - Slow commands are deferred (type 5) first, then the original response is edited.
 */
import { DiscordAPIError, type REST } from '@discordjs/rest';
import {
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  Routes,
  type APIApplicationCommandInteractionDataOption,
  type APIInteractionResponseCallbackData,
} from 'discord-api-types/v10';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { ContractError, type Envelope } from '../../lib/contract';
import type { Command, CommandContext } from './commands/types';

export interface InteractionDeps {
  redis: Redis;
  pool: Pool;
  rest: Pick<REST, 'post' | 'patch'>;
  applicationId: string;
  commands: ReadonlyMap<string, Command>;
  score: (userId: string) => Promise<number>;
  now?: () => number;
  windowMs?: number;
  onOutcome?: (outcome: InteractionOutcome, envelope: Envelope, extra?: { ageMs: number }) => void;
}

export type InteractionOutcome = 'answered' | 'deferred' | 'unknown-command' | 'cooldown' | 'expired' | 'duplicate' | 'ignored';

const DISCORD_EPOCH = 1420070400000n;
/** When Discord created the object with this snowflake id, in Unix ms. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH);

interface InteractionData {
  id?: unknown;
  token?: unknown;
  type?: unknown;
  guild_id?: unknown;
  channel_id?: unknown;
  member?: { user?: { id?: unknown } };
  user?: { id?: unknown };
  data?: { name?: unknown; options?: APIApplicationCommandInteractionDataOption[] };
}

const STATE_TTL_S = 15 * 60; // interaction tokens live 15 minutes

export async function handleInteraction(env: Envelope, deps: InteractionDeps): Promise<InteractionOutcome> {
  const out = (o: InteractionOutcome, ageMs: number) => {
    deps.onOutcome?.(o, env, { ageMs });
    return o;
  };
  if (env.type !== 'INTERACTION_CREATE') return out('ignored', 0);
  if (!env.data) throw new ContractError('INVALID_DATA', `INTERACTION_CREATE ${env.id} arrived claim-checked`);
  const d = env.data as InteractionData;
  if (typeof d.id !== 'string' || !/^\d{1,20}$/.test(d.id) || typeof d.token !== 'string') {
    throw new ContractError('INVALID_DATA', `INTERACTION_CREATE ${env.id} lacks id or token`);
  }
  if (d.type !== InteractionType.ApplicationCommand) return out('ignored', 0);
  const now = deps.now ?? Date.now;
  const ageMs = now() - snowflakeTime(d.id);
  const key = `ix:${d.id}`;
  const state = await deps.redis.get(key);
  if (state === 'done') return out('duplicate', ageMs);

  const userId = String(d.member?.user?.id ?? d.user?.id ?? '');
  const name = typeof d.data?.name === 'string' ? d.data.name : '';
  const command = deps.commands.get(name);
  const ctx: CommandContext = {
    interactionId: d.id,
    guildId: typeof d.guild_id === 'string' ? d.guild_id : null,
    channelId: typeof d.channel_id === 'string' ? d.channel_id : null,
    userId,
    options: Object.fromEntries((d.data?.options ?? []).flatMap((o) => ('value' in o ? [[o.name, o.value as string | number | boolean]] : []))),
    redis: deps.redis,
    pool: deps.pool,
    score: deps.score,
  };
  const callback = (type: InteractionResponseType, data?: APIInteractionResponseCallbackData) =>
    deps.rest.post(Routes.interactionCallback(d.id as string, d.token as string), { body: { type, data }, auth: false });
  const editOriginal = (data: APIInteractionResponseCallbackData) =>
    deps.rest.patch(Routes.webhookMessage(deps.applicationId, d.token as string, '@original'), { body: data, auth: false });

  // a redelivery after the defer: only the follow-up is left to do
  if (state === 'deferred' && command) {
    await editOriginal(await command.run(ctx));
    await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
    return out('deferred', ageMs);
  }
  if (ageMs > (deps.windowMs ?? 3_000)) {
    await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
    return out('expired', ageMs);
  }
  // claim it: a concurrent copy of this message (SQS at-least-once) backs off
  const claimed = await deps.redis.set(key, 'claimed', 'PX', 5_000, 'NX');
  if (claimed !== 'OK') return out('duplicate', ageMs);

  try {
    if (!command) {
      await callback(InteractionResponseType.ChannelMessageWithSource, { content: `Unknown command /${name}. It may have been removed.`, flags: MessageFlags.Ephemeral });
      await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
      return out('unknown-command', ageMs);
    }
    if (command.cooldownSeconds) {
      const cdKey = `cd:${name}:${userId}`;
      const ok = await deps.redis.set(cdKey, '1', 'EX', command.cooldownSeconds, 'NX');
      if (ok !== 'OK') {
        const ttl = Math.max(1, await deps.redis.ttl(cdKey));
        await callback(InteractionResponseType.ChannelMessageWithSource, { content: `Slow down! You can use /${name} again in ${ttl} s.`, flags: MessageFlags.Ephemeral });
        await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
        return out('cooldown', ageMs);
      }
    }
    if (command.mode === 'fast') {
      await callback(InteractionResponseType.ChannelMessageWithSource, await command.run(ctx));
      await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
      return out('answered', ageMs);
    }
    await callback(InteractionResponseType.DeferredChannelMessageWithSource);
    await deps.redis.set(key, 'deferred', 'EX', STATE_TTL_S);
    await editOriginal(await command.run(ctx));
    await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
    return out('deferred', ageMs);
  } catch (err) {
    if (err instanceof DiscordAPIError && err.code === 40060) {
      // already acknowledged: an earlier delivery answered it
      await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
      return out('duplicate', ageMs);
    }
    if (err instanceof DiscordAPIError && err.code === 10062) {
      await deps.redis.set(key, 'done', 'EX', STATE_TTL_S);
      return out('expired', ageMs);
    }
    // let a redelivery try again (unless it already got as far as the defer)
    if ((await deps.redis.get(key)) === 'claimed') await deps.redis.del(key);
    throw err;
  }
}
