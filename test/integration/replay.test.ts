/**
 * `npm run replay` against the AWS emulator (MiniStack implements archives and StartReplay, and
 * delivers replayed events with `replay-name` like EventBridge): a bus with an archive and the
 * members tier's rule into a queue, 10 minutes of member events consumed live by the real member core
 * on PostgreSQL, then replays of that window. Without --reprocess only the gap (an event whose
 * effect was lost) is handled; with it every event of the chosen type runs through the handler again
 * and the other types are skipped.
 */
import { randomUUID } from 'node:crypto';
import { CreateArchiveCommand, CreateEventBusCommand, DeleteArchiveCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { DEFAULT_ROUTING_TABLE, tierEventPattern, toPutEventsEntry, wrapDispatch, type InlineEnvelope } from '../../lib/contract';
import { processEnvelopeBatch } from '../../lambdas/shared/batch';
import { withGuild } from '../../lambdas/shared/db';
import { forgetProcessed, replayOf } from '../../lambdas/shared/replay';
import { handleMemberEvent } from '../../lambdas/member/core';
import { localAwsConfig, localSqsConfig } from '../../local/aws';
import { runReplay } from '../../scripts/replay';

const aws = localAwsConfig();
const eb = new EventBridgeClient(aws);
const sqs = new SQSClient(localSqsConfig());
const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 4 });
const name = `gp-replay-${randomUUID().slice(0, 8)}`;
const guildId = String(BigInt(Date.now()) * 1000n + BigInt(Math.floor(Math.random() * 1000)));
let queueUrl = '';
let from = new Date();
let to = new Date();

type Line = { msg: string } & Record<string, unknown>;
const lines: Line[] = [];
const logger = { info: (msg: string, e?: Record<string, unknown>) => lines.push({ msg, ...e }), warn: () => undefined, error: (msg: string, e?: Record<string, unknown>) => lines.push({ msg, ...e }) };

/** Receives until `n` messages arrived (or 20 s), deleting them. */
async function drain(n: number): Promise<Message[]> {
  const got: Message[] = [];
  const end = Date.now() + 20_000;
  while (got.length < n && Date.now() < end) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
    for (const m of r.Messages ?? []) got.push(m);
    if (r.Messages?.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return got;
}

/** Runs the member worker's batch path (the one sqsWorker runs) and returns each record's outcome. */
async function work(messages: Message[]): Promise<string[]> {
  const records = messages.map(
    (m) =>
      ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: m.Attributes ?? {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
        awsRegion: 'us-east-1',
      }) as unknown as SQSRecord,
  );
  const before = lines.length;
  const r = await processEnvelopeBatch({ Records: records }, { functionName: 'member', awsRequestId: randomUUID() } as Context, (env: InlineEnvelope) => handleMemberEvent(env, { pool }), logger, { forget: (env) => forgetProcessed(pool, env) });
  expect(r.batchItemFailures).toEqual([]);
  return lines
    .slice(before)
    .filter((l) => l.hop === 'worker.finish')
    .map((l) => String(l.outcome));
}

const count = (xs: string[]) => xs.reduce<Record<string, number>>((a, x) => ({ ...a, [x]: (a[x] ?? 0) + 1 }), {});

