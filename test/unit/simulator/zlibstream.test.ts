/**
 * zlib-stream framing: both deflaters give one frame per message, each ending in the sync-flush
 * suffix, that inflate in order on a single context (how @discordjs/ws reads them).
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createMessageDeflater, syncDeflateAvailable } from '../../../local/simulator/zlibstream';

/** Inflates frame by frame on one context, as a gateway client does: each frame must yield exactly its message. */
async function inflateEach(frames: Buffer[]): Promise<string[]> {
  const inflate = zlib.createInflate();
  let parts: Buffer[] = [];
  inflate.on('data', (c: Buffer) => parts.push(c));
  const out: string[] = [];
  for (const f of frames) {
    await new Promise<void>((resolve) => {
      inflate.write(f);
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
    });
    out.push(Buffer.concat(parts).toString('utf8'));
    parts = [];
  }
  inflate.close();
  return out;
}

describe.each(['sync', 'stream'] as const)('zlib-stream deflater (%s)', (mode) => {
  it('frames every message on one context, in order, each ending in 00 00 ff ff', async () => {
    const d = createMessageDeflater(mode);
    const msgs = [
      JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 } }),
      ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ op: 0, s: i + 1, t: 'GUILD_MEMBER_ADD', d: { n: i } })),
      JSON.stringify({ op: 0, s: 51, t: 'GUILD_CREATE', d: { pad: 'x'.repeat(300_000) } }), // several output chunks
      JSON.stringify({ op: 11 }),
    ];
    const frames: Buffer[] = [];
    const all = new Promise<void>((resolve) => {
      msgs.forEach((m, i) =>
        d.write(m, (f) => {
          frames.push(f);
          if (i === msgs.length - 1) resolve();
        }),
      );
    });
    await all;
    d.close();
    expect(frames).toHaveLength(msgs.length);
    for (const f of frames) expect(f.readUInt32BE(f.length - 4)).toBe(0x0000ffff);
    expect(await inflateEach(frames)).toEqual(msgs);
  });
});

it('uses the synchronous deflater on this Node (its self-check passes)', () => {
  expect(syncDeflateAvailable()).toBe(true);
});
