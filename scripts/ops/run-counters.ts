/**
 * The counters of a run that `npm run cost` prices (scripts/ops/cost-model.ts):
 * - locally, `npm run local` writes them at its end (recordLocalRun) to <state dir>/last-run.json:
 *   the in-process ingestor's counters (received by type, published, dropped), the deployed workers'
 *   AWS/Lambda Invocations, Errors and Duration from the emulator's CloudWatch, their configured
 *   memory, and the run's wall time (the ingestor ran in-process for all of it);
 * - in AWS, fromCloudWatch reads the same numbers over a window with GetMetricData: the ingestor's EMF
 *   (EventsReceived / EventsPublished / EventsDropped, EventsReceived by Type, and the number of EMF
 *   documents, one per task and interval, for task time), SQS NumberOfMessagesSent / Received and
 *   NumberOfEmptyReceives of the tier queues, Lambda Invocations / Duration of the workers.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CloudWatchClient, GetMetricDataCommand, GetMetricStatisticsCommand, ListMetricsCommand, type Dimension, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import aws4 from 'aws4';
import { classify, CONSUMERS, DEFAULT_ROUTING_TABLE, TIER_NAMES, type ConsumerName } from '../../lib/contract';
import { ASSUMED_BATCH_MS, type CostInput } from './cost-model';
import { stateDir } from './logs';

export interface WorkerCounters {
  functionName: string;
  /** false: invocations from the events and the tier's batch size, duration from ASSUMED_BATCH_MS (absent in files of older runs) */
  measured?: boolean;
  invocations: number;
  errors: number;
  durationMs: number;
  memoryMb: number;
}

export interface RunCounters {
  source: 'npm run local' | 'cloudwatch';
  from: string;
  to: string;
  gateway: { received: number; published: number; dropped: number; receivedByType: Record<string, number> };
  /** messages the tier queues got (SQS NumberOfMessagesSent in AWS; locally = published, each event matches one tier rule) */
  queued: number;
  /** ReceiveMessage calls that returned nothing (AWS only; the emulator does not report them) */
  sqsEmptyReceives?: number;
  workers: Partial<Record<ConsumerName, WorkerCounters>>;
  /** the ingestor: summed task time and one task's size */
  ingestor: { taskSeconds: number; vcpu: number; memoryGb: number; how: string };
  notes: string[];
}

export const lastRunFile = () => join(stateDir(), 'last-run.json');

