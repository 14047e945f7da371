/**
 * Which zlib-stream inflater @discordjs/ws uses.
 *
 * zlib-sync (the native addon @discordjs/ws supports, maintained by the discord.js team) inflates
 * each frame synchronously, in arrival order, on the main thread. It is required by default:
 * - node:zlib's stream does each frame as a thread-pool job with its callbacks and promise: about
 *   25 times the CPU per 500 B event here (docs/benchmarks.md);
 * - with node:zlib, test/integration/ingestor.test.ts failed under CPU pressure (two busy loops on the
 *   2-core machine): events the simulator sent were never published and a shard stayed not-ready
 *   after its resume, while the same tests passed with zlib-sync. The loss is inside @discordjs/ws
 *   2.0.4's node:zlib path (cf. discord.js issue #10414); we did not root-cause it further.
 * So GATEWAY_INFLATE=node exists only to compare (npm run bench), and says so loudly at startup.
 * The image builds zlib-sync for its own architecture (ingestor/Dockerfile).
 */
import { CompressionMethod } from '@discordjs/ws';

export interface CompressionChoice {
  method: CompressionMethod;
  name: 'zlib-sync' | 'node:zlib';
  /** set when the choice is not the safe one */
  warning?: string;
}

export function chooseCompression(prefer: 'zlib-sync' | 'node' = 'zlib-sync', load: () => unknown = () => require('zlib-sync')): CompressionChoice {
  if (prefer === 'node') {
    return {
      method: CompressionMethod.ZlibNative,
      name: 'node:zlib',
      warning: 'GATEWAY_INFLATE=node: inflating with node:zlib, which lost events under CPU pressure in our tests; for benchmarks only, unset it in production',
    };
  }
  let z: { Inflate?: unknown };
  try {
    z = load() as { Inflate?: unknown };
  } catch (err) {
    throw new Error(`zlib-sync does not load (${(err as Error).message.split('\n')[0]}): it inflates the gateway's zlib-stream; install it with npm ci (it builds a native addon: needs python3, make and a C++ compiler) or use the ingestor image`);
  }
  if (typeof z?.Inflate !== 'function') throw new Error('zlib-sync loaded but has no Inflate class: reinstall zlib-sync (npm ci)');
  return { method: CompressionMethod.ZlibSync, name: 'zlib-sync' };
}
