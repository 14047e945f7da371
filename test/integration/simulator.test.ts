/**
 * The Discord simulator against the real @discordjs/ws and @discordjs/rest, unmodified.
 */
import { REST, DiscordAPIError } from '@discordjs/rest';
import { CompressionMethod, SimpleIdentifyThrottler, WebSocketManager, WebSocketShardEvents, type SessionInfo } from '@discordjs/ws';
import { GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes, Routes, type GatewayDispatchPayload } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { DiscordSimulator, shardOf, snowflakeTime } from '../../local/simulator';

// a bit field of intents, which @discordjs/ws types as the enum
const INTENTS: GatewayIntentBits = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers;
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function sim(opts: Parameters<typeof DiscordSimulator.start>[0] = {}) {
  const s = await DiscordSimulator.start({ heartbeatIntervalMs: 500, identifyWindowMs: 50, ...opts });
  stops.push(() => s.stop());
  return s;
}

function manager(s: DiscordSimulator, opts: Partial<ConstructorParameters<typeof WebSocketManager>[0]> = {}) {
  const rest = new REST({ api: s.restUrl }).setToken(s.token);
  const sessions = new Map<number, SessionInfo | null>();
  const m = new WebSocketManager({
    token: s.token,
    intents: INTENTS,
    rest,
    compression: CompressionMethod.ZlibNative,
    retrieveSessionInfo: (id) => sessions.get(id) ?? null,
    updateSessionInfo: (id, info) => void sessions.set(id, info),
    // the simulator's short identify window instead of the library's fixed 5 s
    buildIdentifyThrottler: () => Promise.resolve(s.identifyThrottler()),
    ...opts,
  });
  const dispatches: Array<GatewayDispatchPayload & { shardId: number }> = [];
  m.on(WebSocketShardEvents.Dispatch, (payload, shardId) => dispatches.push({ ...payload, shardId }));
  stops.push(() => Promise.resolve(m.destroy({ code: 4900 })).catch(() => undefined));
  return { m, dispatches, sessions, rest };
}

/** A raw client's frame: the simulator sends uncompressed JSON text unless asked otherwise. */
const payloadOf = (data: RawData) => JSON.parse((data as Buffer).toString('utf8')) as { op: GatewayOpcodes; d: unknown };

