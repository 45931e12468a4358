package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// Matching: who is asked next about a request, and the work that asks
// (offer to the next candidate, hand-on of a referrer's offers, waiting
// requests when referrers become free).

// candidates loads every referrer of the request's company in its server
// with their load, for referral.Rank to filter and order.
func candidates(ctx context.Context, tx *sql.Tx, now time.Time, r referral.Request) ([]referral.Candidate, error) {
	var out []referral.Candidate
	err := eachRow(ctx, tx, `SELECT rf.user_id, rf.status, rf.school, rf.roles, rf.capacity, rf.verified_domain, rf.last_offered_at,
			(SELECT COUNT(*) FROM offers o WHERE o.guild_id = rf.guild_id AND o.referrer_user_id = rf.user_id
				AND (o.state = 'pending' OR (o.state = 'accepted' AND o.answered_at >= ?))),
			EXISTS (SELECT 1 FROM offers o WHERE o.request_id = ? AND o.referrer_user_id = rf.user_id AND o.reason != 'undelivered')
		FROM referrer_companies c JOIN referrers rf ON rf.id = c.referrer_id
		WHERE c.company_key = ? AND rf.guild_id = ?`,
		[]any{ms(now.Add(-referral.CapacityWindow)), r.ID, r.Company.Key, r.GuildID}, func(rows *sql.Rows) error {
			var c referral.Candidate
			var last sql.NullInt64
			if err := rows.Scan(&c.UserID, &c.Status, &c.School, &c.Roles, &c.Capacity, &c.VerifiedDomain, &last, &c.UsedInWindow, &c.AlreadyAsked); err != nil {
				return err
			}
			c.LastOfferedAt = fromMS(last)
			out = append(out, c)
			return nil
		})
	return out, err
}

// choose is the referrer to ask next about r, or nil for nobody.
func choose(ctx context.Context, tx *sql.Tx, now time.Time, r referral.Request) (*referral.Candidate, error) {
	cands, err := candidates(ctx, tx, now, r)
	if err != nil {
		return nil, err
	}
	return referral.Best(r.Seeker(), cands, now), nil
}

// offerNext asks the best eligible referrer about a request, or leaves it
// waiting.
func (s *Store) offerNext(ctx context.Context, tx *sql.Tx, now time.Time, requestID int64, why referral.OfferWhy, a *applied) error {
	r, err := getRequest(ctx, tx, requestID)
	if err != nil {
		return err
	}
	next, err := choose(ctx, tx, now, r)
	if err != nil {
		return err
	}
	c, err := referral.OfferTo(referral.Snapshot{Request: &r, Next: next, Policy: s.policy}, why, now)
	if err != nil {
		return err
	}
	return s.run(ctx, tx, now, c, a)
}

// matchWaiting offers the server's waiting requests for the given
// companies, oldest first; called when referrers become available, and by
// the sweeper for capacity that frees up over time.
func (s *Store) matchWaiting(ctx context.Context, tx *sql.Tx, now time.Time, guildID string, companies []referral.Company, a *applied) error {
	for _, co := range companies {
		ids, err := idList(ctx, tx, `SELECT id FROM requests WHERE guild_id = ? AND company_key = ? AND state = 'waiting' ORDER BY created_at`, guildID, co.Key)
		if err != nil {
			return err
		}
		// Not stopping at the first request nobody is asked about: the free
		// referrers may all have been asked about it already, and a later
		// one is new to them.
		for _, id := range ids {
			if err := s.offerNext(ctx, tx, now, id, referral.OfferWaiting, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// handOn passes a departing, pausing or reported referrer's pending offers
// to the next candidate; with IncludeAccepted (leave, remove) their
// accepted but not yet submitted requests go back to matching as well.
func (s *Store) handOn(ctx context.Context, tx *sql.Tx, now time.Time, h referral.HandOn, a *applied) error {
	var pending []referral.Offer
	err := eachRow(ctx, tx, `SELECT id, request_id, guild_id, referrer_user_id, state FROM offers WHERE guild_id = ? AND referrer_user_id = ? AND state = 'pending'`,
		[]any{h.GuildID, h.UserID}, func(rows *sql.Rows) error {
			var o referral.Offer
			err := rows.Scan(&o.ID, &o.RequestID, &o.GuildID, &o.ReferrerID, &o.State)
			pending = append(pending, o)
			return err
		})
	if err != nil {
		return err
	}
	for _, o := range pending {
		r, err := getRequest(ctx, tx, o.RequestID)
		if err != nil {
			return err
		}
		c, err := referral.HandOnOffer(referral.Snapshot{Offer: &o, Request: &r}, h.Reason, now)
		if err != nil {
			return err
		}
		if err := s.run(ctx, tx, now, c, a); err != nil {
			return err
		}
	}
	if !h.IncludeAccepted {
		return nil
	}
	ids, err := idList(ctx, tx, `SELECT id FROM requests WHERE guild_id = ? AND referrer_id = ? AND state = 'accepted'`, h.GuildID, h.UserID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		c, err := referral.ReferrerGone(referral.Snapshot{Request: &r}, h.UserID, h.Reason, now)
		if err != nil {
			return err
		}
		if err := s.run(ctx, tx, now, c, a); err != nil {
			return err
		}
	}
	return nil
}

// MatchWaiting offers waiting requests to referrers who became free with no
// event to say so: an accepted referral left the 30-day capacity window, or
// an offer on another request ended. Joining, resuming and approving match
// at once; this catches the rest on every sweep. Each server and company is
// one transaction, and a company where nobody is free writes nothing. It
// returns how many requests were offered.
func (s *Store) MatchWaiting(ctx context.Context) (int, error) {
	type key struct{ guildID, company string }
	var keys []key
	err := eachRow(ctx, s.read, `SELECT DISTINCT guild_id, company_key FROM requests WHERE state = 'waiting'`, nil, func(rows *sql.Rows) error {
		var k key
		err := rows.Scan(&k.guildID, &k.company)
		keys = append(keys, k)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("match waiting: %w", err)
	}
	offered := 0
	var errs []error
	for _, k := range keys {
		a := newApplied()
		err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			return s.matchWaiting(ctx, tx, now, k.guildID, []referral.Company{{Key: k.company}}, a)
		})
		if err == nil {
			offered += len(a.offered)
			continue
		}
		if ctx.Err() != nil {
			return offered, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("match waiting %s in %s: %w", k.company, k.guildID, err))
	}
	return offered, errors.Join(errs...)
}
