import { DiscordAPIError } from '@discordjs/rest';
import { describe, expect, it, vi } from 'vitest';
import { wrapDispatch } from '../../../lib/contract';
import { commandRegistry } from '../../../lambdas/interaction/commands';
import type { Command } from '../../../lambdas/interaction/commands/types';
import { fakeRedis } from './fake-redis';
import { handleInteraction, snowflakeTime, type InteractionDeps } from '../../../lambdas/interaction/core';
import { CircuitBreaker, CircuitOpenError } from '../../../lambdas/shared/circuit-breaker';
import { ConfigError, parseWorkerConfig } from '../../../lambdas/shared/config';

const NOW = 1_800_000_000_000;
const idAt = (ms: number) => ((BigInt(ms) - 1420070400000n) << 22n).toString();

function setup(commands: Command[] = [], over: Partial<InteractionDeps> = {}) {
  const calls: Array<{ verb: string; route: string; body: unknown }> = [];
  const redis = fakeRedis();
  const record = (verb: string) => (route: string, o?: { body?: unknown }) => {
    calls.push({ verb, route, body: o?.body });
    return Promise.resolve();
  };
  const rest = { post: record('post'), patch: record('patch') };
  const deps = { redis, pool: {}, rest, applicationId: '100000000000000001', commands: commandRegistry(commands), score: () => Promise.resolve(80), now: () => NOW, ...over } as unknown as InteractionDeps;
  return { deps, calls, redis };
}

const interaction = (name: string, createdAt = NOW - 100) =>
  wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: 's',
    seq: 1,
    type: 'INTERACTION_CREATE',
    receivedAt: NOW,
    data: { id: idAt(createdAt), token: 'tok', type: 2, guild_id: '200000000000000001', member: { user: { id: '300000000000000001' } }, data: { name } },
  });

const fast: Command = { definition: { name: 'fast', description: 'x' }, mode: 'fast', run: () => Promise.resolve({ content: 'hi' }) };
const slow: Command = { definition: { name: 'slow', description: 'x' }, mode: 'slow', cooldownSeconds: 10, run: () => Promise.resolve({ content: 'done' }) };

