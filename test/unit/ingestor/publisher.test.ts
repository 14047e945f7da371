import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { PutEventsEntry } from '../../../lib/contract';
import { Publisher } from '../../../ingestor/src/publish/publisher';
import type { EntryMeta, EventSender, PutResult } from '../../../ingestor/src/publish/types';
import { DiskSpool } from '../../../ingestor/src/publish/spool';
import { WatermarkTracker } from '../../../ingestor/src/publish/watermark';

const entry = (i: number, bytes = 10): PutEventsEntry => ({ Source: 'discord.gateway', DetailType: 'GUILD_MEMBER_ADD', Detail: JSON.stringify({ i, pad: 'x'.repeat(bytes) }) });
/** the number an entry() was made with */
const numberOf = (e: PutEventsEntry) => (JSON.parse(e.Detail) as { i: number }).i;
const meta = (i: number): EntryMeta => ({ appId: '1', shardId: 0, sessionId: 's', seq: i, type: 'GUILD_MEMBER_ADD', id: `id${i}`, receivedAt: Date.now() });

/** A sender whose requests we resolve by hand. */
function manualSender() {
  const calls: Array<{ entries: PutEventsEntry[]; resolve: (r: PutResult) => void; reject: (e: Error) => void }> = [];
  const sender: EventSender = { put: (entries) => new Promise((resolve, reject) => calls.push({ entries, resolve, reject })) };
  return { sender, calls, ok: (k: number) => calls[k]!.resolve({ errors: calls[k]!.entries.map(() => undefined) }) };
}

function publisher(sender: EventSender, opts: { maxInFlight?: number; bufferMaxEvents?: number; spoolMaxBytes?: number; now?: () => number; baseBackoffMs?: number } = {}) {
  const accepted: EntryMeta[] = [];
  const dead: Array<{ meta: EntryMeta; reason: string }> = [];
  const backpressure: boolean[] = [];
  const spool = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'pub-')), maxBytes: opts.spoolMaxBytes ?? 10_000_000, segmentEntries: 50, onCorrupt: () => undefined });
  const p = new Publisher(
    sender,
    spool,
    { accepted: (m) => accepted.push(m), deadLettered: (m, _e, reason) => dead.push({ meta: m, reason }), failedEntries: () => undefined, backpressure: (on) => backpressure.push(on) },
    { maxInFlight: opts.maxInFlight ?? 2, bufferMaxEvents: opts.bufferMaxEvents ?? 1000, baseBackoffMs: opts.baseBackoffMs ?? 1, maxBackoffMs: 5, random: () => 0.5, now: opts.now },
  );
  return { p, accepted, dead, backpressure, spool };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** every entry the publisher's queue still points at (taken or not) */
const referenced = (p: Publisher) => new Set((p as unknown as { lanes: Array<{ items: Array<{ entry: PutEventsEntry } | undefined> }> }).lanes.flatMap((l) => l.items.filter((q) => q !== undefined).map((q) => q.entry)));

