import { CompressionMethod } from '@discordjs/ws';
import { describe, expect, it } from 'vitest';
import { chooseCompression } from '../../../ingestor/src/gateway/compression';

describe('chooseCompression', () => {
  it('uses zlib-sync (a dependency, built by npm ci)', () => {
    expect(chooseCompression()).toEqual({ method: CompressionMethod.ZlibSync, name: 'zlib-sync' });
  });

  it('stops startup with what to do when zlib-sync does not load, instead of falling back to node:zlib', () => {
    const missing = () => {
      throw new Error("Cannot find module 'zlib-sync'\nRequire stack: ...");
    };
    expect(() => chooseCompression('zlib-sync', missing)).toThrow("zlib-sync does not load (Cannot find module 'zlib-sync'): it inflates the gateway's zlib-stream; install it with npm ci");
    expect(() => chooseCompression('zlib-sync', () => ({}))).toThrow('zlib-sync loaded but has no Inflate class');
  });

  it('uses node:zlib only when asked, with a warning', () => {
    expect(chooseCompression('node')).toMatchObject({ method: CompressionMethod.ZlibNative, name: 'node:zlib', warning: expect.stringContaining('for benchmarks only') });
  });
});
