import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_ROUTING_TABLE, envelopeId, type PutEventsEntry } from '../../../lib/contract';
import { createRouter, readDispatch } from '../../../ingestor/src/classify/router';
import { GuildCounter } from '../../../ingestor/src/health/guilds';
import { createIngest } from '../../../ingestor/src/ingest';
import { IngestorMetrics } from '../../../ingestor/src/metrics';
import type { DeadLetter } from '../../../ingestor/src/publish/dead-letters';
import type { EntryMeta } from '../../../ingestor/src/publish/types';
import { WatermarkTracker } from '../../../ingestor/src/publish/watermark';

const APP = '100000000000000001';
const GUILD = '200000000000000001';

/** The stage with its neighbours injected: a recording publisher and dead-letter store, the real watermark. */
function stage(opts: { threshold?: number; claimCheck?: () => Promise<never> } = {}) {
  const enqueued: Array<{ entry: PutEventsEntry; meta: EntryMeta; priority: boolean }> = [];
  const dead: DeadLetter[] = [];
  let storeDead: (() => void) | undefined;
  const watermarks = new WatermarkTracker();
  const metrics = new IngestorMetrics('ns', 'g', () => undefined);
  const guilds = new GuildCounter();
  const ingest = createIngest({
    appId: APP,
    eventBusName: 'bus',
    route: createRouter(DEFAULT_ROUTING_TABLE),
    sessionId: () => 'sess',
    watermarks,
    guilds,
    claimChecker: { thresholdBytes: opts.threshold ?? 262_144, store: opts.claimCheck ?? (async () => Promise.reject(new Error('no S3 here'))) },
    publisher: { enqueue: (entry, meta, priority) => void enqueued.push({ entry, meta, priority: !!priority }) },
    deadLetters: { store: (dl) => (dead.push(dl), new Promise<string>((r) => (storeDead = () => r('key')))) },
    metrics,
    log: () => undefined,
    claimCheckAttempts: 2,
    claimCheckBackoffMs: 1,
  });
  return { ingest, enqueued, dead, watermarks, metrics, guilds, stored: () => storeDead?.() };
}

const member = (s: number) => ({ op: 0, t: 'GUILD_MEMBER_ADD', s, d: { guild_id: GUILD, user: { id: '300000000000000001' } } });

