-- PostgreSQL's spelling of migrations/0005_scale.sql: each profile keeps
-- its offer load, kept exact by the offer triggers below, and each company
-- membership the ranking a referrer needs (0004 already has 0005's
-- referrer_companies_count_update). match_due and free are BOOLEAN here.

ALTER TABLE referrers ADD COLUMN offer_load INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrers ADD COLUMN load_recheck_at BIGINT DEFAULT 0;
ALTER TABLE referrers ADD COLUMN match_due BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX referrers_sweep ON referrers ((CASE WHEN match_due THEN 0 ELSE load_recheck_at END))
    WHERE match_due OR load_recheck_at IS NOT NULL;
CREATE INDEX referrers_recheck ON referrers (load_recheck_at) WHERE load_recheck_at IS NOT NULL;

CREATE FUNCTION offers_load_asked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrers SET offer_load = offer_load + 1 WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_load_asked AFTER INSERT ON offers FOR EACH ROW WHEN (NEW.state = 'pending')
EXECUTE FUNCTION offers_load_asked();

-- An accepted offer keeps its place in the load for 30 days (2592000000 ms).
CREATE FUNCTION offers_load_accepted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrers SET load_recheck_at = LEAST(COALESCE(load_recheck_at, NEW.answered_at + 2592000000), NEW.answered_at + 2592000000)
    WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_load_accepted AFTER UPDATE OF state ON offers FOR EACH ROW
WHEN (OLD.state = 'pending' AND NEW.state = 'accepted')
EXECUTE FUNCTION offers_load_accepted();

CREATE FUNCTION offers_load_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrers SET offer_load = offer_load - 1, match_due = TRUE
    WHERE guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_load_ended AFTER UPDATE OF state ON offers FOR EACH ROW
WHEN (OLD.state = 'pending' AND NEW.state NOT IN ('pending', 'accepted'))
EXECUTE FUNCTION offers_load_ended();

CREATE FUNCTION offers_load_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrers SET load_recheck_at = 0
    WHERE (guild_id = OLD.guild_id AND user_id = OLD.referrer_user_id) OR (guild_id = NEW.guild_id AND user_id = NEW.referrer_user_id);
    RETURN NULL;
END $$;
CREATE TRIGGER offers_load_moved AFTER UPDATE OF state, guild_id, referrer_user_id ON offers FOR EACH ROW
WHEN ((OLD.state = 'accepted' AND NEW.state != 'accepted') OR OLD.guild_id != NEW.guild_id OR OLD.referrer_user_id != NEW.referrer_user_id)
EXECUTE FUNCTION offers_load_moved();

CREATE FUNCTION offers_load_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrers SET load_recheck_at = 0 WHERE guild_id = OLD.guild_id AND user_id = OLD.referrer_user_id;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_load_deleted AFTER DELETE ON offers FOR EACH ROW WHEN (OLD.state IN ('pending', 'accepted'))
EXECUTE FUNCTION offers_load_deleted();

-- rank_key orders by load, then last offer: offer_load * 2^42 + last_offered_at.
ALTER TABLE referrer_companies ADD COLUMN guild_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN school TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE referrer_companies ADD COLUMN rank_key BIGINT NOT NULL DEFAULT 0;
ALTER TABLE referrer_companies ADD COLUMN free BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX referrer_companies_free ON referrer_companies (company_key, guild_id, school, roles, rank_key, user_id, free) WHERE free;

CREATE FUNCTION referrer_companies_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrer_companies SET guild_id = rf.guild_id, user_id = rf.user_id, school = rf.school, roles = rf.roles,
        rank_key = rf.offer_load * 4398046511104 + COALESCE(rf.last_offered_at, 0), free = rf.status = 'active' AND rf.offer_load < rf.capacity
    FROM referrers rf WHERE rf.id = NEW.referrer_id AND referrer_companies.rowid = NEW.rowid;
    RETURN NULL;
END $$;
CREATE TRIGGER referrer_companies_added AFTER INSERT ON referrer_companies FOR EACH ROW EXECUTE FUNCTION referrer_companies_added();

CREATE FUNCTION referrers_ranked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE referrer_companies SET guild_id = NEW.guild_id, user_id = NEW.user_id, school = NEW.school, roles = NEW.roles,
        rank_key = NEW.offer_load * 4398046511104 + COALESCE(NEW.last_offered_at, 0), free = NEW.status = 'active' AND NEW.offer_load < NEW.capacity
    WHERE referrer_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER referrers_ranked AFTER UPDATE OF guild_id, user_id, status, school, roles, capacity, offer_load, last_offered_at ON referrers
FOR EACH ROW EXECUTE FUNCTION referrers_ranked();
