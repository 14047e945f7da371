import { describe, expect, it } from 'vitest';
import { ContractError, entrySize, envelopeEntrySize, EVENT_SOURCE, parseDeliveredEvent, toPutEventsEntry, wrapDispatch } from '../../../lib/contract';

const envelope = (data: Record<string, unknown> = { id: '1', channel_id: '2', guild_id: '3', member: { user: { id: '4' } } }) => wrapDispatch({ appId: '10', shardId: 0, sessionId: 's', seq: 1, type: 'INTERACTION_CREATE', data, receivedAt: 1 });

describe('entrySize', () => {
  it('counts Source + DetailType + Detail + Resources in UTF-8 bytes, and 14 for Time', () => {
    expect(entrySize({ Source: 'abc', DetailType: 'de', Detail: '{}' })).toBe(7);
    expect(entrySize({ Source: 'abc', DetailType: 'de', Detail: '{}', Time: new Date(0) })).toBe(21);
    expect(entrySize({ Source: 'abc', DetailType: 'de', Detail: '{}', Resources: ['r1', 'r22'] })).toBe(12);
    // "é" is 2 bytes and "🎮" is 4 bytes in UTF-8
    expect(entrySize({ Source: 'a', DetailType: 'b', Detail: '"é🎮"' })).toBe(2 + 2 + 2 + 4);
  });

  it('matches the size of the built entry exactly', () => {
    const e = envelope({ id: '1', name: 'ünïcödé 🎮'.repeat(100) });
    const entry = toPutEventsEntry(e, 'bus');
    expect(envelopeEntrySize(e)).toBe(entrySize(entry));
    expect(entry).toMatchObject({ Source: EVENT_SOURCE, DetailType: 'INTERACTION_CREATE', EventBusName: 'bus' });
    expect(JSON.parse(entry.Detail)).toEqual(e);
  });
});

describe('parseDeliveredEvent', () => {
  const body = (detail: unknown, over: Record<string, unknown> = {}) =>
    JSON.stringify({
      version: '0',
      id: 'eb-1',
      'detail-type': 'INTERACTION_CREATE',
      source: EVENT_SOURCE,
      account: '000000000000',
      time: '2026-11-22T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail,
      ...over,
    });

  it('returns the envelope a rule delivered', () => {
    const e = envelope();
    expect(parseDeliveredEvent(body(e))).toEqual({ eventId: 'eb-1', envelope: e });
  });

  it('gives typed errors for non-JSON, non-events, a foreign source, a bad detail and a type mismatch', () => {
    const code = (b: string) => {
      try {
        parseDeliveredEvent(b);
        return 'none';
      } catch (err) {
        return err instanceof ContractError ? err.code : 'crash';
      }
    };
    expect(code('{not json')).toBe('INVALID_EVENT');
    expect(code('{"hello":1}')).toBe('INVALID_EVENT');
    expect(code(body(envelope(), { source: 'aws.s3' }))).toBe('INVALID_EVENT');
    expect(code(body({ v: 1 }))).toBe('INVALID_ENVELOPE');
    expect(code(body(envelope(), { 'detail-type': 'GUILD_CREATE' }))).toBe('INVALID_EVENT');
  });
});
