/**
 * The one migration entry point: applies db/migrations/*.sql in name order, each once, in its own
 * transaction, one migrator at a time. Three ways in, one code path:
 * - `npm run db:migrate` runs this file: MIGRATION_DATABASE_URL, or the local owner by default;
 * - the deploy-time custom resource (lib/constructs/database-migrations.ts bundles this file, `handler`):
 *   the instance's admin secret (ADMIN_SECRET_ARN, DB_NAME) over a direct TLS connection, never through
 *   RDS Proxy (the migrator holds a session advisory lock); 000_worker_role creates the worker role;
 * - tests and the local pipeline call `migrate()`.
 * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Client, type ClientConfig } from 'pg';
import { z } from 'zod';
import { awsDatabaseCa } from '../lambdas/shared/aws';
import { readSecretString, type SecretsReader } from '../shared/secrets';

/** beside this file in the repository, and beside the bundle in the migrator Lambda (copied there by the construct) */
export const MIGRATIONS_DIR = join(__dirname, 'migrations');
export const LOCAL_OWNER_URL = 'postgres://gateway_owner:gateway_owner@127.0.0.1:5432/gateway_proxy';

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(conn: string | ClientConfig = process.env.MIGRATION_DATABASE_URL ?? LOCAL_OWNER_URL, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
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
        throw new Error(`migration ${f} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  } finally {
    await client.end();
  }
  return result;
}

/** The fields of the admin secret RDS generates for an instance. */
const AdminSecret = z.object({ username: z.string().min(1), password: z.string().min(1), host: z.string().min(1), port: z.coerce.number().int() });

/** The admin connection of the deployed instance, from its secret: TLS with the RDS CAs. */
export async function adminConnection(env: Record<string, string | undefined>, sm: SecretsReader): Promise<ClientConfig> {
  const arn = env.ADMIN_SECRET_ARN;
  if (!arn) throw new Error('ADMIN_SECRET_ARN is not set: the migrator needs the ARN of the instance admin secret');
  const parsed = AdminSecret.safeParse(JSON.parse(await readSecretString(sm, arn, 'ADMIN_SECRET_ARN')));
  if (!parsed.success) throw new Error(`the secret at ADMIN_SECRET_ARN lacks ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}: it must be the instance's generated admin secret (username, password, host, port)`);
  const s = parsed.data;
  return { host: s.host, port: s.port, user: s.username, password: s.password, database: env.DB_NAME ?? 'gateway_proxy', ssl: { rejectUnauthorized: true, ca: awsDatabaseCa() } };
}

/** The custom resource: migrates on Create and Update; Delete leaves the database as it is. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const PhysicalResourceId = 'database-migrations';
  if (event.RequestType === 'Delete') return { PhysicalResourceId };
  const r = await migrate(await adminConnection(process.env, new SecretsManagerClient({})));
  console.log(JSON.stringify({ msg: 'migrations', applied: r.applied, alreadyApplied: r.alreadyApplied }));
  return { PhysicalResourceId, Data: { Applied: r.applied.join(',') } };
}

if (require.main === module) {
  migrate()
    .then((r) => {
      console.log(`migrations: ${r.applied.length} applied (${r.applied.join(', ') || 'none'}), ${r.alreadyApplied.length} already applied`);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
