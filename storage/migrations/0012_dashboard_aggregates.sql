-- Aggregates the dashboard reads instead of a server's history: the
-- funnel of requests by the day they were made, each referrer's work by
-- day, and all-time histograms of the waits behind its medians. Like 0004,
-- triggers keep them in the statement that writes what they count, and
-- RebuildAggregates recomputes them from history.

-- The furthest step each request reached: 0 made, 1 offered, 2 accepted,
-- 3 submitted, 4 recruiter screen, 5 interview, 6 job offer (a request
-- that skipped a step counts for it too). It only grows, with its events.
ALTER TABLE requests ADD COLUMN furthest INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET furthest = COALESCE((SELECT MAX(CASE e.kind WHEN 'offered' THEN 1 WHEN 'accepted' THEN 2 WHEN 'submitted' THEN 3
        ELSE CASE e.detail WHEN 'screen' THEN 4 WHEN 'interview' THEN 5 WHEN 'offer' THEN 6 ELSE 0 END END)
    FROM events e WHERE e.request_id = requests.id AND e.kind IN ('offered', 'accepted', 'submitted', 'outcome')), 0);

-- Requests per server, UTC day made (its start in ms), company spelling
-- and furthest step; and the same all time.
CREATE TABLE funnel_days (
    guild_id     TEXT NOT NULL,
    day          INTEGER NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, company_key, company_name, step)
) WITHOUT ROWID;
CREATE TABLE funnel_totals (
    guild_id     TEXT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    step         INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, company_key, company_name, step)
) WITHOUT ROWID;
INSERT INTO funnel_days (guild_id, day, company_key, company_name, step, n)
SELECT guild_id, created_at / 86400000 * 86400000, company_key, company_name, furthest, COUNT(*) FROM requests GROUP BY 1, 2, 3, 4, 5;
INSERT INTO funnel_totals (guild_id, company_key, company_name, step, n)
SELECT guild_id, company_key, company_name, furthest, COUNT(*) FROM requests GROUP BY 1, 2, 3, 4;

-- A referrer's offers received, accepts, declines and submissions (the
-- actor of those events) per server and UTC day, and all time with the
-- last one of each. Forget-me blanks the actor of all their events at
-- once, which empties their rows.
CREATE TABLE actor_days (
    guild_id TEXT NOT NULL,
    day      INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, day, actor_id, kind)
) WITHOUT ROWID;
CREATE TABLE actor_totals (
    guild_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    last_at  INTEGER,
    PRIMARY KEY (guild_id, actor_id, kind)
) WITHOUT ROWID;
INSERT INTO actor_days (guild_id, day, actor_id, kind, n)
SELECT guild_id, at / 86400000 * 86400000, actor_id, kind, COUNT(*) FROM events
WHERE kind IN ('offered', 'accepted', 'declined', 'submitted') AND actor_id != '' GROUP BY 1, 2, 3, 4;
INSERT INTO actor_totals (guild_id, actor_id, kind, n, last_at)
SELECT guild_id, actor_id, kind, COUNT(*), MAX(at) FROM events
WHERE kind IN ('offered', 'accepted', 'declined', 'submitted') AND actor_id != '' GROUP BY 1, 2, 3;

-- The first outcome of a request carries the wait since its submission,
-- as an accept carries the wait since the request (0004); the window's
-- first outcomes are read through this index.
UPDATE events SET wait_ms = events.at - r.submitted_at FROM requests r
WHERE r.id = events.request_id AND events.kind = 'outcome' AND r.submitted_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM events p WHERE p.request_id = events.request_id AND p.kind = 'outcome' AND p.id < events.id);
CREATE INDEX events_first_outcome ON events (guild_id, at, wait_ms) WHERE kind = 'outcome' AND wait_ms IS NOT NULL;

-- All-time waits per server in whole minutes, for the all-time medians:
-- what is 'accepted' (request to accept) or 'outcome' (submission to
-- first outcome).
CREATE TABLE wait_minutes (
    guild_id TEXT NOT NULL,
    what     TEXT NOT NULL,
    minute   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, what, minute)
) WITHOUT ROWID;
INSERT INTO wait_minutes (guild_id, what, minute, n)
SELECT guild_id, kind, wait_ms / 60000, COUNT(*) FROM events WHERE wait_ms IS NOT NULL AND kind IN ('accepted', 'outcome') GROUP BY 1, 2, 3;

