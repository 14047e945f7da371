/**
 * /sync-members as a user runs it, every part real but Lambda and SQS's event source mapping: the
 * interaction worker's core queues op 8 on the guild's shard stream (password Redis), the ingestor (in
 * this process) sends it on that shard to the simulator, which answers like Discord with
 * GUILD_MEMBERS_CHUNK events; the ingestor publishes them (a full chunk claim-checked to S3) to a bus
 * whose rule is the sync tier's pattern, and the queue's messages go through the sync worker's real
 * handler into PostgreSQL. The sync is complete: member_syncs shows every chunk of chunk_count, and
 * every member of the guild is stored once. A second request within Discord's 30 s gets RATE_LIMITED,
 * which takes the same path and is recorded on its sync's row. Voice states take the same path to the
 * voice worker.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { REST } from '@discordjs/rest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../db/migrate';
import { DEFAULT_ROUTING_TABLE, tierEventPattern, wrapDispatch } from '../../lib/contract';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { startIngestor, type IngestorHandle } from '../../ingestor/src/main';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { syncNonce } from '../../lambdas/interaction/commands/sync-members';
import { handleInteraction } from '../../lambdas/interaction/core';
import { withGuild } from '../../lambdas/shared/db';
import { handler as syncHandler } from '../../lambdas/sync/handler';
import { handler as voiceHandler } from '../../lambdas/voice/handler';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { sleep } from '../../local/chaos/world';
import { redisAuthClient, redisAuthEnv } from '../../local/redis-auth';
import { DiscordSimulator } from '../../local/simulator';
import { localWorkerEnv } from '../../local/worker-env';

const MEMBERS = 5000;
const eb = new EventBridgeClient(localAwsConfig());
const sqs = new SQSClient(localSqsConfig());
const s3 = new S3Client(localAwsConfig());
const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const tag = randomUUID().slice(0, 8);
const world = { bus: `sync-flow-${tag}`, bucket: `sync-flow-${tag}`, ns: `sync-flow-${tag}`, queueUrl: '', voiceQueueUrl: '' };
let redis: Redis;
let sim: DiscordSimulator;
let ingestor: IngestorHandle | undefined;

beforeAll(async () => {
  await migrate();
  redis = redisAuthClient();
  await s3.send(new CreateBucketCommand({ Bucket: world.bucket }));
  await eb.send(new CreateEventBusCommand({ Name: world.bus }));
  // the sync and voice tiers' rules, as CDK builds them from the routing table
  world.queueUrl = await tierQueue('sync');
  world.voiceQueueUrl = await tierQueue('voice');
  sim = await DiscordSimulator.start({ shards: 2, guilds: 4 });
  const auth = await redisAuthEnv();
  // the worker environment a deployed interaction or sync worker gets, with this run's key namespace
  Object.assign(process.env, { ...(await localWorkerEnv()), REDIS_KEY_PREFIX: world.ns, DISCORD_APPLICATION_ID: sim.appId, CLAIM_CHECK_BUCKET: world.bucket, POWERTOOLS_METRICS_NAMESPACE: 'sync-flow-test' });
  const cfg = parseIngestorConfig({
    DISCORD_TOKEN: sim.token,
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    TOTAL_SHARDS: '2',
    EVENT_BUS_NAME: world.bus,
    CLAIM_CHECK_BUCKET: world.bucket,
    ...auth,
    REDIS_KEY_PREFIX: world.ns,
    HTTP_PORT: '0',
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
    METRICS_INTERVAL_MS: '3600000',
  });
  ingestor = await startIngestor(cfg, { aws: localAwsConfig(), log: () => undefined, emf: () => undefined });
});
afterAll(async () => {
  await ingestor?.stop();
  await sim.stop();
  delete process.env.REDIS_KEY_PREFIX;
  redis.disconnect();
  await pool.end();
});

/** A queue behind a rule with the tier's event pattern. */
async function tierQueue(tier: 'sync' | 'voice'): Promise<string> {
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${world.bus}-${tier}` }))).QueueUrl ?? '';
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  await eb.send(new PutRuleCommand({ Name: `${tier}-${tag}`, EventBusName: world.bus, EventPattern: JSON.stringify(tierEventPattern(DEFAULT_ROUTING_TABLE[tier])) }));
  await eb.send(new PutTargetsCommand({ Rule: `${tier}-${tag}`, EventBusName: world.bus, Targets: [{ Id: 'q', Arn: arn }] }));
  return queueUrl;
}

/** SQS messages as the event source mapping hands them to the function */
const records = (ms: Message[]): SQSRecord[] =>
  ms.map((m, i) => ({
    messageId: m.MessageId ?? `m-${i}`,
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:sync',
    awsRegion: 'us-east-1',
  }));

/** Feeds a tier's queue to its worker's handler, batch by batch, until `done` or nothing arrives for `idleMs`. */
async function runWorker(queueUrl: string, handler: typeof syncHandler, done: (handled: number) => Promise<boolean>, idleMs = 15_000): Promise<number> {
  let handled = 0;
  let lastNew = Date.now();
  while (!(await done(handled)) && Date.now() - lastNew < idleMs) {
    const ms = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))).Messages ?? [];
    if (ms.length === 0) {
      await sleep(200);
      continue;
    }
    lastNew = Date.now();
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const res = await handler({ Records: records(ms) }, { functionName: 'worker', awsRequestId: `req-${handled}` } as Context);
      expect(res.batchItemFailures).toEqual([]);
    } finally {
      spy.mockRestore();
    }
    handled += ms.length;
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: ms.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
  }
  return handled;
}

/** /sync-members run by a member in the guild, as the gateway delivers it to the interaction worker */
async function askSyncMembers(guildId: string, seq: number): Promise<{ userId: string; nonce: string; content: string }> {
  const ix = sim.createInteraction({ commandName: 'sync-members', guildId });
  const env = wrapDispatch({
    appId: sim.appId,
    shardId: 1,
    sessionId: `flow-${tag}`,
    seq,
    type: 'INTERACTION_CREATE',
    receivedAt: Date.now(),
    data: { id: ix.id, token: ix.token, type: 2, guild_id: guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: 'sync-members' } },
  });
  expect(await handleInteraction(env, { redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score: () => Promise.resolve(0) })).toBe('answered');
  return { userId: ix.userId, nonce: syncNonce(ix.id), content: (sim.interactionResponses(ix.id)?.callback?.data as { content: string }).content };
}

describe('/sync-members end to end', () => {
  it(`stores every member of a ${MEMBERS}-member guild and marks the sync complete`, async () => {
    const guildId = sim.guildIds.find((g) => sim.shardOfGuild(g) === 1) ?? '';
    sim.setMemberCount(guildId, MEMBERS);
    // the ingestor publishes the application's shard count once its shards are up
    for (let i = 0; i < 100 && (await redis.get(`${world.ns}:{${sim.appId}}:shard-count`)) === null; i++) await sleep(100);

    const { userId, nonce, content } = await askSyncMembers(guildId, 1);
    expect(content).toMatch(/^Syncing members of/);
    const sync = () =>
      withGuild(
        pool,
        guildId,
        async (c) =>
          (await c.query<{ chunks_seen: number; chunk_count: number | null; members: number; completed_at: Date | null; requested_by: string }>('SELECT chunks_seen, chunk_count, members, completed_at, requested_by FROM member_syncs WHERE nonce = $1', [nonce])).rows[0],
      );
    const handled = await runWorker(world.queueUrl, syncHandler, async () => (await sync())?.completed_at instanceof Date);

    const chunkCount = Math.ceil(MEMBERS / 1000);
    expect(handled).toBe(chunkCount);
    expect(await sync()).toMatchObject({ chunks_seen: chunkCount, chunk_count: chunkCount, members: MEMBERS, requested_by: userId });
    const stored = await withGuild(pool, guildId, async (c) => (await c.query<{ n: string; users: string }>('SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM members WHERE present')).rows[0]);
    expect(stored).toEqual({ n: String(MEMBERS), users: String(MEMBERS) });
    // the command went out on the guild's shard, once
    expect(sim.gateway.commands.map((c) => [c.op, c.shardId, c.outcome])).toEqual([[8, 1, 'answered']]);
  });
  it("records Discord's RATE_LIMITED answer to a second whole-list request within 30 s, and then tells the user to wait", async () => {
    const guildId = sim.guildIds.find((g) => sim.shardOfGuild(g) === 1) ?? '';
    let seq = 2;
    const ask = () => askSyncMembers(guildId, seq++);
    // the command's own 30 s window given back (as if it had expired early): the request reaches Discord,
    // which answers RATE_LIMITED instead of chunks
    await redis.del(`sync-members:${guildId}`);
    const second = await ask();
    expect(second.content).toMatch(/^Syncing members of/);
    const limit = () =>
      withGuild(pool, guildId, async (c) => (await c.query<{ rate_limited_at: Date | null; retry_after_ms: number | null; chunks_seen: number }>('SELECT rate_limited_at, retry_after_ms, chunks_seen FROM member_syncs WHERE nonce = $1', [second.nonce])).rows[0]);
    expect(await runWorker(world.queueUrl, syncHandler, async () => (await limit())?.rate_limited_at instanceof Date)).toBe(1);
    const row = await limit();
    expect(row?.chunks_seen).toBe(0);
    expect(row?.retry_after_ms).toBeGreaterThan(0);
    expect(row?.retry_after_ms).toBeLessThanOrEqual(30_000);
    expect(sim.gateway.commands.map((c) => c.op)).toEqual([8, 8]);

    // a third one inside Discord's window: answered with the wait, nothing sent
    await redis.del(`sync-members:${guildId}`);
    const third = await ask();
    expect(third.content).toMatch(/^Discord limits member requests for this guild: try again in \d+ s$/);
    expect(sim.gateway.commands).toHaveLength(2);
  });
  it('records a member joining, muting, leaving and rejoining a voice channel as two sessions', async () => {
    const guildId = sim.guildIds.find((g) => sim.shardOfGuild(g) === 0) ?? '';
    const userId = sim.guildMembers(guildId)[0]?.user.id ?? '';
    const channelId = sim.createInteraction({ commandName: 'ping', guildId }).channelId;
    const sessions = () => withGuild(pool, guildId, async (c) => (await c.query<{ channel_id: string; left_at: Date | null }>('SELECT channel_id, left_at FROM voice_sessions WHERE user_id = $1 ORDER BY joined_at, id', [userId])).rows);
    for (const [channel, self] of [
      [channelId, {}],
      [channelId, { mute: true }],
      [null, {}],
      [channelId, {}],
    ] as const) {
      expect(sim.memberVoiceState(guildId, userId, channel, self)).toBeDefined();
      // one event at a time: the bus and the queue keep no order, and the worker's version rule would
      // (rightly) drop an older state that arrives after a newer one
      expect(await runWorker(world.voiceQueueUrl, voiceHandler, (handled) => Promise.resolve(handled >= 1), 10_000)).toBe(1);
      expect(await voiceStateOf()).toBe(channel);
    }
    const rows = await sessions();
    expect(rows.map((r) => [r.channel_id, r.left_at === null])).toEqual([
      [channelId, false],
      [channelId, true],
    ]);

    async function voiceStateOf() {
      return withGuild(pool, guildId, async (c) => (await c.query<{ channel_id: string | null }>('SELECT channel_id FROM voice_states WHERE user_id = $1', [userId])).rows[0]?.channel_id ?? null);
    }
  });
});
