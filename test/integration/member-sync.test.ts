/**
 * Member list chunks (GUILD_MEMBERS_CHUNK, the answer to /sync-members' op 8) through the sync
 * worker's real Lambda handler against the local PostgreSQL as the worker role and the emulator's S3:
 * a 1,000-member chunk above the 256 KB claim-check threshold is loaded back from S3 and upserted in one
 * statement, redeliveries and a repeated chunk index count once, the sync completes at chunk_count, a
 * chunk older than a member's leave does not bring the member back, and another guild sees none of it.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../db/migrate';
import { entrySize, toPutEventsEntry, wrapDispatch, type Envelope } from '../../lib/contract';
import { handleMemberEvent } from '../../lambdas/member/core';
import { handler } from '../../lambdas/sync/handler';
import { withGuild } from '../../lambdas/shared/db';
import { localAwsConfig } from '../../local/aws';
import { localWorkerEnv } from '../../local/worker-env';
import { envelopeRecord } from './sqs-record';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const s3 = new S3Client(localAwsConfig());
const run = Date.now();
const bucket = `member-sync-${run}`;
const guild = String(840000000000000000n + BigInt(run % 1_000_000) * 1000n);
const otherGuild = String(BigInt(guild) + 1n);
const user = (i: number) => String(850000000000000000n + BigInt(run % 1_000_000) * 10_000n + BigInt(i));
const nonce = `sync-${run}`;
let seq = 0;
let msg = 0;

const member = (i: number) => ({
  user: { id: user(i), username: `member-${i}`, global_name: `Member number ${i}`, avatar: 'a'.repeat(32), discriminator: '0', public_flags: 0, bot: false },
  nick: i % 3 === 0 ? `nick-${i}` : null,
  roles: [String(860000000000000000n + BigInt(i % 7)), String(860000000000000100n + BigInt(i % 5))],
  joined_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
  premium_since: null,
  deaf: false,
  mute: false,
  pending: false,
  flags: 0,
  avatar: null,
  communication_disabled_until: null,
});
const chunk = (index: number, count: number, from: number, n: number, receivedAt = Date.now(), guildId = guild): Envelope =>
  wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: `sync-${run}`,
    seq: ++seq,
    type: 'GUILD_MEMBERS_CHUNK',
    receivedAt,
    data: { guild_id: guildId, members: Array.from({ length: n }, (_, k) => member(from + k)), chunk_index: index, chunk_count: count, nonce },
  });
/** as the ingestor stores an entry too large for EventBridge: the payload in S3, a reference in the envelope */
async function claimCheck(e: Envelope): Promise<Envelope> {
  const key = `claim-check/${e.type}/${e.id}.json`;
  const body = JSON.stringify(e.data);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const { data: _data, ...rest } = e;
  return { ...rest, dataRef: { bucket, key, bytes: Buffer.byteLength(body) } };
}
const record = (e: Envelope): SQSRecord => envelopeRecord(e, ++msg, 'arn:aws:sqs:us-east-1:000000000000:sync');
const ctx = () => ({ functionName: 'sync', awsRequestId: `req-${++msg}` }) as Context;
async function deliver(envelopes: Envelope[]) {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  try {
    const event: SQSEvent = { Records: envelopes.map(record) };
    return { res: await handler(event, ctx()), outcomes: lines.flatMap((l) => (l.includes('"worker finish"') ? [(JSON.parse(l) as { outcome: string }).outcome] : [])), metrics: lines.filter((l) => l.includes('"_aws"')).join('\n') };
  } finally {
    spy.mockRestore();
  }
}
interface SyncRow {
  chunks_seen: number;
  chunk_count: number;
  members: number;
  completed_at: Date | null;
  chunk_indexes: number[];
}
const syncRow = (g: string) => withGuild(pool, g, async (c) => (await c.query<SyncRow>('SELECT chunks_seen, chunk_count, members, completed_at, chunk_indexes FROM member_syncs WHERE nonce = $1', [nonce])).rows[0]);
const presentMembers = (g: string) => withGuild(pool, g, async (c) => Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM members WHERE present AND user_id = ANY($1)', [Array.from({ length: 1200 }, (_, i) => user(i))])).rows[0]?.n ?? 0));

beforeAll(async () => {
  await migrate();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  Object.assign(process.env, { ...(await localWorkerEnv()), DISCORD_APPLICATION_ID: '100000000000000001', CLAIM_CHECK_BUCKET: bucket, POWERTOOLS_METRICS_NAMESPACE: 'member-sync-test' });
});
afterAll(async () => {
  await pool.end();
  s3.destroy();
});

describe('member sync chunks through the sync worker', () => {
  it('upserts a claim-checked 1,000-member chunk and the rest, counts each chunk once and completes the sync', async () => {
    const big = chunk(0, 3, 0, 1000);
    // the full chunk is well above what EventBridge takes inline (256 KB on the emulators)
    expect(entrySize(toPutEventsEntry(big))).toBeGreaterThan(256 * 1024);
    const second = chunk(1, 3, 1000, 150);
    const third = chunk(2, 3, 1150, 50);
    const first = await deliver([await claimCheck(big), second]);
    expect(first.res).toEqual({ batchItemFailures: [] });
    expect(await syncRow(guild)).toMatchObject({ chunks_seen: 2, chunk_count: 3, members: 1150, completed_at: null });

    // a redelivery of the second chunk, the third chunk, and the third again under another envelope id
    // (the same chunk index: Discord's answer received twice)
    const again = await deliver([second, third, chunk(2, 3, 1150, 50)]);
    expect(again.res).toEqual({ batchItemFailures: [] });
    expect(again.outcomes.sort()).toEqual(['applied', 'applied', 'duplicate']);
    expect(again.metrics).toContain('ChunkSyncCompleted');
    const done = await syncRow(guild);
    expect(done).toMatchObject({ chunks_seen: 3, chunk_count: 3, members: 1200 });
    expect(done?.chunk_indexes.sort()).toEqual([0, 1, 2]);
    expect(done?.completed_at).toBeInstanceOf(Date);
    expect(await presentMembers(guild)).toBe(1200);
    const one = await withGuild(pool, guild, async (c) => (await c.query<{ username: string; nick: string | null; roles: string[]; joined_at: Date }>('SELECT username, nick, roles, joined_at FROM members WHERE user_id = $1', [user(999)])).rows[0]);
    expect(one).toEqual({ username: 'member-999', nick: 'nick-999', roles: member(999).roles, joined_at: new Date(member(999).joined_at) });
  });

  it('does not bring back a member whose leave is newer than the chunk', async () => {
    const gone = user(5);
    const leave = wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: `sync-${run}`, seq: ++seq, type: 'GUILD_MEMBER_REMOVE', receivedAt: Date.now(), data: { guild_id: guild, user: { id: gone } } });
    expect(await handleMemberEvent(leave, { pool })).toBe('applied');
    const stale = chunk(0, 1, 0, 10, leave.receivedAt - 1000);
    expect((await deliver([stale])).res).toEqual({ batchItemFailures: [] });
    const row = await withGuild(pool, guild, async (c) => (await c.query<{ present: boolean }>('SELECT present FROM members WHERE user_id = $1', [gone])).rows[0]);
    expect(row).toEqual({ present: false });
  });

  it('keeps the sync in its guild: another guild scope sees no member_syncs row and cannot write one', async () => {
    expect(await syncRow(otherGuild)).toBeUndefined();
    await withGuild(pool, otherGuild, async (c) => {
      expect((await c.query('SELECT 1 FROM member_syncs WHERE guild_id = $1', [guild])).rowCount).toBe(0);
      expect((await c.query('UPDATE member_syncs SET completed_at = NULL WHERE guild_id = $1', [guild])).rowCount).toBe(0);
    });
    await expect(withGuild(pool, otherGuild, (c) => c.query("INSERT INTO member_syncs (guild_id, nonce) VALUES ($1, 'forged')", [guild]))).rejects.toThrow(/row-level security/);
  });
});