export function readRunCounters(file = lastRunFile()): RunCounters {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no run counters at ${file}: run 'npm run local' first (it writes them at its end), or use --from-cloudwatch --start <time> --end <time> for a deployed stack`);
  }
  return JSON.parse(raw) as RunCounters;
}

/** The model's input from a run's counters. */
export function costInputOf(r: RunCounters): CostInput {
  const workers = Object.fromEntries(Object.entries(r.workers).map(([n, w]) => [n, { invocations: w.invocations, durationMs: w.durationMs, memoryMb: w.memoryMb }]));
  return { published: r.gateway.published, dropped: r.gateway.dropped, queued: r.queued, sqsEmptyReceives: r.sqsEmptyReceives, workers, fargate: { taskSeconds: r.ingestor.taskSeconds, vcpu: r.ingestor.vcpu, memoryGb: r.ingestor.memoryGb } };
}

/** Events by tier (and "filtered") from the received-by-type counts, through the routing table. */
export function mixOf(receivedByType: Record<string, number>): Record<string, number> {
  const mix: Record<string, number> = {};
  for (const [type, n] of Object.entries(receivedByType)) {
    const tier = classify(type) ?? 'filtered';
    mix[tier] = (mix[tier] ?? 0) + n;
  }
  return mix;
}

// ---------- locally: what `npm run local` knows at its end ----------

/** The parts of the local pipeline this reads (local/pipeline/index.ts LocalPipeline). */
export interface LocalRunSource {
  ingestor: { metrics: { received: number; published: number; dropped: number; receivedByType: Map<string, number> } };
  outputs: { functions: Partial<Record<string, string>> };
  mappings: { invocations(w: ConsumerName): Promise<{ invocations: number; errors: number }> };
}

const tierOf = (w: ConsumerName) => {
  const tier = TIER_NAMES.find((t) => DEFAULT_ROUTING_TABLE[t].consumer === w);
  if (!tier) throw new Error(`no tier of the routing table is consumed by the ${w} worker (lib/contract/routing.ts)`);
  return tier;
};
const batchSizeOf = (w: ConsumerName) => DEFAULT_ROUTING_TABLE[tierOf(w)].queue.batchSize;
/** events the worker's tier got, from the ingestor's received-by-type counts */
/** a worker the cost model has no figure for is assumed to cost what the member worker's batches do (batched upserts) */
const assumedBatchMs = (w: ConsumerName): number => (ASSUMED_BATCH_MS as Partial<Record<ConsumerName, number>>)[w] ?? ASSUMED_BATCH_MS.member;
const eventsFor = (w: ConsumerName, byType: Map<string, number>) => [...byType].reduce((a, [t, n]) => a + (classify(t) === tierOf(w) ? n : 0), 0);

/** Ingestor task size the stack deploys (lib/constructs/ingestor-service.ts defaults). */
const TASK = { vcpu: 0.25, memoryGb: 0.5 };

/** The AWS-compatible endpoint a local run deployed to (local/aws.ts localAwsConfig gives it). */
export interface RunEndpoint {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

async function lambdaMemoryMb(functionName: string, aws: RunEndpoint): Promise<number> {
  const url = new URL(`/2015-03-31/functions/${encodeURIComponent(functionName)}/configuration`, aws.endpoint);
  const req = aws4.sign({ host: url.host, path: url.pathname, method: 'GET', service: 'lambda', region: aws.region }, aws.credentials);
  const res = await fetch(url, { headers: req.headers as Record<string, string> });
  if (!res.ok) throw new Error(`GetFunctionConfiguration ${functionName}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return ((await res.json()) as { MemorySize?: number }).MemorySize ?? 128;
}

/**
 * Writes the counters of a local run to <state dir>/last-run.json (for `npm run cost`); returns the
 * file. Called once by `npm run local` at its summary.
 */
