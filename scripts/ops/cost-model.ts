/**
 * The one cost model of the gateway path (ingestor -> EventBridge -> SQS -> Lambda workers), used by
 * `npm run bench` (an assumed event mix) and `npm run cost` (the counters of a real run). Pure: it
 * takes counts and prices and returns dollars.
 *
 * What is billed, per AWS's pricing pages (sources in docs/benchmarks.md):
 * - EventBridge: one event per PutEvents entry (64 KB chunks; envelopes above that are claim-checked,
 *   so an entry is one unit). Events the ingestor filters out are never published: the filter's saving.
 * - SQS: one SendMessage per event EventBridge delivers to a tier queue, then one ReceiveMessage and one
 *   DeleteMessageBatch per batch a worker invocation takes (the event source mapping's calls).
 * - Lambda: requests, and GB-seconds (summed duration x configured memory).
 * - Fargate: vCPU-hours and GB-hours of the ingestor tasks, whatever the event rate.
 * Not modelled: the archive ($0.10/GB), CloudWatch, NAT, RDS and ElastiCache (fixed per month, not per
 * event), the HTTP interactions endpoint (API Gateway; it bypasses EventBridge).
 */

/** AWS list prices, us-east-1, as published on 2026-11-22 (docs/benchmarks.md has the sources). */
export const PRICES = {
  region: 'us-east-1',
  publishedOn: '2026-11-22',
  /** EventBridge custom events, per million */
  ebPerM: 1.0,
  /** SQS standard requests, per million (after the free tier) */
  sqsPerM: 0.4,
  /** Lambda requests, per million */
  lambdaReqPerM: 0.2,
  /** Lambda x86 compute, per GB-second */
  lambdaGbS: 0.0000133334,
  /** Fargate Linux x86, per vCPU-hour and per GB-hour */
  fargateVcpuH: 0.03238,
  fargateGbH: 0.00356,
} as const;
export type Prices = Omit<typeof PRICES, 'region' | 'publishedOn'> & { region?: string; publishedOn?: string };

/**
 * Assumed duration of one batch per worker (the bench's cost row, and `npm run cost` where no duration
 * was measured: the emulator reports no Lambda metrics for SQS-triggered invocations). Batch sizes are
 * the routing table's (lib/contract/routing.ts).
 */
export const ASSUMED_BATCH_MS = { member: 400, guild: 200, interaction: 150 } as const;

/** One SQS-triggered worker function over the period. */
export interface WorkerUse {
  /** invocations = batches taken from the queue */
  invocations: number;
  /** the invocations' summed duration */
  durationMs: number;
  /** the function's configured memory */
  memoryMb: number;
}

/** The counts of a period (a run, a month, or the bench's assumed mix). */
export interface CostInput {
  /** entries published to EventBridge */
  published: number;
  /** gateway events the ingestor's filter dropped (matched by no tier, never published) */
  dropped: number;
  /** messages EventBridge delivered to the tier queues */
  queued: number;
  /** ReceiveMessage calls of the event source mappings that returned nothing (billed too; not per event) */
  sqsEmptyReceives?: number;
  /** the SQS-triggered workers by name */
  workers: Record<string, WorkerUse>;
  /** the ingestor tasks: summed task time and the size of one task */
  fargate: { taskSeconds: number; vcpu: number; memoryGb: number };
}

/** Dollars by service. */
export interface CostBreakdown {
  eventBridge: number;
  sqs: number;
  lambda: number;
  fargate: number;
  total: number;
}

const breakdown = (eventBridge: number, sqs: number, lambda: number, fargate: number): CostBreakdown => ({ eventBridge, sqs, lambda, fargate, total: eventBridge + sqs + lambda + fargate });

/** What the period cost, by service. */
export function costOf(c: CostInput, price: Prices = PRICES): CostBreakdown {
  const eb = (c.published / 1e6) * price.ebPerM;
  let batches = 0;
  let lambda = 0;
  for (const w of Object.values(c.workers)) {
    batches += w.invocations;
    lambda += (w.invocations / 1e6) * price.lambdaReqPerM + (w.durationMs / 1000) * (w.memoryMb / 1024) * price.lambdaGbS;
  }
  // SendMessage per delivered event; ReceiveMessage + DeleteMessageBatch per batch; empty polls
  const sqs = ((c.queued + 2 * batches + (c.sqsEmptyReceives ?? 0)) / 1e6) * price.sqsPerM;
  const fargate = (c.fargate.taskSeconds / 3600) * (c.fargate.vcpu * price.fargateVcpuH + c.fargate.memoryGb * price.fargateGbH);
  return breakdown(eb, sqs, lambda, fargate);
}

/** The same period without the ingestor's filter: the dropped events published too (they match no rule, so SQS and Lambda stay). */
export function costWithoutFilter(c: CostInput, price: Prices = PRICES): CostBreakdown {
  return costOf({ ...c, published: c.published + c.dropped }, price);
}

/** Scales a breakdown to one million of `events` (routed events, gateway events, ...). */
export function perMillion(b: CostBreakdown, events: number): CostBreakdown {
  if (!(events > 0)) throw new Error(`perMillion: needs a positive event count, got ${events}: the run routed no events, so there is no cost per event to show`);
  const k = 1e6 / events;
  return breakdown(b.eventBridge * k, b.sqs * k, b.lambda * k, b.fargate * k);
}
