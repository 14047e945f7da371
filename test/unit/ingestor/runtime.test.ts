import { describe, expect, it } from 'vitest';
import { checkBufferFitsHeap } from '../../../ingestor/src/runtime';
import { ingestorNodeOptions } from '../../../lib/contract';

describe('ingestor runtime flags', () => {
  it('bounds the old space to half the task memory (the young generation keeps its default: 2 MiB cost 30 % throughput)', () => {
    expect(ingestorNodeOptions(512)).toBe('--max-old-space-size=256');
    expect(ingestorNodeOptions(2048)).toBe('--max-old-space-size=1024');
  });

  it('refuses a memory buffer larger than a quarter of the heap limit, saying what to change', () => {
    const heap = 256 * 1048576;
    expect(checkBufferFitsHeap(32 * 1048576, heap)).toBeUndefined();
    expect(checkBufferFitsHeap(64 * 1048576, heap)).toBeUndefined();
    expect(checkBufferFitsHeap(65 * 1048576, heap)).toBe(
      'BUFFER_MAX_BYTES=68157440 (65 MiB) is more than a quarter of the V8 heap limit (256 MiB): lower BUFFER_MAX_BYTES (past it events spool to disk) or give the task more memory / raise --max-old-space-size in NODE_OPTIONS',
    );
  });
});
