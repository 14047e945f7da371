/**
 * The simulator's gateway commands, pure parts: Discord's payload checks (4001 material), which
 * members a Request Guild Members selects, how they are paged into GUILD_MEMBERS_CHUNK, and the send
 * limit's sliding window and heartbeat clock.
 */
import { GatewayOpcodes, type APIGuildMember } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { MEMBERS_PER_CHUNK, memberChunks, parseCommand, selectMembers, type RosterEntry } from '../../../local/simulator/commands';
import { Ledger } from '../../../local/simulator/gateway';
import { rosterMember } from '../../../local/simulator/scenarios';
import { HeartbeatClock, SlidingWindowCounter } from '../../../local/simulator/sendlimit';

const GUILD = '1300000000000000000';
const roster = (n: number): RosterEntry[] => Array.from({ length: n }, (_, i) => ({ userId: String(1000 + i), username: `member${i}` }));
const members = (n: number): APIGuildMember[] => Array.from({ length: n }, (_, i) => rosterMember({ id: GUILD }, i));

describe('parseCommand', () => {
  it('accepts the documented shapes and ignores unknown fields', () => {
    expect(parseCommand(GatewayOpcodes.RequestGuildMembers, { guild_id: GUILD, query: '', limit: 0, extra: 1 })).toMatchObject({ ok: true, command: { op: 8, d: { guild_id: GUILD, query: '', limit: 0 } } });
    expect(parseCommand(GatewayOpcodes.RequestGuildMembers, { guild_id: GUILD, user_ids: '1' }).ok).toBe(true);
    expect(parseCommand(GatewayOpcodes.PresenceUpdate, { since: null, activities: [{ name: 'x', type: 0 }], status: 'idle', afk: false }).ok).toBe(true);
    expect(parseCommand(GatewayOpcodes.VoiceStateUpdate, { guild_id: GUILD, channel_id: null, self_mute: false, self_deaf: true }).ok).toBe(true);
    expect(parseCommand(GatewayOpcodes.RequestSoundboardSounds, { guild_ids: [GUILD] }).ok).toBe(true);
  });

  it('refuses what Discord closes with 4001, naming the field', () => {
    expect(parseCommand(GatewayOpcodes.RequestGuildMembers, { guild_id: GUILD })).toEqual({ ok: false, error: 'd: one of query or user_ids is required' });
    expect(parseCommand(GatewayOpcodes.RequestGuildMembers, { guild_id: GUILD, query: 'a' })).toEqual({ ok: false, error: 'd.limit: limit is required with query' });
    expect(parseCommand(GatewayOpcodes.RequestGuildMembers, { guild_id: 42, query: '', limit: 0 })).toMatchObject({ ok: false, error: expect.stringMatching(/^d\.guild_id: /) as unknown });
    expect(parseCommand(GatewayOpcodes.PresenceUpdate, { since: null, activities: [], status: 'away', afk: false })).toMatchObject({ ok: false, error: expect.stringMatching(/^d\.status: /) as unknown });
    expect(parseCommand(GatewayOpcodes.VoiceStateUpdate, { guild_id: GUILD, self_mute: false, self_deaf: false })).toMatchObject({ ok: false, error: expect.stringMatching(/^d\.channel_id: /) as unknown });
    expect(parseCommand(GatewayOpcodes.RequestSoundboardSounds, null).ok).toBe(false);
  });
});

describe('selectMembers', () => {
  it('an empty query with limit 0 selects every member; a limit the first ones', () => {
    expect(selectMembers(roster(2500), { query: '', limit: 0 }).indexes).toHaveLength(2500);
    expect(selectMembers(roster(2500), { query: '', limit: 7 }).indexes).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a query is a case-insensitive username prefix, at most 100 members', () => {
    const r = roster(5000);
    expect(selectMembers(r, { query: 'MEMBER12', limit: 0 }).indexes).toEqual([12, ...Array.from({ length: 10 }, (_, i) => 120 + i), ...Array.from({ length: 89 }, (_, i) => 1200 + i)]);
    expect(selectMembers(r, { query: 'member4999', limit: 10 }).indexes).toEqual([4999]);
    expect(selectMembers(r, { query: 'member1', limit: 5 }).indexes).toEqual([1, 10, 11, 12, 13]);
    expect(selectMembers(r, { query: 'nobody', limit: 0 }).indexes).toEqual([]);
  });

  it('user_ids: the members among them (once each, at most 100) and the rest not found', () => {
    const r = roster(10);
    expect(selectMembers(r, { user_ids: ['1003', '999', '1003', '1009'] })).toEqual({ indexes: [3, 9], notFound: ['999'] });
    expect(selectMembers(r, { user_ids: '1000' })).toEqual({ indexes: [0], notFound: [] });
    const many = Array.from({ length: 150 }, (_, i) => String(5000 + i));
    expect(selectMembers(r, { user_ids: many }).notFound).toHaveLength(100);
  });
});

