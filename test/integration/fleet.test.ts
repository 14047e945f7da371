/**
 * The ingestor fleet with real processes (each in its own process group), two Discord applications
 * (two simulators: 16 and 4 shards), Redis with a password and the AWS endpoint. One world, phases in
 * order: three tasks share the shards; one is SIGKILLed; one is paused past its lease; every task is
 * replaced one by one while events flow; an application is removed and added back with the CLI.
 * Loss is counted from the simulators' ledgers against what the bus delivered.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envelopeId, EVENT_SOURCE } from '../../lib/contract';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { localIngestorEnv, startIngestorProcess, type IngestorProcess } from '../../local/chaos/ingestor-process';
import { drainQueue, freePort, sleep, wanted } from '../../local/chaos/world';
import { percentile } from '../../local/latency';
import { redisAuthClient } from '../../local/redis-auth';
import { DiscordSimulator } from '../../local/simulator';
import { appsCli } from './apps-cli';

const aws = localAwsConfig();
const sqs = new SQSClient(localSqsConfig());
const tag = randomUUID().slice(0, 8);
const ns = `fleet-${tag}`;
const LEASE_TTL_MS = 3000;
let simA: DiscordSimulator;
let simB: DiscordSimulator;
let queueUrl: string;
let baseEnv: Record<string, string>;
const procs: IngestorProcess[] = [];
const delivered = new Map<string, number>();

async function task(name: string): Promise<IngestorProcess> {
  const p = startIngestorProcess({ ...baseEnv, TASK_ID: name, HTTP_PORT: String(await freePort()), SPOOL_DIR: mkdtempSync(join(tmpdir(), 'fleet-spool-')) });
  procs.push(p);
  return p;
}

/** Every (app, shard) connected once, across the tasks: the simulators' view, and the tasks' own. */
async function allOwned(live: IngestorProcess[], timeoutMs = 60_000): Promise<Record<string, string[]>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const owned: Record<string, string[]> = {};
    let ready = 0;
    for (const p of live) {
      const r = await p.ready();
      if (!r) continue;
      for (const [k, st] of Object.entries(r.shards.states)) {
        (owned[k] ??= []).push((r as unknown as { fleet: { taskId: string } }).fleet.taskId);
        if (st === 'ready') ready++;
      }
    }
    if (ready === 20 && Object.keys(owned).length === 20 && simA.connectedShards().length === 16 && simB.connectedShards().length === 4) return owned;
    if (Date.now() > end) throw new Error(`not every shard owned and READY: ${JSON.stringify(owned)}; sim A ${simA.connectedShards().length}/16, B ${simB.connectedShards().length}/4`);
    await sleep(200);
  }
}

/** Events at about `rate`/s on both applications until `stop()`. */
function traffic(rate: number) {
  let on = true;
  const loop = async () => {
    let i = 0;
    while (on) {
      const sim = i % 5 === 4 ? simB : simA;
      const g = sim.guildIds[i % sim.guildIds.length]!;
      sim.dispatch('GUILD_MEMBER_ADD', sim.memberPayload(g, String(800000000000000000n + BigInt(i))));
      i++;
      if (i % 10 === 0) await sleep(10_000 / rate);
    }
    return i;
  };
  const run = loop();
  return {
    stop: () => {
      on = false;
      return run;
    },
  };
}

const drainDelivered = () => drainQueue(sqs, queueUrl, 4000, delivered);

const lost = () => [...simA.expectedEnvelopeIds(wanted), ...simB.expectedEnvelopeIds(wanted)].filter((id) => !delivered.has(id));
/** what the ledger says of lost envelope ids, for the failure message */
const describeLost = () => {
  const ids = new Set(lost());
  return [simA, simB].flatMap((sim) => sim.gateway.ledger.filter((e) => e.sentAt !== undefined && ids.has(envelopeId(sim.appId, e.shardId, e.sessionId, e.seq))).map((e) => ({ app: sim.appId.slice(0, 3), ...e })));
};
const violations = () => [...simA.gateway.identifies, ...simB.gateway.identifies].filter((i) => i.outcome === 'rate-limited').length;
const identified = () => [...simA.gateway.identifies, ...simB.gateway.identifies].filter((i) => i.outcome === 'ready').length;
/**
 * IDENTIFYs Discord forced: a connection that missed heartbeats (a task starved of CPU on a loaded
 * machine) is closed with 4009, which tells the client to start a new session. Each such close that an
 * IDENTIFY of the same shard followed accounts for one (a paused task's closes are followed by the new
 * owner's RESUME instead, and count for none).
 */
const forced = () =>
  [simA, simB].reduce((n, sim) => {
    const ready = sim.gateway.identifies.filter((i) => i.outcome === 'ready');
    const zombies = sim.gateway.closes.filter((c) => c.by === 'server' && c.code === 4009 && c.reason === 'heartbeat missed');
    return n + zombies.filter((c) => ready.some((i) => i.shardId === c.shardId && i.at >= c.at)).length;
  }, 0);

