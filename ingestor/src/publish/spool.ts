/**
 * The bounded disk spool: when the memory buffer is full (the bus is slow or down), entries are
 * appended to segment files and read back in order when there is room again. The spool is a buffer,
 * never the last resting place of an event (a Fargate task's disk dies with it): the watermark stays
 * before every spooled entry until EventBridge accepts it.
 *
 * Each record is framed: a 4-byte big-endian length, the CRC-32 of the body, then the body (JSON of
 * entry and meta). On open, a torn tail (a crash in the middle of a write: that append never
 * returned, so its event never passed the watermark and Discord replays it) is truncated; a record
 * whose checksum or shape is wrong is handed to `onCorrupt` with its bytes and the rest is kept in
 * order.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { entrySize, type PutEventsEntry } from '../../../lib/contract';
import type { CorruptSpoolRecord, EntryMeta, QueuedEntry, Spool } from './types';

const HEADER = 8;
const SEGMENT_FILE = /^segment-(\d{10})\.spool$/;

/** One record's frame: length, checksum, body. */
export function frame(body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

export interface ParsedSegment {
  items: QueuedEntry[];
  corrupt: CorruptSpoolRecord[];
  /** where the readable part ends; less than the file size when the tail is torn */
  validBytes: number;
}

const isMeta = (m: unknown): m is EntryMeta => {
  const o = m as Partial<EntryMeta> | null;
  return !!o && typeof o === 'object' && typeof o.appId === 'string' && Number.isInteger(o.shardId) && typeof o.sessionId === 'string' && Number.isInteger(o.seq) && typeof o.type === 'string' && typeof o.id === 'string' && typeof o.receivedAt === 'number';
};
const isEntry = (e: unknown): e is PutEventsEntry => {
  const o = e as Partial<PutEventsEntry> | null;
  return !!o && typeof o === 'object' && typeof o.Source === 'string' && typeof o.DetailType === 'string' && typeof o.Detail === 'string';
};

/** Reads the records of one segment's bytes; never throws on what it finds. */
export function parseSegment(buf: Buffer, file: string): ParsedSegment {
  const items: QueuedEntry[] = [];
  const corrupt: CorruptSpoolRecord[] = [];
  let off = 0;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32BE(off);
    const sum = buf.readUInt32BE(off + 4);
    if (off + HEADER + len > buf.length) break; // torn tail
    const body = buf.subarray(off + HEADER, off + HEADER + len);
    const bad = (reason: string) => corrupt.push({ file, offset: off, bytes: Buffer.from(buf.subarray(off, off + HEADER + len)), reason });
    if (crc32(body) !== sum) bad('checksum mismatch');
    else {
      let rec: { entry?: unknown; meta?: unknown } | undefined;
      try {
        rec = JSON.parse(body.toString('utf8')) as typeof rec;
      } catch {
        rec = undefined;
      }
      if (rec && isEntry(rec.entry) && isMeta(rec.meta)) items.push({ entry: rec.entry, meta: rec.meta, size: entrySize(rec.entry), attempts: 0, notBefore: 0 });
      else bad('record is not an entry with its meta');
    }
    off += HEADER + len;
  }
  return { items, corrupt, validBytes: off };
}

/**
 * What this process appended to a segment, to name the events of a record that went bad: per record
 * the seq and the index of its stream (application, shard, session) in typed arrays (10 bytes an
 * event, not an object).
 */
interface Written {
  seqs: Float64Array;
  stream: Uint16Array;
  streams: Array<{ appId: string; shardId: number; sessionId: string }>;
}

interface Segment {
  file: string;
  count: number;
  bytes: number;
  /** undefined for segments a previous process left */
  written: Written | undefined;
}

export interface DiskSpoolOptions {
  dir: string;
  maxBytes: number;
  /** records per segment file @default 1000 */
  segmentEntries?: number;
  /** a record that cannot be read back; `lost` names the events it held when this process wrote it */
  onCorrupt: (record: CorruptSpoolRecord, lost: EntryMeta[]) => void;
  /** a torn tail was cut off (file, bytes removed) */
  onTruncated?: (file: string, bytes: number) => void;
}

