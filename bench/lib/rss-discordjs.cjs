// The full discord.js Client with its default caches, holding every guild of the simulator; reports its
// RSS and V8 heap to the parent. Plain JavaScript run by node (no TypeScript loader in the process).
// argv: restUrl, token, appId, guilds, shards
const { Client, GatewayIntentBits } = require('discord.js');

async function main() {
  const [restUrl, token, , guildsS, shardsS] = process.argv.slice(2);
  const guilds = Number(guildsS);
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMembers], rest: { api: restUrl }, shardCount: Number(shardsS) });
  await client.login(token);
  while (client.guilds.cache.filter((g) => g.available).size < guilds) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1500));
  if (global.gc) global.gc();
  await new Promise((r) => setTimeout(r, 300));
  const m = process.memoryUsage();
  // the private part of RSS (the rest is the node executable's file-backed pages, the same in any node process)
  const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  process.send({ rss: m.rss, heap: m.heapUsed, anon: kb('RssAnon'), file: kb('RssFile'), guilds: client.guilds.cache.size });
  await client.destroy();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
