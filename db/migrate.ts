/**
 * Applies db/migrations/*.sql in name order, each once, in its own transaction, as the owner role.
 * Used by `npm run db:migrate` locally, by the tests, and by the deploy-time migration step in AWS.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type ClientConfig } from 'pg';

export const MIGRATIONS_DIR = join(__dirname, 'migrations');
export const LOCAL_OWNER_URL = 'postgres://gateway_owner:gateway_owner@127.0.0.1:5432/gateway_proxy';

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(conn: string | ClientConfig = process.env.MIGRATION_DATABASE_URL ?? LOCAL_OWNER_URL, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const client = new Client(typeof conn === 'string' ? { connectionString: conn } : conn);
  await client.connect();
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    // one migrator at a time (a session lock on a direct connection, never through RDS Proxy)
    await client.query('SELECT pg_advisory_lock(72707370)');
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const f of files) {
      if (done.has(f)) {
        result.alreadyApplied.push(f);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(readFileSync(join(dir, f), 'utf8'));
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [f]);
        await client.query('COMMIT');
        result.applied.push(f);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${f} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.end();
  }
  return result;
}