const until = async (cond: () => boolean, what: string, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Discord simulator: gateway', () => {
  it('gives each shard READY with its guilds unavailable, then one GUILD_CREATE per owned guild (zlib-stream)', async () => {
    const s = await sim({ shards: 2, guilds: 20, maxConcurrency: 2 });
    const { m, dispatches } = manager(s);
    await m.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 20, '20 GUILD_CREATE');
    for (const shardId of [0, 1]) {
      const ready = dispatches.find((d) => d.t === GatewayDispatchEvents.Ready && d.shardId === shardId);
      expect((ready?.d as { shard?: number[] } | undefined)?.shard).toEqual([shardId, 2]);
      const owned = s.guildIds.filter((g) => shardOf(g, 2) === shardId);
      expect(owned.length).toBeGreaterThan(0);
      expect((ready!.d as { guilds: Array<{ id: string; unavailable: boolean }> }).guilds).toEqual(owned.map((id) => ({ id, unavailable: true })));
      const creates = dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate && d.shardId === shardId).map((d) => (d.d as { id: string }).id);
      expect(creates.sort()).toEqual([...owned].sort());
    }
    // real snowflakes: the creation time decodes to within the last two days
    expect(Date.now() - snowflakeTime(s.guildIds[0]!)).toBeLessThan(2 * 86_400_000);
  });

  it('connects 4 shards over zlib-stream for 5,000 guilds: READY each, and every GUILD_CREATE', async () => {
    // zlib-sync, as the ingestor inflates: @discordjs/ws's node:zlib path (ZlibNative) mixed messages up
    // under CPU load (thousands of "is not valid JSON" with one message's tail joined to the next's
    // head, in a CI run on 2 busy cores), which says nothing of the simulator's stream. Discord's
    // heartbeat interval: with the file's 500 ms a client busy with 5,000 guilds can be closed as a zombie.
    const s = await sim({ shards: 4, guilds: 5000, maxConcurrency: 4, heartbeatIntervalMs: 41_250 });
    const { m, dispatches } = manager(s, { compression: CompressionMethod.ZlibSync });
    await m.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length >= 5000, '5,000 GUILD_CREATE', 90_000);
    expect(s.gateway.closes).toEqual([]);
    expect(
      dispatches
        .filter((d) => d.t === GatewayDispatchEvents.Ready)
        .map((d) => d.shardId)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
    const seen = new Set(dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).map((d) => (d.d as { id: string }).id));
    expect(seen.size).toBe(5000);
    expect(s.guildIds.every((g) => seen.has(g))).toBe(true);
    for (const d of dispatches.filter((x) => x.t === GatewayDispatchEvents.GuildCreate)) expect(shardOf((d.d as { id: string }).id, 4)).toBe(d.shardId);
  });

  it.each([
    ['a dropped socket (no close frame)', (s: DiscordSimulator) => s.dropSocket(0)],
    ['op 7 RECONNECT', (s: DiscordSimulator) => s.requestReconnect(0)],
  ])('resumes after %s with no seq gap, and the replayed events arrive', async (_what, fault) => {
    const s = await sim({ guilds: 2, heartbeatIntervalMs: 300 });
    const { m, dispatches } = manager(s);
    await m.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 2, 'GUILD_CREATE');
    const g = s.guildIds[0]!;
    expect(fault(s)).toBe(true);
    for (let i = 0; i < 20; i++) s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(g, String(510000000000000000n + BigInt(i))));
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Resumed) && dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).length === 20, 'RESUMED and 20 members', 20_000);
    const seqs = dispatches.filter((d) => d.t !== GatewayDispatchEvents.Resumed).map((d) => d.s);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1)); // 1..n, no gap, no repeat
    expect(dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready)).toHaveLength(1);
    // and the ledger agrees: nothing the simulator sent is missing on the client
    const sessionId = (dispatches.find((d) => d.t === GatewayDispatchEvents.Ready)!.d as { session_id: string }).session_id;
    expect(s.missedBy(dispatches.map((d) => ({ sessionId, seq: d.s })))).toEqual([]);
    // it came back on the session's resume_gateway_url, and the simulator replayed what it missed
    expect(s.gateway.resumes.at(-1)).toMatchObject({ sessionId, outcome: 'resumed', viaResumeUrl: true });
  });

  it('stops on a bad token with a clear error instead of reconnecting forever', async () => {
    const s = await sim();
    const errors: string[] = [];
    const { m } = manager(s, { token: 'not-the-token' });
    m.on(WebSocketShardEvents.Error, (e) => errors.push(e.message));
    await m.connect().catch((e: unknown) => errors.push(String(e)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(errors.some((e) => /Authentication failed/.test(e))).toBe(true);
    expect(s.gateway.closes.filter((c) => c.code === 4004)).toHaveLength(1);
  });

  it('lets the full discord.js Client log in and see every guild', async () => {
    const s = await sim({ shards: 1, guilds: 50 });
    const { Client, GatewayIntentBits: I } = await import('discord.js');
    const client = new Client({ intents: [I.Guilds, I.GuildMembers], rest: { api: s.restUrl } });
    stops.push(() => client.destroy());
    const ready = new Promise<void>((r) => client.once('clientReady' as never, () => r()));
    await client.login(s.token);
    await ready;
    await until(() => client.guilds.cache.size === 50 && client.guilds.cache.every((g) => g.available), '50 available guilds', 20_000);
    expect([...client.guilds.cache.keys()].sort()).toEqual([...s.guildIds].sort());
  });

  it('stops acknowledging heartbeats on demand: the client sees a zombie and reconnects, then resumes', async () => {
    const s = await sim({ heartbeatIntervalMs: 200 });
    const { m, dispatches } = manager(s);
    await m.connect();
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Ready), 'READY');
    s.pauseHeartbeatAcks(0, true);
    await until(() => s.gateway.closes.some((c) => c.by === 'client'), 'the client to give up on the zombie connection', 10_000);
    s.pauseHeartbeatAcks(0, false);
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Resumed), 'RESUMED', 10_000);
  });

  it('answers heartbeats with ACK, asks for one with op 1, and closes a connection that stops heartbeating', async () => {
    const s = await sim({ heartbeatIntervalMs: 300 });
    const { m } = manager(s, { shardCount: 1 });
    const acks: number[] = [];
    m.on(WebSocketShardEvents.HeartbeatComplete, (h) => acks.push(h.latency));
    await m.connect();
    await until(() => acks.length >= 2, 'two heartbeat ACKs');
    const before = acks.length;
    expect(s.requestHeartbeat(0)).toBe(true);
    await until(() => acks.length > before, 'an ACK after op 1');

    // a raw client that never heartbeats is closed as a zombie
    const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(4009);
  });

  it('replays every missed event on RESUME, then RESUMED', async () => {
    const s = await sim({ guilds: 3 });
    const { m, dispatches } = manager(s);
    await m.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 3, 'GUILD_CREATE');
    const g = s.guildIds[0]!;
    // close with a resumable code, then produce events while the shard is away
    s.closeShard(0, 4000);
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push(s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(g, String(500000000000000000n + BigInt(i))))!);
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.Resumed), 'RESUMED');
    const replayed = dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd).map((d) => d.s);
    expect(replayed).toEqual(seqs);
    // same session, nothing sent twice
    expect(dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready)).toHaveLength(1);
    expect(s.expectedEnvelopeIds((t) => t === 'GUILD_MEMBER_ADD').size).toBe(5);
  });

  it('answers a RESUME of an unknown session with op 9 d:false', async () => {
    const s = await sim();
    const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    const msgs: Array<{ op: GatewayOpcodes; d: unknown }> = [];
    ws.on('message', (data) => msgs.push(payloadOf(data)));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ op: GatewayOpcodes.Resume, d: { token: s.token, session_id: 'nope', seq: 3 } }));
    await until(() => msgs.some((x) => x.op === GatewayOpcodes.InvalidSession), 'op 9');
    expect(msgs.find((x) => x.op === GatewayOpcodes.InvalidSession)?.d).toBe(false);
    ws.close(1000);
  });

  it.each([
    ['a bad token', { token: 'not-the-token' }, 4004],
    ['a shard id out of range', { shardCount: 2, shardIds: [3] }, 4010],
    ['a disallowed privileged intent', { intents: INTENTS | GatewayIntentBits.MessageContent }, 4014],
    ['an invalid intent bit', { intents: 1 << 30 }, 4013],
  ])('closes with the right code for %s', async (_what, opts, code) => {
    const s = await sim({ shards: 1 });
    const closes: number[] = [];
    const { m } = manager(s, opts);
    m.on(WebSocketShardEvents.Closed, (c) => closes.push(c));
    m.on(WebSocketShardEvents.Error, () => undefined);
    await m.connect().catch(() => undefined);
    await until(() => closes.length > 0, `close ${code}`);
    expect(closes[0]).toBe(code);
  });

  it('closes with 4011 when a shard would hold more than 2,500 guilds', async () => {
    const s = await sim({ guilds: 30, maxGuildsPerShard: 20 });
    const closes: number[] = [];
    const { m } = manager(s, { shardCount: 1 });
    m.on(WebSocketShardEvents.Closed, (c) => closes.push(c));
    m.on(WebSocketShardEvents.Error, () => undefined);
    await m.connect().catch(() => undefined);
    await until(() => closes.length > 0, 'close 4011');
    expect(closes[0]).toBe(4011);
  });

  it('closes with 4002 for a payload over 4,096 bytes and 4008 past 120 sends a minute', async () => {
    const s = await sim();
    const big = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    await new Promise((r) => big.on('open', r));
    big.send(JSON.stringify({ op: 1, d: 'x'.repeat(5000) }));
    expect(await new Promise((r) => big.on('close', r))).toBe(4002);

    const chatty = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    await new Promise((r) => chatty.on('open', r));
    for (let i = 0; i < 121; i++) chatty.send(JSON.stringify({ op: 1, d: null }));
    expect(await new Promise((r) => chatty.on('close', r))).toBe(4008);
  });

  it('rate-limits IDENTIFY per max_concurrency bucket with op 9 and counts the session budget down', async () => {
    const s = await sim({ shards: 2, maxConcurrency: 1, identifyWindowMs: 400, sessionStartTotal: 10 });
    // the library's own throttler here (it waits Discord's 5 s per bucket)
    const { m, dispatches } = manager(s, { buildIdentifyThrottler: () => Promise.resolve(new SimpleIdentifyThrottler(1)) });
    await m.connect();
    await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.Ready).length === 2, 'two READY');
    const ready = s.gateway.identifies.filter((i) => i.outcome === 'ready');
    expect(ready).toHaveLength(2);
    // @discordjs/ws spaces its identifies per bucket itself: at least the simulator's 400 ms apart
    expect(ready[1]!.at - ready[0]!.at).toBeGreaterThanOrEqual(400);
    expect(s.gateway.sessionStartRemaining).toBe(8);
    // a raw client identifying right away in the same bucket gets op 9
    const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    const msgs: Array<{ op: GatewayOpcodes; d: unknown }> = [];
    ws.on('message', (data) => msgs.push(payloadOf(data)));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ op: 2, d: { token: s.token, intents: INTENTS, shard: [0, 2], properties: {} } }));
    await until(() => msgs.some((x) => x.op === GatewayOpcodes.InvalidSession), 'op 9');
    expect(s.gateway.identifies.at(-1)?.outcome).toBe('rate-limited');
    ws.close(1000);
  });
});

