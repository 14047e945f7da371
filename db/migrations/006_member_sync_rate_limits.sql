-- Discord answers a request for a guild's whole member list (gateway op 8, /sync-members) once per
-- guild per 30 s; a request inside that window gets a RATE_LIMITED dispatch instead of chunks,
-- `{ opcode: 8, retry_after: <seconds>, meta: { guild_id, nonce } }`. The sync worker records it on the
-- row of the request's nonce, so the sync shows why it never completes, and /sync-members answers
-- "try again in N s" until rate_limited_at + retry_after_ms has passed.
-- https://discord.com/developers/docs/events/gateway-events#rate-limited
ALTER TABLE member_syncs ADD COLUMN IF NOT EXISTS rate_limited_at timestamptz;
ALTER TABLE member_syncs ADD COLUMN IF NOT EXISTS retry_after_ms integer;
