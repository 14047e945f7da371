/**
 * The Discord simulator's answers to gateway commands (op 3, 4, 8, 31), its send limit and resharding,
 * driven through the real @discordjs/ws WebSocketManager (`manager.send(shardId, payload)`), and
 * through a raw `ws` client where the library would not send what is tested.
 */
import { ActivityType, GatewayDispatchEvents, GatewayIntentBits, GatewayOpcodes, PresenceUpdateStatus, Routes, type APIVoiceState, type GatewayGuildMembersChunkDispatchData, type GatewayVoiceServerUpdateDispatchData } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DiscordSimulator, shardOf } from '../../local/simulator';
import { connectManager, until, type ReceivedDispatch } from '../../local/simulator/testing';

const INTENTS: GatewayIntentBits = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.GuildVoiceStates;
const stops: Array<() => unknown> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function sim(opts: Parameters<typeof DiscordSimulator.start>[0] = {}) {
  const s = await DiscordSimulator.start({ heartbeatIntervalMs: 500, identifyWindowMs: 50, allowedIntents: GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences, ...opts });
  stops.push(() => s.stop());
  return s;
}

/** A WebSocketManager without transport compression (what is tested here is the payloads). */
async function connect(s: DiscordSimulator, opts: Parameters<typeof connectManager>[1] = {}) {
  const c = connectManager(s, { compression: null, intents: INTENTS, ...opts });
  stops.push(c.destroy);
  await c.manager.connect();
  return c;
}

const ofType = <T>(dispatches: ReceivedDispatch[], t: GatewayDispatchEvents) => dispatches.filter((d) => d.t === t).map((d) => ({ ...d, d: d.d as T }));

/** A guild of the simulator owned by shard `shardId` of `numShards`. */
function guildOn(s: DiscordSimulator, shardId: number, numShards: number): string {
  const g = s.guildIds.find((id) => shardOf(id, numShards) === shardId);
  if (!g) throw new Error(`no guild on shard ${shardId} of ${numShards}`);
  return g;
}

