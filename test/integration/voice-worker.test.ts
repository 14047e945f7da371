/**
 * The voice worker through its real Lambda handler (middy wrapper, clients from the environment as a
 * container gets them) against the local PostgreSQL as the worker role: joins, a move and a leave
 * become sessions, a redelivered batch changes nothing, an older state delivered late is ignored, and
 * another guild's scope sees none of it (row-level security).
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate } from '../../db/migrate';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { withGuild } from '../../lambdas/shared/db';
import { handler } from '../../lambdas/voice/handler';
import { localWorkerEnv } from '../../local/worker-env';
import { envelopeRecord } from './sqs-record';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 2 });
const run = Date.now();
const id = (base: bigint, i: number) => String(base + BigInt(run % 1_000_000) * 1000n + BigInt(i));
const guild = id(810000000000000000n, 1);
const otherGuild = id(810000000000000000n, 2);
const [alice, bob] = [id(820000000000000000n, 1), id(820000000000000000n, 2)];
const [lobby, game] = [id(830000000000000000n, 1), id(830000000000000000n, 2)];
let seq = 0;
let msg = 0;

const state = (userId: string, channelId: string | null, receivedAt: number, guildId = guild): Envelope =>
  wrapDispatch({
    appId: '100000000000000001',
    shardId: 0,
    sessionId: `voice-${run}`,
    seq: ++seq,
    type: 'VOICE_STATE_UPDATE',
    receivedAt,
    data: { guild_id: guildId, user_id: userId, channel_id: channelId, session_id: 'abc', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null },
  });
const record = (e: Envelope): SQSRecord => envelopeRecord(e, ++msg, 'arn:aws:sqs:us-east-1:000000000000:voice');
const ctx = () => ({ functionName: 'voice', awsRequestId: `req-${++msg}` }) as Context;
/** one batch through the handler; its log and EMF lines are kept out of the test output */
async function deliver(envelopes: Envelope[]) {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
  try {
    const event: SQSEvent = { Records: envelopes.map(record) };
    return { res: await handler(event, ctx()), lines };
  } finally {
    spy.mockRestore();
  }
}
interface SessionRow {
  user_id: string;
  channel_id: string;
  joined_at: Date;
  left_at: Date | null;
}
const sessionsOf = (g: string) => withGuild(pool, g, async (c) => (await c.query<SessionRow>('SELECT user_id, channel_id, joined_at, left_at FROM voice_sessions WHERE user_id = ANY($1) ORDER BY user_id, joined_at', [[alice, bob]])).rows);

beforeAll(async () => {
  await migrate();
  Object.assign(process.env, { ...(await localWorkerEnv()), DISCORD_APPLICATION_ID: '100000000000000001', POWERTOOLS_METRICS_NAMESPACE: 'voice-test' });
});
afterAll(async () => {
  await pool.end();
});

describe('voice worker handler', () => {
  const t0 = Date.UTC(2030, 0, 1, 12, 0, 0);
  it('turns joins, a move and a leave into sessions; a redelivered batch and a late older state change nothing', async () => {
    const batch = [state(alice, lobby, t0), state(bob, lobby, t0 + 1000)];
    const first = await deliver(batch);
    expect(first.res).toEqual({ batchItemFailures: [] });
    // alice moves to the game channel, then mutes there (no change), then leaves
    expect((await deliver([state(alice, game, t0 + 60_000)])).res).toEqual({ batchItemFailures: [] });
    expect((await deliver([state(alice, game, t0 + 61_000)])).res).toEqual({ batchItemFailures: [] });
    expect((await deliver([state(alice, null, t0 + 120_000)])).res).toEqual({ batchItemFailures: [] });
    // the first batch again (SQS redelivery), and a state older than alice's leave arriving now
    const again = await deliver([...batch, state(alice, lobby, t0 + 90_000)]);
    expect(again.res).toEqual({ batchItemFailures: [] });
    const outcomes = again.lines.flatMap((l) => (l.includes('"worker finish"') ? [(JSON.parse(l) as { outcome: string }).outcome] : []));
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'stale']);

    const at = (ms: number) => new Date(ms);
    expect(await sessionsOf(guild)).toEqual([
      { user_id: alice, channel_id: lobby, joined_at: at(t0), left_at: at(t0 + 60_000) },
      { user_id: alice, channel_id: game, joined_at: at(t0 + 60_000), left_at: at(t0 + 120_000) },
      { user_id: bob, channel_id: lobby, joined_at: at(t0 + 1000), left_at: null },
    ]);
    const states = await withGuild(pool, guild, async (c) => (await c.query<{ user_id: string; channel_id: string | null }>('SELECT user_id, channel_id FROM voice_states WHERE user_id = ANY($1) ORDER BY user_id', [[alice, bob]])).rows);
    expect(states).toEqual([
      { user_id: alice, channel_id: null },
      { user_id: bob, channel_id: lobby },
    ]);
  });

  it('keeps each guild in its own scope: another guild neither sees nor writes these rows', async () => {
    expect((await deliver([state(bob, game, t0 + 5000, otherGuild)])).res).toEqual({ batchItemFailures: [] });
    expect((await sessionsOf(otherGuild)).map((s) => s.channel_id)).toEqual([game]);
    // bob's open session in the first guild is untouched by his state in the other
    expect((await sessionsOf(guild)).filter((s) => s.user_id === bob && s.left_at === null)).toHaveLength(1);
    await withGuild(pool, otherGuild, async (c) => {
      expect((await c.query('SELECT 1 FROM voice_sessions WHERE guild_id = $1', [guild])).rowCount).toBe(0);
      expect((await c.query('SELECT 1 FROM voice_states WHERE guild_id = $1', [guild])).rowCount).toBe(0);
      expect((await c.query('UPDATE voice_sessions SET left_at = now() WHERE guild_id = $1', [guild])).rowCount).toBe(0);
    });
    await expect(withGuild(pool, otherGuild, (c) => c.query("INSERT INTO voice_sessions (guild_id, user_id, channel_id, joined_at, join_event_id) VALUES ($1, $2, $3, now(), 'forged')", [guild, alice, lobby]))).rejects.toThrow(/row-level security/);
  });
});
