/**
 * Serves @discordjs/ws's per-dispatch `retrieveSessionInfo` / `updateSessionInfo` from memory, and
 * writes the durable resume point to Redis behind them: session id, resume URL, and as seq the
 * watermark (the highest seq below which EventBridge accepted everything), never the latest seq
 * received (DESIGN.md section 3). A new process loads it and RESUMEs; Discord replays the rest.
 */
import type { SessionInfo } from '@discordjs/ws';
import type Redis from 'ioredis';
import type { WatermarkTracker } from '../publish/watermark';

export interface PersistedSession {
  sessionId: string;
  sequence: number;
  resumeURL: string;
  shardCount: number;
  savedAt: number;
}

export class SessionStore {
  private readonly mem = new Map<number, SessionInfo>();
  private readonly persisted = new Map<number, string>();
  /** while shutting down, the library's "forget the session" calls are ignored: the session must stay resumable */
  keepOnDestroy = false;
  writes = 0;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly keyPrefix: string,
    private readonly watermarks: WatermarkTracker,
  ) {}

  key(shardId: number): string {
    return `${this.keyPrefix}:shard:${shardId}`;
  }

  /** Loads the persisted resume points of these shards into memory (startup). */
  async load(shardIds: number[]): Promise<Map<number, PersistedSession>> {
    const out = new Map<number, PersistedSession>();
    if (!this.redis) return out;
    for (const id of shardIds) {
      const raw = await this.redis.get(this.key(id));
      if (!raw) continue;
      const p = JSON.parse(raw) as PersistedSession;
      out.set(id, p);
      this.persisted.set(id, raw);
      this.mem.set(id, { sessionId: p.sessionId, sequence: p.sequence, resumeURL: p.resumeURL, shardCount: p.shardCount, shardId: id });
    }
    return out;
  }

  retrieve(shardId: number): SessionInfo | null {
    return this.mem.get(shardId) ?? null;
  }

  update(shardId: number, info: SessionInfo | null): void {
    if (info) this.mem.set(shardId, info);
    else if (!this.keepOnDestroy) this.mem.delete(shardId);
  }

  /** Writes each shard's resume point if it changed. */
  async flush(): Promise<void> {
    if (!this.redis) return;
    for (const [shardId, info] of this.mem) {
      const wm = this.watermarks.get(shardId);
      // nothing received in this session yet (e.g. just loaded): keep what is stored
      if (!wm || wm.sessionId !== info.sessionId) continue;
      const p: PersistedSession = { sessionId: info.sessionId, sequence: wm.seq, resumeURL: info.resumeURL, shardCount: info.shardCount, savedAt: Date.now() };
      const raw = JSON.stringify({ ...p, savedAt: 0 });
      if (this.persisted.get(shardId) === raw) continue;
      await this.redis.set(this.key(shardId), JSON.stringify(p), 'EX', 7 * 86_400);
      this.persisted.set(shardId, raw);
      this.writes++;
    }
  }
}
