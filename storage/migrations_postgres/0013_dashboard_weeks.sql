-- PostgreSQL's spelling of migrations/0013_dashboard_weeks.sql: week
-- buckets (Monday 00:00 UTC, in ms) of the dashboard's day tables, kept by
-- the same functions that keep the days. A new database has no history to
-- backfill.

CREATE TABLE funnel_weeks (
    guild_id     TEXT NOT NULL,
    week         BIGINT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, week, company_key, company_name, step)
);
CREATE TABLE actor_weeks (
    guild_id TEXT NOT NULL,
    week     BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, week, actor_id, kind)
);

-- The start of the UTC week (Monday) of a time in ms; 1970-01-01 was a
-- Thursday.
CREATE FUNCTION week_of(t BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT (t + 259200000) / 604800000 * 604800000 - 259200000
$$;

CREATE OR REPLACE FUNCTION count_funnel(g TEXT, created BIGINT, ck TEXT, cn TEXT, st INTEGER, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF delta > 0 THEN
        INSERT INTO funnel_days VALUES (g, created / 86400000 * 86400000, ck, cn, st, 1)
        ON CONFLICT (guild_id, day, company_key, company_name, step) DO UPDATE SET n = funnel_days.n + 1;
        INSERT INTO funnel_weeks VALUES (g, week_of(created), ck, cn, st, 1)
        ON CONFLICT (guild_id, week, company_key, company_name, step) DO UPDATE SET n = funnel_weeks.n + 1;
        INSERT INTO funnel_totals VALUES (g, ck, cn, st, 1)
        ON CONFLICT (guild_id, company_key, company_name, step) DO UPDATE SET n = funnel_totals.n + 1;
    ELSE
        UPDATE funnel_days SET n = n - 1 WHERE guild_id = g AND day = created / 86400000 * 86400000
            AND company_key = ck AND company_name = cn AND step = st;
        UPDATE funnel_weeks SET n = n - 1 WHERE guild_id = g AND week = week_of(created)
            AND company_key = ck AND company_name = cn AND step = st;
        UPDATE funnel_totals SET n = n - 1 WHERE guild_id = g AND company_key = ck AND company_name = cn AND step = st;
    END IF;
END $$;

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
        UPDATE actor_weeks SET n = n - 1 WHERE guild_id = g AND week = week_of(at) AND actor_id = a AND kind = k;
        UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
        WHERE guild_id = g AND actor_id = a AND kind = k;
    END IF;
END $$;
