/**
 * Interaction worker core: answers slash commands through the interaction token (no bot token).
 * https://discord.com/developers/docs/interactions/receiving-and-responding
 *
 * - Exactly one callback per interaction, even when SQS redelivers: Redis holds the interaction's
 *   state (claimed -> deferred -> done); Discord's 40060 "already acknowledged" counts as done.
 * - An interaction older than the 3 s window on arrival is not answered (it cannot be) and is counted.
 * - Unknown commands get an ephemeral error; per-user cooldowns get a friendly ephemeral reply.
 * - Slow commands are deferred (type 5) first, then the original response is edited. A fast command
 *   that has not finished when the window is about to close is deferred too (outcome
 *   'deferred-fallback'), so a slow database never costs the user the answer.
 * - An interaction that arrived over HTTP (envelope ingress 'http') was deferred by the HTTP response
 *   itself: no callback is sent, only the edit of the original response, once.
 */
import { DiscordAPIError, type REST } from '@discordjs/rest';
import { InteractionResponseType, InteractionType, MessageFlags, Routes, type APIInteractionResponseCallbackData } from 'discord-api-types/v10';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { ContractError, ingressOf, type Envelope } from '../../lib/contract';
import type { Command, CommandContext } from './commands/types';
import { parseInteractionPayload, type InteractionPayload } from './payload';

export interface InteractionDeps {
  redis: Redis;
  pool: Pool;
  rest: Pick<REST, 'post' | 'patch'>;
  applicationId: string;
  commands: ReadonlyMap<string, Command>;
  score: (userId: string) => Promise<number>;
  now?: () => number;
  windowMs?: number;
  /**
   * Time kept for the callback's round trip to Discord: a fast command still running when
   * `windowMs - age - callbackMarginMs` is over gets deferred instead. @default 1000
   */
  callbackMarginMs?: number;
  onOutcome?: (outcome: InteractionOutcome, envelope: Envelope, extra?: { ageMs: number }) => void;
  /** how long a Redis command may take before the worker goes on without it @default 250 */
  redisTimeoutMs?: number;
  /** told the first Redis failure of an interaction (for the log) */
  onDegraded?: (err: unknown) => void;
}

export type InteractionOutcome = 'answered' | 'deferred' | 'deferred-fallback' | 'redis-unavailable' | 'unknown-command' | 'cooldown' | 'expired' | 'duplicate' | 'ignored';

const DISCORD_EPOCH = 1420070400000n;
/** When Discord created the object with this snowflake id, in Unix ms. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH);

const STATE_TTL_S = 15 * 60; // interaction tokens live 15 minutes
const RUN_LOCK_MS = 30_000; // longer than any command runs (the score service times out first)

export async function handleInteraction(env: Envelope, deps: InteractionDeps): Promise<InteractionOutcome> {
  if (env.type !== 'INTERACTION_CREATE') return report(deps, env, 'ignored', 0);
  if (!env.data) throw new ContractError('INVALID_DATA', `INTERACTION_CREATE ${env.id} arrived claim-checked`);
  const d = parseInteractionPayload(env.data, env.id);
  if (d.type !== (InteractionType.ApplicationCommand as number)) return report(deps, env, 'ignored', 0);
  const run = new InteractionRun(env, deps, d);
  const state = await run.kv.get(run.key);
  if (state === 'done') return run.out('duplicate');
  if (ingressOf(env) === 'http') return run.followUpHttp(state);
  // a redelivery after the defer: only the follow-up is left to do
  if (state === 'deferred' && run.command) return run.followUpRedelivery(run.command);
  return run.answer();
}

function report(deps: InteractionDeps, env: Envelope, o: InteractionOutcome, ageMs: number): InteractionOutcome {
  deps.onOutcome?.(o, env, { ageMs });
  return o;
}

/** One delivery of one interaction: its Redis state, its command and the ways to answer it. */
class InteractionRun {
  readonly key: string;
  readonly kv: Kv;
  readonly command: Command | undefined;
  private readonly name: string;
  private readonly userId: string;
  private readonly ctx: CommandContext;
  private readonly now: () => number;
  private readonly ageMs: number;
  private lockHeld = false;