/** The events this process wrote to the segment that did not come back readable. */
function lostEvents(seg: Segment, read: QueuedEntry[]): EntryMeta[] {
  const w = seg.written;
  if (!w) return [];
  const key = (appId: string, shardId: number, sessionId: string, seq: number) => `${appId}|${shardId}|${sessionId}|${seq}`;
  const ok = new Set(read.map((i) => key(i.meta.appId, i.meta.shardId, i.meta.sessionId, i.meta.seq)));
  const lost: EntryMeta[] = [];
  for (let k = 0; k < seg.count; k++) {
    const st = w.streams[w.stream[k] ?? -1];
    const seq = w.seqs[k];
    if (!st || seq === undefined) continue;
    if (!ok.has(key(st.appId, st.shardId, st.sessionId, seq))) lost.push({ ...st, seq, type: 'unknown', id: 'unknown', receivedAt: 0 });
  }
  return lost;
}

export class DiskSpool implements Spool {
  private readonly segments: Segment[] = [];
  private seq = 0;
  depth = 0;
  bytes = 0;
  readonly maxBytes: number;
  private readonly segmentEntries: number;

  constructor(private readonly opts: DiskSpoolOptions) {
    this.maxBytes = opts.maxBytes;
    this.segmentEntries = opts.segmentEntries ?? 1000;
    mkdirSync(opts.dir, { recursive: true });
    this.recover();
  }

  /** Segments left by a previous process on the same disk go first; a torn tail is cut off. */
  private recover(): void {
    const files = readdirSync(this.opts.dir)
      .filter((f) => SEGMENT_FILE.test(f))
      .sort();
    for (const f of files) {
      const file = join(this.opts.dir, f);
      const buf = readFileSync(file);
      const parsed = parseSegment(buf, file);
      if (parsed.validBytes < buf.length) {
        truncateSync(file, parsed.validBytes);
        this.opts.onTruncated?.(file, buf.length - parsed.validBytes);
      }
      const count = parsed.items.length + parsed.corrupt.length;
      this.segments.push({ file, count, bytes: parsed.validBytes, written: undefined });
      this.depth += count;
      this.bytes += parsed.validBytes;
      this.seq = Math.max(this.seq, Number(SEGMENT_FILE.exec(f)?.[1] ?? -1) + 1);
    }
  }

  hasRoomFor(bytes: number): boolean {
    return this.bytes + bytes + HEADER <= this.maxBytes;
  }

  /** How full the spool is, 0 to 1. */
  get fill(): number {
    return this.bytes / this.maxBytes;
  }

  append(item: QueuedEntry): boolean {
    const rec = frame(Buffer.from(JSON.stringify({ entry: item.entry, meta: item.meta })));
    if (this.bytes + rec.length > this.maxBytes) return false;
    const { appId, shardId, sessionId, seq } = item.meta;
    let seg = this.segments.at(-1);
    // only a segment this process opened (it has the record of what was written) takes more
    let w = seg?.written;
    if (!seg || !w || seg.count >= this.segmentEntries) {
      w = { seqs: new Float64Array(this.segmentEntries), stream: new Uint16Array(this.segmentEntries), streams: [] };
      seg = { file: join(this.opts.dir, `segment-${String(this.seq++).padStart(10, '0')}.spool`), count: 0, bytes: 0, written: w };
      this.segments.push(seg);
    }
    const fd = openSync(seg.file, 'a');
    try {
      writeSync(fd, rec);
    } finally {
      closeSync(fd);
    }
    let k = w.streams.findIndex((x) => x.shardId === shardId && x.sessionId === sessionId && x.appId === appId);
    if (k < 0) k = w.streams.push({ appId, shardId, sessionId }) - 1;
    w.seqs[seg.count] = seq;
    w.stream[seg.count] = k;
    seg.count++;
    seg.bytes += rec.length;
    this.depth++;
    this.bytes += rec.length;
    return true;
  }

  takeSegment(): QueuedEntry[] {
    const seg = this.segments.shift();
    if (!seg) return [];
    const fd = openSync(seg.file, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.allocUnsafe(fstatSync(fd).size);
      readSync(fd, buf, 0, buf.length, 0);
    } finally {
      closeSync(fd);
    }
    const parsed = parseSegment(buf, seg.file);
    if (parsed.corrupt.length > 0 || parsed.validBytes < buf.length) {
      const lost = lostEvents(seg, parsed.items);
      const records = parsed.corrupt.length > 0 ? parsed.corrupt : [{ file: seg.file, offset: parsed.validBytes, bytes: Buffer.from(buf.subarray(parsed.validBytes)), reason: 'torn record' }];
      records.forEach((r, k) => this.opts.onCorrupt(r, k === 0 ? lost : []));
    }
    unlinkSync(seg.file);
    this.depth -= seg.count;
    this.bytes -= seg.bytes;
    return parsed.items;
  }
}
