/**
 * Audit rows for security-relevant actions (audit_log, db/migrations/003_audit_log.sql) against real
 * PostgreSQL as the worker role, through the workers' batch path (which sets the envelope id as the
 * record's correlation): the auto role of the member worker and the eligibility decision of
 * /check-eligibility are written in the guild's scope, once per envelope, and no other guild's scope
 * can read or forge them. Discord is the simulator, the score service the local one.
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { REST } from '@discordjs/rest';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { handleInteraction } from '../../lambdas/interaction/core';
import { createScoreClient } from '../../lambdas/interaction/score';
import { handleMemberEvent } from '../../lambdas/member/core';
import { processEnvelopeBatch } from '../../lambdas/shared/batch';
import { withGuild } from '../../lambdas/shared/db';
import { startScoreService, type ScoreService } from '../../local/score-service';
import { DiscordSimulator } from '../../local/simulator';
import { envelopeRecord } from './sqs-record';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 4 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
let seq = 0;
let msg = 0;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const ctx = () => ({ functionName: 'audit-test', awsRequestId: `req-${++msg}` }) as Context;
const envelope = (appId: string, type: string, data: Record<string, unknown>): Envelope => wrapDispatch({ appId, shardId: 0, sessionId: `audit-${run}`, seq: ++seq, type, receivedAt: Date.now(), data });
// as EventBridge delivers to SQS
const record = (e: Envelope): SQSRecord => envelopeRecord(e, ++msg, 'arn:aws:sqs:us-east-1:1:tier');
interface AuditRow {
  action: string;
  actor: string;
  subject_id: string;
  correlation_id: string;
  detail: Record<string, unknown>;
}
const auditOf = (guildId: string, correlationId: string) => withGuild(pool, guildId, async (c) => (await c.query<AuditRow>('SELECT action, actor, subject_id, correlation_id, detail FROM audit_log WHERE correlation_id = $1 ORDER BY id', [correlationId])).rows);

let sim: DiscordSimulator;
let score: ScoreService;
beforeAll(async () => {
  await migrate();
  sim = await DiscordSimulator.start({ guilds: 2 });
  score = await startScoreService(0);
});
afterAll(async () => {
  await sim.stop();
  await score.stop();
  await pool.end();
  redis.disconnect();
});

describe('audit rows under row-level security', () => {
  it('records the auto role (decided, added) with the envelope id, once across a redelivery, invisible to another guild', async () => {
    const [g, other] = [sim.guildIds[0]!, sim.guildIds[1]!];
    const role = String(BigInt(g) + 7n);
    const userId = String(760000000000000000n + BigInt(run % 1_000_000));
    await withGuild(pool, g, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', $2::text)) ON CONFLICT (guild_id) DO UPDATE SET settings = excluded.settings", [g, role]));
    const botRest = new REST({ api: sim.restUrl }).setToken(sim.token);
    const join = envelope(sim.appId, 'GUILD_MEMBER_ADD', { guild_id: g, user: { id: userId, username: 'audited' }, roles: [] });
    const handle = (e: Envelope) => handleMemberEvent(e, { pool, botRest: { put: (route) => botRest.put(route) } });
    // the first delivery and a redelivery of the same envelope
    for (let i = 0; i < 2; i++) expect(await processEnvelopeBatch({ Records: [record(join)] }, ctx(), handle, silent)).toEqual({ batchItemFailures: [] });

    expect(sim.requests.filter((r) => r.route === 'member_role_add' && r.path.includes(userId)).map((r) => r.status)).toEqual([204]);
    const rows = await auditOf(g, join.id);
    expect(rows.map((r) => [r.action, r.actor, r.subject_id, r.correlation_id])).toEqual([
      ['member.auto_role.decided', 'member-worker', userId, join.id],
      ['member.auto_role.added', 'member-worker', userId, join.id],
    ]);
    expect(rows[1]!.detail).toEqual({ roleId: role });
    // another guild's scope: nothing to read, nothing to forge, and no update or delete rights at all
    expect(await auditOf(other, join.id)).toEqual([]);
    await expect(withGuild(pool, other, (c) => c.query("INSERT INTO audit_log (guild_id, action, actor, correlation_id) VALUES ($1, 'eligibility.decided', 'x', 'forged')", [g]))).rejects.toThrow(/row-level security/);
    await expect(withGuild(pool, g, (c) => c.query('DELETE FROM audit_log WHERE correlation_id = $1', [join.id]))).rejects.toThrow(/permission denied/);
  });

  it('records the eligibility decision of /check-eligibility before the user sees it, with the envelope id and the score', async () => {
    const [g, other] = [sim.guildIds[0]!, sim.guildIds[1]!];
    const userId = String(770000000000000000n + BigInt(run % 1_000_000));
    const ix = sim.createInteraction({ commandName: 'check-eligibility', guildId: g, userId });
    const e = envelope(sim.appId, 'INTERACTION_CREATE', { id: ix.id, token: ix.token, type: 2, guild_id: g, channel_id: ix.channelId, member: { user: { id: userId } }, data: { name: 'check-eligibility' } });
    await redis.del(`score:${userId}`);
    const deps = { redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score: createScoreClient(score.url, 2000) };
    expect(await processEnvelopeBatch({ Records: [record(e)] }, ctx(), (env) => handleInteraction(env, deps), silent)).toEqual({ batchItemFailures: [] });

    // the local score service scores a user id modulo 100
    const expected = Number(BigInt(userId) % 100n);
    const rows = await auditOf(g, e.id);
    expect(rows.map((r) => [r.action, r.actor, r.subject_id, r.correlation_id])).toEqual([['eligibility.decided', 'interaction-worker', userId, e.id]]);
    expect(rows[0]!.detail).toEqual({ eligible: expected >= 50, score: expected, threshold: 50, source: 'score-service', interactionId: ix.id });
    const edit = sim.interactions.get(ix.id)!;
    expect(JSON.stringify(edit)).toContain(`Your score is ${expected}`);
    expect(await auditOf(other, e.id)).toEqual([]);
  });
});
