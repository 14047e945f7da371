/**
 * Serves @discordjs/ws's per-dispatch `retrieveSessionInfo` / `updateSessionInfo` from memory, and
 * writes the durable resume point to Redis behind them: session id, resume URL, and as seq the
 * watermark (the highest seq below which EventBridge accepted or durably dead-lettered everything),
 * never the latest seq received (DESIGN.md section 3). A new process loads it and RESUMEs; Discord
 * replays the rest.
 *
 * A session is forgotten only when Discord says so (`forget`: op 9 with d: false, close 4007 or
 * 4009). The library also calls `updateSessionInfo(id, null)` after a failed reconnect, a hello or
 * ready timeout, or a close of its own; that is not Discord's word, and the session stays, so the
 * next connect RESUMEs and Discord replays what it queued. After RESUME_URL_ATTEMPTS such failures
 * in a row the resume goes through the main gateway URL instead of the session's resume URL (a
 * resume URL can go away with its gateway node); if Discord refuses it there, it says so with op 9.
 */
import type { SessionInfo } from '@discordjs/ws';
import type Redis from 'ioredis';
import { z } from 'zod';
import type { WatermarkTracker } from '../publish/watermark';

export const PersistedSessionSchema = z.object({
  sessionId: z.string().min(1),
  sequence: z.number().int().nonnegative(),
  resumeURL: z.string().regex(/^wss?:\/\//, 'expected a ws:// or wss:// URL'),
  shardCount: z.number().int().positive(),
  savedAt: z.number(),
});
export type PersistedSession = z.infer<typeof PersistedSessionSchema>;

/** consecutive failed connects to a session's resume URL before resuming through the main gateway URL */
export const RESUME_URL_ATTEMPTS = 3;

export type SessionLog = (level: 'info' | 'warn', msg: string, extra: Record<string, unknown>) => void;

/**
 * How the resume point reaches Redis: fenced by the shard's lease (a task that lost the lease writes
 * nothing); false when the write was refused.
 */
export interface SessionWriter {
  set(shardId: number, key: string, value: string, ttlSeconds: number): Promise<boolean>;
  del(shardId: number, key: string): Promise<boolean>;
}

/** A stored value, validated: anything else (corrupt, foreign, an older format) is absent. */
export function parsePersistedSession(raw: string): { ok: true; value: PersistedSession } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const r = PersistedSessionSchema.safeParse(json);
  if (!r.success) return { ok: false, problem: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, value: r.data };
}

export class SessionStore {
  private readonly mem = new Map<number, SessionInfo>();
  private readonly persisted = new Map<number, string>();
  private readonly forgotten = new Set<number>();
  /** connects that failed in a row, per shard (the library's update(null) calls) */
  private readonly failures = new Map<number, number>();
  /** sessions READY started that are not in Redis yet: written at once, before any event of theirs is published */
  private readonly fresh = new Map<number, number>();
  private flushing: Promise<void> = Promise.resolve();
  /** the main gateway URL (GET /gateway/bot), the resume fallback */
  gatewayUrl: string | undefined;
  /** told when a new session needs writing now (a crash before the next periodic flush must still RESUME it) */
  onNewSession: (() => void) | undefined;
  writes = 0;

