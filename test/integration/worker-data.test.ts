/**
 * The workers against real PostgreSQL (as the worker role, under row-level security), real Redis and
 * the simulator's REST.
 */
import { spawn } from 'node:child_process';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { Context, SQSEvent } from 'aws-lambda';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { handleGuildEvent } from '../../lambdas/guild/core';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { handleInteraction } from '../../lambdas/interaction/core';
import { handleMemberEvent } from '../../lambdas/member/core';
import { processEnvelopeBatch } from '../../lambdas/shared/batch';
import { withGuild } from '../../lambdas/shared/db';
import { SharedRateLimitedRest } from '../../lambdas/shared/discord-rest';
import { botToken } from '../../lambdas/shared/bot-rest';
import { parseWorkerConfig } from '../../lambdas/shared/config';
import { localAwsConfig } from '../../local/aws';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DiscordSimulator } from '../../local/simulator';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 8 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
let n = 0;
// fresh guild ids per run, so reruns against the same database start clean
const guild = () => String(800000000000000000n + BigInt(run % 1_000_000_000) * 1000n + BigInt(n++));
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

let seq = 0;
const env = (type: string, data: Record<string, unknown>, receivedAt = Date.now()): Envelope => wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: `s-${run}`, seq: ++seq, type, receivedAt, data });
const member = (g: string, u: string, extra: Record<string, unknown> = {}) => ({ guild_id: g, user: { id: u, username: `u${u.slice(-4)}` }, roles: [], ...extra });

beforeAll(async () => {
  await migrate();
});
afterAll(async () => {
  await pool.end();
  redis.disconnect();
});

describe('row-level security', () => {
  it("keeps guild A's rows out of guild B's reach, for reads and writes, as the worker role", async () => {
    const a = guild();
    const b = guild();
    await handleMemberEvent(env('GUILD_MEMBER_ADD', member(a, '700000000000000001')), { pool });
    expect(await withGuild(pool, a, async (c) => (await c.query('SELECT 1 FROM members')).rowCount)).toBe(1);
    expect(await withGuild(pool, b, async (c) => (await c.query('SELECT 1 FROM members WHERE guild_id = $1', [a])).rowCount)).toBe(0);
    expect(await withGuild(pool, b, async (c) => (await c.query("UPDATE members SET nick = 'x' WHERE guild_id = $1", [a])).rowCount)).toBe(0);
    await expect(withGuild(pool, b, (c) => c.query('INSERT INTO members (guild_id, user_id, event_at, event_seq) VALUES ($1, 1, 0, 0)', [a]))).rejects.toThrow(/row-level security/);
    // without a guild set, nothing at all
    const c = await pool.connect();
    try {
      expect((await c.query('SELECT 1 FROM members')).rowCount).toBe(0);
    } finally {
      c.release();
    }
  });
});

describe('member worker', () => {
  it('ends with exactly the state the ordered stream implies, from 1,000 shuffled events with duplicates', async () => {
    const g = guild();
    const users = Array.from({ length: 300 }, (_, i) => String(710000000000000000n + BigInt(i)));
    const ordered: Envelope[] = [];
    const expected = new Map<string, { present: boolean; nick: string | null }>();
    let t = Date.now() - 100_000;
    let r = 12345;
    const rand = () => (r = (r * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 1000; i++) {
      const u = users[Math.floor(rand() * users.length)]!;
      const cur = expected.get(u);
      t += 7;
      if (!cur || !cur.present) {
        ordered.push(env('GUILD_MEMBER_ADD', member(g, u), t));
        expected.set(u, { present: true, nick: null });
      } else if (rand() < 0.6) {
        const nick = `nick-${i}`;
        ordered.push(env('GUILD_MEMBER_UPDATE', member(g, u, { nick }), t));
        expected.set(u, { present: true, nick });
      } else {
        ordered.push(env('GUILD_MEMBER_REMOVE', { guild_id: g, user: { id: u, username: 'x' } }, t));
        // a member who left: only that they left is state (REMOVE carries no nick)
        expected.set(u, { present: false, nick: null });
      }
    }
    // shuffle, and deliver 10 % twice (SQS is unordered and at least once)
    const delivery = [...ordered, ...ordered.filter(() => rand() < 0.1)];
    for (let i = delivery.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [delivery[i], delivery[j]] = [delivery[j]!, delivery[i]!];
    }
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < delivery.length; i += 20) {
      await Promise.all(
        delivery.slice(i, i + 20).map(async (e) => {
          const o = await handleMemberEvent(e, { pool });
          outcomes[o] = (outcomes[o] ?? 0) + 1;
        }),
      );
    }
    const rows = await withGuild(pool, g, async (c) => (await c.query<{ user_id: string; present: boolean; nick: string | null }>('SELECT user_id::text, present, nick FROM members')).rows);
    const actual = new Map(rows.map((row) => [row.user_id, { present: row.present, nick: row.nick }]));
    expect(actual.size).toBe(expected.size);
    for (const [u, want] of expected) {
      const got = actual.get(u)!;
      expect({ u, present: got.present, nick: want.present ? got.nick : null }).toEqual({ u, ...want });
    }
    expect(outcomes.duplicate).toBe(delivery.length - ordered.length);
  });
});

