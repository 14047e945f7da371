/**
 * Measures AWS emulators side by side for what our tests need (issue: foundation, "choose the AWS
 * emulator by measurement"): EventBridge -> SQS delivery of a 10,000-event backlog, SQS send and
 * receive rates on an empty and on a deep queue, keep-alive vs no keep-alive, and a feature matrix
 * (InputPath, DISABLED rules, DLQ redrive, StartMessageMoveTask, GetMetricData).
 *
 *   npx tsx bench/emulator-compare.ts ministack=http://127.0.0.1:4566 moto=http://127.0.0.1:5000
 *
 * Prints a table and writes bench/results/emulator-compare.json. Never fails on numbers.
 */
import { Agent as HttpAgent } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEventBusCommand, DeleteEventBusCommand, DeleteRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, SendMessageCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_ROUTING_TABLE, errorMessage, EVENT_SOURCE, tierEventPattern, toPutEventsEntry, wrapDispatch } from '../lib/contract';
import { required } from '../local/required';

const BACKLOG = Number(process.env.BACKLOG ?? 10_000);
const PHASE_LIMIT_MS = Number(process.env.PHASE_LIMIT_MS ?? 90_000);

const clientConfig = (endpoint: string, keepAlive: boolean) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  requestHandler: new NodeHttpHandler({ httpAgent: new HttpAgent({ keepAlive, maxSockets: 16 }) }),
});

const now = () => performance.now();

async function pool<T>(n: number, worker: (i: number) => Promise<T>, concurrency: number, deadline: number): Promise<number> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n && now() < deadline) {
        const i = next++;
        await worker(i);
        done++;
      }
    }),
  );
  return done;
}

async function createQueue(sqs: SQSClient, name: string, attributes?: Record<string, string>): Promise<string> {
  return required((await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl, `CreateQueue ${name}: QueueUrl`);
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  return required((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn, `GetQueueAttributes ${url}: QueueArn`);
}

/** What the rule delivers to the queue: the EventBridge event around our envelope (only the fields compared). */
interface DeliveredEvent {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: { id?: unknown };
}

async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

const memberEvent = (i: number) =>
  wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: 'bench',
    seq: i + 1,
    type: 'GUILD_MEMBER_ADD',
    receivedAt: Date.now(),
    data: { guild_id: '200000000000000001', user: { id: String(300000000000000000n + BigInt(i)), username: `u${i}` }, roles: [], joined_at: new Date().toISOString() },
  });

interface Result {
  name: string;
  endpoint: string;
  putEventsPerSec?: number;
  deliveredToQueue?: number;
  deliverySeconds?: number;
  receiveDeletePerSec?: number;
  received?: number;
  fieldsMatch?: boolean;
  sendEmptyPerSecKeepAlive?: number;
  sendEmptyPerSecNoKeepAlive?: number;
  sendDeepPerSec?: number;
  features: Record<string, string>;
  errors: string[];
}

