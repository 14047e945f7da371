/**
 * The member and guild workers through their real Lambda handlers, with Redis that demands a password
 * (read from Secrets Manager) and real queues on the AWS endpoint: a record that can never succeed
 * goes to its queue's DLQ on the first attempt with its reason; a good one is processed.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { handler as guildHandler } from '../../lambdas/guild/handler';
import { handler as memberHandler } from '../../lambdas/member/handler';
import { localSqsConfig } from '../../local/aws';
import { localWorkerEnv } from '../../local/worker-env';
import { DiscordSimulator } from '../../local/simulator';

const sqs = new SQSClient(localSqsConfig());
const run = Date.now();
let sim: DiscordSimulator;
let queueArn: string;
let dlqUrl: string;
const queues: string[] = [];
let msg = 0;

beforeAll(async () => {
  sim = await DiscordSimulator.start({ guilds: 1 });
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `poison-dlq-${run}` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const q = (await sqs.send(new CreateQueueCommand({ QueueName: `poison-src-${run}`, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) } }))).QueueUrl!;
  queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  dlqUrl = dlq;
  queues.push(q, dlq);
  Object.assign(process.env, {
    ...(await localWorkerEnv()),
    DISCORD_APPLICATION_ID: sim.appId,
    DISCORD_API_URL: sim.restUrl,
    // with the bot token the member worker builds its rate-limited REST client on Redis
    DISCORD_TOKEN: sim.token,
  });
});
afterAll(async () => {
  await sim.stop();
  for (const q of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: q })).catch(() => undefined);
});

const record = (body: string): SQSRecord => ({
  messageId: `m-${++msg}`,
  receiptHandle: 'r',
  body,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: 'us-east-1',
});
const busEvent = (e: Envelope | Record<string, unknown>) =>
  JSON.stringify({ version: '0', id: `eb-${msg}`, 'detail-type': typeof e.type === 'string' ? e.type : 'x', source: 'discord.gateway', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: e });
const ctx = () => ({ functionName: 'w', awsRequestId: `req-${++msg}` }) as Context;
const guild = String(710000000000000000n + BigInt(run % 1_000_000));
const env = (seq: number, type: string, data: Record<string, unknown>) => wrapDispatch({ appId: sim.appId, shardId: 0, sessionId: `p-${run}`, seq, type, receivedAt: Date.now(), data });

async function dlqMessages(want: number) {
  const got = new Map<string, { body: string; reason?: string; envelopeId?: string }>();
  for (let i = 0; i < 30 && got.size < want; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }));
    for (const m of r.Messages ?? []) got.set(m.MessageId!, { body: m.Body!, reason: m.MessageAttributes?.reason?.StringValue, envelopeId: m.MessageAttributes?.envelopeId?.StringValue });
  }
  return [...got.values()];
}

describe('a record that can never succeed', () => {
  it('goes to the DLQ on the first attempt with its reason, from the member and the guild worker alike; good records in the same batch are processed', async () => {
    const member = env(1, 'GUILD_MEMBER_ADD', { guild_id: guild, user: { id: '720000000000000001' }, joined_at: new Date().toISOString(), roles: [] });
    const memberNoUser = env(2, 'GUILD_MEMBER_ADD', { guild_id: guild });
    const guildCreate = env(3, 'GUILD_CREATE', { id: guild, name: 'Poison test' });
    const m: SQSEvent = { Records: [record(busEvent(member)), record(busEvent(memberNoUser)), record('{"not": "an event"}')] };
    const g: SQSEvent = { Records: [record(busEvent(guildCreate)), record(busEvent({ v: 1, id: 'not-an-envelope' }))] };
    // no record comes back for a retry: the poison ones are in the DLQ, the good ones done
    expect(await memberHandler(m, ctx())).toEqual({ batchItemFailures: [] });
    expect(await guildHandler(g, ctx())).toEqual({ batchItemFailures: [] });
    const dead = await dlqMessages(3);
    expect(dead.map((d) => d.reason?.split(':')[0]).sort()).toEqual(['INVALID_DATA', 'INVALID_ENVELOPE', 'INVALID_EVENT']);
    const noUser = dead.find((d) => d.reason?.startsWith('INVALID_DATA'))!;
    expect(noUser.reason).toMatch(/GUILD_MEMBER_ADD .* lacks guild_id or user\.id/);
    expect(noUser.envelopeId).toBe(memberNoUser.id);
    // the body is the original event: `npm run dlq -- redrive` sends it back unchanged
    expect((JSON.parse(noUser.body) as { detail: Envelope }).detail).toEqual(memberNoUser);
  });
});
