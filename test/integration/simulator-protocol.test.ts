/**
 * The Discord simulator's finer protocol points, against the real @discordjs/ws and @discordjs/rest
 * and against raw sockets where the library would hide what the simulator sent.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { REST, DiscordAPIError } from '@discordjs/rest';
import { GatewayDispatchEvents, GatewayOpcodes, Routes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DiscordSimulator, Ledger, shardOf } from '../../local/simulator';
import { connectManager, until } from '../../local/simulator/testing';

const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function sim(opts: Parameters<typeof DiscordSimulator.start>[0] = {}) {
  const s = await DiscordSimulator.start({ heartbeatIntervalMs: 500, identifyWindowMs: 50, ...opts });
  stops.push(() => s.stop());
  return s;
}

function connect(s: DiscordSimulator, opts: Parameters<typeof connectManager>[1] = {}) {
  const c = connectManager(s, opts);
  stops.push(c.destroy);
  return c;
}

/** A payload as a raw client reads it, before the library would narrow it by op and event name. */
type RawPayload = { op: number; d: unknown; s?: number; t?: string };

/** The session id in a raw client's READY. */
const readySessionId = (msgs: RawPayload[]) => (msgs.find((m) => m.t === 'READY')!.d as { session_id: string }).session_id;

/** A raw gateway client: every frame as it came, and the payloads decoded (one inflate context for zlib-stream). */
async function raw(s: DiscordSimulator, query = 'v=10&encoding=json') {
  const ws = new WebSocket(`${s.gatewayUrl}/?${query}`);
  const frames: Array<{ binary: boolean; bytes: Buffer }> = [];
  const msgs: RawPayload[] = [];
  const inflate = zlib.createInflate();
  const pending: Buffer[] = [];
  inflate.on('data', (c: Buffer) => pending.push(c));
  ws.on('message', (data, binary) => {
    const bytes = data as Buffer;
    frames.push({ binary, bytes });
    if (!binary) {
      msgs.push(JSON.parse(bytes.toString('utf8')) as RawPayload);
      return;
    }
    inflate.write(bytes);
    inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      msgs.push(JSON.parse(Buffer.concat(pending.splice(0)).toString('utf8')) as RawPayload);
    });
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise((r) => ws.on('open', r));
  stops.push(() => ws.terminate());
  const send = (p: unknown) => ws.send(JSON.stringify(p));
  return { ws, frames, msgs, closed, send };
}

