/**
 * Proves the local environment is real (started by `bash local/env.sh up`, which `npm test` runs):
 * an EventBridge bus, rule and SQS queue on the AWS endpoint carry one envelope end to end;
 * Redis answers PING; PostgreSQL runs a query as the worker role.
 */
import { randomUUID } from 'node:crypto';
import { CreateEventBusCommand, DeleteEventBusCommand, DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_TABLE, EVENT_SOURCE, parseDeliveredEvent, tierEventPattern, toPutEventsEntry, wrapDispatch } from '../../lib/contract';
import { localAwsConfig, localSqsConfig } from '../../local/aws';

describe('local environment', () => {
  const eb = new EventBridgeClient(localAwsConfig());
  const sqs = new SQSClient(localSqsConfig());
  const tag = randomUUID().slice(0, 8);
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('delivers an envelope from PutEvents through a rule to an SQS queue, unchanged', async () => {
    const bus = `smoke-${tag}`;
    await eb.send(new CreateEventBusCommand({ Name: bus }));
    cleanup.push(() => eb.send(new DeleteEventBusCommand({ Name: bus })));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `smoke-${tag}-interactions` }));
    cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl })));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    expect(arn).toMatch(/^arn:aws:sqs:/);
    const rule = `smoke-${tag}-interactions`;
    await eb.send(new PutRuleCommand({ Name: rule, EventBusName: bus, EventPattern: JSON.stringify(tierEventPattern(DEFAULT_ROUTING_TABLE.interactions)) }));
    await eb.send(new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: 'queue', Arn: arn }] }));
    cleanup.push(async () => {
      await eb.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: bus, Ids: ['queue'] }));
      await eb.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }));
    });

    const envelope = wrapDispatch({
      appId: '100000000000000001',
      shardId: 3,
      sessionId: 'smoke-session',
      seq: 42,
      type: 'INTERACTION_CREATE',
      receivedAt: Date.now(),
      data: { id: '900000000000000001', type: 2, token: 'interaction-token', guild_id: '200000000000000002', channel_id: '300000000000000003', member: { user: { id: '400000000000000004' } }, data: { name: 'ping' } },
    });
    // an event no rule wants must not arrive
    const other = wrapDispatch({ ...envelope, type: 'TYPING_START', seq: 43, data: { channel_id: '300000000000000003', user_id: '400000000000000004' } });
    const put = await eb.send(new PutEventsCommand({ Entries: [toPutEventsEntry(envelope, bus), toPutEventsEntry(other, bus)] }));
    expect(put.FailedEntryCount ?? 0).toBe(0);

    const bodies: string[] = [];
    for (let i = 0; i < 40 && bodies.length === 0; i++) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      bodies.push(...(r.Messages ?? []).map((m) => m.Body ?? ''));
    }
    // give a wrongly routed TYPING_START a moment to show up too
    const late = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
    bodies.push(...(late.Messages ?? []).map((m) => m.Body ?? '').filter((b) => !bodies.includes(b)));
    expect(bodies).toHaveLength(1);

    const delivered = parseDeliveredEvent(bodies[0]!);
    expect(delivered.envelope).toEqual(envelope);
    const raw = JSON.parse(bodies[0]!) as { source: string; 'detail-type': string };
    expect(raw.source).toBe(EVENT_SOURCE);
    expect(raw['detail-type']).toBe('INTERACTION_CREATE');
    expect(delivered.envelope.id).toBe(envelope.id);
    expect(delivered.envelope.guildId).toBe('200000000000000002');
    expect(delivered.envelope.channelId).toBe('300000000000000003');
    expect(delivered.envelope.userId).toBe('400000000000000004');
    expect(delivered.envelope.seq).toBe(42);
    expect(delivered.envelope.shardId).toBe(3);
  });

  it('reaches Redis (PING, SET/GET with a TTL)', async () => {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
      await redis.set(`smoke:${tag}`, 'v', 'EX', 30);
      expect(await redis.get(`smoke:${tag}`)).toBe('v');
      expect(await redis.ttl(`smoke:${tag}`)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('runs a query on PostgreSQL as the worker role, which cannot bypass row-level security', async () => {
    const pg = new Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy' });
    await pg.connect();
    try {
      const r = await pg.query<{ db: string; who: string; bypass: boolean; superuser: boolean }>('select current_database() as db, current_user as who, rolbypassrls as bypass, rolsuper as superuser from pg_roles where rolname = current_user');
      expect(r.rows[0]).toEqual({ db: 'gateway_proxy', who: 'gateway_worker', bypass: false, superuser: false });
    } finally {
      await pg.end();
    }
  });
});
