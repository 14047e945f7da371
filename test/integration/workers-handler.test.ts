/**
 * The interaction worker through its real Lambda handler (middy wrapper, clients from the environment)
 * against the simulator's REST, real Redis and the local score service: what one SQS batch of mixed
 * interactions, with a duplicate delivery, produces on Discord's side, and the score service's
 * timeout and circuit breaker.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { REST } from '@discordjs/rest';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { handleInteraction } from '../../lambdas/interaction/core';
import { handler } from '../../lambdas/interaction/handler';
import { createRedis } from '../../lambdas/shared/redis';
import { startScoreService, type ScoreService } from '../../local/score-service';
import { DiscordSimulator } from '../../local/simulator';
import { redisAuthClient } from '../../local/redis-auth';
import { localWorkerEnv } from '../../local/worker-env';

let sim: DiscordSimulator;
let score: ScoreService;
const run = Date.now();
let seq = 0;
let msg = 0;

beforeAll(async () => {
  sim = await DiscordSimulator.start({ guilds: 1 });
  score = await startScoreService(200);
  // the handler reads its configuration on the first invocation, as a Lambda container would; Redis
  // demands a password, which the worker reads from Secrets Manager (REDIS_AUTH_SECRET_ARN) as in AWS
  Object.assign(process.env, {
    ...(await localWorkerEnv()),
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    SCORE_SERVICE_URL: score.url,
    SCORE_TIMEOUT_MS: '500',
  });
});
afterAll(async () => {
  await sim.stop();
  await score.stop();
});

type Ix = ReturnType<DiscordSimulator['createInteraction']>;
const envOf = (ix: Pick<Ix, 'id' | 'token' | 'guildId' | 'channelId' | 'userId' | 'commandName'>): Envelope =>
  wrapDispatch({
    appId: sim.appId,
    shardId: 0,
    sessionId: `h-${run}`,
    seq: ++seq,
    type: 'INTERACTION_CREATE',
    receivedAt: Date.now(),
    data: { id: ix.id, token: ix.token, type: 2, guild_id: ix.guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: ix.commandName } },
  });
const record = (e: Envelope): SQSRecord => ({
  messageId: `m-${++msg}`,
  receiptHandle: 'r',
  body: JSON.stringify({ version: '0', id: `eb-${msg}`, 'detail-type': e.type, source: 'discord.gateway', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: e }),
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:1:interactions',
  awsRegion: 'us-east-1',
});
const ctx = () => ({ functionName: 'interaction', awsRequestId: `req-${++msg}` }) as Context;
const user = (i: number) => String(780000000000000000n + BigInt(run % 1_000_000) * 100n + BigInt(i));
const snowflakeAt = (ms: number) => ((BigInt(ms) - 1420070400000n) << 22n).toString();

describe('interaction worker handler', () => {
  it('answers a mixed batch with exactly one callback per interaction, a duplicate delivery included, and counts the expired one', async () => {
    const emf: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (emf.push(String(chunk)), true));
    try {
      const slow = sim.createInteraction({ commandName: 'check-eligibility', userId: user(1) });
      const fast = sim.createInteraction({ commandName: 'ping' });
      const unknown = sim.createInteraction({ commandName: 'removed-last-week' });
      const expired = { ...fast, id: snowflakeAt(Date.now() - 4_000), token: 'old', commandName: 'ping' };
      const slowEnv = envOf(slow);
      const event: SQSEvent = { Records: [record(slowEnv), record(envOf(fast)), record(slowEnv), record(envOf(unknown)), record(envOf(expired))] };
      const res = await handler(event, ctx());
      expect(res).toEqual({ batchItemFailures: [] });

      const callbacks = sim.requests.filter((r) => r.route === 'interaction_callback');
      expect(callbacks).toHaveLength(3);
      const s = sim.interactionResponses(slow.id)!;
      expect(s.callback).toMatchObject({ type: 5 });
      // deferred before the edit, inside Discord's window (the simulator refuses a late callback)
      expect(s.callback!.at).toBeLessThan(s.messages[0]!.at);
      expect(callbacks.filter((r) => r.path.includes(slow.id)).map((r) => r.status)).toEqual([204]);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
      expect(s.messages).toEqual([expect.objectContaining({ kind: 'edit', body: expect.objectContaining({ content: expect.stringMatching(/^Your score is \d+/) }) })]);
      expect(sim.interactionResponses(fast.id)!.callback).toMatchObject({ type: 4, data: { content: 'Pong!' } });
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
      expect(sim.interactionResponses(unknown.id)!.callback).toMatchObject({ type: 4, data: { content: expect.stringContaining('Unknown command /removed-last-week'), flags: 64 } });

      // its dedupe state is in the Redis that demands the password: the worker authenticated
      const authed = redisAuthClient();
      expect(await authed.exists(`ix:${slow.id}`, `ix:${fast.id}`)).toBe(2);
      authed.disconnect();

      const doc = JSON.parse(emf.find((l) => l.includes('"_aws"'))!) as Record<string, unknown>;
      expect(doc).toMatchObject({ InteractionDeferred: 1, InteractionAnswered: 1, InteractionUnknownCommand: 1, InteractionExpired: 1, InteractionDuplicate: 1 });
      console.info(`slow command deferred ${s.callback!.at - s.createdAt} ms after creation, edited after ${s.messages[0]!.at - s.createdAt} ms`);
    } finally {
      spy.mockRestore();
    }
  });

  it('answers "unavailable" when the score service outlives SCORE_TIMEOUT_MS, and stops calling it once the breaker opens', async () => {
    score.latencyMs = 2_000;
    const before = score.requests;
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ix = sim.createInteraction({ commandName: 'check-eligibility', userId: user(10 + i) });
      expect(await handler({ Records: [record(envOf(ix))] }, ctx())).toEqual({ batchItemFailures: [] });
      const r = sim.interactionResponses(ix.id)!;
      expect(r.callback).toMatchObject({ type: 5 });
      answers.push(String((r.messages[0]?.body as { content?: string }).content));
      // the user was answered while the service still sat on the request: the worker did not wait for it
      if (i < 3) expect(score.requests - score.answered).toBeGreaterThan(0);
    }
    expect(answers.slice(0, 3).every((a) => a.includes('timed out after 500 ms'))).toBe(true);
    expect(answers[3]).toContain('circuit open');
    expect(score.requests - before).toBe(3);
    score.latencyMs = 200;
  });

  it('answers with Redis down (fail open): Discord refuses the duplicate callback, so a redelivery still adds none', async () => {
    const down = await createRedis({ REDIS_URL: 'redis://127.0.0.1:1' }, undefined, { warn: () => undefined });
    try {
      const deps = { redis: down, pool: undefined as never, rest: new REST({ api: sim.restUrl, retries: 0 }), applicationId: sim.appId, commands: commandRegistry(), score: () => Promise.resolve(1) };
      const ix = sim.createInteraction({ commandName: 'ping' });
      const outcomes: string[] = [];
      expect(await handleInteraction(envOf(ix), { ...deps, onOutcome: (o) => outcomes.push(o) })).toBe('answered');
      expect(await handleInteraction(envOf(ix), { ...deps, onOutcome: (o) => outcomes.push(o) })).toBe('duplicate');
      expect(outcomes).toEqual(['redis-unavailable', 'answered', 'redis-unavailable', 'duplicate']);
      // 204: the callback came inside Discord's window (the simulator refuses a late one)
      expect(sim.requests.filter((r) => r.route === 'interaction_callback' && r.path.includes(ix.id)).map((r) => r.status)).toEqual([204, 400]);
    } finally {
      down.disconnect();
    }
  });
});
