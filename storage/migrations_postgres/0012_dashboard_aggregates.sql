-- PostgreSQL's spelling of migrations/0012_dashboard_aggregates.sql: the
-- dashboard's funnel, referrer work and wait histograms, kept by PL/pgSQL
-- triggers with the same WHEN conditions. A new database has no history to
-- backfill.

ALTER TABLE requests ADD COLUMN furthest INTEGER NOT NULL DEFAULT 0;

CREATE TABLE funnel_days (
    guild_id     TEXT NOT NULL,
    day          BIGINT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, company_key, company_name, step)
);
CREATE TABLE funnel_totals (
    guild_id     TEXT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, company_key, company_name, step)
);
CREATE TABLE actor_days (
    guild_id TEXT NOT NULL,
    day      BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, actor_id, kind)
);
CREATE TABLE actor_totals (
    guild_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    last_at  BIGINT,
    PRIMARY KEY (guild_id, actor_id, kind)
);
CREATE INDEX events_first_outcome ON events (guild_id, at, wait_ms) WHERE kind = 'outcome' AND wait_ms IS NOT NULL;
CREATE TABLE wait_minutes (
    guild_id TEXT NOT NULL,
    what     TEXT NOT NULL,
    minute   BIGINT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, what, minute)
);

-- The funnel step an event reaches: 1 offered, 2 accepted, 3 submitted,
-- 4 recruiter screen, 5 interview, 6 job offer.
CREATE FUNCTION event_step(kind TEXT, detail TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'offered' THEN 1 WHEN 'accepted' THEN 2 WHEN 'submitted' THEN 3
        ELSE CASE detail WHEN 'screen' THEN 4 WHEN 'interview' THEN 5 ELSE 6 END END
$$;

CREATE FUNCTION events_furthest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE requests SET furthest = event_step(NEW.kind, NEW.detail)
    WHERE id = NEW.request_id AND furthest < event_step(NEW.kind, NEW.detail);
    RETURN NULL;
END $$;
CREATE TRIGGER events_furthest AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.kind IN ('offered', 'accepted', 'submitted') OR (NEW.kind = 'outcome' AND NEW.detail IN ('screen', 'interview', 'offer')))
EXECUTE FUNCTION events_furthest();

