/**
 * Checks of the process the ingestor runs in. The container's Node flags and malloc settings are
 * part of the contract with the CDK task (lib/contract/ingestor-runtime.ts).
 */
import { getHeapStatistics } from 'node:v8';

/** BUFFER_MAX_BYTES must leave the heap room for everything else: at most a quarter of V8's limit. */
export function checkBufferFitsHeap(bufferMaxBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): string | undefined {
  if (bufferMaxBytes <= heapLimitBytes / 4) return undefined;
  const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
  return `BUFFER_MAX_BYTES=${bufferMaxBytes} (${mib(bufferMaxBytes)}) is more than a quarter of the V8 heap limit (${mib(heapLimitBytes)}): lower BUFFER_MAX_BYTES (past it events spool to disk) or give the task more memory / raise --max-old-space-size in NODE_OPTIONS`;
}