describe('Discord simulator: gateway protocol', () => {
  it('sends zlib-stream as one binary frame per payload, each ending in the Z_SYNC_FLUSH suffix, on one deflate context', async () => {
    const s = await sim({ guilds: 5 });
    const c = await raw(s, 'v=10&encoding=json&compress=zlib-stream');
    c.send({ op: GatewayOpcodes.Identify, d: { token: s.token, intents: 1, properties: {}, shard: [0, 1] } });
    await until(() => c.msgs.filter((m) => m.t === 'GUILD_CREATE').length === 5, 'five GUILD_CREATE');
    s.bigGuildCreate(s.guildIds[0]!, 300_000);
    await until(() => c.msgs.filter((m) => m.t === 'GUILD_CREATE').length === 6, 'the 300 KB GUILD_CREATE');
    expect(c.frames.every((f) => f.binary && f.bytes.readUInt32BE(f.bytes.length - 4) === 0x0000ffff)).toBe(true);
    // one context: only the first frame carries a zlib header (78 xx); later frames would not inflate alone
    expect(c.frames[0]!.bytes[0]).toBe(0x78);
    expect(() => zlib.inflateSync(c.frames[2]!.bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH })).toThrow();
    expect(c.frames).toHaveLength(c.msgs.length); // HELLO, READY, 5 + 1 GUILD_CREATE
    expect(c.msgs.map((m) => m.op)).toEqual([10, ...new Array<number>(7).fill(0)]);
    expect(c.msgs.at(-1)!.s).toBe(7);

    const plain = await raw(s);
    await until(() => plain.msgs.length === 1, 'HELLO');
    expect(plain.frames[0]!.binary).toBe(false);
    expect(plain.msgs[0]).toMatchObject({ op: 10, d: { heartbeat_interval: 500 } });
  });

  it('closes with 4007 when RESUME names a seq the session never reached, and ends that session', async () => {
    const s = await sim({ guilds: 2 });
    const a = await raw(s);
    a.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => a.msgs.filter((m) => m.t === 'GUILD_CREATE').length === 2, 'GUILD_CREATE');
    const sessionId = readySessionId(a.msgs);
    a.ws.close(4000);
    await a.closed;
    const b = await raw(s);
    b.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 99 } });
    expect(await b.closed).toBe(4007);
    const c = await raw(s);
    c.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 3 } });
    await until(() => c.msgs.some((m) => m.op === 9), 'op 9');
    expect(c.msgs.find((m) => m.op === 9)!.d).toBe(false);
  });

  it.each([
    [1000, false],
    [1001, false],
    [4000, true],
    [4900, true],
  ])('after the client closes with %i the session is resumable: %s', async (code, resumable) => {
    const s = await sim({ guilds: 1 });
    const a = await raw(s);
    a.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => a.msgs.some((m) => m.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const sessionId = readySessionId(a.msgs);
    a.ws.close(code);
    await a.closed;
    await until(() => s.gateway.closes.some((c) => c.by === 'client'), 'the simulator to see the close');
    const b = await raw(s);
    b.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 2 } });
    await until(() => b.msgs.some((m) => m.op === 9 || m.t === 'RESUMED'), 'op 9 or RESUMED');
    expect(b.msgs.some((m) => m.t === 'RESUMED')).toBe(resumable);
  });

  it('answers a stale session (past its TTL, or a seq older than the replay buffer) with op 9 d:false', async () => {
    const s = await sim({ guilds: 1, sessionTtlMs: 200, replayBufferSize: 10 });
    const a = await raw(s);
    a.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => a.msgs.some((m) => m.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    const sessionId = readySessionId(a.msgs);
    // 200 events: the buffer keeps only the latest ones, so seq 2 cannot be replayed
    for (let i = 0; i < 200; i++) s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(s.guildIds[0]!, String(520000000000000000n + BigInt(i))));
    a.ws.close(4000);
    await a.closed;
    const old = await raw(s);
    old.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 2 } });
    await until(() => old.msgs.some((m) => m.op === 9), 'op 9 for a seq before the buffer');
    expect(old.msgs.find((m) => m.op === 9)!.d).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    const late = await raw(s);
    late.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 202 } });
    await until(() => late.msgs.some((m) => m.op === 9), 'op 9 past the TTL');
    expect(late.msgs.find((m) => m.op === 9)!.d).toBe(false);
  });

  it('op 9 d:true lets @discordjs/ws resume the same session; d:false makes it identify anew', async () => {
    const s = await sim({ guilds: 2 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 2, 'GUILD_CREATE');
    expect(s.invalidateSession(0, true)).toBe(true);
    s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(s.guildIds[0]!, '530000000000000001'));
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Resumed) && dispatches.some((d) => d.t === GatewayDispatchEvents.GuildMemberAdd), 'RESUMED and the member');
    expect(dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready)).toHaveLength(1);

    expect(s.invalidateSession(0, false)).toBe(true);
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready).length === 2, 'a second READY');
    expect(new Set(dispatches.map((d) => d.sessionId)).size).toBe(2);
  });

  it('invalidates the session after a 1000 close (fast, with the simulator identify throttler)', async () => {
    const s = await sim({ guilds: 1 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Ready), 'READY');
    s.closeShard(0, 1000);
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready).length === 2, 'a second READY');
    expect(s.gateway.sessions.get(dispatches[0]!.sessionId)?.valid).toBe(false);
    expect(s.gateway.closes.at(-1)).toMatchObject({ code: 1000, by: 'server' });
  });

  it('counts the daily session budget down and refuses IDENTIFY with op 9 when it is spent', async () => {
    const s = await sim({ sessionStartTotal: 1 });
    const a = await raw(s);
    a.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => a.msgs.some((m) => m.t === 'READY'), 'READY');
    const rest = new REST({ api: s.restUrl }).setToken(s.token);
    const info = (await rest.get(Routes.gatewayBot())) as { session_start_limit: { remaining: number; reset_after: number } };
    expect(info.session_start_limit.remaining).toBe(0);
    expect(info.session_start_limit.reset_after).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 60)); // past the identify window
    const b = await raw(s);
    b.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => b.msgs.some((m) => m.op === 9), 'op 9');
    expect(s.gateway.identifies.map((i) => i.outcome)).toEqual(['ready', 'rate-limited']);
  });

  it('routes guild events by the shard count the client identified with, not the recommended one', async () => {
    const s = await sim({ shards: 1, guilds: 12 });
    const { manager, dispatches } = connect(s, { shardCount: 3 });
    await manager.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 12, 'twelve GUILD_CREATE');
    for (const g of s.guildIds) s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(g, '540000000000000001'));
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).length === 12, 'twelve members');
    for (const d of dispatches.filter((x) => x.t === GatewayDispatchEvents.GuildMemberAdd)) expect(d.shardId).toBe(shardOf((d.d as { guild_id: string }).guild_id, 3));
  });

  it('keeps a ledger that tells exactly what a consumer missed and what it got twice', async () => {
    const s = await sim({ guilds: 1 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.GuildCreate), 'GUILD_CREATE');
    const users = await s.memberJoinStorm(s.guildIds[0]!, 50);
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).length === 50, '50 members');
    const received = dispatches.map((d) => ({ sessionId: d.sessionId, seq: d.s }));
    expect(s.missedBy(received)).toEqual([]);
    // a consumer that lost every tenth member event
    const lossy = received.filter((_r, i) => i % 10 !== 5);
    const missed = s.missedBy(lossy, (t) => t === 'GUILD_MEMBER_ADD');
    expect(missed.map((e) => e.seq)).toEqual(
      received
        .filter((_r, i) => i % 10 === 5)
        .map((r) => r.seq)
        .filter((q) => q > 2),
    );
    expect(missed.every((e) => users.includes(e.id!))).toBe(true);
    expect([...Ledger.duplicates([...received, received[7]!]).entries()]).toEqual([[`${received[7]!.sessionId}:${received[7]!.seq}`, 2]]);
    expect(s.ledger.unknown([{ sessionId: 'x', seq: 1 }])).toHaveLength(1);
    // the ledger is an array too
    expect(s.ledger.filter((e) => e.type === 'GUILD_MEMBER_ADD')).toHaveLength(50);
  });

  it("holds a paused shard's dispatches and sends them in order when unpaused", async () => {
    const s = await sim({ guilds: 1 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.GuildCreate), 'GUILD_CREATE');
    s.pauseShard(0, true);
    const seqs = Array.from({ length: 5 }, (_, i) => s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(s.guildIds[0]!, String(580000000000000000n + BigInt(i))))!);
    await new Promise((r) => setTimeout(r, 200));
    expect(dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd)).toHaveLength(0);
    expect(s.ledger.filter((e) => e.type === 'GUILD_MEMBER_ADD' && e.sentAt === undefined)).toHaveLength(5);
    s.pauseShard(0, false);
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).length === 5, 'the held members');
    expect(dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).map((d) => d.s)).toEqual(seqs);
  });

  it('counts replays when a client resumes from an older seq than it had', async () => {
    const s = await sim({ guilds: 1 });
    const a = await raw(s);
    a.send({ op: 2, d: { token: s.token, intents: 1, properties: {} } });
    await until(() => a.msgs.some((m) => m.t === 'GUILD_CREATE'), 'GUILD_CREATE');
    for (let i = 0; i < 5; i++) s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(s.guildIds[0]!, String(550000000000000000n + BigInt(i))));
    await until(() => a.msgs.filter((m) => m.t === 'GUILD_MEMBER_ADD').length === 5, 'five members');
    const sessionId = readySessionId(a.msgs);
    a.ws.close(4000);
    await a.closed;
    const b = await raw(s);
    b.send({ op: 6, d: { token: s.token, session_id: sessionId, seq: 4 } }); // had 7, says 4
    await until(() => b.msgs.some((m) => m.t === 'RESUMED'), 'RESUMED');
    expect(b.msgs.filter((m) => m.op === 0).map((m) => [m.s, m.t])).toEqual([
      [5, 'GUILD_MEMBER_ADD'],
      [6, 'GUILD_MEMBER_ADD'],
      [7, 'GUILD_MEMBER_ADD'],
      [8, 'RESUMED'],
    ]);
    expect(s.ledger.filter((e) => (e.replays ?? 0) > 0).map((e) => e.seq)).toEqual([5, 6, 7]);
  });
});

