-- A DM refused because the user's DMs are closed, whose user was pinged in
-- the server's fallback channel (then, or earlier that day), reached them:
-- it does not count as undeliverable. Until now that was read from the
-- text of last_error; it is a column of its own from here on.
ALTER TABLE outbox ADD COLUMN reached_in_fallback INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET reached_in_fallback = 1 WHERE failed_at IS NOT NULL AND last_error LIKE '%pinged in fallback%';

-- The 'draft' request state was never written (drafts have their own
-- table); nothing reads it any more.
DELETE FROM requests WHERE state = 'draft';
