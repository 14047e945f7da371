/**
 * The user stories end to end against the deployed local stage: simulator -> ingestor -> EventBridge
 * rules -> SQS -> the worker functions the emulator runs from their event source mappings -> Redis /
 * PostgreSQL / simulator REST. The stack is deployed with `cdk deploy` (or reused when it is up to
 * date: same context and sources), and found through its Outputs. Loss is computed from the
 * simulator's ledger and from PostgreSQL, never assumed.
 */
import { spawn } from 'node:child_process';
import { PutEventsCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeId, withOverrides } from '../../lib/contract';
import { LOCAL_OWNER_URL } from '../../db/migrate';
import { withGuild } from '../../lambdas/shared/db';
import { localAwsConfig } from '../../local/aws';
import { LOCAL_DATABASE_URL, LOCAL_TIER_OVERRIDES, startLocalPipeline, type LocalPipeline } from '../../local/pipeline/index';
import { peek, redrive } from '../../scripts/redrive';

let p: LocalPipeline;
const pool = new Pool({ connectionString: LOCAL_DATABASE_URL, max: 2 });
const owner = new Pool({ connectionString: process.env.MIGRATION_DATABASE_URL ?? LOCAL_OWNER_URL, max: 1 });

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

const memberRows = (guildId: string) => withGuild(pool, guildId, async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM members WHERE present')).rows[0]!.n));
const tier = async (name: string) => (await p.tierNumbers()).find((t) => t.tier === name)!;

const dlqScript = (args: string[]) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn('npx', ['tsx', 'scripts/dlq.ts', ...args], { env: { ...process.env, AWS_ENDPOINT_URL: localAwsConfig().endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => resolve({ code, out, err }));
  });

beforeAll(async () => {
  p = await startLocalPipeline({ shards: 2, guilds: 12, scoreLatencyMs: 2000, reuseStack: true, log: (m) => console.log(`e2e: ${m}`) });
  // the stack is reused between runs on one emulator: what an earlier run left in its queues must not count here
  for (const t of ['interactions', 'members', 'guilds'] as const) {
    for (const which of ['queue', 'dlq', 'targetDlq'] as const) await p.sqs.send(new PurgeQueueCommand({ QueueUrl: p.queueUrl(t, which) })).catch(() => undefined);
  }
  // one interaction through the whole path first: the emulator starts a function's first worker process then,
  // as Lambda does a cold start, and the user stories below measure answers inside Discord's 3 s window
  const warm = p.sim.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[0] });
  await until(() => p.sim.interactionResponses(warm.id)?.callback !== undefined, 'the warm-up interaction answered', 60_000).catch(() => console.log('e2e: the warm-up interaction was not answered in 60 s'));
}, 300_000);

afterAll(async () => {
  await owner.query('GRANT INSERT, UPDATE ON members TO gateway_worker').catch(() => undefined);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed before assigning it
  await p?.stop();
  await pool.end();
  await owner.end();
});

