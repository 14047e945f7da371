/**
 * PostgreSQL for workers behind RDS Proxy: one small pool per container (Lambda runs one invocation
 * at a time, so 2 connections are plenty), an IAM auth token in AWS (DB_IAM_AUTH=true, TLS), a
 * password locally (DATABASE_URL).
 *
 * Row-level security per guild: every query runs in `withGuild`, a short transaction that sets
 * `app.guild_id` transaction-locally (set_config(..., true)). RDS Proxy may pin the connection for
 * the transaction (docs/deploy.md, RDS Proxy pinning); transactions are kept short for that reason.
 */
import { Signer } from '@aws-sdk/rds-signer';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { awsDatabaseCa } from './aws';
import type { WorkerConfig } from './config';

export function createPool(cfg: WorkerConfig): Pool {
  const base: PoolConfig = { max: cfg.DB_POOL_MAX, idleTimeoutMillis: 60_000, connectionTimeoutMillis: 5_000 };
  if (cfg.DATABASE_URL) return new Pool({ ...base, connectionString: cfg.DATABASE_URL });
  // the config requires DB_HOST when there is no DATABASE_URL (WorkerConfigSchema)
  const signer = cfg.DB_IAM_AUTH ? new Signer({ hostname: cfg.DB_HOST ?? '', port: cfg.DB_PORT, username: cfg.DB_USER, region: cfg.AWS_REGION }) : undefined;
  return new Pool({
    ...base,
    host: cfg.DB_HOST,
    port: cfg.DB_PORT,
    database: cfg.DB_NAME,
    user: cfg.DB_USER,
    // a fresh token per new connection (tokens live 15 minutes)
    password: signer ? () => signer.getAuthToken() : undefined,
    ssl: cfg.DB_IAM_AUTH ? { rejectUnauthorized: true, ca: awsDatabaseCa() } : undefined,
  });
}

/** Runs fn in a transaction scoped to one guild; rows of other guilds are invisible to it. */
export async function withGuild<T>(pool: Pool, guildId: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  if (!/^\d{1,20}$/.test(guildId)) throw new Error(`withGuild: guild id must be a snowflake, got ${JSON.stringify(guildId)}`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('app.guild_id', $1, true)", [guildId]);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Idempotency records (processed_events) older than SQS can keep a message (14 days) serve no redelivery. */
export const PROCESSED_RETENTION_DAYS = 15;

/**
 * Now and then (1 % of new events by default) deletes this guild's expired idempotency records, inside
 * the caller's guild transaction (row-level security scopes it), so the table stays bounded without a
 * scheduled job. Records with a pending action are kept.
 */
/**
 * Records that this event was handled for the guild (processed_events, the workers' dedupe by envelope
 * id); false when it already was (a redelivery). Now and then prunes old records in the same transaction.
 */
export async function claimEvent(c: PoolClient, guildId: string, eventId: string, type: string): Promise<boolean> {
  const r = await c.query('INSERT INTO processed_events (guild_id, event_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [guildId, eventId, type]);
  if (r.rowCount === 0) return false;
  await maybePruneProcessed(c);
  return true;
}

export async function maybePruneProcessed(c: PoolClient, chance = 0.01, random: () => number = Math.random): Promise<number> {
  if (random() >= chance) return 0;
  const r = await c.query('DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => $1) AND pending_action IS NULL', [PROCESSED_RETENTION_DAYS]);
  return r.rowCount ?? 0;
}
