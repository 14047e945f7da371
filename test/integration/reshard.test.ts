/**
 * Resharding on Discord's request (issue 14): two ingestor processes run an application with
 * TOTAL_SHARDS=auto on the 4 shards the simulator recommends; the simulator then recommends 8. The
 * fleet starts the 8-shard set beside the 4-shard one, switches when all 8 are READY and ends the old
 * sessions, while events flow. Loss is counted by content (each event carries a user id of its own):
 * during the overlap both sets receive every event, under ids made from the content, so a copy has the
 * same envelope id as its original and the workers' dedupe absorbs it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateEventBusCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, parseDeliveredEvent } from '../../lib/contract';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { localIngestorEnv, startIngestorProcess, type IngestorProcess } from '../../local/chaos/ingestor-process';
import { freePort, sleep } from '../../local/chaos/world';
import { DiscordSimulator } from '../../local/simulator';

const aws = localAwsConfig();
const sqs = new SQSClient(localSqsConfig());
const procs: IngestorProcess[] = [];
let sim: DiscordSimulator | undefined;

afterAll(async () => {
  for (const p of procs) p.signal('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await sim?.stop();
});

/** user id -> the envelope ids it arrived under */
const delivered = new Map<string, Set<string>>();
/** deliveries of an envelope id already delivered: the copies the workers' dedupe absorbs */
let copies = 0;
const seen = new Set<string>();

async function drain(queueUrl: string, idleMs: number): Promise<void> {
  let idle = Date.now();
  while (Date.now() - idle < idleMs) {
    const ms = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))).Messages ?? [];
    if (ms.length === 0) {
      await sleep(100);
      continue;
    }
    idle = Date.now();
    for (const m of ms) {
      const { envelope } = parseDeliveredEvent(m.Body ?? '');
      if (envelope.type !== 'GUILD_MEMBER_ADD' || !('data' in envelope) || !envelope.data) continue;
      const user = (envelope.data as { user?: { id?: string } }).user?.id ?? '';
      if (seen.has(envelope.id)) copies++;
      seen.add(envelope.id);
      const ids = delivered.get(user) ?? new Set<string>();
      ids.add(envelope.id);
      delivered.set(user, ids);
    }
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: ms.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
  }
}

describe('resharding', () => {
  it('from 4 to 8 shards on the simulator’s recommendation while events flow: lost 0, copies share their envelope id, the old shards stop', async () => {
    const tag = randomUUID().slice(0, 8);
    const s = await DiscordSimulator.start({ shards: 4, guilds: 32, maxConcurrency: 4, heartbeatIntervalMs: 1000, sessionTtlMs: 600_000 });
    sim = s;
    const eb = new EventBridgeClient(aws);
    const s3 = new S3Client(aws);
    const bus = `reshard-${tag}`;
    await eb.send(new CreateEventBusCommand({ Name: bus }));
    await s3.send(new CreateBucketCommand({ Bucket: bus }));
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: bus }))).QueueUrl ?? '';
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    await eb.send(new PutRuleCommand({ Name: `all-${tag}`, EventBusName: bus, EventPattern: JSON.stringify({ source: [EVENT_SOURCE] }) }));
    await eb.send(new PutTargetsCommand({ Rule: `all-${tag}`, EventBusName: bus, Targets: [{ Id: 'q', Arn: arn }] }));
    eb.destroy();
    s3.destroy();
    const env = {
      DISCORD_TOKEN: s.token,
      DISCORD_APPLICATION_ID: s.appId,
      DISCORD_API_URL: s.restUrl,
      TOTAL_SHARDS: 'auto',
      RESHARD_CHECK_MS: '1000',
      SHARDS_PER_TASK: '4',
      LEASE_TTL_MS: '3000',
      EVENT_BUS_NAME: bus,
      CLAIM_CHECK_BUCKET: bus,
      ...(await localIngestorEnv(`reshard-${tag}`)),
    };
    for (const name of ['a', 'b']) procs.push(startIngestorProcess({ ...env, TASK_ID: name, HTTP_PORT: String(await freePort()), SPOOL_DIR: mkdtempSync(join(tmpdir(), 'reshard-spool-')) }));
    const sessions = (n: number) => s.connectedSessions().filter((c) => c.numShards === n).length;
    for (let i = 0; i < 300 && sessions(4) < 4; i++) await sleep(100);
    expect(sessions(4)).toBe(4);

    // events on every guild at about 400/s, each with a user id of its own
    const flow = { on: true };
    let sent = 0;
    const traffic = (async () => {
      while (flow.on) {
        const g = s.guildIds[sent % s.guildIds.length] ?? '';
        s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(g, String(700000000000000000n + BigInt(sent))));
        sent++;
        if (sent % 10 === 0) await sleep(25);
      }
    })();
    await sleep(2000);
    s.recommendShards(8);
    const switchStart = Date.now();
    for (let i = 0; i < 600 && !(sessions(8) === 8 && sessions(4) === 0); i++) await sleep(100);
    const switchMs = Date.now() - switchStart;
    await sleep(2000);
    flow.on = false;
    await traffic;
    await drain(queueUrl, 5000);

    expect(sessions(8)).toBe(8);
    expect(sessions(4)).toBe(0); // the old set stopped
    const users = Array.from({ length: sent }, (_, i) => String(700000000000000000n + BigInt(i)));
    const lost = users.filter((u) => !delivered.has(u));
    const notAbsorbed = [...delivered.values()].filter((ids) => ids.size > 1).length;
    console.log(`reshard 4 -> 8: ${sent} events, lost ${lost.length}, copies ${copies} (under another envelope id: ${notAbsorbed}), switched after ${switchMs} ms`);
    expect(lost).toEqual([]);
    expect(notAbsorbed).toBe(0);
    expect(copies).toBeGreaterThan(0); // the sets did overlap: both delivered events of the switch
    // Discord's limits held: no IDENTIFY over max_concurrency, and the old sessions were ended, not left to time out
    expect(s.gateway.identifies.filter((i) => i.outcome === 'rate-limited')).toEqual([]);
    expect(s.gateway.closes.filter((c) => c.by === 'client' && c.code === 1000).length).toBeGreaterThanOrEqual(4);
    for (const p of procs) expect((await p.ready())?.fatal).toBeUndefined();
  });
});
