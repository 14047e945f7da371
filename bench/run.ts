/**
 * `npm run bench`: what the system exists for, measured side by side in one run, printed as one table
 * (ours | reference | ratio) and written to bench/results/latest.json. Benchmarks never fail on
 * numbers. Each row says what it compares; see docs/benchmarks.md.
 */
import { execSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { Inflate, Z_SYNC_FLUSH } from 'zlib-sync';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { parseIngestorConfig } from '../ingestor/src/config';
import { CompressionMethod } from '@discordjs/ws';
import { startIngestor, type IngestorHandle } from '../ingestor/src/main';
import { LatencyRecorder, percentile } from '../local/latency';
import { required } from '../local/required';
import { createEventBridgeClient, EventBridgeSender } from './lib/sdk-put-events';
import { ingestorMallocEnv, ingestorNodeOptions } from '../lib/contract';
import { ASSUMED_BATCH_MS, costOf, costWithoutFilter, type CostInput } from '../scripts/ops/cost-model';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const QUICK = process.argv.includes('--quick');
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const step = (name: string) => !ONLY || ONLY.split(',').includes(name);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = percentile;

interface Row {
  measure: string;
  ours: number;
  reference: number | null;
  referenceName: string;
  ratio: number | null;
  unit: string;
  note?: string;
}
const rows: Row[] = [];
const row = (measure: string, ours: number, reference: number | null, referenceName: string, unit: string, note?: string) =>
  rows.push({ measure, ours: Math.round(ours * 100) / 100, reference: reference === null ? null : Math.round(reference * 100) / 100, referenceName, ratio: reference ? Math.round((ours / reference) * 100) / 100 : null, unit, note });

// ---------- a child with the simulator and a local PutEvents endpoint ----------
interface SimChild {
  child: ChildProcess;
  restUrl: string;
  token: string;
  appId: string;
  ebUrl: string;
  call(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
}
/** the first message of bench/lib/sim-child.ts */
interface SimReady {
  restUrl: string;
  token: string;
  appId: string;
  ebUrl: string;
}
async function simChild(opts: { shards: number; guilds: number; putLatencyMs?: number; channels?: number; roles?: number; members?: number }): Promise<SimChild> {
  const child = fork(join(__dirname, 'lib', 'sim-child.ts'), [JSON.stringify(opts)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<SimReady>((r) => child.once('message', (m) => r(m as SimReady)));
  let id = 0;
  return {
    child,
    restUrl: ready.restUrl,
    token: ready.token,
    appId: ready.appId,
    ebUrl: ready.ebUrl,
    call: (msg) =>
      new Promise((resolve) => {
        const my = ++id;
        const on = (m: Record<string, unknown>) => {
          if (m.id === my) {
            child.off('message', on);
            resolve(m);
          }
        };
        child.on('message', on);
        child.send({ ...msg, id: my });
      }),
  };
}

/** publish latencies of the ingestor under measurement (its onPublished hook) */
const latencies = new LatencyRecorder();

/** The ingestor's settings against the bench's simulator and bus (in this process or as the bundle). */
function benchIngestorEnv(s: SimChild, shards: number, httpPort: string): Record<string, string> {
  return {
    DISCORD_TOKEN: s.token,
    DISCORD_APPLICATION_ID: s.appId,
    DISCORD_API_URL: s.restUrl,
    TOTAL_SHARDS: String(shards),
    EVENT_BUS_NAME: 'bench',
    DEAD_LETTER_BUCKET: 'bench-dead-letters',
    HTTP_PORT: httpPort,
    SPOOL_DIR: mkdtempSync(join(tmpdir(), 'bench-')),
    METRICS_INTERVAL_MS: '3600000',
  };
}

/**
 * Our ingestor against the bench endpoint. `offTheShelf` injects the comparison path: the SDK's
 * PutEventsCommand instead of the direct sender, node:zlib's stream instead of zlib-sync.
 */
async function ourIngestor(s: SimChild, shards: number, env: Record<string, string> = {}, offTheShelf = false): Promise<IngestorHandle> {
  const aws = { endpoint: s.ebUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return startIngestor(parseIngestorConfig({ ...env, ...benchIngestorEnv(s, shards, '0'), BUFFER_MAX_EVENTS: '200000' }), {
    aws,
    emf: () => undefined,
    log: () => undefined,
    onPublished: latencies.record,
    ...(offTheShelf ? { sender: new EventBridgeSender(createEventBridgeClient(aws)), compression: CompressionMethod.ZlibNative } : {}),
  });
}

const waitPublished = async (h: IngestorHandle, target: number, ms = 120_000) => {
  const end = Date.now() + ms;
  while (h.metrics.published < target && Date.now() < end) await sleep(5);
};

// ---------- 1. throughput per core vs the cost floor ----------
async function frames(n: number, size: number): Promise<Buffer[]> {
  const d = zlib.createDeflate();
  const out: Buffer[] = [];
  let cur: Buffer[] = [];
  d.on('data', (c: Buffer) => cur.push(c));
  const pad = 'x'.repeat(Math.max(0, size - 250));
  for (let i = 0; i < n; i++) {
    const payload = { op: 0, s: i + 1, t: 'GUILD_MEMBER_ADD', d: { guild_id: '200000000000000001', user: { id: String(600000000000000000n + BigInt(i)), username: `user${i}` }, nick: pad, roles: [], joined_at: new Date().toISOString() } };
    d.write(JSON.stringify(payload));
    await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    out.push(Buffer.concat(cur));
    cur = [];
  }
  return out;
}

function floorRate(fr: Buffer[]): number {
  // inflate (one context, like zlib-stream; zlib-sync, the inflater our ingestor uses) +
  // JSON.parse + JSON.stringify, nothing else, in one synchronous loop
  const inf = new Inflate({ chunkSize: 65535, to: 'string' });
  const c0 = process.cpuUsage();
  for (const f of fr) {
    inf.push(f, Z_SYNC_FLUSH);
    if (inf.err) throw new Error(`inflate failed: ${inf.err}`);
    if (typeof inf.result !== 'string') throw new Error('zlib-sync gave no string (to: string)');
    const obj = JSON.parse(inf.result) as { d?: unknown };
    JSON.stringify(obj.d);
  }
  const c = process.cpuUsage(c0);
  return fr.length / ((c.user + c.system) / 1e6);
}

/** PutEvents round trip of the local endpoint in the throughput rows (in-region PutEvents takes ms, loopback far less) */
const PUT_LATENCY_MS = 15;

/** CPU rate of one ingestor over a storm of n events of `size` bytes, and the wall rate */
async function stormRate(s: SimChild, h: IngestorHandle, n: number, size: number): Promise<{ perCore: number; wall: number }> {
  const before = h.metrics.published;
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await s.call({ cmd: 'storm', n, size });
  await waitPublished(h, before + n);
  const c = process.cpuUsage(c0);
  return { perCore: n / ((c.user + c.system) / 1e6), wall: n / ((Date.now() - t0) / 1000) };
}

/**
 * Per-core rate of a warm ingestor: the median of `runs` storms. A long-running ingestor is always
 * warm; the first ~20,000 events of a process run through V8's lower tiers (measured: the first
 * storm after start reached 60-75 % of the later ones), so each path gets a warm-up storm first.
 */
async function warmRate(s: SimChild, h: IngestorHandle, n: number, size: number, runs: number): Promise<{ perCore: number; wall: number; all: number[] }> {
  const rs: Array<{ perCore: number; wall: number }> = [];
  for (let i = 0; i < runs; i++) {
    const r = await stormRate(s, h, n, size);
    rs.push(r);
    log(`  storm ${i + 1}/${runs}, ${size} B: ${Math.round(r.perCore)}/s/core, ${Math.round(r.wall)}/s wall`);
  }
  rs.sort((a, b) => a.perCore - b.perCore);
  const mid = required(rs[Math.floor(rs.length / 2)], 'the median storm (runs >= 1)');
  return { ...mid, all: rs.map((r) => Math.round(r.perCore)) };
}

const WARM_UP_EVENTS = 20_000;

async function throughput() {
  const s = await simChild({ shards: 1, guilds: 1, putLatencyMs: PUT_LATENCY_MS });
  const h = await ourIngestor(s, 1);
  await s.call({ cmd: 'ready-shards', n: 1 });
  await waitPublished(h, 1);
  await stormRate(s, h, QUICK ? 5000 : WARM_UP_EVENTS, 500); // warm-up (JIT, sockets)
  let ours500 = 0;
  const runs = QUICK ? 1 : 3;
  for (const [size, n] of (QUICK
    ? [[500, 5000]]
    : [
        [500, 30_000],
        [4_000, 15_000],
        [16_000, 5_000],
      ]) as Array<[number, number]>) {
    const r = await warmRate(s, h, n, size, runs);
    if (size === 500) ours500 = r.perCore;
    const floor = floorRate(await frames(Math.min(n, 10_000), size));
    const st = (await s.call({ cmd: 'stats' })) as { accepted: number; requests: number; connections: number };
    row(
      `ingestor throughput, ${size} B events`,
      r.perCore,
      floor,
      'inflate+parse+stringify floor (zlib-sync)',
      'events/s/core',
      `median of ${runs} storms of ${n.toLocaleString('en')} (${r.all.join(', ')}); ${Math.round(r.wall)} events/s wall, ${(st.accepted / st.requests).toFixed(1)} entries per PutEvents over ${st.connections} keep-alive connections, endpoint answers in ${PUT_LATENCY_MS} ms`,
    );
    log(`throughput ${size} B: ${Math.round(r.perCore)}/s/core (${r.all.join(', ')}) vs floor ${Math.round(floor)}/s/core`);
  }
  {
    // the same ingestor on the off-the-shelf path: the SDK's PutEventsCommand and node:zlib's stream inflate
    const s2 = await simChild({ shards: 1, guilds: 1, putLatencyMs: PUT_LATENCY_MS });
    const h2 = await ourIngestor(s2, 1, {}, true);
    await s2.call({ cmd: 'ready-shards', n: 1 });
    await waitPublished(h2, 1);
    await stormRate(s2, h2, QUICK ? 5000 : WARM_UP_EVENTS, 500);
    const r2 = await warmRate(s2, h2, QUICK ? 5000 : 15_000, 500, runs);
    row(
      'ingestor throughput, 500 B events, our path vs SDK PutEventsCommand + node:zlib',
      ours500,
      r2.perCore,
      'SDK PutEventsCommand + node:zlib (bench/lib/sdk-put-events.ts)',
      'events/s/core',
      `median of ${runs} storms each, same warm-up; SDK + node:zlib path ${r2.all.join(', ')}, ${Math.round(r2.wall)} events/s wall`,
    );
    log(`throughput 500 B on SDK + node:zlib: ${Math.round(r2.perCore)}/s/core (${r2.all.join(', ')})`);
    await h2.kill();
    s2.child.send({ cmd: 'stop' });
    await new Promise((r) => s2.child.once('exit', r));
  }
  // ---------- 3. publish latency at low and high load ----------
  for (const [name, rate, n] of (QUICK
    ? [
        ['low (20/s)', 20, 40],
        ['high (5,000/s)', 5000, 5000],
      ]
    : [
        ['low (20/s)', 20, 100],
        ['high (5,000/s)', 5000, 20_000],
      ]) as Array<[string, number, number]>) {
    latencies.reset();
    const before = h.metrics.published;
    await s.call({ cmd: 'storm', n, size: 500, rate });
    await waitPublished(h, before + n);
    const p = latencies.percentiles();
    // the reference is the floor: the endpoint's own answer time, which no publisher can beat
    row(`publish latency p50, ${name}`, p.p50, PUT_LATENCY_MS, 'PutEvents round trip alone (the floor)', 'ms', 'frame received -> PutEvents accepted');
    row(`publish latency p99, ${name}`, p.p99, PUT_LATENCY_MS, 'PutEvents round trip alone (the floor)', 'ms', 'frame received -> PutEvents accepted');
    log(`latency ${name}: p50 ${p.p50} ms, p99 ${p.p99} ms`);
  }
  await h.kill();
  s.child.send({ cmd: 'stop' });
  await new Promise((r) => s.child.once('exit', r));
}

// ---------- 2. memory: ours vs the discord.js Client ----------
// Both as they run in production: our ingestor from its esbuild bundle (ingestor/dist/main.js, what the
// image runs), discord.js from plain JavaScript; no TypeScript loader in either process.
/** A modest real guild: 20 channels, 10 roles, 25 members listed inline (real bots see far more in big guilds) */
const GUILD_SHAPE = { channels: 20, roles: 10, members: 25 };

/** a process's RSS and its private (anonymous) and file-backed parts, MiB, from /proc/<pid>/status */
function procMem(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: mib('VmRSS'), anon: mib('RssAnon'), file: mib('RssFile') };
}

/** MiB */
interface MemResult {
  rss: number;
  heap: number;
  /** RSS without the node executable's file-backed pages */
  anon: number;
  file: number;
  peak?: number;
}

async function rss(kind: 'ours' | 'discordjs', guilds: number, shards: number): Promise<MemResult> {
  const s = await simChild({ shards, guilds, ...GUILD_SHAPE });
  let result: MemResult;
  if (kind === 'discordjs') {
    // the same glibc malloc settings as ours, so the allocator is not the difference
    const child = fork(join(__dirname, 'lib', 'rss-discordjs.mjs'), [s.restUrl, s.token, s.appId, String(guilds), String(shards)], { execArgv: ['--expose-gc'], env: { ...process.env, ...ingestorMallocEnv() }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // it reports its heap after gc() and waits: its memory is read here, the same way as ours
    const { heap } = await new Promise<{ heap: number }>((resolve, reject) => {
      child.once('message', (x) => resolve(x as { heap: number }));
      child.once('exit', (code) => (code ? reject(new Error(`discord.js child exited ${code}`)) : undefined));
    });
    result = { heap: heap / 1048576, ...procMem(required(child.pid, 'the discord.js child pid')) };
    child.kill();
  } else {
    // --inspect on a free loopback port: the bench asks for a full GC through the inspector before it
    // reads RSS, as the discord.js child calls gc() itself; nothing in the ingestor changes for it
    // with the flags and malloc settings the CDK task gives it (512 MiB task)
    const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', ...ingestorNodeOptions(512).split(' '), join(__dirname, '..', 'ingestor', 'dist', 'main.js')], {
      env: {
        ...process.env,
        ...ingestorMallocEnv(),
        ...benchIngestorEnv(s, shards, '18099'),
        AWS_ENDPOINT_URL: s.ebUrl,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const pid = required(child.pid, 'the ingestor pid');
    const inspectorUrl = new Promise<string>((resolve) => {
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        const url = /Debugger listening on (ws:\/\/\S+)/.exec(err)?.[1];
        if (url) resolve(url);
      });
    });
    let peak = 0;
    const end = Date.now() + 120_000;
    for (;;) {
      const st = (await fetch('http://127.0.0.1:18099/ready')
        .then((r) => r.json())
        .catch(() => ({}))) as { guilds?: number; bufferDepth?: number };
      peak = Math.max(peak, procMem(pid).rss);
      if ((st.guilds ?? 0) >= guilds && st.bufferDepth === 0) break;
      if (Date.now() > end) throw new Error('our ingestor did not get every guild in 120 s');
      await sleep(200);
    }
    await sleep(1500);
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(await inspectorUrl);
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    await new Promise((r) => ws.once('message', r));
    await sleep(300);
    // heap in use, from V8 itself through the same inspector session
    ws.send(JSON.stringify({ id: 2, method: 'Runtime.getHeapUsage' }));
    const usage = JSON.parse(String(await new Promise((r) => ws.once('message', r)))) as { result?: { usedSize?: number } };
    ws.close();
    const heap = usage.result?.usedSize ?? NaN;
    result = { heap: heap / 1048576, ...procMem(pid), peak };
    child.kill('SIGKILL');
  }
  s.child.send({ cmd: 'stop' });
  await new Promise((r) => s.child.once('exit', r));
  return result;
}

async function memory() {
  const sizes = QUICK ? [1000] : [1000, 5000, 10_000];
  const at: Array<{ o: MemResult; d: MemResult }> = [];
  for (const g of sizes) {
    const o = await rss('ours', g, 4);
    const d = await rss('discordjs', g, 4);
    row(
      `RSS at ${g.toLocaleString('en')} guilds (20 channels, 10 roles, 25 members each), 4 shards`,
      o.rss,
      d.rss,
      'discord.js Client, default caches',
      'MiB',
      `both after a full GC; discord.js / ours = ${(d.rss / o.rss).toFixed(1)}x; heap in use: ours ${o.heap.toFixed(0)} MiB, discord.js ${d.heap.toFixed(0)} MiB; our peak RSS during the GUILD_CREATE burst ${o.peak?.toFixed(0)} MiB`,
    );
    log(`rss ${g}: ours ${o.rss.toFixed(0)} MiB (heap ${o.heap.toFixed(0)}), discord.js ${d.rss.toFixed(0)} MiB (heap ${d.heap.toFixed(0)})`);
    at.push({ o, d });
  }
  const first = required(at[0], 'the first memory run');
  const last = required(at.at(-1), 'the last memory run');
  row(
    `private (anonymous) RSS at ${required(sizes.at(-1), 'a guild count').toLocaleString('en')} guilds, 4 shards`,
    last.o.anon,
    last.d.anon,
    'discord.js Client, default caches',
    'MiB',
    `RSS without the node executable's file-backed pages (RssFile: ours ${last.o.file.toFixed(0)} MiB, discord.js ${last.d.file.toFixed(0)} MiB: the same binary, shared by every node process on a host); discord.js / ours = ${(last.d.anon / last.o.anon).toFixed(1)}x`,
  );
  if (!QUICK) {
    row('RSS added per 1,000 guilds (1,000 -> 10,000 guilds)', (last.o.rss - first.o.rss) / 9, (last.d.rss - first.d.rss) / 9, 'discord.js Client, default caches', 'MiB', 'flat in guild count means close to 0');
    const o8 = await rss('ours', 10_000, 8);
    const d8 = await rss('discordjs', 10_000, 8);
    row(
      'RSS per added shard (10,000 guilds, 4 -> 8 shards)',
      (o8.rss - last.o.rss) / 4,
      (d8.rss - last.d.rss) / 4,
      'discord.js Client, default caches',
      'MiB/shard',
      `differences of two runs (a MiB or two of run-to-run noise either way); heap in use per added shard: ours ${((o8.heap - last.o.heap) / 4).toFixed(2)} MiB, discord.js ${((d8.heap - last.d.heap) / 4).toFixed(2)} MiB`,
    );
    log(`8 shards: ours heap ${o8.heap.toFixed(1)} MiB rss ${o8.rss.toFixed(0)}; discord.js heap ${d8.heap.toFixed(1)} rss ${d8.rss.toFixed(0)}`);
  }
}

// ---------- 4. end to end: interaction created -> callback, idle and with a members backlog ----------
async function endToEnd() {
  // loaded here: it brings aws-cdk-lib (the local stage), which the other rows do not need
  const { startLocalPipeline } = await import('../local/pipeline/index.js');
  const p = await startLocalPipeline({ shards: 2, guilds: 20, scoreLatencyMs: 200 });
  const measure = async (n: number) => {
    const ixs: ReturnType<typeof p.sim.createInteraction>[] = [];
    for (let i = 0; i < n; i++) {
      ixs.push(p.sim.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[i % 20] }));
      await sleep(200);
    }
    const end = Date.now() + 15_000;
    while (Date.now() < end && !ixs.every((ix) => p.sim.interactionResponses(ix.id)?.callback)) await sleep(50);
    return ixs.map((ix) => {
      const at = p.sim.interactionResponses(ix.id)?.callback?.at;
      return at ? at - ix.createdAt : 15_000;
    });
  };
  await sleep(3000);
  await measure(5); // warm-up: first calls pay connection setup and JIT in every hop; not counted
  const idle = await measure(QUICK ? 5 : 20);
  await p.mappings.setEnabled('member', false);
  const backlog = QUICK ? 2000 : 10_000;
  await p.sim.memberJoinStorm(required(p.sim.guildIds[0], 'a guild of the simulator'), backlog);
  const end = Date.now() + 120_000;
  while (
    Date.now() < end &&
    required(
      (await p.tierNumbers()).find((t) => t.tier === 'members'),
      'the members tier',
    ).visible <
      backlog * 0.9
  )
    await sleep(500);
  const busy = await measure(QUICK ? 5 : 20);
  row('interaction -> callback p50, idle', pct(idle, 50), 3000, "Discord's 3 s interaction window", 'ms');
  row('interaction -> callback p99, idle', pct(idle, 99), 3000, "Discord's 3 s interaction window", 'ms');
  row(`interaction -> callback p50, ${backlog.toLocaleString('en')} member backlog`, pct(busy, 50), pct(idle, 50), 'idle p50', 'ms');
  row(`interaction -> callback p99, ${backlog.toLocaleString('en')} member backlog`, pct(busy, 99), pct(idle, 99), 'idle p99', 'ms');
  log(`e2e idle p50 ${pct(idle, 50)} p99 ${pct(idle, 99)}; backlog p50 ${pct(busy, 50)} p99 ${pct(busy, 99)}`);
  await p.sqs.send(new PurgeQueueCommand({ QueueUrl: p.queueUrl('members') }));
  await p.stop();
}

// ---------- 4b. the two ingresses: interaction created -> response visible, HTTP endpoint vs gateway ----------
async function ingressLatency() {
  const { startLocalPipeline } = await import('../local/pipeline/index.js');
  const { responseVisibleAt } = await import('../local/simulator/http-interactions.js');
  const p = await startLocalPipeline({ shards: 1, guilds: 10, scoreLatencyMs: 200 });
  const http = required(p.http, 'the local HTTP interactions endpoint');
  // the same command over both paths, alternating, so both see the same machine
  const measure = async (commandName: string, n: number) => {
    const gw: ReturnType<typeof p.sim.createInteraction>[] = [];
    const ht: ReturnType<typeof p.sim.createInteraction>[] = [];
    for (let i = 0; i < n; i++) {
      gw.push(p.sim.createInteraction({ commandName, guildId: p.sim.guildIds[i % 10] }));
      ht.push((await http.createInteraction({ commandName, guildId: p.sim.guildIds[i % 10] })).ix);
      await sleep(200);
    }
    const visible = (ixs: typeof gw) => ixs.map((ix) => responseVisibleAt(p.sim.interactionResponses(ix.id) ?? ix));
    const end = Date.now() + 15_000;
    while (Date.now() < end && [...visible(gw), ...visible(ht)].some((at) => at === undefined)) await sleep(50);
    const ms = (ixs: typeof gw) =>
      ixs.map((ix) => {
        const at = responseVisibleAt(p.sim.interactionResponses(ix.id) ?? ix);
        return at ? at - ix.createdAt : 15_000;
      });
    return { gateway: ms(gw), http: ms(ht) };
  };
  await sleep(2000);
  await measure('ping', 5); // warm-up of both paths, not counted
  await measure('check-eligibility', 3);
  const n = QUICK ? 10 : 40;
  const fast = await measure('ping', n);
  const slow = await measure('check-eligibility', n);
  const note = (what: string) =>
    `interaction created -> ${what}; ${n} each, alternating; local pipeline (ours via the real http-ingress handler behind the local server, straight onto the interactions queue; reference through shard -> ingestor -> EventBridge -> SQS -> worker)`;
  row('ingress HTTP vs gateway p50, /ping (fast)', pct(fast.http, 50), pct(fast.gateway, 50), 'gateway path p50', 'ms', note("answer visible (HTTP: in the response; gateway: the worker's callback)"));
  row('ingress HTTP vs gateway p99, /ping (fast)', pct(fast.http, 99), pct(fast.gateway, 99), 'gateway path p99', 'ms', note('answer visible'));
  row('ingress HTTP vs gateway p50, /check-eligibility (deferred, 200 ms service)', pct(slow.http, 50), pct(slow.gateway, 50), 'gateway path p50', 'ms', note("the worker's edit of the deferral"));
  row('ingress HTTP vs gateway p99, /check-eligibility (deferred, 200 ms service)', pct(slow.http, 99), pct(slow.gateway, 99), 'gateway path p99', 'ms', note("the worker's edit of the deferral"));
  log(
    `ingress /ping http p50 ${pct(fast.http, 50)} p99 ${pct(fast.http, 99)} vs gateway p50 ${pct(fast.gateway, 50)} p99 ${pct(fast.gateway, 99)}; /check-eligibility http p50 ${pct(slow.http, 50)} p99 ${pct(slow.http, 99)} vs gateway p50 ${pct(slow.gateway, 50)} p99 ${pct(slow.gateway, 99)}`,
  );
  await p.stop();
}

// ---------- 5. cost per million Discord events ----------
/** The cost model (scripts/ops/cost-model.ts, shared with `npm run cost`) over an assumed event mix. */
function benchCostInput(): CostInput {
  // the mix of a 10,000-guild bot with GUILDS | GUILD_MEMBERS intents (assumption, stated): share of gateway events per type group
  const mix = { members: 0.3, guilds: 0.02, interactions: 0.01, bulk: 0.07, unrouted: 0.6 };
  const routed = mix.members + mix.guilds + mix.interactions + mix.bulk;
  const consumer = { members: { batch: 100, ms: ASSUMED_BATCH_MS.member }, guilds: { batch: 10, ms: ASSUMED_BATCH_MS.guild }, interactions: { batch: 1, ms: ASSUMED_BATCH_MS.interaction } };
  const workers = Object.fromEntries(
    Object.entries(consumer).map(([tier, c]) => {
      const invocations = (1_000_000 * mix[tier as keyof typeof mix]) / c.batch;
      return [tier, { invocations, durationMs: invocations * c.ms, memoryMb: 512 }];
    }),
  );
  // Fargate: one 0.25 vCPU / 0.5 GB task per 4 shards; at 1,000 events/s a million events is 1,000 s
  return { published: 1_000_000 * routed, dropped: 1_000_000 * mix.unrouted, queued: 1_000_000 * routed, workers, fargate: { taskSeconds: 1000, vcpu: 0.25, memoryGb: 0.5 } };
}
function cost(entriesPerPut: number) {
  const input = benchCostInput();
  // per million gateway events: the input is one million of them
  const withFilter = costOf(input);
  const without = costWithoutFilter(input);
  row(
    '$ per million Discord events, with the ingestor filter',
    withFilter.total,
    without.total,
    'same, publishing everything',
    'USD',
    `EventBridge ${withFilter.eventBridge.toFixed(2)}, SQS ${withFilter.sqs.toFixed(2)}, Lambda ${withFilter.lambda.toFixed(2)}, Fargate ${withFilter.fargate.toFixed(3)}; ${entriesPerPut.toFixed(1)} entries per PutEvents measured`,
  );
}

// ---------- memory through a long bus outage ----------
/**
 * The bus is unreachable for 5 minutes (90 s with --quick) while Discord sends 1,000 events/s: the
 * memory buffer fills (BUFFER_MAX_EVENTS / BUFFER_MAX_BYTES, the defaults), then everything goes to
 * the disk spool. Memory must stay flat once the buffer is full: RSS and heap are sampled every 5 s,
 * and the row compares the end with the first sample after the buffer filled.
 */
async function outage() {
  const seconds = QUICK ? 90 : 300;
  const rate = 1000;
  const s = await simChild({ shards: 1, guilds: 1 });
  let down = true;
  const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED (bench: bus down)'), { name: 'NetworkingError' }));
  const sender = { put: (e: unknown[]) => (down ? refused() : Promise.resolve({ errors: e.map(() => undefined) })) };
  const h = await startIngestor(
    parseIngestorConfig({
      DISCORD_TOKEN: s.token,
      DISCORD_APPLICATION_ID: s.appId,
      DISCORD_API_URL: s.restUrl,
      TOTAL_SHARDS: '1',
      EVENT_BUS_NAME: 'bench',
      DEAD_LETTER_BUCKET: 'bench-dead-letters',
      HTTP_PORT: '0',
      SPOOL_DIR: mkdtempSync(join(tmpdir(), 'bench-outage-')),
      METRICS_INTERVAL_MS: '3600000',
    }),
    { aws: { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }, sender, emf: () => undefined, log: () => undefined },
  );
  await s.call({ cmd: 'ready-shards', n: 1 });
  const samples: Array<{ t: number; rss: number; heap: number; buffer: number; spool: number }> = [];
  const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    const st = h.status();
    samples.push({ t: Math.round((Date.now() - t0) / 1000), rss: mib(m.rss), heap: mib(m.heapUsed), buffer: st.bufferDepth, spool: st.spoolDepth });
  }, 5000);
  await s.call({ cmd: 'storm', n: rate * seconds, size: 500, rate });
  clearInterval(sampler);
  const st = h.status();
  // the first sample once the spool takes events: the memory buffer is as full as it gets
  const full = required(samples.find((x) => x.spool > 0) ?? samples[0], 'a memory sample (one every 5 s)');
  const end = required(samples.at(-1), 'a memory sample (one every 5 s)');
  const after = samples.filter((x) => x.t >= full.t);
  const maxRss = Math.max(...after.map((x) => x.rss));
  const slope = end.t > full.t ? ((end.rss - full.rss) / (end.t - full.t)) * 60 : 0;
  row(
    `RSS through a ${seconds / 60}-minute bus outage at 1,000 events/s`,
    end.rss,
    full.rss,
    'RSS when the memory buffer was full (spooling began)',
    'MiB',
    `${Math.round(slope * 10) / 10} MiB/min from then on, max ${maxRss}; heap ${full.heap} -> ${end.heap} MiB; ${st.spoolDepth.toLocaleString('en')} events on disk, ${st.bufferDepth.toLocaleString('en')} in memory; shards ready ${st.shards.ready}/1 throughout (backpressure ${st.backpressure})`,
  );
  log(`outage: RSS ${full.rss} -> ${end.rss} MiB (${Math.round(slope * 10) / 10} MiB/min), samples ${samples.map((x) => x.rss).join(' ')}`);
  down = false;
  const t1 = Date.now();
  await waitPublished(h, rate * seconds, 300_000);
  log(`outage: ${h.metrics.published} published ${Math.round((Date.now() - t1) / 100) / 10} s after the bus came back`);
  await h.kill();
  s.child.send({ cmd: 'stop' });
  await new Promise((r) => s.child.once('exit', r));
}

async function main() {
  log('local services (bash local/env.sh up) and the ingestor bundle (bash ingestor/build.sh)');
  execSync('bash local/env.sh up', { stdio: ['ignore', 'ignore', 'inherit'] });
  execSync('bash ingestor/build.sh', { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = Date.now();
  log('1/5 + 3/5 throughput and publish latency');
  if (step('throughput')) await throughput();
  log('2/5 memory');
  if (step('memory')) await memory();
  log('4/5 end to end');
  if (step('e2e')) await endToEnd();
  log('4b/5 HTTP interactions ingress vs gateway');
  if (step('ingress')) await ingressLatency();
  log('4c/5 memory through a bus outage');
  if (step('outage')) await outage();
  log('5/5 cost model');
  const note = rows.find((r) => r.measure.startsWith('ingestor throughput, 500'))?.note ?? '';
  cost(Number(/([\d.]+) entries per PutEvents/.exec(note)?.[1] ?? 10));

  const w = Math.max(...rows.map((r) => r.measure.length));
  const lines = [
    `${'measure'.padEnd(w)} | ${'ours'.padStart(10)} | ${'reference'.padStart(10)} | ${'ratio'.padStart(6)} | unit, reference, note`,
    `${'-'.repeat(w)}-|-${'-'.repeat(10)}-|-${'-'.repeat(10)}-|-${'-'.repeat(6)}-|------`,
    ...rows.map((r) => `${r.measure.padEnd(w)} | ${String(r.ours).padStart(10)} | ${String(r.reference ?? '-').padStart(10)} | ${String(r.ratio ?? '-').padStart(6)} | ${r.unit}${r.referenceName ? `; vs ${r.referenceName}` : ''}${r.note ? `; ${r.note}` : ''}`),
  ];
  console.log(lines.join('\n'));
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  // a partial run (--quick, --only) never overwrites the full run's record
  const file = QUICK || ONLY ? 'partial.json' : 'latest.json';
  writeFileSync(join(__dirname, 'results', file), JSON.stringify({ at: new Date().toISOString(), quick: QUICK, only: ONLY ?? null, seconds: Math.round((Date.now() - t0) / 1000), node: process.version, rows }, null, 2));
  log(`done in ${Math.round((Date.now() - t0) / 1000)} s; bench/results/${file} written`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
