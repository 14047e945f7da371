/**
 * Runs the Discord simulator on its own:
 *   npx tsx local/simulator/cli.ts --port 8090 --shards 4 --guilds 5000
 * Prints the REST and gateway URLs and the Discord API spec version it validates REST against (the
 * bot token goes to a file, never to the terminal). With
 * --traffic N it sends N mixed dispatches at --rate per second once --wait-shards shards are connected.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { DiscordSimulator, specVersion } from '.';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8090' },
    shards: { type: 'string', default: '1' },
    guilds: { type: 'string', default: '10' },
    members: { type: 'string', default: '50' },
    'heartbeat-ms': { type: 'string', default: '41250' },
    'max-concurrency': { type: 'string', default: '1' },
    'identify-window-ms': { type: 'string', default: '5000' },
    'session-start-total': { type: 'string', default: '1000' },
    seed: { type: 'string' },
    'token-file': { type: 'string', default: '.local/simulator-token' },
    traffic: { type: 'string', default: '0' },
    rate: { type: 'string', default: '100' },
    'wait-shards': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`usage: npx tsx local/simulator/cli.ts [--port 8090] [--shards 1] [--guilds 10] [--members 50]
  [--heartbeat-ms 41250] [--max-concurrency 1] [--identify-window-ms 5000] [--session-start-total 1000]
  [--seed N] [--token-file .local/simulator-token] [--traffic N --rate R/s [--wait-shards S]] [--json]`);
  process.exit(0);
}

const num = (name: keyof typeof values): number => {
  const v = values[name];
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};

async function main() {
  const shards = num('shards');
  const sim = await DiscordSimulator.start({
    port: num('port'),
    shards,
    guilds: num('guilds'),
    membersPerGuild: num('members'),
    heartbeatIntervalMs: num('heartbeat-ms'),
    maxConcurrency: num('max-concurrency'),
    identifyWindowMs: num('identify-window-ms'),
    sessionStartTotal: num('session-start-total'),
    seed: values.seed === undefined ? undefined : num('seed'),
  });
  const tokenFile = values['token-file'];
  mkdirSync(dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, sim.token, { mode: 0o600 });
  if (values.json) {
    console.log(JSON.stringify({ restUrl: sim.restUrl, gatewayUrl: sim.gatewayUrl, tokenFile, appId: sim.appId, shards, guilds: sim.guildIds.length, spec: `discord-api-spec@${specVersion()}` }));
  } else {
    console.log(`Discord simulator: REST ${sim.restUrl}  gateway ${sim.gatewayUrl}  token in ${tokenFile}`);
    console.log(`${sim.guildIds.length} guilds over ${shards} shards, app ${sim.appId}; REST validated against discord-api-spec@${specVersion()}; Ctrl-C stops it`);
  }
  const stop = () => void sim.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const traffic = num('traffic');
  if (traffic > 0) {
    const want = values['wait-shards'] === undefined ? shards : num('wait-shards');
    await sim.waitForShardsReady(want, 24 * 3_600_000);
    const t0 = Date.now();
    const counts = await sim.traffic({ count: traffic, ratePerSec: num('rate') });
    console.log(`traffic: ${traffic} dispatches in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);
  }
}

void main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`simulator failed to start: ${message}${/EADDRINUSE/.test(message) ? ' (choose another --port, or 0 for any free one)' : ''}`);
  process.exit(1);
});