  constructor(
    private readonly env: Envelope,
    private readonly deps: InteractionDeps,
    private readonly d: InteractionPayload,
  ) {
    this.now = deps.now ?? Date.now;
    this.ageMs = this.now() - snowflakeTime(d.id);
    this.key = `ix:${d.id}`;
    // Redis guards against duplicates, but Discord itself accepts one callback per interaction (40060),
    // so when Redis is down or slow the worker answers anyway (fail open, cooldowns not enforced) rather
    // than letting the interaction expire; the first failure is counted.
    let degraded = false;
    this.kv = failOpen(deps.redis, deps.redisTimeoutMs ?? 250, (err) => {
      if (degraded) return;
      degraded = true;
      deps.onOutcome?.('redis-unavailable', env);
      deps.onDegraded?.(err);
    });
    this.userId = d.member?.user?.id ?? d.user?.id ?? '';
    this.name = typeof d.data?.name === 'string' ? d.data.name : '';
    this.command = deps.commands.get(this.name);
    this.ctx = {
      interactionId: d.id,
      applicationId: env.appId,
      guildId: d.guild_id ?? null,
      channelId: d.channel_id ?? null,
      userId: this.userId,
      options: Object.fromEntries((d.data?.options ?? []).flatMap((o) => (o.value !== undefined ? [[o.name, o.value]] : []))),
      redis: deps.redis,
      pool: deps.pool,
      score: deps.score,
    };
  }

  out(o: InteractionOutcome): InteractionOutcome {
    return report(this.deps, this.env, o, this.ageMs);
  }

  private callback(type: InteractionResponseType, data?: APIInteractionResponseCallbackData) {
    return this.deps.rest.post(Routes.interactionCallback(this.d.id, this.d.token), { body: { type, data }, auth: false });
  }

  private editOriginal(data: APIInteractionResponseCallbackData) {
    // the interaction's own application: a deployment serves several
    return this.deps.rest.patch(Routes.webhookMessage(this.env.appId, this.d.token, '@original'), { body: data, auth: false });
  }

  /** held while a deferred interaction's follow-up runs, so a concurrent copy does not run it twice */
  private async takeRunLock(): Promise<boolean> {
    this.lockHeld = (await this.kv.set(`${this.key}:run`, '1', 'PX', RUN_LOCK_MS, 'NX')) === 'OK';
    return this.lockHeld;
  }

  private async releaseRunLock(): Promise<void> {
    if (this.lockHeld) await this.kv.del(`${this.key}:run`);
    this.lockHeld = false;
  }

  /** records the defer; false when another copy is already following up */
  private async deferred(): Promise<boolean> {
    const mine = await this.takeRunLock();
    if (mine) await this.kv.set(this.key, 'deferred', 'EX', STATE_TTL_S);
    return mine;
  }

  private async finish(o: InteractionOutcome): Promise<InteractionOutcome> {
    await this.kv.set(this.key, 'done', 'EX', STATE_TTL_S);
    await this.releaseRunLock();
    return this.out(o);
  }

  private async done(o: InteractionOutcome): Promise<InteractionOutcome> {
    await this.kv.set(this.key, 'done', 'EX', STATE_TTL_S);
    return this.out(o);
  }

  private get deferData() {
    return this.command?.ephemeral ? { flags: MessageFlags.Ephemeral } : undefined;
  }

