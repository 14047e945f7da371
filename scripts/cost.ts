/**
 * `npm run cost`: $ per million routed events by service (EventBridge, SQS, Lambda, Fargate) from the
 * counters of a real run, with the event mix that happened, next to what the same run would have cost
 * without the ingestor's filter. One model (scripts/ops/cost-model.ts, shared with `npm run bench`).
 *
 *   npm run cost                                   # the last `npm run local` (<state dir>/last-run.json)
 *   npm run cost -- --file path/to/last-run.json
 *   npm run cost -- --from-cloudwatch --start -30d --end now --stack-pattern DiscordGateway-prod
 *                  [--namespace DiscordGatewayProxy/Ingestor] [--metrics-interval-s 60] [--json]
 */
import { parseArgs } from 'node:util';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { costInputOf, fromCloudWatch, lastRunFile, mixOf, readRunCounters, type RunCounters } from './ops/run-counters';
import { costOf, costWithoutFilter, perMillion, PRICES, type CostBreakdown } from './ops/cost-model';
import { parseTime } from './replay';

const usd = (v: number) => (v === 0 ? '0' : v >= 0.01 ? v.toFixed(4) : v.toPrecision(3));
const int = (v: number) => Math.round(v).toLocaleString('en');

/** The report, as printed. */
export function formatCostReport(r: RunCounters): string {
  const input = costInputOf(r);
  const routed = r.gateway.published;
  const run = costOf(input);
  const without = costWithoutFilter(input);
  const per = perMillion(run, routed);
  const perWithout = perMillion(without, routed);
  const seconds = (Date.parse(r.to) - Date.parse(r.from)) / 1000;
  const lines: string[] = [];
  lines.push(`cost of ${r.source}, ${r.from} -> ${r.to} (${int(seconds)} s); AWS list prices ${PRICES.region}, ${PRICES.publishedOn}`);
  lines.push('');
  lines.push(`event mix (gateway events received: ${int(r.gateway.received)})`);
  const mix = mixOf(r.gateway.receivedByType);
  for (const [tier, n] of Object.entries(mix).sort((a, b) => b[1] - a[1])) {
    const types = Object.entries(r.gateway.receivedByType)
      .filter(([t]) => (mixOf({ [t]: 1 })[tier] ?? 0) > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([t, v]) => `${t} ${int(v)}`)
      .join(', ');
    lines.push(`  ${tier.padEnd(13)} ${int(n).padStart(10)}  ${((n / Math.max(1, r.gateway.received)) * 100).toFixed(1).padStart(5)} %  ${types}`);
  }
  lines.push(`published to EventBridge (routed): ${int(routed)}   dropped by the filter: ${int(r.gateway.dropped)}   into the tier queues: ${int(r.queued)}`);
  for (const [name, w] of Object.entries(r.workers)) {
    lines.push(
      `  ${`${name} worker`.padEnd(18)} ${w.measured === false ? 'estimated: ' : ''}${int(w.invocations)} invocations (${w.invocations ? (w.durationMs / w.invocations).toFixed(0) : 0} ms each, ${w.errors} errors), ${(w.durationMs / 1000).toFixed(1)} s at ${w.memoryMb} MB`,
    );
  }
  lines.push(`  ingestor           ${r.ingestor.how}`);
  lines.push('');
  const row = (name: string, k: keyof CostBreakdown) => `  ${name.padEnd(12)} ${usd(run[k]).padStart(12)}  ${usd(per[k]).padStart(12)}  ${usd(perWithout[k]).padStart(14)}`;
  lines.push(`$ per million routed events, by service`);
  lines.push(`  ${'service'.padEnd(12)} ${'this run $'.padStart(12)}  ${'per M routed'.padStart(12)}  ${'without filter'.padStart(14)}`);
  lines.push(row('EventBridge', 'eventBridge'), row('SQS', 'sqs'), row('Lambda', 'lambda'), row('Fargate', 'fargate'), row('total', 'total'));
  const saved = perWithout.total - per.total;
  lines.push('');
  lines.push(
    `the filter: ${int(r.gateway.dropped)} of ${int(r.gateway.received)} gateway events (${((r.gateway.dropped / Math.max(1, r.gateway.received)) * 100).toFixed(1)} %) never published, saving $${usd(saved)} per million routed events (${((saved / perWithout.total) * 100).toFixed(1)} % of the bill without it; this run: $${usd(without.total - run.total)})`,
  );
  // Fargate is paid by the hour: the run's rate decides its share per event
  const rate = routed / Math.max(1, seconds);
  const steady = perMillion(costOf({ ...input, fargate: { ...input.fargate, taskSeconds: 1000 } }), 1_000_000).fargate;
  lines.push(`Fargate is time, not events: this run routed ${rate.toFixed(1)} events/s; one task routing 1,000 events/s would cost $${usd(steady)} per million`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      'from-cloudwatch': { type: 'boolean', default: false },
      start: { type: 'string' },
      end: { type: 'string', default: 'now' },
      'stack-pattern': { type: 'string', default: 'DiscordGateway-' },
      namespace: { type: 'string', default: 'DiscordGatewayProxy/Ingestor' },
      'metrics-interval-s': { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('npm run cost [-- --file <last-run.json>] | [-- --from-cloudwatch --start <ISO|-30d> [--end now] [--stack-pattern DiscordGateway-prod] [--namespace DiscordGatewayProxy/Ingestor] [--metrics-interval-s 60]] [--json]');
    return;
  }
  let counters: RunCounters;
  if (values['from-cloudwatch']) {
    if (!values.start) throw new Error('--from-cloudwatch needs --start (ISO 8601, or -30d / -2h) and optionally --end (default now)');
    const now = Date.now();
    const interval = Number(values['metrics-interval-s']);
    if (!(interval > 0)) throw new Error(`--metrics-interval-s must be the ingestors' METRICS_INTERVAL_MS in seconds, got ${values['metrics-interval-s']}`);
    const cw = new CloudWatchClient({});
    try {
      counters = await fromCloudWatch(cw, { start: parseTime(values.start, 'start', now), end: parseTime(values.end, 'end', now), stackPattern: values['stack-pattern'], ingestorNamespace: values.namespace, metricsIntervalS: interval });
    } finally {
      cw.destroy();
    }
  } else {
    counters = readRunCounters(values.file ?? lastRunFile());
  }
  if (!(counters.gateway.published > 0)) throw new Error(`the run published no events (${counters.from} -> ${counters.to}): nothing to price per event; run a scenario (npm run local) or widen --start/--end`);
  if (values.json) {
    const input = costInputOf(counters);
    console.log(JSON.stringify({ counters, run: costOf(input), perMillionRouted: perMillion(costOf(input), counters.gateway.published), withoutFilterPerMillionRouted: perMillion(costWithoutFilter(input), counters.gateway.published) }, null, 2));
    return;
  }
  console.log(formatCostReport(counters));
}

if (process.argv[1] && /cost\.ts$/.test(process.argv[1])) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  main().catch((err: unknown) => {
    console.error(`npm run cost: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
