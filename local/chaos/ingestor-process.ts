/**
 * The real ingestor as a process, the way ECS runs it: `node` on ingestor/src/main.ts (through tsx's
 * loader, no npm or npx wrapper), in a process group of its own, so a signal reaches the whole
 * program (ECS's kill takes the container, not a wrapper whose child survives).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { IngestorStatus } from '../../ingestor/src/main';
import { localAwsConfig } from '../aws';
import { redisAuthEnv } from '../redis-auth';

export interface IngestorProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** signals the whole process group */
  signal(sig: NodeJS.Signals): void;
  /** GET /ready's body (undefined while it does not answer) */
  ready(): Promise<ReadyBody | undefined>;
}

/** GET /ready's body: the ingestor's status as JSON */
export type ReadyBody = IngestorStatus;

const ROOT = join(__dirname, '..', '..');

export function startIngestorProcess(env: Record<string, string>): IngestorProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'ingestor', 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  return {
    child,
    exited,
    output: () => out,
    signal(sig) {
      // no pid: it never started
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        // the process group (detached): the ingestor and anything it started
        process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    },
    async ready() {
      try {
        const r = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/ready`, { signal: AbortSignal.timeout(2000) });
        return (await r.json()) as ReadyBody;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * What an ingestor process on this machine needs besides its application, bus and bucket: the Redis
 * that demands a password, keys under `ns`, the AWS endpoint, and metrics held back (hourly).
 */
export async function localIngestorEnv(ns: string): Promise<Record<string, string>> {
  const aws = localAwsConfig();
  return { ...(await redisAuthEnv()), REDIS_KEY_PREFIX: ns, AWS_ENDPOINT_URL: aws.endpoint, AWS_REGION: aws.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', METRICS_INTERVAL_MS: '3600000' };
}