-- Counts one request in (delta 1) or out of (delta -1) its day and total.
CREATE FUNCTION count_funnel(g TEXT, created BIGINT, ck TEXT, cn TEXT, st INTEGER, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF delta > 0 THEN
        INSERT INTO funnel_days VALUES (g, created / 86400000 * 86400000, ck, cn, st, 1)
        ON CONFLICT (guild_id, day, company_key, company_name, step) DO UPDATE SET n = funnel_days.n + 1;
        INSERT INTO funnel_totals VALUES (g, ck, cn, st, 1)
        ON CONFLICT (guild_id, company_key, company_name, step) DO UPDATE SET n = funnel_totals.n + 1;
    ELSE
        UPDATE funnel_days SET n = n - 1 WHERE guild_id = g AND day = created / 86400000 * 86400000
            AND company_key = ck AND company_name = cn AND step = st;
        UPDATE funnel_totals SET n = n - 1 WHERE guild_id = g AND company_key = ck AND company_name = cn AND step = st;
    END IF;
END $$;

CREATE FUNCTION requests_funnel_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_funnel(NEW.guild_id, NEW.created_at, NEW.company_key, NEW.company_name, NEW.furthest, 1);
    RETURN NULL;
END $$;
CREATE TRIGGER requests_funnel_insert AFTER INSERT ON requests FOR EACH ROW EXECUTE FUNCTION requests_funnel_insert();

CREATE FUNCTION requests_funnel_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_funnel(OLD.guild_id, OLD.created_at, OLD.company_key, OLD.company_name, OLD.furthest, -1);
    PERFORM count_funnel(NEW.guild_id, NEW.created_at, NEW.company_key, NEW.company_name, NEW.furthest, 1);
    RETURN NULL;
END $$;
CREATE TRIGGER requests_funnel_update AFTER UPDATE OF furthest, guild_id, company_key, company_name, created_at ON requests FOR EACH ROW
WHEN (OLD.furthest IS DISTINCT FROM NEW.furthest OR OLD.guild_id IS DISTINCT FROM NEW.guild_id OR OLD.company_key IS DISTINCT FROM NEW.company_key
    OR OLD.company_name IS DISTINCT FROM NEW.company_name OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION requests_funnel_update();

CREATE FUNCTION requests_funnel_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_funnel(OLD.guild_id, OLD.created_at, OLD.company_key, OLD.company_name, OLD.furthest, -1);
    RETURN NULL;
END $$;
CREATE TRIGGER requests_funnel_delete AFTER DELETE ON requests FOR EACH ROW EXECUTE FUNCTION requests_funnel_delete();

-- Counts one event of a referrer's work in (delta 1) or out of (delta -1)
-- its day and total; the kinds and a blank actor count for nothing.
CREATE FUNCTION count_actor(g TEXT, at BIGINT, a TEXT, k TEXT, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF k NOT IN ('offered', 'accepted', 'declined', 'submitted') OR a = '' THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO actor_days VALUES (g, at / 86400000 * 86400000, a, k, 1)
        ON CONFLICT (guild_id, day, actor_id, kind) DO UPDATE SET n = actor_days.n + 1;
        INSERT INTO actor_totals VALUES (g, a, k, 1, at)
        ON CONFLICT (guild_id, actor_id, kind) DO UPDATE SET n = actor_totals.n + 1,
            last_at = CASE WHEN actor_totals.last_at IS NULL OR excluded.last_at > actor_totals.last_at THEN excluded.last_at ELSE actor_totals.last_at END;
    ELSE
        UPDATE actor_days SET n = n - 1 WHERE guild_id = g AND day = at / 86400000 * 86400000 AND actor_id = a AND kind = k;
        UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
        WHERE guild_id = g AND actor_id = a AND kind = k;
    END IF;
END $$;

CREATE FUNCTION events_actor_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_actor(NEW.guild_id, NEW.at, NEW.actor_id, NEW.kind, 1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_actor_insert AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != '')
EXECUTE FUNCTION events_actor_insert();

CREATE FUNCTION events_actor_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_actor(OLD.guild_id, OLD.at, OLD.actor_id, OLD.kind, -1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_actor_delete AFTER DELETE ON events FOR EACH ROW
WHEN (OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != '')
EXECUTE FUNCTION events_actor_delete();

CREATE FUNCTION events_actor_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_actor(OLD.guild_id, OLD.at, OLD.actor_id, OLD.kind, -1);
    PERFORM count_actor(NEW.guild_id, NEW.at, NEW.actor_id, NEW.kind, 1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_actor_update AFTER UPDATE OF guild_id, actor_id, kind, at ON events FOR EACH ROW
WHEN (OLD.guild_id IS DISTINCT FROM NEW.guild_id OR OLD.actor_id IS DISTINCT FROM NEW.actor_id OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.at IS DISTINCT FROM NEW.at)
EXECUTE FUNCTION events_actor_update();

CREATE FUNCTION events_wait_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wait_minutes VALUES (NEW.guild_id, NEW.kind, NEW.wait_ms / 60000, 1)
    ON CONFLICT (guild_id, what, minute) DO UPDATE SET n = wait_minutes.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER events_wait_insert AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.wait_ms IS NOT NULL AND NEW.kind IN ('accepted', 'outcome'))
EXECUTE FUNCTION events_wait_insert();

CREATE FUNCTION events_wait_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE wait_minutes SET n = n - 1 WHERE guild_id = OLD.guild_id AND what = OLD.kind AND minute = OLD.wait_ms / 60000;
    RETURN NULL;
END $$;
CREATE TRIGGER events_wait_delete AFTER DELETE ON events FOR EACH ROW
WHEN (OLD.wait_ms IS NOT NULL AND OLD.kind IN ('accepted', 'outcome'))
EXECUTE FUNCTION events_wait_delete();
