import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskSpool, frame, parseSegment } from '../../../ingestor/src/publish/spool';
import type { CorruptSpoolRecord, EntryMeta, QueuedEntry } from '../../../ingestor/src/publish/types';

const item = (seq: number, shardId = 0, sessionId = 's1'): QueuedEntry => ({
  entry: { Source: 'discord.gateway', DetailType: 'GUILD_MEMBER_ADD', Detail: JSON.stringify({ seq }) },
  size: 60,
  meta: { appId: '1', shardId, sessionId, seq, type: 'GUILD_MEMBER_ADD', id: `id${seq}`, receivedAt: 1 },
  attempts: 0,
  notBefore: 0,
});

function spool(dir = mkdtempSync(join(tmpdir(), 'spool-t-')), segmentEntries = 10) {
  const corrupt: Array<{ rec: CorruptSpoolRecord; lost: EntryMeta[] }> = [];
  const truncated: Array<{ file: string; bytes: number }> = [];
  const s = new DiskSpool({ dir, maxBytes: 1_000_000, segmentEntries, onCorrupt: (rec, lost) => corrupt.push({ rec, lost }), onTruncated: (file, bytes) => truncated.push({ file, bytes }) });
  return { s, dir, corrupt, truncated };
}
const seqs = (items: QueuedEntry[]) => items.map((i) => i.meta.seq);

describe('DiskSpool', () => {
  it('gives entries back in order, a segment at a time, across a restart on the same disk', () => {
    const a = spool();
    for (let i = 1; i <= 25; i++) expect(a.s.append(item(i))).toBe(true);
    expect(a.s.depth).toBe(25);
    expect(seqs(a.s.takeSegment())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const b = spool(a.dir); // a new process on the same disk
    expect(b.s.depth).toBe(15);
    expect([...seqs(b.s.takeSegment()), ...seqs(b.s.takeSegment())]).toEqual(Array.from({ length: 15 }, (_, i) => i + 11));
    expect(b.s.depth).toBe(0);
    expect(b.corrupt).toEqual([]);
  });

  it('cuts a torn tail off on open (a crash mid-write) and keeps every whole record before it', () => {
    const a = spool();
    for (let i = 1; i <= 5; i++) a.s.append(item(i));
    const file = join(a.dir, readdirSync(a.dir)[0]!);
    const whole = statSync(file).size;
    const torn = frame(Buffer.from(JSON.stringify({ entry: item(6).entry, meta: item(6).meta }))).subarray(0, 30);
    appendFileSync(file, torn);
    const b = spool(a.dir);
    expect(b.truncated).toEqual([{ file, bytes: 30 }]);
    expect(statSync(file).size).toBe(whole);
    expect(seqs(b.s.takeSegment())).toEqual([1, 2, 3, 4, 5]);
    expect(b.corrupt).toEqual([]);
  });

  it('hands a record with a wrong checksum to onCorrupt with its bytes, and keeps the records after it in order', () => {
    const body = Buffer.from(JSON.stringify({ entry: item(2).entry, meta: item(2).meta }));
    const bad = frame(body);
    bad.writeUInt32BE(7, 4); // not its CRC-32
    const dir = mkdtempSync(join(tmpdir(), 'spool-t-'));
    const rec = (i: number) => frame(Buffer.from(JSON.stringify({ entry: item(i).entry, meta: item(i).meta })));
    writeFileSync(join(dir, 'segment-0000000000.spool'), Buffer.concat([rec(1), bad, rec(3), frame(Buffer.from('{"not":"a record"}')), rec(4)]));
    const b = spool(dir);
    expect(seqs(b.s.takeSegment())).toEqual([1, 3, 4]);
    expect(b.corrupt.map((c) => c.rec.reason)).toEqual(['checksum mismatch', 'record is not an entry with its meta']);
    expect(b.corrupt[0]!.rec.bytes.equals(bad)).toBe(true);
    expect(b.corrupt[0]!.lost).toEqual([]); // a previous process wrote it: Discord replays its events (the resume point is before them)
  });

  it('names the events of a segment this process wrote when a record of it comes back unreadable', () => {
    const a = spool(undefined, 100);
    for (let i = 1; i <= 4; i++) a.s.append(item(i, 3, 'sess'));
    const file = join(a.dir, readdirSync(a.dir)[0]!);
    // flip a byte inside the second record's body
    const buf = readFileSync(file);
    const second = parseSegment(buf, file).items[0]!;
    const off = 8 + Buffer.byteLength(JSON.stringify({ entry: second.entry, meta: second.meta })) + 8 + 5;
    buf[off] = buf[off]! ^ 0xff;
    writeFileSync(file, buf);
    expect(seqs(a.s.takeSegment())).toEqual([1, 3, 4]);
    expect(a.corrupt).toHaveLength(1);
    expect(a.corrupt[0]!.lost.map((m) => [m.shardId, m.sessionId, m.seq])).toEqual([[3, 'sess', 2]]);
  });

  it('refuses what would pass its bound and says whether an entry fits', () => {
    const s = new DiskSpool({ dir: mkdtempSync(join(tmpdir(), 'spool-t-')), maxBytes: 1000, onCorrupt: () => undefined });
    let n = 0;
    while (s.append(item(++n)));
    expect(s.bytes).toBeLessThanOrEqual(1000);
    expect(s.hasRoomFor(1000)).toBe(false);
    expect(parseSegment(Buffer.alloc(5), 'x')).toEqual({ items: [], corrupt: [], validBytes: 0 });
  });
});