  /**
   * The HTTP ingress answered DEFERRED in its response, so Discord already has the first answer:
   * edit the original, once (the run lock keeps a concurrent copy out, 'done' a later one). The token
   * works for 15 minutes, so Discord's 3 s window does not apply here.
   */
  async followUpHttp(state: string | null): Promise<InteractionOutcome> {
    if (this.ageMs > STATE_TTL_S * 1000) return this.done('expired');
    if (!(await this.takeRunLock())) return this.out('duplicate');
    try {
      const { command, name, userId } = this;
      if (!command) {
        await this.editOriginalWhenCreated({ content: `Unknown command /${name}. It may have been removed.` });
        return await this.finish('unknown-command');
      }
      // a redelivery after 'deferred' already passed the cooldown
      if (command.cooldownSeconds && state !== 'deferred') {
        const cdKey = `cd:${name}:${userId}`;
        if ((await this.kv.set(cdKey, '1', 'EX', command.cooldownSeconds, 'NX')) !== 'OK') {
          const ttl = Math.max(1, await this.kv.ttl(cdKey));
          await this.editOriginalWhenCreated({ content: `Slow down! You can use /${name} again in ${ttl} s.` });
          return await this.finish('cooldown');
        }
      }
      await this.kv.set(this.key, 'deferred', 'EX', STATE_TTL_S);
      await this.editOriginalWhenCreated(await command.run(this.ctx));
      return await this.finish('deferred');
    } catch (err) {
      // the token expired or the interaction is gone: no retry can edit it
      if (err instanceof DiscordAPIError && (err.code === 10015 || err.code === 50027)) {
        await this.kv.set(this.key, 'done', 'EX', STATE_TTL_S);
        await this.releaseRunLock();
        return this.out('expired');
      }
      await this.releaseRunLock();
      throw err; // the message's redelivery edits the original
    }
  }

  /**
   * The worker can beat Discord to the HTTP response that creates @original (10008 Unknown Message):
   * retry for a moment rather than wait for the message's redelivery.
   */
  private async editOriginalWhenCreated(data: APIInteractionResponseCallbackData) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.editOriginal(data);
      } catch (err) {
        if (!(err instanceof DiscordAPIError && err.code === 10008) || attempt >= 8) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /**
   * A redelivery after the defer. Another copy may be following up right now (it holds the run
   * lock): leave it to that copy, whose own message is redelivered if it fails.
   */
  async followUpRedelivery(command: Command): Promise<InteractionOutcome> {
    if (!(await this.takeRunLock())) return this.out('duplicate');
    try {
      await this.editOriginal(await command.run(this.ctx));
      return await this.finish('deferred');
    } finally {
      await this.releaseRunLock();
    }
  }

  /** The first answer of a gateway interaction, within Discord's window. */
  async answer(): Promise<InteractionOutcome> {
    if (this.ageMs > (this.deps.windowMs ?? 3_000)) return this.done('expired');
    // claim it: a concurrent copy of this message (SQS at-least-once) backs off
    const claimed = await this.kv.set(this.key, 'claimed', 'PX', 5_000, 'NX');
    if (claimed !== 'OK') return this.out('duplicate');
    const cooldown: { key?: string } = {};
    try {
      return await this.respond(cooldown);
    } catch (err) {
      return this.recover(err, cooldown.key);
    }
  }

  /** `cooldown.key` is set once this attempt took the user's cooldown (released if the attempt fails). */
  private async respond(cooldown: { key?: string }): Promise<InteractionOutcome> {
    const { command, name, userId } = this;
    if (!command) {
      await this.callback(InteractionResponseType.ChannelMessageWithSource, { content: `Unknown command /${name}. It may have been removed.`, flags: MessageFlags.Ephemeral });
      return this.done('unknown-command');
    }
    if (command.cooldownSeconds) {
      const cdKey = `cd:${name}:${userId}`;
      const ok = await this.kv.set(cdKey, '1', 'EX', command.cooldownSeconds, 'NX');
      if (ok === 'OK') cooldown.key = cdKey;
      else {
        const ttl = Math.max(1, await this.kv.ttl(cdKey));
        await this.callback(InteractionResponseType.ChannelMessageWithSource, { content: `Slow down! You can use /${name} again in ${ttl} s.`, flags: MessageFlags.Ephemeral });
        return this.done('cooldown');
      }
    }
    if (command.mode === 'fast') return this.answerFast(command);
    await this.callback(InteractionResponseType.DeferredChannelMessageWithSource, this.deferData);
    await this.deferred();
    await this.editOriginal(await command.run(this.ctx));
    return this.finish('deferred');
  }

  private async answerFast(command: Command): Promise<InteractionOutcome> {
    const running = command.run(this.ctx);
    running.catch(() => undefined); // awaited below; this only keeps an early rejection from being "unhandled"
    const budgetMs = (this.deps.windowMs ?? 3_000) - (this.now() - snowflakeTime(this.d.id)) - (this.deps.callbackMarginMs ?? 1_000);
    const answer = await within(running, budgetMs);
    if (answer) {
      await this.callback(InteractionResponseType.ChannelMessageWithSource, answer.value);
      return this.done('answered');
    }
    // too slow for a direct answer: defer while the window is open, then edit the original
    await this.callback(InteractionResponseType.DeferredChannelMessageWithSource, this.deferData);
    await this.deferred();
    await this.editOriginal(await running);
    return this.finish('deferred-fallback');
  }

  private async recover(err: unknown, cooldownKey: string | undefined): Promise<InteractionOutcome> {
    const { command } = this;
    if (err instanceof DiscordAPIError && err.code === 40060) {
      // already acknowledged by an earlier delivery whose state is lost (it died, or Redis failed).
      // If that was a defer, the edit is what is left to do; after a direct answer, editing it with
      // the same answer is harmless. So edit, unless a copy is doing it or it is done.
      if (command && (await this.kv.get(this.key)) !== 'done') {
        if (!(await this.deferred())) return this.out('duplicate'); // the copy holding the lock follows up
        try {
          await this.editOriginal(await command.run(this.ctx));
        } finally {
          await this.releaseRunLock();
        }
      }
      return this.finish('duplicate');
    }
    if (err instanceof DiscordAPIError && err.code === 10062) return this.done('expired');
    // let a redelivery try again (unless it already got as far as the defer), without a cooldown
    // reply for the answer this attempt never gave
    if ((await this.kv.get(this.key)) === 'claimed') {
      await this.kv.del(this.key);
      if (cooldownKey) await this.kv.del(cooldownKey);
    }
    await this.releaseRunLock();
    throw err;
  }
}

