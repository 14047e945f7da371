import { describe, expect, it } from 'vitest';
import { classify, CONSUMERS, ContractError, createClassifier, DEFAULT_ROUTING_TABLE, DISPATCH_TYPES, EVENT_SOURCE, routingTableProblems, TIER_NAMES, tierEventPattern, tiersByPriority, validateRoutingTable, withOverrides, type RoutingTable } from '../../../lib/contract';

describe('routing table', () => {
  it('has the six tiers, interactions first, and one worker per consumed tier', () => {
    expect(Object.keys(DEFAULT_ROUTING_TABLE).sort()).toEqual([...TIER_NAMES].sort());
    expect(tiersByPriority().map((t) => t.name)).toEqual(['interactions', 'members', 'guilds', 'voice', 'sync', 'bulk']);
    // the worker list is derived from the tiers: a tier's consumer is the only place a worker is named
    expect([...CONSUMERS]).toEqual(tiersByPriority().flatMap((t) => (t.consumer ? [t.consumer] : [])));
    expect([...CONSUMERS]).toEqual(['interaction', 'member', 'guild', 'voice', 'sync']);
  });

  it('routes each dispatch type to at most one tier, and only known types', () => {
    const seen = new Map<string, string>();
    for (const tier of Object.values(DEFAULT_ROUTING_TABLE)) {
      for (const t of tier.dispatchTypes) {
        expect(DISPATCH_TYPES).toContain(t);
        expect(seen.get(t), `${t} in two tiers`).toBeUndefined();
        seen.set(t, tier.name);
      }
    }
  });

  it('classifies interactions, members and guilds, and drops message, presence and typing traffic', () => {
    expect(classify('INTERACTION_CREATE')).toBe('interactions');
    expect(classify('GUILD_MEMBER_ADD')).toBe('members');
    expect(classify('GUILD_MEMBER_UPDATE')).toBe('members');
    expect(classify('GUILD_MEMBER_REMOVE')).toBe('members');
    expect(classify('GUILD_MEMBERS_CHUNK')).toBe('sync');
    expect(classify('RATE_LIMITED')).toBe('sync');
    expect(classify('VOICE_STATE_UPDATE')).toBe('voice');
    expect(classify('GUILD_CREATE')).toBe('guilds');
    expect(classify('GUILD_DELETE')).toBe('guilds');
    expect(classify('MESSAGE_CREATE')).toBeUndefined();
    expect(classify('PRESENCE_UPDATE')).toBeUndefined();
    expect(classify('TYPING_START')).toBeUndefined();
    expect(classify('NOT_A_TYPE')).toBeUndefined();
  });

  it('follows AWS limits for every tier: visibility >= 6 x function timeout, window for big batches', () => {
    for (const tier of Object.values(DEFAULT_ROUTING_TABLE)) {
      const q = tier.queue;
      expect(q.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * q.functionTimeoutSeconds);
      if (q.batchSize > 10) expect(q.maxBatchingWindowSeconds).toBeGreaterThanOrEqual(1);
      expect(q.maxConcurrency).toBeGreaterThanOrEqual(2);
      expect(q.maxConcurrency).toBeLessThanOrEqual(1000);
    }
    expect(routingTableProblems(DEFAULT_ROUTING_TABLE)).toEqual([]);
  });

  it('builds a rule pattern naming exactly the tier source and types', () => {
    expect(tierEventPattern(DEFAULT_ROUTING_TABLE.members)).toEqual({
      source: [EVENT_SOURCE],
      'detail-type': ['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE'],
    });
    expect(tierEventPattern(DEFAULT_ROUTING_TABLE.voice)).toEqual({ source: [EVENT_SOURCE], 'detail-type': ['VOICE_STATE_UPDATE'] });
  });

  it('applies overrides and re-validates them', () => {
    const t = withOverrides({ bulk: { dispatchTypes: ['MESSAGE_CREATE'] }, members: { queue: { maxConcurrency: 50 } } });
    expect(t.members.queue.maxConcurrency).toBe(50);
    expect(t.members.queue.batchSize).toBe(DEFAULT_ROUTING_TABLE.members.queue.batchSize);
    expect(createClassifier(t)('MESSAGE_CREATE')).toBe('bulk');
    expect(createClassifier(t)('CHANNEL_CREATE')).toBeUndefined();
    // the default table is untouched
    expect(classify('MESSAGE_CREATE')).toBeUndefined();
  });

  it('rejects an override with an unknown dispatch type, naming it', () => {
    expect(() => withOverrides({ bulk: { dispatchTypes: ['MESAGE_CREATE'] } })).toThrow(/bulk\.dispatchTypes\.0/);
    try {
      withOverrides({ bulk: { dispatchTypes: ['MESAGE_CREATE'] } });
    } catch (e) {
      expect(e).toBeInstanceOf(ContractError);
      expect((e as ContractError).code).toBe('INVALID_ROUTING_TABLE');
    }
  });

  it('rejects an unknown tier name', () => {
    expect(() => withOverrides({ premium: {} } as never)).toThrow(/unknown tier in overrides: premium/);
  });

  it('rejects a type routed to two tiers', () => {
    expect(() => withOverrides({ bulk: { dispatchTypes: ['GUILD_MEMBER_ADD'] } })).toThrow(/GUILD_MEMBER_ADD is routed to both members and bulk/);
  });

  it('rejects a visibility timeout below 6 x the function timeout, saying what to set', () => {
    expect(() => withOverrides({ members: { queue: { visibilityTimeoutSeconds: 60 } } })).toThrow(/members\.queue\.visibilityTimeoutSeconds=60 is below 6 x functionTimeoutSeconds=30: raise it to at least 180/);
  });

  it('rejects a batch size above 10 without a batching window', () => {
    expect(() => withOverrides({ members: { queue: { maxBatchingWindowSeconds: 0 } } })).toThrow(/batchSize=100 above 10 needs maxBatchingWindowSeconds >= 1/);
  });

  it('rejects maximum concurrency outside 2..1000 and a missing tier', () => {
    expect(() => withOverrides({ guilds: { queue: { maxConcurrency: 1 } } })).toThrow(/guilds\.queue\.maxConcurrency/);
    const { bulk: _bulk, ...rest } = DEFAULT_ROUTING_TABLE;
    expect(() => validateRoutingTable(rest as unknown as RoutingTable)).toThrow(/tier bulk is missing/);
  });
});
