/**
 * Measures the RSS of the full discord.js Client with its default caches holding every guild of a simulator (a child process of its own, so nothing
 * else is loaded). argv: restUrl, token, appId, guilds, shards, ebUrl.
 */
import { Client, GatewayIntentBits } from 'discord.js';

async function settle(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1500));
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 300));
  return process.memoryUsage().rss;
}

async function main() {
  const [restUrl, token, , guildsS, shardsS] = process.argv.slice(2);
  const guilds = Number(guildsS);
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMembers], rest: { api: restUrl }, shardCount: Number(shardsS) });
  await client.login(token);
  while (client.guilds.cache.filter((g) => g.available).size < guilds) await new Promise((r) => setTimeout(r, 100));
  process.send!({ rss: await settle(), guilds: client.guilds.cache.size });
  await client.destroy();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
