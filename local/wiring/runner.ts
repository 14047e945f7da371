/**
 * A local stand-in for Lambda's SQS event source mapping: polls each mapped queue and invokes the
 * worker handler in-process the way the template's AWS::Lambda::EventSourceMapping says (batch size,
 * batching window, maximum concurrency, ReportBatchItemFailures). Semantics follow
 * https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html:
 *  - a batch is sent when it holds BatchSize records or the batching window has passed;
 *  - a handler that throws (or outlives the function timeout) fails the whole batch: nothing is
 *    deleted and every record comes back after the visibility timeout;
 *  - with ReportBatchItemFailures, the records it names stay, the rest are deleted;
 *  - at most MaximumConcurrency invocations per mapping run at once.
 * Receive counts, redrive to the DLQ and visibility are the SQS endpoint's own.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import * as guildWorker from '../../lambdas/guild/handler';
import * as interactionWorker from '../../lambdas/interaction/handler';
import * as memberWorker from '../../lambdas/member/handler';
import type { AppliedWiring } from './apply';
import type { MappingPlan, WiringPlan } from './template';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface MappingStats {
  mapping: string;
  queue: string;
  worker?: string;
  invocations: number;
  records: number;
  succeeded: number;
  failed: number;
  errors: number;
  timeouts: number;
  inFlight: number;
  maxInFlight: number;
  lastError?: string;
}

export interface RunnerOptions {
  /** handler per function logical id */
  handlers: Record<string, SqsHandler>;
  /** cap on concurrency when a mapping sets none (Lambda would scale far higher) @default 5 */
  defaultConcurrency?: number;
  /**
   * At most this many pollers (concurrent invocations) per mapping. Lambda starts with 5 pollers and
   * scales toward MaximumConcurrency with the backlog; a local emulator serves long polls from a small
   * thread pool, so 100 idle pollers would starve it. @default 10
   */
  maxPollers?: number;
  /** multiply every mapping's MaximumConcurrency (tests of scaling); the result is at least 1 */
  concurrencyOverride?: Partial<Record<string, number>>;
  region?: string;
  onError?: (mapping: string, err: unknown) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toRecord(m: Message, arn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: region,
  };
}

