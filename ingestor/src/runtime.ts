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
 * use after a full GC: 98 MiB with it, 33-45 MiB without). The bundle is not minified, so stack
 * traces name the functions; ingestor/dist/main.js.map is still built for `node --enable-source-maps`
 * when debugging.
 */
import { getHeapStatistics } from 'node:v8';

export function ingestorNodeOptions(memoryLimitMiB: number): string {
  return `--max-old-space-size=${Math.floor(memoryLimitMiB / 2)}`;
}

/** BUFFER_MAX_BYTES must leave the heap room for everything else: at most a quarter of V8's limit. */
export function checkBufferFitsHeap(bufferMaxBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): string | undefined {
  if (bufferMaxBytes <= heapLimitBytes / 4) return undefined;
  const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
  return `BUFFER_MAX_BYTES=${bufferMaxBytes} (${mib(bufferMaxBytes)}) is more than a quarter of the V8 heap limit (${mib(heapLimitBytes)}): lower BUFFER_MAX_BYTES (past it events spool to disk) or give the task more memory / raise --max-old-space-size in NODE_OPTIONS`;
}
