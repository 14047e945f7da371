/**
 * Runs the Discord simulator on its own:
 *   npx tsx local/simulator/cli.ts --port 8090 --shards 4 --guilds 5000
 * Prints the REST and gateway URLs (the bot token goes to a file, never to the terminal).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DiscordSimulator } from '.';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8090' },
    shards: { type: 'string', default: '1' },
    guilds: { type: 'string', default: '10' },
    'heartbeat-ms': { type: 'string', default: '41250' },
    'max-concurrency': { type: 'string', default: '1' },
    'token-file': { type: 'string', default: '.local/simulator-token' },
  },
});
const num = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
};

DiscordSimulator.start({
  port: num('port', values.port),
  shards: num('shards', values.shards),
  guilds: num('guilds', values.guilds),
  heartbeatIntervalMs: num('heartbeat-ms', values['heartbeat-ms']),
  maxConcurrency: num('max-concurrency', values['max-concurrency']),
}).then((sim) => {
  writeFileSync(values['token-file']!, sim.token, { mode: 0o600 });
  console.log(`Discord simulator: REST ${sim.restUrl}  gateway ${sim.gatewayUrl}  token in ${values['token-file']}`);
  console.log(`${sim.guildIds.length} guilds over ${values.shards} shards; Ctrl-C stops it`);
  process.on('SIGINT', () => void sim.stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
});
