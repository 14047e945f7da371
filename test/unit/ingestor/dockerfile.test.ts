import { readFileSync } from 'node:fs';
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
});
