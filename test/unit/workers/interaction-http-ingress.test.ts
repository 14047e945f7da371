/** The interaction worker on an envelope that came in over HTTP: the response already deferred it. */
import { DiscordAPIError } from '@discordjs/rest';
import { describe, expect, it } from 'vitest';
import { wrapDispatch } from '../../../lib/contract';
import { commandRegistry } from '../../../lambdas/interaction/commands';
import type { Command } from '../../../lambdas/interaction/commands/types';
import { fakeRedis } from './fake-redis';
import { handleInteraction, type InteractionDeps } from '../../../lambdas/interaction/core';

const NOW = 1_800_000_000_000;
const idAt = (ms: number) => ((BigInt(ms) - 1420070400000n) << 22n).toString();

function setup(commands: Command[], rest?: Partial<InteractionDeps['rest']>) {
  const calls: Array<{ verb: string; route: string; body: unknown }> = [];
  const redis = fakeRedis();
  const record = (verb: string) => (route: string, o?: { body?: unknown }) => {
    calls.push({ verb, route, body: o?.body });
    return Promise.resolve();
  };
  const deps = {
    redis,
    pool: {},
    rest: { post: record('post'), patch: record('patch'), ...rest },
    applicationId: '100000000000000001',
    commands: commandRegistry(commands),
    score: () => Promise.resolve(80),
    now: () => NOW,
  } as unknown as InteractionDeps;
  return { deps, calls, redis };
}

const viaHttp = (name: string, createdAt = NOW - 100) => {
  const id = idAt(createdAt);
  return wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: `http:${id}`,
    seq: 0,
    type: 'INTERACTION_CREATE',
    receivedAt: NOW,
    ingress: 'http',
    data: { id, token: 'tok', type: 2, guild_id: '200000000000000001', member: { user: { id: '300000000000000001' } }, data: { name } },
  });
};

const fast: Command = { definition: { name: 'fast', description: 'x' }, mode: 'fast', run: () => Promise.resolve({ content: 'hi' }) };
const slow: Command = { definition: { name: 'slow', description: 'x' }, mode: 'slow', cooldownSeconds: 10, run: () => Promise.resolve({ content: 'done' }) };

describe('interaction core, HTTP ingress', () => {
  it('sends no callback and edits the original once, for slow and fast commands alike', async () => {
    for (const c of [slow, fast]) {
      const { deps, calls, redis } = setup([c]);
      expect(await handleInteraction(viaHttp(c.definition.name), deps)).toBe('deferred');
      expect(calls).toHaveLength(1);
      expect(calls[0]!.verb).toBe('patch');
      expect(decodeURIComponent(calls[0]!.route)).toBe('/webhooks/100000000000000001/tok/messages/@original');
      expect(calls[0]!.body).toEqual({ content: c === slow ? 'done' : 'hi' });
      // a redelivery of the same message does nothing
      expect(await handleInteraction(viaHttp(c.definition.name), deps)).toBe('duplicate');
      expect(calls).toHaveLength(1);
      expect([...redis.m.keys()].filter((k) => k.endsWith(':run'))).toEqual([]);
    }
  });

  it('is not held to the 3 s window (the token lasts 15 minutes), but gives up on an expired token', async () => {
    const { deps, calls } = setup([slow]);
    expect(await handleInteraction(viaHttp('slow', NOW - 60_000), deps)).toBe('deferred');
    expect(calls).toHaveLength(1);
    const late = setup([slow]);
    expect(await handleInteraction(viaHttp('slow', NOW - 16 * 60_000), late.deps)).toBe('expired');
    expect(late.calls).toHaveLength(0);
  });

  it('leaves the follow-up to a copy holding the run lock', async () => {
    const { deps, calls, redis } = setup([slow]);
    const env = viaHttp('slow');
    redis.m.set(`ix:${(env.data as { id: string }).id}:run`, '1');
    expect(await handleInteraction(env, deps)).toBe('duplicate');
    expect(calls).toHaveLength(0);
  });

  it('edits a cooldown notice or an unknown-command notice into the original instead of a callback', async () => {
    const { deps, calls, redis } = setup([slow]);
    redis.m.set('cd:slow:300000000000000001', '1');
    expect(await handleInteraction(viaHttp('slow'), deps)).toBe('cooldown');
    expect(calls.map((c) => [c.verb, c.body])).toEqual([['patch', { content: 'Slow down! You can use /slow again in 7 s.' }]]);
    const u = setup([]);
    expect(await handleInteraction(viaHttp('gone'), u.deps)).toBe('unknown-command');
    expect(u.calls.map((c) => c.verb)).toEqual(['patch']);
  });

  it('after a failed edit, the redelivery edits without hitting its own cooldown', async () => {
    let fail = true;
    const edits: unknown[] = [];
    const { deps } = setup([slow], {
      patch: (_r: string, o?: { body?: unknown }) => {
        if (fail) return Promise.reject(new Error('socket hang up'));
        edits.push(o?.body);
        return Promise.resolve();
      },
    });
    await expect(handleInteraction(viaHttp('slow'), deps)).rejects.toThrow('socket hang up');
    fail = false;
    expect(await handleInteraction(viaHttp('slow'), deps)).toBe('deferred');
    expect(edits).toEqual([{ content: 'done' }]);
  });

  it('counts an expired webhook token (10015) as expired rather than retrying forever', async () => {
    const { deps } = setup([slow], {
      patch: () => Promise.reject(new DiscordAPIError({ code: 10015, message: 'Unknown Webhook' }, 10015, 404, 'PATCH', '/x', {})),
    });
    expect(await handleInteraction(viaHttp('slow'), deps)).toBe('expired');
  });

  it('retries an edit that beat Discord to the original message (10008) instead of waiting for a redelivery', async () => {
    let tries = 0;
    const { deps } = setup([slow], {
      patch: () => (++tries < 3 ? Promise.reject(new DiscordAPIError({ code: 10008, message: 'Unknown Message' }, 10008, 404, 'PATCH', '/x', {})) : Promise.resolve()),
    });
    expect(await handleInteraction(viaHttp('slow'), deps)).toBe('deferred');
    expect(tries).toBe(3);
  });
});
