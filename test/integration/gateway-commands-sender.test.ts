/**
 * The sender of gateway commands (lambdas/shared/gateway-commands.ts) against the Redis that demands a
 * password, connected as a worker connects (REDIS_URL + REDIS_AUTH_SECRET_ARN from the emulator's
 * Secrets Manager): where a command lands, what is refused before anything is written, and that the
 * fleet's consumer group reads back what was queued.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMAND_GROUP, ContractError, commandKeys, decodeCommandEntry } from '../../lib/contract';
import { GatewayCommandUnavailableError, sendGatewayCommand } from '../../lambdas/shared/gateway-commands';
import { localAwsConfig } from '../../local/aws';
import { redisAuthEnv } from '../../local/redis-auth';
import { createRedis } from '../../shared/redis';

const run = Date.now();
const ns = `gctest-${run}`;
const APP = '100000000000000777';
const keys = commandKeys(ns, APP);
// (41771983444115456 >> 22) % 4 = 3 and (613425648685547541 >> 22) % 4 = 0, computed outside this code
const GUILD_ON_3 = '41771983444115456';
const GUILD_ON_0 = '613425648685547541';
const ids = (n: number) => Array.from({ length: n }, (_, k) => String(200000000000000000n + BigInt(k)));

let redis: Redis;
const quiet = { metrics: null, log: null, ns } as const;

/** Every key of this run's namespace: what the sender wrote. */
const written = async (): Promise<string[]> => (await redis.keys(`${ns}:*`)).sort();

beforeAll(async () => {
  const env = await redisAuthEnv();
  redis = await createRedis({ url: env.REDIS_URL, authSecretArn: env.REDIS_AUTH_SECRET_ARN }, new SecretsManagerClient(localAwsConfig()), () => undefined);
  await redis.set(keys.shardCount(), '4');
});
afterAll(async () => {
  const mine = await redis.keys(`${ns}:*`);
  if (mine.length > 0) await redis.del(...mine);
  redis.disconnect();
});

describe('sendGatewayCommand', () => {
  it("queues a command on the stream of the guild's shard, and the ingestors' group reads it back", async () => {
    const command = { op: 8, d: { guild_id: GUILD_ON_3, query: 'ab', limit: 5, nonce: 'n-1' } };
    const sent = await sendGatewayCommand(redis, APP, { guildId: GUILD_ON_3 }, command, { ...quiet, origin: 'integration-test' });
    expect(sent.shardId).toBe(3);
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await written()).toEqual([keys.stream(3), keys.shardCount()].sort());

    const read = (await redis.xreadgroup('GROUP', COMMAND_GROUP, 'task-1', 'COUNT', 10, 'STREAMS', keys.stream(3), '>')) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = read?.[0]?.[1] ?? [];
    expect(entries).toHaveLength(1);
    const [streamId, fields] = entries[0] ?? ['', []];
    expect(streamId).toBe(sent.streamId);
    const decoded = decodeCommandEntry(fields);
    expect(decoded).toMatchObject({ ok: true, entry: { command, origin: 'integration-test', id: sent.id } });
    if (decoded.ok) expect(Math.abs(decoded.entry.queuedAt - Date.now())).toBeLessThan(60_000);

    // a second command finds the group in place (BUSYGROUP is not an error) and is the group's next entry
    const again = await sendGatewayCommand(redis, APP, { shardId: 3 }, { op: 3, d: { since: null, activities: [{ name: 'the gateway', type: 3 }], status: 'online', afk: false } }, quiet);
    expect(again.shardId).toBe(3);
    const next = (await redis.xreadgroup('GROUP', COMMAND_GROUP, 'task-2', 'COUNT', 10, 'STREAMS', keys.stream(3), '>')) as Array<[string, Array<[string, string[]]>]> | null;
    expect(next?.[0]?.[1].map(([id]) => id)).toEqual([again.streamId]);
  });

  it('refuses a 40-byte nonce and 101 user ids naming both fields, and writes nothing', async () => {
    const before = await written();
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const command = { op: 8, d: { guild_id: GUILD_ON_0, user_ids: ids(101), nonce: '🙂'.repeat(10) } };
    const err = await sendGatewayCommand(redis, APP, { guildId: GUILD_ON_0 }, command, { ...quiet, log: { warn: (_m, extra) => warnings.push(extra) } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContractError);
    expect((err as ContractError).code).toBe('INVALID_GATEWAY_COMMAND');
    expect((err as ContractError).message).toContain('d.nonce: at most 32 bytes (got 40)');
    expect((err as ContractError).message).toContain('d.user_ids: at most 100 (got 101)');
    expect(warnings).toEqual([{ appId: APP, opcode: '8', origin: undefined, problems: ['d.user_ids: at most 100 (got 101)', 'd.nonce: at most 32 bytes (got 40)'] }]);
    expect(JSON.stringify(warnings)).not.toContain('🙂'); // the log names the fields, not what was in them
    expect(await written()).toEqual(before);
    expect(await redis.exists(keys.stream(0))).toBe(0);
  });

  it('refuses a target outside the shard count, and a guild the target shard does not hold', async () => {
    const before = await written();
    await expect(sendGatewayCommand(redis, APP, { shardId: 4 }, { op: 31, d: { guild_ids: [GUILD_ON_0] } }, quiet)).rejects.toThrow('target.shardId: the application has 4 shard(s), 0..3 (got 4)');
    await expect(sendGatewayCommand(redis, APP, { guildId: GUILD_ON_0 }, { op: 4, d: { guild_id: GUILD_ON_3, channel_id: null, self_mute: false, self_deaf: false } }, quiet)).rejects.toThrow(`d.guild_id: ${GUILD_ON_3} not on shard 0 of 4`);
    await expect(sendGatewayCommand(redis, APP, { shardId: 0 }, { op: 31, d: { guild_ids: [GUILD_ON_0, GUILD_ON_3] } }, quiet)).rejects.toThrow(`d.guild_ids: ${GUILD_ON_3} not on shard 0 of 4`);
    expect(await written()).toEqual(before);
  });

  it('says so when no ingestor has published the shard count of the application', async () => {
    const other = '100000000000000778';
    const err = await sendGatewayCommand(redis, other, { guildId: GUILD_ON_0 }, { op: 31, d: { guild_ids: [GUILD_ON_0] } }, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayCommandUnavailableError);
    expect((err as Error).message).toContain(`no ingestor has published the shard count of application ${other} yet`);
    expect(await redis.exists(commandKeys(ns, other).stream(0))).toBe(0);
  });

  it('counts queued and refused commands by opcode (Powertools EMF)', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    try {
      const metrics = new Metrics({ namespace: 'GatewayCommandsTest', serviceName: 'test' });
      await sendGatewayCommand(redis, APP, { guildId: GUILD_ON_0 }, { op: 31, d: { guild_ids: [GUILD_ON_0] } }, { ns, metrics, log: null });
      await sendGatewayCommand(redis, APP, { guildId: GUILD_ON_0 }, { op: 4, d: { guild_id: GUILD_ON_0 } }, { ns, metrics, log: null }).catch(() => undefined);
    } finally {
      spy.mockRestore();
    }
    const emf = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toEqual([expect.objectContaining({ GatewayCommandsQueued: 1, Opcode: '31' }), expect.objectContaining({ GatewayCommandsRefused: 1, Opcode: '4' })]);
  });
});
