-- Side effects of an applied event (e.g. the auto role's REST call on GUILD_MEMBER_ADD) are recorded
-- with the event in the same transaction and cleared once done, so a delivery that dies between the
-- commit and the REST call leaves the action for the redelivery instead of losing it.
ALTER TABLE processed_events ADD COLUMN IF NOT EXISTS pending_action text;

-- processed_events is pruned by the workers after 15 days (SQS keeps a message 14 days at most, so no
-- redelivery or redrive can be older); this index keeps that delete cheap per guild.
CREATE INDEX IF NOT EXISTS processed_events_age ON processed_events (guild_id, processed_at);
