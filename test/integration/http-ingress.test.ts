/**
 * The second ingress end to end: the simulator POSTs signed interactions to the real http-ingress
 * function behind API Gateway, both deployed with the local stage on the emulator -> the interactions
 * queue -> the deployed interaction worker (run by the emulator) -> the simulator's REST. The same
 * command over the gateway is checked beside it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalPipeline, type LocalPipeline } from '../../local/pipeline/index';
import { parseHttpIngressConfig } from '../../lambdas/http-ingress/config';
import { httpIngressDepsFrom } from '../../lambdas/http-ingress/deps';
import { HTTP_RESPONSE_HEADER, signatureHeaders, testKeyPair } from '../../local/simulator/http-interactions';

let p: LocalPipeline;
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });

const until = async (cond: () => Promise<boolean> | boolean, what: string, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the REST calls the workers made about an interaction (not the simulator's own application of an HTTP response) */
const workerCalls = (id: string, token: string) => p.sim.requests.filter((r) => (r.path.includes(id) || r.path.includes(token)) && r.headers[HTTP_RESPONSE_HEADER] === undefined);
const workerSaw = async (id: string) => (await redis.exists(`ix:${id}`)) === 1;

beforeAll(async () => {
  await redis.connect();
  p = await startLocalPipeline({ shards: 1, guilds: 4, scoreLatencyMs: 300, reuseStack: true });
}, 120_000);

afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed before assigning it
  await p?.stop();
  redis.disconnect();
});

