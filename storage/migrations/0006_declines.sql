-- Why referrers declined, counted per server for stats and the dashboard
-- (kept up in the transaction that records a reason, never recounted).
CREATE TABLE decline_reasons (
    guild_id TEXT NOT NULL,
    reason   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, reason)
);

-- A draft that rewrites an open request (after referrers asked for more
-- detail) instead of making a new one; NULL for a new request's draft.
ALTER TABLE drafts ADD COLUMN edit_of INTEGER REFERENCES requests (id) ON DELETE CASCADE;
CREATE INDEX drafts_edit_of ON drafts (edit_of) WHERE edit_of IS NOT NULL;
