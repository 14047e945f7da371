/**
 * Discord's RATE_LIMITED answer to /sync-members' op 8 (a whole member list asked for again within
 * 30 s), against the local PostgreSQL as the worker role, real Redis and the simulator's REST: the
 * envelope through the sync worker's real Lambda handler records the limit on the member_syncs row of
 * its nonce (in the guild of `meta.guild_id`, under row-level security) and counts
 * MemberSyncRateLimited; a redelivery changes nothing; a malformed one is dead-lettered with its reason;
 * and /sync-members for that guild inside the window answers "try again in N s" and queues no command.
 */
import { REST } from '@discordjs/rest';
import { MessageFlags } from 'discord-api-types/v10';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../db/migrate';
import { commandKeys, shardForGuild, wrapDispatch, type Envelope } from '../../lib/contract';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { handleInteraction } from '../../lambdas/interaction/core';
import { withGuild } from '../../lambdas/shared/db';
import { handler } from '../../lambdas/sync/handler';
import { localSqsConfig } from '../../local/aws';
import { DiscordSimulator } from '../../local/simulator';
import { localWorkerEnv } from '../../local/worker-env';
import { envelopeRecord } from './sqs-record';

const sqs = new SQSClient(localSqsConfig());
const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
const ns = `sync-rl-test-${run}`;
const SHARDS = 2;
let sim: DiscordSimulator;
let seq = 0;
let msg = 0;
/** the sync tier's queue and its DLQ, where the batch path sends a poison record with its reason */
const world = { queueUrl: '', queueArn: '', dlqUrl: '' };

const rateLimited = (data: Record<string, unknown>): Envelope => wrapDispatch({ appId: sim.appId, shardId: 0, sessionId: `sync-rl-${run}`, seq: ++seq, type: 'RATE_LIMITED', receivedAt: Date.now(), data });
async function deliver(envelopes: Envelope[]) {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  try {
    const event: SQSEvent = { Records: envelopes.map((e) => envelopeRecord(e, ++msg, world.queueArn)) };
    const res = await handler(event, { functionName: 'sync', awsRequestId: `req-${++msg}` } as Context);
    return { res, lines, outcomes: lines.flatMap((l) => (l.includes('"worker finish"') ? [(JSON.parse(l) as { outcome: string }).outcome] : [])), metrics: lines.filter((l) => l.includes('"_aws"')).join('\n') };
  } finally {
    spy.mockRestore();
  }
}
interface RateLimitRow {
  rate_limited_at: Date | null;
  retry_after_ms: number | null;
  updated_at: Date;
}
const rowOf = (g: string, nonce: string) => withGuild(pool, g, async (c) => (await c.query<RateLimitRow>('SELECT rate_limited_at, retry_after_ms, updated_at FROM member_syncs WHERE nonce = $1', [nonce])).rows[0]);

beforeAll(async () => {
  await migrate();
  world.dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `sync-rl-dlq-${run}` }))).QueueUrl ?? '';
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: world.dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  world.queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `sync-rl-${run}`, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) } }))).QueueUrl ?? '';
  world.queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: world.queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  sim = await DiscordSimulator.start({ guilds: 2 });
  Object.assign(process.env, { ...(await localWorkerEnv()), DISCORD_APPLICATION_ID: sim.appId, POWERTOOLS_METRICS_NAMESPACE: 'sync-rate-limited-test' });
  process.env.REDIS_KEY_PREFIX = ns;
});
afterAll(async () => {
  delete process.env.REDIS_KEY_PREFIX;
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length) await redis.del(...keys);
  for (const g of sim.guildIds) await redis.del(`sync-members:${g}`);
  await sim.stop();
  for (const q of [world.queueUrl, world.dlqUrl]) await sqs.send(new DeleteQueueCommand({ QueueUrl: q })).catch(() => undefined);
  await pool.end();
  redis.disconnect();
});

