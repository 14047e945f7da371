/**
 * The simulator's pure parts: rate-limit windows and headers, snowflakes and shard ownership, the
 * ledger's loss arithmetic, the seeded traffic mix.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, type LedgerEntry } from '../../../local/simulator/gateway';
import { RateLimiter } from '../../../local/simulator/ratelimit';
import { payloadFor, seededRandom, TRAFFIC_TYPES, weightedPicker } from '../../../local/simulator/scenarios';
import { DISCORD_EPOCH, shardOf, SnowflakeGenerator, snowflakeTime } from '../../../local/simulator/snowflake';

describe('RateLimiter', () => {
  it('allows `limit` per window per bucket, then refuses with retry_after until the window ends', () => {
    let now = 1_000_000;
    const rl = new RateLimiter({ limit: 100, windowMs: 1000 }, () => now);
    const l = { limit: 2, windowMs: 500 };
    const a = rl.check('r', 'r:1', l, 'tok');
    expect(a.ok).toBe(true);
    expect(a.headers).toMatchObject({ 'X-RateLimit-Limit': '2', 'X-RateLimit-Remaining': '1', 'X-RateLimit-Reset-After': '0.500' });
    expect(rl.check('r', 'r:1', l, 'tok').headers['X-RateLimit-Remaining']).toBe('0');
    now += 100;
    const c = rl.check('r', 'r:1', l, 'tok');
    expect(c).toMatchObject({ ok: false, retryAfter: 0.4 });
    expect(c.global).toBeUndefined();
    expect(c.headers['X-RateLimit-Scope']).toBe('user');
    // another major parameter is another bucket
    expect(rl.check('r', 'r:2', l, 'tok').ok).toBe(true);
    now += 400;
    expect(rl.check('r', 'r:1', l, 'tok').ok).toBe(true);
  });

  it('applies the global limit per token and not to token-less (interaction) routes', () => {
    const now = 5_000;
    const rl = new RateLimiter({ limit: 2, windowMs: 1000 }, () => now);
    const l = { limit: 100, windowMs: 1000 };
    expect(rl.check('r', 'a', l, 'tok').ok).toBe(true);
    expect(rl.check('r', 'b', l, 'tok').ok).toBe(true);
    const g = rl.check('r', 'c', l, 'tok');
    expect(g).toMatchObject({ ok: false, global: true, retryAfter: 1 });
    expect(g.headers).toMatchObject({ 'X-RateLimit-Global': 'true', 'X-RateLimit-Scope': 'global' });
    expect(rl.check('r', 'c', l, 'other-token').ok).toBe(true);
    expect(rl.check('cb', 'ix:1', l, undefined).ok).toBe(true);
  });
});

describe('snowflakes', () => {
  it('encode their creation time and decode it back', () => {
    const t = Date.UTC(2025, 5, 1, 12);
    const id = new SnowflakeGenerator().next(t);
    expect(snowflakeTime(id)).toBe(t);
    expect(BigInt(id) >> 22n).toBe(BigInt(t) - DISCORD_EPOCH);
  });

  it('are distinct within one millisecond', () => {
    const g = new SnowflakeGenerator();
    const ids = new Set(Array.from({ length: 4000 }, () => g.next(1_700_000_000_000)));
    expect(ids.size).toBe(4000);
  });

  it('own shards by (id >> 22) % num_shards, spread evenly for ids a millisecond apart', () => {
    const g = new SnowflakeGenerator();
    const base = Date.UTC(2024, 0, 1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 400; i++) counts[shardOf(g.next(base + i), 4)]!++;
    expect(counts).toEqual([100, 100, 100, 100]);
    // Discord's example: 197038439483310086 on 1000 shards
    expect(shardOf('197038439483310086', 1000)).toBe(Number((197038439483310086n >> 22n) % 1000n));
  });
});

describe('Ledger', () => {
  const entry = (seq: number, type = 'GUILD_MEMBER_ADD', sent = true): LedgerEntry => ({ shardId: 0, sessionId: 's', seq, type, guildId: 'g', at: 0, ...(sent ? { sentAt: 1 } : {}) });

  it('reports sent events the consumer did not receive, optionally of wanted types only', () => {
    const l = new Ledger();
    l.push(entry(1, 'READY'), entry(2), entry(3, 'TYPING_START'), entry(4), entry(5, 'GUILD_MEMBER_ADD', false));
    expect(l.missed([{ sessionId: 's', seq: 2 }]).map((e) => e.seq)).toEqual([1, 3, 4]);
    expect(l.missed([{ sessionId: 's', seq: 2 }], (e) => e.type === 'GUILD_MEMBER_ADD').map((e) => e.seq)).toEqual([4]);
    // 5 never went out over a socket: not the consumer's loss
    expect(l.sent().map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('finds duplicates and received items it never sent', () => {
    const l = new Ledger();
    l.push(entry(1));
    expect([
      ...Ledger.duplicates([
        { sessionId: 's', seq: 1 },
        { sessionId: 's', seq: 1 },
        { sessionId: 's', seq: 2 },
      ]),
    ]).toEqual([['s:1', 2]]);
    expect(
      l.unknown([
        { sessionId: 's', seq: 1 },
        { sessionId: 't', seq: 1 },
      ]),
    ).toEqual([{ sessionId: 't', seq: 1 }]);
  });

  it('returns plain arrays from filter and map', () => {
    const l = new Ledger();
    l.push(entry(1));
    const f = l.filter(() => true);
    expect(f).not.toBeInstanceOf(Ledger);
    expect(Array.isArray(f)).toBe(true);
  });
});

describe('traffic mix', () => {
  it('repeats with the same seed and follows the weights', () => {
    const a = weightedPicker({ MESSAGE_CREATE: 3, GUILD_MEMBER_ADD: 1 }, seededRandom(42));
    const b = weightedPicker({ MESSAGE_CREATE: 3, GUILD_MEMBER_ADD: 1 }, seededRandom(42));
    const xs = Array.from({ length: 4000 }, () => a());
    expect(Array.from({ length: 4000 }, () => b())).toEqual(xs);
    const share = xs.filter((x) => x === 'MESSAGE_CREATE').length / xs.length;
    expect(share).toBeGreaterThan(0.7);
    expect(share).toBeLessThan(0.8);
  });

  it('refuses a mix without a positive weight, saying what to do', () => {
    expect(() => weightedPicker({ MESSAGE_CREATE: 0 }, Math.random)).toThrow(/at least one type a weight above 0/);
  });

  it('builds a payload of every type that names the guild', () => {
    const ids = new SnowflakeGenerator();
    for (const t of TRAFFIC_TYPES) {
      if (t === 'INTERACTION_CREATE') continue;
      const p = payloadFor(t, { id: '100', channelId: '200' }, '300', ids);
      expect(p.guild_id ?? p.id).toBe('100');
    }
  });
});