describe('Discord simulator: gateway commands', () => {
  it('answers op 8 for a 5,000-member guild with 5 chunks, every member once, the nonce echoed; a guild of another shard is ignored and counted', async () => {
    const s = await sim({ shards: 2, guilds: 4, maxConcurrency: 2 });
    const { manager, dispatches } = await connect(s);
    await s.waitForShardsReady(2);
    const g = guildOn(s, 1, 2);
    s.setMemberCount(g, 5000);
    await manager.send(1, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g, query: '', limit: 0, nonce: 'all-5000' } });
    await until(() => ofType(dispatches, GatewayDispatchEvents.GuildMembersChunk).length === 5, '5 GUILD_MEMBERS_CHUNK');
    const chunks = ofType<GatewayGuildMembersChunkDispatchData>(dispatches, GatewayDispatchEvents.GuildMembersChunk);
    expect(chunks.map((c) => [c.shardId, c.d.guild_id, c.d.chunk_index, c.d.chunk_count, c.d.nonce, c.d.members.length])).toEqual([0, 1, 2, 3, 4].map((i) => [1, g, i, 5, 'all-5000', 1000]));
    const ids = chunks.flatMap((c) => c.d.members.map((m) => m.user.id));
    expect(ids).toHaveLength(5000);
    expect(new Set(ids)).toEqual(new Set(s.guildMembers(g).map((m) => m.user.id)));
    expect(new Set(chunks.flatMap((c) => c.d.members.map((m) => m.user.username))).size).toBe(5000);
    // seq'd like every dispatch, in order, and in the ledger
    const seqs = chunks.map((c) => c.s);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(s.ledger.filter((e) => e.type === 'GUILD_MEMBERS_CHUNK' && e.shardId === 1)).toHaveLength(5);
    expect(s.stats().wrongShardCommands).toBe(0);

    // the same guild asked on shard 0, which does not own it: Discord ignores it
    await manager.send(0, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g, user_ids: [s.guildMembers(g)[0]!.user.id], nonce: 'wrong' } });
    await until(() => s.stats().wrongShardCommands === 1, 'the wrong-shard command counted');
    // a later command on shard 0 is answered: the ignored one produced nothing before it
    const g0 = guildOn(s, 0, 2);
    await manager.send(0, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g0, user_ids: [s.guildMembers(g0)[3]!.user.id, '1'], nonce: 'ids' } });
    await until(() => ofType(dispatches, GatewayDispatchEvents.GuildMembersChunk).length === 6, 'the chunk for shard 0');
    const last = ofType<GatewayGuildMembersChunkDispatchData>(dispatches, GatewayDispatchEvents.GuildMembersChunk).at(-1)!;
    expect(last.shardId).toBe(0);
    expect(last.d).toMatchObject({ guild_id: g0, nonce: 'ids', chunk_count: 1, not_found: ['1'] });
    expect(last.d.members.map((m) => m.user.username)).toEqual(['member3']);
    expect(s.stats()).toMatchObject({ wrongShardCommands: 1, commandsByOp: { 8: 3 }, invalidCommands: 0 });
    expect(s.gateway.commands.map((c) => c.outcome)).toEqual(['answered', 'wrong-shard', 'answered']);
  });

  it('answers a second request for every member within 30 s with RATE_LIMITED, as Discord does', async () => {
    const s = await sim({ guilds: 1 });
    const { manager, dispatches } = await connect(s);
    const g = s.guildIds[0]!;
    await manager.send(0, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g, query: '', limit: 0 } });
    await manager.send(0, { op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: g, query: '', limit: 0, nonce: 'again' } });
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.RateLimited), 'RATE_LIMITED');
    expect(ofType(dispatches, GatewayDispatchEvents.GuildMembersChunk)).toHaveLength(1);
    expect(dispatches.find((d) => d.t === GatewayDispatchEvents.RateLimited)?.d).toMatchObject({ opcode: 8, meta: { guild_id: g, nonce: 'again' } });
  });

  it('op 3: stores the presence, sends PRESENCE_UPDATE for the bot in each guild of the shard (GUILD_PRESENCES), and shows it', async () => {
    const s = await sim({ shards: 2, guilds: 6, maxConcurrency: 2 });
    const { manager, dispatches } = await connect(s);
    await s.waitForShardsReady(2);
    await manager.send(1, { op: GatewayOpcodes.PresenceUpdate, d: { since: null, activities: [{ name: 'the simulator', type: ActivityType.Watching }], status: PresenceUpdateStatus.DoNotDisturb, afk: false } });
    const owned = s.guildIds.filter((g) => shardOf(g, 2) === 1);
    await until(() => ofType(dispatches, GatewayDispatchEvents.PresenceUpdate).length === owned.length, 'PRESENCE_UPDATE per guild of shard 1');
    const updates = ofType<{ user: { id: string }; guild_id: string; status: string; activities: Array<{ name: string }> }>(dispatches, GatewayDispatchEvents.PresenceUpdate);
    expect(updates.every((u) => u.shardId === 1 && u.d.user.id === s.appId && u.d.status === 'dnd' && u.d.activities[0]?.name === 'the simulator')).toBe(true);
    expect(updates.map((u) => u.d.guild_id).sort()).toEqual([...owned].sort());
    expect(s.presenceOf(1)?.status).toBe('dnd');
    expect(s.presenceOf(0)).toBeUndefined();
    expect(
      s
        .stats()
        .connections.filter((c) => c.closedAt === undefined)
        .find((c) => c.shardId === 1)?.presence?.status,
    ).toBe('dnd');
  });

  it('op 4: the bot joins (VOICE_STATE_UPDATE with its session, then VOICE_SERVER_UPDATE) and leaves; a member joins and leaves', async () => {
    const s = await sim({ guilds: 1, channelsPerGuild: 6 });
    const { manager, dispatches } = await connect(s);
    const g = s.guildIds[0]!;
    const voice = s.voiceChannelOf(g)!;
    await manager.send(0, { op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: g, channel_id: voice, self_mute: false, self_deaf: true } });
    await until(() => dispatches.some((d) => d.t === GatewayDispatchEvents.VoiceServerUpdate), 'VOICE_SERVER_UPDATE');
    const voiceEvents = dispatches.filter((d) => d.t === GatewayDispatchEvents.VoiceStateUpdate || d.t === GatewayDispatchEvents.VoiceServerUpdate);
    expect(voiceEvents.map((d) => d.t)).toEqual(['VOICE_STATE_UPDATE', 'VOICE_SERVER_UPDATE']);
    const ready = dispatches.find((d) => d.t === GatewayDispatchEvents.Ready)!;
    expect(voiceEvents[0]!.d).toMatchObject({ guild_id: g, channel_id: voice, user_id: s.appId, session_id: ready.sessionId, self_deaf: true });
    const server = voiceEvents[1]!.d as GatewayVoiceServerUpdateDispatchData;
    expect(server.guild_id).toBe(g);
    expect(server.token).toMatch(/^[0-9a-f]{16}$/);
    expect(server.endpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.voiceStatesOf(g).map((v) => v.user_id)).toEqual([s.appId]);

    await manager.send(0, { op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: g, channel_id: null, self_mute: false, self_deaf: false } });
    await until(() => ofType(dispatches, GatewayDispatchEvents.VoiceStateUpdate).length === 2, 'the leave');
    expect(ofType<APIVoiceState>(dispatches, GatewayDispatchEvents.VoiceStateUpdate)[1]!.d).toMatchObject({ channel_id: null, user_id: s.appId });
    expect(s.voiceStatesOf(g)).toEqual([]);

    const userId = s.guildMembers(g)[7]!.user.id;
    s.memberVoiceState(g, userId, voice);
    s.memberVoiceState(g, userId, null);
    await until(() => ofType(dispatches, GatewayDispatchEvents.VoiceStateUpdate).length === 4, 'the member join and leave');
    const member = ofType<APIVoiceState>(dispatches, GatewayDispatchEvents.VoiceStateUpdate).slice(2);
    expect(member.map((m) => [m.d.user_id, m.d.channel_id, m.d.member?.user.username])).toEqual([
      [userId, voice, 'member7'],
      [userId, null, 'member7'],
    ]);
    expect(member[0]!.d.session_id).toBe(member[1]!.d.session_id);
    // a text channel is no voice channel: ignored
    const text = (dispatches.find((d) => d.t === GatewayDispatchEvents.GuildCreate)!.d as { channels: Array<{ id: string; type: number }> }).channels.find((c) => c.type === 0)!.id;
    await manager.send(0, { op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: g, channel_id: text, self_mute: false, self_deaf: false } });
    await until(() => s.stats().commandsByOp[4] === 3, 'the third op 4');
    expect(s.stats().ignoredCommands).toBe(1);
  });

  it('op 31: SOUNDBOARD_SOUNDS per requested guild the shard owns', async () => {
    const s = await sim({ guilds: 3 });
    const { manager, dispatches } = await connect(s);
    await manager.send(0, { op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: s.guildIds.slice(0, 2) } });
    await until(() => ofType(dispatches, GatewayDispatchEvents.SoundboardSounds).length === 2, 'two SOUNDBOARD_SOUNDS');
    const sounds = ofType<{ guild_id: string; soundboard_sounds: Array<{ name: string; guild_id: string }> }>(dispatches, GatewayDispatchEvents.SoundboardSounds);
    expect(sounds.map((x) => x.d.guild_id)).toEqual(s.guildIds.slice(0, 2));
    expect(sounds.every((x) => x.d.soundboard_sounds.length === 2 && x.d.soundboard_sounds.every((snd) => snd.guild_id === x.d.guild_id))).toBe(true);
  });

  it('closes a command with invalid fields with 4001, bad JSON with 4002, a command before IDENTIFY with 4003', async () => {
    const s = await sim({ guilds: 1, identifyWindowMs: 0 });
    const rawClient = async (identify: boolean) => {
      const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
      stops.push(() => ws.terminate());
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      const ready = new Promise<void>((r) => ws.on('message', (m: Buffer) => (JSON.parse(m.toString()) as { t?: string }).t === 'READY' && r()));
      await new Promise((r) => ws.on('open', r));
      if (identify) {
        ws.send(JSON.stringify({ op: 2, d: { token: s.token, intents: 1, properties: {} } }));
        await ready;
      }
      return { ws, closed };
    };
    const a = await rawClient(true);
    a.ws.send(JSON.stringify({ op: 8, d: { guild_id: s.guildIds[0], query: 'x' } }));
    expect(await a.closed).toBe(4001);
    const b = await rawClient(true);
    b.ws.send('{"op":8,');
    expect(await b.closed).toBe(4002);
    const c = await rawClient(false);
    c.ws.send(JSON.stringify({ op: 3, d: { since: null, activities: [], status: 'online', afk: false } }));
    expect(await c.closed).toBe(4003);
    expect(s.gateway.commands.map((r) => [r.op, r.outcome])).toEqual([
      [8, 'invalid'],
      [3, 'invalid'],
    ]);
    expect(s.gateway.commands[0]!.detail).toBe('d.limit: limit is required with query');
    expect(s.stats().invalidCommands).toBe(2);
  });
});

