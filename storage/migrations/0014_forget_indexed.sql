-- Forget-me and retention reach a user's or an old request's rows through
-- indexes, whatever the size of the history (storage/forget.go, steps.go).

-- The trust log by its subject and by the student who filed a report.
-- Both are written a few times a day at most.
CREATE INDEX admin_actions_subject ON admin_actions (target_id);
CREATE INDEX admin_actions_reporter ON admin_actions (admin_id) WHERE action = 'report';

-- Forget-me clears reports itself, through the user's requests and the
-- requests they were asked about: these triggers read the whole reports
-- table (and the trust log) again for each such request and offer.
DROP TRIGGER reports_forget_student;
DROP TRIGGER reports_forget_referrer;

-- A referrer's work counted down to nothing goes, so that a forgotten
-- referrer (forget-me blanks the actor of their events) leaves no row
-- keyed by their id; rows emptied so before this version go now.
DROP TRIGGER events_actor_delete;
CREATE TRIGGER events_actor_delete AFTER DELETE ON events
WHEN OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
BEGIN
    UPDATE actor_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_days WHERE guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
    UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
    WHERE guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_totals WHERE guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
END;
DROP TRIGGER events_actor_update;
CREATE TRIGGER events_actor_update AFTER UPDATE OF guild_id, actor_id, kind, at ON events
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.actor_id IS NOT NEW.actor_id OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
BEGIN
    UPDATE actor_days SET n = n - 1 WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_days WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
    UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
    WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_totals WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
    INSERT INTO actor_days SELECT NEW.guild_id, NEW.at / 86400000 * 86400000, NEW.actor_id, NEW.kind, 1
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO actor_totals SELECT NEW.guild_id, NEW.actor_id, NEW.kind, 1, NEW.at
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1, last_at = CASE WHEN last_at IS NULL OR excluded.last_at > last_at THEN excluded.last_at ELSE last_at END;
END;
DROP TRIGGER events_actor_week_delete;
CREATE TRIGGER events_actor_week_delete AFTER DELETE ON events
WHEN OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
BEGIN
    UPDATE actor_weeks SET n = n - 1 WHERE guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_weeks WHERE guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
END;
DROP TRIGGER events_actor_week_update;
CREATE TRIGGER events_actor_week_update AFTER UPDATE OF guild_id, actor_id, kind, at ON events
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.actor_id IS NOT NEW.actor_id OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
BEGIN
    UPDATE actor_weeks SET n = n - 1 WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind;
    DELETE FROM actor_weeks WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind AND n = 0;
    INSERT INTO actor_weeks SELECT NEW.guild_id, (NEW.at + 259200000) / 604800000 * 604800000 - 259200000, NEW.actor_id, NEW.kind, 1
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
DELETE FROM actor_days WHERE n = 0;
DELETE FROM actor_weeks WHERE n = 0;
DELETE FROM actor_totals WHERE n = 0;

-- Retention now erases the kept messages of a request (an undeliverable
-- one holds the offer's texts) with the request's own texts. Requests
-- erased before this version still have theirs: erase them once here.
-- The messages that keep a text are few (a sent one keeps none), and
-- this index lists them by request.
CREATE INDEX outbox_kept_text ON outbox (request_id) WHERE failed_at IS NOT NULL AND payload != '';
UPDATE outbox SET payload = '' WHERE failed_at IS NOT NULL AND payload != ''
    AND request_id IN (SELECT id FROM requests WHERE erased_at IS NOT NULL);