describe('ingest: classify -> envelope -> publish', () => {
  it('publishes a routed dispatch as an envelope, interactions in the priority lane, and drops what no tier wants', () => {
    const { ingest, enqueued, metrics, watermarks } = stage();
    ingest.onDispatch(member(1), 0);
    ingest.onDispatch({ op: 0, t: 'INTERACTION_CREATE', s: 2, d: { id: '400000000000000001', token: 't', type: 2, guild_id: GUILD } }, 0);
    ingest.onDispatch({ op: 0, t: 'TYPING_START', s: 3, d: { channel_id: '1' } }, 0);
    expect(enqueued.map((e) => [e.meta.type, e.priority])).toEqual([
      ['GUILD_MEMBER_ADD', false],
      ['INTERACTION_CREATE', true],
    ]);
    expect(enqueued[0]!.meta.id).toBe(envelopeId(APP, 0, 'sess', 1));
    expect(metrics.dropped).toBe(1);
    expect(watermarks.get(0)).toEqual({ sessionId: 'sess', seq: 0 }); // 1 and 2 wait for the bus
  });

  it.each([
    ['d: null', { op: 0, t: 'GUILD_DELETE', s: 5, d: null }],
    ['d: an array', { op: 0, t: 'GUILD_MEMBER_ADD', s: 5, d: [] }],
    ['d: a string', { op: 0, t: 'INTERACTION_CREATE', s: 5, d: 'x' }],
    ['a guild_id that is no snowflake', { op: 0, t: 'GUILD_MEMBER_ADD', s: 5, d: { guild_id: 42 } }],
    ['no sequence number', { op: 0, t: 'GUILD_MEMBER_ADD', s: null, d: {} }],
    ['no event name', { op: 0, s: 5, d: {} }],
    ['not an object', 'garbage'],
  ])('dead-letters a dispatch with %s, with its reason, and never throws', (_what, payload) => {
    const { ingest, dead, enqueued } = stage();
    expect(() => ingest.onDispatch(payload, 0)).not.toThrow();
    expect(enqueued).toEqual([]);
    expect(dead).toHaveLength(1);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(dead[0]).toMatchObject({ reason: 'Malformed', detail: expect.any(String), raw: expect.any(String) });
  });

  it('lets the watermark pass a dead-lettered event only once S3 has it', async () => {
    const { ingest, watermarks, stored } = stage();
    ingest.onDispatch({ op: 0, t: 'GUILD_DELETE', s: 1, d: null }, 0);
    expect(watermarks.get(0)).toEqual({ sessionId: 'sess', seq: 0 });
    stored();
    await vi.waitFor(() => expect(watermarks.get(0)).toEqual({ sessionId: 'sess', seq: 1 }));
  });

  it('claim-checks an oversize event, and dead-letters it after the attempts when S3 keeps failing', async () => {
    const { ingest, dead, enqueued, metrics } = stage({ threshold: 1024 });
    ingest.onDispatch({ op: 0, t: 'GUILD_CREATE', s: 1, d: { id: GUILD, name: 'x'.repeat(5000) } }, 0);
    await vi.waitFor(() => expect(dead).toHaveLength(1));
    expect(dead[0]).toMatchObject({ reason: 'ClaimCheckFailed', detail: 'no S3 here' });
    expect(enqueued).toEqual([]);
    expect(metrics.deadLetteredByReason.get('ClaimCheckFailed')).toBe(1);
  });

  it('dead-letters the raw payload when something throws while handling it (the gateway stage catches everything)', () => {
    const { ingest, dead, watermarks } = stage();
    ingest.onDispatchError(member(7), 0, new Error('boom'));
    expect(dead[0]).toMatchObject({ reason: 'Malformed', detail: 'handling the dispatch threw: boom', meta: { seq: 7, id: envelopeId(APP, 0, 'sess', 7) } });
    expect(watermarks.pendingCount(0)).toBe(1);
  });
});

describe('classify', () => {
  it('reads t and s without trusting the shape', () => {
    expect(readDispatch({ t: 'READY', s: 1, d: {} })).toEqual({ ok: true, header: { type: 'READY', seq: 1, data: {} } });
    expect(readDispatch({ t: 'READY', s: -1 })).toMatchObject({ ok: false, type: 'READY' });
    expect(readDispatch(null)).toMatchObject({ ok: false });
  });

  it('routes by the routing table and marks the top-priority tier', () => {
    const route = createRouter(DEFAULT_ROUTING_TABLE);
    expect(route('INTERACTION_CREATE')).toEqual({ tier: 'interactions', priority: true });
    expect(route('GUILD_MEMBER_ADD')).toMatchObject({ priority: false });
    expect(route('TYPING_START')).toBeUndefined();
  });
});

describe('GuildCounter', () => {
  it('counts guilds from READY, GUILD_CREATE and GUILD_DELETE, and ignores an outage and junk', () => {
    const g = new GuildCounter();
    g.observe('READY', { guilds: [{ id: 'a' }, { id: 'b' }, null, { id: 3 }] }, 0);
    g.observe('GUILD_CREATE', { id: 'c' }, 0);
    g.observe('GUILD_DELETE', { id: 'a', unavailable: true }, 0);
    g.observe('GUILD_DELETE', { id: 'b' }, 0);
    g.observe('GUILD_DELETE', null, 0);
    g.observe('GUILD_CREATE', [], 1);
    expect(g.count([0, 1])).toBe(2);
  });
});
