/**
 * Our workers held to Discord's spec: every kind of request they make, built by their own code (the
 * interaction core, the member worker's auto role, `npm run commands:register`), goes through the
 * simulator's spec validation and is accepted; a body the spec refuses fails locally, naming the field.
 * Real Redis and PostgreSQL (the worker role) from `bash local/env.sh up`.
 */
import { spawn } from 'node:child_process';
import { DiscordAPIError, REST } from '@discordjs/rest';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { COMMANDS, commandRegistry } from '../../lambdas/interaction/commands';
import type { Command } from '../../lambdas/interaction/commands/types';
import { handleInteraction, type InteractionDeps } from '../../lambdas/interaction/core';
import { handleMemberEvent } from '../../lambdas/member/core';
import { withGuild } from '../../lambdas/shared/db';
import { SharedRateLimitedRest } from '../../lambdas/shared/discord-rest';
import { DiscordSimulator, type SimInteraction } from '../../local/simulator';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 4 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
let seq = 0;
const env = (type: string, data: Record<string, unknown>): Envelope => wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: `spec-${run}`, seq: ++seq, type, receivedAt: Date.now(), data });
const ixEnv = (ix: SimInteraction) => env('INTERACTION_CREATE', { id: ix.id, token: ix.token, type: 2, guild_id: ix.guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: ix.commandName } });
const user = (k: number) => String(880000000000000000n + BigInt(run % 1_000_000) * 100n + BigInt(k));

/** A slow command whose answer is ephemeral, so the defer carries flags (the registry has none yet). */
const secret: Command = { definition: { name: 'secret', description: 'Only you see it' }, mode: 'slow', ephemeral: true, run: () => Promise.resolve({ content: 'just for you' }) };

let sim: DiscordSimulator;
beforeAll(async () => {
  await migrate();
  sim = await DiscordSimulator.start({ guilds: 1 });
});
afterAll(async () => {
  await sim.stop();
  await pool.end();
  redis.disconnect();
});

describe("the workers' Discord requests against the spec", () => {
  it('callbacks (answer, ephemeral answer, defer, ephemeral defer, fallback defer), edits, role changes and the command registration all pass validation', async () => {
    const first = sim.requests.length;
    // the interaction worker's REST client, as lambdas/interaction/deps.ts builds it
    const deps: InteractionDeps = { redis, pool, rest: new REST({ api: sim.restUrl, retries: 2, timeout: 5_000 }), applicationId: sim.appId, commands: commandRegistry([...COMMANDS, secret]), score: () => Promise.resolve(64) };
    const outcome = (commandName: string, userId: string, more: Partial<InteractionDeps> = {}) => handleInteraction(ixEnv(sim.createInteraction({ commandName, userId })), { ...deps, ...more });
    expect(await outcome('ping', user(1))).toBe('answered'); // type 4
    expect(await outcome('stats', user(2))).toBe('answered'); // type 4, from PostgreSQL
    expect(await outcome('gone', user(3))).toBe('unknown-command'); // type 4, ephemeral
    expect(await outcome('check-eligibility', user(4))).toBe('deferred'); // type 5, then the edit
    expect(await outcome('check-eligibility', user(4))).toBe('cooldown'); // type 4, ephemeral
    expect(await outcome('secret', user(5))).toBe('deferred'); // type 5 with flags, then the edit
    // no time left for a direct answer: the fast command is deferred, then edited
    expect(await outcome('ping', user(6), { callbackMarginMs: 10_000 })).toBe('deferred-fallback');

    // the member worker's auto role, through the shared limiter, with the path it builds
    const g = sim.guildIds[0]!;
    const role = String(BigInt(g) + 9n);
    await withGuild(pool, g, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', $2::text)) ON CONFLICT (guild_id) DO UPDATE SET settings = excluded.settings", [g, role]));
    const botRest = new SharedRateLimitedRest(new REST({ api: sim.restUrl }).setToken(sim.token), redis, { prefix: `spec-${run}` });
    expect(await handleMemberEvent(env('GUILD_MEMBER_ADD', { guild_id: g, user: { id: user(7), username: 'joiner' }, roles: [], joined_at: new Date().toISOString() }), { pool, botRest })).toBe('applied');

    // the command registry, registered by the script itself
    const child = spawn('npx', ['tsx', 'scripts/commands-register.ts'], {
      env: { ...process.env, DISCORD_TOKEN: sim.token, DISCORD_APPLICATION_ID: sim.appId, DISCORD_API_URL: sim.restUrl, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += String(d)));
    expect(await new Promise<number | null>((r) => child.on('close', r)), err).toBe(0);

    const made = sim.requests.slice(first);
    expect(made.filter((r) => r.status >= 300).map((r) => `${r.method} ${r.path} ${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
    const callbacks = made.filter((r) => r.route === 'interaction_callback').map((r) => r.body as { type: number; data?: { flags?: number } });
    expect(callbacks.map((c) => `${c.type}${c.data?.flags ? ' ephemeral' : ''}`).sort()).toEqual(['4', '4', '4 ephemeral', '4 ephemeral', '5', '5', '5 ephemeral']);
    expect(made.filter((r) => r.route === 'webhook_original_edit')).toHaveLength(3);
    expect(made.filter((r) => r.route === 'member_role_add').map((r) => r.path)).toEqual([`/guilds/${g}/members/${user(7)}/roles/${role}`]);
    expect(made.filter((r) => r.route === 'commands_overwrite')).toHaveLength(1);
  });

  it('fails locally, naming the field, when a command answers with a body the spec refuses', async () => {
    const long: Command = { definition: { name: 'long', description: 'Too long' }, mode: 'fast', run: () => Promise.resolve({ content: 'x'.repeat(2001) }) };
    const shape: Command = { definition: { name: 'shape', description: 'Wrong shape' }, mode: 'slow', run: () => Promise.resolve({ embeds: 'no' } as never) };
    const deps: InteractionDeps = { redis, pool, rest: new REST({ api: sim.restUrl, retries: 0 }), applicationId: sim.appId, commands: commandRegistry([long, shape]), score: () => Promise.resolve(1) };
    const tooLong = await handleInteraction(ixEnv(sim.createInteraction({ commandName: 'long', userId: user(8) })), deps).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(DiscordAPIError);
    expect((tooLong as DiscordAPIError).code).toBe(50035);
    // @discordjs/rest prints the errors tree as `path[CODE]: message`
    expect((tooLong as DiscordAPIError).message).toContain('data.content[BASE_TYPE_MAX_LENGTH]: Must be 2000 or fewer in length.');
    const wrong = await handleInteraction(ixEnv(sim.createInteraction({ commandName: 'shape', userId: user(9) })), deps).catch((e: unknown) => e);
    expect((wrong as DiscordAPIError).message).toContain('embeds[LIST_TYPE_CONVERT]');
  });
});