describe('RATE_LIMITED of a member sync', () => {
  it('is recorded on the row of its nonce once, and /sync-members inside the window answers "try again" without a request', async () => {
    const g = sim.guildIds[0]!;
    const nonce = `sm-rl-${run}`;
    const limited = rateLimited({ opcode: 8, retry_after: 25.2, meta: { guild_id: g, nonce } });
    expect(limited.guildId).toBe(g);

    const first = await deliver([limited]);
    expect(first.res).toEqual({ batchItemFailures: [] });
    expect(first.outcomes).toEqual(['rate-limited']);
    expect(first.metrics).toContain('MemberSyncRateLimited');
    const row = await rowOf(g, nonce);
    expect(row?.retry_after_ms).toBe(25_200);
    expect(row?.rate_limited_at?.getTime()).toBe(limited.receivedAt);

    // a redelivery: claimed before, nothing written
    const again = await deliver([limited]);
    expect(again.res).toEqual({ batchItemFailures: [] });
    expect(again.outcomes).toEqual(['duplicate']);
    expect(await rowOf(g, nonce)).toEqual(row);
    // the other guild's scope sees none of it
    expect(await rowOf(sim.guildIds[1]!, nonce)).toBeUndefined();

    // /sync-members for that guild: answered ephemerally with the wait, nothing queued for the gateway
    const keys = commandKeys(ns, sim.appId);
    await redis.set(keys.shardCount(), String(SHARDS));
    const ix = sim.createInteraction({ commandName: 'sync-members', guildId: g });
    const env = wrapDispatch({
      appId: sim.appId,
      shardId: 0,
      sessionId: `sync-rl-${run}`,
      seq: ++seq,
      type: 'INTERACTION_CREATE',
      receivedAt: Date.now(),
      data: { id: ix.id, token: ix.token, type: 2, guild_id: g, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: 'sync-members' } },
    });
    expect(await handleInteraction(env, { redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score: () => Promise.resolve(0) })).toBe('answered');
    const answer = sim.interactionResponses(ix.id)?.callback?.data as { content: string; flags: number };
    const wait = Number(/^Discord limits member requests for this guild: try again in (\d+) s$/.exec(answer.content)?.[1]);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(26);
    expect(answer.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(await redis.xlen(keys.stream(shardForGuild(g, SHARDS)))).toBe(0);
    // and the 30 s window of /sync-members was not taken
    expect(await redis.exists(`sync-members:${g}`)).toBe(0);
  });

  it('ignores one without nonce or for another opcode, and dead-letters a malformed one with its reason', async () => {
    const g = sim.guildIds[1]!;
    const ignored = await deliver([rateLimited({ opcode: 8, retry_after: 3, meta: { guild_id: g } }), rateLimited({ opcode: 31, retry_after: 3, meta: { guild_id: g, nonce: `other-${run}` } })]);
    expect(ignored.res).toEqual({ batchItemFailures: [] });
    expect(ignored.outcomes).toEqual(['ignored', 'ignored']);
    expect(await rowOf(g, `other-${run}`)).toBeUndefined();

    const malformed = rateLimited({ opcode: 8, retry_after: 'soon', meta: { guild_id: g, nonce: `bad-${run}` } });
    // not handed back for a retry: in the DLQ at once, with the reason naming the field
    expect((await deliver([malformed])).res).toEqual({ batchItemFailures: [] });
    let dead: { reason?: string; envelopeId?: string } | undefined;
    for (let i = 0; i < 20 && !dead; i++) {
      const m = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: world.dlqUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }))).Messages?.[0];
      if (m) dead = { reason: m.MessageAttributes?.reason?.StringValue, envelopeId: m.MessageAttributes?.envelopeId?.StringValue };
    }
    expect(dead?.envelopeId).toBe(malformed.id);
    expect(dead?.reason).toMatch(/^INVALID_DATA: RATE_LIMITED .*retry_after/);
    expect(await rowOf(g, `bad-${run}`)).toBeUndefined();
  });
});