describe('memberChunks', () => {
  it('pages 5,000 members into 5 chunks of 1000 with index, count and the nonce on each', () => {
    const chunks = memberChunks(GUILD, members(5000), { nonce: 'abc' });
    expect(chunks.map((c) => [c.chunk_index, c.chunk_count, c.members.length, c.nonce])).toEqual([0, 1, 2, 3, 4].map((i) => [i, 5, MEMBERS_PER_CHUNK, 'abc']));
    const ids = chunks.flatMap((c) => c.members.map((m) => m.user.id));
    expect(new Set(ids).size).toBe(5000);
    expect(chunks.every((c) => c.guild_id === GUILD && c.not_found === undefined && c.presences === undefined)).toBe(true);
  });

  it('sends one empty chunk when nothing matches, not_found on the first chunk, a partial last chunk', () => {
    expect(memberChunks(GUILD, [], { notFound: ['9'] })).toEqual([{ guild_id: GUILD, members: [], chunk_index: 0, chunk_count: 1, not_found: ['9'] }]);
    const chunks = memberChunks(GUILD, members(1001), { notFound: ['9'] });
    expect(chunks.map((c) => [c.members.length, c.not_found])).toEqual([
      [1000, ['9']],
      [1, undefined],
    ]);
  });

  it('drops a nonce over 32 bytes (Discord ignores it) and lists presences per chunk, offline ones left out', () => {
    expect(memberChunks(GUILD, members(1), { nonce: 'x'.repeat(33) })[0]?.nonce).toBeUndefined();
    expect(memberChunks(GUILD, members(1), { nonce: 'é'.repeat(16) })[0]?.nonce).toBe('é'.repeat(16));
    const [chunk] = memberChunks(GUILD, members(4), { presenceOf: (m) => (m.user.username.endsWith('1') ? undefined : { user: { id: m.user.id } }) });
    expect(chunk?.presences?.map((p) => p.user.id)).toEqual(members(4).flatMap((m, i) => (i === 1 ? [] : [m.user.id])));
  });
});

describe('SlidingWindowCounter (the send limit)', () => {
  it('counts the arrivals in the 60 s ending at each one and keeps the most', () => {
    const w = new SlidingWindowCounter(60_000);
    for (let i = 0; i < 114; i++) expect(w.add(1000 + i)).toBe(i + 1);
    // a fixed-window client sends its next 114 right after its window resets at 60 s: a sliding window still holds the first ones
    expect(w.add(60_500)).toBe(115);
    for (let i = 1; i < 6; i++) w.add(60_500 + i);
    expect(w.add(60_600)).toBe(121);
    expect(w.max).toBe(121);
    // an arrival exactly 60 s after another no longer sees it
    const v = new SlidingWindowCounter(60_000);
    v.add(0);
    expect(v.add(60_000)).toBe(1);
    expect(v.count(60_000)).toBe(1);
    expect(v.max).toBe(1);
  });

  it('spread over time, 120 a minute never exceeds 120', () => {
    const w = new SlidingWindowCounter(60_000);
    for (let t = 0; t < 300_000; t += 500) w.add(t);
    expect(w.max).toBe(120);
  });
});

describe('HeartbeatClock', () => {
  it('counts heartbeats later than 1.5 intervals after the previous one (or HELLO)', () => {
    const h = new HeartbeatClock(1000, 0);
    expect(h.beat(900)).toBe(false);
    expect(h.beat(2400)).toBe(false);
    expect(h.beat(3901)).toBe(true);
    expect(h.beat(4000)).toBe(false);
    expect([h.count, h.late, h.maxGapMs]).toEqual([4, 1, 1501]);
  });
});

describe('Ledger during a reshard', () => {
  it('an event sent to two sessions is delivered once either copy arrives; both copies are a duplicate event', () => {
    const ledger = new Ledger();
    const base = { type: 'GUILD_MEMBER_ADD', guildId: '1', at: 0, sentAt: 1 };
    ledger.push({ ...base, eventId: 7, shardId: 1, sessionId: 'four', seq: 10 }, { ...base, eventId: 7, shardId: 5, sessionId: 'eight', seq: 3 }, { ...base, eventId: 8, shardId: 1, sessionId: 'four', seq: 11 });
    expect(ledger.missed([{ sessionId: 'eight', seq: 3 }]).map((e) => e.eventId)).toEqual([8]);
    expect(ledger.missed([]).map((e) => [e.eventId, e.sessionId])).toEqual([
      [7, 'four'],
      [8, 'four'],
    ]);
    expect(
      ledger.duplicateEvents([
        { sessionId: 'four', seq: 10 },
        { sessionId: 'eight', seq: 3 },
        { sessionId: 'four', seq: 11 },
      ]),
    ).toEqual(new Map([[7, 2]]));
  });
});