export async function recordLocalRun(p: LocalRunSource, startedAt: number, aws: RunEndpoint, file = lastRunFile()): Promise<string> {
  const cw = new CloudWatchClient(aws);
  const from = new Date(startedAt);
  const to = new Date();
  const workers: RunCounters['workers'] = {};
  try {
    for (const w of CONSUMERS) {
      const fn = p.outputs.functions[w];
      if (!fn) continue;
      const { invocations, errors } = await p.mappings.invocations(w);
      const d = await cw.send(
        new GetMetricStatisticsCommand({ Namespace: 'AWS/Lambda', MetricName: 'Duration', Dimensions: [{ Name: 'FunctionName', Value: fn }], StartTime: new Date(startedAt - 60_000), EndTime: new Date(to.getTime() + 60_000), Period: 3600, Statistics: ['Sum'] }),
      );
      const durationMs = (d.Datapoints ?? []).reduce((a, x) => a + (x.Sum ?? 0), 0);
      const memoryMb = await lambdaMemoryMb(fn, aws);
      const events = eventsFor(w, p.ingestor.metrics.receivedByType);
      if (invocations === 0 && events > 0) {
        // MiniStack 1.5.33 emits AWS/Lambda metrics for the Invoke API only, not for its SQS event
        // source mappings: estimated, and said so in the report
        const est = Math.ceil(events / batchSizeOf(w));
        workers[w] = { functionName: fn, measured: false, invocations: est, errors: 0, durationMs: est * assumedBatchMs(w), memoryMb };
      } else workers[w] = { functionName: fn, measured: true, invocations, errors, durationMs, memoryMb };
    }
  } finally {
    cw.destroy();
  }
  const m = p.ingestor.metrics;
  const seconds = (to.getTime() - startedAt) / 1000;
  const counters: RunCounters = {
    source: 'npm run local',
    from: from.toISOString(),
    to: to.toISOString(),
    gateway: { received: m.received, published: m.published, dropped: m.dropped, receivedByType: Object.fromEntries(m.receivedByType) },
    queued: m.published,
    workers,
    ingestor: { taskSeconds: seconds, ...TASK, how: `one task (the in-process ingestor) for the run's ${seconds.toFixed(0)} s, priced as the stack's ${TASK.vcpu} vCPU / ${TASK.memoryGb} GB task` },
    notes: [
      Object.values(workers).some((w) => !w.measured)
        ? `Lambda estimated for ${Object.entries(workers)
            .filter(([, w]) => !w.measured)
            .map(([n]) => n)
            .join(
              ', ',
            )}: the emulator (MiniStack 1.5.33) reports no AWS/Lambda metrics for invocations by SQS event source mappings, so invocations = the tier's events / its batch size (routing table) and duration = ${JSON.stringify(ASSUMED_BATCH_MS)} ms per batch (scripts/ops/cost-model.ts); in AWS both are measured`
        : "Lambda from the emulator's AWS/Lambda metrics (Invocations, Duration) of the deployed workers",
      'the emulator reports no SQS metrics: SQS requests = the sends (one per published event) + a receive and a delete per invocation',
    ],
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(counters, null, 2)}\n`);
  return file;
}

// ---------- in AWS: CloudWatch over a window ----------

export interface CloudWatchWindow {
  start: Date;
  end: Date;
  /** part of every name of the deployed stack's queues and functions, e.g. DiscordGateway-prod */
  stackPattern: string;
  ingestorNamespace?: string;
  /** the ingestors' EMF interval (METRICS_INTERVAL_MS), for task time from the number of documents */
  metricsIntervalS?: number;
  /** one ingestor task's size */
  task?: { vcpu: number; memoryGb: number };
}

async function listAll(cw: CloudWatchClient, namespace: string, metricName: string): Promise<Dimension[][]> {
  const out: Dimension[][] = [];
  let NextToken: string | undefined;
  do {
    const r = await cw.send(new ListMetricsCommand({ Namespace: namespace, MetricName: metricName, NextToken }));
    for (const m of r.Metrics ?? []) out.push(m.Dimensions ?? []);
    NextToken = r.NextToken;
  } while (NextToken);
  return out;
}

/** Sums of many metrics over the window, one number per query id. */
async function sums(cw: CloudWatchClient, queries: Array<{ id: string; namespace: string; metric: string; dims: Dimension[]; stat: 'Sum' | 'SampleCount' }>, w: CloudWatchWindow): Promise<Map<string, number>> {
  const seconds = (w.end.getTime() - w.start.getTime()) / 1000;
  // at most 100,800 points per request: a period that keeps every series under ~1,400 points
  const period = Math.max(60, Math.ceil(seconds / 1400 / 60) * 60);
  const out = new Map<string, number>();
  for (let i = 0; i < queries.length; i += 500) {
    const batch: MetricDataQuery[] = queries.slice(i, i + 500).map((q) => ({ Id: q.id, MetricStat: { Metric: { Namespace: q.namespace, MetricName: q.metric, Dimensions: q.dims }, Period: period, Stat: q.stat }, ReturnData: true }));
    let NextToken: string | undefined;
    do {
      const r = await cw.send(new GetMetricDataCommand({ MetricDataQueries: batch, StartTime: w.start, EndTime: w.end, NextToken }));
      for (const res of r.MetricDataResults ?? []) if (res.Id) out.set(res.Id, (out.get(res.Id) ?? 0) + (res.Values ?? []).reduce((a, v) => a + v, 0));
      NextToken = r.NextToken;
    } while (NextToken);
  }
  return out;
}

const dim = (dims: Dimension[], name: string) => dims.find((d) => d.Name === name)?.Value;

export async function fromCloudWatch(cw: CloudWatchClient, w: CloudWatchWindow): Promise<RunCounters> {
  const ns = w.ingestorNamespace ?? 'DiscordGatewayProxy/Ingestor';
  const queries: Parameters<typeof sums>[1] = [];
  let n = 0;
  const add = (namespace: string, metric: string, dims: Dimension[], stat: 'Sum' | 'SampleCount' = 'Sum') => {
    const id = `q${n++}`;
    queries.push({ id, namespace, metric, dims, stat });
    return id;
  };
  // the ingestor: per shard group (dimension set [ShardGroup]) and by type ([ShardGroup, Type])
  const groups = (await listAll(cw, ns, 'EventsPublished')).filter((d) => d.length === 1 && d[0]?.Name === 'ShardGroup');
  if (!groups.length) throw new Error(`no ${ns} EventsPublished metric in CloudWatch: is the ingestor deployed in this account and region, and is --namespace its METRICS_NAMESPACE?`);
  const ids = { received: [] as string[], published: [] as string[], dropped: [] as string[], docs: [] as string[] };
  for (const d of groups) {
    ids.received.push(add(ns, 'EventsReceived', d));
    ids.published.push(add(ns, 'EventsPublished', d));
    ids.dropped.push(add(ns, 'EventsDropped', d));
    // one EMF document per task and interval: the count of ShardsTotal values is task-intervals
    ids.docs.push(add(ns, 'ShardsTotal', d, 'SampleCount'));
  }
  const byType = (await listAll(cw, ns, 'EventsReceived')).flatMap((d) => {
    const type = dim(d, 'Type');
    return type && d.length === 2 ? [{ type, id: add(ns, 'EventsReceived', d) }] : [];
  });
  const mine = (d: Dimension[], name: string) => (dim(d, name) ?? '').includes(w.stackPattern);
  const queues = (await listAll(cw, 'AWS/SQS', 'NumberOfMessagesSent')).filter((d) => mine(d, 'QueueName') && !/dlq|dead/i.test(dim(d, 'QueueName') ?? ''));
  const sent = queues.map((d) => add('AWS/SQS', 'NumberOfMessagesSent', d));
  const empty = queues.map((d) => add('AWS/SQS', 'NumberOfEmptyReceives', d));
  const fns = (await listAll(cw, 'AWS/Lambda', 'Invocations')).filter((d) => d.length === 1 && mine(d, 'FunctionName'));
  const workerFns: Array<{ worker: ConsumerName; fn: string; inv: string; err: string; dur: string }> = [];
  for (const d of fns) {
    const fn = dim(d, 'FunctionName') ?? '';
    // CDK names the functions <stack>-<Worker>...: the consumer name in it, case-insensitively
    const worker = CONSUMERS.find((c) => fn.toLowerCase().includes(`${c}worker`) || fn.toLowerCase().includes(`${c}-worker`) || fn.toLowerCase().includes(`-${c}`));
    if (!worker) continue;
    workerFns.push({ worker, fn, inv: add('AWS/Lambda', 'Invocations', d), err: add('AWS/Lambda', 'Errors', d), dur: add('AWS/Lambda', 'Duration', d) });
  }
  const s = await sums(cw, queries, w);
  const total = (xs: string[]) => xs.reduce((a, id) => a + (s.get(id) ?? 0), 0);
  const workers: RunCounters['workers'] = {};
  for (const f of workerFns) {
    const prev = workers[f.worker];
    workers[f.worker] = { functionName: prev ? `${prev.functionName},${f.fn}` : f.fn, measured: true, invocations: (prev?.invocations ?? 0) + total([f.inv]), errors: (prev?.errors ?? 0) + total([f.err]), durationMs: (prev?.durationMs ?? 0) + total([f.dur]), memoryMb: 512 };
  }
  const interval = w.metricsIntervalS ?? 60;
  const task = w.task ?? TASK;
  const published = total(ids.published);
  const notes = [`Lambda memory taken as 512 MB (the stack's default, lib/constructs/tier-workers.ts)`];
  if (!queues.length) notes.push(`no SQS queue name contains "${w.stackPattern}": SQS sends taken as the published events`);
  return {
    source: 'cloudwatch',
    from: w.start.toISOString(),
    to: w.end.toISOString(),
    gateway: { received: total(ids.received), published, dropped: total(ids.dropped), receivedByType: Object.fromEntries(byType.map((t) => [t.type, s.get(t.id) ?? 0])) },
    queued: queues.length ? total(sent) : published,
    sqsEmptyReceives: total(empty),
    workers,
    ingestor: { taskSeconds: total(ids.docs) * interval, ...task, how: `${total(ids.docs)} EMF documents x ${interval} s interval (one per task and interval), priced as ${task.vcpu} vCPU / ${task.memoryGb} GB tasks` },
    notes,
  };
}
