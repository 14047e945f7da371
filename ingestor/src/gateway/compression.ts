/**
 * The gateway's zlib-stream inflater: zlib-sync, the native addon @discordjs/ws supports (maintained
 * by the discord.js team). It inflates each frame synchronously, in arrival order, on the main thread;
 * node:zlib's stream costs far more CPU per event and lost events under CPU pressure in our tests
 * (docs/benchmarks.md, docs/ingestor.md), so startup fails when zlib-sync does not load. The image
 * builds it for its own architecture (ingestor/Dockerfile).
 */
import { CompressionMethod } from '@discordjs/ws';
import { errorText } from '../../../shared/error-text';

/** Checks that zlib-sync loads; the method for @discordjs/ws. */
// a synchronous, optional native module: require() is how it is probed without making the import fatal
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadZlibSync = (): unknown => require('zlib-sync');

export function zlibSyncCompression(load: () => unknown = loadZlibSync): CompressionMethod {
  let z: { Inflate?: unknown };
  try {
    z = load() as { Inflate?: unknown };
  } catch (err) {
    throw new Error(`zlib-sync does not load (${errorText(err).split('\n')[0] ?? ''}): it inflates the gateway's zlib-stream; install it with npm ci (it builds a native addon: needs python3, make and a C++ compiler) or use the ingestor image`, { cause: err });
  }
  if (typeof z.Inflate !== 'function') throw new Error('zlib-sync loaded but has no Inflate class: reinstall zlib-sync (npm ci)');
  return CompressionMethod.ZlibSync;
}
