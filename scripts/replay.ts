/**
 * `npm run replay -- --from <time> --to <time> [--types T1,T2] [--reprocess] [--bus <name>]`
 *
 * Replays a window of the bus's archive into the bus (EventBridge StartReplay), shows its progress and
 * prints a summary with what the workers did with the replayed events (from their audit-trail log
 * lines). Without --reprocess the workers' dedupe applies, so a replay only fills gaps; with it the
 * handlers run again (lambdas/shared/replay.ts). Times: ISO 8601 (2026-12-03T08:00:00Z), `now`, or
 * relative to now (`-10m`, `-2h`, `-1d`).
 *
 * AWS: the default credentials and region; the bus is the one whose archive you name with --bus (or
 * EVENT_BUS_NAME, the gateway stack's output EventBusName). Locally: AWS_ENDPOINT_URL (the emulator).
 */
import { parseArgs } from 'node:util';
import { DescribeArchiveCommand, DescribeEventBusCommand, DescribeReplayCommand, EventBridgeClient, ListArchivesCommand, ListRulesCommand, StartReplayCommand, type DescribeReplayCommandOutput } from '@aws-sdk/client-eventbridge';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { isDispatchType } from '../lib/contract/dispatch';
import { replayName } from '../lambdas/shared/replay';
import { insights, readLocalLines, stackLogGroups } from './ops/logs';

export class ReplayUsageError extends Error {}

/** ISO time, `now`, or `-<n><s|m|h|d>` relative to `now`. */
export function parseTime(v: string, name: string, now = Date.now()): Date {
  if (v === 'now') return new Date(now);
  const rel = /^-(\d+)([smhd])$/.exec(v);
  if (rel) return new Date(now - Number(rel[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[rel[2] as 's' | 'm' | 'h' | 'd']);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ReplayUsageError(`--${name} ${JSON.stringify(v)} is not a time: use ISO 8601 (2026-12-03T08:00:00Z), now, or -10m / -2h / -1d`);
  return new Date(t);
}

export interface ReplayOptions {
  from: Date;
  to: Date;
  types?: string[];
  reprocess: boolean;
  bus?: string;
}

export function parseReplayArgs(argv: string[], now = Date.now()): ReplayOptions {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' }, types: { type: 'string' }, reprocess: { type: 'boolean', default: false }, bus: { type: 'string' } },
  });
  if (!values.from || !values.to) throw new ReplayUsageError('--from and --to are required, e.g. --from -10m --to now');
  const from = parseTime(values.from, 'from', now);
  const to = parseTime(values.to, 'to', now);
  if (to <= from) throw new ReplayUsageError(`--to (${to.toISOString()}) must be after --from (${from.toISOString()})`);
  if (to.getTime() > now + 1000) throw new ReplayUsageError(`--to (${to.toISOString()}) is in the future: EventBridge replays only what was archived`);
  const types = values.types
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = types?.filter((t) => !isDispatchType(t)) ?? [];
  if (bad.length) throw new ReplayUsageError(`--types: ${bad.join(', ')} ${bad.length > 1 ? 'are not Discord dispatch types' : 'is not a Discord dispatch type'} (e.g. GUILD_MEMBER_ADD,GUILD_MEMBER_UPDATE)`);
  return { from, to, reprocess: values.reprocess, ...(types?.length ? { types } : {}), ...((values.bus ?? process.env.EVENT_BUS_NAME) ? { bus: values.bus ?? process.env.EVENT_BUS_NAME } : {}) };
}

