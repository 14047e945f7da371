import { describe, expect, it } from 'vitest';
import { ContractError, envelopeId, extractIds, isClaimChecked, parseEnvelope, wrapDispatch, type DispatchInput } from '../../../lib/contract';

const input = (over: Partial<DispatchInput> = {}): DispatchInput => ({
  appId: '100000000000000001',
  shardId: 2,
  sessionId: 'abc123',
  seq: 42,
  type: 'GUILD_MEMBER_ADD',
  receivedAt: 1_763_800_000_000,
  data: { guild_id: '200000000000000002', user: { id: '300000000000000003', username: 'u' }, roles: [] },
  ...over,
});

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ContractError) return e.code;
    throw e;
  }
  return undefined;
};

describe('envelope id', () => {
  it('is the same for the same session and seq (a replay after RESUME)', () => {
    expect(envelopeId('1', 0, 's', 5)).toBe(envelopeId('1', 0, 's', 5));
    expect(envelopeId('1', 0, 's', 5)).toMatch(/^[0-9a-f]{32}$/);
  });
  it('differs when any of app, shard, session or seq differs', () => {
    const ids = new Set([envelopeId('1', 0, 's', 5), envelopeId('2', 0, 's', 5), envelopeId('1', 1, 's', 5), envelopeId('1', 0, 't', 5), envelopeId('1', 0, 's', 6)]);
    expect(ids.size).toBe(5);
  });
});

