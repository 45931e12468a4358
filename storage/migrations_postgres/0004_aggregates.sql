-- PostgreSQL's spelling of migrations/0004_aggregates.sql: the same
-- aggregate tables, kept by PL/pgSQL triggers with the same WHEN
-- conditions (and the referrer_companies_count_update of 0005, which
-- replaced 0004's). A new database has no history to backfill.

ALTER TABLE events ADD COLUMN wait_ms BIGINT;
CREATE INDEX events_referrer_work ON events (guild_id, kind, at, actor_id, wait_ms) WHERE kind = 'accepted' OR kind = 'submitted';

CREATE TABLE event_hours (
    guild_id TEXT NOT NULL,
    hour     BIGINT NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, hour, what)
);
CREATE TABLE event_days (
    guild_id TEXT NOT NULL,
    day      BIGINT NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, what)
);
CREATE TABLE event_totals (
    guild_id TEXT NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, what)
);

-- What an event counts as: its kind, 'outcome:' and the result for an outcome.
CREATE FUNCTION event_what(kind TEXT, detail TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN kind = 'outcome' THEN 'outcome:' || detail ELSE kind END
$$;

-- Counts one event in (delta 1) or out of (delta -1) its hour, day and total.
CREATE FUNCTION count_event(g TEXT, at BIGINT, w TEXT, delta INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF delta > 0 THEN
        INSERT INTO event_hours VALUES (g, at / 3600000 * 3600000, w, 1) ON CONFLICT (guild_id, hour, what) DO UPDATE SET n = event_hours.n + 1;
        INSERT INTO event_days VALUES (g, at / 86400000 * 86400000, w, 1) ON CONFLICT (guild_id, day, what) DO UPDATE SET n = event_days.n + 1;
        INSERT INTO event_totals VALUES (g, w, 1) ON CONFLICT (guild_id, what) DO UPDATE SET n = event_totals.n + 1;
    ELSE
        UPDATE event_hours SET n = n - 1 WHERE guild_id = g AND hour = at / 3600000 * 3600000 AND what = w;
        UPDATE event_days SET n = n - 1 WHERE guild_id = g AND day = at / 86400000 * 86400000 AND what = w;
        UPDATE event_totals SET n = n - 1 WHERE guild_id = g AND what = w;
    END IF;
END $$;

CREATE FUNCTION events_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_event(NEW.guild_id, NEW.at, event_what(NEW.kind, NEW.detail), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_count_insert AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_count_insert();

CREATE FUNCTION events_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_event(OLD.guild_id, OLD.at, event_what(OLD.kind, OLD.detail), -1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_count_delete AFTER DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_count_delete();

CREATE FUNCTION events_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_event(OLD.guild_id, OLD.at, event_what(OLD.kind, OLD.detail), -1);
    PERFORM count_event(NEW.guild_id, NEW.at, event_what(NEW.kind, NEW.detail), 1);
    RETURN NULL;
END $$;
CREATE TRIGGER events_count_update AFTER UPDATE OF guild_id, kind, detail, at ON events FOR EACH ROW
WHEN (OLD.guild_id IS DISTINCT FROM NEW.guild_id OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.detail IS DISTINCT FROM NEW.detail OR OLD.at IS DISTINCT FROM NEW.at)
EXECUTE FUNCTION events_count_update();

CREATE TABLE company_counts (
    guild_id     TEXT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    requests     INTEGER NOT NULL DEFAULT 0,
    waiting      INTEGER NOT NULL DEFAULT 0,
    open         INTEGER NOT NULL DEFAULT 0,
    submitted    INTEGER NOT NULL DEFAULT 0,
    referrers    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, company_key, company_name)
);
CREATE INDEX company_counts_waiting ON company_counts (guild_id, company_key, company_name, waiting) WHERE waiting > 0;

-- A request's part in its company's counts: 1 or 0 for each column.
CREATE FUNCTION request_waiting(state TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state = 'waiting' THEN 1 ELSE 0 END
$$;
CREATE FUNCTION request_open(state TEXT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN state IN ('waiting', 'offered', 'accepted') THEN 1 ELSE 0 END
$$;
CREATE FUNCTION request_submitted(submitted_at BIGINT) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN submitted_at IS NOT NULL THEN 1 ELSE 0 END
$$;

CREATE FUNCTION requests_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO company_counts AS c (guild_id, company_key, company_name, requests, waiting, open, submitted)
    VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, 1, request_waiting(NEW.state), request_open(NEW.state), request_submitted(NEW.submitted_at))
    ON CONFLICT (guild_id, company_key, company_name) DO UPDATE SET requests = c.requests + 1, waiting = c.waiting + excluded.waiting,
        open = c.open + excluded.open, submitted = c.submitted + excluded.submitted;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_count_insert AFTER INSERT ON requests FOR EACH ROW EXECUTE FUNCTION requests_count_insert();

CREATE FUNCTION requests_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE company_counts SET
        waiting = waiting + request_waiting(NEW.state) - request_waiting(OLD.state),
        open = open + request_open(NEW.state) - request_open(OLD.state),
        submitted = submitted + request_submitted(NEW.submitted_at) - request_submitted(OLD.submitted_at)
    WHERE guild_id = NEW.guild_id AND company_key = NEW.company_key AND company_name = NEW.company_name;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_count_update AFTER UPDATE OF state, submitted_at ON requests FOR EACH ROW
WHEN ((OLD.state IS DISTINCT FROM NEW.state OR (OLD.submitted_at IS NULL) != (NEW.submitted_at IS NULL))
    AND OLD.guild_id IS NOT DISTINCT FROM NEW.guild_id AND OLD.company_key IS NOT DISTINCT FROM NEW.company_key
    AND OLD.company_name IS NOT DISTINCT FROM NEW.company_name)
EXECUTE FUNCTION requests_count_update();

CREATE FUNCTION requests_count_out(r requests) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE company_counts SET requests = requests - 1, waiting = waiting - request_waiting(r.state),
        open = open - request_open(r.state), submitted = submitted - request_submitted(r.submitted_at)
    WHERE guild_id = r.guild_id AND company_key = r.company_key AND company_name = r.company_name;
END $$;

CREATE FUNCTION requests_count_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM requests_count_out(OLD);
    INSERT INTO company_counts AS c (guild_id, company_key, company_name, requests, waiting, open, submitted)
    VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, 1, request_waiting(NEW.state), request_open(NEW.state), request_submitted(NEW.submitted_at))
    ON CONFLICT (guild_id, company_key, company_name) DO UPDATE SET requests = c.requests + 1, waiting = c.waiting + excluded.waiting,
        open = c.open + excluded.open, submitted = c.submitted + excluded.submitted;
    RETURN NULL;
END $$;
CREATE TRIGGER requests_count_move AFTER UPDATE OF guild_id, company_key, company_name ON requests FOR EACH ROW
WHEN (OLD.guild_id IS DISTINCT FROM NEW.guild_id OR OLD.company_key IS DISTINCT FROM NEW.company_key OR OLD.company_name IS DISTINCT FROM NEW.company_name)
EXECUTE FUNCTION requests_count_move();

CREATE FUNCTION requests_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM requests_count_out(OLD);
    RETURN NULL;
END $$;
CREATE TRIGGER requests_count_delete AFTER DELETE ON requests FOR EACH ROW EXECUTE FUNCTION requests_count_delete();

CREATE TABLE referrer_counts (
    guild_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, status)
);

-- Counts an active profile's companies in (NEW) or out (OLD).
CREATE FUNCTION referrer_companies_in(id BIGINT, g TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO company_counts AS c (guild_id, company_key, company_name, referrers)
    SELECT g, rc.company_key, rc.company_name, 1 FROM referrer_companies rc WHERE rc.referrer_id = id
    ON CONFLICT (guild_id, company_key, company_name) DO UPDATE SET referrers = c.referrers + 1;
END $$;
CREATE FUNCTION referrer_companies_out(id BIGINT, g TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE company_counts SET referrers = referrers - 1 WHERE guild_id = g
        AND (company_key, company_name) IN (SELECT rc.company_key, rc.company_name FROM referrer_companies rc WHERE rc.referrer_id = id);
END $$;

CREATE FUNCTION referrers_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO referrer_counts AS c VALUES (NEW.guild_id, NEW.status, 1) ON CONFLICT (guild_id, status) DO UPDATE SET n = c.n + 1;
    IF NEW.status = 'active' THEN
        PERFORM referrer_companies_in(NEW.id, NEW.guild_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER referrers_count_insert AFTER INSERT ON referrers FOR EACH ROW EXECUTE FUNCTION referrers_count_insert();

CREATE FUNCTION referrers_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrer_counts SET n = n - 1 WHERE guild_id = OLD.guild_id AND status = OLD.status;
    INSERT INTO referrer_counts AS c VALUES (NEW.guild_id, NEW.status, 1) ON CONFLICT (guild_id, status) DO UPDATE SET n = c.n + 1;
    IF OLD.status = 'active' THEN
        PERFORM referrer_companies_out(OLD.id, OLD.guild_id);
    END IF;
    IF NEW.status = 'active' THEN
        PERFORM referrer_companies_in(NEW.id, NEW.guild_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER referrers_count_update AFTER UPDATE OF status, guild_id ON referrers FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.guild_id IS DISTINCT FROM NEW.guild_id)
EXECUTE FUNCTION referrers_count_update();

-- BEFORE: the profile's companies are still there; ON DELETE CASCADE
-- removes them after the profile, when referrer_companies_count_delete
-- finds no active profile and counts nothing twice.
CREATE FUNCTION referrers_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrer_counts SET n = n - 1 WHERE guild_id = OLD.guild_id AND status = OLD.status;
    IF OLD.status = 'active' THEN
        PERFORM referrer_companies_out(OLD.id, OLD.guild_id);
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER referrers_count_delete BEFORE DELETE ON referrers FOR EACH ROW EXECUTE FUNCTION referrers_count_delete();

CREATE FUNCTION referrer_company_in(referrer BIGINT, key TEXT, name TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO company_counts AS c (guild_id, company_key, company_name, referrers)
    SELECT rf.guild_id, key, name, 1 FROM referrers rf WHERE rf.id = referrer AND rf.status = 'active'
    ON CONFLICT (guild_id, company_key, company_name) DO UPDATE SET referrers = c.referrers + 1;
END $$;
CREATE FUNCTION referrer_company_out(referrer BIGINT, key TEXT, name TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE company_counts SET referrers = referrers - 1
    WHERE guild_id = (SELECT rf.guild_id FROM referrers rf WHERE rf.id = referrer AND rf.status = 'active')
        AND company_key = key AND company_name = name;
END $$;

CREATE FUNCTION referrer_companies_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM referrer_company_in(NEW.referrer_id, NEW.company_key, NEW.company_name);
    RETURN NULL;
END $$;
CREATE TRIGGER referrer_companies_count_insert AFTER INSERT ON referrer_companies FOR EACH ROW EXECUTE FUNCTION referrer_companies_count_insert();

CREATE FUNCTION referrer_companies_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM referrer_company_out(OLD.referrer_id, OLD.company_key, OLD.company_name);
    RETURN NULL;
END $$;
CREATE TRIGGER referrer_companies_count_delete AFTER DELETE ON referrer_companies FOR EACH ROW EXECUTE FUNCTION referrer_companies_count_delete();

CREATE FUNCTION referrer_companies_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM referrer_company_out(OLD.referrer_id, OLD.company_key, OLD.company_name);
    PERFORM referrer_company_in(NEW.referrer_id, NEW.company_key, NEW.company_name);
    RETURN NULL;
END $$;
CREATE TRIGGER referrer_companies_count_update AFTER UPDATE OF referrer_id, company_key, company_name ON referrer_companies FOR EACH ROW
EXECUTE FUNCTION referrer_companies_count_update();

CREATE TABLE undeliverable_counts (
    guild_id TEXT PRIMARY KEY,
    n        INTEGER NOT NULL
);

CREATE FUNCTION outbox_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO undeliverable_counts AS c VALUES (NEW.guild_id, 1) ON CONFLICT (guild_id) DO UPDATE SET n = c.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox FOR EACH ROW
WHEN (NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback)
EXECUTE FUNCTION outbox_count_insert();

CREATE FUNCTION outbox_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback THEN
        UPDATE undeliverable_counts SET n = n - 1 WHERE guild_id = OLD.guild_id;
    END IF;
    IF NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback THEN
        INSERT INTO undeliverable_counts AS c VALUES (NEW.guild_id, 1) ON CONFLICT (guild_id) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_count_update AFTER UPDATE OF failed_at, reached_in_fallback, guild_id ON outbox FOR EACH ROW
WHEN ((OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback) IS DISTINCT FROM (NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback)
    OR OLD.guild_id IS DISTINCT FROM NEW.guild_id)
EXECUTE FUNCTION outbox_count_update();

CREATE FUNCTION outbox_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE undeliverable_counts SET n = n - 1 WHERE guild_id = OLD.guild_id;
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox FOR EACH ROW
WHEN (OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback)
EXECUTE FUNCTION outbox_count_delete();