describe('guild worker', () => {
  it('tells an outage (unavailable: true) from a removal, and a later GUILD_CREATE brings it back', async () => {
    const g = guild();
    const state = () => withGuild(pool, g, async (c) => (await c.query<{ available: boolean; removed: boolean; name: string }>('SELECT available, removed_at IS NOT NULL AS removed, name FROM guilds')).rows[0]);
    await handleGuildEvent(env('GUILD_CREATE', { id: g, name: 'Guild', member_count: 3 }), { pool });
    expect(await state()).toEqual({ available: true, removed: false, name: 'Guild' });
    await handleGuildEvent(env('GUILD_DELETE', { id: g, unavailable: true }), { pool });
    expect(await state()).toEqual({ available: false, removed: false, name: 'Guild' });
    await handleGuildEvent(env('GUILD_CREATE', { id: g, name: 'Guild', member_count: 3 }), { pool });
    expect(await state()).toEqual({ available: true, removed: false, name: 'Guild' });
    await handleGuildEvent(env('GUILD_DELETE', { id: g }), { pool });
    expect(await state()).toMatchObject({ removed: true });
  });
});

describe('interaction worker', () => {
  let sim: DiscordSimulator;
  beforeAll(async () => {
    sim = await DiscordSimulator.start({ guilds: 2 });
  });
  afterAll(() => sim.stop());

  it('sends exactly one callback when the same interaction is delivered twice at once', async () => {
    const ix = sim.createInteraction({ commandName: 'ping' });
    const e = env('INTERACTION_CREATE', { id: ix.id, token: ix.token, type: 2, guild_id: ix.guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: 'ping' } });
    const deps = { redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score: () => Promise.resolve(1) };
    const outcomes = await Promise.all([handleInteraction(e, deps), handleInteraction(e, deps), handleInteraction(e, deps)]);
    expect(outcomes.filter((o) => o === 'answered')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(2);
    expect(sim.requests.filter((r) => r.route === 'interaction_callback' && r.path.includes(ix.id))).toHaveLength(1);
    // and a redelivery later changes nothing
    expect(await handleInteraction(e, deps)).toBe('duplicate');
  });
});

