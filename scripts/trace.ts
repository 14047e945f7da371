/**
 * `npm run trace -- <envelope id> [--source local|aws] [--since 24h] [--stack-pattern DiscordGateway-prod]`
 *
 * Prints the hops of one event with timestamps, from the audit-trail log lines (lambdas/shared/batch.ts,
 * rest-trace.ts): gateway received (the ingestor's clock, from the envelope), bus (EventBridge's event
 * time, second resolution), queued (SQS SentTimestamp), worker start, REST replies, worker finish or
 * failure / DLQ; each delivery (a redelivery, a replay) separately. Locally it reads the JSON lines
 * file the workers wrote (GATEWAY_PROXY_LOG_FILE); in AWS it asks CloudWatch Logs Insights.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { errorMessage } from '../lib/contract';
import { insights, localLogFile, readLocalLines, stackLogGroups, type LogLine } from './ops/logs';

export interface Hop {
  at: number;
  hop: string;
  detail: string;
}

/** A log field as text: a string as it is, a number or boolean as written, anything else as JSON; `missing` when absent. */
const text = (v: unknown, missing = '') => (v === undefined || v === null ? missing : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

/** The hops one envelope's log lines describe, in time order. */
export function hopsOf(lines: LogLine[]): Hop[] {
  const hops: Hop[] = [];
  const ms = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);
  for (const l of lines) {
    const at = ms(l.timestamp);
    const replay = l.replayName ? ` replay ${text(l.replayName)}` : '';
    switch (l.hop) {
      case 'worker.start':
        if (Number.isFinite(ms(l.receivedAt))) hops.push({ at: ms(l.receivedAt), hop: 'gateway received', detail: `shard ${String(l.shardId)} (ingestor clock)` });
        if (Number.isFinite(ms(l.busTime))) hops.push({ at: ms(l.busTime), hop: 'bus accepted', detail: 'EventBridge event time (1 s resolution)' });
        if (Number.isFinite(ms(l.queuedAt))) hops.push({ at: ms(l.queuedAt), hop: 'queued', detail: `SQS message ${String(l.messageId)}` });
        hops.push({ at, hop: 'worker start', detail: `${text(l.service)} receive #${text(l.receiveCount, '?')}${replay}` });
        break;
      case 'worker.finish':
        hops.push({ at, hop: 'worker finish', detail: `${String(l.outcome)} in ${String(l.durationMs)} ms${replay}` });
        break;
      case 'rest.reply':
        hops.push({ at, hop: 'REST reply', detail: `${String(l.route)} -> ${String(l.status)} in ${String(l.durationMs)} ms` });
        break;
      case 'worker.failed':
      case 'dlq':
        hops.push({ at, hop: l.hop === 'dlq' ? 'DLQ' : 'worker failed', detail: text(l.reason ?? l.message) });
        break;
      case 'ingestor.accepted':
        hops.push({ at, hop: 'bus accepted (ingestor)', detail: `PutEvents in ${text(l.latencyMs, '?')} ms` });
        break;
      default:
        hops.push({ at, hop: 'log', detail: `${text(l.level)} ${l.message ?? ''}` });
    }
  }
  // the same gateway/bus/queue hop appears once per delivery: keep distinct ones
  const seen = new Set<string>();
  return hops.filter((h) => Number.isFinite(h.at) && !seen.has(`${h.hop}|${h.at}|${h.detail}`) && seen.add(`${h.hop}|${h.at}|${h.detail}`)).sort((a, b) => a.at - b.at);
}

export function formatHops(id: string, hops: Hop[]): string {
  const first = hops[0];
  if (!first) return `no log line carries envelope id ${id}`;
  const t0 = first.at;
  return [`envelope ${id}`, ...hops.map((h) => `${new Date(h.at).toISOString()}  +${String(h.at - t0).padStart(6)} ms  ${h.hop.padEnd(24)} ${h.detail}`)].join('\n');
}

async function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { source: { type: 'string' }, since: { type: 'string', default: '24h' }, 'stack-pattern': { type: 'string', default: 'DiscordGateway' } } });
  const id = positionals[0];
  if (!id || !/^[0-9a-f]{32}$/.test(id)) {
    console.error('usage: npm run trace -- <envelope id: 32 hex characters, the envelopeId field of any log line> [--source local|aws] [--since 24h]');
    process.exit(2);
  }
  const source = values.source ?? (existsSync(localLogFile()) ? 'local' : 'aws');
  let lines: LogLine[];
  if (source === 'local') lines = readLocalLines((l) => l.envelopeId === id);
  else if (source === 'aws') {
    const h = /^(\d+)([hd])$/.exec(values.since);
    if (!h) throw new Error(`--since ${values.since}: use hours or days, e.g. 24h or 7d`);
    const from = new Date(Date.now() - Number(h[1]) * (h[2] === 'h' ? 36e5 : 864e5));
    const cw = new CloudWatchLogsClient({});
    const rows = await insights(cw, await stackLogGroups(cw, values['stack-pattern']), `fields @timestamp, @message | filter envelopeId = "${id}" | sort @timestamp asc | limit 1000`, from, new Date());
    lines = rows.map((r) => ({ ...(JSON.parse(r['@message'] ?? '{}') as LogLine), timestamp: r['@timestamp'] === undefined ? undefined : `${r['@timestamp'].replace(' ', 'T')}Z` }));
  } else throw new Error(`--source ${values.source}: local or aws`);
  console.log(formatHops(id, hopsOf(lines)));
  process.exit(lines.length ? 0 : 1);
}

if (process.argv[1] && /trace\.ts$/.test(process.argv[1])) {
  main().catch((err: unknown) => {
    console.error(`npm run trace: ${errorMessage(err)}`);
    process.exit(1);
  });
}