describe('wrapDispatch', () => {
  it('wraps a member join with its ids and a deterministic id', () => {
    const e = wrapDispatch(input());
    expect(e).toEqual({
      v: 1,
      id: envelopeId('100000000000000001', 2, 'abc123', 42),
      appId: '100000000000000001',
      shardId: 2,
      sessionId: 'abc123',
      seq: 42,
      type: 'GUILD_MEMBER_ADD',
      receivedAt: 1_763_800_000_000,
      guildId: '200000000000000002',
      channelId: null,
      userId: '300000000000000003',
      data: input().data,
    });
    expect(parseEnvelope(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });

  it('gives UNKNOWN_DISPATCH_TYPE for a type Discord does not define', () => {
    expect(codeOf(() => wrapDispatch(input({ type: 'GUILD_MEMBER_JOIN' })))).toBe('UNKNOWN_DISPATCH_TYPE');
  });

  it('gives INVALID_DATA for non-object data (null, array, string)', () => {
    for (const data of [null, [], 'x', 5]) expect(codeOf(() => wrapDispatch(input({ data })))).toBe('INVALID_DATA');
  });

  it('gives INVALID_DISPATCH for missing or wrong fields, naming them', () => {
    const bad = { ...input(), seq: undefined } as unknown as DispatchInput;
    expect(() => wrapDispatch(bad)).toThrow(/invalid dispatch: seq/);
    expect(codeOf(() => wrapDispatch(input({ shardId: -1 })))).toBe('INVALID_DISPATCH');
    expect(codeOf(() => wrapDispatch(input({ appId: 'not-a-snowflake' })))).toBe('INVALID_DISPATCH');
  });

  it('rejects every field the schema rejects (the fast check is never looser than the schema)', () => {
    const wrong: Array<Partial<Record<keyof DispatchInput, unknown>>> = [
      { appId: '' },
      { appId: '1'.repeat(21) },
      { appId: 12345 },
      { appId: ' 123' },
      { shardId: 1.5 },
      { shardId: NaN },
      { shardId: Infinity },
      { shardId: 2 ** 60 },
      { shardId: '0' },
      { sessionId: '' },
      { sessionId: 5 },
      { seq: -1 },
      { seq: 0.5 },
      { seq: null },
      { type: 7 },
      { receivedAt: '1700000000000' },
      { receivedAt: -1 },
      { receivedAt: 1.5 },
    ];
    for (const w of wrong)
      expect(
        codeOf(() => wrapDispatch(input(w as Partial<DispatchInput>))),
        JSON.stringify(w),
      ).toBe('INVALID_DISPATCH');
    expect(wrapDispatch(input({ shardId: 0, seq: 0, receivedAt: 0 })).seq).toBe(0);
  });

  it('gives INVALID_ID when an id field is present but not a snowflake', () => {
    expect(codeOf(() => wrapDispatch(input({ data: { guild_id: 12345, user: { id: '3' } } })))).toBe('INVALID_ID');
  });
});

describe('extractIds', () => {
  it('reads an interaction in a guild (member.user) and in a DM (user)', () => {
    expect(extractIds('INTERACTION_CREATE', { guild_id: '1', channel_id: '2', member: { user: { id: '3' } } })).toEqual({ guildId: '1', channelId: '2', userId: '3' });
    expect(extractIds('INTERACTION_CREATE', { channel_id: '2', user: { id: '4' } })).toEqual({ guildId: null, channelId: '2', userId: '4' });
  });
  it('takes a guild payload id as the guild id, but not for other types', () => {
    expect(extractIds('GUILD_CREATE', { id: '9', name: 'g' })).toEqual({ guildId: '9', channelId: null, userId: null });
    expect(extractIds('GUILD_DELETE', { id: '9', unavailable: true }).guildId).toBe('9');
    expect(extractIds('MESSAGE_CREATE', { id: '7', channel_id: '2', guild_id: '1', author: { id: '5' } })).toEqual({ guildId: '1', channelId: '2', userId: '5' });
  });
  it('takes a channel or thread payload id as the channel id', () => {
    expect(extractIds('CHANNEL_CREATE', { id: '8', guild_id: '1' })).toEqual({ guildId: '1', channelId: '8', userId: null });
    expect(extractIds('THREAD_UPDATE', { id: '8', guild_id: '1' }).channelId).toBe('8');
  });
  it('reads user_id when there is no user object (typing, reactions)', () => {
    expect(extractIds('TYPING_START', { channel_id: '2', user_id: '6' })).toEqual({ guildId: null, channelId: '2', userId: '6' });
  });
  it('takes the guild of a RATE_LIMITED from meta.guild_id (the limited request), and only for that type', () => {
    const limited = { opcode: 8, retry_after: 12.5, meta: { guild_id: '1', nonce: 'sm-2' } };
    expect(extractIds('RATE_LIMITED', limited)).toEqual({ guildId: '1', channelId: null, userId: null });
    expect(wrapDispatch(input({ type: 'RATE_LIMITED', data: limited })).guildId).toBe('1');
    expect(extractIds('RATE_LIMITED', { opcode: 8, retry_after: 1, meta: {} }).guildId).toBeNull();
    expect(codeOf(() => extractIds('RATE_LIMITED', { opcode: 8, retry_after: 1, meta: { guild_id: 5 } }))).toBe('INVALID_ID');
    expect(extractIds('MESSAGE_CREATE', { id: '7', channel_id: '2', meta: { guild_id: '1' } }).guildId).toBeNull();
  });
  it('returns nulls for a payload without ids, and a typed error for non-object data', () => {
    expect(extractIds('RESUMED', {})).toEqual({ guildId: null, channelId: null, userId: null });
    expect(codeOf(() => extractIds('GUILD_CREATE', null))).toBe('INVALID_DATA');
    expect(codeOf(() => extractIds('GUILD_CREATE', { id: { x: 1 } }))).toBe('INVALID_ID');
  });
});

describe('parseEnvelope', () => {
  const good = () => JSON.parse(JSON.stringify(wrapDispatch(input()))) as Record<string, unknown>;

  it('accepts a claim-checked envelope with dataRef instead of data', () => {
    const { data: _d, ...rest } = good();
    const e = parseEnvelope({ ...rest, dataRef: { bucket: 'claims', key: 'k/1.json', bytes: 300_000 } });
    expect(e.dataRef?.key).toBe('k/1.json');
    expect(isClaimChecked(e)).toBe(true);
  });

  it('rejects both data and dataRef, or neither', () => {
    expect(codeOf(() => parseEnvelope({ ...good(), dataRef: { bucket: 'b12', key: 'k', bytes: 1 } }))).toBe('INVALID_ENVELOPE');
    const { data: _d, ...rest } = good();
    expect(codeOf(() => parseEnvelope(rest))).toBe('INVALID_ENVELOPE');
  });

  it('names every bad field', () => {
    expect(() => parseEnvelope({ ...good(), v: 2, seq: 'x', type: 'NOPE' })).toThrow(/v: .*seq: .*type: /s);
  });

  it('rejects non-objects and unknown fields', () => {
    for (const v of [null, 'x', 1, []]) expect(codeOf(() => parseEnvelope(v))).toBe('INVALID_ENVELOPE');
    expect(codeOf(() => parseEnvelope({ ...good(), extra: 1 }))).toBe('INVALID_ENVELOPE');
  });
});
