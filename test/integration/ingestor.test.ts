/**
 * The ingestor end to end on the local environment: the Discord simulator (real @discordjs/ws),
 * the AWS emulator's EventBridge and SQS, and Redis for the resume point.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { classify, EVENT_SOURCE, parseDeliveredEvent, type Envelope } from '../../lib/contract';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { DiscordSimulator } from '../../local/simulator';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { parsePersistedSession } from '../../ingestor/src/gateway/session-store';
import { startIngestor, type IngestorHandle } from '../../ingestor/src/main';
import { DirectPutEventsSender } from '../../ingestor/src/publish/direct-put-events';
import { redisAuthClient, redisAuthEnv } from '../../local/redis-auth';

const eb = new EventBridgeClient(localAwsConfig());
const sqs = new SQSClient(localSqsConfig());
const s3 = new S3Client(localAwsConfig());
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bus whose one rule sends every gateway event to one queue, and a bucket for dead letters. */
async function busToQueue() {
  const tag = randomUUID().slice(0, 8);
  const bus = `ingestor-${tag}`;
  const deadLetterBucket = `dead-${tag}`;
  await s3.send(new CreateBucketCommand({ Bucket: deadLetterBucket }));
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `ingestor-${tag}` }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await eb.send(new PutRuleCommand({ Name: `all-${tag}`, EventBusName: bus, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
  await eb.send(new PutTargetsCommand({ Rule: `all-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn }] }));
  return { bus, queueUrl: QueueUrl!, tag, deadLetterBucket };
}

/** Receives until `want` distinct envelope ids arrived or nothing new came for a while. */
async function drain(queueUrl: string, want: number, idleMs = 3000): Promise<{ envelopes: Map<string, Envelope>; messages: number }> {
  const envelopes = new Map<string, Envelope>();
  let messages = 0;
  let lastNew = Date.now();
  while (envelopes.size < want && Date.now() - lastNew < idleMs) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const ms = r.Messages ?? [];
    if (ms.length === 0) {
      await new Promise((s) => setTimeout(s, 100));
      continue;
    }
    for (const m of ms) {
      messages++;
      const { envelope } = parseDeliveredEvent(m.Body!);
      if (!envelopes.has(envelope.id)) lastNew = Date.now();
      envelopes.set(envelope.id, envelope);
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: ms.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return { envelopes, messages };
}

/** The ingestor in this process, with Redis that demands the password it reads from Secrets Manager. */
async function ingestor(sim: DiscordSimulator, bus: string, extra: Record<string, string> = {}, keyPrefix?: string): Promise<IngestorHandle> {
  const cfg = parseIngestorConfig({
    DISCORD_TOKEN: sim.token,
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    TOTAL_SHARDS: '2',
    EVENT_BUS_NAME: bus,
    DEAD_LETTER_BUCKET: 'unused-in-this-test',
    ...(await redisAuthEnv()),
    HTTP_PORT: '0',
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
    METRICS_INTERVAL_MS: '3600000',
    ...extra,
  });
  // a resume point of its own (the simulators of other tests share the default application id)
  const h = await startIngestor(cfg, { aws: localAwsConfig(), emf: () => undefined, log: () => undefined, persistIntervalMs: 100, keyPrefix: keyPrefix ?? `test-${randomUUID().slice(0, 8)}` });
  cleanups.push(() => h.kill());
  return h;
}

const wanted = (t: string) => classify(t) !== undefined;

describe('ingestor', () => {
  it('publishes every wanted dispatch once as our envelope and drops what no tier wants before any AWS call', async () => {
    const sim = await DiscordSimulator.start({ shards: 2, guilds: 20, maxConcurrency: 2, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl } = await busToQueue();
    const h = await ingestor(sim, bus);
    await sim.waitForShardsReady(2);
    await sim.memberJoinStorm(sim.guildIds[0]!, 300);
    await sim.memberJoinStorm(sim.guildIds[1]!, 300);
    sim.noise(sim.guildIds[2]!, 90);
    const ix = sim.createInteraction({ commandName: 'ping', guildId: sim.guildIds[3] });

    const expected = sim.expectedEnvelopeIds(wanted);
    expect(expected.size).toBe(20 + 600 + 1); // GUILD_CREATE + members + interaction
    const { envelopes } = await drain(queueUrl, expected.size);
    expect([...expected].filter((id) => !envelopes.has(id))).toEqual([]);
    expect([...envelopes.keys()].filter((id) => !expected.has(id))).toEqual([]);
    const interaction = [...envelopes.values()].find((e) => e.type === 'INTERACTION_CREATE')!;
    expect(interaction.data).toMatchObject({ id: ix.id, token: ix.token });
    expect(interaction.guildId).toBe(sim.guildIds[3]);
    // the noise may still be on its way on the other shard
    for (let i = 0; i < 100 && h.metrics.dropped < 92; i++) await new Promise((r) => setTimeout(r, 50));
    expect(h.metrics.dropped).toBe(90 + 2); // the noise and the two READY
    const s = h.status();
    expect(s).toMatchObject({ ready: true, shards: { total: 2, ready: 2 }, guilds: 20, spoolDepth: 0 });

    const ready = await fetch(`http://127.0.0.1:${h.httpPort}/ready`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { counters: { received: number; dropped: number; deadLettered: number } };
    expect(body.counters).toMatchObject({ dropped: 92, deadLettered: 0 });
    expect(h.metrics.receivedByType.get('GUILD_MEMBER_ADD')).toBe(600);
  });

  it('loses nothing when killed mid-stream: a new process resumes from the Redis watermark and Discord replays the rest', async () => {
    const sim = await DiscordSimulator.start({ shards: 2, guilds: 4, maxConcurrency: 2, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl } = await busToQueue();
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const first = await ingestor(sim, bus, {}, prefix);
    await sim.waitForShardsReady(2);
    const storm = sim.memberJoinStorm(sim.guildIds[0]!, 2000, { ratePerSec: 4000 });
    await new Promise((r) => setTimeout(r, 150));
    await first.kill(); // a crash: no flush, whatever was buffered is gone
    await storm;
    sim.noise(sim.guildIds[1]!, 30);
    const redis = redisAuthClient();
    const saved = parsePersistedSession((await redis.get(`${prefix}:{${sim.appId}}:shard:0`)) ?? 'null');
    redis.disconnect();
    expect(saved.ok && saved.value.sessionId).toBeTruthy();

    const second = await ingestor(sim, bus, {}, prefix);
    await sim.waitForShardsReady(2);
    const expected = sim.expectedEnvelopeIds(wanted);
    const { envelopes, messages } = await drain(queueUrl, expected.size, 5000);
    const lost = [...expected].filter((id) => !envelopes.has(id));
    expect(lost).toEqual([]);
    console.log(`kill: ${expected.size} expected (from the simulator's ledger), ${envelopes.size} delivered, ${messages - envelopes.size} duplicates`);
    // the same sessions resumed: no second IDENTIFY
    expect(sim.gateway.identifies.filter((i) => i.outcome === 'ready')).toHaveLength(2);
    expect(second.status().shards.ready).toBe(2);
  });

  it('stores a 300 KB GUILD_CREATE in S3 (claim check) and publishes the envelope with dataRef', async () => {
    const sim = await DiscordSimulator.start({ shards: 1, guilds: 2, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl, tag } = await busToQueue();
    const bucket = `claims-${tag}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const h = await ingestor(sim, bus, { TOTAL_SHARDS: '1', CLAIM_CHECK_BUCKET: bucket }); // default threshold 256 KB
    await sim.waitForShardsReady(1);
    const seq = sim.bigGuildCreate(sim.guildIds[1]!, 300_000)!;
    const { envelopes } = await drain(queueUrl, 3);
    const big = [...envelopes.values()].find((e) => e.type === 'GUILD_CREATE' && e.seq === seq)!;
    expect(big.data).toBeUndefined();
    expect(big.dataRef).toMatchObject({ bucket });
    expect(big.dataRef!.bytes).toBeGreaterThan(262_144); // over the claim-check threshold
    expect(big.guildId).toBe(sim.guildIds[1]);
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: big.dataRef!.key }));
    const stored = JSON.parse(await obj.Body!.transformToString()) as { id: string; channels: unknown[] };
    expect(stored.id).toBe(sim.guildIds[1]);
    expect(stored.channels.length).toBeGreaterThan(1000);
    expect(h.metrics.claimChecked).toBe(1);
    // the two small GUILD_CREATEs went inline
    expect([...envelopes.values()].filter((e) => e.data !== undefined)).toHaveLength(2);
  });

  it('resumes the same sessions after a graceful stop (SIGTERM path): no new IDENTIFY, nothing lost', async () => {
    const sim = await DiscordSimulator.start({ shards: 2, guilds: 4, maxConcurrency: 2, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl } = await busToQueue();
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    const first = await ingestor(sim, bus, {}, prefix);
    await sim.waitForShardsReady(2);
    const storm = sim.memberJoinStorm(sim.guildIds[0]!, 1500, { ratePerSec: 3000 });
    await new Promise((r) => setTimeout(r, 150));
    await first.stop(); // what SIGTERM does: resumable close, flush, persist
    expect(sim.gateway.closes.filter((c) => c.by === 'client').every((c) => c.code !== 1000 && c.code !== 1001)).toBe(true);
    await storm;
    await ingestor(sim, bus, {}, prefix);
    await sim.waitForShardsReady(2);
    const expected = sim.expectedEnvelopeIds(wanted);
    const { envelopes, messages } = await drain(queueUrl, expected.size, 5000);
    expect([...expected].filter((id) => !envelopes.has(id))).toEqual([]);
    expect(sim.gateway.identifies.filter((i) => i.outcome === 'ready')).toHaveLength(2);
    console.log(`graceful stop: ${expected.size} expected, ${envelopes.size} delivered, ${messages - envelopes.size} duplicates`);
  });

  it('as a process (main.ts): SIGTERM mid-stream exits 0 and the next process RESUMEs; SIGKILL mid-stream loses nothing either (by the ledger)', async () => {
    // a fresh application id: main.ts keeps its resume point under gateway:<app id> in Redis
    const appId = String(100000000000000000n + BigInt(Math.floor(Math.random() * 1e12)));
    const sim = await DiscordSimulator.start({ appId, shards: 2, guilds: 4, maxConcurrency: 2, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl, deadLetterBucket } = await busToQueue();
    const aws = localAwsConfig() as { endpoint: string; region: string };
    const env = {
      ...process.env,
      DISCORD_TOKEN: sim.token,
      DISCORD_APPLICATION_ID: appId,
      DISCORD_API_URL: sim.restUrl,
      TOTAL_SHARDS: '2',
      EVENT_BUS_NAME: bus,
      DEAD_LETTER_BUCKET: deadLetterBucket,
      ...(await redisAuthEnv()),
      HTTP_PORT: '0',
      METRICS_INTERVAL_MS: '3600000',
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // node itself (not npx) so that the signal reaches the ingestor's process
    const start = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'ingestor/src/main.ts'], { env: { ...env, SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')) } });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (out += String(d)));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
      cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
      return { child, exited, out: () => out };
    };
    const disconnected = async () => {
      for (let i = 0; i < 200 && sim.connectedShards().length > 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(sim.connectedShards()).toHaveLength(0);
    };

    const a = start();
    await sim.waitForShardsReady(2, 60_000);
    const storm1 = sim.memberJoinStorm(sim.guildIds[0]!, 1500, { ratePerSec: 3000 });
    await new Promise((r) => setTimeout(r, 200));
    a.child.kill('SIGTERM');
    expect(await a.exited, a.out()).toEqual({ code: 0, signal: null });
    expect(a.out()).toContain('SIGTERM: stopping');
    expect(sim.gateway.closes.filter((c) => c.by === 'client').every((c) => c.code !== 1000 && c.code !== 1001)).toBe(true);
    await storm1;
    await disconnected();

    const b = start();
    await sim.waitForShardsReady(2, 60_000);
    expect(sim.gateway.identifies.filter((i) => i.outcome === 'ready')).toHaveLength(2); // resumed, no new IDENTIFY
    const storm2 = sim.memberJoinStorm(sim.guildIds[1]!, 1500, { ratePerSec: 3000 });
    await new Promise((r) => setTimeout(r, 200));
    b.child.kill('SIGKILL'); // no flush, no persist: whatever was buffered is gone from this process
    expect(await b.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await storm2;
    await disconnected();

    const c = start();
    await sim.waitForShardsReady(2, 60_000);
    const expected = sim.expectedEnvelopeIds(wanted);
    const { envelopes, messages } = await drain(queueUrl, expected.size, 5000);
    expect([...expected].filter((id) => !envelopes.has(id))).toEqual([]);
    console.log(`process signals: ${expected.size} expected (ledger), ${envelopes.size} delivered, ${messages - envelopes.size} duplicates; identifies ${sim.gateway.identifies.filter((i) => i.outcome === 'ready').length}`);
    c.child.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  });

  it('exits non-zero with one clear error on a bad token, without a reconnect loop (main.ts)', async () => {
    const sim = await DiscordSimulator.start({ shards: 1, guilds: 1 });
    cleanups.push(() => sim.stop());
    // async: the simulator answers from this process
    const child = spawn('npx', ['tsx', 'ingestor/src/main.ts'], {
      env: {
        ...process.env,
        DISCORD_TOKEN: 'bad-token-value-123',
        DISCORD_APPLICATION_ID: sim.appId,
        DISCORD_API_URL: sim.restUrl,
        EVENT_BUS_NAME: 'b',
        DEAD_LETTER_BUCKET: 'b-dead',
        HTTP_PORT: '0',
        SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const status = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    clearTimeout(timer);
    expect(status).toBe(1);
    expect(out).toMatch(/rejected the bot token/);
    expect(out).not.toContain('bad-token-value-123');
    expect(sim.requests.filter((q) => q.route === 'gateway_bot')).toHaveLength(1); // one try, no loop
  });

  it('keeps reading while the bus is unreachable for 20 s, spools to disk past the buffer, and delivers everything after', async () => {
    const sim = await DiscordSimulator.start({ shards: 1, guilds: 1, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus, queueUrl } = await busToQueue();
    // the bus is unreachable: a sender whose requests fail like a refused connection, until we let it through
    let down = true;
    const real = new DirectPutEventsSender(eb);
    cleanups.push(() => real.destroy());
    const sender = { put: (e: Parameters<typeof real.put>[0]) => (down ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'NetworkingError' })) : real.put(e)) };
    const cfg = parseIngestorConfig({
      DISCORD_TOKEN: sim.token,
      DISCORD_APPLICATION_ID: sim.appId,
      DISCORD_API_URL: sim.restUrl,
      TOTAL_SHARDS: '1',
      EVENT_BUS_NAME: bus,
      DEAD_LETTER_BUCKET: 'unused-in-this-test',
      HTTP_PORT: '0',
      SPOOL_DIR: mkdtempSync(join(tmpdir(), 'spool-')),
      BUFFER_MAX_EVENTS: '100',
      METRICS_INTERVAL_MS: '3600000',
    });
    const h = await startIngestor(cfg, { aws: localAwsConfig(), sender, emf: () => undefined, log: () => undefined });
    cleanups.push(() => h.kill());
    await sim.waitForShardsReady(1);
    // 20 s of traffic at 100 events/s while the bus is unreachable
    await sim.memberJoinStorm(sim.guildIds[0]!, 2000, { ratePerSec: 100 });
    const during = h.status();
    expect(during.shards.ready).toBe(1); // still connected to Discord, heartbeats kept
    expect(during.bufferDepth).toBeLessThanOrEqual(100);
    expect(during.spoolDepth).toBeGreaterThan(1800);
    expect(during.busReachable).toBe(false);
    expect((await fetch(`http://127.0.0.1:${h.httpPort}/ready`)).status).toBe(503);
    expect(sim.gateway.closes).toHaveLength(0);
    down = false;
    const expected = sim.expectedEnvelopeIds(wanted);
    const { envelopes } = await drain(queueUrl, expected.size, 10_000);
    expect([...expected].filter((id) => !envelopes.has(id))).toEqual([]);
    expect(h.status().spoolDepth).toBe(0);
  });

  it('refuses to start with a rejected token, saying what to fix without echoing it', async () => {
    const sim = await DiscordSimulator.start({ shards: 1, guilds: 1, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus } = await busToQueue();
    const err = await ingestor(sim, bus, { DISCORD_TOKEN: 'wrong-token-value', TOTAL_SHARDS: '1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/rejected the bot token.*DISCORD_TOKEN/);
    expect((err as Error).message).not.toContain('wrong-token-value');
  });

  it.each([[4014, 'developer portal', { GATEWAY_INTENTS: 'Guilds|GuildMembers|MessageContent' }]])('reports fatal close %i on /ready with what to fix, and does not reconnect', async (code, advice, extra) => {
    const sim = await DiscordSimulator.start({ shards: 1, guilds: 1, heartbeatIntervalMs: 1000 });
    cleanups.push(() => sim.stop());
    const { bus } = await busToQueue();
    // a wrong token fails /gateway/bot too: give the shard count so the gateway is reached
    const h = await ingestor(sim, bus, { TOTAL_SHARDS: '1', ...extra });
    const end = Date.now() + 10_000;
    while (!h.status().fatal && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const r = await fetch(`http://127.0.0.1:${h.httpPort}/ready`);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { fatal: string };
    expect(body.fatal).toContain(String(code));
    expect(body.fatal).toContain(advice);
    expect(body.fatal).not.toContain(sim.token);
    await new Promise((r) => setTimeout(r, 1000));
    expect(sim.gateway.closes.filter((c) => c.code === code)).toHaveLength(1); // no reconnect storm
  });
});
