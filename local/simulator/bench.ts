/**
 * How fast the simulator emits dispatches: one shard, GUILD_MEMBER_ADD flat out, a raw client in a
 * worker thread (its own event loop) counting frames, with and without zlib-stream.
 *   npx tsx local/simulator/bench.ts [count=100000]
 */
import { Worker } from 'node:worker_threads';
import { DiscordSimulator } from '.';

const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const { WebSocket } = require(workerData.wsPath);
const ws = new WebSocket(workerData.url);
const inflate = workerData.zlib ? zlib.createInflate() : null;
let frames = 0, bytes = 0, dispatches = 0, pending = [], ready = false;
// after READY a zlib-stream client only counts frames (one per payload): the client's own inflate
// would otherwise be what is measured
const counted = () => { dispatches++; if (dispatches === workerData.expect) parentPort.postMessage({ done: Date.now(), frames, bytes }), ws.close(1000); };
const onPayload = (text) => {
  const p = JSON.parse(text);
  if (p.op === 10) ws.send(JSON.stringify({ op: 2, d: { token: workerData.token, intents: 513, properties: {} } }));
  if (p.op === 0) {
    dispatches++;
    if (p.t === 'READY') { ready = true; parentPort.postMessage({ ready: true }); }
    if (dispatches === workerData.expect) parentPort.postMessage({ done: Date.now(), frames, bytes }), ws.close(1000);
  }
};
if (inflate) inflate.on('data', (c) => pending.push(c));
ws.on('message', (data, binary) => {
  frames++; bytes += data.length;
  if (!binary) return onPayload(data.toString());
  if (ready) return counted();
  inflate.write(data);
  inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => onPayload(Buffer.concat(pending.splice(0)).toString()));
});
`;

/** What the client thread posts: `ready` after READY, then `done` (its clock) with the bytes it read. */
interface WorkerMessage {
  ready?: boolean;
  done?: number;
  bytes?: number;
}

async function run(count: number, compress: boolean, zlib: 'sync' | 'stream' = 'sync'): Promise<{ produceMs: number; deliverMs: number; bytes: number }> {
  const sim = await DiscordSimulator.start({ guilds: 1, heartbeatIntervalMs: 60_000, identifyWindowMs: 0, zlib });
  const g = sim.guildIds[0];
  if (g === undefined) throw new Error('the simulator started without a guild');
  const worker = new Worker(CLIENT, {
    eval: true,
    workerData: { url: `${sim.gatewayUrl}/?v=10&encoding=json${compress ? '&compress=zlib-stream' : ''}`, token: sim.token, zlib: compress, expect: count + 2, wsPath: require.resolve('ws') },
  });
  const done = new Promise<{ done: number; bytes: number }>((resolve) =>
    worker.on('message', (m: WorkerMessage) => {
      if (m.done !== undefined) resolve({ done: m.done, bytes: m.bytes ?? 0 });
    }),
  );
  await new Promise<void>((resolve) =>
    worker.on('message', (m: WorkerMessage) => {
      if (m.ready) resolve();
    }),
  );
  const payloads = Array.from({ length: 1000 }, (_, i) => sim.memberPayload(g, String(700000000000000000n + BigInt(i))));
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const payload = payloads[i % payloads.length];
    if (payload) sim.dispatch('GUILD_MEMBER_ADD', payload);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const produceMs = Date.now() - t0;
  const out = await done;
  await worker.terminate();
  await sim.stop();
  return { produceMs, deliverMs: out.done - t0, bytes: out.bytes };
}

/** REST: POSTs to /channels/{c}/messages from 64 concurrent fetches, limits raised out of the way. */
async function rest(count: number): Promise<number> {
  const sim = await DiscordSimulator.start({ guilds: 1, rateLimits: { global: { limit: 1e9, windowMs: 1000 }, route: { limit: 1e9, windowMs: 1000 } } });
  const url = `${sim.restUrl}/v10/channels/700000000000000001/messages`;
  const headers = { Authorization: `Bot ${sim.token}`, 'Content-Type': 'application/json' };
  let next = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next++ < count) {
        const r = await fetch(url, { method: 'POST', headers, body: '{"content":"hello"}' });
        await r.arrayBuffer();
      }
    }),
  );
  const ms = Date.now() - t0;
  await sim.stop();
  return Math.round((count / ms) * 1000);
}

async function main() {
  const count = Number(process.argv[2] ?? 100_000);
  console.log(`simulator dispatch throughput: ${count} GUILD_MEMBER_ADD (~300 B JSON each) on one shard, client in a worker thread`);
  for (const [label, compress, zlib] of [
    ['json', false, 'sync'],
    ['zlib-stream (sync deflate)', true, 'sync'],
    ['zlib-stream (Node zlib stream)', true, 'stream'],
  ] as const) {
    const n = zlib === 'stream' ? Math.min(count, 20_000) : count;
    const r = await run(n, compress, zlib);
    console.log(`${label.padEnd(32)} produced ${Math.round((n / r.produceMs) * 1000)}/s, on the client ${Math.round((n / r.deliverMs) * 1000)}/s, ${(r.bytes / n).toFixed(0)} B/frame`);
  }
  console.log(`REST (POST channel message, 64 concurrent, client in the same process) ${await rest(20_000)} requests/s`);
}

void main();
