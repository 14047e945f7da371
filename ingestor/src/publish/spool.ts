/**
 * The bounded disk spool: when the memory buffer is full (the bus is slow or down), entries are
 * appended to JSON-lines segment files and read back in order when there is room again. A
 * dead-letter file keeps entries EventBridge refused for good, with the reason.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { entrySize, type PutEventsEntry } from '../../../lib/contract';
import type { EntryMeta, QueuedEntry } from './publisher';

export interface Spool {
  /** entries on disk */
  readonly depth: number;
  readonly bytes: number;
  /** false when the spool is full (the entry was not stored) */
  append(item: QueuedEntry): boolean;
  /** the oldest segment's entries (removed from disk) */
  takeSegment(): QueuedEntry[];
  deadLetter(meta: EntryMeta, entry: PutEventsEntry, reason: string): void;
}

export class DiskSpool implements Spool {
  private segments: Array<{ file: string; count: number; bytes: number }> = [];
  private seq = 0;
  depth = 0;
  bytes = 0;
  deadLettered = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly segmentEntries = 1000,
  ) {
    mkdirSync(dir, { recursive: true });
    // segments left by a previous process on the same disk are drained first
    for (const f of readdirSync(dir).filter((f) => /^segment-\d+\.jsonl$/.test(f)).sort()) {
      const file = join(dir, f);
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
      const bytes = statSync(file).size;
      this.segments.push({ file, count: lines, bytes });
      this.depth += lines;
      this.bytes += bytes;
      this.seq = Math.max(this.seq, Number(/\d+/.exec(f)![0]) + 1);
    }
  }

  append(item: QueuedEntry): boolean {
    const line = `${JSON.stringify({ entry: item.entry, meta: item.meta })}\n`;
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes) return false;
    let seg = this.segments.at(-1);
    if (!seg || seg.count >= this.segmentEntries) {
      seg = { file: join(this.dir, `segment-${String(this.seq++).padStart(10, '0')}.jsonl`), count: 0, bytes: 0 };
      this.segments.push(seg);
    }
    appendFileSync(seg.file, line);
    seg.count++;
    seg.bytes += size;
    this.depth++;
    this.bytes += size;
    return true;
  }

  takeSegment(): QueuedEntry[] {
    const seg = this.segments.shift();
    if (!seg) return [];
    const items = readFileSync(seg.file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const { entry, meta } = JSON.parse(l) as { entry: PutEventsEntry; meta: EntryMeta };
        return { entry, meta, size: entrySize(entry), attempts: 0, notBefore: 0 } satisfies QueuedEntry;
      });
    unlinkSync(seg.file);
    this.depth -= seg.count;
    this.bytes -= seg.bytes;
    return items;
  }

  deadLetter(meta: EntryMeta, entry: PutEventsEntry, reason: string): void {
    appendFileSync(join(this.dir, 'dead-letter.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), reason, meta, entry })}\n`);
    this.deadLettered++;
  }
}
