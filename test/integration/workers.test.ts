/**
 * Workers against real PostgreSQL (the worker role, under row-level security), real Redis and the
 * simulator's REST: migrations, idempotency, ordering, and the Redis-shared bot-token rate limiter.
 * (worker-data.test.ts holds the larger scenarios: 1,000 shuffled member events, auto role, 20 containers.)
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import Redis from 'ioredis';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_OWNER_URL, migrate } from '../../db/migrate';
import { wrapDispatch, type Envelope } from '../../lib/contract';
import { handleGuildEvent } from '../../lambdas/guild/core';
import { commandRegistry } from '../../lambdas/interaction/commands';
import { handleInteraction } from '../../lambdas/interaction/core';
import { handleMemberEvent } from '../../lambdas/member/core';
import { inlineEnvelope, s3ClaimCheckLoader } from '../../lambdas/shared/claim-check';
import { maybePruneProcessed, withGuild } from '../../lambdas/shared/db';
import { createRedis } from '../../lambdas/shared/redis';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { localAwsConfig } from '../../local/aws';
import { BotTokenRejectedError, SharedRateLimitedRest } from '../../lambdas/shared/discord-rest';
import { DiscordSimulator } from '../../local/simulator';

const pool = new Pool({ connectionString: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy', max: 4 });
const redis = new Redis('redis://127.0.0.1:6379');
const run = Date.now();
let n = 0;
const guild = () => String(600000000000000000n + BigInt(run % 1_000_000_000) * 1000n + BigInt(n++));
let seq = 0;
const env = (type: string, data: Record<string, unknown>, receivedAt = Date.now()): Envelope => wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: `w-${run}`, seq: ++seq, type, receivedAt, data });
const member = (g: string, u: string, extra: Record<string, unknown> = {}) => ({ guild_id: g, user: { id: u, username: 'someone' }, roles: [], ...extra });
const row = (g: string, u: string) => withGuild(pool, g, async (c) => (await c.query<{ present: boolean; nick: string | null; updated_at: Date }>('SELECT present, nick, updated_at FROM members WHERE user_id = $1', [u])).rows[0]);

beforeAll(async () => {
  await migrate();
});
afterAll(async () => {
  await pool.end();
  redis.disconnect();
});

describe('migrations', () => {
  it('apply each file once: a second run applies nothing and changes no schema', async () => {
    const second = await migrate();
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(expect.arrayContaining(['000_worker_role.sql', '001_init.sql', '002_pending_actions.sql']));
    const c = new Client({ connectionString: LOCAL_OWNER_URL });
    await c.connect();
    try {
      const versions = (await c.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version);
      expect(new Set(versions).size).toBe(versions.length);
      // the worker is not the owner and cannot bypass row-level security
      const role = (await c.query<{ rolsuper: boolean; rolbypassrls: boolean }>("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'gateway_worker'")).rows[0];
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
      const forced = (await c.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relname IN ('guilds','members','guild_config','processed_events') AND relrowsecurity AND relforcerowsecurity")).rows;
      expect(forced).toHaveLength(4);
    } finally {
      await c.end();
    }
  });
});

describe('row-level security on every table', () => {
  it('lets a worker scoped to guild B neither see nor write guild A rows in guilds, guild_config or processed_events', async () => {
    const a = guild();
    const b = guild();
    await handleGuildEvent(env('GUILD_CREATE', { id: a, name: 'A' }), { pool });
    await withGuild(pool, a, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, '{}')", [a]));
    await withGuild(pool, b, async (c) => {
      expect((await c.query('SELECT 1 FROM guilds WHERE guild_id = $1', [a])).rowCount).toBe(0);
      expect((await c.query('SELECT 1 FROM guild_config WHERE guild_id = $1', [a])).rowCount).toBe(0);
      expect((await c.query('SELECT 1 FROM processed_events WHERE guild_id = $1', [a])).rowCount).toBe(0);
      expect((await c.query('DELETE FROM guilds WHERE guild_id = $1', [a])).rowCount).toBe(0);
    });
    await expect(withGuild(pool, b, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, '{}')", [a]))).rejects.toThrow(/row-level security/);
    // a GUILD_UPDATE for A handled in B's scope is impossible: withGuild scopes to the event's guild
    expect(await withGuild(pool, a, async (c) => (await c.query('SELECT 1 FROM guilds')).rowCount)).toBe(1);
  });
});

describe('member worker', () => {
  it('applies the same envelope once: a second delivery is a duplicate and changes nothing', async () => {
    const g = guild();
    const u = '760000000000000001';
    const e = env('GUILD_MEMBER_UPDATE', member(g, u, { nick: 'first' }));
    expect(await handleMemberEvent(e, { pool })).toBe('applied');
    const before = await row(g, u);
    expect(await handleMemberEvent(e, { pool })).toBe('duplicate');
    expect(await row(g, u)).toEqual(before);
    const events = await withGuild(pool, g, async (c) => (await c.query<{ event_id: string }>('SELECT event_id FROM processed_events')).rows);
    expect(events).toEqual([{ event_id: e.id }]);
  });

  it('keeps a member removed when a late ADD older than the REMOVE arrives after it', async () => {
    const g = guild();
    const u = '760000000000000002';
    const t = Date.now() - 10_000;
    const add = env('GUILD_MEMBER_ADD', member(g, u, { nick: 'joined' }), t);
    const remove = env('GUILD_MEMBER_REMOVE', { guild_id: g, user: { id: u } }, t + 5);
    expect(await handleMemberEvent(remove, { pool })).toBe('applied');
    expect(await handleMemberEvent(add, { pool })).toBe('stale');
    expect(await row(g, u)).toMatchObject({ present: false });
    // and an UPDATE older than a newer one does not overwrite the nick
    const v = '760000000000000003';
    const newer = env('GUILD_MEMBER_UPDATE', member(g, v, { nick: 'newer' }), t + 20);
    const older = env('GUILD_MEMBER_UPDATE', member(g, v, { nick: 'older' }), t + 10);
    await handleMemberEvent(newer, { pool });
    expect(await handleMemberEvent(older, { pool })).toBe('stale');
    expect(await row(g, v)).toMatchObject({ present: true, nick: 'newer' });
  });
});

describe('side effects and retention', () => {
  it('leaves the auto role of a join whose REST call failed to the redelivery, and does it once', async () => {
    const g = guild();
    const u = '760000000000000010';
    const role = '760000000000000099';
    await withGuild(pool, g, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', $2::text))", [g, role]));
    const puts: string[] = [];
    let fail = true;
    const botRest = {
      put: (route: string) => {
        if (fail) return Promise.reject(new Error('connect ETIMEDOUT'));
        puts.push(route);
        return Promise.resolve();
      },
    };
    const join = env('GUILD_MEMBER_ADD', member(g, u));
    await expect(handleMemberEvent(join, { pool, botRest })).rejects.toThrow('ETIMEDOUT');
    const pending = () => withGuild(pool, g, async (c) => (await c.query<{ pending_action: string | null }>('SELECT pending_action FROM processed_events WHERE event_id = $1', [join.id])).rows[0]?.pending_action);
    expect(await pending()).toBe(`/guilds/${g}/members/${u}/roles/${role}`);
    fail = false;
    expect(await handleMemberEvent(join, { pool, botRest })).toBe('duplicate');
    expect(puts).toEqual([`/guilds/${g}/members/${u}/roles/${role}`]);
    expect(await pending()).toBeNull();
    expect(await handleMemberEvent(join, { pool, botRest })).toBe('duplicate');
    expect(puts).toHaveLength(1);
  });

  it('drops an auto role Discord refuses for good (50013 Missing Permissions) instead of retrying invalid requests', async () => {
    const g = guild();
    await withGuild(pool, g, (c) => c.query("INSERT INTO guild_config (guild_id, settings) VALUES ($1, jsonb_build_object('autoRoleId', '760000000000000098'))", [g]));
    let calls = 0;
    const outcomes: string[] = [];
    const botRest = {
      put: () => {
        calls++;
        return Promise.reject(Object.assign(new Error('Missing Permissions'), { code: 50013, status: 403 }));
      },
    };
    const join = env('GUILD_MEMBER_ADD', member(g, '760000000000000011'));
    expect(await handleMemberEvent(join, { pool, botRest, onOutcome: (o) => outcomes.push(o) })).toBe('applied');
    expect(outcomes).toEqual(['action-dropped', 'applied']);
    expect(await handleMemberEvent(join, { pool, botRest })).toBe('duplicate');
    expect(calls).toBe(1);
  });

  it("prunes a guild's idempotency records older than 15 days, keeping recent ones and pending actions", async () => {
    const g = guild();
    await withGuild(pool, g, (c) =>
      c.query(
        `INSERT INTO processed_events (guild_id, event_id, type, processed_at, pending_action) VALUES
           ($1, 'old', 'GUILD_MEMBER_ADD', now() - interval '16 days', NULL),
           ($1, 'old-pending', 'GUILD_MEMBER_ADD', now() - interval '16 days', '/x'),
           ($1, 'recent', 'GUILD_MEMBER_ADD', now() - interval '1 day', NULL)`,
        [g],
      ),
    );
    expect(await withGuild(pool, g, (c) => maybePruneProcessed(c, 1))).toBe(1);
    const left = await withGuild(pool, g, async (c) => (await c.query<{ event_id: string }>('SELECT event_id FROM processed_events ORDER BY event_id')).rows.map((r) => r.event_id));
    expect(left).toEqual(['old-pending', 'recent']);
  });
});

describe('claim-checked events', () => {
  it('stores the name of a claim-checked GUILD_CREATE loaded back from S3', async () => {
    const s3 = new S3Client(localAwsConfig());
    const bucket = `claims-${run}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const g = guild();
    const full = env('GUILD_CREATE', { id: g, name: 'Huge guild', member_count: 250_000, channels: Array.from({ length: 500 }, (_, i) => ({ id: String(i) })) });
    const key = `claim-check/GUILD_CREATE/${full.id}.json`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(full.data) }));
    const { data: _data, ...rest } = full;
    const claimChecked: Envelope = { ...rest, dataRef: { bucket, key, bytes: 1 } };
    const inline = await inlineEnvelope(claimChecked, s3ClaimCheckLoader(s3, bucket));
    expect(await handleGuildEvent(inline, { pool })).toBe('applied');
    const stored = await withGuild(pool, g, async (c) => (await c.query<{ name: string; member_count: number }>('SELECT name, member_count FROM guilds')).rows[0]);
    expect(stored).toEqual({ name: 'Huge guild', member_count: 250_000 });
  });
});

describe('Redis with an AUTH token', () => {
  it('connects with the token from Secrets Manager (REDIS_AUTH_SECRET_ARN) and is refused without it', async () => {
    const port = 20000 + (run % 20000);
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'auth-token-123', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const sm = new SecretsManagerClient(localAwsConfig());
    try {
      const { ARN } = await sm.send(new CreateSecretCommand({ Name: `redis-auth-${run}`, SecretString: 'auth-token-123' }));
      const url = `redis://127.0.0.1:${port}`;
      for (let i = 0; i < 50; i++) {
        const up = await new Promise<boolean>((r) => {
          const sock = connect(port, '127.0.0.1', () => {
            sock.end();
            r(true);
          });
          sock.on('error', () => r(false));
        });
        if (up) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const authed = await createRedis({ REDIS_URL: url, REDIS_AUTH_SECRET_ARN: ARN }, sm);
      try {
        await authed.set('k', 'v');
        expect(await authed.get('k')).toBe('v');
      } finally {
        authed.disconnect();
      }
      const anon = await createRedis({ REDIS_URL: url });
      try {
        await expect(anon.get('k')).rejects.toThrow(/NOAUTH/);
      } finally {
        anon.disconnect();
      }
    } finally {
      server.kill();
    }
  });
});

describe('guild worker', () => {
  it('marks an outage (unavailable: true) unavailable but keeps the guild; a removal sets removed_at; a stale outage after the removal is ignored', async () => {
    const g = guild();
    const t = Date.now() - 10_000;
    const state = () => withGuild(pool, g, async (c) => (await c.query<{ available: boolean; removed: boolean }>('SELECT available, removed_at IS NOT NULL AS removed FROM guilds')).rows[0]);
    await handleGuildEvent(env('GUILD_CREATE', { id: g, name: 'G' }, t), { pool });
    await handleGuildEvent(env('GUILD_DELETE', { id: g, unavailable: true }, t + 1), { pool });
    expect(await state()).toEqual({ available: false, removed: false });
    const removal = env('GUILD_DELETE', { id: g }, t + 3);
    const lateOutage = env('GUILD_DELETE', { id: g, unavailable: true }, t + 2);
    expect(await handleGuildEvent(removal, { pool })).toBe('applied');
    expect(await handleGuildEvent(lateOutage, { pool })).toBe('stale');
    expect(await state()).toMatchObject({ removed: true });
    expect(await handleGuildEvent(removal, { pool })).toBe('duplicate');
  });
});

describe('interaction worker against the simulator', () => {
  it('defers a slow command well within 3 s, then edits the original; answers a fast one directly; one callback each', async () => {
    const sim = await DiscordSimulator.start({ guilds: 1 });
    try {
      // the score service takes 1.2 s: the defer must not wait for it
      let scoredAt = Infinity;
      const score = () =>
        new Promise<number>((r) =>
          setTimeout(() => {
            scoredAt = Date.now();
            r(72);
          }, 1200),
        );
      const deps = { redis, pool, rest: new REST({ api: sim.restUrl }), applicationId: sim.appId, commands: commandRegistry(), score };
      const envOf = (ix: ReturnType<typeof sim.createInteraction>) => env('INTERACTION_CREATE', { id: ix.id, token: ix.token, type: 2, guild_id: ix.guildId, channel_id: ix.channelId, member: { user: { id: ix.userId } }, data: { name: ix.commandName } });
      const slow = sim.createInteraction({ commandName: 'check-eligibility', userId: String(790000000000000000n + BigInt(run % 1_000_000)) });
      const fast = sim.createInteraction({ commandName: 'ping' });
      const [slowOutcome, fastOutcome] = await Promise.all([handleInteraction(envOf(slow), deps), handleInteraction(envOf(fast), deps)]);
      expect([slowOutcome, fastOutcome]).toEqual(['deferred', 'answered']);
      const s = sim.interactionResponses(slow.id)!;
      expect(s.callback?.type).toBe(5);
      // deferred before the score came, and inside Discord's window (the simulator refuses a late callback)
      expect(s.callback!.at).toBeLessThan(scoredAt);
      expect(sim.requests.filter((r) => r.route === 'interaction_callback' && r.path.includes(slow.id)).map((r) => r.status)).toEqual([204]);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
      expect(s.messages).toEqual([expect.objectContaining({ kind: 'edit', body: expect.objectContaining({ content: 'Your score is 72: you are eligible.' }) })]);
      expect(s.messages[0]!.at - s.createdAt).toBeGreaterThanOrEqual(1200);
      const f = sim.interactionResponses(fast.id)!;
      expect(f.callback).toMatchObject({ type: 4, data: { content: 'Pong!' } });
      // a redelivery of the slow one changes nothing
      expect(await handleInteraction(envOf(slow), deps)).toBe('duplicate');
      expect(sim.requests.filter((r) => r.route === 'interaction_callback')).toHaveLength(2);
    } finally {
      await sim.stop();
    }
  });
});

describe('bot-token REST shared through Redis', () => {
  it("keeps 8 containers hammering one role route within the route's bucket: no 429, every request done", async () => {
    const sim = await DiscordSimulator.start({ guilds: 1, rateLimits: { global: { limit: 1000, windowMs: 1000 }, route: { limit: 4, windowMs: 500 } } });
    try {
      const prefix = `route-${run}`;
      const containers = Array.from({ length: 8 }, () => new SharedRateLimitedRest(new REST({ api: sim.restUrl, retries: 3 }).setToken(sim.token), redis, { prefix, safetyMarginMs: 50 }));
      const g = sim.guildIds[0]!;
      const started = Date.now();
      await Promise.all(containers.flatMap((c, i) => [0, 1, 2].map((k) => c.put(Routes.guildMemberRole(g, String(770000000000000000n + BigInt(i * 3 + k)), String(BigInt(g) + 1n))))));
      const calls = sim.requests.filter((r) => r.route === 'member_role_add');
      expect(calls.filter((r) => r.status === 429)).toHaveLength(0);
      expect(calls.filter((r) => r.status === 204)).toHaveLength(24);
      // 24 requests at 4 per 500 ms need at least 5 full windows
      expect(Date.now() - started).toBeGreaterThanOrEqual(2400);
      expect(containers.reduce((s, c) => s + c.rateLimited, 0)).toBe(0);
      // the bucket was learned by its hash from X-RateLimit-Bucket and shared in Redis
      expect(await redis.get(`${prefix}:hash:PUT /guilds/:id/members/:id/roles/:id`)).toMatch(/^[0-9a-f]+$/);
    } finally {
      await sim.stop();
    }
  }, 20_000);

  it('draws 429s from the same load without the shared limiter (so the test above can fail)', async () => {
    const sim = await DiscordSimulator.start({ guilds: 1, rateLimits: { global: { limit: 1000, windowMs: 1000 }, route: { limit: 4, windowMs: 500 } } });
    try {
      const g = sim.guildIds[0]!;
      const bare = Array.from({ length: 8 }, () => new REST({ api: sim.restUrl, retries: 3 }).setToken(sim.token));
      await Promise.all(bare.map((rest, i) => rest.put(Routes.guildMemberRole(g, String(780000000000000000n + BigInt(i)), String(BigInt(g) + 1n)))));
      expect(sim.requests.filter((r) => r.route === 'member_role_add' && r.status === 429).length).toBeGreaterThan(0);
      // @discordjs/rest honoured retry_after: every request still succeeded
      expect(sim.requests.filter((r) => r.route === 'member_role_add' && r.status === 204)).toHaveLength(8);
    } finally {
      await sim.stop();
    }
  });

  it('pauses every container after a 401 instead of piling up invalid requests, and reads the rotated token again', async () => {
    const sim = await DiscordSimulator.start({ guilds: 1 });
    try {
      const g = sim.guildIds[0]!;
      const route = (u: number) => `/guilds/${g}/members/${String(770000000000000000n + BigInt(u))}/roles/${String(BigInt(g) + 5n)}` as const;
      const prefix = `unauth-${run}`;
      let refreshed = 0;
      const container = (token: string) => {
        const rest = new REST({ api: sim.restUrl, retries: 0 }).setToken(token);
        return new SharedRateLimitedRest(rest, redis, {
          prefix,
          unauthorizedPauseMs: 800,
          onUnauthorized: () => {
            refreshed++;
            rest.setToken(sim.token);
            return Promise.resolve();
          },
        });
      };
      const a = container('revoked-token');
      const b = container('revoked-token');
      await expect(a.put(route(1))).rejects.toThrow(/401|Unauthorized/);
      await new Promise((r) => setTimeout(r, 50)); // the response listener records the 401
      const before = sim.requests.length;
      // every container now refuses at once, without a request; each reads its token again once
      await expect(b.put(route(2))).rejects.toBeInstanceOf(BotTokenRejectedError);
      await expect(b.put(route(3))).rejects.toBeInstanceOf(BotTokenRejectedError);
      await expect(a.put(route(4))).rejects.toBeInstanceOf(BotTokenRejectedError);
      expect(sim.requests.length).toBe(before);
      expect(refreshed).toBe(2);
      // after the pause both go through with the token they read again
      await new Promise((r) => setTimeout(r, 900));
      await a.put(route(5));
      await b.put(route(6));
      expect(sim.requests.filter((r) => r.status === 401)).toHaveLength(1);
    } finally {
      await sim.stop();
    }
  });

  it('makes every container wait out a global 429 that one of them received', async () => {
    const prefix = `global-${run}`;
    const a = new SharedRateLimitedRest(new REST(), redis, { prefix });
    const b = new SharedRateLimitedRest(new REST(), redis, { prefix });
    const headers = new Headers({ 'retry-after': '1', 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' });
    await a.learn('POST', '/channels/1234567890123456789/messages', { status: 429, headers });
    const t0 = Date.now();
    await b.acquire('PUT', '/guilds/1234567890123456789/members/1234567890123456789/roles/1234567890123456789');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(b.waits).toBeGreaterThan(0);
  });
});
