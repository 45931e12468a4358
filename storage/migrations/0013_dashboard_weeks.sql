-- Week buckets of the dashboard's day tables (0012), so that a period
-- reads whole weeks, the whole days at its ends and the partial days from
-- the rows: a 12-week page reads about as many rows as a 4-week one. A
-- week starts on a Monday 00:00 UTC, in ms: (t + 3 days) / week * week
-- - 3 days (1970-01-01 was a Thursday). The triggers mirror the day
-- tables' and RebuildAggregates recounts these too.

CREATE TABLE funnel_weeks (
    guild_id     TEXT NOT NULL,
    week         INTEGER NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, week, company_key, company_name, step)
) WITHOUT ROWID;
CREATE TABLE actor_weeks (
    guild_id TEXT NOT NULL,
    week     INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, week, actor_id, kind)
) WITHOUT ROWID;
INSERT INTO funnel_weeks (guild_id, week, company_key, company_name, step, n)
SELECT guild_id, (day + 259200000) / 604800000 * 604800000 - 259200000, company_key, company_name, step, SUM(n)
FROM funnel_days WHERE n != 0 GROUP BY 1, 2, 3, 4, 5;
INSERT INTO actor_weeks (guild_id, week, actor_id, kind, n)
SELECT guild_id, (day + 259200000) / 604800000 * 604800000 - 259200000, actor_id, kind, SUM(n)
FROM actor_days WHERE n != 0 GROUP BY 1, 2, 3, 4;

CREATE TRIGGER requests_funnel_week_insert AFTER INSERT ON requests BEGIN
    INSERT INTO funnel_weeks VALUES (NEW.guild_id, (NEW.created_at + 259200000) / 604800000 * 604800000 - 259200000,
        NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_funnel_week_update AFTER UPDATE OF furthest, guild_id, company_key, company_name, created_at ON requests
WHEN OLD.furthest IS NOT NEW.furthest OR OLD.guild_id IS NOT NEW.guild_id OR OLD.company_key IS NOT NEW.company_key
    OR OLD.company_name IS NOT NEW.company_name OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE funnel_weeks SET n = n - 1 WHERE guild_id = OLD.guild_id AND week = (OLD.created_at + 259200000) / 604800000 * 604800000 - 259200000
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
    INSERT INTO funnel_weeks VALUES (NEW.guild_id, (NEW.created_at + 259200000) / 604800000 * 604800000 - 259200000,
        NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_funnel_week_delete AFTER DELETE ON requests BEGIN
    UPDATE funnel_weeks SET n = n - 1 WHERE guild_id = OLD.guild_id AND week = (OLD.created_at + 259200000) / 604800000 * 604800000 - 259200000
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
END;

CREATE TRIGGER events_actor_week_insert AFTER INSERT ON events
WHEN NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
BEGIN
    INSERT INTO actor_weeks VALUES (NEW.guild_id, (NEW.at + 259200000) / 604800000 * 604800000 - 259200000, NEW.actor_id, NEW.kind, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER events_actor_week_delete AFTER DELETE ON events
WHEN OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
BEGIN
    UPDATE actor_weeks SET n = n - 1 WHERE guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind;
END;
CREATE TRIGGER events_actor_week_update AFTER UPDATE OF guild_id, actor_id, kind, at ON events
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.actor_id IS NOT NEW.actor_id OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
BEGIN
    UPDATE actor_weeks SET n = n - 1 WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND week = (OLD.at + 259200000) / 604800000 * 604800000 - 259200000
        AND actor_id = OLD.actor_id AND kind = OLD.kind;
    INSERT INTO actor_weeks SELECT NEW.guild_id, (NEW.at + 259200000) / 604800000 * 604800000 - 259200000, NEW.actor_id, NEW.kind, 1
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
