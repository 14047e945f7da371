-- Audit rows for security-relevant actions (PRD 5.3): the member worker's auto role (decided, then
-- done or dropped) and the eligibility decisions of /check-eligibility. Written by the workers inside
-- the guild transaction of the change (lambdas/shared/audit.ts), under the same row-level security as
-- every other table, so a guild's scope can neither read nor forge another guild's trail.
--
-- Append-only for the worker role: it gets SELECT and INSERT, never UPDATE or DELETE, so a worker
-- (or whoever holds its credentials) cannot rewrite history. Retention is the owner's job.
CREATE TABLE IF NOT EXISTS audit_log (
  guild_id        bigint NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  at              timestamptz NOT NULL DEFAULT now(),
  -- what happened, e.g. member.auto_role.decided, member.auto_role.added, eligibility.decided
  action          text NOT NULL,
  -- which component acted (member-worker, interaction-worker)
  actor           text NOT NULL,
  -- the Discord user the action is about
  subject_id      bigint,
  -- the envelope id: `npm run trace -- <id>` finds the same event's log lines
  correlation_id  text NOT NULL,
  detail          jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (guild_id, id),
  -- a redelivered or replayed record writes its row once (ON CONFLICT DO NOTHING)
  UNIQUE (guild_id, correlation_id, action)
);

CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (guild_id, subject_id, at);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS guild_isolation ON audit_log;
CREATE POLICY guild_isolation ON audit_log
  USING (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)
  WITH CHECK (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint);
GRANT SELECT, INSERT ON audit_log TO gateway_worker;