function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: id,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${id}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export class EventSourceRunner {
  private running = false;
  /** mappings switched off, like an event source mapping with Enabled: false */
  private readonly disabled = new Set<string>();
  /** pollers wanted per mapping, and pollers started */
  private readonly desired = new Map<string, number>();
  private readonly started = new Map<string, number>();
  private loops: Promise<void>[] = [];
  private readonly stats = new Map<string, MappingStats>();

  constructor(
    private readonly plan: WiringPlan,
    private readonly wiring: AppliedWiring,
    private readonly sqs: SQSClient,
    private readonly opts: RunnerOptions,
  ) {
    for (const m of plan.mappings) {
      if (!opts.handlers[m.function]) throw new Error(`no handler for function ${m.function} (mapping ${m.logicalId}); pass one in handlers`);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const m of this.plan.mappings) {
      const s: MappingStats = {
        mapping: m.logicalId,
        queue: m.queue,
        worker: this.plan.functions.find((f) => f.logicalId === m.function)?.worker,
        invocations: 0,
        records: 0,
        succeeded: 0,
        failed: 0,
        errors: 0,
        timeouts: 0,
        inFlight: 0,
        maxInFlight: 0,
      };
      this.stats.set(m.logicalId, s);
      this.desired.set(m.logicalId, this.concurrency(m));
      this.spawn(m);
    }
  }

  concurrency(m: MappingPlan): number {
    const o = this.opts.concurrencyOverride?.[m.logicalId] ?? this.opts.concurrencyOverride?.[this.stats.get(m.logicalId)?.worker ?? ''];
    if (o !== undefined) return Math.max(1, o);
    return Math.max(1, Math.min(this.opts.maxPollers ?? 10, m.maxConcurrency ?? this.opts.defaultConcurrency ?? 5));
  }

  private spawn(m: MappingPlan): void {
    const s = this.stats.get(m.logicalId)!;
    for (let i = this.started.get(m.logicalId) ?? 0; i < this.desired.get(m.logicalId)!; i++) {
      this.loops.push(this.poll(m, s, i));
      this.started.set(m.logicalId, i + 1);
    }
  }

  /** Changes how many invocations of a mapping (by logical id or worker name) may run at once. */
  setConcurrency(mappingOrWorker: string, n: number): void {
    for (const m of this.plan.mappings) {
      const worker = this.plan.functions.find((f) => f.logicalId === m.function)?.worker;
      if (m.logicalId !== mappingOrWorker && worker !== mappingOrWorker) continue;
      this.desired.set(m.logicalId, Math.max(1, n));
      if (this.running) this.spawn(m);
    }
  }

  /** Switches a mapping (by logical id or worker name) off or on, like Enabled on an event source mapping. */
  setEnabled(mappingOrWorker: string, enabled: boolean): void {
    for (const m of this.plan.mappings) {
      const worker = this.plan.functions.find((f) => f.logicalId === m.function)?.worker;
      if (m.logicalId !== mappingOrWorker && worker !== mappingOrWorker) continue;
      if (enabled) this.disabled.delete(m.logicalId);
      else this.disabled.add(m.logicalId);
    }
  }

  /** Starts a new peak for maxInFlight (e.g. after setConcurrency), for a mapping by logical id or worker name. */
  resetPeak(mappingOrWorker: string): void {
    for (const [logicalId, s] of this.stats) if (logicalId === mappingOrWorker || s.worker === mappingOrWorker) s.maxInFlight = s.inFlight;
  }

  snapshot(): MappingStats[] {
    return [...this.stats.values()].map((s) => ({ ...s }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
    this.started.clear();
  }

  /** One poller = one concurrent invocation slot, like Lambda's MaximumConcurrency. */
  private async poll(m: MappingPlan, s: MappingStats, index: number): Promise<void> {
    const q = this.wiring.queues[m.queue]!;
    const fn = this.plan.functions.find((f) => f.logicalId === m.function)!;
    const handler = this.opts.handlers[m.function]!;
    const region = this.opts.region ?? 'us-east-1';
    while (this.running) {
      if (this.disabled.has(m.logicalId) || index >= (this.desired.get(m.logicalId) ?? 0)) {
        await sleep(100);
        continue;
      }
      const batch: Message[] = [];
      try {
        const receive = (max: number, wait: number) =>
          this.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: max, WaitTimeSeconds: wait, MessageSystemAttributeNames: ['All'] }));
        batch.push(...((await receive(Math.min(10, m.batchSize), 1)).Messages ?? []));
        // then fill up to BatchSize until the batching window passes (a receive returns at most 10)
        const windowEnd = Date.now() + m.maxBatchingWindowSeconds * 1000;
        while (batch.length > 0 && batch.length < m.batchSize && Date.now() < windowEnd && this.running) {
          const wait = Math.min(1, Math.floor((windowEnd - Date.now()) / 1000));
          const got = (await receive(Math.min(10, m.batchSize - batch.length), wait)).Messages ?? [];
          batch.push(...got);
          if (got.length === 0 && wait === 0) await sleep(50);
        }
      } catch (err) {
        s.errors++;
        s.lastError = String((err as Error).message ?? err);
        this.opts.onError?.(m.logicalId, err);
        await sleep(500);
        continue;
      }
      if (batch.length === 0) continue;
      await this.invoke(m, s, fn.logicalId, fn.timeoutSeconds, handler, batch, q.url, q.arn, region);
    }
  }

  private async invoke(
    m: MappingPlan,
    s: MappingStats,
    fnName: string,
    timeoutSeconds: number,
    handler: SqsHandler,
    batch: Message[],
    url: string,
    arn: string,
    region: string,
  ): Promise<void> {
    const records = batch.map((msg) => toRecord(msg, arn, region));
    s.invocations++;
    s.records += records.length;
    s.inFlight++;
    s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
    let failedIds = new Set<string>(records.map((r) => r.messageId));
    try {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutSeconds * 1000)));
      const result = await Promise.race([handler({ Records: records }, lambdaContext(fnName, timeoutSeconds * 1000)), timeout]);
      clearTimeout(timer);
      if (result === 'timeout') {
        s.timeouts++;
        s.lastError = `timed out after ${timeoutSeconds} s`;
      } else if (m.reportBatchItemFailures && result && Array.isArray(result.batchItemFailures)) {
        failedIds = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      } else {
        failedIds = new Set();
      }
    } catch (err) {
      s.errors++;
      s.lastError = String((err as Error).message ?? err);
      this.opts.onError?.(m.logicalId, err);
    } finally {
      s.inFlight--;
    }
    const done = records.filter((r) => !failedIds.has(r.messageId));
    s.failed += records.length - done.length;
    s.succeeded += done.length;
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      await this.sqs
        .send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })) }))
        .catch((err) => {
          s.errors++;
          s.lastError = `delete failed: ${String((err as Error).message ?? err)}`;
        });
    }
  }
}

/** The worker modules a function's WORKER variable can name (the NodejsFunction entries). */
const WORKER_MODULES: Record<string, () => Promise<unknown>> = {
  interaction: async () => interactionWorker,
  member: async () => memberWorker,
  guild: async () => guildWorker,
};

/** Loads `lambdas/<worker>/handler.ts` for every mapped function whose worker is known. */
export async function loadWorkerHandlers(plan: WiringPlan): Promise<Record<string, SqsHandler>> {
  const out: Record<string, SqsHandler> = {};
  for (const m of plan.mappings) {
    const fn = plan.functions.find((f) => f.logicalId === m.function)!;
    if (!fn.worker) throw new Error(`function ${fn.logicalId} (${fn.cdkPath ?? '?'}) has no WORKER environment variable: cannot tell which handler it runs`);
    const load = WORKER_MODULES[fn.worker];
    if (!load) throw new Error(`function ${fn.logicalId} runs worker "${fn.worker}", which has no module here (known: ${Object.keys(WORKER_MODULES).join(', ')})`);
    const mod = (await load()) as { handler?: SqsHandler };
    if (typeof mod.handler !== 'function') throw new Error(`lambdas/${fn.worker}/handler.ts exports no handler`);
    out[fn.logicalId] = mod.handler;
  }
  return out;
}