describe('Publisher', () => {
  it('keeps no reference to an entry once it is taken for a request (a published GUILD_CREATE must not stay in memory)', async () => {
    const { sender, calls, ok } = manualSender();
    const { p } = publisher(sender, { maxInFlight: 1 });
    const es = Array.from({ length: 35 }, (_, i) => entry(i, 1000));
    es.forEach((e, i) => p.enqueue(e, meta(i)));
    // the first request took entry 0; 34 wait
    expect(referenced(p).has(es[0]!)).toBe(false);
    expect(referenced(p).size).toBe(34);
    ok(0);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(referenced(p).size).toBe(24); // the 10 in flight are held by the request, not the queue
    for (let k = 1; k <= 4; k++) {
      ok(k);
      if (k < 4) await vi.waitFor(() => expect(calls).toHaveLength(k + 2));
    }
    expect(await p.drain(1000)).toBe(true);
    expect(referenced(p).size).toBe(0);
  });

  it('sends at once when nothing is in flight, then accumulates and sends only full batches while requests are in flight', async () => {
    const { sender, calls, ok } = manualSender();
    const { p } = publisher(sender, { maxInFlight: 2 });
    p.enqueue(entry(1), meta(1));
    expect(calls).toHaveLength(1); // low load: no waiting
    expect(calls[0]!.entries).toHaveLength(1);
    for (let i = 2; i <= 6; i++) p.enqueue(entry(i), meta(i));
    expect(calls).toHaveLength(1); // a partial batch waits while one request is in flight
    for (let i = 7; i <= 25; i++) p.enqueue(entry(i), meta(i));
    expect(calls).toHaveLength(2); // a full batch of 10 goes out (in-flight bound 2)
    expect(calls[1]!.entries).toHaveLength(10);
    ok(0);
    await tick();
    await tick();
    expect(calls[2]!.entries).toHaveLength(10); // 14 waiting: a full batch while one is still in flight
    ok(1);
    await tick();
    await tick();
    expect(calls).toHaveLength(3); // the last 4 wait for a free slot with nothing else in flight... or a full batch
    ok(2);
    await tick();
    await tick();
    expect(calls[3]!.entries).toHaveLength(4);
    expect(calls.reduce((n, c) => n + c.entries.length, 0)).toBe(25);
  });

  it('sends priority entries ahead of a backlog, without waiting for a full batch', async () => {
    const { sender, calls, ok } = manualSender();
    const { p } = publisher(sender, { maxInFlight: 2 });
    for (let i = 0; i < 25; i++) p.enqueue(entry(i), meta(i)); // a member storm: 2 requests in flight, 14 queued
    expect(calls).toHaveLength(2);
    p.enqueue(entry(100), meta(100), true); // an interaction
    ok(0);
    await tick();
    await tick();
    expect(calls[2]!.entries.map(numberOf)[0]).toBe(100);
    ok(1);
    ok(2);
    for (let k = 3; k < 6; k++) {
      await tick();
      await tick();
      if (calls[k]) ok(k);
    }
    const order = calls.flatMap((c) => c.entries.map(numberOf)).filter((i) => i !== 100);
    expect(order).toEqual(Array.from({ length: 25 }, (_, i) => i)); // the rest kept its order
  });

  it('keeps every request within 10 entries and 256 KB', async () => {
    const { sender, calls, ok } = manualSender();
    const { p } = publisher(sender, { maxInFlight: 1 });
    p.enqueue(entry(0), meta(0));
    for (let i = 1; i <= 12; i++) p.enqueue(entry(i, 60_000), meta(i));
    for (let k = 0; k < 10 && k < calls.length; k++) {
      ok(k);
      await tick();
      await tick();
    }
    for (const c of calls) {
      expect(c.entries.length).toBeLessThanOrEqual(10);
      expect(c.entries.reduce((n, e) => n + Buffer.byteLength(e.Detail) + 40, 0)).toBeLessThanOrEqual(256 * 1024);
    }
    expect(calls.reduce((n, c) => n + c.entries.length, 0)).toBe(13);
  });

  it('retries only the failed entries of a partial failure and dead-letters the non-retryable ones with the reason', async () => {
    const { sender, calls } = manualSender();
    const { p, accepted, dead } = publisher(sender, { maxInFlight: 1 });
    for (let i = 1; i <= 3; i++) p.enqueue(entry(i), meta(i));
    // first request carries entry 1 alone; resolve it, the next carries 2 and 3
    calls[0]!.resolve({ errors: [undefined] });
    await tick();
    await tick();
    calls[1]!.resolve({ errors: [{ code: 'ThrottlingException' }, { code: 'MalformedDetail', message: 'bad json' }] });
    // the retry waits out a backoff timer (1-5 ms); on a loaded machine that timer fires late, so wait for the request itself
    await vi.waitFor(() => expect(calls).toHaveLength(3), { timeout: 5000, interval: 5 });
    expect(dead.map((d) => [d.meta.seq, d.reason])).toEqual([[3, 'MalformedDetail: bad json']]);
    expect(calls[2]!.entries.map(numberOf)).toEqual([2]); // only the throttled one again
    calls[2]!.resolve({ errors: [undefined] });
    await tick();
    expect(accepted.map((m) => m.seq).sort()).toEqual([1, 2]);
  });

  it('retries an entry whose backoff falls due while the publisher looks at it (no stall until the next event)', async () => {
    // a clock that moves 1 ms on every read, like a loaded machine between two lines of pump()
    let t = 1_000;
    const { sender, calls } = manualSender();
    // backoff 2 ms (base 2, first attempt, random 0.5): takeBatch reads the clock one tick after retry()
    // set it (not due yet), the timer check one tick later (due)
    const { p, accepted } = publisher(sender, { maxInFlight: 1, now: () => t++, baseBackoffMs: 2 });
    p.enqueue(entry(1), meta(1));
    calls[0]!.resolve({ errors: [{ code: 'ThrottlingException' }] });
    await vi.waitFor(() => expect(calls).toHaveLength(2), { timeout: 2000, interval: 5 });
    calls[1]!.resolve({ errors: [undefined] });
    await tick();
    expect(accepted.map((m) => m.seq)).toEqual([1]);
  });

  it('sends nothing after stop(), not even the retry of a request that fails afterwards', async () => {
    const { sender, calls } = manualSender();
    const { p } = publisher(sender, { maxInFlight: 1 });
    for (let i = 1; i <= 3; i++) p.enqueue(entry(i), meta(i));
    expect(calls).toHaveLength(1);
    p.stop();
    calls[0]!.reject(new Error('socket destroyed'));
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toHaveLength(1);
    expect(p.depth).toBe(3); // still queued, never sent: the resume point stays before them
  });

  it('spools to disk past the memory bound and drains in order once requests succeed', async () => {
    let fail = true;
    const sent: number[] = [];
    const sender: EventSender = {
      put: (entries) => {
        if (fail) return Promise.reject(new Error('bus down'));
        sent.push(...entries.map(numberOf));
        return Promise.resolve({ errors: entries.map(() => undefined) });
      },
    };
    const { p, spool } = publisher(sender, { maxInFlight: 2, bufferMaxEvents: 20 });
    for (let i = 0; i < 200; i++) p.enqueue(entry(i), meta(i));
    expect(p.depth).toBeLessThanOrEqual(20);
    expect(spool.depth).toBeGreaterThanOrEqual(150); // memory holds 20, two requests hold up to 11
    fail = false;
    expect(await p.drain(5000)).toBe(true);
    expect([...new Set(sent)].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(spool.depth).toBe(0);
  });

  it('when memory and spool are full, keeps every event it is given, signals backpressure once, and releases it when half is free', async () => {
    let answer: ((r: PutResult) => void) | undefined;
    const held: PutEventsEntry[][] = [];
    let down = true;
    const sender: EventSender = {
      put: (entries) =>
        down
          ? new Promise((resolve) => {
              held.push(entries);
              answer = resolve;
            })
          : Promise.resolve({ errors: entries.map(() => undefined) }),
    };
    const { p, backpressure, accepted, spool } = publisher(sender, { maxInFlight: 1, bufferMaxEvents: 10, spoolMaxBytes: 2000 });
    for (let i = 0; i < 100; i++) p.enqueue(entry(i), meta(i));
    expect(backpressure).toEqual([true]); // signalled once, not per event
    expect(p.backpressured).toBe(true);
    expect(p.depth + spool.depth + held.flat().length).toBe(100); // nothing refused
    down = false;
    answer!({ errors: held[0]!.map(() => undefined) });
    expect(await p.drain(5000)).toBe(true);
    expect(backpressure).toEqual([true, false]);
    expect(accepted.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('WatermarkTracker', () => {
  it('never passes an event EventBridge has not accepted, and counts filtered events as done', () => {
    const w = new WatermarkTracker();
    w.seen(0, 's1', 1); // READY, filtered
    expect(w.get(0)).toEqual({ sessionId: 's1', seq: 1 });
    for (const seq of [2, 3, 4]) w.pending(0, 's1', seq);
    w.seen(0, 's1', 5); // filtered
    expect(w.get(0)?.seq).toBe(1);
    w.accepted(0, 's1', 3);
    expect(w.get(0)?.seq).toBe(1); // 2 still out
    w.accepted(0, 's1', 2);
    expect(w.get(0)?.seq).toBe(3);
    w.accepted(0, 's1', 4);
    expect(w.get(0)?.seq).toBe(5);
  });

  it('moves in order and out of order alike (a shuffled acceptance order ends at the highest seq, never passing a pending one)', () => {
    const w = new WatermarkTracker();
    const seqs = Array.from({ length: 500 }, (_, i) => i + 1);
    for (const q of seqs) w.pending(0, 's', q);
    // deterministic shuffle of blocks: mostly in order, some late
    const order = [...seqs].sort((a, b) => (a % 7) - (b % 7) || a - b);
    const accepted = new Set<number>();
    for (const q of order) {
      w.accepted(0, 's', q);
      accepted.add(q);
      let firstMissing = 1;
      while (accepted.has(firstMissing)) firstMissing++;
      expect(w.get(0)?.seq).toBe(firstMissing - 1);
    }
    expect(w.get(0)?.seq).toBe(500);
    expect(w.pendingCount(0)).toBe(0);
  });

  it('starts over for a new session and ignores late acceptances of the old one', () => {
    const w = new WatermarkTracker();
    w.pending(0, 'old', 7);
    w.pending(0, 'new', 1);
    w.accepted(0, 'old', 7);
    expect(w.get(0)).toEqual({ sessionId: 'new', seq: 0 });
    w.accepted(0, 'new', 1);
    expect(w.get(0)).toEqual({ sessionId: 'new', seq: 1 });
  });
});