beforeAll(async () => {
  await migrate();
  const bus = await eb.send(new CreateEventBusCommand({ Name: name }));
  await eb.send(new CreateArchiveCommand({ ArchiveName: name, EventSourceArn: bus.EventBusArn! }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await eb.send(new PutRuleCommand({ Name: `${name}-members`, EventBusName: name, EventPattern: JSON.stringify(tierEventPattern(DEFAULT_ROUTING_TABLE.members)) }));
  await eb.send(new PutTargetsCommand({ Rule: `${name}-members`, EventBusName: name, Targets: [{ Id: 'members', Arn: queueArn }] }));
}, 30_000);

afterAll(async () => {
  await eb.send(new DeleteArchiveCommand({ ArchiveName: name })).catch(() => undefined);
  await pool.end();
  eb.destroy();
  sqs.destroy();
});

describe('npm run replay on the emulator', () => {
  const adds: InlineEnvelope[] = [];
  const removes: InlineEnvelope[] = [];

  it('consumes the live events once: 20 joins and 2 leaves applied', async () => {
    from = new Date(Date.now() - 10 * 60_000);
    const session = randomUUID();
    let seq = 0;
    for (let i = 0; i < 20; i++)
      adds.push(
        wrapDispatch({
          appId: '100000000000000001',
          shardId: 0,
          sessionId: session,
          seq: ++seq,
          type: 'GUILD_MEMBER_ADD',
          receivedAt: Date.now(),
          data: { guild_id: guildId, user: { id: String(200000000000000000n + BigInt(i)), username: `u${i}` }, roles: [], joined_at: new Date().toISOString() },
        }),
      );
    for (let i = 20; i < 22; i++)
      removes.push(wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: session, seq: ++seq, type: 'GUILD_MEMBER_REMOVE', receivedAt: Date.now(), data: { guild_id: guildId, user: { id: String(200000000000000000n + BigInt(i)), username: `u${i}` } } }));
    const all = [...adds, ...removes];
    for (let i = 0; i < all.length; i += 10) {
      const r = await eb.send(new PutEventsCommand({ Entries: all.slice(i, i + 10).map((e) => toPutEventsEntry(e, name)) }));
      expect(r.FailedEntryCount).toBe(0);
    }
    const live = await drain(all.length);
    expect(live).toHaveLength(22);
    expect(live.every((m) => replayOf(m.Body!) === undefined)).toBe(true);
    expect(count(await work(live))).toEqual({ applied: 22 });
    to = new Date();
  }, 40_000);

  it('without --reprocess: dedupe applies, only the lost event is handled', async () => {
    // a gap: the effect of one join was lost (its row and its idempotency record)
    const lost = adds[7]!;
    await withGuild(pool, guildId, async (c) => {
      await c.query('DELETE FROM members WHERE guild_id = $1 AND user_id = $2', [guildId, (lost.data.user as { id: string }).id]);
      await c.query('DELETE FROM processed_events WHERE guild_id = $1 AND event_id = $2', [guildId, lost.id]);
    });
    const out: string[] = [];
    const r = await runReplay(eb, { from, to, reprocess: false, bus: name }, { write: (s) => out.push(s), local: true, pollMs: 200, settleMs: 10 });
    expect(r.state).toBe('COMPLETED');
    expect(r.name).toMatch(/^gp-fill-all-\d{14}$/);
    expect(out.join('')).toContain('== replay summary');
    const replayed = await drain(22);
    expect(replayed).toHaveLength(22);
    // shaped exactly as EventBridge delivers a replay: the original event plus replay-name
    expect(replayed.every((m) => (JSON.parse(m.Body!) as Record<string, unknown>)['replay-name'] === r.name)).toBe(true);
    const outcomes = await work(replayed);
    expect(count(outcomes)).toEqual({ duplicate: 21, applied: 1 });
    const back = await withGuild(pool, guildId, (c) => c.query('SELECT 1 FROM members WHERE guild_id = $1 AND user_id = $2', [guildId, (lost.data.user as { id: string }).id]));
    expect(back.rowCount).toBe(1);
    // every line of the trail carries the envelope id and the replay's name
    const trail = lines.filter((l) => l.replayName === r.name);
    expect(trail.filter((l) => l.hop === 'worker.start')).toHaveLength(22);
    expect(trail.every((l) => typeof l.envelopeId === 'string' && l.envelopeId.length === 32)).toBe(true);
  }, 60_000);

  it('with --reprocess --types GUILD_MEMBER_ADD: every join runs through the handler again, the leaves are skipped', async () => {
    const r = await runReplay(eb, { from, to, reprocess: true, types: ['GUILD_MEMBER_ADD'], bus: name }, { write: () => undefined, local: true, pollMs: 200, settleMs: 10, now: () => new Date(Date.now() + 1000) });
    expect(r.state).toBe('COMPLETED');
    expect(r.name).toMatch(/^gp-reprocess-[0-9a-f]+-\d{14}$/);
    const replayed = await drain(22);
    expect(replayed).toHaveLength(22);
    const outcomes = await work(replayed);
    // handled again: the handler ran (its idempotency record was deleted); the stored rows are as new
    // as the events, so the ordering guard leaves them ('stale'), and nothing is skipped as a duplicate
    expect(count(outcomes)).toEqual({ stale: 20, 'replay-skipped': 2 });
    const processed = await withGuild(pool, guildId, (c) => c.query<{ n: string }>('SELECT count(*) AS n FROM processed_events WHERE guild_id = $1', [guildId]));
    expect(Number(processed.rows[0]!.n)).toBe(22);
  }, 60_000);
});
