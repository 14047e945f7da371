/**
 * One fault case's world: a fresh Discord simulator, a bus whose rule sends every gateway event to a
 * queue, a bucket for claim checks and dead letters, the AWS fault proxy in front of the emulator,
 * and the real ingestor process(es) with Redis that demands a password. `account()` counts loss from
 * the simulator's own ledger against what the bus delivered and what was durably dead-lettered.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEventBusCommand, DeleteEventBusCommand, DeleteRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { classify, EVENT_SOURCE, parseDeliveredEvent } from '../../lib/contract';
import { localAwsConfig, localSqsConfig } from '../aws';
import { redisAuthEnv } from '../redis-auth';
import { required } from '../required';
import { DiscordSimulator, type SimulatorOptions } from '../simulator';
import { AwsFaultProxy } from './aws-fault-proxy';
import { startIngestorProcess, type IngestorProcess } from './ingestor-process';

export const wanted = (type: string): boolean => classify(type) !== undefined;
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One row of the chaos table. */
export interface ChaosResult {
  case: string;
  routed: number;
  delivered: number;
  deadLettered: number;
  lost: number;
  /** dead letters of events that could have been published */
  wronglyDeadLettered: number;
  duplicated: number;
  identifies: number;
  /** identifies beyond one per shard that the case does not explain (Discord did not force them) */
  unforcedIdentifies: number;
  resumes: number;
  crashes: number;
  seconds: number;
}

/** A TCP port nothing listens on now (the processes under test serve /ready on it). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** Receives and deletes until the queue stays empty for `idleMs`: how often each envelope id arrived. */
export async function drainQueue(sqs: SQSClient, queueUrl: string, idleMs = 3000, into = new Map<string, number>()): Promise<Map<string, number>> {
  let idle = Date.now();
  while (Date.now() - idle < idleMs) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const ms = r.Messages ?? [];
    if (ms.length === 0) {
      await sleep(100);
      continue;
    }
    idle = Date.now();
    for (const m of ms) {
      const { envelope } = parseDeliveredEvent(required(m.Body, 'SQS message Body'));
      into.set(envelope.id, (into.get(envelope.id) ?? 0) + 1);
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: ms.map((m, i) => ({ Id: String(i), ReceiptHandle: required(m.ReceiptHandle, 'SQS message ReceiptHandle') })) }));
  }
  return into;
}

export class ChaosWorld {
  readonly processes: IngestorProcess[] = [];
  private readonly cleanups: Array<() => unknown> = [];
  private spoolDir: string;

  private constructor(
    readonly sim: DiscordSimulator,
    readonly proxy: AwsFaultProxy,
    readonly queueUrl: string,
    readonly bucket: string,
    private readonly baseEnv: Record<string, string>,
    readonly shards: number,
  ) {
    this.spoolDir = mkdtempSync(join(tmpdir(), 'chaos-spool-'));
  }

