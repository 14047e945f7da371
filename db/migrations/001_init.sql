-- Guilds, members, per-guild config and processed events, with row-level security per guild.
-- The worker role (gateway_worker) is not the owner: FORCE ROW LEVEL SECURITY applies the policies
-- to everyone but the superuser, and every worker query sets app.guild_id in its transaction.

CREATE TABLE guilds (
  guild_id      bigint PRIMARY KEY,
  name          text,
  owner_id      bigint,
  member_count  integer,
  -- false while Discord reports an outage (unavailable: true); a removal sets removed_at instead
  available     boolean NOT NULL DEFAULT true,
  removed_at    timestamptz,
  -- ordering: an event applies only when (event_at, event_seq) is newer than what is stored
  event_at      bigint NOT NULL,
  event_seq     bigint NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE members (
  guild_id    bigint NOT NULL,
  user_id     bigint NOT NULL,
  username    text,
  nick        text,
  roles       text[] NOT NULL DEFAULT '{}',
  joined_at   timestamptz,
  -- false after GUILD_MEMBER_REMOVE: a tombstone, so a late ADD cannot bring the member back
  present     boolean NOT NULL DEFAULT true,
  event_at    bigint NOT NULL,
  event_seq   bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE guild_config (
  guild_id  bigint PRIMARY KEY,
  settings  jsonb NOT NULL DEFAULT '{}'
);

-- idempotency: an envelope id is applied at most once per guild
CREATE TABLE processed_events (
  guild_id      bigint NOT NULL,
  event_id      text NOT NULL,
  type          text NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, event_id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['guilds', 'members', 'guild_config', 'processed_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY guild_isolation ON %I
      USING (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)
      WITH CHECK (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)$p$, t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO gateway_worker', t);
  END LOOP;
END $$;
