/**
 * A child process for the benchmarks: the Discord simulator plus a minimal local PutEvents endpoint
 * (EventBridge's JSON protocol, accepts every entry), so the ingestor's CPU is measured alone in the
 * parent. Driven by IPC messages.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { required } from '../../local/required';
import { DiscordSimulator } from '../../local/simulator';

let accepted = 0;
let requests = 0;
let connections = 0;

type Command = { cmd: string; n?: number; size?: number; rate?: number; id?: number };

/** To the parent over IPC (bench/run.ts forks this file). */
function send(message: Record<string, unknown>): void {
  if (!process.send) throw new Error('bench/lib/sim-child.ts runs as a child forked with an IPC channel (npm run bench starts it)');
  process.send(message);
}

async function main() {
  const opts = JSON.parse(process.argv[2] ?? '{}') as { shards?: number; guilds?: number; putLatencyMs?: number; channels?: number; roles?: number; members?: number };
  const sim = await DiscordSimulator.start({
    shards: opts.shards ?? 1,
    guilds: opts.guilds ?? 1,
    maxConcurrency: opts.shards ?? 1,
    heartbeatIntervalMs: 10_000,
    identifyWindowMs: 0,
    channelsPerGuild: opts.channels,
    rolesPerGuild: opts.roles,
    inlineMembersPerGuild: opts.members,
  });
  const eb = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const n = (JSON.parse(body || '{}') as { Entries?: unknown[] }).Entries?.length ?? 0;
      accepted += n;
      requests++;
      const answer = () => {
        res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ FailedEntryCount: 0, Entries: Array.from({ length: n }, (_, i) => ({ EventId: `e${accepted - n + i}` })) }));
      };
      // PutEvents in-region answers in some ms, not in the sub-millisecond of loopback
      if (opts.putLatencyMs) setTimeout(answer, opts.putLatencyMs);
      else answer();
    });
  });
  eb.on('connection', () => connections++);
  await new Promise<void>((r) => eb.listen(0, '127.0.0.1', () => r()));
  send({ type: 'ready', restUrl: sim.restUrl, token: sim.token, appId: sim.appId, guildIds: sim.guildIds.slice(0, 4), ebUrl: `http://127.0.0.1:${(eb.address() as AddressInfo).port}` });
  const onMessage = async (m: Command) => {
    if (m.cmd === 'storm') {
      const g = required(sim.guildIds[0], 'a guild of the simulator');
      const pad = 'x'.repeat(Math.max(0, (m.size ?? 500) - 250));
      const start = Date.now();
      for (let i = 0; i < (m.n ?? 0); i++) {
        sim.dispatch('GUILD_MEMBER_ADD', sim.memberPayload(g, String(600000000000000000n + BigInt(i)), { nick: pad }));
        if (m.rate) {
          const wait = start + ((i + 1) * 1000) / m.rate - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        } else if (i % 200 === 199) await new Promise((r) => setImmediate(r));
      }
      send({ type: 'done', id: m.id });
    } else if (m.cmd === 'stats') {
      send({ type: 'stats', id: m.id, accepted, requests, connections });
    } else if (m.cmd === 'ready-shards') {
      await sim.waitForShardsReady(required(m.n, 'ready-shards: n'), 120_000);
      send({ type: 'done', id: m.id });
    } else if (m.cmd === 'stop') {
      await sim.stop();
      eb.close();
      process.exit(0);
    }
  };
  process.on('message', (m: Command) => void onMessage(m));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
