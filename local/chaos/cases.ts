/**
 * The fault matrix of one ingestor task: each case starts the real ingestor process against a fresh
 * simulator and bus, injects its fault while events flow, and counts loss from the simulator's
 * ledger (`ChaosWorld.account`). Timings are randomised within each case (`rand`), so every run
 * tries other moments; `npm run chaos` runs them all and prints the table.
 */
import { redisAuthClient } from '../redis-auth';
import { required } from '../required';
import { ChaosWorld, sleep, type ChaosResult } from './world';

export interface ChaosCase {
  name: string;
  /** what it does, for the table's legend */
  what: string;
  run(rand: () => number): Promise<ChaosResult>;
  /** part of `npm test` (the rest run in `npm run chaos`) */
  inTestSuite?: boolean;
}

const between = (rand: () => number, lo: number, hi: number) => Math.round(lo + rand() * (hi - lo));

/** member joins spread over the guilds of every shard, plus a few interactions */
async function traffic(w: ChaosWorld, count: number, ratePerSec: number): Promise<void> {
  const guilds = w.sim.guildIds;
  const per = Math.ceil(count / guilds.length);
  const storms = guilds.map((g) => w.sim.memberJoinStorm(g, per, { ratePerSec: Math.max(1, Math.round(ratePerSec / guilds.length)) }));
  for (let i = 0; i < 5; i++) w.sim.createInteraction({ commandName: 'ping', guildId: guilds[i % guilds.length] });
  await Promise.all(storms);
}

/** Runs a case body in a fresh world: start, fault, restart as needed, drain, account. */
async function inWorld(name: string, opts: Parameters<typeof ChaosWorld.create>[0], body: (w: ChaosWorld) => Promise<{ forcedIdentifies?: number; deadLetterReasons?: string[] }> | Promise<void>): Promise<ChaosResult> {
  const started = Date.now();
  const w = await ChaosWorld.create(opts);
  try {
    const expect = (await body(w)) ?? {};
    return await w.account(name, started, expect);
  } finally {
    await w.close();
  }
}

/** Starts a process, waits for READY. */
async function up(w: ChaosWorld, opts?: Parameters<ChaosWorld['start']>[0]) {
  const p = await w.start(opts);
  await w.waitReady(p);
  return p;
}

