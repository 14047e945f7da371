/**
 * The application registry read by a task whose applications are slow to start: an application added
 * with `npm run apps` whose Discord API answers GET /gateway/bot only after 1.5 s (a loaded task, a
 * slow region), read every 200 ms. The task serves it once (one connection per shard), and removing it
 * closes every one of its shards: nothing started twice is left connected behind the task's back.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localAwsConfig } from '../../local/aws';
import { localIngestorEnv, startIngestorProcess, type IngestorProcess } from '../../local/chaos/ingestor-process';
import { freePort, sleep } from '../../local/chaos/world';
import { redisAuthClient } from '../../local/redis-auth';
import { DiscordSimulator } from '../../local/simulator';
import { appsCli } from './apps-cli';

const aws = localAwsConfig();
const tag = randomUUID().slice(0, 8);
const ns = `registry-${tag}`;
let own: DiscordSimulator;
let slow: DiscordSimulator;
let proxy: Server;
let proxyUrl = '';
let gatewayBotCalls = 0;
let env: Record<string, string>;
let task: IngestorProcess | undefined;

/** slow's REST API behind a proxy that holds GET /gateway/bot for 1.5 s */
async function slowGatewayBot(target: string): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const body: Buffer[] = [];
      for await (const chunk of req) body.push(chunk as Buffer);
      if (req.url?.endsWith('/gateway/bot')) {
        gatewayBotCalls++;
        await sleep(1500);
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host' && e[0] !== 'content-length'));
      const r = await fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers, body: body.length ? Buffer.concat(body) : undefined });
      res.writeHead(r.status, Object.fromEntries(r.headers));
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** `npm run apps` as the operator runs it, against the AUTH Redis */
function apps(args: string[]): string {
  return appsCli(env, ns, args);
}

beforeAll(async () => {
  own = await DiscordSimulator.start({ shards: 1, guilds: 2, heartbeatIntervalMs: 1000 });
  slow = await DiscordSimulator.start({ appId: String(500000000000000000n + BigInt(Math.floor(Math.random() * 1e15))), shards: 2, guilds: 4, maxConcurrency: 2, heartbeatIntervalMs: 1000, sessionTtlMs: 600_000 });
  proxy = await slowGatewayBot(slow.restUrl.replace(/\/api\/?$/, ''));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${new URL(slow.restUrl).pathname}`;
  const eb = new EventBridgeClient(aws);
  await eb.send(new CreateEventBusCommand({ Name: ns }));
  eb.destroy();
  const s3 = new S3Client(aws);
  await s3.send(new CreateBucketCommand({ Bucket: ns }));
  s3.destroy();
  env = {
    DISCORD_TOKEN: own.token,
    DISCORD_APPLICATION_ID: own.appId,
    DISCORD_API_URL: own.restUrl,
    EVENT_BUS_NAME: ns,
    CLAIM_CHECK_BUCKET: ns,
    ...(await localIngestorEnv(ns)),
    LEASE_TTL_MS: '3000',
    REGISTRY_REFRESH_MS: '200',
  };
});

afterAll(async () => {
  task?.signal('SIGKILL');
  const redis = redisAuthClient();
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed before assigning it
  await Promise.all([own?.stop(), slow?.stop(), new Promise((r) => (proxy ? proxy.close(r) : r(undefined)))]);
});

describe('the application registry, read faster than an application starts', () => {
  it('serves a slow-starting application once, and removing it closes every shard of it', async () => {
    task = startIngestorProcess({ ...env, TASK_ID: 't1', HTTP_PORT: String(await freePort()), SPOOL_DIR: mkdtempSync(join(tmpdir(), 'registry-spool-')) });
    for (let i = 0; i < 300 && own.connectedShards().length < 1; i++) await sleep(100);
    expect(own.connectedShards(), task.output().slice(-2000)).toEqual([0]);
    expect(apps(['add', '--app-id', slow.appId, '--token', slow.token, '--api-url', proxyUrl, '--shards', '2'])).toMatch(/^added /);
    for (let i = 0; i < 300 && slow.connectedShards().length < 2; i++) await sleep(100);
    // several registry reads came and went while the application was starting
    await sleep(4000);
    expect(gatewayBotCalls).toBeGreaterThan(0);
    expect(slow.connectedShards().sort()).toEqual([0, 1]); // one connection per shard
    expect(
      slow.gateway.identifies
        .filter((i) => i.outcome === 'ready')
        .map((i) => i.shardId)
        .sort(),
    ).toEqual([0, 1]);

    expect(apps(['remove', '--app-id', slow.appId])).toMatch(/^removed /);
    for (let i = 0; i < 100 && slow.connectedShards().length > 0; i++) await sleep(100);
    expect(slow.connectedShards()).toEqual([]);
    expect(own.connectedShards()).toEqual([0]); // the task's own application stays
    expect((await task.ready())?.fatal).toBeUndefined();
  });
});
