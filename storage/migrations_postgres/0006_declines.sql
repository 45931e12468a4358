-- PostgreSQL's spelling of migrations/0006_declines.sql.
CREATE TABLE decline_reasons (
    guild_id TEXT NOT NULL,
    reason   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, reason)
);

ALTER TABLE drafts ADD COLUMN edit_of BIGINT REFERENCES requests (id) ON DELETE CASCADE;
CREATE INDEX drafts_edit_of ON drafts (edit_of) WHERE edit_of IS NOT NULL;
