import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');

describe('ingestor image', () => {
  it('builds the zlib-sync version package.json pins, and the bundle leaves it external', () => {
    const pinned = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['zlib-sync'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const dockerfile = readFileSync(join(root, 'ingestor', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`zlib-sync@${pinned} `);
    expect(dockerfile).toContain('COPY --from=native /build/node_modules ./node_modules');
    expect(readFileSync(join(root, 'ingestor', 'build.sh'), 'utf8')).toContain('--external:zlib-sync');
  });

  it('bundles to ASCII only, so V8 holds the 3 MB source one byte per character (one non-ASCII character anywhere, even in a comment, doubled it to 8.5 MiB of heap)', () => {
    execFileSync('bash', [join(root, 'ingestor', 'build.sh')], { stdio: 'ignore' });
    const bundle = readFileSync(join(root, 'ingestor', 'dist', 'main.js'));
    const firstNonAscii = bundle.findIndex((b) => b > 0x7f);
    expect(firstNonAscii, firstNonAscii >= 0 ? bundle.subarray(Math.max(0, firstNonAscii - 60), firstNonAscii + 20).toString('utf8') : '').toBe(-1);
    // the license comments esbuild takes out of the bundle ship next to it (COPY dist/)
    expect(existsSync(join(root, 'ingestor', 'dist', 'main.js.LEGAL.txt'))).toBe(true);
  }, 60_000);
});
