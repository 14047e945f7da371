import { CompressionMethod } from '@discordjs/ws';
import { describe, expect, it } from 'vitest';
import { zlibSyncCompression } from '../../../ingestor/src/gateway/compression';

describe('zlibSyncCompression', () => {
  it('uses zlib-sync (a dependency, built by npm ci)', () => {
    expect(zlibSyncCompression()).toBe(CompressionMethod.ZlibSync);
  });

  it('stops startup with what to do when zlib-sync does not load, instead of falling back to node:zlib', () => {
    const missing = () => {
      throw new Error("Cannot find module 'zlib-sync'\nRequire stack: ...");
    };
    expect(() => zlibSyncCompression(missing)).toThrow("zlib-sync does not load (Cannot find module 'zlib-sync'): it inflates the gateway's zlib-stream; install it with npm ci");
    expect(() => zlibSyncCompression(() => ({}))).toThrow('zlib-sync loaded but has no Inflate class');
  });
});
