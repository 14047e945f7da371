/**
 * Node's flags for the ingestor's container, from the task's memory. V8 otherwise lets the heap grow
 * far past the live data during a GUILD_CREATE burst (10,000 guilds on 4 shards: 45 MiB of live heap
 * after the burst, 396 MiB peak RSS with default flags, 261 MiB with the bound for a 512 MiB task;
 * docs/benchmarks.md), and a Fargate task that exceeds its memory is killed. Half the task memory for
 * the old space keeps room for code, buffers outside the heap and the young generation. The young
 * generation keeps its default size: --max-semi-space-size=2 saved ~20 MiB of peak but cost ~30 % of
 * throughput (more scavenges at 10,000 events/s).
 *
 * No --enable-source-maps: it keeps the bundle's parsed source map on the heap, about 60 MiB (heap in
 * use after a full GC: 98 MiB with it, 33-45 MiB without). The bundle keeps its identifiers (only
 * whitespace is minified, ingestor/build.sh), so stack traces name the functions;
 * ingestor/dist/main.js.map is still built for `node --enable-source-maps` when debugging.
 */
import { getHeapStatistics } from 'node:v8';

export function ingestorNodeOptions(memoryLimitMiB: number): string {
  return `--max-old-space-size=${Math.floor(memoryLimitMiB / 2)}`;
}

/**
 * glibc malloc settings for the ingestor's container (the image is Debian, glibc). By default glibc
 * raises its mmap threshold after freeing a large block, so later large buffers (GUILD_CREATE frames,
 * inflated payloads, request bodies) come from the main heap, which fragments and is not given back:
 * after the 10,000-guild burst and a full GC, RSS stayed at 115-149 MiB run to run with 25-36 MiB of
 * it free malloc memory. Fixed thresholds (buffers of 64 KiB and more mmapped and returned on free,
 * the heap's free top trimmed past 128 KiB) gave 84-86 MiB in three runs, with throughput unchanged
 * within run-to-run noise (500 B events: 21.7-30.3k vs 20.9-22.2k events/s/core; docs/benchmarks.md).
 * musl (Alpine) ignores these variables.
 */
export function ingestorMallocEnv(): Record<string, string> {
  return { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' };
}

/** BUFFER_MAX_BYTES must leave the heap room for everything else: at most a quarter of V8's limit. */
export function checkBufferFitsHeap(bufferMaxBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): string | undefined {
  if (bufferMaxBytes <= heapLimitBytes / 4) return undefined;
  const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
  return `BUFFER_MAX_BYTES=${bufferMaxBytes} (${mib(bufferMaxBytes)}) is more than a quarter of the V8 heap limit (${mib(heapLimitBytes)}): lower BUFFER_MAX_BYTES (past it events spool to disk) or give the task more memory / raise --max-old-space-size in NODE_OPTIONS`;
}
