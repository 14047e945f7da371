-- Member list syncs (/sync-members): the interaction worker asks Discord for a guild's whole member
-- list (gateway op 8, Request Guild Members, with a nonce), Discord answers with GUILD_MEMBERS_CHUNK
-- events (up to 1,000 members each, chunk_index of chunk_count), and the member worker upserts each
-- chunk's members and counts the chunk here, so an operator can see whether a sync completed.
CREATE TABLE IF NOT EXISTS member_syncs (
  guild_id       bigint NOT NULL,
  -- the nonce of the op 8 request, echoed in every chunk of its answer
  nonce          text NOT NULL,
  requested_by   bigint,
  requested_at   timestamptz,
  -- chunk_index values seen so far: a chunk counts once even when delivered again under another envelope id
  chunk_indexes  integer[] NOT NULL DEFAULT '{}',
  chunks_seen    integer NOT NULL DEFAULT 0,
  chunk_count    integer,
  -- members in the chunks seen (upserted, or older than what a member event already stored)
  members        integer NOT NULL DEFAULT 0,
  -- ids Discord did not find (only for requests by user id)
  not_found      integer NOT NULL DEFAULT 0,
  completed_at   timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, nonce)
);

ALTER TABLE member_syncs ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_syncs FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS guild_isolation ON member_syncs;
CREATE POLICY guild_isolation ON member_syncs
  USING (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint)
  WITH CHECK (guild_id = nullif(current_setting('app.guild_id', true), '')::bigint);
GRANT SELECT, INSERT, UPDATE, DELETE ON member_syncs TO gateway_worker;
