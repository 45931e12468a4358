-- The company counts of 0004 follow a membership's company and profile
-- only; the ranking columns below change far more often and count nothing.
DROP TRIGGER referrer_companies_count_update;
CREATE TRIGGER referrer_companies_count_update AFTER UPDATE OF referrer_id, company_key, company_name ON referrer_companies BEGIN
    UPDATE company_counts SET referrers = referrers - 1
    WHERE guild_id = (SELECT guild_id FROM referrers WHERE id = OLD.referrer_id AND status = 'active')
        AND company_key = OLD.company_key AND company_name = OLD.company_name;
    INSERT INTO company_counts (guild_id, company_key, company_name, referrers)
    SELECT guild_id, NEW.company_key, NEW.company_name, 1 FROM referrers WHERE id = NEW.referrer_id AND status = 'active'
    ON CONFLICT DO UPDATE SET referrers = referrers + 1;
END;

-- Choosing a referrer reads no offer history: each profile keeps its load,
-- the offers pending now plus those accepted in the last 30 days, kept
-- exact by the triggers below as offers are made and answered. What the
-- triggers cannot see is time passing, so load_recheck_at says when the
-- load must be counted again: when the oldest accepted offer in the
-- window leaves it, or 0 (at once) when it cannot be trusted; NULL when
-- nothing will change by itself. match_due says the referrer's capacity
-- grew since the sweep last matched waiting requests for them. The sweep
-- looks only at referrers due by one or the other (referrers_sweep).
-- Existing and new profiles start due on both: counted and matched once.
ALTER TABLE referrers ADD COLUMN offer_load INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrers ADD COLUMN load_recheck_at INTEGER DEFAULT 0;
ALTER TABLE referrers ADD COLUMN match_due INTEGER NOT NULL DEFAULT 1;
CREATE INDEX referrers_sweep ON referrers ((CASE WHEN match_due THEN 0 ELSE load_recheck_at END))
    WHERE match_due OR load_recheck_at IS NOT NULL;
CREATE INDEX referrers_recheck ON referrers (load_recheck_at) WHERE load_recheck_at IS NOT NULL;

CREATE TRIGGER offers_load_asked AFTER INSERT ON offers WHEN NEW.state = 'pending'
BEGIN
    UPDATE referrers SET offer_load = offer_load + 1 WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
END;

-- An accepted offer keeps its place in the load for 30 days (2592000000 ms).
CREATE TRIGGER offers_load_accepted AFTER UPDATE OF state ON offers
WHEN OLD.state = 'pending' AND NEW.state = 'accepted'
BEGIN
    UPDATE referrers SET load_recheck_at = MIN(COALESCE(load_recheck_at, NEW.answered_at + 2592000000), NEW.answered_at + 2592000000)
    WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
END;

CREATE TRIGGER offers_load_ended AFTER UPDATE OF state ON offers
WHEN OLD.state = 'pending' AND NEW.state NOT IN ('pending', 'accepted')
BEGIN
    UPDATE referrers SET offer_load = offer_load - 1, match_due = 1
    WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
END;

-- Anything else that touches a counted offer (the store does none of it
-- today; forget-me blanks the referrer of old offers) is recounted.
CREATE TRIGGER offers_load_moved AFTER UPDATE OF state, guild_id, referrer_user_id ON offers
WHEN (OLD.state = 'accepted' AND NEW.state != 'accepted') OR OLD.guild_id != NEW.guild_id OR OLD.referrer_user_id != NEW.referrer_user_id
BEGIN
    UPDATE referrers SET load_recheck_at = 0
    WHERE (guild_id = OLD.guild_id AND user_id = OLD.referrer_user_id) OR (guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id);
END;

CREATE TRIGGER offers_load_deleted AFTER DELETE ON offers WHEN OLD.state IN ('pending', 'accepted')
BEGIN
    UPDATE referrers SET load_recheck_at = 0 WHERE guild_id = OLD.guild_id AND user_id = OLD.referrer_user_id;
END;

-- Each company membership carries what ranking a referrer needs, kept by
-- triggers from the profile, so one index lists a company's referrers who
-- can take an offer, grouped by (school, roles) and in rank order inside
-- each group: choosing reads the first of each group, never the whole list
-- in Go. rank_key orders by load, then last offer (never offered first):
-- offer_load * 2^42 + last_offered_at.
ALTER TABLE referrer_companies ADD COLUMN guild_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN school TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN rank_key INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrer_companies ADD COLUMN free INTEGER NOT NULL DEFAULT 0; -- active with capacity left
UPDATE referrer_companies SET guild_id = rf.guild_id, user_id = rf.user_id, school = rf.school, roles = rf.roles,
    rank_key = rf.offer_load * 4398046511104 + COALESCE(rf.last_offered_at, 0), free = rf.status = 'active' AND rf.offer_load < rf.capacity
FROM referrers rf WHERE rf.id = referrer_companies.referrer_id;
CREATE INDEX referrer_companies_free ON referrer_companies (company_key, guild_id, school, roles, rank_key, user_id, free) WHERE free;

CREATE TRIGGER referrer_companies_added AFTER INSERT ON referrer_companies
BEGIN
    UPDATE referrer_companies SET guild_id = rf.guild_id, user_id = rf.user_id, school = rf.school, roles = rf.roles,
        rank_key = rf.offer_load * 4398046511104 + COALESCE(rf.last_offered_at, 0), free = rf.status = 'active' AND rf.offer_load < rf.capacity
    FROM referrers rf WHERE rf.id = NEW.referrer_id AND referrer_companies.rowid = NEW.rowid;
END;

CREATE TRIGGER referrers_ranked AFTER UPDATE OF guild_id, user_id, status, school, roles, capacity, offer_load, last_offered_at ON referrers
BEGIN
    UPDATE referrer_companies SET guild_id = NEW.guild_id, user_id = NEW.user_id, school = NEW.school, roles = NEW.roles,
        rank_key = NEW.offer_load * 4398046511104 + COALESCE(NEW.last_offered_at, 0), free = NEW.status = 'active' AND NEW.offer_load < NEW.capacity
    WHERE referrer_id = NEW.id;
END;
