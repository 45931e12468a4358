-- Aggregates that the digest, its chart and /referral-admin stats read
-- instead of a server's history. Triggers keep them in the statement that
-- writes the rows they count, so every code path (and a data generator's
-- direct inserts) keeps them exact; RebuildAggregates recomputes them from
-- history. Nothing may write these base tables with INSERT OR REPLACE: its
-- deletes fire no triggers.

-- The wait from request to accept, on each accepted event, so the median
-- time to accept reads the window's accepts and nothing else.
ALTER TABLE events ADD COLUMN wait_ms INTEGER;
UPDATE events SET wait_ms = events.at - r.created_at FROM requests r WHERE r.id = events.request_id AND events.kind = 'accepted';
-- The window's accepts (their waits) and the referrers to thank.
CREATE INDEX events_referrer_work ON events (guild_id, kind, at, actor_id, wait_ms) WHERE kind = 'accepted' OR kind = 'submitted';

-- Events per server and what they are (the kind; 'outcome:' and the
-- result for an outcome), per UTC hour and UTC day (the bucket's start in
-- ms) and all time. A window reads its whole days, the whole hours at its
-- ends, and only the partial hours at its very ends from events.
CREATE TABLE event_hours (
    guild_id TEXT NOT NULL,
    hour     INTEGER NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, hour, what)
) WITHOUT ROWID;
CREATE TABLE event_days (
    guild_id TEXT NOT NULL,
    day      INTEGER NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, what)
) WITHOUT ROWID;
CREATE TABLE event_totals (
    guild_id TEXT NOT NULL,
    what     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, what)
) WITHOUT ROWID;

CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
    INSERT INTO event_hours VALUES (NEW.guild_id, NEW.at / 3600000 * 3600000,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO event_days VALUES (NEW.guild_id, NEW.at / 86400000 * 86400000,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO event_totals VALUES (NEW.guild_id,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
    UPDATE event_hours SET n = n - 1 WHERE guild_id = OLD.guild_id AND hour = OLD.at / 3600000 * 3600000
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
    UPDATE event_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
    UPDATE event_totals SET n = n - 1 WHERE guild_id = OLD.guild_id
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
END;
-- Events are history and never change what they count; should one, it
-- moves.
CREATE TRIGGER events_count_update AFTER UPDATE OF guild_id, kind, detail, at ON events
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.kind IS NOT NEW.kind OR OLD.detail IS NOT NEW.detail OR OLD.at IS NOT NEW.at
BEGIN
    UPDATE event_hours SET n = n - 1 WHERE guild_id = OLD.guild_id AND hour = OLD.at / 3600000 * 3600000
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
    UPDATE event_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
    UPDATE event_totals SET n = n - 1 WHERE guild_id = OLD.guild_id
        AND what = CASE WHEN OLD.kind = 'outcome' THEN 'outcome:' || OLD.detail ELSE OLD.kind END;
    INSERT INTO event_hours VALUES (NEW.guild_id, NEW.at / 3600000 * 3600000,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO event_days VALUES (NEW.guild_id, NEW.at / 86400000 * 86400000,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO event_totals VALUES (NEW.guild_id,
        CASE WHEN NEW.kind = 'outcome' THEN 'outcome:' || NEW.detail ELSE NEW.kind END, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- Per server, company and spelling of its name: requests ever made, how
-- many wait, are open (waiting, offered, accepted) or were submitted, and
-- the active referrers naming it. Stats and the "wanted" list group the
-- spellings by company_key and show the first name, as before.
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
) WITHOUT ROWID;
-- The "wanted" list: companies with waiting requests.
CREATE INDEX company_counts_waiting ON company_counts (guild_id, company_key, company_name, waiting) WHERE waiting > 0;

CREATE TRIGGER requests_count_insert AFTER INSERT ON requests BEGIN
    INSERT INTO company_counts (guild_id, company_key, company_name, requests, waiting, open, submitted)
    VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, 1, NEW.state = 'waiting',
        NEW.state IN ('waiting', 'offered', 'accepted'), NEW.submitted_at IS NOT NULL)
    ON CONFLICT DO UPDATE SET requests = requests + 1, waiting = waiting + excluded.waiting,
        open = open + excluded.open, submitted = submitted + excluded.submitted;
END;
CREATE TRIGGER requests_count_update AFTER UPDATE OF state, submitted_at ON requests
WHEN (OLD.state IS NOT NEW.state OR (OLD.submitted_at IS NULL) != (NEW.submitted_at IS NULL))
    AND OLD.guild_id IS NEW.guild_id AND OLD.company_key IS NEW.company_key AND OLD.company_name IS NEW.company_name
BEGIN
    UPDATE company_counts SET
        waiting = waiting + (NEW.state = 'waiting') - (OLD.state = 'waiting'),
        open = open + (NEW.state IN ('waiting', 'offered', 'accepted')) - (OLD.state IN ('waiting', 'offered', 'accepted')),
        submitted = submitted + (NEW.submitted_at IS NOT NULL) - (OLD.submitted_at IS NOT NULL)
    WHERE guild_id = NEW.guild_id AND company_key = NEW.company_key AND company_name = NEW.company_name;
END;
CREATE TRIGGER requests_count_move AFTER UPDATE OF guild_id, company_key, company_name ON requests
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.company_key IS NOT NEW.company_key OR OLD.company_name IS NOT NEW.company_name
BEGIN
    UPDATE company_counts SET requests = requests - 1, waiting = waiting - (OLD.state = 'waiting'),
        open = open - (OLD.state IN ('waiting', 'offered', 'accepted')), submitted = submitted - (OLD.submitted_at IS NOT NULL)
    WHERE guild_id = OLD.guild_id AND company_key = OLD.company_key AND company_name = OLD.company_name;
    INSERT INTO company_counts (guild_id, company_key, company_name, requests, waiting, open, submitted)
    VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, 1, NEW.state = 'waiting',
        NEW.state IN ('waiting', 'offered', 'accepted'), NEW.submitted_at IS NOT NULL)
    ON CONFLICT DO UPDATE SET requests = requests + 1, waiting = waiting + excluded.waiting,
        open = open + excluded.open, submitted = submitted + excluded.submitted;
END;
CREATE TRIGGER requests_count_delete AFTER DELETE ON requests BEGIN
    UPDATE company_counts SET requests = requests - 1, waiting = waiting - (OLD.state = 'waiting'),
        open = open - (OLD.state IN ('waiting', 'offered', 'accepted')), submitted = submitted - (OLD.submitted_at IS NOT NULL)
    WHERE guild_id = OLD.guild_id AND company_key = OLD.company_key AND company_name = OLD.company_name;
END;

-- Referrer profiles per server and status.
CREATE TABLE referrer_counts (
    guild_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, status)
) WITHOUT ROWID;

CREATE TRIGGER referrers_count_insert AFTER INSERT ON referrers BEGIN
    INSERT INTO referrer_counts VALUES (NEW.guild_id, NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO company_counts (guild_id, company_key, company_name, referrers)
    SELECT NEW.guild_id, company_key, company_name, 1 FROM referrer_companies WHERE referrer_id = NEW.id AND NEW.status = 'active'
    ON CONFLICT DO UPDATE SET referrers = referrers + 1;
END;
CREATE TRIGGER referrers_count_update AFTER UPDATE OF status, guild_id ON referrers
WHEN OLD.status IS NOT NEW.status OR OLD.guild_id IS NOT NEW.guild_id
BEGIN
    UPDATE referrer_counts SET n = n - 1 WHERE guild_id = OLD.guild_id AND status = OLD.status;
    INSERT INTO referrer_counts VALUES (NEW.guild_id, NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE company_counts SET referrers = referrers - 1 WHERE OLD.status = 'active' AND guild_id = OLD.guild_id
        AND (company_key, company_name) IN (SELECT company_key, company_name FROM referrer_companies WHERE referrer_id = OLD.id);
    INSERT INTO company_counts (guild_id, company_key, company_name, referrers)
    SELECT NEW.guild_id, company_key, company_name, 1 FROM referrer_companies WHERE referrer_id = NEW.id AND NEW.status = 'active'
    ON CONFLICT DO UPDATE SET referrers = referrers + 1;
END;
-- BEFORE: the profile's companies are still there; ON DELETE CASCADE
-- removes them after the profile, when referrer_companies_count_delete
-- finds no active profile and counts nothing twice.
CREATE TRIGGER referrers_count_delete BEFORE DELETE ON referrers BEGIN
    UPDATE referrer_counts SET n = n - 1 WHERE guild_id = OLD.guild_id AND status = OLD.status;
    UPDATE company_counts SET referrers = referrers - 1 WHERE OLD.status = 'active' AND guild_id = OLD.guild_id
        AND (company_key, company_name) IN (SELECT company_key, company_name FROM referrer_companies WHERE referrer_id = OLD.id);
END;
CREATE TRIGGER referrer_companies_count_insert AFTER INSERT ON referrer_companies BEGIN
    INSERT INTO company_counts (guild_id, company_key, company_name, referrers)
    SELECT guild_id, NEW.company_key, NEW.company_name, 1 FROM referrers WHERE id = NEW.referrer_id AND status = 'active'
    ON CONFLICT DO UPDATE SET referrers = referrers + 1;
END;
CREATE TRIGGER referrer_companies_count_delete AFTER DELETE ON referrer_companies BEGIN
    UPDATE company_counts SET referrers = referrers - 1
    WHERE guild_id = (SELECT guild_id FROM referrers WHERE id = OLD.referrer_id AND status = 'active')
        AND company_key = OLD.company_key AND company_name = OLD.company_name;
END;
CREATE TRIGGER referrer_companies_count_update AFTER UPDATE ON referrer_companies BEGIN
    UPDATE company_counts SET referrers = referrers - 1
    WHERE guild_id = (SELECT guild_id FROM referrers WHERE id = OLD.referrer_id AND status = 'active')
        AND company_key = OLD.company_key AND company_name = OLD.company_name;
    INSERT INTO company_counts (guild_id, company_key, company_name, referrers)
    SELECT guild_id, NEW.company_key, NEW.company_name, 1 FROM referrers WHERE id = NEW.referrer_id AND status = 'active'
    ON CONFLICT DO UPDATE SET referrers = referrers + 1;
END;

-- Messages kept as undeliverable (failed, and the user was not reached
-- in the fallback channel instead), per server.
CREATE TABLE undeliverable_counts (
    guild_id TEXT PRIMARY KEY,
    n        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox
WHEN NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback
BEGIN
    INSERT INTO undeliverable_counts VALUES (NEW.guild_id, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_count_update AFTER UPDATE OF failed_at, reached_in_fallback, guild_id ON outbox
WHEN (OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback) IS NOT (NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback)
    OR OLD.guild_id IS NOT NEW.guild_id
BEGIN
    UPDATE undeliverable_counts SET n = n - 1 WHERE guild_id = OLD.guild_id AND OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback;
    INSERT INTO undeliverable_counts SELECT NEW.guild_id, 1 WHERE NEW.failed_at IS NOT NULL AND NOT NEW.reached_in_fallback
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
WHEN OLD.failed_at IS NOT NULL AND NOT OLD.reached_in_fallback
BEGIN
    UPDATE undeliverable_counts SET n = n - 1 WHERE guild_id = OLD.guild_id;
END;

-- Backfill from history (RebuildAggregates runs the same queries).
INSERT INTO event_hours (guild_id, hour, what, n)
SELECT guild_id, at / 3600000 * 3600000, CASE WHEN kind = 'outcome' THEN 'outcome:' || detail ELSE kind END, COUNT(*)
FROM events GROUP BY 1, 2, 3;
INSERT INTO event_days (guild_id, day, what, n)
SELECT guild_id, at / 86400000 * 86400000, CASE WHEN kind = 'outcome' THEN 'outcome:' || detail ELSE kind END, COUNT(*)
FROM events GROUP BY 1, 2, 3;
INSERT INTO event_totals (guild_id, what, n)
SELECT guild_id, CASE WHEN kind = 'outcome' THEN 'outcome:' || detail ELSE kind END, COUNT(*)
FROM events GROUP BY 1, 2;
INSERT INTO company_counts (guild_id, company_key, company_name, requests, waiting, open, submitted, referrers)
SELECT guild_id, company_key, company_name, SUM(requests), SUM(waiting), SUM(open), SUM(submitted), SUM(referrers) FROM (
    SELECT guild_id, company_key, company_name, 1 AS requests, state = 'waiting' AS waiting,
        state IN ('waiting', 'offered', 'accepted') AS open, submitted_at IS NOT NULL AS submitted, 0 AS referrers
    FROM requests
    UNION ALL
    SELECT r.guild_id, c.company_key, c.company_name, 0, 0, 0, 0, 1
    FROM referrer_companies c JOIN referrers r ON r.id = c.referrer_id WHERE r.status = 'active'
) GROUP BY 1, 2, 3;
INSERT INTO referrer_counts (guild_id, status, n) SELECT guild_id, status, COUNT(*) FROM referrers GROUP BY 1, 2;
INSERT INTO undeliverable_counts (guild_id, n)
SELECT guild_id, COUNT(*) FROM outbox WHERE failed_at IS NOT NULL AND NOT reached_in_fallback GROUP BY 1;
