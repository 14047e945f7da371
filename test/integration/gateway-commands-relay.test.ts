/**
 * The ingestor's command stage (GatewayCommandRelay) on real Redis streams, with the shards it serves
 * as a recording neighbour: a command a worker queued under the shard count before a reshard (4) is
 * sent on the shard that holds its guild under the new count (8), not on the one it was queued for.
 */
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { commandKeys, shardForGuild, type GatewayCommand } from '../../lib/contract';
import { sendGatewayCommand } from '../../lambdas/shared/gateway-commands';
import { GatewayCommandRelay, type CommandTarget } from '../../ingestor/src/gateway/commands';

const ns = `relay-${Date.now()}`;
const APP = '100000000000000888';
const redis = new Redis('redis://127.0.0.1:6379');
// on shard 1 of 4 and on shard 5 of 8: (guild >> 22) = 2^37 * 8 + 5
const GUILD = String((2n ** 37n * 8n + 5n) << 22n);

afterAll(async () => {
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('the command stage across a reshard', () => {
  it('sends a command queued under the old shard count on the shard that holds its guild now', async () => {
    expect([shardForGuild(GUILD, 4), shardForGuild(GUILD, 8)]).toEqual([1, 5]);
    // a worker queues op 8 while the published count is still the old set's
    await redis.set(commandKeys(ns, APP).shardCount(), '4');
    const queued = await sendGatewayCommand(redis, APP, { guildId: GUILD }, { op: 8, d: { guild_id: GUILD, query: '', limit: 0, nonce: 'moved' } }, { ns, metrics: null, log: null });
    expect(queued.shardId).toBe(1);

    // the task now serves the new 8-shard set and holds shards 1 and 5
    const sent: [number, GatewayCommand][] = [];
    const logged: string[] = [];
    const target: CommandTarget = {
      appId: APP,
      key: APP,
      budget: 'main',
      totalShards: 8,
      gateway: {
        held: () => [1, 5],
        state: () => 'ready',
        heartbeatInterval: () => 41_250,
        send: (shardId, payload) => {
          sent.push([shardId, payload]);
          return Promise.resolve();
        },
      },
    };
    const relay = new GatewayCommandRelay({
      reader: redis.duplicate(),
      redis,
      ns,
      taskId: 't1',
      targets: () => [target],
      holds: () => true,
      metrics: { onCommandSent: () => undefined, onCommandRefused: () => undefined },
      deadLetter: () => Promise.resolve(),
      log: (_level, msg) => logged.push(msg),
      blockMs: 100,
    });
    relay.start();
    try {
      for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(sent.map(([shardId, c]) => [shardId, c.op, (c.d as { nonce?: string }).nonce])).toEqual([[5, 8, 'moved']]);
      expect(logged.filter((m) => m.includes('moved to the shard that holds it now'))).toHaveLength(1);
      // nothing left pending on either stream: acknowledged where it was read, sent once
      for (const shardId of [1, 5]) expect((await redis.xpending(commandKeys(ns, APP).stream(shardId), 'ingestor'))[0]).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});
