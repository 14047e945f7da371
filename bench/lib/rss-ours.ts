/**
 * Measures the RSS of our ingestor holding every guild of a simulator (a child process of its own, so nothing
 * else is loaded). argv: restUrl, token, appId, guilds, shards, ebUrl.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { startIngestor } from '../../ingestor/src/ingestor';

async function settle(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1500));
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 300));
  return process.memoryUsage().rss;
}

async function main() {
  const [restUrl, token, appId, guildsS, shardsS, ebUrl] = process.argv.slice(2);
  const guilds = Number(guildsS);
  const h = await startIngestor(
    parseIngestorConfig({ DISCORD_TOKEN: token, DISCORD_APPLICATION_ID: appId, DISCORD_API_URL: restUrl, TOTAL_SHARDS: shardsS, EVENT_BUS_NAME: 'bench', HTTP_PORT: '0', SPOOL_DIR: mkdtempSync(join(tmpdir(), 'b-')), METRICS_INTERVAL_MS: '3600000' }),
    { aws: { endpoint: ebUrl, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }, emf: () => undefined, log: () => undefined },
  );
  while (h.metrics.published < guilds) await new Promise((r) => setTimeout(r, 100));
  process.send!({ rss: await settle(), guilds: h.status().guilds });
  await h.kill();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