beforeAll(async () => {
  const appA = String(300000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
  const appB = String(400000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
  simA = await DiscordSimulator.start({ appId: appA, shards: 16, guilds: 32, maxConcurrency: 16, heartbeatIntervalMs: 1000, sessionTtlMs: 600_000 });
  simB = await DiscordSimulator.start({ appId: appB, shards: 4, guilds: 8, maxConcurrency: 4, heartbeatIntervalMs: 1000, sessionTtlMs: 600_000 });
  const eb = new EventBridgeClient(aws);
  const s3 = new S3Client(aws);
  const bus = `fleet-${tag}`;
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `fleet-${tag}` }))).QueueUrl!;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await eb.send(new PutRuleCommand({ Name: `all-${tag}`, EventBusName: bus, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
  await eb.send(new PutTargetsCommand({ Rule: `all-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn }] }));
  await s3.send(new CreateBucketCommand({ Bucket: `fleet-${tag}` }));
  eb.destroy();
  s3.destroy();
  baseEnv = {
    DISCORD_TOKEN: simA.token,
    DISCORD_APPLICATION_ID: appA,
    DISCORD_API_URL: simA.restUrl,
    EVENT_BUS_NAME: bus,
    CLAIM_CHECK_BUCKET: `fleet-${tag}`,
    ...(await localIngestorEnv(ns)),
    SHARDS_PER_TASK: '10',
    LEASE_TTL_MS: String(LEASE_TTL_MS),
    REGISTRY_REFRESH_MS: '500',
  };
  // the second application, as the operator adds it: through the CLI, into the registry
  expect(apps(['add', '--app-id', appB, '--token', simB.token, '--api-url', simB.restUrl, '--shards', '4'])).toMatch(/^added /);
});

afterAll(async () => {
  for (const p of procs) p.signal('SIGKILL');
  const redis = redisAuthClient();
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed before assigning it
  await simA?.stop();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed before assigning it
  await simB?.stop();
});

/** `npm run apps` as the operator runs it, against the AUTH Redis */
function apps(args: string[]): string {
  return appsCli(baseEnv, ns, args);
}

describe('the ingestor fleet', () => {
  let live: IngestorProcess[] = [];
  /** a paused task is continued whatever happens, so later phases can stop it */
  const resumeLater: IngestorProcess[] = [];
  afterEach(() => resumeLater.splice(0).forEach((p) => p.signal('SIGCONT')));

  it('three tasks, two applications (16 + 4 shards): every shard READY and owned by one task, no identify-limit violation', async () => {
    live = await Promise.all(['t1', 't2', 't3'].map(task));
    const owned = await allOwned(live);
    expect(Object.values(owned).every((owners) => owners.length === 1)).toBe(true);
    expect(identified()).toBe(20); // one IDENTIFY per shard, none twice
    expect(violations()).toBe(0);
    // no task took a session from another (Discord closes the other connection when that happens)
    expect([...simA.gateway.closes, ...simB.gateway.closes].filter((c) => c.by === 'server')).toEqual([]);
  });

  it("a SIGKILLed task's shards are resumed by the others once its leases expire: lost 0", async () => {
    const flow = traffic(500);
    await sleep(500);
    const victim = (await Promise.all(live.map(async (p) => ({ p, n: (await p.ready())?.shards.total ?? 0 })))).sort((a, b) => b.n - a.n)[0]!;
    const killedAt = Date.now();
    victim.p.signal('SIGKILL');
    await victim.p.exited;
    live = live.filter((p) => p !== victim.p);
    await allOwned(live, 30_000);
    const tookOver = Date.now() - killedAt;
    await flow.stop();
    for (const p of live) await waitIdle(p);
    await drainDelivered();
    const dl = describeLost();
    expect(dl).toEqual([]);
    expect(identified() - forced()).toBe(20); // resumed, not identified
    console.info(`SIGKILL of a task holding ${victim.n} shards: all owned and READY again ${tookOver} ms later (lease TTL ${LEASE_TTL_MS} ms)`);
    live.push(await task('t4'));
  });

  it('a task paused (SIGSTOP) past its lease TTL and continued publishes nothing for the shards it lost and writes no resume point for them', async () => {
    await allOwned(live);
    for (const p of live) for (let i = 0; i < 100 && !(await p.ready()); i++) await sleep(100);
    const owners = await Promise.all(live.map(async (p) => ({ p, n: (await p.ready())!.shards.total })));
    const victim = { p: owners.filter((x) => x.n > 0).sort((a, b) => b.n - a.n)[0]!.p, r: undefined as unknown as NonNullable<Awaited<ReturnType<IngestorProcess['ready']>>> };
    // nothing in flight at the pause, so what it published before is exact; events keep coming during the pause
    await waitIdle(victim.p);
    victim.r = (await victim.p.ready())!;
    victim.p.signal('SIGSTOP');
    resumeLater.push(victim.p);
    const flow = traffic(500);
    const others = live.filter((p) => p !== victim.p);
    await sleep(LEASE_TTL_MS + 500);
    await allOwned(others, 30_000);
    // the resume points the new owners write, sampled: they must never move backwards after the pause ends
    const redis = redisAuthClient();
    const points = async () => Object.fromEntries(await Promise.all((await redis.keys(`${ns}:*:shard:*`)).map(async (k) => [k, (JSON.parse((await redis.get(k)) ?? '{}') as { sequence?: number }).sequence ?? -1] as const)));
    const before = await points();
    victim.p.signal('SIGCONT');
    resumeLater.length = 0;
    await sleep(2500);
    const after = await points();
    redis.disconnect();
    const r = await victim.p.ready();
    await flow.stop();
    expect(r?.shards.total).toBe(0); // it let go of every shard
    expect(r?.counters.published).toBe(victim.r.counters.published); // and published nothing more
    console.info(`SIGSTOP past the lease: after SIGCONT the task held ${r?.shards.total} shards, published ${r!.counters.published - victim.r.counters.published} more, discarded ${(r?.counters as { discarded?: number }).discarded ?? 0} entries of shards it had lost`);
    expect(Object.entries(after).filter(([k, seq]) => (before[k] ?? -1) > seq)).toEqual([]); // no resume point went back
    for (const p of others) await waitIdle(p);
    await drainDelivered();
    expect(lost()).toEqual([]);
  });

  it('a rolling replacement of every task while events flow: lost 0, every shard resumed (not identified), offline window per shard', async () => {
    await allOwned(live);
    const flow = traffic(1000);
    const closesBefore = [...simA.gateway.closes, ...simB.gateway.closes].length;
    const resumesBefore = [...simA.gateway.resumes, ...simB.gateway.resumes].length;
    for (const [i, old] of [...live].entries()) {
      const fresh = await task(`r${i}`);
      for (let k = 0; k < 100 && !(await fresh.ready()); k++) await sleep(100); // the new task answers (ECS: healthy)
      old.signal('SIGTERM'); // ECS stops the old task: it hands its shards off one at a time
      expect((await old.exited).code).toBe(0);
      live = live.map((p) => (p === old ? fresh : p));
      await allOwned(live, 60_000);
    }
    await flow.stop();
    for (const p of live) await waitIdle(p);
    await drainDelivered();
    expect(lost()).toEqual([]);
    expect(identified() - forced()).toBe(20);
    expect(violations()).toBe(0);
    // offline window: the old owner's resumable close -> the new owner's RESUME of the same shard
    const windows: number[] = [];
    for (const sim of [simA, simB]) {
      const closes = sim.gateway.closes.filter((c) => c.by === 'client' && c.code === 4000);
      for (const r of sim.gateway.resumes.filter((x) => x.outcome === 'resumed')) {
        const c = closes.filter((x) => x.shardId === r.shardId && x.at <= r.at).at(-1);
        if (c) windows.push(r.at - c.at);
      }
    }
    expect(windows.length).toBeGreaterThanOrEqual(20);
    console.info(
      `rolling replacement of ${live.length} tasks at 1,000 events/s: ${[...simA.gateway.closes, ...simB.gateway.closes].length - closesBefore} closes, ${[...simA.gateway.resumes, ...simB.gateway.resumes].length - resumesBefore} resumes; offline window per shard p50 ${percentile(windows, 50)} ms, p99 ${percentile(windows, 99)} ms, max ${Math.max(...windows)} ms; ${delivered.size} events delivered`,
    );
  });

  it('an application removed and added back at run time with npm run apps, without restarting anything', async () => {
    const since = Date.now();
    expect(apps(['list'])).toContain(simB.appId);
    expect(apps(['remove', '--app-id', simB.appId])).toMatch(/^removed /);
    for (let i = 0; i < 100 && simB.connectedShards().length > 0; i++) await sleep(100);
    // on failure: what each task logged about the application since
    const told = () =>
      live
        .map((t) =>
          t
            .output()
            .split('\n')
            .filter((l) => l.includes(simB.appId) && !l.includes('"level":"debug"'))
            .slice(-8)
            .join('\n'),
        )
        .join('\n---\n');
    expect(simB.connectedShards(), told()).toEqual([]);
    expect(simB.gateway.closes.filter((c) => c.by === 'client' && (c.code === 1000 || c.code === 1001))).toEqual([]); // resumable closes only
    expect(apps(['add', '--app-id', simB.appId, '--token', simB.token, '--api-url', simB.restUrl, '--shards', '4'])).toMatch(/^added /);
    await allOwned(live, 30_000);
    // on failure: why a shard identified in this phase (the simulators' identify, refused resume and close records)
    const phase = Object.fromEntries(
      [simA, simB].map((sim, i) => [
        i === 0 ? 'A' : 'B',
        {
          identifies: sim.gateway.identifies.filter((x) => x.at >= since),
          refusedResumes: sim.gateway.resumes.filter((x) => x.at >= since && x.outcome !== 'resumed'),
          closes: sim.gateway.closes.filter((x) => x.at >= since).map((c) => [c.shardId, c.by, c.code, c.reason]),
        },
      ]),
    );
    expect(identified() - forced(), JSON.stringify(phase)).toBe(20); // the sessions were kept: RESUMEd, not identified
  });
});

async function waitIdle(p: IngestorProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const r = await p.ready();
    if (r && r.bufferDepth === 0 && r.spoolDepth === 0 && r.inFlight === 0) return;
    await sleep(100);
  }
}
