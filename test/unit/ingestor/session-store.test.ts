import type { SessionInfo } from '@discordjs/ws';
import { describe, expect, it } from 'vitest';
import { parsePersistedSession, RESUME_URL_ATTEMPTS, SessionStore } from '../../../ingestor/src/gateway/session-store';
import { WatermarkTracker } from '../../../ingestor/src/publish/watermark';

const info = (sessionId = 's1', sequence = 10): SessionInfo => ({ sessionId, sequence, resumeURL: 'wss://resume.example', shardCount: 2, shardId: 0 });

/** A Redis with just what the store calls, holding values in a map. */
function fakeRedis(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    data,
    redis: {
      mget: (keys: string[]) => Promise.resolve(keys.map((k) => data.get(k) ?? null)),
      set: (k: string, v: string) => {
        data.set(k, v);
        return Promise.resolve();
      },
      del: (k: string) => {
        data.delete(k);
        return Promise.resolve();
      },
    },
  };
}

function store(initial: Record<string, string> = {}) {
  const logs: Array<{ level: string; msg: string }> = [];
  const w = new WatermarkTracker();
  const f = fakeRedis(initial);
  const s = new SessionStore(f.redis as never, 'gw', w, (level, msg) => logs.push({ level, msg }));
  return { s, w, logs, data: f.data };
}

describe('SessionStore', () => {
  it("keeps the session when the library gives up on a connection (updateSessionInfo(id, null)): only Discord's word ends it", () => {
    const { s } = store();
    s.update(0, info());
    s.update(0, null);
    s.update(0, null);
    expect(s.retrieve(0)).toMatchObject({ sessionId: 's1', sequence: 10 });
    s.forget(0, 'op 9 (invalid session, not resumable)');
    expect(s.retrieve(0)).toBeNull();
  });

  it(`resumes through the main gateway URL after ${RESUME_URL_ATTEMPTS} failed connects, and keeps the session's own resume URL once connected`, () => {
    const { s } = store();
    s.gatewayUrl = 'wss://gateway.example';
    s.update(0, info());
    for (let i = 0; i < RESUME_URL_ATTEMPTS - 1; i++) s.update(0, null);
    expect(s.retrieve(0)!.resumeURL).toBe('wss://resume.example');
    s.update(0, null);
    const fallback = s.retrieve(0)!;
    expect(fallback.resumeURL).toBe('wss://gateway.example');
    // the library hands back what it was given, with a newer seq: the stored URL stays the session's own
    s.update(0, { ...fallback, sequence: 11 });
    expect(s.retrieve(0)).toMatchObject({ resumeURL: 'wss://resume.example', sequence: 11 });
  });

  it('persists the watermark, never the latest seq received, and deletes what Discord ended', async () => {
    const { s, w, data } = store();
    s.update(0, info('s1', 20));
    for (const q of [18, 19, 20]) w.pending(0, 's1', q);
    w.accepted(0, 's1', 18);
    await s.flush();
    expect(JSON.parse(data.get('gw:shard:0')!)).toMatchObject({ sessionId: 's1', sequence: 18, resumeURL: 'wss://resume.example' });
    s.forget(0, 'close 4007');
    await s.flush();
    expect(data.has('gw:shard:0')).toBe(false);
  });

  it('treats a corrupt or foreign stored value as absent, with a log line, and loads a good one', async () => {
    const good = JSON.stringify({ sessionId: 's9', sequence: 5, resumeURL: 'wss://r', shardCount: 2, savedAt: 1 });
    const { s, logs } = store({ 'gw:shard:0': '{"sessionId": 12, "junk', 'gw:shard:1': JSON.stringify({ sessionId: 's', sequence: -1 }), 'gw:shard:2': good });
    const loaded = await s.load([0, 1, 2, 3]);
    expect([...loaded.keys()]).toEqual([2]);
    expect(s.retrieve(0)).toBeNull();
    expect(s.retrieve(2)).toMatchObject({ sessionId: 's9', sequence: 5, shardId: 2 });
    expect(logs.filter((l) => l.msg.includes('unreadable'))).toHaveLength(2);
    expect(parsePersistedSession('null')).toMatchObject({ ok: false });
  });

  it('writes a session READY started at once, before any of its events is published (a crash right after READY still RESUMEs)', async () => {
    const { s, data } = store();
    let asked = 0;
    s.onNewSession = () => asked++;
    s.update(0, info('fresh', 1)); // READY is seq 1
    s.update(0, info('fresh', 9)); // later dispatches of the same session ask nothing
    expect(asked).toBe(1);
    await s.flush();
    // nothing of the session is published yet: a RESUME from seq 0 replays all of it
    expect(JSON.parse(data.get('gw:shard:0')!)).toMatchObject({ sessionId: 'fresh', sequence: 0 });
  });
});
