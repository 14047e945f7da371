/**
 * How the ingestor's container runs Node: shared by the CDK task definition (lib/constructs) and the
 * benchmark that runs the bundle the same way. Pure functions with no imports, so lib/ never reaches
 * into ingestor/src. The measurements behind each setting: docs/ingestor.md (Memory) and
 * docs/benchmarks.md.
 */

/**
 * NODE_OPTIONS from the task's memory. V8 otherwise lets the heap grow far past the live data during a
 * GUILD_CREATE burst, and a Fargate task that exceeds its memory is killed; half the task memory for
 * the old space leaves room for code, buffers outside the heap and the young generation (kept at its
 * default size, which throughput needs).
 *
 * No --enable-source-maps: it keeps the bundle's parsed source map on the heap. The bundle keeps its
 * identifiers (ingestor/build.sh minifies whitespace only), so stack traces still name the functions.
 */
export function ingestorNodeOptions(memoryLimitMiB: number): string {
  return `--max-old-space-size=${Math.floor(memoryLimitMiB / 2)}`;
}

/**
 * glibc malloc settings for the container (the image is Debian, glibc). By default glibc raises its
 * mmap threshold after freeing a large block, so later large buffers (GUILD_CREATE frames, inflated
 * payloads, request bodies) come from the main heap, which fragments and is not given back. Fixed
 * thresholds (64 KiB and larger buffers mmapped and returned on free, the heap's free top trimmed
 * past 128 KiB) keep the resident size close to what is in use. musl (Alpine) ignores them.
 */
export function ingestorMallocEnv(): Record<string, string> {
  return { MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' };
}

/**
 * The name prefix of the token secrets of applications added at run time (`npm run apps -- add
 * --token-secret-arn`): the ingestor's task role and the bot-token workers may read any secret whose
 * name starts with it, so adding an application needs no deploy.
 */
export const APP_TOKEN_SECRET_PREFIX = 'discord-gateway-proxy/app-tokens/';