/** The promise's value when it settles within `ms`, else undefined (a rejection within `ms` rethrows). */
async function within<T>(p: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  if (ms <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.then((value) => ({ value })), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** per Redis client: until when this container goes on without it after a failure */
const redisDownUntil = new WeakMap<object, number>();
const REDIS_RETRY_MS = 5_000;

type Kv = {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ...args: Array<string | number>): Promise<'OK' | null>;
  del(key: string): Promise<number>;
  ttl(key: string): Promise<number>;
};

/**
 * The few Redis commands of the core, each bounded by `ms` and never throwing: on an error or a
 * timeout they answer as if the key were free (get -> null, SET NX -> 'OK'), so the interaction is
 * still answered.
 */
function failOpen(redis: Pick<Redis, 'get' | 'set' | 'del' | 'ttl'>, ms: number, onFail: (err: unknown) => void): Kv {
  let failed = false;
  const guard = async <T>(op: () => Promise<T>, fallback: T): Promise<T> => {
    // after a failure, skip Redis for the rest of this interaction and, per container, for a few
    // seconds: every wait for it is taken from the 3 s window
    if (failed || (redisDownUntil.get(redis) ?? 0) > Date.now()) {
      if (!failed) onFail(new Error('redis marked unavailable by an earlier failure in this container'));
      failed = true;
      return fallback;
    }
    try {
      const r = await within(op(), ms);
      if (r) return r.value;
      throw new Error(`redis did not answer within ${ms} ms`);
    } catch (err) {
      failed = true;
      redisDownUntil.set(redis, Date.now() + REDIS_RETRY_MS);
      onFail(err);
    }
    return fallback;
  };
  return {
    get: (k) => guard(() => redis.get(k), null),
    set: (k, v, ...args) => guard(() => (redis.set as (...a: unknown[]) => Promise<'OK' | null>)(k, v, ...args), 'OK' as const),
    del: (k) => guard(() => redis.del(k), 0),
    ttl: (k) => guard(() => redis.ttl(k), 1),
  };
}
