import { ActivityType, GatewayOpcodes } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUP, COMMAND_STREAM_MAXLEN, ContractError, commandKeys, commandShard, decodeCommandEntry, encodeCommandEntry, parseGatewayCommand, shardForGuild } from '../../../lib/contract';

const GUILD = '41771983444115456';

/** The details of the refusal, or [] when the command is accepted. */
const problems = (input: unknown): readonly string[] => {
  try {
    parseGatewayCommand(input);
    return [];
  } catch (e) {
    if (!(e instanceof ContractError)) throw e;
    expect(e.code).toBe('INVALID_GATEWAY_COMMAND');
    expect(e.message).toContain(e.details.join('; '));
    return e.details;
  }
};

const members = (d: Record<string, unknown>) => ({ op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: GUILD, ...d } });
const presence = (d: Record<string, unknown> = {}) => ({ op: GatewayOpcodes.PresenceUpdate, d: { since: null, activities: [], status: 'online', afk: false, ...d } });
const ids = (n: number) => Array.from({ length: n }, (_, k) => String(100000000000000000n + BigInt(k)));

describe('op 8 Request Guild Members', () => {
  it('takes a nonce of 32 bytes and refuses 33, counting UTF-8 bytes, not characters', () => {
    expect(problems(members({ query: '', limit: 0, nonce: 'a'.repeat(32) }))).toEqual([]);
    expect(problems(members({ query: '', limit: 0, nonce: 'a'.repeat(33) }))).toEqual(['d.nonce: at most 32 bytes (got 33)']);
    // é is 2 bytes: 16 of them are 32 bytes, 17 are 34 bytes though only 17 characters
    expect(problems(members({ query: '', limit: 0, nonce: 'é'.repeat(16) }))).toEqual([]);
    expect(problems(members({ query: '', limit: 0, nonce: 'é'.repeat(17) }))).toEqual(['d.nonce: at most 32 bytes (got 34)']);
    // 31 ASCII bytes plus a 2-byte character: 32 characters, 33 bytes
    expect(problems(members({ query: '', limit: 0, nonce: `${'a'.repeat(31)}ü` }))).toEqual(['d.nonce: at most 32 bytes (got 33)']);
    expect(problems(members({ query: '', limit: 0, nonce: '🙂'.repeat(10) }))).toEqual(['d.nonce: at most 32 bytes (got 40)']);
  });

  it('takes 100 user ids and refuses 101; one id alone is a snowflake string', () => {
    expect(problems(members({ user_ids: ids(100) }))).toEqual([]);
    expect(problems(members({ user_ids: ids(101) }))).toEqual(['d.user_ids: at most 100 (got 101)']);
    expect(problems(members({ user_ids: '80351110224678912' }))).toEqual([]);
    expect(problems(members({ user_ids: ['80351110224678912', 'nope'] }))).toEqual(['d.user_ids.1: expected a snowflake (decimal string)']);
    expect(problems(members({ user_ids: 5 }))).toEqual(['d.user_ids: a snowflake or an array of at most 100 snowflakes']);
  });

  it('needs a limit with a query, and exactly one of query or user_ids', () => {
    expect(problems(members({ query: 'ab' }))).toEqual(['d.limit: required with query (0 with an empty query: every member)']);
    expect(problems(members({ query: 'ab', limit: 10, user_ids: ['80351110224678912'] }))).toEqual(['d.query: exactly one of query or user_ids (got both)']);
    expect(problems(members({}))).toEqual(['d.query: exactly one of query or user_ids (got neither)']);
    expect(problems(members({ query: 'ab', limit: -1 }))).toEqual([expect.stringMatching(/^d\.limit: /)]);
    expect(problems(members({ query: 'ab', limit: 1.5 }))).toEqual([expect.stringMatching(/^d\.limit: /)]);
  });

  it('names every bad field at once, with its path', () => {
    const p = problems({ op: 8, d: { guild_id: 'x', user_ids: ids(101), nonce: '🙂'.repeat(10), presences: 'yes' } });
    expect(p).toEqual(expect.arrayContaining(['d.nonce: at most 32 bytes (got 40)', 'd.user_ids: at most 100 (got 101)', 'd.guild_id: expected a snowflake (decimal string)', expect.stringMatching(/^d\.presences: /)]));
    expect(p).toHaveLength(4);
  });

  it('keeps what Discord documents and nothing else (an unknown field is refused, not passed on)', () => {
    expect(parseGatewayCommand(members({ query: 'ab', limit: 5, presences: true, nonce: 'n1' }))).toEqual(members({ query: 'ab', limit: 5, presences: true, nonce: 'n1' }));
    expect(problems(members({ query: '', limit: 0, token: 'x' }))).toEqual(['d: Unrecognized key: "token"']);
  });
});