/** The archive to replay from: the --bus's, or the only archive there is. */
async function findArchive(eb: EventBridgeClient, bus: string | undefined): Promise<{ archiveArn: string; busArn: string; busName: string }> {
  const busArn = bus ? (await eb.send(new DescribeEventBusCommand({ Name: bus }))).Arn : undefined;
  const archives = (await eb.send(new ListArchivesCommand({ ...(busArn ? { EventSourceArn: busArn } : {}) }))).Archives ?? [];
  if (archives.length !== 1) {
    throw new ReplayUsageError(
      archives.length === 0
        ? `no archive ${bus ? `on bus ${bus}` : 'in this account and region'}: the gateway stack creates one (output ArchiveName); the local stage has none unless its bus was deployed with one`
        : `${archives.length} archives (${archives.map((a) => a.ArchiveName).join(', ')}): name the bus with --bus (the gateway stack's output EventBusName)`,
    );
  }
  const { ArchiveName: archiveName, EventSourceArn: sourceArn } = archives[0] ?? {};
  if (!archiveName || !sourceArn) throw new Error(`ListArchives returned an archive without ${archiveName ? 'EventSourceArn' : 'ArchiveName'}`);
  const { ArchiveArn } = await eb.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
  if (!ArchiveArn) throw new Error(`DescribeArchive ${archiveName} returned no ArchiveArn`);
  // the bus name is the ARN's last path segment (arn:aws:events:<region>:<account>:event-bus/<name>)
  return { archiveArn: ArchiveArn, busArn: sourceArn, busName: sourceArn.slice(sourceArn.lastIndexOf('/') + 1) };
}

/** The bus's rules whose pattern names one of `types` (EventBridge replays by rule). */
async function rulesFor(eb: EventBridgeClient, busName: string, types: string[]): Promise<string[]> {
  const arns: string[] = [];
  let NextToken: string | undefined;
  do {
    const r = await eb.send(new ListRulesCommand({ EventBusName: busName, NextToken }));
    for (const rule of r.Rules ?? []) {
      const pattern = rule.EventPattern ? (JSON.parse(rule.EventPattern) as { 'detail-type'?: unknown }) : {};
      const dt = Array.isArray(pattern['detail-type']) ? (pattern['detail-type'] as unknown[]) : [];
      if (types.some((t) => dt.includes(t)) && rule.Arn) arns.push(rule.Arn);
    }
    NextToken = r.NextToken;
  } while (NextToken);
  if (!arns.length) throw new ReplayUsageError(`no rule on bus ${busName} routes ${types.join(', ')}: those types go to no tier (lib/contract/routing.ts), so there is nothing to replay`);
  return arns;
}

export interface ReplayResult {
  name: string;
  state: string;
  reason?: string;
  tookMs: number;
  outcomes: Record<string, number>;
}

