/**
 * Audit rows for security-relevant actions (PRD 5.3; table audit_log, db/migrations/003_audit_log.sql).
 * Written with the client of the caller's `withGuild` transaction, so the row commits or rolls back
 * with the change it describes and row-level security scopes it to that guild. The correlation id is
 * the envelope id, the same id every log line of the record carries (`npm run trace -- <id>`).
 */
import type { PoolClient } from 'pg';
import { currentCorrelation } from './logger';

export type AuditAction = 'member.auto_role.decided' | 'member.auto_role.added' | 'member.auto_role.dropped' | 'eligibility.decided';

export interface AuditRow {
  guildId: string;
  action: AuditAction;
  actor: 'member-worker' | 'interaction-worker';
  subjectId?: string | null;
  /** the envelope id; defaults to the current record's (AsyncLocalStorage of the worker) */
  correlationId?: string;
  detail?: Record<string, unknown>;
}

/** Inserts one audit row; a redelivery of the same record writes nothing twice. Returns whether it wrote. */
export async function writeAudit(c: PoolClient, row: AuditRow): Promise<boolean> {
  const correlationId = row.correlationId ?? currentCorrelation()?.envelopeId;
  if (!correlationId) throw new Error(`writeAudit(${row.action}): no correlation id: pass the envelope id or call it inside the worker's record (withCorrelation)`);
  const r = await c.query(
    `INSERT INTO audit_log (guild_id, action, actor, subject_id, correlation_id, detail)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (guild_id, correlation_id, action) DO NOTHING`,
    [row.guildId, row.action, row.actor, row.subjectId ?? null, correlationId, JSON.stringify(row.detail ?? {})],
  );
  return r.rowCount === 1;
}
