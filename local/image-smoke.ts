/**
 * The smoke test of `npm run image`: starts the image just built with an OCI runtime and checks that
 * the ingestor inside serves /health, connects its shard to the Discord simulator (loopback) and
 * publishes to the local AWS endpoint, that the image's own HEALTHCHECK command passes inside it,
 * and that SIGTERM stops it cleanly.
 *
 * Why runc on an unpacked bundle and not `podman run`: on this machine both crun and runc refuse to
 * set the rlimits podman always writes into the spec (`setrlimit RLIMIT_NOFILE/NPROC: Operation not
 * permitted`), and crun refuses the hybrid cgroup layout. The image is exported as an OCI layout
 * (buildah push oci:), unpacked with umoci, and its generated config.json loses the rlimits, the
 * network namespace (the simulator and the AWS endpoint are on loopback) and the terminal; the image's
 * user, working directory, environment and command stay as built.
 *
 *   npx tsx local/image-smoke.ts <buildah root> <image tag>
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { localAwsConfig } from './aws';
import { DiscordSimulator } from './simulator';

const [storeArg, tagArg] = process.argv.slice(2);
if (!storeArg || !tagArg) {
  console.error('usage: npx tsx local/image-smoke.ts <buildah root> <image tag> (npm run image calls it)');
  process.exit(2);
}
const store: string = storeArg;
const tag: string = tagArg;
const HTTP_PORT = 8080; // the image's HEALTHCHECK asks this port
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(path: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${HTTP_PORT}${path}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined;
  }
}

async function main() {
  for (const tool of ['runc', 'umoci']) {
    try {
      run(tool, ['--version']);
    } catch {
      console.log(`smoke test not run: '${tool}' is missing (apt-get install -y --no-install-recommends runc umoci)`);
      return;
    }
  }
  if (await get('/health')) throw new Error(`something already answers on 127.0.0.1:${HTTP_PORT}: stop it, the image's HEALTHCHECK asks that port`);
  const work = mkdtempSync(join(tmpdir(), 'gp-image-'));
  const id = `gp-ingestor-smoke-${process.pid}`;
  const sim = await DiscordSimulator.start({ shards: 1, guilds: 3, heartbeatIntervalMs: 5_000, identifyWindowMs: 0 });
  let container: ReturnType<typeof spawn> | undefined;
  try {
    const aws = localAwsConfig();
    const bus = `gp-image-smoke-${process.pid}`;
    await new EventBridgeClient(aws).send(new CreateEventBusCommand({ Name: bus }));
    await new S3Client({ ...aws, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bus }));

    run('buildah', ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs', 'push', '--quiet', tag, `oci:${join(work, 'oci')}:smoke`]);
    run('umoci', ['unpack', '--image', `${join(work, 'oci')}:smoke`, join(work, 'bundle')]);
    const cfgPath = join(work, 'bundle', 'config.json');
    const spec = JSON.parse(readFileSync(cfgPath, 'utf8')) as {
      process: { rlimits?: unknown; terminal?: boolean; env: string[]; user: { uid: number }; args: string[] };
      linux: { namespaces: Array<{ type: string }>; resources?: unknown };
    };
    delete spec.process.rlimits;
    delete spec.linux.resources;
    spec.process.terminal = false;
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
    spec.process.env.push(
      `DISCORD_TOKEN=${sim.token}`,
      `DISCORD_APPLICATION_ID=${sim.appId}`,
      `DISCORD_API_URL=${sim.restUrl}`,
      'TOTAL_SHARDS=1',
      `EVENT_BUS_NAME=${bus}`,
      `DEAD_LETTER_BUCKET=${bus}`,
      `AWS_ENDPOINT_URL=${aws.endpoint}`,
      `AWS_REGION=${aws.region}`,
      `AWS_ACCESS_KEY_ID=${aws.credentials.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${aws.credentials.secretAccessKey}`,
      'METRICS_INTERVAL_MS=5000',
    );
    writeFileSync(cfgPath, JSON.stringify(spec));
    console.log(`starting ${tag} with runc as uid ${spec.process.user.uid}: ${spec.process.args.join(' ')}`);

    const logPath = join(work, 'container.log');
    const out: string[] = [];
    const c = spawn('runc', ['run', '--bundle', join(work, 'bundle'), id], { stdio: ['ignore', 'pipe', 'pipe'] });
    container = c;
    c.stdout.on('data', (b: Buffer) => out.push(b.toString()));
    c.stderr.on('data', (b: Buffer) => out.push(b.toString()));
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));

    const t0 = Date.now();
    let health: Awaited<ReturnType<typeof get>>;
    while (!(health = await get('/health')) && Date.now() - t0 < 60_000) await sleep(250);
    if (!health) throw new Error(`no /health answer within 60 s; container output:\n${out.join('')}`);
    console.log(`GET /health -> ${health.status} after ${Date.now() - t0} ms`);
    await sim.waitForShardsReady(1, 30_000);
    let ready: Awaited<ReturnType<typeof get>>;
    while ((ready = await get('/ready'))?.status !== 200 && Date.now() - t0 < 60_000) await sleep(250);
    const status = JSON.parse(ready?.body ?? '{}') as { shards?: { ready: number; total: number }; counters?: { published: number } };
    console.log(`GET /ready -> ${ready?.status}: shards ${status.shards?.ready}/${status.shards?.total}, published ${status.counters?.published} (the guilds' GUILD_CREATE to the bus)`);
    // the whole inspect document (buildah's --format templates have no json function)
    const inspected = JSON.parse(run('buildah', ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs', 'inspect', '--type', 'image', tag])) as {
      Docker?: { config?: { Healthcheck?: { Test?: string[] } }; Config?: { Healthcheck?: { Test?: string[] } } };
    };
    const hc = inspected.Docker?.config?.Healthcheck?.Test ?? inspected.Docker?.Config?.Healthcheck?.Test;
    if (!hc) throw new Error(`the image ${tag} has no HEALTHCHECK in its Docker config: scripts/image.sh sets one (buildah config --healthcheck)`);
    const hcArgs = hc.slice(1);
    let hcCode = 0;
    try {
      run('runc', ['exec', id, ...hcArgs]);
    } catch (err) {
      hcCode = (err as { status?: number }).status ?? 1;
    }
    console.log(`the image's HEALTHCHECK (${hcArgs.join(' ').slice(0, 60)}...) inside the container: exit ${hcCode}`);
    const whoami = run('runc', ['exec', id, 'node', '-e', 'process.stdout.write(String(process.getuid()))']);
    run('runc', ['kill', id, 'TERM']);
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
    console.log(`SIGTERM -> exit ${code}; the process ran as uid ${whoami}`);
    writeFileSync(logPath, out.join(''));
    const ok = health.status === 200 && ready?.status === 200 && hcCode === 0 && code === 0 && whoami !== '0';
    console.log(ok ? 'smoke test passed' : `smoke test FAILED (container output in ${logPath})`);
    if (!ok) process.exitCode = 1;
  } finally {
    try {
      run('runc', ['delete', '--force', id]);
    } catch {
      /* already gone */
    }
    container?.kill('SIGKILL');
    await sim.stop();
    if (process.exitCode !== 1) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`image smoke test failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