function bar(fraction: number, width = 30): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}] ${String(Math.round(fraction * 100)).padStart(3)} %`;
}

/** What the workers logged for this replay's events so far (worker.finish lines), by outcome. */
async function outcomesOf(name: string, since: Date, source: { local: boolean; stackPattern?: string }): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (source.local) {
    for (const l of readLocalLines((l) => l.hop === 'worker.finish' && l.replayName === name)) counts[String(l.outcome)] = (counts[String(l.outcome)] ?? 0) + 1;
    return counts;
  }
  const cw = new CloudWatchLogsClient({});
  const groups = await stackLogGroups(cw, source.stackPattern ?? 'DiscordGateway');
  const rows = await insights(cw, groups, `filter hop = "worker.finish" and replayName = "${name}" | stats count(*) as n by outcome`, since, new Date());
  for (const r of rows) counts[r.outcome ?? '?'] = Number(r.n);
  return counts;
}

export async function runReplay(eb: EventBridgeClient, opts: ReplayOptions, io: { write: (s: string) => void; local: boolean; pollMs?: number; settleMs?: number; now?: () => Date } = { write: (s) => process.stdout.write(s), local: true }): Promise<ReplayResult> {
  const { archiveArn, busArn, busName } = await findArchive(eb, opts.bus);
  const filterArns = opts.types ? await rulesFor(eb, busName, opts.types) : undefined;
  const name = replayName(opts.reprocess, opts.types, io.now?.() ?? new Date());
  const t0 = Date.now();
  await eb.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: `npm run replay${opts.reprocess ? ' --reprocess' : ''}${opts.types ? ` --types ${opts.types.join(',')}` : ''}`.slice(0, 512),
      EventSourceArn: archiveArn,
      EventStartTime: opts.from,
      EventEndTime: opts.to,
      Destination: { Arn: busArn, ...(filterArns ? { FilterArns: filterArns } : {}) },
    }),
  );
  io.write(
    `replay ${name}: ${opts.from.toISOString()} .. ${opts.to.toISOString()} from ${archiveArn} into ${busName}${filterArns ? ` (rules ${filterArns.map((a) => a.split('/').pop()).join(', ')})` : ''}; ${opts.reprocess ? 'handlers run again (--reprocess)' : 'dedupe applies: only events never applied are handled'}\n`,
  );
  let d: DescribeReplayCommandOutput;
  const span = opts.to.getTime() - opts.from.getTime();
  let outcomes: Record<string, number> = {};
  for (;;) {
    d = await eb.send(new DescribeReplayCommand({ ReplayName: name }));
    const last = d.EventLastReplayedTime?.getTime();
    const done = d.State === 'COMPLETED';
    const fraction = done ? 1 : last ? (last - opts.from.getTime()) / span : 0;
    outcomes = await outcomesOf(name, new Date(t0 - 60_000), { local: io.local }).catch(() => outcomes);
    const handled = Object.values(outcomes).reduce((a, b) => a + b, 0);
    io.write(`\r${bar(fraction)}  state ${String(d.State).padEnd(10)}  events replayed and finished by workers ${handled}   `);
    if (d.State === 'COMPLETED' || d.State === 'FAILED' || d.State === 'CANCELLED') break;
    await new Promise((r) => setTimeout(r, io.pollMs ?? 1000));
  }
  // the workers finish the last events after the replay ends: read until the counts stop changing
  let prev = -1;
  for (let i = 0; i < 60; i++) {
    outcomes = await outcomesOf(name, new Date(t0 - 60_000), { local: io.local }).catch(() => outcomes);
    const n = Object.values(outcomes).reduce((a, b) => a + b, 0);
    if (n === prev && n > 0) break;
    prev = n;
    await new Promise((r) => setTimeout(r, io.settleMs ?? 2000));
  }
  const result: ReplayResult = { name, state: d.State, ...(d.StateReason ? { reason: d.StateReason } : {}), tookMs: Date.now() - t0, outcomes };
  const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
  io.write(`\n\n== replay summary\n`);
  io.write(`replay:          ${name} (${result.state}${result.reason ? `: ${result.reason}` : ''}) in ${(result.tookMs / 1000).toFixed(1)} s\n`);
  io.write(`window:          ${opts.from.toISOString()} .. ${opts.to.toISOString()}${opts.types ? `, types ${opts.types.join(', ')}` : ''}\n`);
  io.write(
    `worker outcomes: ${total} events finished: ${
      Object.entries(outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none yet (are the workers consuming?)'
    }\n`,
  );
  io.write(`handled again:   ${total - (outcomes.duplicate ?? 0) - (outcomes['replay-skipped'] ?? 0)} (duplicate = already applied, skipped by dedupe)\n`);
  return result;
}

async function main() {
  let opts: ReplayOptions;
  try {
    opts = parseReplayArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`npm run replay: ${(err as Error).message}`);
    console.error('usage: npm run replay -- --from <time> --to <time> [--types T1,T2] [--reprocess] [--bus <name>]');
    process.exit(2);
  }
  const endpoint = process.env.AWS_ENDPOINT_URL;
  const eb = new EventBridgeClient(endpoint ? { endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {});
  const r = await runReplay(eb, opts, { write: (s) => process.stdout.write(s), local: Boolean(endpoint) });
  process.exit(r.state === 'COMPLETED' ? 0 : 1);
}

if (process.argv[1] && /replay\.ts$/.test(process.argv[1])) {
  main().catch((err: unknown) => {
    console.error(`npm run replay: ${err instanceof ReplayUsageError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    process.exit(err instanceof ReplayUsageError ? 2 : 1);
  });
}