  /** resume-point writes a lease refused (this task no longer owns the shard) */
  fencedOut = 0;
  private readonly writer: SessionWriter | undefined;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly keyPrefix: string,
    private readonly watermarks: WatermarkTracker,
    private readonly log: SessionLog,
    writer?: SessionWriter,
  ) {
    this.writer =
      writer ??
      (redis
        ? {
            set: async (_id, key, value, ttl) => {
              await redis.set(key, value, 'EX', ttl);
              return true;
            },
            del: async (_id, key) => (await redis.del(key), true),
          }
        : undefined);
  }

  key(shardId: number): string {
    return `${this.keyPrefix}:shard:${shardId}`;
  }

  /** Loads the persisted resume points of these shards into memory (startup). */
  async load(shardIds: number[]): Promise<Map<number, PersistedSession>> {
    const out = new Map<number, PersistedSession>();
    if (!this.redis || shardIds.length === 0) return out;
    const raws = await this.redis.mget(shardIds.map((id) => this.key(id)));
    shardIds.forEach((id, i) => {
      const raw = raws[i];
      if (!raw) return;
      const p = parsePersistedSession(raw);
      if (!p.ok) {
        this.log('warn', 'the stored resume point is unreadable: treated as absent, the shard identifies anew', { shardId: id, key: this.key(id), problem: p.problem });
        return;
      }
      out.set(id, p.value);
      this.persisted.set(id, raw);
      this.mem.set(id, { sessionId: p.value.sessionId, sequence: p.value.sequence, resumeURL: p.value.resumeURL, shardCount: p.value.shardCount, shardId: id });
    });
    return out;
  }

  retrieve(shardId: number): SessionInfo | null {
    const info = this.mem.get(shardId);
    if (!info) return null;
    if ((this.failures.get(shardId) ?? 0) >= RESUME_URL_ATTEMPTS && this.gatewayUrl) return { ...info, resumeURL: this.gatewayUrl };
    return info;
  }

  sessionId(shardId: number): string {
    return this.mem.get(shardId)?.sessionId ?? 'unknown';
  }

  update(shardId: number, info: SessionInfo | null): void {
    // null is the library giving up on a connection, not Discord ending the session: keep it
    if (!info) {
      const n = (this.failures.get(shardId) ?? 0) + 1;
      this.failures.set(shardId, n);
      if (n === RESUME_URL_ATTEMPTS && this.mem.has(shardId)) this.log('warn', 'the resume URL failed several times: resuming through the main gateway URL', { shardId, failures: n });
      return;
    }
    this.failures.delete(shardId);
    // the library hands back what retrieve() gave it, fallback URL included: keep the session's own
    const known = this.mem.get(shardId);
    if (known?.sessionId !== info.sessionId) {
      // the resume point before the session's first event (READY)
      this.fresh.set(shardId, Math.max(0, info.sequence - 1));
      this.onNewSession?.();
    }
    this.mem.set(shardId, known && known.sessionId === info.sessionId && info.resumeURL === this.gatewayUrl ? { ...info, resumeURL: known.resumeURL } : info);
    this.forgotten.delete(shardId);
  }

  /** Discord ended the session (op 9 d: false, close 4007/4009): the next connect identifies. */
  forget(shardId: number, why: string): void {
    if (!this.mem.has(shardId)) return;
    this.mem.delete(shardId);
    this.failures.delete(shardId);
    this.fresh.delete(shardId);
    this.forgotten.add(shardId);
    this.log('info', 'Discord ended the session: the shard identifies anew', { shardId, why });
  }

  /** This task no longer holds the shard: forget it here, write nothing more for it. */
  drop(shardId: number): void {
    this.mem.delete(shardId);
    this.persisted.delete(shardId);
    this.failures.delete(shardId);
    this.fresh.delete(shardId);
    this.forgotten.delete(shardId);
  }

  /** Loads one shard's resume point (a lease just taken). */
  async loadOne(shardId: number): Promise<PersistedSession | undefined> {
    this.drop(shardId);
    return (await this.load([shardId])).get(shardId);
  }

  /** Writes each shard's resume point if it changed (or only `only`); removes the ones Discord ended. One write pass at a time. */
  flush(only?: number): Promise<void> {
    this.flushing = this.flushing.then(
      () => this.write(only),
      () => this.write(only),
    );
    return this.flushing;
  }

  private async write(only?: number): Promise<void> {
    const w = this.writer;
    if (!w) return;
    for (const shardId of [...this.forgotten]) {
      if (only !== undefined && shardId !== only) continue;
      if (!(await w.del(shardId, this.key(shardId)))) this.fencedOut++;
      this.persisted.delete(shardId);
      this.forgotten.delete(shardId);
    }
    for (const [shardId, info] of this.mem) {
      if (only !== undefined && shardId !== only) continue;
      const wm = this.watermarks.get(shardId);
      let sequence: number;
      if (wm && wm.sessionId === info.sessionId) sequence = wm.seq;
      else {
        // a session READY just started: before its first event (READY's own seq), nothing is published
        // yet; nothing received in this session at all (e.g. just loaded): keep what is stored
        const fresh = this.fresh.get(shardId);
        if (fresh === undefined) continue;
        sequence = fresh;
      }
      this.fresh.delete(shardId);
      const p: PersistedSession = { sessionId: info.sessionId, sequence, resumeURL: info.resumeURL, shardCount: info.shardCount, savedAt: Date.now() };
      const raw = JSON.stringify({ ...p, savedAt: 0 });
      if (this.persisted.get(shardId) === raw) continue;
      if (!(await w.set(shardId, this.key(shardId), JSON.stringify(p), 7 * 86_400))) {
        this.fencedOut++;
        continue;
      }
      this.persisted.set(shardId, raw);
      this.writes++;
    }
  }
}
