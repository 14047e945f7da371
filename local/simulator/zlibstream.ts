/**
 * zlib-stream transport compression as Discord does it: one deflate context per connection, every
 * message compressed on it and ended with Z_SYNC_FLUSH (so each frame ends in 00 00 ff ff and the
 * client inflates frames in order on one inflate context).
 * https://discord.com/developers/docs/events/gateway#zlibstream
 *
 * Node's zlib streams do each write on the thread pool, about 100-200 µs per message, which caps a
 * shard near 5,000-8,000 messages/s: the simulator would be the bottleneck of a load test. Node has no
 * public synchronous API that keeps a context across calls, so the fast path drives the stream's own
 * zlib handle synchronously, the same loop Node's `zlib.deflateSync` runs (lib/zlib.js
 * processChunkSync) without closing the handle at the end. It is checked once at startup (round trip
 * through a real inflate); if this Node's internals differ, the stream path is used instead.
 */
import * as zlib from 'node:zlib';

const { Z_SYNC_FLUSH } = zlib.constants;

export interface MessageDeflater {
  /** Compresses one message and hands the frame to `out`, in call order (synchronously on the fast path). */
  write(message: string, out: (frame: Buffer) => void): void;
  close(): void;
}

interface ZlibInternals {
  _handle: { writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void } | null;
  _writeState: Uint32Array;
  _outBuffer: Buffer;
  _outOffset: number;
  _chunkSize: number;
}

/** Synchronous: Node's processChunkSync loop, minus the final close. */
class SyncDeflater implements MessageDeflater {
  private readonly z = zlib.createDeflate();
  private readonly i = this.z as unknown as ZlibInternals;

  write(message: string, out: (frame: Buffer) => void): void {
    out(this.deflate(Buffer.from(message, 'utf8')));
  }

  deflate(chunk: Buffer): Buffer {
    const handle = this.i._handle;
    if (!handle) throw new Error('deflate context closed');
    const state = this.i._writeState;
    const chunkSize = this.i._chunkSize;
    let buffer = this.i._outBuffer;
    let offset = this.i._outOffset;
    let availInBefore = chunk.byteLength;
    let availOutBefore = chunkSize - offset;
    let inOff = 0;
    const parts: Buffer[] = [];
    for (;;) {
      handle.writeSync(Z_SYNC_FLUSH, chunk, inOff, availInBefore, buffer, offset, availOutBefore);
      // Node's write state: [avail_out, avail_in] after the call (two entries, always set)
      const availOutAfter = state[0] ?? 0;
      const availInAfter = state[1] ?? 0;
      const have = availOutBefore - availOutAfter;
      if (have > 0) {
        parts.push(buffer.subarray(offset, offset + have));
        offset += have;
      }
      if (availOutAfter === 0 || offset >= chunkSize) {
        availOutBefore = chunkSize;
        offset = 0;
        buffer = Buffer.allocUnsafe(chunkSize);
      }
      if (availOutAfter !== 0) break;
      // output buffer was full: more to come for the same input
      inOff += availInBefore - availInAfter;
      availInBefore = availInAfter;
    }
    this.i._outBuffer = buffer;
    this.i._outOffset = offset;
    // copy: the parts are views of a buffer the next message writes into
    return Buffer.concat(parts);
  }

  close(): void {
    this.z.close();
  }
}

/** Asynchronous: the public stream API, one write + Z_SYNC_FLUSH per message, frames in order. */
class StreamDeflater implements MessageDeflater {
  private readonly z = zlib.createDeflate({ chunkSize: 64 * 1024 });
  private pending: Buffer[] = [];

  constructor() {
    this.z.on('data', (c: Buffer) => this.pending.push(c));
    this.z.on('error', () => undefined);
  }

  write(message: string, out: (frame: Buffer) => void): void {
    this.z.write(message);
    this.z.flush(Z_SYNC_FLUSH, () => {
      const [first] = this.pending;
      const frame = this.pending.length === 1 && first ? first : Buffer.concat(this.pending);
      // a sync flush ends with 00 00 ff ff; should output arrive after the callback, hold it and send
      // it with the next message rather than a frame that cuts a message in two
      if (frame.length < 4 || frame.readUInt32BE(frame.length - 4) !== 0x0000ffff) {
        this.pending = [frame];
        return;
      }
      this.pending = [];
      out(frame);
    });
  }

  close(): void {
    this.z.close();
  }
}

let fastPathWorks: boolean | undefined;

/** Whether the synchronous path round-trips on this Node (checked once). */
export function syncDeflateAvailable(): boolean {
  if (fastPathWorks !== undefined) return fastPathWorks;
  try {
    const d = new SyncDeflater();
    const big = JSON.stringify({ pad: 'x'.repeat(200_000), n: Math.random() }); // larger than one output chunk
    const msgs = ['{"op":10}', big, '{"op":11}'];
    const frames = msgs.map((m) => d.deflate(Buffer.from(m)));
    d.close();
    const ok = frames.every((f) => f.readUInt32BE(f.length - 4) === 0x0000ffff);
    const text = zlib.inflateSync(Buffer.concat(frames), { finishFlush: Z_SYNC_FLUSH }).toString('utf8');
    fastPathWorks = ok && text === msgs.join('');
  } catch {
    fastPathWorks = false;
  }
  return fastPathWorks;
}

/** A deflater for one connection: the synchronous one when it works here, else the stream one. `mode` forces one. */
export function createMessageDeflater(mode: 'auto' | 'sync' | 'stream' = 'auto'): MessageDeflater {
  if (mode === 'stream' || (mode === 'auto' && !syncDeflateAvailable())) return new StreamDeflater();
  return new SyncDeflater();
}
