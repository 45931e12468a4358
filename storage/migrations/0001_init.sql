-- Times are INTEGER milliseconds since the Unix epoch, UTC, everywhere.

CREATE TABLE guild_settings (
    guild_id            TEXT PRIMARY KEY,
    digest_channel_id   TEXT NOT NULL DEFAULT '',
    fallback_channel_id TEXT NOT NULL DEFAULT '',
    referrer_role_id    TEXT NOT NULL DEFAULT '',
    digest_since        INTEGER,            -- when the digest channel was first set: no catch-up before it
    updated_at          INTEGER NOT NULL
);

CREATE TABLE referrers (
    id              INTEGER PRIMARY KEY,
    guild_id        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'active', 'paused')),
    school          TEXT NOT NULL DEFAULT '',
    roles           TEXT NOT NULL DEFAULT '',
    capacity        INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 20),
    paused_until    INTEGER,
    verified_domain TEXT NOT NULL DEFAULT '',
    last_offered_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (guild_id, user_id)
);
CREATE INDEX referrers_user ON referrers (user_id);

CREATE TABLE referrer_companies (
    referrer_id  INTEGER NOT NULL REFERENCES referrers (id) ON DELETE CASCADE,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    PRIMARY KEY (referrer_id, company_key)
);
CREATE INDEX referrer_companies_key ON referrer_companies (company_key, referrer_id);

-- Request numbers are unique across servers (AUTOINCREMENT never reuses one).
CREATE TABLE requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     TEXT NOT NULL,
    student_id   TEXT NOT NULL,            -- '' once the student used forget-me
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    state        TEXT NOT NULL,
    job_url      TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT '',
    intro        TEXT NOT NULL DEFAULT '',
    resume_url   TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    referrer_id  TEXT NOT NULL DEFAULT '', -- the referrer asked now, or who accepted
    outcome      TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    submitted_at INTEGER,
    closed_at    INTEGER,
    erased_at    INTEGER
);
CREATE INDEX requests_student ON requests (student_id, state);
CREATE INDEX requests_guild_created ON requests (guild_id, created_at);
CREATE INDEX requests_waiting ON requests (guild_id, company_key, created_at) WHERE state = 'waiting';
CREATE INDEX requests_retention ON requests (updated_at) WHERE erased_at IS NULL AND state IN ('closed', 'withdrawn', 'expired');

-- Drafts are requests that broke a rule or a limit, kept for "Edit request".
CREATE TABLE drafts (
    id           INTEGER PRIMARY KEY,
    guild_id     TEXT NOT NULL,
    student_id   TEXT NOT NULL,
    company_key  TEXT NOT NULL,
    company_name TEXT NOT NULL,
    job_url      TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT '',
    intro        TEXT NOT NULL DEFAULT '',
    resume_url   TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
);
CREATE INDEX drafts_student ON drafts (student_id);
CREATE INDEX drafts_updated ON drafts (updated_at);

-- One row per referrer asked; at most one pending offer per request.
CREATE TABLE offers (
    id               INTEGER PRIMARY KEY,
    request_id       INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    guild_id         TEXT NOT NULL,
    referrer_user_id TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'timed_out', 'cancelled')),
    reason           TEXT NOT NULL DEFAULT '',
    offered_at       INTEGER NOT NULL,
    answered_at      INTEGER
);
CREATE INDEX offers_request ON offers (request_id, referrer_user_id);
CREATE INDEX offers_referrer ON offers (guild_id, referrer_user_id, state, answered_at);
CREATE UNIQUE INDEX offers_one_pending ON offers (request_id) WHERE state = 'pending';

-- The history of each request; the digest and stats count these.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER REFERENCES requests (id) ON DELETE CASCADE,
    guild_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX events_guild_at ON events (guild_id, at, kind);
CREATE INDEX events_request ON events (request_id, kind);

-- Timed work: offer timeouts, reminders, follow-ups, expiries, pause ends.
CREATE TABLE steps (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0,
    due_at     INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    done_at    INTEGER,
    UNIQUE (kind, subject_id, seq)
);
CREATE INDEX steps_due ON steps (due_at) WHERE done_at IS NULL;

-- Messages to deliver; written in the transaction that decided them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    guild_id        TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',   -- DM recipient, or
    channel_id      TEXT NOT NULL DEFAULT '',   -- channel to post in
    request_id      INTEGER,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,              -- the notice as JSON; '' once sent
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,                    -- undeliverable: kept with its reason
    last_error      TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_failed ON outbox (guild_id) WHERE failed_at IS NOT NULL;
CREATE INDEX outbox_request ON outbox (request_id);
CREATE INDEX outbox_user ON outbox (user_id);

CREATE TABLE digests (
    guild_id  TEXT NOT NULL,
    week      TEXT NOT NULL,   -- ISO week in the configured time zone, e.g. 2026-W48
    posted_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, week)
);

CREATE TABLE dm_closed (
    user_id   TEXT PRIMARY KEY,
    closed_at INTEGER NOT NULL
);

CREATE TABLE admin_actions (
    id        INTEGER PRIMARY KEY,
    guild_id  TEXT NOT NULL,
    admin_id  TEXT NOT NULL,
    action    TEXT NOT NULL,
    target_id TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX admin_actions_target ON admin_actions (guild_id, target_id, at);
