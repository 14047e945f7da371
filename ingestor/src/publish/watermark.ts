/**
 * The durable resume point of each shard: the highest seq below which every event of the current
 * session was accepted by EventBridge (or needed no publishing: filtered out). It never runs ahead of
 * what the bus accepted (DESIGN.md section 3), so a new process that RESUMEs from it loses nothing.
 */
interface SessionMarks {
  sessionId: string;
  /** seqs waiting for EventBridge, in arrival order (seqs increase within a session) */
  queue: number[];
  head: number;
  done: Set<number>;
  highest: number;
}

export interface Watermark {
  sessionId: string;
  seq: number;
}

export class WatermarkTracker {
  private readonly shards = new Map<number, SessionMarks>();
  /** pending seqs of sessions that were replaced, so late acceptances are ignored cleanly */
  private readonly retired = new Set<string>();

  private marks(shardId: number, sessionId: string): SessionMarks | undefined {
    let m = this.shards.get(shardId);
    if (!m || m.sessionId !== sessionId) {
      if (this.retired.has(sessionId)) return undefined;
      if (m) this.retired.add(m.sessionId);
      m = { sessionId, queue: [], head: 0, done: new Set(), highest: 0 };
      this.shards.set(shardId, m);
    }
    return m;
  }

  /** Every dispatch the shard received, published or not. */
  seen(shardId: number, sessionId: string, seq: number): void {
    const m = this.marks(shardId, sessionId);
    if (m && seq > m.highest) m.highest = seq;
  }

  /** A dispatch that must reach EventBridge before the watermark may pass it. */
  pending(shardId: number, sessionId: string, seq: number): void {
    const m = this.marks(shardId, sessionId);
    if (!m) return;
    m.queue.push(seq);
    if (seq > m.highest) m.highest = seq;
  }

  /** EventBridge accepted it (or it was dead-lettered with its reason). */
  accepted(shardId: number, sessionId: string, seq: number): void {
    const m = this.shards.get(shardId);
    if (!m || m.sessionId !== sessionId) return;
    // acceptances come mostly in order: the oldest pending seq just moves the head (no Set per event)
    if (m.queue[m.head] === seq) m.head++;
    else m.done.add(seq);
    for (let next = m.queue[m.head]; m.done.size > 0 && next !== undefined && m.done.has(next); next = m.queue[m.head]) {
      m.done.delete(next);
      m.head++;
    }
    if (m.head > 1024 && m.head * 2 > m.queue.length) {
      m.queue = m.queue.slice(m.head);
      m.head = 0;
    }
  }

  get(shardId: number): Watermark | undefined {
    const m = this.shards.get(shardId);
    if (!m) return undefined;
    const first = m.queue[m.head];
    return { sessionId: m.sessionId, seq: first === undefined ? m.highest : first - 1 };
  }

  /** This task no longer holds the shard: drop what it tracked. */
  forgetShard(shardId: number): void {
    const m = this.shards.get(shardId);
    if (m) this.retired.add(m.sessionId);
    this.shards.delete(shardId);
  }

  pendingCount(shardId?: number): number {
    let n = 0;
    for (const [id, m] of this.shards) if (shardId === undefined || id === shardId) n += m.queue.length - m.head;
    return n;
  }
}