  static async create(opts: { shards?: number; sim?: SimulatorOptions; env?: Record<string, string> } = {}): Promise<ChaosWorld> {
    const shards = opts.shards ?? 2;
    const tag = randomUUID().slice(0, 8);
    // an application id of its own: the resume points live under gateway:<app id>
    const appId = String(200000000000000000n + BigInt(Math.floor(Math.random() * 1e15)));
    const sim = await DiscordSimulator.start({ appId, shards, guilds: 8, maxConcurrency: shards, heartbeatIntervalMs: 1000, sessionTtlMs: 600_000, ...opts.sim });
    const aws = localAwsConfig();
    const eb = new EventBridgeClient(aws);
    const sqs = new SQSClient(localSqsConfig());
    const s3 = new S3Client(aws);
    const bus = `chaos-${tag}`;
    const bucket = `chaos-${tag}`;
    await eb.send(new CreateEventBusCommand({ Name: bus }));
    const queueUrl = required((await sqs.send(new CreateQueueCommand({ QueueName: `chaos-${tag}` }))).QueueUrl, 'CreateQueue QueueUrl');
    const arn = required((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn, 'GetQueueAttributes QueueArn');
    await eb.send(new PutRuleCommand({ Name: `all-${tag}`, EventBusName: bus, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
    await eb.send(new PutTargetsCommand({ Rule: `all-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn }] }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const proxy = await AwsFaultProxy.start(aws.endpoint);
    const env: Record<string, string> = {
      DISCORD_TOKEN: sim.token,
      DISCORD_APPLICATION_ID: appId,
      DISCORD_API_URL: sim.restUrl,
      TOTAL_SHARDS: String(shards),
      EVENT_BUS_NAME: bus,
      CLAIM_CHECK_BUCKET: bucket,
      ...(await redisAuthEnv()),
      AWS_ENDPOINT_URL: proxy.url,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      METRICS_INTERVAL_MS: '3600000',
      // a SIGKILLed task's shards are taken over once its leases expire: short, so the cases run fast
      LEASE_TTL_MS: '3000',
      ...opts.env,
    };
    const w = new ChaosWorld(sim, proxy, queueUrl, bucket, env, shards);
    w.cleanups.push(
      () => sim.stop(),
      () => proxy.stop(),
      async () => {
        await eb.send(new RemoveTargetsCommand({ Rule: `all-${tag}`, EventBusName: bus, Ids: ['q'] })).catch(() => undefined);
        await eb.send(new DeleteRuleCommand({ Name: `all-${tag}`, EventBusName: bus })).catch(() => undefined);
        await eb.send(new DeleteEventBusCommand({ Name: bus })).catch(() => undefined);
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
        eb.destroy();
        sqs.destroy();
        s3.destroy();
      },
    );
    return w;
  }

  /** Starts an ingestor process; `newDisk` gives it an empty spool directory (a new Fargate task). */
  async start(opts: { newDisk?: boolean; env?: Record<string, string> } = {}): Promise<IngestorProcess> {
    if (opts.newDisk ?? true) this.spoolDir = mkdtempSync(join(tmpdir(), 'chaos-spool-'));
    const p = startIngestorProcess({ ...this.baseEnv, HTTP_PORT: String(await freePort()), SPOOL_DIR: this.spoolDir, ...opts.env });
    this.processes.push(p);
    this.cleanups.push(() => p.signal('SIGKILL'));
    return p;
  }

  get currentSpoolDir(): string {
    return this.spoolDir;
  }

  /** The spool's segment files on disk, oldest first. */
  spoolSegments(): string[] {
    return readdirSync(this.spoolDir)
      .filter((f) => f.endsWith('.spool'))
      .sort();
  }

  /** Appends half a record to the newest spool segment (a crash in the middle of a write) and a record with a wrong checksum before it. */
  tearSpool(): string {
    // the newest segment; when the killed task had just taken its last one back into memory (the
    // resume point still covers those events), a segment of its own: recovery reads both the same way
    const last = this.spoolSegments().at(-1) ?? 'segment-0000000000.spool';
    const file = join(this.spoolDir, last);
    const body = Buffer.from(JSON.stringify({ entry: { Source: 'x', DetailType: 'y', Detail: '{}' }, meta: { shardId: 0, sessionId: 's', seq: 1, type: 'y', id: 'i', receivedAt: 0 } }));
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(body.length, 0);
    bad.writeUInt32BE(12345, 4); // not its CRC-32
    const torn = Buffer.alloc(8);
    torn.writeUInt32BE(4096, 0); // claims 4 KiB, has 10 bytes
    appendFileSync(file, Buffer.concat([bad, body, torn, Buffer.from('{"entry":{')]));
    return file;
  }

  /** Waits until every shard of the process is READY. */
  async waitReady(p: IngestorProcess, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await p.ready();
      if (r && r.shards.ready === r.shards.total && r.shards.total > 0) return;
      if (p.child.exitCode !== null) throw new Error(`the ingestor exited (${p.child.exitCode}) before it was ready:\n${p.output().slice(-3000)}`);
      if (Date.now() > end) throw new Error(`the ingestor was not ready within ${timeoutMs} ms: ${JSON.stringify(r)}\n${p.output().slice(-3000)}`);
      await sleep(100);
    }
  }

  /** Waits until the process holds nothing: buffer, spool, requests and dead letters all empty. */
  async waitDrained(p: IngestorProcess, timeoutMs = 120_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let quiet = 0;
    while (Date.now() < end) {
      const r = await p.ready();
      const idle = r && r.shards.ready === r.shards.total && r.bufferDepth === 0 && r.spoolDepth === 0 && r.inFlight === 0 && r.deadLettersPending === 0 && !r.backpressure;
      quiet = idle ? quiet + 1 : 0;
      if (quiet >= 5) return;
      await sleep(200);
    }
    throw new Error(`the ingestor did not drain within ${timeoutMs} ms: ${JSON.stringify(await p.ready())}`);
  }

  /** Counts the case: loss by the simulator's ledger against the bus's deliveries and the dead letters. */
  async account(name: string, started: number, expect: { forcedIdentifies?: number; deadLetterReasons?: string[] } = {}): Promise<ChaosResult> {
    const sqs = new SQSClient(localSqsConfig());
    const s3 = new S3Client(localAwsConfig());
    try {
      const expected = this.sim.expectedEnvelopeIds(wanted);
      const delivered = await drainQueue(sqs, this.queueUrl);
      const dead = new Map<string, string>();
      let token: string | undefined;
      do {
        const l = await s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'ingestor-dead-letters/', ContinuationToken: token }));
        for (const o of l.Contents ?? []) {
          const key = required(o.Key, 'ListObjectsV2 Key');
          const object = await s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
          const body = JSON.parse(await required(object.Body, `GetObject ${key} Body`).transformToString()) as { envelopeId: string | null; reason: string };
          dead.set(body.envelopeId ?? key, body.reason);
        }
        token = l.NextContinuationToken;
      } while (token);
      const allowed = new Set(expect.deadLetterReasons ?? []);
      const lost = [...expected].filter((id) => !delivered.has(id) && !dead.has(id));
      const identifies = this.sim.gateway.identifies.filter((i) => i.outcome === 'ready').length;
      return {
        case: name,
        routed: expected.size,
        delivered: [...expected].filter((id) => delivered.has(id)).length,
        deadLettered: dead.size,
        lost: lost.length,
        wronglyDeadLettered: [...dead.values()].filter((r) => !allowed.has(r)).length,
        duplicated: [...delivered.values()].reduce((a, n) => a + n - 1, 0),
        identifies,
        unforcedIdentifies: Math.max(0, identifies - this.shards - (expect.forcedIdentifies ?? 0)),
        resumes: this.sim.gateway.resumes.filter((r) => r.outcome === 'resumed').length,
        crashes: this.processes.filter((p) => p.child.exitCode !== null && p.child.exitCode !== 0).length,
        seconds: Math.round((Date.now() - started) / 100) / 10,
      };
    } finally {
      sqs.destroy();
      s3.destroy();
    }
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c();
  }
}
