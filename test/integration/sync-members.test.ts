/**
 * /sync-members through the interaction worker's core against the simulator's REST, real Redis and
 * PostgreSQL as the worker role: the op 8 request lands on the command stream of the shard that holds
 * the guild (as the ingestor reads it), the member_syncs row names who asked, the answer is ephemeral,
 * a second sync within Discord's 30 s window is answered without a request, and without an ingestor the
 * user is told so and the window is given back.
 */
import { REST } from '@discordjs/rest';
import { GatewayOpcodes, MessageFlags } from 'discord-api-types/v10';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { commandKeys, decodeCommandEntry, shardForGuild, wrapDispatch, type Envelope } from '../../lib/contract';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { syncNonce } from '../../lambdas/interaction/commands/sync-members';
import { handleInteraction } from '../../lambdas/interaction/core';
import { withGuild } from '../../lambdas/shared/db';
import { DiscordSimulator } from '../../local/simulator';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
// a key namespace of this run: no ingestor or other test reads or writes it
const ns = `sync-test-${run}`;
const SHARDS = 4;
let sim: DiscordSimulator;
let seq = 0;

type Ix = ReturnType<DiscordSimulator['createInteraction']>;
const envOf = (ix: Ix): Envelope =>
  wrapDispatch({
    appId: sim.appId,
    shardId: 0,
    sessionId: `sync-${run}`,
    seq: ++seq,
    type: 'INTERACTION_CREATE',
    receivedAt: Date.now(),
    data: { id: ix.id, token: ix.token, type: 2, guild_id: ix.guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: ix.commandName } },
  });
const deps = () => ({ redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score: () => Promise.resolve(0) });
const answerOf = (ix: Ix) => sim.interactionResponses(ix.id)?.callback;

beforeAll(async () => {
  await migrate();
  sim = await DiscordSimulator.start({ guilds: 2 });
  process.env.REDIS_KEY_PREFIX = ns;
});
afterAll(async () => {
  delete process.env.REDIS_KEY_PREFIX;
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length) await redis.del(...keys);
  await sim.stop();
  await pool.end();
  redis.disconnect();
});

describe('/sync-members', () => {
  it('queues op 8 for the whole member list on the guild shard, records who asked, and answers ephemerally', async () => {
    const keys = commandKeys(ns, sim.appId);
    // what a running ingestor publishes for the application
    await redis.set(keys.shardCount(), String(SHARDS));
    const g = sim.guildIds[0]!;
    const ix = sim.createInteraction({ commandName: 'sync-members', guildId: g });
    expect(await handleInteraction(envOf(ix), deps())).toBe('answered');

    const answer = answerOf(ix);
    expect(answer?.type).toBe(4);
    const data = answer?.data as { content: string; flags: number };
    expect(data.content).toMatch(/^Syncing members of .+…/);
    expect(data.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);

    const entries = await redis.xrange(keys.stream(shardForGuild(g, SHARDS)), '-', '+');
    expect(entries).toHaveLength(1);
    const decoded = decodeCommandEntry(entries[0]![1]);
    expect(decoded.ok && decoded.entry.command).toEqual({ op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g, query: '', limit: 0, nonce: syncNonce(ix.id) } });
    expect(Buffer.byteLength(syncNonce(ix.id))).toBeLessThanOrEqual(32);

    const row = await withGuild(pool, g, async (c) => (await c.query<{ requested_by: string; requested_at: Date | null; chunks_seen: number }>('SELECT requested_by, requested_at, chunks_seen FROM member_syncs WHERE nonce = $1', [syncNonce(ix.id)])).rows[0]);
    expect(row).toMatchObject({ requested_by: ix.userId, chunks_seen: 0 });
    expect(row?.requested_at).toBeInstanceOf(Date);

    // a second sync of the same guild within Discord's window: answered, nothing queued
    const again = sim.createInteraction({ commandName: 'sync-members', guildId: g });
    expect(await handleInteraction(envOf(again), deps())).toBe('answered');
    expect((answerOf(again)?.data as { content: string }).content).toMatch(/less than 30 s ago/);
    expect(await redis.xlen(keys.stream(shardForGuild(g, SHARDS)))).toBe(1);
  });

  it('tells the user when no ingestor serves the application, and gives the window back', async () => {
    await redis.del(commandKeys(ns, sim.appId).shardCount());
    const g = sim.guildIds[1]!;
    const ix = sim.createInteraction({ commandName: 'sync-members', guildId: g });
    expect(await handleInteraction(envOf(ix), deps())).toBe('answered');
    expect((answerOf(ix)?.data as { content: string }).content).toMatch(/not connected to the gateway/);
    expect(await redis.exists(`sync-members:${g}`)).toBe(0);
  });
});