describe('interaction core', () => {
  it('answers a fast command with one type 4 callback', async () => {
    const { deps, calls } = setup([fast]);
    expect(await handleInteraction(interaction('fast'), deps)).toBe('answered');
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(calls).toEqual([{ verb: 'post', route: expect.stringMatching(/\/interactions\/\d+\/tok\/callback$/), body: { type: 4, data: { content: 'hi' } } }]);
  });

  it('defers a slow command (type 5), then edits the original', async () => {
    const { deps, calls } = setup([slow]);
    expect(await handleInteraction(interaction('slow'), deps)).toBe('deferred');
    expect(calls.map((c) => [c.verb, (c.body as { type?: number }).type ?? (c.body as { content: string }).content])).toEqual([
      ['post', 5],
      ['patch', 'done'],
    ]);
    expect(decodeURIComponent(calls[1]!.route)).toBe('/webhooks/100000000000000001/tok/messages/@original');
  });

  it('answers an unknown command with an ephemeral error', async () => {
    const { deps, calls } = setup([]);
    expect(await handleInteraction(interaction('nope'), deps)).toBe('unknown-command');
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(calls[0]!.body).toEqual({ type: 4, data: { content: expect.stringContaining('Unknown command /nope'), flags: 64 } });
  });

  it('answers a user on cooldown with a friendly ephemeral reply', async () => {
    const { deps, calls, redis } = setup([slow]);
    redis.m.set('cd:slow:300000000000000001', '1');
    expect(await handleInteraction(interaction('slow'), deps)).toBe('cooldown');
    expect(calls[0]!.body).toEqual({ type: 4, data: { content: 'Slow down! You can use /slow again in 7 s.', flags: 64 } });
  });

  it('does not answer an interaction older than the 3 s window, and counts it', async () => {
    const { deps, calls } = setup([fast]);
    const seen: Array<[string, number]> = [];
    deps.onOutcome = (o, _e, x) => seen.push([o, x?.ageMs ?? -1]);
    expect(await handleInteraction(interaction('fast', NOW - 3500), deps)).toBe('expired');
    expect(calls).toHaveLength(0);
    expect(seen).toEqual([['expired', 3500]]);
  });

  it('does nothing for a redelivery after it answered, and treats 40060 as already answered', async () => {
    const { deps, calls } = setup([fast]);
    await handleInteraction(interaction('fast'), deps);
    expect(await handleInteraction(interaction('fast'), deps)).toBe('duplicate');
    expect(calls).toHaveLength(1);

    // state lost (the answering delivery died before recording it): 40060, and the original is
    // edited with the same answer, which covers an earlier defer too
    const { deps: d2 } = setup([fast]);
    const edits: unknown[] = [];
    d2.rest = {
      post: () => Promise.reject(new DiscordAPIError({ code: 40060, message: 'Interaction has already been acknowledged.' }, 40060, 400, 'POST', '/x', {})),
      patch: (_r: string, o?: { body?: unknown }) => {
        edits.push(o?.body);
        return Promise.resolve();
      },
    };
    expect(await handleInteraction(interaction('fast'), d2)).toBe('duplicate');
    expect(edits).toEqual([{ content: 'hi' }]);
    expect(await handleInteraction(interaction('fast'), d2)).toBe('duplicate');
    expect(edits).toHaveLength(1);
  });

  it('defers a fast command that is still running when the window is about to close, then edits the original', async () => {
    const sluggish: Command = { definition: { name: 'sluggish', description: 'x' }, mode: 'fast', ephemeral: true, run: () => new Promise((r) => setTimeout(() => r({ content: 'late but there' }), 120)) };
    // 2,950 ms old on arrival with a 100 ms callback margin: 0 ms left, so no direct answer is tried
    const { deps, calls } = setup([sluggish], { callbackMarginMs: 100 });
    expect(await handleInteraction(interaction('sluggish', NOW - 2950), deps)).toBe('deferred-fallback');
    expect(calls.map((c) => [c.verb, c.body])).toEqual([
      ['post', { type: 5, data: { flags: 64 } }],
      ['patch', { content: 'late but there' }],
    ]);
    // with time to spare the same command is answered directly
    const ok = setup([sluggish]);
    expect(await handleInteraction(interaction('sluggish'), ok.deps)).toBe('answered');
    expect(ok.calls).toHaveLength(1);
  });

  it('releases the cooldown when the attempt fails before answering, so the redelivery answers instead of "slow down"', async () => {
    let fail = true;
    const flaky: Command = {
      definition: { name: 'flaky', description: 'x' },
      mode: 'fast',
      cooldownSeconds: 30,
      run: () => (fail ? Promise.reject(new Error('db down')) : Promise.resolve({ content: 'ok' })),
    };
    const { deps, calls } = setup([flaky]);
    await expect(handleInteraction(interaction('flaky'), deps)).rejects.toThrow('db down');
    expect(calls).toHaveLength(0);
    fail = false;
    expect(await handleInteraction(interaction('flaky'), deps)).toBe('answered');
    expect(calls[0]!.body).toEqual({ type: 4, data: { content: 'ok' } });
  });

  it('edits the original when a slow command meets 40060: an earlier delivery deferred it and died before recording that', async () => {
    const { deps, calls } = setup([slow]);
    deps.rest = {
      post: () => Promise.reject(new DiscordAPIError({ code: 40060, message: 'Interaction has already been acknowledged.' }, 40060, 400, 'POST', '/x', {})),
      patch: (route: string, o?: { body?: unknown }) => {
        calls.push({ verb: 'patch', route, body: o?.body });
        return Promise.resolve();
      },
    };
    expect(await handleInteraction(interaction('slow'), deps)).toBe('duplicate');
    expect(calls.map((c) => [c.verb, c.body])).toEqual([['patch', { content: 'done' }]]);
  });

  it('leaves the follow-up of a deferred interaction to the copy already running it, and takes over once that copy failed', async () => {
    let release!: () => void;
    let runs = 0;
    const gated: Command = { definition: { name: 'gated', description: 'x' }, mode: 'slow', run: () => (runs++, new Promise((r) => (release = () => r({ content: 'once' })))) };
    const { deps, calls, redis } = setup([gated]);
    const first = handleInteraction(interaction('gated'), deps);
    await vi.waitFor(() => expect(redis.m.get(`ix:${idAt(NOW - 100)}`)).toBe('deferred'), { timeout: 5000, interval: 2 });
    // a concurrent copy of the same message while the first one runs the command
    expect(await handleInteraction(interaction('gated'), deps)).toBe('duplicate');
    release();
    expect(await first).toBe('deferred');
    expect(runs).toBe(1);
    expect(calls.map((c) => c.verb)).toEqual(['post', 'patch']);
    expect(redis.m.has(`ix:${idAt(NOW - 100)}:run`)).toBe(false);

    // the first copy dies after its defer: its redelivery (no lock left) edits the original
    const crash = setup([
      {
        ...slow,
        run: () => Promise.reject(new Error('score service exploded')),
      },
    ]);
    await expect(handleInteraction(interaction('slow'), crash.deps)).rejects.toThrow('exploded');
    crash.deps.commands = commandRegistry([slow]);
    expect(await handleInteraction(interaction('slow'), crash.deps)).toBe('deferred');
    expect(crash.calls.map((c) => [c.verb, (c.body as { type?: number }).type ?? (c.body as { content: string }).content])).toEqual([
      ['post', 5],
      ['patch', 'done'],
    ]);
  });

  it('still answers when Redis fails or hangs (Discord refuses a second callback anyway), and counts it once', async () => {
    const refused = () => Promise.reject(new Error('ECONNREFUSED'));
    const broken = { get: refused, set: refused, del: refused, ttl: refused };
    const { deps, calls } = setup([fast, slow], { redis: broken as never });
    const seen: string[] = [];
    deps.onOutcome = (o) => seen.push(o);
    expect(await handleInteraction(interaction('fast'), deps)).toBe('answered');
    expect(seen).toEqual(['redis-unavailable', 'answered']);
    expect(calls).toHaveLength(1);

    const hanging = { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined), del: () => new Promise(() => undefined), ttl: () => new Promise(() => undefined) };
    const h = setup([slow], { redis: hanging as never, redisTimeoutMs: 20 });
    // a Redis call that never settles would hold this await until the test times out
    expect(await handleInteraction(interaction('slow'), h.deps)).toBe('deferred');
    expect(h.calls.map((c) => c.verb)).toEqual(['post', 'patch']);
  });

  it.each([
    ['data.options is not an array', { data: { name: 'fast', options: 'all' } }, /data\.options/],
    ['an option without a name', { data: { name: 'fast', options: [{ type: 3, value: 'x' }] } }, /data\.options\.0\.name/],
    ['no token', { token: undefined }, /token/],
    ['an id that is no snowflake', { id: 'abc' }, /id/],
  ])('refuses a payload where %s with a ContractError naming the field (poison: to the DLQ on first sight), and calls Discord not at all', async (_what, patch, field) => {
    const { deps, calls } = setup([fast]);
    const env = interaction('fast');
    const bad = { ...env, data: { ...env.data, ...patch } };
    const err = await handleInteraction(bad, deps).catch((e: unknown) => e);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(err).toMatchObject({ name: 'ContractError', code: 'INVALID_DATA', message: expect.stringMatching(field) });
    expect(calls).toEqual([]);
  });

  it('decodes creation time from a snowflake', () => {
    expect(snowflakeTime(idAt(NOW))).toBe(NOW);
  });
});

describe('circuit breaker', () => {
  it('opens after 3 failures, fails fast, then lets one trial through after the pause', async () => {
    let t = 0;
    const b = new CircuitBreaker(3, 1000, () => t);
    const fail = () => Promise.reject(new Error('down'));
    for (let i = 0; i < 3; i++) await expect(b.call(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
    await expect(b.call(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
    t = 1000;
    expect(b.state).toBe('half-open');
    expect(await b.call(() => Promise.resolve(2))).toBe(2);
    expect(b.state).toBe('closed');
  });
});

describe('worker config', () => {
  it('names every bad variable and never echoes the token', () => {
    try {
      parseWorkerConfig({ REDIS_URL: 'http://x', DISCORD_APPLICATION_ID: 'abc', DISCORD_TOKEN: 'super-secret-token' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('REDIS_URL');
      expect(msg).toContain('DISCORD_APPLICATION_ID');
      expect(msg).toContain('DATABASE_URL: set DATABASE_URL (local) or DB_HOST');
      expect(msg).not.toContain('super-secret-token');
    }
  });
});