describe('HTTP interactions ingress', () => {
  it("passes the developer portal's check: PING gets PONG, the invalid-signature probe gets 401", async () => {
    const check = await p.http!.verifyEndpoint();
    expect(check).toEqual({ ok: true, problems: [] });
    expect(p.http!.deliveries.filter((d) => d.kind === 'probe').every((d) => d.status === 401)).toBe(true);
    expect(p.http!.deliveries.filter((d) => d.kind === 'ping').every((d) => d.status === 200 && (d.response as { type: number }).type === 1)).toBe(true);
  });

  it('refuses a tampered body, a wrong key, a missing header and a 5-minute-old timestamp with 401, and nothing reaches the worker', async () => {
    const id = `${BigInt(Date.now() - 1420070400000) << 22n}`;
    const body = JSON.stringify({ id, application_id: p.sim.appId, type: 2, token: 'tok-refused', guild_id: p.sim.guildIds[0], channel_id: p.sim.guildIds[0], member: { user: { id: '300000000000000003' } }, data: { id: '1', name: 'check-eligibility', type: 1 } });
    const url = p.httpIngress!.url;
    const keys = p.http!.keys;
    const post = (b: string, headers: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: b }).then((r) => r.status);
    const good = signatureHeaders(keys.privateKey, body);
    const { 'x-signature-timestamp': ts } = good;
    expect(await post(body.replace('check-eligibility', 'check-eligibilitx'), good)).toBe(401); // tampered
    expect(await post(body, signatureHeaders(testKeyPair().privateKey, body))).toBe(401); // another key
    expect(await post(body, { 'x-signature-timestamp': ts! })).toBe(401); // no signature
    expect(await post(body, { 'x-signature-ed25519': good['x-signature-ed25519']! })).toBe(401); // no timestamp
    expect(await post(body, signatureHeaders(keys.privateKey, body, Math.floor(Date.now() / 1000) - 301))).toBe(401); // 5 min old
    // a control: another interaction, correctly signed, gets through and is processed; the refused one never is
    const id2 = String(BigInt(id) + 1n);
    const body2 = body.replace(id, id2).replace('tok-refused', 'tok-accepted');
    expect(await post(body2, signatureHeaders(keys.privateKey, body2))).toBe(200);
    await until(() => workerSaw(id2), 'the worker to see the accepted interaction');
    await sleep(500);
    expect(await workerSaw(id)).toBe(false);
  });

  it('defers a slow command in the HTTP response and the worker follows up once (even delivered twice at once), with no callback of its own', async () => {
    // SQS delivers at least once: the ingress's message is put on the queue a second time while the
    // deployed worker's mapping is off, so both copies reach the worker at once when it is back on
    await p.mappings.setEnabled('interaction', false);
    let created: Awaited<ReturnType<NonNullable<typeof p.http>['createInteraction']>>;
    try {
      created = await p.http!.createInteraction({ commandName: 'check-eligibility', guildId: p.sim.guildIds[1] });
      const got = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: p.queueUrl('interactions'), MaxNumberOfMessages: 10, WaitTimeSeconds: 2, VisibilityTimeout: 0 }));
      const mine = (got.Messages ?? []).filter((m) => m.Body?.includes(created.ix.id));
      expect(mine).toHaveLength(1);
      await p.sqs.send(new SendMessageCommand({ QueueUrl: p.queueUrl('interactions'), MessageBody: mine[0]!.Body! }));
    } finally {
      await p.mappings.setEnabled('interaction', true);
    }
    const { ix, status, response } = created;
    expect(status).toBe(200);
    expect(response).toEqual({ type: 5 });
    const s = p.sim.interactionResponses(ix.id)!;
    expect(s.callback?.type).toBe(5); // the HTTP response, inside Discord's 3 s window
    await until(() => s.messages.length > 0, 'the follow-up edit');
    await sleep(1500); // room for a second edit or a stray callback, were there one
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.kind).toBe('edit');
    expect((s.messages[0]!.body as { content: string }).content).toMatch(/Your score is \d+/);
    const calls = workerCalls(ix.id, ix.token);
    expect(calls.map((c) => c.route)).toEqual(['webhook_original_edit']);
    expect(calls[0]!.status).toBe(200);
    expect(await redis.get(`ix:${ix.id}`)).toBe('done');
  });

  it('the same command over the gateway behaves the same: deferred, then one edit with the same kind of answer', async () => {
    const ix = p.sim.createInteraction({ commandName: 'check-eligibility', guildId: p.sim.guildIds[2] });
    const s = p.sim.interactionResponses(ix.id)!;
    await until(() => s.messages.length > 0, 'the follow-up edit');
    await sleep(1500);
    expect(s.callback?.type).toBe(5);
    expect(s.callback!.at - s.createdAt).toBeLessThan(3000); // the simulator refuses a later callback
    expect(s.messages).toHaveLength(1);
    expect((s.messages[0]!.body as { content: string }).content).toMatch(/Your score is \d+/);
    expect(workerCalls(ix.id, ix.token).map((c) => c.route)).toEqual(['interaction_callback', 'webhook_original_edit']);
  });

  it('answers /ping itself (type 4), without the queue or the worker', async () => {
    const { ix, response } = await p.http!.createInteraction({ commandName: 'ping' });
    expect(response).toEqual({ type: 4, data: { content: 'Pong!' } });
    expect(p.sim.interactionResponses(ix.id)!.callback).toMatchObject({ type: 4, data: { content: 'Pong!' } });
    await sleep(1000);
    expect(await workerSaw(ix.id)).toBe(false);
    expect(workerCalls(ix.id, ix.token)).toEqual([]);
  });

  it('answers /stats (fast, but it needs the database) through the worker, which edits the deferral', async () => {
    const { ix, response } = await p.http!.createInteraction({ commandName: 'stats', guildId: p.sim.guildIds[0] });
    expect(response).toEqual({ type: 5 });
    const s = p.sim.interactionResponses(ix.id)!;
    await until(() => s.messages.length > 0, 'the follow-up edit');
    expect((s.messages[0]!.body as { content: string }).content).toMatch(/^Members: \d+ present/);
  });
});

describe('HTTP ingress queue client', () => {
  it('gives up on a queue endpoint that never answers (so the user gets "try again" inside the 3 s, not a timeout)', async () => {
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    const set = { AWS_ENDPOINT_URL_SQS: url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    for (const [k, v] of Object.entries(set)) vi.stubEnv(k, v);
    try {
      const deps = httpIngressDepsFrom(parseHttpIngressConfig({ DISCORD_PUBLIC_KEY: testKeyPair().publicKeyHex, DISCORD_APPLICATION_ID: '100000000000000001', INTERACTION_QUEUE_URL: `${url}/000000000000/q` }));
      await expect(deps.enqueue('{}')).rejects.toMatchObject({ name: 'TimeoutError' });
    } finally {
      vi.unstubAllEnvs();
      hang.closeAllConnections();
      hang.close();
    }
  });
});
