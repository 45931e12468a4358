-- PostgreSQL's spelling of migrations/0014_forget_indexed.sql: forget-me
-- and retention reach their rows through indexes.

CREATE INDEX admin_actions_subject ON admin_actions (target_id);
CREATE INDEX admin_actions_reporter ON admin_actions (admin_id) WHERE action = 'report';

-- Forget-me clears reports itself (these read the whole table per row).
DROP TRIGGER reports_forget_student ON requests;
DROP TRIGGER reports_forget_referrer ON offers;
DROP FUNCTION reports_forget_student();
DROP FUNCTION reports_forget_referrer();

-- A referrer's work counted down to nothing goes, so a forgotten referrer
-- leaves no row keyed by their id.
CREATE OR REPLACE FUNCTION count_actor(g TEXT, at BIGINT, a TEXT, k TEXT, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF k NOT IN ('offered', 'accepted', 'declined', 'submitted') OR a = '' THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO actor_days VALUES (g, at / 86400000 * 86400000, a, k, 1)
        ON CONFLICT (guild_id, day, actor_id, kind) DO UPDATE SET n = actor_days.n + 1;
        INSERT INTO actor_weeks VALUES (g, week_of(at), a, k, 1)
        ON CONFLICT (guild_id, week, actor_id, kind) DO UPDATE SET n = actor_weeks.n + 1;
        INSERT INTO actor_totals VALUES (g, a, k, 1, at)
        ON CONFLICT (guild_id, actor_id, kind) DO UPDATE SET n = actor_totals.n + 1,
            last_at = CASE WHEN actor_totals.last_at IS NULL OR excluded.last_at > actor_totals.last_at THEN excluded.last_at ELSE actor_totals.last_at END;
    ELSE
        UPDATE actor_days SET n = n - 1 WHERE guild_id = g AND day = at / 86400000 * 86400000 AND actor_id = a AND kind = k;
        DELETE FROM actor_days WHERE guild_id = g AND day = at / 86400000 * 86400000 AND actor_id = a AND kind = k AND n = 0;
        UPDATE actor_weeks SET n = n - 1 WHERE guild_id = g AND week = week_of(at) AND actor_id = a AND kind = k;
        DELETE FROM actor_weeks WHERE guild_id = g AND week = week_of(at) AND actor_id = a AND kind = k AND n = 0;
        UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
        WHERE guild_id = g AND actor_id = a AND kind = k;
        DELETE FROM actor_totals WHERE guild_id = g AND actor_id = a AND kind = k AND n = 0;
    END IF;
END $$;
DELETE FROM actor_days WHERE n = 0;
DELETE FROM actor_weeks WHERE n = 0;
DELETE FROM actor_totals WHERE n = 0;

-- Kept messages of requests whose texts were erased before this version.
CREATE INDEX outbox_kept_text ON outbox (request_id) WHERE failed_at IS NOT NULL AND payload != '';
UPDATE outbox SET payload = '' WHERE failed_at IS NOT NULL AND payload != ''
    AND request_id IN (SELECT id FROM requests WHERE erased_at IS NOT NULL);