describe('op 3 Update Presence', () => {
  it('takes the activity shapes a bot may set: name and type, url for streaming, state for a custom status', () => {
    expect(problems(presence({ activities: [{ name: 'with the gateway', type: ActivityType.Playing }] }))).toEqual([]);
    expect(problems(presence({ activities: [{ name: 'live', type: ActivityType.Streaming, url: 'https://twitch.tv/someone' }] }))).toEqual([]);
    expect(problems(presence({ activities: [{ name: 'Custom Status', type: ActivityType.Custom, state: 'tidying up' }] }))).toEqual([]);
    expect(problems(presence({ activities: [{ name: 'x', type: ActivityType.Competing, url: null, state: null }] }))).toEqual([]);
    expect(problems(presence({ since: 91879201, status: 'idle', afk: true }))).toEqual([]);
  });

  it('refuses names outside 1..128 characters, unknown types, fields bots cannot set and statuses Discord does not know', () => {
    expect(problems(presence({ activities: [{ name: 'n'.repeat(128), type: 0 }] }))).toEqual([]);
    expect(problems(presence({ activities: [{ name: 'n'.repeat(129), type: 0 }] }))).toEqual(['d.activities.0.name: at most 128 characters (got 129)']);
    expect(problems(presence({ activities: [{ name: '', type: 0 }] }))).toEqual(['d.activities.0.name: at least 1 character']);
    expect(problems(presence({ activities: [{ name: 'x', type: 6 }] }))).toEqual(['d.activities.0.type: one of 0, 1, 2, 3, 4, 5 (Playing, Streaming, Listening, Watching, Custom, Competing)']);
    expect(problems(presence({ activities: [{ name: 'x', type: 1, url: 'not a url' }] }))).toEqual(['d.activities.0.url: an http(s) URL']);
    expect(problems(presence({ activities: [{ name: 'x', type: 0, details: 'rich presence' }] }))).toEqual(['d.activities.0: Unrecognized key: "details"']);
    expect(problems(presence({ status: 'away' }))).toEqual(['d.status: one of online, dnd, idle, invisible, offline']);
    expect(problems({ op: 3, d: { activities: [], status: 'online' } })).toEqual([expect.stringMatching(/^d\.since: /), expect.stringMatching(/^d\.afk: /)]);
  });
});

describe('op 4 Update Voice State and op 31 Request Soundboard Sounds', () => {
  it('joins with a channel id and leaves with null; mute and deaf are required', () => {
    expect(problems({ op: 4, d: { guild_id: GUILD, channel_id: '127121515262115840', self_mute: false, self_deaf: true } })).toEqual([]);
    expect(problems({ op: 4, d: { guild_id: GUILD, channel_id: null, self_mute: false, self_deaf: false } })).toEqual([]);
    expect(problems({ op: 4, d: { guild_id: GUILD, channel_id: 'general' } })).toEqual(['d.channel_id: expected a snowflake (decimal string)', expect.stringMatching(/^d\.self_mute: /), expect.stringMatching(/^d\.self_deaf: /)]);
  });

  it('needs at least one guild id', () => {
    expect(problems({ op: 31, d: { guild_ids: ['613425648685547541', '81384788765712384'] } })).toEqual([]);
    expect(problems({ op: 31, d: { guild_ids: [] } })).toEqual(['d.guild_ids: at least 1 guild id']);
  });
});

describe('the command envelope', () => {
  it('refuses other opcodes (the connection lifecycle is the ingestor s own) and non-objects', () => {
    expect(problems({ op: GatewayOpcodes.Identify, d: {} })).toEqual(['op: one of 3, 4, 8, 31 (Update Presence, Update Voice State, Request Guild Members, Request Soundboard Sounds)']);
    expect(problems({ op: GatewayOpcodes.Resume, d: {} })).toHaveLength(1);
    expect(problems('op 8')).toEqual(['(root): expected an object {op, d}']);
    expect(problems(null)).toEqual(['(root): expected an object {op, d}']);
    expect(problems({ ...presence(), s: 1 })).toEqual(['(root): Unrecognized key: "s"']);
  });
});

