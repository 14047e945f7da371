-- The worker role, before 001 grants it table rights. Locally local/env.sh creates it with a password;
-- in AWS the admin creates it here for IAM database authentication through RDS Proxy (rds_iam exists
-- only on RDS). Idempotent: on databases migrated before this file existed it runs after 001 and
-- changes nothing there. The role is never the owner and never bypasses row-level security.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_worker') THEN
    CREATE ROLE gateway_worker LOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')
     AND NOT pg_has_role('gateway_worker', 'rds_iam', 'MEMBER') THEN
    GRANT rds_iam TO gateway_worker;
  END IF;
END $$;
