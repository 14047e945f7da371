import { describe, expect, it } from 'vitest';
import { ContractError, ingressOf, parseEnvelope, wrapDispatch, type DispatchInput } from '../../../lib/contract';

const input = (over: Partial<DispatchInput> = {}): DispatchInput => ({
  appId: '100000000000000001',
  shardId: 0,
  sessionId: 'http:900000000000000009',
  seq: 0,
  type: 'INTERACTION_CREATE',
  receivedAt: 1_763_800_000_000,
  data: { id: '900000000000000009', token: 't', type: 2, guild_id: '200000000000000002', channel_id: '400000000000000004', member: { user: { id: '300000000000000003' } } },
  ...over,
});

describe('envelope ingress', () => {
  it('is absent for a gateway dispatch (same bytes as before the field existed) and reads as gateway', () => {
    const e = wrapDispatch(input({ sessionId: 'abc', seq: 7 }));
    expect('ingress' in e).toBe(false);
    expect(ingressOf(e)).toBe('gateway');
    expect(ingressOf(wrapDispatch(input({ ingress: 'gateway' })))).toBe('gateway');
    expect('ingress' in wrapDispatch(input({ ingress: 'gateway' }))).toBe(false);
  });

  it('is carried for an HTTP interaction and survives the trip through JSON and the schema', () => {
    const e = wrapDispatch(input({ ingress: 'http' }));
    expect(e.ingress).toBe('http');
    const back = parseEnvelope(JSON.parse(JSON.stringify(e)));
    expect(back).toEqual(e);
    expect(ingressOf(back)).toBe('http');
  });

  it('rejects an unknown ingress in the input and in a delivered envelope', () => {
    let err: unknown;
    try {
      wrapDispatch(input({ ingress: 'smoke-signal' as never }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContractError);
    expect((err as ContractError).code).toBe('INVALID_DISPATCH');
    const e = { ...wrapDispatch(input()), ingress: 'carrier-pigeon' };
    expect(() => parseEnvelope(e)).toThrow(ContractError);
  });
});
