// The full discord.js Client with its default caches, holding every guild of the simulator; reports its
// V8 heap to the parent (which reads its RSS) and stays up until the parent kills it. Plain JavaScript
// run by node (no TypeScript loader in the process).
// argv: restUrl, token, appId, guilds, shards
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, GatewayIntentBits } from 'discord.js';

async function main() {
  const [restUrl, token, , guildsS, shardsS] = process.argv.slice(2);
  const guilds = Number(guildsS);
  const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMembers], rest: { api: restUrl }, shardCount: Number(shardsS) });
  await client.login(token);
  while (client.guilds.cache.filter((g) => g.available).size < guilds) await sleep(100);
  await sleep(1500);
  // node --expose-gc (the parent forks it so) defines gc
  if (globalThis.gc) globalThis.gc();
  await sleep(300);
  // the heap from inside; the parent reads RSS from /proc while this process keeps everything it holds
  process.send({ heap: process.memoryUsage().heapUsed, guilds: client.guilds.cache.size });
  await new Promise(() => undefined); // until the parent kills it
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
