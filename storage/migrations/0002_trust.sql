-- Trust: how each referrer became active, reports by students, work-email
-- verification codes, and details in the trust log (admin_actions).

-- 'role': joined holding the server's referrer role, so the bot checks with
-- Discord that they still hold it before delivering an offer; 'admin':
-- approved with /referral-admin approve, no role check; '': pending.
ALTER TABLE referrers ADD COLUMN active_via TEXT NOT NULL DEFAULT '';
-- Why a paused referrer is paused: '' their own /referrer pause, 'reported'
-- a student reported them and only an admin's approve or remove ends it.
ALTER TABLE referrers ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';

-- Profiles from before this migration: an approve on record means an admin
-- vouched for them; any other active or paused profile joined with the role.
UPDATE referrers SET active_via = 'admin' WHERE status != 'pending' AND EXISTS (
    SELECT 1 FROM admin_actions a WHERE a.guild_id = referrers.guild_id AND a.target_id = referrers.user_id AND a.action = 'approve');
UPDATE referrers SET active_via = 'role' WHERE status != 'pending' AND active_via = '';

-- The trust log: approve, remove, role_lost (admin_id '' = the bot),
-- report (admin_id = the student), verified (admin_id '', target = the
-- referrer, detail = the domain).
ALTER TABLE admin_actions ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE INDEX admin_actions_guild_at ON admin_actions (guild_id, at);

-- A student's report about the referrer of one of their requests. Open
-- until an admin approves (resolution 'approved') or removes ('removed')
-- the referrer; a referrer who leaves and joins again is paused again.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    guild_id    TEXT NOT NULL,
    request_id  INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    reporter_id TEXT NOT NULL,
    referrer_id TEXT NOT NULL,
    at          INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT NOT NULL DEFAULT '',
    resolution  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reports_one_per_request ON reports (request_id);
CREATE INDEX reports_open ON reports (guild_id, referrer_id) WHERE resolved_at IS NULL;

-- One pending work-email verification per referrer profile. Only the
-- domain is kept, never the address; the code is kept as SHA-256 over a
-- random salt and the code. Deleted with the profile (leave, remove,
-- forget-me) and once verified.
CREATE TABLE email_codes (
    id           INTEGER PRIMARY KEY,
    referrer_id  INTEGER NOT NULL UNIQUE REFERENCES referrers (id) ON DELETE CASCADE,
    domain       TEXT NOT NULL,
    salt         BLOB NOT NULL,
    code_hash    BLOB NOT NULL,
    sent_at      INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    mail_state   TEXT NOT NULL DEFAULT 'sending' CHECK (mail_state IN ('sending', 'sent', 'failed')),
    mail_error   TEXT NOT NULL DEFAULT '',
    tries        INTEGER NOT NULL DEFAULT 0,   -- wrong codes since the last lock or success
    locked_until INTEGER                       -- too many wrong codes: no code until then
);

-- forget-me anonymizes requests and offers; reports follow, so the
-- forgotten user's id is gone from them too.
CREATE TRIGGER reports_forget_student AFTER UPDATE OF student_id ON requests
WHEN OLD.student_id != '' AND NEW.student_id = ''
BEGIN
    UPDATE reports SET reporter_id = '' WHERE reporter_id = OLD.student_id;
    UPDATE admin_actions SET admin_id = '' WHERE admin_id = OLD.student_id AND action = 'report';
END;
CREATE TRIGGER reports_forget_referrer AFTER UPDATE OF referrer_user_id ON offers
WHEN OLD.referrer_user_id != '' AND NEW.referrer_user_id = ''
BEGIN
    UPDATE reports SET referrer_id = '' WHERE referrer_id = OLD.referrer_user_id;
END;
