/** The operator scripts of the workers: npm run dlq (against the local AWS endpoint). */
import { spawn } from 'node:child_process';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
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

  it('names the tiers and the missing flag when called wrong', async () => {
    const noTier = await runScript(['redrive', 'nope', '--queue-url', 'x', '--dlq-url', 'y']);
    expect(noTier.code).toBe(1);
    expect(noTier.err).toMatch(/redrive needs a tier: one of .*members/);
    const noQueue = await runScript(['redrive', 'members', '--dlq-url', 'y']);
    expect(noQueue.code).toBe(1);
    expect(noQueue.err).toContain('--queue-url is required');
  }, 30_000);
});
