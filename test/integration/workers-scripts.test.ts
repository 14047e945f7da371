/** The operator scripts of the workers: npm run dlq (against the local AWS endpoint). */
import { spawn } from 'node:child_process';
import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { Pool } from 'pg';
import { migrate } from '../../db/migrate';
import { wrapDispatch } from '../../lib/contract';
import { handler } from '../../lambdas/guild/handler';
import { withGuild } from '../../lambdas/shared/db';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCAL_ENDPOINT, localSqsConfig } from '../../local/aws';

const runScript = (args: string[]) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn('npx', ['tsx', 'scripts/dlq.ts', ...args], {
      env: { ...process.env, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? DEFAULT_LOCAL_ENDPOINT, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('close', (code) => resolve({ code, out, err }));
  });

const workerPool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });

describe('npm run dlq', () => {
  it('redrives a DLQ message back to its queue, body unchanged, and counts what waits', async () => {
    const sqs = new SQSClient(localSqsConfig());
    const run = Date.now();
    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: `workers-q-${run}` }))).QueueUrl!;
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `workers-dlq-${run}` }))).QueueUrl!;
    try {
      const body = JSON.stringify({ detail: { v: 1, id: 'poison-then-fixed' } });
      await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: body }));
      const count = await runScript(['count', '--dlq-url', dlq]);
      expect(count.code).toBe(0);
      expect(count.out).toMatch(/^1 messages in /);

      const r = await runScript(['redrive', 'members', '--queue-url', queue, '--dlq-url', dlq]);
      expect(r.code).toBe(0);
      expect(r.out).toContain('redrive members: moved 1 messages');
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      expect(got.Messages?.map((m) => m.Body)).toEqual([body]);
      const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      expect(left.Messages ?? []).toHaveLength(0);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue })).catch(() => undefined);
      await sqs.send(new DeleteQueueCommand({ QueueUrl: dlq })).catch(() => undefined);
    }
  }, 30_000);

  it('names the tiers, and the flags and variables to set when no queue is found', async () => {
    const noTier = await runScript(['redrive', 'nope', '--queue-url', 'x', '--dlq-url', 'y']);
    expect(noTier.code).toBe(1);
    expect(noTier.err).toMatch(/redrive needs a tier: one of .*members/);
    const stack = `NothingHere${Date.now()}`;
    const noQueue = await runScript(['redrive', 'members', '--stack', stack]);
    expect(noQueue.code).toBe(1);
    expect(noQueue.err).toContain(`stack ${stack} does not exist`);
    expect(noQueue.err).toContain('--queue-url');
    expect(noQueue.err).toContain('MEMBERS_QUEUE_URL');
  }, 30_000);
});

describe('poison input through the real handler', () => {
  it('sends a malformed record to the DLQ after maxReceiveCount, its batch mates done; redrive brings it back unchanged', async () => {
    Object.assign(process.env, {
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy',
      DISCORD_APPLICATION_ID: '100000000000000001',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    await migrate();
    const sqs = new SQSClient(localSqsConfig());
    const run = Date.now();
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `poison-dlq-${run}` }))).QueueUrl!;
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: `poison-q-${run}`, Attributes: { VisibilityTimeout: '1', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }) } }))).QueueUrl!;
    const g = String(650000000000000000n + BigInt(run % 1_000_000_000));
    const good = wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: `p-${run}`, seq: 1, type: 'GUILD_CREATE', receivedAt: run, data: { id: g, name: 'fine' } });
    const busEvent = (detail: unknown) => JSON.stringify({ version: '0', id: 'x', 'detail-type': 'GUILD_CREATE', source: 'discord.gateway', account: '1', time: new Date(run).toISOString(), region: 'us-east-1', resources: [], detail });
    const poison = busEvent({ v: 1, id: 'not-an-envelope-id', type: 'GUILD_CREATE' });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: busEvent(good) }));
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: poison }));
      // a poller like Lambda's: invoke with what arrives, delete what the handler did not report failed
      const failures: string[] = [];
      const deadline = Date.now() + 20_000;
      let inDlq: string[] = [];
      while (Date.now() < deadline && inDlq.length === 0) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
        const msgs = r.Messages ?? [];
        if (msgs.length) {
          const event = {
            Records: msgs.map((m) => ({ messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, attributes: m.Attributes ?? {}, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn', awsRegion: 'us-east-1' })),
          } as unknown as SQSEvent;
          const res = await handler(event, { functionName: 'guild', awsRequestId: String(Date.now()) } as Context);
          const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
          failures.push(...failed);
          for (const m of msgs) if (!failed.has(m.MessageId!)) await sqs.send(new DeleteMessageCommand({ QueueUrl: queue, ReceiptHandle: m.ReceiptHandle! }));
        }
        const d = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
        inDlq = (d.Messages ?? []).map((m) => m.Body!);
      }
      expect(inDlq).toEqual([poison]);
      expect(failures.length).toBeGreaterThanOrEqual(2);
      const stored = await withGuild(workerPool, g, async (c) => (await c.query<{ name: string }>('SELECT name FROM guilds')).rows);
      expect(stored).toEqual([{ name: 'fine' }]);

      // the records here carry a made-up eventSourceARN, so the handler cannot find the DLQ to send the
      // poison to on first sight: SQS moved it after maxReceiveCount receives, and peek says so (the
      // first-sight path, with the worker's reason, is in e2e.test.ts on the deployed stack)
      const shown = await runScript(['peek', '--dlq-url', dlq]);
      expect(shown.code).toBe(0);
      expect(shown.out).toMatch(/^1 message shown from /);
      expect(shown.out).toContain('reason:   (none: moved by SQS after maxReceiveCount failed receives)');
      expect(shown.out).toContain('"not-an-envelope-id"');
      const back = await runScript(['redrive', 'guilds', '--queue-url', queue, '--dlq-url', dlq]);
      expect(back.out).toContain('moved 1 messages');
      const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }));
      expect(again.Messages?.map((m) => m.Body)).toEqual([poison]);
    } finally {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queue })).catch(() => undefined);
      await sqs.send(new DeleteQueueCommand({ QueueUrl: dlq })).catch(() => undefined);
      await workerPool.end();
    }
  }, 60_000);
});