describe('Discord simulator: REST', () => {
  it('serves /gateway/bot with its url, shards and session_start_limit', async () => {
    const s = await sim({ shards: 4, maxConcurrency: 2 });
    const rest = new REST({ api: s.restUrl }).setToken(s.token);
    const info = (await rest.get(Routes.gatewayBot())) as { url: string; shards: number; session_start_limit: { max_concurrency: number; total: number } };
    expect(info.url).toBe(s.gatewayUrl);
    expect(info.shards).toBe(4);
    expect(info.session_start_limit).toMatchObject({ max_concurrency: 2, total: 1000 });
    await expect(new REST({ api: s.restUrl }).setToken('wrong').get(Routes.gatewayBot())).rejects.toMatchObject({ status: 401 });
  });

  it('accepts one interaction callback within 3 s, refuses a second (40060) and a late one (10062)', async () => {
    const s = await sim({ interactionWindowMs: 300 });
    const rest = new REST({ api: s.restUrl });
    const ix = s.createInteraction({ commandName: 'ping' });
    await rest.post(Routes.interactionCallback(ix.id, ix.token), { body: { type: 4, data: { content: 'Pong!' } }, auth: false });
    expect(s.interactionResponses(ix.id)?.callback?.type).toBe(4);
    const second = await rest.post(Routes.interactionCallback(ix.id, ix.token), { body: { type: 4 }, auth: false }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DiscordAPIError);
    expect((second as DiscordAPIError).code).toBe(40060);

    const late = s.createInteraction({ commandName: 'ping' });
    await new Promise((r) => setTimeout(r, 350));
    const err = await rest.post(Routes.interactionCallback(late.id, late.token), { body: { type: 4 }, auth: false }).catch((e: unknown) => e);
    expect((err as DiscordAPIError).code).toBe(10062);
  });

  it('edits @original and accepts follow-ups after the defer', async () => {
    const s = await sim();
    const rest = new REST({ api: s.restUrl });
    const ix = s.createInteraction({ commandName: 'slow' });
    await rest.post(Routes.interactionCallback(ix.id, ix.token), { body: { type: 5 }, auth: false });
    await rest.patch(Routes.webhookMessage(s.appId, ix.token, '@original'), { body: { content: 'done' }, auth: false });
    await rest.post(Routes.webhook(s.appId, ix.token), { body: { content: 'and more' }, auth: false });
    expect(s.interactionResponses(ix.id)?.messages.map((m) => [m.kind, (m.body as { content: string }).content])).toEqual([
      ['edit', 'done'],
      ['followup', 'and more'],
    ]);
  });

  it('enforces route buckets with 429 and retry_after; @discordjs/rest waits and every request succeeds', async () => {
    const s = await sim({ rateLimits: { route: { limit: 2, windowMs: 300 } } });
    const rest = new REST({ api: s.restUrl, retries: 5 }).setToken(s.token);
    const channel = '300000000000000001';
    await Promise.all(Array.from({ length: 6 }, (_, i) => rest.post(Routes.channelMessages(channel), { body: { content: `m${i}` } })));
    const sent = s.requests.filter((r) => r.route === 'channel_message');
    expect(sent.filter((r) => r.status === 200)).toHaveLength(6);
    // the client read the headers: never more than 2 successes in any one window
    const ok = sent.filter((r) => r.status === 200).map((r) => r.at);
    for (const t of ok) expect(ok.filter((u) => u >= t && u < t + 280).length).toBeLessThanOrEqual(2);
  });

  it('returns a global 429 with the global flag past 50 requests per second per token', async () => {
    const s = await sim({ rateLimits: { global: { limit: 3, windowMs: 1000 }, route: { limit: 100, windowMs: 1000 } } });
    const statuses: Array<{ status: number; body: { global?: boolean; retry_after?: number } }> = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${s.restUrl}/v10/guilds/${s.guildIds[0]}/members/400000000000000001/roles/${s.guildIds[0]}`, { method: 'PUT', headers: { Authorization: `Bot ${s.token}` } });
      statuses.push({ status: r.status, body: r.status === 429 ? ((await r.json()) as { global?: boolean; retry_after?: number }) : {} });
    }
    expect(statuses.map((x) => x.status)).toEqual([204, 204, 204, 429]);
    expect(statuses[3]!.body.global).toBe(true);
    expect(statuses[3]!.body.retry_after).toBeGreaterThan(0);
  });
});