describe('shardForGuild', () => {
  it("is Discord's (guild_id >> 22) % shard_count", () => {
    // values computed independently ((id >> 22) % n in Python's arbitrary-precision integers)
    expect(shardForGuild('175928847299117063', 16)).toBe(4);
    expect(shardForGuild('41771983444115456', 16)).toBe(11);
    expect(shardForGuild('81384788765712384', 2)).toBe(0);
    expect(shardForGuild('613425648685547541', 7)).toBe(5);
    expect(shardForGuild(String((123n << 22n) | 4095n), 10)).toBe(3); // the low 22 bits do not matter
    expect(shardForGuild('18446744073709551615', 1)).toBe(0); // the largest snowflake, past Number's precision
    expect(shardForGuild('18446744073709551615', 1000)).toBe(Number(((2n ** 64n - 1n) >> 22n) % 1000n));
  });

  it('refuses what is not a snowflake or not a shard count', () => {
    expect(() => shardForGuild('abc', 2)).toThrow(ContractError);
    expect(() => shardForGuild(GUILD, 0)).toThrow(/shard count/);
    expect(() => shardForGuild(GUILD, 1.5)).toThrow(/shard count/);
  });
});

describe('keys and stream entries', () => {
  it('hash-tags every key of an application like the fleet keys', () => {
    const k = commandKeys('gw', '100000000000000001');
    expect(k.stream(3)).toBe('gw:{100000000000000001}:commands:3');
    expect(k.shardCount()).toBe('gw:{100000000000000001}:shard-count');
    expect(COMMAND_GROUP).toBe('ingestor');
    expect(COMMAND_STREAM_MAXLEN).toBe(10_000);
  });

  it('round-trips an entry and reports what it cannot read instead of throwing', () => {
    const command = parseGatewayCommand(members({ user_ids: ['80351110224678912'], nonce: 'n' }));
    const fields = encodeCommandEntry({ command, queuedAt: 1_763_800_000_000, origin: 'member-worker', id: 'a9f7c2d4-0b1e-4f7e-9a51-1b2c3d4e5f60' });
    expect(fields.filter((_, k) => k % 2 === 0)).toEqual(['command', 'queuedAt', 'origin', 'id']);
    expect(decodeCommandEntry(fields)).toEqual({ ok: true, entry: { command, queuedAt: 1_763_800_000_000, origin: 'member-worker', id: 'a9f7c2d4-0b1e-4f7e-9a51-1b2c3d4e5f60' } });

    const withCommand = (json: string) => ['command', json, 'queuedAt', '1', 'origin', 'cli', 'id', 'x'];
    expect(decodeCommandEntry(withCommand('{'))).toEqual({ ok: false, reason: 'command: not JSON' });
    expect(decodeCommandEntry(withCommand(JSON.stringify(members({ user_ids: ids(101) }))))).toEqual({ ok: false, reason: 'invalid gateway command: d.user_ids: at most 100 (got 101)' });
    expect(decodeCommandEntry(['command', '{}'])).toEqual({ ok: false, reason: 'missing field(s): queuedAt, origin, id' });
    expect(decodeCommandEntry(['command', JSON.stringify(presence()), 'queuedAt', 'soon', 'origin', '', 'id', ''])).toEqual({ ok: false, reason: 'queuedAt: expected ms since the epoch' });
    expect(decodeCommandEntry([])).toMatchObject({ ok: false });
  });
});

describe('commandShard', () => {
  // (g >> 22) % 8: 5 for G5, 2 for G2
  const G5 = String((2n ** 37n * 8n + 5n) << 22n);
  const G2 = String((2n ** 37n * 8n + 2n) << 22n);
  it('is the shard of the guild a command names, under the count it is given', () => {
    const op8 = parseGatewayCommand({ op: GatewayOpcodes.RequestGuildMembers, d: { guild_id: G5, query: '', limit: 0 } });
    expect([commandShard(op8, 8), commandShard(op8, 4)]).toEqual([5, 1]);
    const op4 = parseGatewayCommand({ op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: G2, channel_id: null, self_mute: false, self_deaf: false } });
    expect(commandShard(op4, 8)).toBe(2);
    expect(commandShard(parseGatewayCommand({ op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: [G5, G5] } }), 8)).toBe(5);
  });
  it('is undefined for presence (any connection) and for guilds of several shards', () => {
    expect(commandShard(parseGatewayCommand(presence()), 8)).toBeUndefined();
    expect(commandShard(parseGatewayCommand({ op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: [G5, G2] } }), 8)).toBeUndefined();
  });
});
