/**
 * Discord's published OpenAPI spec as zod schemas (the `discord-api-spec` package, generated from
 * github.com/discord/discord-api-spec). The package is ESM-only, so it is loaded with import(), once.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ZodMiniType } from 'zod/mini';

/** The spec's schemas by name, e.g. `MessageCreateRequestSchema`. */
export type SpecSchemas = Record<string, ZodMiniType>;

let loading: Promise<SpecSchemas> | undefined;

export function loadSpec(): Promise<SpecSchemas> {
  loading ??= (import('discord-api-spec/zod') as Promise<SpecSchemas>).catch((err: unknown) => {
    loading = undefined;
    throw new Error(`cannot load Discord's API spec (${err instanceof Error ? err.message : String(err)}): run npm install (discord-api-spec is a devDependency)`);
  });
  return loading;
}

/** A schema of the spec by name; throws naming it when a spec update renamed or dropped it. */
export function schema(spec: SpecSchemas, name: string): ZodMiniType {
  const s = spec[name];
  if (!s) throw new Error(`discord-api-spec ${specVersion()} has no ${name}: the spec changed, update local/simulator/rest to its new schema names`);
  return s;
}

let version: string | undefined;

/** The installed discord-api-spec version (its exports hide package.json, so it is read from disk). */
export function specVersion(): string {
  if (version) return version;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      return (version = (JSON.parse(readFileSync(join(dir, 'node_modules', 'discord-api-spec', 'package.json'), 'utf8')) as { version: string }).version);
    } catch {
      if (dirname(dir) === dir) return 'not installed';
    }
  }
}