async function measure(name: string, endpoint: string): Promise<Result> {
  const res: Result = { name, endpoint, features: {}, errors: [] };
  const eb = new EventBridgeClient(clientConfig(endpoint, true));
  const sqs = new SQSClient({ ...clientConfig(endpoint, true), useQueueUrlAsEndpoint: false });
  const sqsNoKa = new SQSClient({ ...clientConfig(endpoint, false), useQueueUrlAsEndpoint: false });
  const tag = randomUUID().slice(0, 8);
  const bus = `bench-${tag}`;
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    await eb.send(new CreateEventBusCommand({ Name: bus }));
    cleanup.push(() => eb.send(new DeleteEventBusCommand({ Name: bus })));
    const dlqUrl = await createQueue(sqs, `bench-${tag}-dlq`);
    const dlqArn = await queueArn(sqs, dlqUrl);
    const qUrl = await createQueue(sqs, `bench-${tag}-members`, { VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) });
    cleanup.push(
      () => sqs.send(new DeleteQueueCommand({ QueueUrl: qUrl })),
      () => sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl })),
    );
    const qArn = await queueArn(sqs, qUrl);
    await eb.send(new PutRuleCommand({ Name: `members-${tag}`, EventBusName: bus, EventPattern: JSON.stringify(tierEventPattern(DEFAULT_ROUTING_TABLE.members)) }));
    await eb.send(new PutTargetsCommand({ Rule: `members-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: qArn }] }));
    cleanup.push(async () => {
      await eb.send(new RemoveTargetsCommand({ Rule: `members-${tag}`, EventBusName: bus, Ids: ['q'] }));
      await eb.send(new DeleteRuleCommand({ Name: `members-${tag}`, EventBusName: bus }));
    });

    // 1. PutEvents a backlog in batches of 10, 8 requests in flight.
    const events = Array.from({ length: BACKLOG }, (_, i) => memberEvent(i));
    let t0 = now();
    const deadline = t0 + PHASE_LIMIT_MS;
    const batches = await pool(
      Math.ceil(BACKLOG / 10),
      async (b) => {
        const r = await eb.send(new PutEventsCommand({ Entries: events.slice(b * 10, b * 10 + 10).map((e) => toPutEventsEntry(e, bus)) }));
        if (r.FailedEntryCount) res.errors.push(`PutEvents failed entries: ${r.FailedEntryCount}`);
      },
      8,
      deadline,
    );
    const put = Math.min(BACKLOG, batches * 10);
    res.putEventsPerSec = Math.round(put / ((now() - t0) / 1000));

    // 2. Wait for delivery of the whole backlog to the queue.
    let depth = 0;
    while (now() < deadline + PHASE_LIMIT_MS) {
      depth = await queueDepth(sqs, qUrl);
      if (depth >= put) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    res.deliveredToQueue = depth;
    res.deliverySeconds = Number(((now() - t0) / 1000).toFixed(1));

    // 3. Send rate on a deep queue (the backlog is still there).
    t0 = now();
    const deepSent = await pool(200, (i) => sqs.send(new SendMessageCommand({ QueueUrl: qUrl, MessageBody: `deep-${i}` })), 4, t0 + 30_000);
    res.sendDeepPerSec = Math.round(deepSent / ((now() - t0) / 1000));

    // 4. Drain: receive 10 + delete batch, 4 pollers; check one envelope field by field.
    t0 = now();
    let received = 0;
    let checked = false;
    let emptyPolls = 0;
    const drainDeadline = t0 + PHASE_LIMIT_MS;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (now() < drainDeadline && emptyPolls < 8) {
          const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: qUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
          const msgs = r.Messages ?? [];
          if (msgs.length === 0) {
            emptyPolls++;
            await new Promise((s) => setTimeout(s, 100));
            continue;
          }
          emptyPolls = 0;
          received += msgs.length;
          if (!checked) {
            const body = msgs.map((m) => JSON.parse(required(m.Body, 'SQS message Body')) as DeliveredEvent).find((b) => b.source === EVENT_SOURCE);
            if (body) {
              checked = true;
              const original = events.find((e) => e.id === body.detail?.id);
              res.fieldsMatch = !!original && JSON.stringify(original) === JSON.stringify(body.detail) && body['detail-type'] === 'GUILD_MEMBER_ADD';
            }
          }
          await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: qUrl, Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: required(m.ReceiptHandle, 'SQS message ReceiptHandle') })) }));
        }
      }),
    );
    res.received = received;
    res.receiveDeletePerSec = Math.round(received / ((now() - t0) / 1000));

    // 5. Send rate on an empty queue, with and without keep-alive.
    for (const [client, key] of [
      [sqs, 'sendEmptyPerSecKeepAlive'],
      [sqsNoKa, 'sendEmptyPerSecNoKeepAlive'],
    ] as const) {
      const empty = await createQueue(sqs, `bench-${tag}-empty-${key.length}`);
      cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: empty })));
      t0 = now();
      const n = await pool(300, (i) => client.send(new SendMessageCommand({ QueueUrl: empty, MessageBody: `m${i}` })), 4, t0 + 30_000);
      res[key] = Math.round(n / ((now() - t0) / 1000));
    }

    // 6. Features.
    res.features.inputPath = await feature(async () => {
      const fq = await createQueue(sqs, `bench-${tag}-inputpath`);
      cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: fq })));
      const arn = await queueArn(sqs, fq);
      await eb.send(new PutRuleCommand({ Name: `ip-${tag}`, EventBusName: bus, EventPattern: JSON.stringify({ source: ['bench.inputpath'] }) }));
      await eb.send(new PutTargetsCommand({ Rule: `ip-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn, InputPath: '$.detail' }] }));
      await eb.send(new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: 'bench.inputpath', DetailType: 'x', Detail: '{"only":"detail"}' }] }));
      const m = await receiveOne(sqs, fq);
      return m === '{"only":"detail"}' || (m && JSON.stringify(JSON.parse(m)) === '{"only":"detail"}') ? 'ok' : `got ${m?.slice(0, 60)}`;
    });
    res.features.disabledRule = await feature(async () => {
      const fq = await createQueue(sqs, `bench-${tag}-disabled`);
      cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: fq })));
      const arn = await queueArn(sqs, fq);
      await eb.send(new PutRuleCommand({ Name: `dis-${tag}`, EventBusName: bus, State: 'DISABLED', EventPattern: JSON.stringify({ source: ['bench.disabled'] }) }));
      await eb.send(new PutTargetsCommand({ Rule: `dis-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn }] }));
      await eb.send(new PutEventsCommand({ Entries: [{ EventBusName: bus, Source: 'bench.disabled', DetailType: 'x', Detail: '{}' }] }));
      const m = await receiveOne(sqs, fq);
      return m === undefined ? 'ok' : 'delivered despite DISABLED';
    });
    res.features.dlqRedrive = await feature(async () => {
      await sqs.send(new SendMessageCommand({ QueueUrl: qUrl, MessageBody: 'poison' }));
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: qUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }));
      await new Promise((r) => setTimeout(r, 1500));
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: qUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 1 }));
      const m = await receiveOne(sqs, dlqUrl);
      return m === 'poison' ? 'ok' : `dlq got ${m}`;
    });
    res.features.startMessageMoveTask = await feature(async () => {
      await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: qArn }));
      return 'ok';
    });
    res.features.getMetricData = await feature(async () => {
      const cw = new CloudWatchClient(clientConfig(endpoint, true));
      await cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(Date.now() - 600_000),
          EndTime: new Date(),
          MetricDataQueries: [{ Id: 'a', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'NumberOfMessagesSent' }, Period: 60, Stat: 'Sum' } }],
        }),
      );
      return 'ok';
    });
  } catch (err) {
    res.errors.push(errorMessage(err));
  } finally {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  }
  return res;
}

async function feature(fn: () => Promise<string>): Promise<string> {
  try {
    return await fn();
  } catch (err) {
    return `error: ${err instanceof Error ? err.name : ''} ${errorMessage(err).slice(0, 60)}`;
  }
}

async function receiveOne(sqs: SQSClient, url: string): Promise<string | undefined> {
  for (let i = 0; i < 12; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }));
    const m = r.Messages?.[0];
    if (m) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '0', ReceiptHandle: required(m.ReceiptHandle, 'SQS message ReceiptHandle') }] }));
      return m.Body;
    }
    await new Promise((s) => setTimeout(s, 250));
  }
  return undefined;
}

async function main() {
  const targets = process.argv.slice(2).map((a) => {
    const [name, url] = a.split('=');
    if (!name || !url) throw new Error(`expected name=url, got "${a}"`);
    return { name, url };
  });
  if (targets.length === 0) throw new Error('usage: tsx bench/emulator-compare.ts ministack=http://127.0.0.1:4566 moto=http://127.0.0.1:5000');
  const results: Result[] = [];
  for (const t of targets) {
    process.stderr.write(`measuring ${t.name} at ${t.url} (backlog ${BACKLOG})...\n`);
    results.push(await measure(t.name, t.url));
  }
  const rows: Array<[string, (r: Result) => string | number | boolean | undefined]> = [
    ['PutEvents entries/s (batches of 10, 8 in flight)', (r) => r.putEventsPerSec],
    [`backlog delivered to queue (of ${BACKLOG})`, (r) => r.deliveredToQueue],
    ['seconds from first PutEvents to full queue', (r) => r.deliverySeconds],
    ['SendMessage/s on the deep queue', (r) => r.sendDeepPerSec],
    ['receive+delete msgs/s draining the backlog', (r) => r.receiveDeletePerSec],
    ['messages drained', (r) => r.received],
    ['envelope equal field by field after delivery', (r) => r.fieldsMatch],
    ['SendMessage/s empty queue, keep-alive', (r) => r.sendEmptyPerSecKeepAlive],
    ['SendMessage/s empty queue, no keep-alive', (r) => r.sendEmptyPerSecNoKeepAlive],
    ['InputPath on a target', (r) => r.features.inputPath],
    ['DISABLED rule delivers nothing', (r) => r.features.disabledRule],
    ['SQS redrive to DLQ (maxReceiveCount 1)', (r) => r.features.dlqRedrive],
    ['StartMessageMoveTask', (r) => r.features.startMessageMoveTask],
    ['CloudWatch GetMetricData', (r) => r.features.getMetricData],
    ['errors', (r) => r.errors.join('; ') || '-'],
  ];
  const w = Math.max(...rows.map(([l]) => l.length));
  console.log(`${'measure'.padEnd(w)} | ${results.map((r) => r.name.padEnd(16)).join(' | ')}`);
  for (const [label, get] of rows) console.log(`${label.padEnd(w)} | ${results.map((r) => String(get(r) ?? '-').padEnd(16)).join(' | ')}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/emulator-compare.json', JSON.stringify({ at: new Date().toISOString(), backlog: BACKLOG, results }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
