-- Voice activity (the voice worker, VOICE_STATE_UPDATE): who was in which voice channel when.
--
-- voice_states: each member's current channel (NULL: in none) and the version (event_at, event_seq) of
-- the event that set it; standard SQS is unordered, so an event older than the stored version is
-- ignored, as for members.
-- voice_sessions: one row per stay in a channel, opened by a join and closed (left_at) by a leave; a
-- move between channels closes one and opens the next. joined_at / left_at are the ingestor's receive
-- times of the events (Discord's voice states carry no time of their own).
CREATE TABLE IF NOT EXISTS voice_states (
  guild_id    bigint NOT NULL,
  user_id     bigint NOT NULL,
  channel_id  bigint,
  event_at    bigint NOT NULL,
  event_seq   bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE IF NOT EXISTS voice_sessions (
  guild_id        bigint NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  user_id         bigint NOT NULL,
  channel_id      bigint NOT NULL,
  joined_at       timestamptz NOT NULL,
  left_at         timestamptz,
  -- the envelope ids of the events that opened and closed it (npm run trace -- <id>)
  join_event_id   text NOT NULL,
  leave_event_id  text,
  PRIMARY KEY (guild_id, id)
);

-- at most one open session per member and guild
CREATE UNIQUE INDEX IF NOT EXISTS voice_sessions_open ON voice_sessions (guild_id, user_id) WHERE left_at IS NULL;
CREATE INDEX IF NOT EXISTS voice_sessions_channel ON voice_sessions (guild_id, channel_id, joined_at);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['voice_states', 'voice_sessions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS guild_isolation ON %I', t);
    EXECUTE format($p$CREATE POLICY guild_isolation ON %I
      USING (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)
      WITH CHECK (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)$p$, t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO gateway_worker', t);
  END LOOP;
END $$;