describe('bot-token REST from the member worker', () => {
  it("gives a joining member the guild's auto role through the shared limiter, with the token from Secrets Manager", async () => {
    const sim = await DiscordSimulator.start({ guilds: 1 });
    try {
      const sm = new SecretsManagerClient(localAwsConfig());
      const { ARN } = await sm.send(new CreateSecretCommand({ Name: `bot-token-${run}`, SecretString: JSON.stringify({ token: sim.token }) }));
      const cfg = parseWorkerConfig({ REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://x@127.0.0.1/db', DISCORD_APPLICATION_ID: sim.appId, DISCORD_API_URL: sim.restUrl, DISCORD_TOKEN_SECRET_ARN: ARN });
      expect(await botToken(cfg, sm)).toBe(sim.token);
      const rest = new SharedRateLimitedRest(new REST({ api: sim.restUrl }).setToken(await botToken(cfg, sm)), redis, { prefix: `auto-${run}` });
      const g = sim.guildIds[0]!;
      const role = String(BigInt(g) + 7n);
      await withGuild(pool, g, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', $2::text)) ON CONFLICT (guild_id) DO UPDATE SET settings = excluded.settings", [g, role]));
      await handleMemberEvent(env('GUILD_MEMBER_ADD', member(g, '750000000000000001')), { pool, botRest: rest });
      const puts = sim.requests.filter((r) => r.route === 'member_role_add');
      expect(puts.map((r) => [r.path, r.status])).toEqual([[`/guilds/${g}/members/750000000000000001/roles/${role}`, 204]]);
    } finally {
      await sim.stop();
    }
  });
});

describe('command registration', () => {
  it('bulk-overwrites the registry through npm run commands:register', async () => {
    const sim = await DiscordSimulator.start();
    try {
      const child = spawn('npx', ['tsx', 'scripts/commands-register.ts'], {
        env: { ...process.env, DISCORD_TOKEN: sim.token, DISCORD_APPLICATION_ID: sim.appId, DISCORD_API_URL: sim.restUrl, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      expect(code).toBe(0);
      expect(out).toContain(`registered ${commandRegistry().size} commands`);
      expect((sim.commands as Array<{ name: string }>).map((c) => c.name)).toEqual([...commandRegistry().keys()]);
    } finally {
      await sim.stop();
    }
  });
});

describe('batch handling', () => {
  it('fails only the malformed record of a batch, with its message id', async () => {
    const g = guild();
    const good = env('GUILD_MEMBER_ADD', member(g, '720000000000000001'));
    const event: SQSEvent = {
      Records: [
        { messageId: 'good', body: JSON.stringify({ version: '0', id: 'e1', 'detail-type': good.type, source: 'discord.gateway', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: good }) },
        { messageId: 'bad', body: '{"detail": {"v": 1, "id": "nope"}}' },
      ].map((r) => ({
        ...r,
        receiptHandle: r.messageId,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:1:q',
        awsRegion: 'us-east-1',
      })),
    };
    const errors: Array<Record<string, unknown>> = [];
    const res = await processEnvelopeBatch(
      event,
      {} as Context,
      async (e) => {
        await handleMemberEvent(e, { pool });
      },
      { ...silent, error: (_m, x) => errors.push(x ?? {}) },
    );
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(errors[0]).toMatchObject({ messageId: 'bad', poison: true });
    expect(String(errors[0]!.reason)).toMatch(/INVALID/);
    expect(await withGuild(pool, g, async (c) => (await c.query('SELECT 1 FROM members')).rowCount)).toBe(1);
  });
});

describe('bot-token REST shared through Redis', () => {
  it('keeps 20 concurrent containers under the global limit: no 429 from the simulator, every request done', async () => {
    const sim = await DiscordSimulator.start({ guilds: 1, rateLimits: { global: { limit: 10, windowMs: 1000 }, route: { limit: 1000, windowMs: 1000 } } });
    try {
      const prefix = `rl-${run}`;
      const containers = Array.from({ length: 20 }, () => new SharedRateLimitedRest(new REST({ api: sim.restUrl, retries: 3 }).setToken(sim.token), redis, { globalLimit: 10, prefix }));
      const g = sim.guildIds[0]!;
      await Promise.all(containers.flatMap((c, i) => [0, 1].map((k) => c.put(Routes.guildMemberRole(g, String(730000000000000000n + BigInt(i * 2 + k)), g)))));
      const calls = sim.requests.filter((r) => r.route === 'member_role_add');
      expect(calls.filter((r) => r.status === 204)).toHaveLength(40);
      expect(calls.filter((r) => r.status === 429)).toHaveLength(0);
      expect(containers.reduce((s, c) => s + c.waits, 0)).toBeGreaterThan(0);

      // the same load without the shared limiter draws 429s (so the assertion above can fail)
      const bare = Array.from({ length: 20 }, () => new REST({ api: sim.restUrl, retries: 3 }).setToken(sim.token));
      await new Promise((r) => setTimeout(r, 1100));
      await Promise.all(bare.map((rest, i) => rest.put(Routes.guildMemberRole(g, String(740000000000000000n + BigInt(i)), g)).catch(() => undefined)));
      expect(sim.requests.filter((r) => r.route === 'member_role_add' && r.status === 429).length).toBeGreaterThan(0);
    } finally {
      await sim.stop();
    }
  });
});
