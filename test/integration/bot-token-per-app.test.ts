/**
 * Per-application bot tokens (issue 14) through the member worker's real Lambda handler: two
 * applications, each with its own Discord (a simulator that accepts only its own bot token), its token
 * in the emulator's Secrets Manager, application B in the registry in the password Redis. A member
 * event of B gets its auto role through B's Discord with B's token; one of A through A's with the
 * configured token; an application nobody registered is dead-lettered with its reason on first sight.
 */
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSRecord } from 'aws-lambda';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { ContractError, wrapDispatch, type Envelope } from '../../lib/contract';
import { handler as memberHandler } from '../../lambdas/member/handler';
import { BotRestClients } from '../../lambdas/shared/bot-rest';
import { parseWorkerConfig } from '../../lambdas/shared/config';
import { withGuild } from '../../lambdas/shared/db';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { redisAuthClient } from '../../local/redis-auth';
import { DiscordSimulator } from '../../local/simulator';
import { localWorkerEnv } from '../../local/worker-env';
import { putApplication } from '../../shared/app-registry';
import { envelopeRecord } from './sqs-record';

const run = Date.now();
const ns = `tok-${run}`;
const sqs = new SQSClient(localSqsConfig());
const sm = new SecretsManagerClient(localAwsConfig());
const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const APP_C = '100000000000000993';
let simA: DiscordSimulator;
let simB: DiscordSimulator;
let redis: Redis;
let queueArn: string;
let dlqUrl: string;
const queues: string[] = [];
const secrets: string[] = [];
let msg = 0;
let seq = 0;

const secret = async (name: string, value: string): Promise<string> => {
  const arn = (await sm.send(new CreateSecretCommand({ Name: `${name}-${run}`, SecretString: value }))).ARN;
  if (!arn) throw new Error('no ARN');
  secrets.push(arn);
  return arn;
};

beforeAll(async () => {
  await migrate();
  simA = await DiscordSimulator.start({ guilds: 1 });
  simB = await DiscordSimulator.start({ guilds: 1, appId: '100000000000000992' });
  redis = redisAuthClient();
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `tokens-dlq-${run}` }))).QueueUrl ?? '';
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  const q = (await sqs.send(new CreateQueueCommand({ QueueName: `tokens-src-${run}`, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) } }))).QueueUrl ?? '';
  queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  dlqUrl = dlq;
  queues.push(q, dlq);
  await putApplication(redis, { appId: simB.appId, tokenSecretArn: await secret('token-b', JSON.stringify({ token: simB.token })), apiUrl: simB.restUrl }, ns);
  Object.assign(process.env, {
    ...(await localWorkerEnv()),
    REDIS_KEY_PREFIX: ns,
    DISCORD_APPLICATION_ID: simA.appId,
    DISCORD_API_URL: simA.restUrl,
    DISCORD_TOKEN_SECRET_ARN: await secret('token-a', simA.token),
  });
});
afterAll(async () => {
  await simA.stop();
  await simB.stop();
  await redis.del(`${ns}:apps`);
  redis.disconnect();
  for (const q of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: q })).catch(() => undefined);
  for (const s of secrets) await sm.send(new DeleteSecretCommand({ SecretId: s, ForceDeleteWithoutRecovery: true })).catch(() => undefined);
  await pool.end();
});

const record = (e: Envelope): SQSRecord => envelopeRecord(e, ++msg, queueArn);
const ctx = () => ({ functionName: 'member', awsRequestId: `req-${++msg}` }) as Context;
const user = (k: number) => String(750000000000000000n + BigInt(run % 1_000_000) * 10n + BigInt(k));
const join = (appId: string, guildId: string, userId: string) =>
  wrapDispatch({ appId, shardId: 0, sessionId: `tok-${run}`, seq: ++seq, type: 'GUILD_MEMBER_ADD', receivedAt: Date.now(), data: { guild_id: guildId, user: { id: userId, username: 'u' }, roles: [], joined_at: new Date().toISOString() } });
const autoRole = async (guildId: string) => {
  const role = String(BigInt(guildId) + 9n);
  await withGuild(pool, guildId, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', $2::text)) ON CONFLICT (guild_id) DO UPDATE SET settings = excluded.settings", [guildId, role]));
};
const roleAdds = (sim: DiscordSimulator, userId: string) => sim.requests.filter((r) => r.route === 'member_role_add' && r.path.includes(userId)).map((r) => ({ status: r.status, auth: r.headers.authorization }));

describe('bot tokens per application', () => {
  it("answers a member event with the token of its own application: B's through B's Discord, A's (the configured one) through A's", async () => {
    const [gA = '', gB = ''] = [simA.guildIds[0], simB.guildIds[0]];
    await autoRole(gA);
    await autoRole(gB);
    const [uA, uB] = [user(1), user(2)];
    expect(await memberHandler({ Records: [record(join(simB.appId, gB, uB)), record(join(simA.appId, gA, uA))] }, ctx())).toEqual({ batchItemFailures: [] });

    // each simulator accepts only its own bot token (401 otherwise): a 204 is the right token
    expect(roleAdds(simB, uB)).toEqual([{ status: 204, auth: 'Bot [redacted]' }]);
    expect(roleAdds(simA, uA)).toEqual([{ status: 204, auth: 'Bot [redacted]' }]);
    expect(roleAdds(simA, uB)).toEqual([]);
    expect(roleAdds(simB, uA)).toEqual([]);
  });

  it('dead-letters an event of an application that is neither configured nor registered, with the reason, on first sight', async () => {
    const g = simA.guildIds[0] ?? '';
    const uC = user(3);
    const e = join(APP_C, g, uC);
    expect(await memberHandler({ Records: [record(e)] }, ctx())).toEqual({ batchItemFailures: [] });
    const dead: Array<{ reason?: string; envelopeId?: string }> = [];
    for (let i = 0; i < 20 && dead.length === 0; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
      for (const m of r.Messages ?? []) dead.push({ reason: m.MessageAttributes?.reason?.StringValue, envelopeId: m.MessageAttributes?.envelopeId?.StringValue });
    }
    expect(dead).toEqual([{ envelopeId: e.id, reason: expect.stringContaining(`UNKNOWN_APPLICATION: no bot token for application ${APP_C}`) as string }]);
    expect(dead[0]?.reason).toContain(`${ns}:apps`);
    expect(JSON.stringify(dead)).not.toContain(simA.token);
    expect([...roleAdds(simA, uC), ...roleAdds(simB, uC)]).toEqual([]);
  });

  it('reads each application token once per client lifetime, and again after it', async () => {
    let reads = 0;
    // a real client, its requests counted by an SDK middleware
    const counting = new SecretsManagerClient(localAwsConfig());
    counting.middlewareStack.add(
      (next) => (args) => {
        reads++;
        return next(args);
      },
      { step: 'initialize' },
    );
    let now = 1_000;
    const clients = new BotRestClients(parseWorkerConfig(process.env), redis, { sm: counting, ttlMs: 60_000, now: () => now });
    const [first, second] = await Promise.all([clients.restFor(simB.appId), clients.restFor(simB.appId)]);
    expect(second).toBe(first);
    expect(reads).toBe(1);
    now += 60_001;
    expect(await clients.restFor(simB.appId)).not.toBe(first);
    expect(reads).toBe(2);
    await expect(clients.restFor(APP_C)).rejects.toBeInstanceOf(ContractError);
    expect(reads).toBe(2);
  });
});
