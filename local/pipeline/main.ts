/**
 * `npm run local`: deploys the local stage with `cdk deploy` to the AWS emulator (which then runs the
 * workers from their event source mappings), and drives the whole pipeline against the Discord
 * simulator: a scenario with live progress on one screen and a summary at the end (lost must be 0).
 *
 *   npm run local -- --shards 4 --guilds 5000 --members 2000 --commands 50 --noise 2000
 *
 * DISCORD_TOKEN set: refused here on purpose (this demo drives a simulator; run the ingestor with
 * `npm run ingestor` against real Discord instead).
 */
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { Pool } from 'pg';
import type { PoolClient } from 'pg';
import { withGuild } from '../../lambdas/shared/db';
import { LOCAL_DATABASE_URL, LOCAL_REDIS_URL, startLocalPipeline } from './index';
import { responseVisibleAt } from '../simulator/http-interactions';
import { recordLocalRun } from '../../scripts/ops/run-counters';
import { localAwsConfig } from '../aws';
import { CONSUMERS, DEFAULT_ROUTING_TABLE } from '../../lib/contract';

const { values } = parseArgs({
  options: {
    shards: { type: 'string', default: '4' },
    guilds: { type: 'string', default: '5000' },
    members: { type: 'string', default: '2000' },
    commands: { type: 'string', default: '30' },
    'http-commands': { type: 'string', default: '10' },
    noise: { type: 'string', default: '2000' },
    'member-rate': { type: 'string', default: '500' },
    'timeout-s': { type: 'string', default: '300' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run local -- [--shards 4] [--guilds 5000] [--members 2000] [--member-rate 500] [--commands 30] [--http-commands 10] [--noise 2000] [--timeout-s 300]');
  process.exit(0);
}
const num = (name: keyof typeof values) => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} must be a whole number, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return v;
};
if (process.env.DISCORD_TOKEN) {
  console.warn('DISCORD_TOKEN is set: this demo only drives the Discord simulator and ignores it. To hold real shards, run `npm run ingestor` with your configuration.');
}

const shards = num('shards');
const guilds = num('guilds');
const members = num('members');
const commands = num('commands');
// slash commands delivered over the HTTP interactions endpoint (the second ingress) instead of the gateway
const httpCommands = num('http-commands');
const noise = num('noise');
const timeoutMs = num('timeout-s') * 1000;
// member events per second of the storm (simulator, ingestor and workers share this process and 2 cores)
const rate = Math.max(1, num('member-rate'));

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function main() {
  const t0 = Date.now();
  const say = (m: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
  const p = await startLocalPipeline({ shards, guilds, scoreLatencyMs: 300, log: say, simulator: { heartbeatIntervalMs: 10_000 } });
  const { http } = p;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    await p.stop();
    await pool.end();
    process.exit(code);
  };
  process.on('SIGINT', () => {
    console.log('\nstopping (Ctrl-C)...');
    void stop(130);
  });
  const pool = new Pool({ connectionString: LOCAL_DATABASE_URL, max: 2 });
  say(`${shards} shards READY with ${guilds} guilds; scenario: ${members} member joins, ${commands} slash commands, ${noise} filtered events`);

  // progress, one screen: queue depths from SQS, invocations from the emulator's CloudWatch
  const redis = new Redis(LOCAL_REDIS_URL);
  let last = { received: 0, published: 0, at: Date.now() };
  const progress = async () => {
    const m = p.ingestor.metrics;
    const tiers = await p.tierNumbers().catch(() => []);
    const calls = Object.fromEntries(await Promise.all(CONSUMERS.map(async (w) => [w, await p.mappings.invocations(w).catch(() => undefined)] as const)));
    const dt = (Date.now() - last.at) / 1000;
    const lat = [...p.sim.interactions.values()].flatMap((i) => (i.callback ? [i.callback.at - i.createdAt] : []));
    const lines = [
      `shards ready ${p.ingestor.status().shards.ready}/${shards}   in ${((m.received - last.received) / dt).toFixed(0)}/s   out ${((m.published - last.published) / dt).toFixed(0)}/s   dropped ${m.dropped}   spool ${p.ingestor.status().spoolDepth}`,
      ...tiers.map((t) => {
        const consumer = DEFAULT_ROUTING_TABLE[t.tier].consumer;
        const c = consumer ? calls[consumer] : undefined;
        return `  ${t.tier.padEnd(12)} queued ${String(t.visible).padStart(6)}  in flight ${String(t.inFlight).padStart(5)}  DLQ ${t.dlq}  invocations ${c ? `${c.invocations} (errors ${c.errors})` : '-'}`;
      }),
      `  interactions answered ${lat.length}/${p.sim.interactions.size}   latency p50 ${pct(lat, 50)} ms   p99 ${pct(lat, 99)} ms`,
    ];
    last = { received: m.received, published: m.published, at: Date.now() };
    process.stdout.write(`${lines.join('\n')}\n`);
  };
  const timer = setInterval(() => void progress(), 2000);

  // the startup burst (one GUILD_CREATE per guild) first, as after a deploy: done when every guild's
  // GUILD_CREATE was published and the guilds queue is empty
  const guildsTier = async () => {
    const t = (await p.tierNumbers()).find((x) => x.tier === 'guilds');
    if (!t) throw new Error(`stack ${p.outputs.stackName} has no guilds tier`);
    return t;
  };
  const burstEnd = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < burstEnd && quiet < 2) {
    await new Promise((r) => setTimeout(r, 500));
    const g = await guildsTier();
    const published = p.ingestor.metrics.published >= guilds && p.ingestor.status().spoolDepth === 0;
    quiet = published && g.visible === 0 && g.inFlight === 0 ? quiet + 1 : 0;
  }
  say(`startup burst processed: ${guilds} GUILD_CREATE published, the guilds queue drained by the deployed guild worker`);

  // a warm-up, not counted: the emulator starts one worker process per concurrent invocation, each a
  // cold start of seconds on a small machine (in AWS, provisioned concurrency or pollers keep them warm);
  // the scenario's interactions below then meet started workers inside Discord's 3 s window
  const warmIds = new Set<string>();
  const warmGateway = Array.from({ length: 6 }, (_, i) => p.sim.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[i % p.sim.guildIds.length] }));
  for (const ix of warmGateway) warmIds.add(ix.id);
  if (http) for (const r of await Promise.all(Array.from({ length: 3 }, (_, i) => http.createInteraction({ commandName: 'ping', guildId: p.sim.guildIds[i % p.sim.guildIds.length] })))) warmIds.add(r.ix.id);
  const warmEnd = Date.now() + 20_000;
  while (Date.now() < warmEnd && !warmGateway.every((ix) => p.sim.interactionResponses(ix.id)?.callback)) await new Promise((r) => setTimeout(r, 200));
  say(`warm-up: ${warmGateway.filter((ix) => p.sim.interactionResponses(ix.id)?.callback).length} of ${warmGateway.length} gateway and ${p.http ? 3 : 0} HTTP interactions (not counted below)`);

  // the scenario: a member join storm, a stream of slash commands, filtered traffic
  const g = p.sim.guildIds[0];
  if (g === undefined) throw new Error('--guilds must be at least 1: the member join storm needs a guild');
  const noiseGuild = p.sim.guildIds[1] ?? g;
  const storm = p.sim.memberJoinStorm(g, members, { ratePerSec: rate });
  p.sim.noise(noiseGuild, noise);
  for (let i = 0; i < commands; i++) {
    p.sim.createInteraction({ commandName: i % 3 === 0 ? 'check-eligibility' : i % 3 === 1 ? 'ping' : 'stats', guildId: p.sim.guildIds[i % p.sim.guildIds.length] });
    await new Promise((r) => setTimeout(r, 100));
  }
  for (let i = 0; i < httpCommands && p.http; i++) {
    await p.http.createInteraction({ commandName: i % 3 === 0 ? 'check-eligibility' : i % 3 === 1 ? 'ping' : 'stats', guildId: p.sim.guildIds[i % p.sim.guildIds.length] });
    await new Promise((r) => setTimeout(r, 100));
  }
  await storm;

  // wait until every member is in PostgreSQL and every interaction answered, or the timeout
  const count = (c: PoolClient, sql: string) => c.query<{ n: string }>(sql).then((r) => Number(r.rows[0]?.n ?? 0));
  const rows = () => withGuild(pool, g, (c) => count(c, 'SELECT count(*) AS n FROM members WHERE present'));
  // over HTTP: interactions the endpoint deferred whose follow-up has not arrived yet
  const httpIxs = () =>
    [...(p.http?.delivered ?? [])]
      .filter((id) => !warmIds.has(id))
      .flatMap((id) => {
        const i = p.sim.interactions.get(id);
        return i ? [i] : [];
      });
  const httpPending = () => httpIxs().filter((i) => i.callback?.type === 5 && i.messages.length === 0).length;
  const gatewayIxs = () => [...p.sim.interactions.values()].filter((i) => !p.http?.delivered.has(i.id) && !warmIds.has(i.id));
  const end = Date.now() + timeoutMs;
  // an interaction is settled when answered (a deferral: followed up), or when the worker saw it
  // (its state in Redis) too late to answer inside Discord's window
  const settled = async (i: ReturnType<typeof gatewayIxs>[number]) => (i.callback ? !(i.callback.type === 5 && i.messages.length === 0) : Date.now() - i.createdAt > 5_000 && (await redis.exists(`ix:${i.id}`)) === 1);
  while (Date.now() < end) {
    let done = 0;
    for (const i of gatewayIxs()) if (await settled(i)) done++;
    if ((await rows()) >= members && done >= commands && httpPending() === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  clearInterval(timer);

  const expected = p.expectedIds();
  const m = p.ingestor.metrics;
  const stored = await rows();
  // every guild of the startup burst in PostgreSQL (one short tenant transaction each, as the workers do)
  let guildsStored = 0;
  for (const id of p.sim.guildIds) guildsStored += await withGuild(pool, id, (c) => count(c, 'SELECT count(*) AS n FROM guilds'));
  const lat = gatewayIxs().flatMap((i) => (i.callback ? [i.callback.at - i.createdAt] : []));
  const tiers = await p.tierNumbers();
  const lostMembers = members - stored;
  const unanswered = commands - lat.length;
  const mappings = await p.mappings.list();
  console.log('\n== summary');
  console.log(
    `stack:                           ${p.outputs.stackName} ${p.outputs.status} (${p.deploy.action} in ${(p.deploy.ms / 1000).toFixed(1)} s); workers run by the emulator: ${mappings.map((x) => `${x.worker} (${x.state}, batch ${x.batchSize}, max concurrency ${x.maximumConcurrency ?? '-'})`).join(', ')}`,
  );
  console.log(`events sent by Discord (wanted): ${expected.size}`);
  console.log(`published to EventBridge:        ${m.published} (${m.published - expected.size >= 0 ? m.published - expected.size : 0} duplicates from replays)`);
  console.log(`dropped by the filter:           ${m.dropped}`);
  console.log(`guilds stored in PostgreSQL:     ${guildsStored} of ${p.sim.guildIds.length}`);
  console.log(`members stored in PostgreSQL:    ${stored} of ${members}`);
  console.log(`interactions answered:           ${lat.length} of ${commands}   latency p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (callback after creation)`);
  const httpVisible = httpIxs().flatMap((i) => {
    const at = responseVisibleAt(i);
    return at === undefined ? [] : [at - i.createdAt];
  });
  console.log(`ingresses:                       gateway (${shards} shards) and HTTP interactions endpoint ${p.httpIngress && http ? `${p.httpIngress.url} (unsigned probe refused: ${http.deliveries.some((d) => d.kind === 'probe' && d.status === 401)})` : 'off'}`);
  console.log(`HTTP interactions answered:      ${httpVisible.length} of ${httpCommands}   response visible p50 ${pct(httpVisible, 50)} ms, p99 ${pct(httpVisible, 99)} ms (direct answer, or the worker's edit of the deferral)`);
  console.log(`publish latency (ingestor):      p50 ${p.publishLatency.percentiles().p50} ms, p99 ${p.publishLatency.percentiles().p99} ms`);
  console.log(`DLQ depth (from the queues):     ${tiers.map((t) => `${t.tier} ${t.dlq}`).join(', ')}`);
  // an interaction is lost if no worker ever saw it (no state in Redis); one seen too late is counted apart
  let neverProcessed = 0;
  // (an HTTP interaction the endpoint answered itself never reaches a worker; one it deferred is counted below)
  for (const ix of gatewayIxs()) if ((await redis.exists(`ix:${ix.id}`)) === 0) neverProcessed++;
  redis.disconnect();
  console.log(`interactions not answered:       ${unanswered} (${neverProcessed} never reached the worker, ${unanswered - neverProcessed} arrived after Discord's 3 s window)`);
  const httpLost = httpPending() + (httpCommands - httpIxs().filter((i) => i.callback).length);
  if (p.http) console.log(`HTTP interactions not answered:  ${httpLost}`);
  const lost = Math.max(0, lostMembers) + Math.max(0, p.sim.guildIds.length - guildsStored) + neverProcessed + (p.http ? httpLost : 0);
  console.log(`lost:                            ${lost}`);
  console.log(`took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`counters for npm run cost:       ${await recordLocalRun(p, t0, localAwsConfig()).catch((err: unknown) => `not written (${err instanceof Error ? err.message : String(err)})`)}`);
  await stop(lost === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
