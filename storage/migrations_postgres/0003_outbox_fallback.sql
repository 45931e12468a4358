-- PostgreSQL's spelling of migrations/0003_outbox_fallback.sql.
ALTER TABLE outbox ADD COLUMN reached_in_fallback BOOLEAN NOT NULL DEFAULT FALSE;
