/**
 * Where the audit trail's log lines are read back from, for `npm run trace` and `npm run replay`:
 * - locally, the JSON lines file the workers append to (GATEWAY_PROXY_LOG_FILE; `npm run local` sets
 *   it to <state dir>/logs/local-run.jsonl);
 * - in AWS, CloudWatch Logs Insights over the stack's log groups (the workers' /aws/lambda/... and the
 *   ingestors'), found by name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudwatch-logs';

export type LogLine = Record<string, unknown> & { timestamp?: string; message?: string; hop?: string; envelopeId?: string };

export const stateDir = () => process.env.GATEWAY_PROXY_STATE_DIR ?? join(homedir(), '.local/state/discord-gateway-proxy');
export const localLogFile = () => process.env.GATEWAY_PROXY_LOG_FILE ?? join(stateDir(), 'logs', 'local-run.jsonl');

/** Every JSON line of the local log file that `keep` accepts (lines that are not JSON are skipped). */
export function readLocalLines(keep: (l: LogLine) => boolean, file = localLogFile()): LogLine[] {
  if (!existsSync(file)) throw new Error(`no local log file at ${file}: run 'npm run local' first (or set GATEWAY_PROXY_LOG_FILE to the file the workers wrote)`);
  const out: LogLine[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const l = JSON.parse(raw) as LogLine;
      if (keep(l)) out.push(l);
    } catch {
      /* a torn last line while the pipeline writes */
    }
  }
  return out;
}

/** The stack's log groups: names containing `pattern` (the app's stacks are DiscordGateway-<env>-...). */
export async function stackLogGroups(cw: CloudWatchLogsClient, pattern: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const r = await cw.send(new DescribeLogGroupsCommand({ logGroupNamePattern: pattern, nextToken }));
    for (const g of r.logGroups ?? []) if (g.logGroupName) names.push(g.logGroupName);
    nextToken = r.nextToken;
  } while (nextToken && names.length < 50);
  if (!names.length) throw new Error(`no CloudWatch log group name contains "${pattern}": pass --stack-pattern with part of your stacks' names (DiscordGateway-<env>)`);
  return names.slice(0, 50); // Logs Insights takes at most 50 groups per query
}

/** Runs a Logs Insights query and returns its rows as objects. */
export async function insights(cw: CloudWatchLogsClient, logGroupNames: string[], query: string, from: Date, to: Date): Promise<Array<Record<string, string>>> {
  const { queryId } = await cw.send(new StartQueryCommand({ logGroupNames, queryString: query, startTime: Math.floor(from.getTime() / 1000), endTime: Math.ceil(to.getTime() / 1000), limit: 1000 }));
  for (;;) {
    const r = await cw.send(new GetQueryResultsCommand({ queryId }));
    if (r.status === 'Complete') return (r.results ?? []).map((row) => Object.fromEntries(row.map((f) => [f.field ?? '', f.value ?? ''])));
    if (r.status === 'Failed' || r.status === 'Cancelled' || r.status === 'Timeout') throw new Error(`Logs Insights query ${r.status}: ${query}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}