CREATE TRIGGER events_furthest AFTER INSERT ON events
WHEN NEW.kind IN ('offered', 'accepted', 'submitted') OR (NEW.kind = 'outcome' AND NEW.detail IN ('screen', 'interview', 'offer'))
BEGIN
    UPDATE requests SET furthest = CASE NEW.kind WHEN 'offered' THEN 1 WHEN 'accepted' THEN 2 WHEN 'submitted' THEN 3
            ELSE CASE NEW.detail WHEN 'screen' THEN 4 WHEN 'interview' THEN 5 ELSE 6 END END
    WHERE id = NEW.request_id AND furthest < CASE NEW.kind WHEN 'offered' THEN 1 WHEN 'accepted' THEN 2 WHEN 'submitted' THEN 3
            ELSE CASE NEW.detail WHEN 'screen' THEN 4 WHEN 'interview' THEN 5 ELSE 6 END END;
END;

CREATE TRIGGER requests_funnel_insert AFTER INSERT ON requests BEGIN
    INSERT INTO funnel_days VALUES (NEW.guild_id, NEW.created_at / 86400000 * 86400000, NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO funnel_totals VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_funnel_update AFTER UPDATE OF furthest, guild_id, company_key, company_name, created_at ON requests
WHEN OLD.furthest IS NOT NEW.furthest OR OLD.guild_id IS NOT NEW.guild_id OR OLD.company_key IS NOT NEW.company_key
    OR OLD.company_name IS NOT NEW.company_name OR OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE funnel_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.created_at / 86400000 * 86400000
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
    UPDATE funnel_totals SET n = n - 1 WHERE guild_id = OLD.guild_id
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
    INSERT INTO funnel_days VALUES (NEW.guild_id, NEW.created_at / 86400000 * 86400000, NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO funnel_totals VALUES (NEW.guild_id, NEW.company_key, NEW.company_name, NEW.furthest, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER requests_funnel_delete AFTER DELETE ON requests BEGIN
    UPDATE funnel_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.created_at / 86400000 * 86400000
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
    UPDATE funnel_totals SET n = n - 1 WHERE guild_id = OLD.guild_id
        AND company_key = OLD.company_key AND company_name = OLD.company_name AND step = OLD.furthest;
END;

CREATE TRIGGER events_actor_insert AFTER INSERT ON events
WHEN NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
BEGIN
    INSERT INTO actor_days VALUES (NEW.guild_id, NEW.at / 86400000 * 86400000, NEW.actor_id, NEW.kind, 1) ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO actor_totals VALUES (NEW.guild_id, NEW.actor_id, NEW.kind, 1, NEW.at)
    ON CONFLICT DO UPDATE SET n = n + 1, last_at = CASE WHEN last_at IS NULL OR excluded.last_at > last_at THEN excluded.last_at ELSE last_at END;
END;
CREATE TRIGGER events_actor_delete AFTER DELETE ON events
WHEN OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
BEGIN
    UPDATE actor_days SET n = n - 1 WHERE guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind;
    UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
    WHERE guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind;
END;
CREATE TRIGGER events_actor_update AFTER UPDATE OF guild_id, actor_id, kind, at ON events
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.actor_id IS NOT NEW.actor_id OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
BEGIN
    UPDATE actor_days SET n = n - 1 WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND day = OLD.at / 86400000 * 86400000 AND actor_id = OLD.actor_id AND kind = OLD.kind;
    UPDATE actor_totals SET n = n - 1, last_at = CASE WHEN n = 1 THEN NULL ELSE last_at END
    WHERE OLD.kind IN ('offered', 'accepted', 'declined', 'submitted') AND OLD.actor_id != ''
        AND guild_id = OLD.guild_id AND actor_id = OLD.actor_id AND kind = OLD.kind;
    INSERT INTO actor_days SELECT NEW.guild_id, NEW.at / 86400000 * 86400000, NEW.actor_id, NEW.kind, 1
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO actor_totals SELECT NEW.guild_id, NEW.actor_id, NEW.kind, 1, NEW.at
    WHERE NEW.kind IN ('offered', 'accepted', 'declined', 'submitted') AND NEW.actor_id != ''
    ON CONFLICT DO UPDATE SET n = n + 1, last_at = CASE WHEN last_at IS NULL OR excluded.last_at > last_at THEN excluded.last_at ELSE last_at END;
END;

-- Waits are written with their event (storage.insertEvent) and never
-- change but by RebuildAggregates, which recounts this table too.
CREATE TRIGGER events_wait_insert AFTER INSERT ON events WHEN NEW.wait_ms IS NOT NULL AND NEW.kind IN ('accepted', 'outcome')
BEGIN
    INSERT INTO wait_minutes VALUES (NEW.guild_id, NEW.kind, NEW.wait_ms / 60000, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER events_wait_delete AFTER DELETE ON events WHEN OLD.wait_ms IS NOT NULL AND OLD.kind IN ('accepted', 'outcome')
BEGIN
    UPDATE wait_minutes SET n = n - 1 WHERE guild_id = OLD.guild_id AND what = OLD.kind AND minute = OLD.wait_ms / 60000;
END;