describe('Discord simulator: scenarios', () => {
  it('sends a seeded traffic mix over the owning shards; the ledger and the client agree type by type', async () => {
    const s = await sim({ shards: 2, guilds: 10, maxConcurrency: 2, seed: 7 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 10, 'GUILD_CREATE');
    const counts = await s.traffic({ count: 3000 });
    await until(() => dispatches.length === s.ledger.length, 'every dispatch');
    const received = new Map<string, number>();
    for (const d of dispatches) received.set(d.t, (received.get(d.t) ?? 0) + 1);
    for (const [type, n] of Object.entries(counts)) expect(received.get(type) ?? 0, type).toBe(n);
    expect(counts.PRESENCE_UPDATE! + counts.MESSAGE_CREATE! + counts.TYPING_START!).toBeGreaterThan(3000 * 0.6);
    expect(s.interactions.size).toBe(counts.INTERACTION_CREATE);
    for (const d of dispatches) {
      const g = (d.d as { guild_id?: string }).guild_id;
      if (g) expect(d.shardId).toBe(shardOf(g, 2));
    }
    expect(s.missedBy(dispatches.map((d) => ({ sessionId: d.sessionId, seq: d.s })))).toEqual([]);
  });

  it('runs from the CLI: prints its URLs, keeps the token in a file, serves /gateway/bot', async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'token');
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/simulator/cli.ts', '--port', '0', '--shards', '4', '--guilds', '100', '--json', '--token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    stops.push(() => child.kill('SIGTERM'));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await until(() => out.includes('\n'), 'the CLI to print its URLs', 30_000);
    const info = JSON.parse(out.split('\n')[0]!) as { restUrl: string; gatewayUrl: string; guilds: number };
    expect(info.guilds).toBe(100);
    const token = readFileSync(tokenFile, 'utf8');
    expect(out).not.toContain(token);
    const gw = (await new REST({ api: info.restUrl }).setToken(token).get(Routes.gatewayBot())) as { url: string; shards: number };
    expect(gw).toMatchObject({ url: info.gatewayUrl, shards: 4 });
  });

  it('paces traffic at the asked rate', async () => {
    const s = await sim({ guilds: 1 });
    const { manager, dispatches } = connect(s);
    await manager.connect();
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.GuildCreate), 'GUILD_CREATE');
    const t0 = Date.now();
    await s.traffic({ count: 100, ratePerSec: 500, mix: { GUILD_MEMBER_ADD: 1 } });
    // 100 at 500/s is 200 ms of pacing (a lower bound; no upper wall-clock bound)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe('Discord simulator: REST details', () => {
  it('serves the bot routes the workers call through @discordjs/rest: commands, role add/remove, channel messages', async () => {
    const s = await sim({ guilds: 1 });
    const rest = new REST({ api: s.restUrl }).setToken(s.token);
    const g = s.guildIds[0]!;
    const cmds = (await rest.put(Routes.applicationCommands(s.appId), { body: [{ name: 'ping', description: 'Pong', type: 1 }] })) as Array<{ id: string; name: string; application_id: string }>;
    expect(cmds).toHaveLength(1);
    expect(cmds[0]).toMatchObject({ name: 'ping', application_id: s.appId });
    expect(s.commands).toHaveLength(1);
    await rest.put(Routes.guildMemberRole(g, '570000000000000001', '570000000000000002'), { reason: 'auto role' });
    await rest.delete(Routes.guildMemberRole(g, '570000000000000001', '570000000000000002'));
    const msg = (await rest.post(Routes.channelMessages('570000000000000003'), { body: { content: 'hi' } })) as { id: string; content: string };
    expect(msg.content).toBe('hi');
    expect(s.requests.map((r) => [r.route, r.status])).toEqual([
      ['commands_overwrite', 200],
      ['member_role_add', 204],
      ['member_role_remove', 204],
      ['channel_message', 200],
    ]);
    expect(decodeURIComponent(s.requests[1]!.headers['x-audit-log-reason']!)).toBe('auto role'); // clients URL-encode it
    const unknownGuild = await rest.put(Routes.guildMemberRole('570000000000000009', '1', '2')).catch((e: unknown) => e);
    expect(unknownGuild).toMatchObject({ status: 404, code: 10004 });
    const otherApp = await rest.put(Routes.applicationCommands('570000000000000010'), { body: [] }).catch((e: unknown) => e);
    expect(otherApp).toMatchObject({ status: 403, code: 50001 });
  });

  it('makes @discordjs/rest wait out a global 429 and succeed; the 429s are recorded with the global flag', async () => {
    const s = await sim({ guilds: 1, rateLimits: { global: { limit: 3, windowMs: 500 }, route: { limit: 100, windowMs: 1000 } } });
    const rest = new REST({ api: s.restUrl, retries: 3 }).setToken(s.token);
    const g = s.guildIds[0]!;
    // different members: different paths, same bucket route; the global limit is what bites
    await Promise.all(Array.from({ length: 8 }, (_, i) => rest.put(Routes.guildMemberRole(g, String(560000000000000000n + BigInt(i)), g))));
    const roles = s.requests.filter((r) => r.route === 'member_role_add');
    expect(roles.filter((r) => r.status === 204)).toHaveLength(8);
    const limited = roles.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((r) => r.global && r.rateLimited)).toBe(true);
    // after a global 429 the client held back: at most 3 successes in any 500 ms
    const ok = roles.filter((r) => r.status === 204).map((r) => r.at);
    for (const t of ok) expect(ok.filter((u) => u >= t && u < t + 480).length).toBeLessThanOrEqual(3);
  });

  it('sends X-RateLimit-* headers and records requests with the token redacted', async () => {
    const s = await sim();
    const res = await fetch(`${s.restUrl}/v10/channels/300000000000000001/messages`, { method: 'POST', headers: { Authorization: `Bot ${s.token}`, 'Content-Type': 'application/json' }, body: '{"content":"hi"}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(Number(res.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
    expect(res.headers.get('x-ratelimit-bucket')).toMatch(/^[0-9a-f]{16}$/);
    const rec = s.requests.at(-1)!;
    expect(rec).toMatchObject({ method: 'POST', path: '/channels/300000000000000001/messages', route: 'channel_message', status: 200, body: { content: 'hi' } });
    expect(rec.headers.authorization).toBe('Bot [redacted]');
    expect(JSON.stringify(s.requests)).not.toContain(s.token);
  });

  it('accepts follow-ups for 15 minutes after the interaction, then answers 50027', async () => {
    const s = await sim({ interactionTokenTtlMs: 300 });
    const rest = new REST({ api: s.restUrl });
    const ix = s.createInteraction({ commandName: 'slow' });
    // before any callback there is no message to follow up
    const early = await rest.post(Routes.webhook(s.appId, ix.token), { body: { content: 'too soon' }, auth: false }).catch((e: unknown) => e);
    expect((early as DiscordAPIError).code).toBe(10015);
    await rest.post(Routes.interactionCallback(ix.id, ix.token), { body: { type: 5 }, auth: false });
    await rest.post(Routes.webhook(s.appId, ix.token), { body: { content: 'in time' }, auth: false });
    await new Promise((r) => setTimeout(r, 350));
    const late = await rest.post(Routes.webhook(s.appId, ix.token), { body: { content: 'too late' }, auth: false }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(DiscordAPIError);
    expect((late as DiscordAPIError).code).toBe(50027);
    expect(s.interactionResponses(ix.id)?.messages.map((m) => (m.body as { content: string }).content)).toEqual(['in time']);
  });

  it('answers a callback ?with_response=true with the interaction callback response', async () => {
    const s = await sim();
    const rest = new REST({ api: s.restUrl });
    const ix = s.createInteraction({ commandName: 'ping' });
    const out = (await rest.post(Routes.interactionCallback(ix.id, ix.token), { body: { type: 4, data: { content: 'Pong!' } }, query: new URLSearchParams({ with_response: 'true' }), auth: false })) as {
      interaction: { id: string; type: number };
      resource: { type: number; message: { content: string } };
    };
    expect(out.interaction).toMatchObject({ id: ix.id, type: 2 });
    expect(out.resource).toMatchObject({ type: 4, message: { content: 'Pong!' } });
    expect(s.requests.at(-1)?.query).toBe('with_response=true');
  });
});