describe('end to end, on the deployed local stage', () => {
  it('is deployed by CloudFormation with its functions and their SQS event source mappings, as the routing table says', async () => {
    expect(p.outputs.status).toMatch(/^(CREATE|UPDATE)_COMPLETE$/);
    const mappings = await p.mappings.list();
    expect(mappings.map((m) => m.worker).sort()).toEqual(['guild', 'interaction', 'member']);
    for (const m of mappings) {
      const route = withOverrides(LOCAL_TIER_OVERRIDES)[m.worker === 'interaction' ? 'interactions' : m.worker === 'member' ? 'members' : 'guilds'];
      expect(m.state).toBe('Enabled');
      expect(m.batchSize).toBe(route.queue.batchSize);
      expect(m.maximumConcurrency).toBe(route.queue.maxConcurrency);
      expect(m.functionResponseTypes).toContain('ReportBatchItemFailures');
    }
  });

  it('defers a slow command within 3 s and follows up; answers a fast one directly (US-1)', async () => {
    const fast = p.sim.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[0] });
    const slow = p.sim.createInteraction({ commandName: 'check-eligibility', guildId: p.sim.guildIds[1] });
    await until(() => (p.sim.interactionResponses(slow.id)?.messages.length ?? 0) > 0 && !!p.sim.interactionResponses(fast.id)?.callback, 'both answers');
    const f = p.sim.interactionResponses(fast.id)!;
    expect(f.callback).toMatchObject({ type: 4, data: { content: 'Pong!' } });
    const s = p.sim.interactionResponses(slow.id)!;
    expect(s.callback?.type).toBe(5); // deferred (the simulator refuses a callback after 3 s)
    expect(s.messages[0]!.kind).toBe('edit');
    expect((s.messages[0]!.body as { content: string }).content).toMatch(/Your score is \d+/);
    // the score service took 2 s, so the edit came after it
    expect(s.messages[0]!.at - s.createdAt).toBeGreaterThanOrEqual(2000);
    expect(p.sim.requests.filter((r) => r.route === 'interaction_callback' && r.path.includes(slow.id))).toHaveLength(1);
  });

  it('stores all 1,000 members of a join storm in PostgreSQL, none lost (US-2)', async () => {
    const g = p.sim.guildIds[2]!;
    await p.sim.memberJoinStorm(g, 1000);
    await until(async () => (await memberRows(g)) === 1000, '1,000 member rows', 120_000);
    expect(await withGuild(pool, p.sim.guildIds[3]!, async (c) => (await c.query('SELECT 1 FROM members WHERE guild_id = $1', [g])).rowCount)).toBe(0);
  });

  it('keeps the ingestor connected while the member worker fails (the database refuses it), and processes everything once it recovers (US-3)', async () => {
    const g = p.sim.guildIds[4]!;
    await owner.query('REVOKE INSERT, UPDATE ON members FROM gateway_worker');
    try {
      await p.sim.memberJoinStorm(g, 200);
      // the batches were taken and failed: they wait out the visibility timeout (30 s on the local stage)
      await until(async () => (await tier('members')).inFlight >= 200, 'the failed member batches in flight', 60_000);
      expect(p.ingestor.status().shards.ready).toBe(2);
      expect(await memberRows(g)).toBe(0);
    } finally {
      await owner.query('GRANT INSERT, UPDATE ON members TO gateway_worker');
    }
    await until(async () => (await memberRows(g)) === 200, '200 member rows after recovery', 120_000);
    expect((await tier('members')).dlq).toBe(0);
  });

  it('sends a poison record from the bus to the tier DLQ with its reason, shows it with npm run dlq peek, and redrives it', async () => {
    const eb = new EventBridgeClient(localAwsConfig());
    const detail = { v: 1, id: 'not-an-envelope-id', type: 'GUILD_MEMBER_ADD' };
    const r = await eb.send(new PutEventsCommand({ Entries: [{ EventBusName: p.outputs.busName, Source: 'discord.gateway', DetailType: 'GUILD_MEMBER_ADD', Detail: JSON.stringify(detail) }] }));
    eb.destroy();
    expect(r.FailedEntryCount).toBe(0);
    await until(async () => (await tier('members')).dlq === 1, 'the poison record in the members DLQ', 60_000);
    const [msg] = await peek(p.sqs, p.queueUrl('members', 'dlq'));
    expect(msg!.reason).toBeTruthy();
    expect(msg!.receiveCount).toBe('1'); // dead-lettered by the worker on first sight, not after maxReceiveCount receives
    expect((JSON.parse(msg!.body) as { detail: unknown }).detail).toEqual(detail);
    const shown = await dlqScript(['peek', 'members']);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('found by outputs of stack DiscordGateway-dev-Local');
    expect(shown.out).toContain(`reason:   ${msg!.reason}`);
    // back to the queue unchanged: still poison, so the worker dead-letters it again
    expect(await redrive(p.sqs, p.queueUrl('members', 'dlq'), p.queueUrl('members'))).toBe(1);
    await until(async () => (await peek(p.sqs, p.queueUrl('members', 'dlq'))).some((m) => m.messageId !== msg!.messageId), 'the redriven record dead-lettered again', 60_000);
    await p.sqs.send(new PurgeQueueCommand({ QueueUrl: p.queueUrl('members', 'dlq') }));
  });

  it('answers interactions within the window while the members queue holds a backlog of 10,000 (priority)', async () => {
    await p.mappings.setEnabled('member', false);
    try {
      await p.sim.memberJoinStorm(p.sim.guildIds[7]!, 10_000);
      await until(async () => (await tier('members')).visible >= 9_000, 'a backlog of about 10,000 member events', 120_000);
      const ixs: ReturnType<typeof p.sim.createInteraction>[] = [];
      for (let i = 0; i < 5; i++) {
        ixs.push(p.sim.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[i] }));
        await new Promise((r) => setTimeout(r, 200));
      }
      await until(() => ixs.every((ix) => p.sim.interactionResponses(ix.id)?.callback), 'the 5 callbacks', 30_000);
      console.log(`interaction callback latency with a 10,000-event members backlog: ${ixs.map((ix) => p.sim.interactionResponses(ix.id)!.callback!.at - ix.createdAt).join(', ')} ms`);
      // the simulator refuses callbacks after 3 s (10062): each one was accepted in time
      for (const ix of ixs) expect(p.sim.interactionResponses(ix.id)!.callback!.type).toBe(4);
      expect((await tier('members')).visible).toBeGreaterThanOrEqual(9_000);
    } finally {
      await p.sqs.send(new PurgeQueueCommand({ QueueUrl: p.queueUrl('members') }));
      await p.mappings.setEnabled('member', true);
    }
  });

  it('carries a 300 KB GUILD_CREATE through the claim check: stored in S3 by the ingestor, loaded and processed by the guild worker', async () => {
    const g = p.sim.guildIds[11]!;
    const before = p.ingestor.metrics.claimChecked;
    const seq = p.sim.bigGuildCreate(g, 300_000)!;
    const entry = p.sim.gateway.ledger.find((e) => e.seq === seq && e.type === 'GUILD_CREATE' && e.sentAt !== undefined)!;
    const id = envelopeId(p.sim.appId, entry.shardId, entry.sessionId, entry.seq);
    const processed = () => withGuild(pool, g, async (c) => (await c.query('SELECT 1 FROM processed_events WHERE event_id = $1', [id])).rowCount === 1);
    await until(processed, 'the claim-checked GUILD_CREATE processed by the guild worker', 60_000);
    expect(p.ingestor.metrics.claimChecked).toBe(before + 1);
    expect((await tier('guilds')).dlq).toBe(0);
  });

  it('loses nothing end to end when the ingestor is killed and restarted mid-stream', async () => {
    const g = p.sim.guildIds[6]!;
    const storm = p.sim.memberJoinStorm(g, 1500, { ratePerSec: 3000 });
    await new Promise((r) => setTimeout(r, 100));
    await p.ingestor.kill();
    await storm;
    await p.startIngestor();
    await p.sim.waitForShardsReady(2);
    await until(async () => (await memberRows(g)) === 1500, '1,500 member rows', 120_000);
    expect(await memberRows(g)).toBe(1500);
  });
});
