-- PostgreSQL's spelling of migrations/0011_told.sql: what each request's
-- student was told of its search for a referrer (referral.Told). A new
-- database has nothing to backfill.
ALTER TABLE requests ADD COLUMN told TEXT NOT NULL DEFAULT '';