describe('Discord simulator: send limit', () => {
  it('closes a raw client that sends its 121st payload within 60 s with 4008, and counts it', async () => {
    const s = await sim({ guilds: 1, heartbeatIntervalMs: 41_250 });
    const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    stops.push(() => ws.terminate());
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ op: 2, d: { token: s.token, intents: 1, properties: {} } }));
    // IDENTIFY + 120 heartbeats: the 121st payload in the window
    for (let i = 0; i < 120; i++) ws.send(JSON.stringify({ op: 1, d: null }));
    expect(await closed).toBe(4008);
    expect(s.stats()).toMatchObject({ rateLimitCloses: 1, maxPayloadsInWindow: 121, receivedByOp: { 1: 119, 2: 1 } });
    // the 121st was not read; 119 heartbeats within one interval of each other: none late
    expect(s.stats().connections[0]).toMatchObject({ heartbeats: 119, lateHeartbeats: 0, closeCode: 4008 });
  });
  // what @discordjs/ws's fixed window lets through (a 4008 here) runs in gateway-commands.test.ts beside the ingestor's own burst, both waiting out a 60 s window
});

describe('Discord simulator: resharding', () => {
  it("with recommendShards(8), a 4-shard and an 8-shard set connected together both get a guild's events; the ledger counts the event once; session starts add up; IDENTIFY below requireShards closes 4011", async () => {
    const s = await sim({ shards: 4, guilds: 16, identifyWindowMs: 20 });
    // one bot: one identify schedule for both sets (max_concurrency 1, so one bucket)
    const throttler = s.identifyThrottler();
    const four = await connect(s, { buildIdentifyThrottler: () => Promise.resolve(throttler) });
    await s.waitForShardsReady(4);
    s.recommendShards(8);
    expect(((await four.rest.get(Routes.gatewayBot())) as { shards: number }).shards).toBe(8);
    const eight = await connect(s, { buildIdentifyThrottler: () => Promise.resolve(throttler) });
    await s.waitForShardsReady(12);
    expect(
      s
        .connectedSessions()
        .map((c) => `${c.shardId}/${c.numShards}`)
        .sort(),
    ).toEqual([...[0, 1, 2, 3].map((i) => `${i}/4`), ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${i}/8`)].sort());

    const g = s.guildIds.find((id) => shardOf(id, 8) !== shardOf(id, 4))!;
    const joiner = '700000000000000001';
    s.dispatch('GUILD_MEMBER_ADD', s.memberPayload(g, joiner));
    const adds = (c: { dispatches: ReceivedDispatch[] }) => c.dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildMemberAdd);
    await until(() => adds(four).length === 1 && adds(eight).length === 1, 'the member add on both shard sets');
    expect(adds(four)[0]!.shardId).toBe(shardOf(g, 4));
    expect(adds(eight)[0]!.shardId).toBe(shardOf(g, 8));
    expect((adds(eight)[0]!.d as { user: { id: string } }).user.id).toBe(joiner);

    const copies = s.ledger.filter((e) => e.type === 'GUILD_MEMBER_ADD');
    expect(copies.map((e) => e.shardId)).toEqual([shardOf(g, 4), shardOf(g, 8)]);
    expect(copies[0]!.eventId).toBe(copies[1]!.eventId);
    const wanted = (e: { type: string }) => e.type === 'GUILD_MEMBER_ADD';
    const got = (c: { dispatches: ReceivedDispatch[] }) => adds(c).map((d) => ({ sessionId: d.sessionId, seq: d.s }));
    // delivered once whichever set's copy the consumer kept; lost only when it kept neither
    expect(s.ledger.missed(got(four), wanted)).toEqual([]);
    expect(s.ledger.missed(got(eight), wanted)).toEqual([]);
    expect(s.ledger.missed([], wanted)).toHaveLength(1);
    // a consumer that keeps both copies received the event twice
    expect([...s.ledger.duplicateEvents([...got(four), ...got(eight)]).values()]).toEqual([2]);

    // 12 sessions started and the budget spent 12 times; an IDENTIFY that came within the window of the
    // previous one in its bucket (both sets share bucket 0 here) got op 9 and spent nothing
    const ready = s.gateway.identifies.filter((i) => i.outcome === 'ready');
    expect(ready).toHaveLength(12);
    expect(new Set(ready.map((i) => i.shardId))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    for (let i = 1; i < ready.length; i++) expect(ready[i]!.at - ready[i - 1]!.at).toBeGreaterThanOrEqual(20);
    expect(s.gateway.identifies.every((i) => i.outcome === 'ready' || i.outcome === 'rate-limited')).toBe(true);
    expect(s.gateway.sessionStartRemaining).toBe(1000 - 12);
    expect(((await four.rest.get(Routes.gatewayBot())) as { session_start_limit: { remaining: number } }).session_start_limit.remaining).toBe(988);

    s.requireShards(8);
    const ws = new WebSocket(`${s.gatewayUrl}/?v=10&encoding=json`);
    stops.push(() => ws.terminate());
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r) => ws.on('open', r));
    ws.send(JSON.stringify({ op: 2, d: { token: s.token, intents: 1, properties: {}, shard: [0, 4] } }));
    expect(await closed).toBe(4011);
    expect(s.gateway.identifies.at(-1)?.outcome).toBe('sharding-required');
    // the sessions already running keep running
    expect(s.connectedSessions()).toHaveLength(12);
    expect(s.stats().wrongShardCommands).toBe(0);
  });
});