export const CASES: ChaosCase[] = [
  {
    name: 'no fault',
    what: 'the baseline: 2,000 events at 1,000/s',
    run: () =>
      inWorld('no fault', {}, async (w) => {
        const p = await up(w);
        await traffic(w, 2000, 1000);
        await w.waitDrained(p);
      }),
  },
  {
    name: 'SIGKILL',
    what: 'SIGKILL of the process group at a random moment of a storm; a new task (empty disk) resumes',
    run: (rand) =>
      inWorld('SIGKILL', {}, async (w) => {
        const a = await up(w);
        const storm = traffic(w, 3000, 1500);
        await sleep(between(rand, 0, 1500));
        a.signal('SIGKILL');
        await a.exited;
        await storm;
        const b = await up(w);
        await w.waitDrained(b);
      }),
  },
  {
    name: 'SIGTERM',
    what: 'SIGTERM at a random moment of a storm (drain, persist, resumable close); a new task resumes',
    run: (rand) =>
      inWorld('SIGTERM', {}, async (w) => {
        const a = await up(w);
        const storm = traffic(w, 3000, 1500);
        await sleep(between(rand, 0, 1500));
        a.signal('SIGTERM');
        await a.exited;
        await storm;
        const b = await up(w);
        await w.waitDrained(b);
      }),
  },
  ...[10, 60].map((s): ChaosCase => ({
    name: `bus down ${s} s`,
    what: `PutEvents unreachable for ${s} s while events flow (buffer, spool), then back`,
    run: () =>
      inWorld(`bus down ${s} s`, {}, async (w) => {
        const p = await up(w);
        w.proxy.set({ kind: 'down' });
        // events flow through the whole outage: the storm lasts as long as the outage
        const count = Math.min(100 * s, 3000);
        await traffic(w, count, count / s);
        w.proxy.set(undefined);
        await w.waitDrained(p);
      }),
  })),
  {
    name: 'throttling',
    what: 'every PutEvents entry ThrottlingException for 5 s (retried with backoff)',
    run: () =>
      inWorld('throttling', {}, async (w) => {
        const p = await up(w);
        w.proxy.set({ kind: 'throttle' });
        const storm = traffic(w, 2000, 500);
        await sleep(5000);
        w.proxy.set(undefined);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'reset mid-request',
    what: 'for 3 s, each PutEvents reaches the bus and then the connection is reset before the answer',
    run: () =>
      inWorld('reset mid-request', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 700);
        await sleep(300);
        w.proxy.set({ kind: 'reset-after-forward' });
        await sleep(3000);
        w.proxy.set(undefined);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'refused for good',
    what: 'the bus refuses every 50th member event with AccessDeniedException: dead-lettered in S3, the rest delivered',
    run: () =>
      inWorld('refused for good', {}, async (w) => {
        w.proxy.set({ kind: 'refuse', refuse: (e) => e.DetailType === 'GUILD_MEMBER_ADD' && (JSON.parse(e.Detail ?? '{}') as { seq: number }).seq % 50 === 0 });
        const p = await up(w);
        await traffic(w, 2000, 1000);
        await w.waitDrained(p);
        return { deadLetterReasons: ['EventBridgeRefused'] };
      }),
  },
  {
    name: 'reconnect fails',
    what: 'the network drops every shard, and connections are refused for 5 s (several failed reconnects); then the shards resume',
    inTestSuite: true,
    run: () =>
      inWorld('reconnect fails', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 500);
        await sleep(500);
        w.sim.gateway.connectFault = 'refuse';
        for (let s = 0; s < w.shards; s++) w.sim.gateway.dropSocket(s);
        await sleep(5000);
        w.sim.gateway.connectFault = undefined;
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'hello timeouts',
    what: 'the network drops every shard, and for 5 s new connections open but never get HELLO (GATEWAY_HELLO_TIMEOUT_MS=1500: several timeouts in a row); then the shards resume',
    run: () =>
      inWorld('hello timeouts', { env: { GATEWAY_HELLO_TIMEOUT_MS: '1500' } }, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 400);
        await sleep(500);
        w.sim.gateway.connectFault = 'silent';
        for (let s = 0; s < w.shards; s++) w.sim.gateway.dropSocket(s);
        await sleep(5000);
        w.sim.gateway.connectFault = undefined;
        await storm;
        await w.waitDrained(p);
        if (w.sim.gateway.faultedConnections < 2 * w.shards) throw new Error(`only ${w.sim.gateway.faultedConnections} connections met the silent gateway`);
      }),
  },
  {
    name: 'op 7',
    what: 'Discord asks every shard to reconnect (op 7) mid-storm',
    run: () =>
      inWorld('op 7', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 1000);
        await sleep(700);
        for (let s = 0; s < w.shards; s++) w.sim.requestReconnect(s);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'op 9 resumable',
    what: 'op 9 with d: true on every shard mid-storm',
    run: () =>
      inWorld('op 9 resumable', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 1000);
        await sleep(700);
        for (let s = 0; s < w.shards; s++) w.sim.invalidateSession(s, true);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'op 9 not resumable',
    what: 'op 9 with d: false on every shard mid-storm: Discord ends the sessions, the shards identify anew',
    run: () =>
      inWorld('op 9 not resumable', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 1000);
        await sleep(700);
        for (let s = 0; s < w.shards; s++) w.sim.invalidateSession(s, false);
        await storm;
        await w.waitDrained(p);
        return { forcedIdentifies: w.shards };
      }),
  },
  {
    name: 'close 4000',
    what: 'Discord closes every shard with 4000 (unknown error, resumable) mid-storm',
    run: () =>
      inWorld('close 4000', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 2000, 1000);
        await sleep(700);
        for (let s = 0; s < w.shards; s++) w.sim.closeShard(s, 4000);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'zombie connection',
    what: 'heartbeats stop being acknowledged on shard 0 for 3 s: the library closes it as a zombie and resumes',
    run: () =>
      inWorld('zombie connection', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 3000, 700);
        w.sim.pauseHeartbeatAcks(0, true);
        await sleep(3000);
        w.sim.pauseHeartbeatAcks(0, false);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: '300 KB event',
    what: 'a 300 KB GUILD_CREATE in a storm: claim-checked to S3, the envelope carries dataRef',
    run: () =>
      inWorld('300 KB event', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 1000, 1000);
        w.sim.bigGuildCreate(required(w.sim.guildIds[0], 'a guild of the simulator'), 300_000);
        await storm;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'malformed dispatches',
    what: 'GUILD_DELETE with d: null, GUILD_MEMBER_ADD with d: [] and a numeric guild_id, INTERACTION_CREATE with d: "x", an unknown event with d: null, in a storm',
    inTestSuite: true,
    run: () =>
      inWorld('malformed dispatches', {}, async (w) => {
        const p = await up(w);
        const storm = traffic(w, 1000, 1000);
        for (let s = 0; s < w.shards; s++) {
          const session = required(w.sim.gateway.sessionOf(s), `the session of shard ${s}`);
          w.sim.gateway.emit(session, 'GUILD_DELETE', null);
          w.sim.gateway.emit(session, 'GUILD_MEMBER_ADD', []);
          w.sim.gateway.emit(session, 'GUILD_MEMBER_ADD', { guild_id: 42, user: { id: '1' } });
          w.sim.gateway.emit(session, 'INTERACTION_CREATE', 'x');
          w.sim.gateway.emit(session, 'SOMETHING_NEW', null);
        }
        await storm;
        await w.waitDrained(p);
        const r = await p.ready();
        if (p.child.exitCode !== null) throw new Error('the ingestor exited on malformed input');
        if ((r?.counters.deadLetteredByReason.Malformed ?? 0) < 4 * w.shards) throw new Error(`expected ${4 * w.shards} malformed dead letters, /ready says ${JSON.stringify(r?.counters)}`);
        return { deadLetterReasons: ['Malformed'] };
      }),
  },
  {
    name: 'torn spool',
    what: 'bus down, the spool fills, SIGKILL, a torn tail and a corrupt record appended; a task on the same disk starts with the bus back',
    inTestSuite: true,
    run: () =>
      inWorld('torn spool', { env: { BUFFER_MAX_EVENTS: '50' } }, async (w) => {
        const a = await up(w);
        w.proxy.set({ kind: 'down' });
        await traffic(w, 1500, 1000);
        // killed once a segment is on disk (a loaded machine takes a while to get there)
        for (let i = 0; i < 600 && w.spoolSegments().length === 0; i++) await sleep(50);
        if (w.spoolSegments().length === 0) throw new Error(`nothing was spooled within 30 s of the bus going down: ${JSON.stringify(await a.ready())}`);
        a.signal('SIGKILL');
        await a.exited;
        w.tearSpool();
        w.proxy.set(undefined);
        const b = await up(w, { newDisk: false });
        await w.waitDrained(b);
        if (!b.output().includes('torn record')) throw new Error(`no log line about the torn record:\n${b.output().slice(-2000)}`);
        return { deadLetterReasons: ['SpoolCorrupt'] };
      }),
  },
  {
    name: 'corrupt Redis value',
    what: 'after a graceful stop, the resume point in Redis is replaced by junk; the next task logs it, treats it as absent and identifies',
    inTestSuite: true,
    run: () =>
      inWorld('corrupt Redis value', {}, async (w) => {
        const a = await up(w);
        await traffic(w, 1000, 1000);
        await w.waitDrained(a);
        a.signal('SIGTERM');
        await a.exited;
        const redis = redisAuthClient();
        const appId = w.sim.appId;
        await redis.set(`gw:{${appId}}:shard:0`, '{"sessionId": 12, "junk');
        redis.disconnect();
        const b = await up(w);
        await traffic(w, 500, 1000);
        await w.waitDrained(b);
        if (!b.output().includes('the stored resume point is unreadable')) throw new Error('no log line about the corrupt resume point');
        return { forcedIdentifies: 1 };
      }),
  },
  {
    name: 'SIGKILL during a bus outage',
    what: 'bus down, storm, SIGKILL; a new task starts while the bus is still down, then it comes back',
    inTestSuite: true,
    run: (rand) =>
      inWorld('SIGKILL during a bus outage', {}, async (w) => {
        const a = await up(w);
        w.proxy.set({ kind: 'down' });
        const storm = traffic(w, 2000, 1000);
        await sleep(between(rand, 0, 1500));
        a.signal('SIGKILL');
        await a.exited;
        await storm;
        const b = await up(w);
        await sleep(2000);
        w.proxy.set(undefined);
        await w.waitDrained(b);
      }),
  },
  {
    name: 'reconnect fails during a spool drain',
    what: 'bus down until the spool holds events; as it comes back, the shards drop and reconnects are refused for 4 s',
    run: () =>
      inWorld('reconnect fails during a spool drain', { env: { BUFFER_MAX_EVENTS: '50' } }, async (w) => {
        const p = await up(w);
        w.proxy.set({ kind: 'down' });
        await traffic(w, 1500, 1000);
        w.proxy.set(undefined);
        w.sim.gateway.connectFault = 'refuse';
        for (let s = 0; s < w.shards; s++) w.sim.gateway.dropSocket(s);
        const more = traffic(w, 500, 250);
        await sleep(4000);
        w.sim.gateway.connectFault = undefined;
        await more;
        await w.waitDrained(p);
      }),
  },
  {
    name: 'backpressure',
    what: 'bus down with a 64 KB spool: memory and spool fill, the shards close resumably, and resume when the bus is back',
    inTestSuite: true,
    run: () =>
      inWorld('backpressure', { env: { BUFFER_MAX_EVENTS: '20', SPOOL_MAX_BYTES: '65536' } }, async (w) => {
        const p = await up(w);
        w.proxy.set({ kind: 'down' });
        const storm = traffic(w, 1500, 500);
        for (let i = 0; i < 100 && !(await p.ready())?.backpressure; i++) await sleep(100);
        const during = await p.ready();
        if (!during?.backpressure) throw new Error(`no backpressure: ${JSON.stringify(during)}`);
        await sleep(1500);
        w.proxy.set(undefined);
        await storm;
        await w.waitDrained(p);
      }),
  },
];
