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

// Candidate choice reads no history: each referrer's load is a column kept
// by triggers (migration 0005), counted again from history only when
// load_recheck_at has passed (an accepted offer left the 30-day window).

// The hot queries of matching, named for the plan test.
const (
	// dueAtCompanyQuery: a company's active referrers whose load may be
	// stale, found through the recheck index (few: an accepted offer of
	// theirs left the window since the last count).
	dueAtCompanyQuery = `SELECT rf.id FROM referrers rf INDEXED BY referrers_recheck WHERE rf.load_recheck_at < ? AND rf.guild_id = ? AND rf.status = 'active'
		AND EXISTS (SELECT 1 FROM referrer_companies c WHERE c.referrer_id = rf.id AND c.company_key = ?)`
	// bestPerProfileQuery: of the referrers who may be asked about a
	// request, the first by rank_key (load, last offer) and id of each
	// (school, roles) pair, read off referrer_companies_free in its order
	// (min() keeps the first row of a tie, the lowest id). Rank's first
	// two keys depend only on those two texts, so the best of these rows is
	// the best of all.
	bestPerProfileQuery = `SELECT user_id, school, roles, MIN(rank_key) FROM referrer_companies INDEXED BY referrer_companies_free
		WHERE company_key = ? AND guild_id = ? AND free AND user_id != ?
			AND user_id NOT IN (SELECT o.referrer_user_id FROM offers o WHERE o.request_id = ? AND o.reason != ?)
		GROUP BY school, roles`
	anyFreeQuery    = `SELECT EXISTS (SELECT 1 FROM referrer_companies INDEXED BY referrer_companies_free WHERE company_key = ? AND guild_id = ? AND free)`
	anyWaitingQuery = `SELECT EXISTS (SELECT 1 FROM requests WHERE guild_id = ? AND company_key = ? AND state = 'waiting')`
	// oldestWaitingQuery: the oldest waiting request that a free referrer
	// may be asked about.
	oldestWaitingQuery = `SELECT r.id FROM requests r
		WHERE r.guild_id = ? AND r.company_key = ? AND r.state = 'waiting' AND EXISTS (
			SELECT 1 FROM referrer_companies f INDEXED BY referrer_companies_free
			WHERE f.company_key = r.company_key AND f.guild_id = r.guild_id AND f.free AND f.user_id != r.student_id AND NOT EXISTS (
				SELECT 1 FROM offers o WHERE o.request_id = r.id AND o.referrer_user_id = f.user_id AND o.reason != ?))
		ORDER BY r.created_at, r.id LIMIT 1`
	// sweepDueQuery: referrers whose load may have dropped with time, or
	// whose capacity grew since the sweep last matched for them.
	sweepDueQuery = `SELECT id FROM referrers INDEXED BY referrers_sweep
		WHERE (CASE WHEN match_due THEN 0 ELSE load_recheck_at END) < ? AND (match_due OR load_recheck_at IS NOT NULL)`
	// recountDueQuery: referrers whose load may have dropped with time,
	// the longest due first.
	recountDueQuery = `SELECT id FROM referrers INDEXED BY referrers_recheck WHERE load_recheck_at < ? ORDER BY load_recheck_at LIMIT ?`
	// markFreeQuery: marks one free referrer of a company for the sweep,
	// which then matches the company's waiting requests again.
	markFreeQuery = `UPDATE referrers SET match_due = TRUE WHERE id = (SELECT referrer_id FROM referrer_companies INDEXED BY referrer_companies_free
		WHERE company_key = ? AND guild_id = ? AND free LIMIT 1)`
)

// recountDue brings the loads of a company's referrers up to date.
func recountDue(ctx context.Context, tx *txn, now time.Time, guildID, companyKey string) error {
	ids, err := idList(ctx, tx, dueAtCompanyQuery, ms(now), guildID, companyKey)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := recountLoad(ctx, tx, now, id); err != nil {
			return err
		}
	}
	return nil
}

// recountBatch is the most loads one transaction of recountDueLoads
// claims; the budget usually ends it first.
const recountBatch = 200

// recountDueLoads brings every load that time may have lowered up to date,
// before a sweep runs its steps, so that steps after downtime count each
// referrer once, not once for every offer at their company. After downtime
// that can be every referrer, so it works in transactions of at most the
// budget each, in load_recheck_at order; a count is right whenever it is
// made, and one that falls due meanwhile is made by recountDue where it
// matters.
func (s *Store) recountDueLoads(ctx context.Context) error {
	for {
		more := false
		err := s.tx(ctx, func(tx *txn, now time.Time) error {
			start := time.Now()
			more = false
			ids, err := idList(ctx, tx, recountDueQuery, ms(now), recountBatch)
			if err != nil {
				return err
			}
			for i, id := range ids {
				if i > 0 && time.Since(start) >= s.budget {
					more = true
					return nil
				}
				if _, err := recountLoad(ctx, tx, now, id); err != nil {
					return err
				}
			}
			// A recount moves load_recheck_at past now (or clears it),
			// so the next round reads the ones after these.
			more = len(ids) == recountBatch
			return nil
		})
		if err != nil {
			return fmt.Errorf("recount loads: %w", err)
		}
		if !more {
			return nil
		}
	}
}

// recountLoad counts a referrer's pending offers and offers accepted in the
// window from their history (a few index seeks), stores it with when to
// count again, and marks them for the sweep when the load dropped.
func recountLoad(ctx context.Context, tx *txn, now time.Time, referrerID int64) (int, error) {
	const count = `(SELECT COUNT(*) FROM offers o WHERE o.guild_id = referrers.guild_id AND o.referrer_user_id = referrers.user_id AND o.state = 'pending')
		+ (SELECT COUNT(*) FROM offers o WHERE o.guild_id = referrers.guild_id AND o.referrer_user_id = referrers.user_id
			AND o.state = 'accepted' AND o.answered_at >= ?1)`
	var load int
	err := tx.QueryRowContext(ctx, `UPDATE referrers SET offer_load = `+count+`, match_due = match_due OR `+count+` < offer_load,
			load_recheck_at = (SELECT MIN(o.answered_at) + ?2 FROM offers o WHERE o.guild_id = referrers.guild_id
				AND o.referrer_user_id = referrers.user_id AND o.state = 'accepted' AND o.answered_at >= ?1)
		WHERE id = ?3 RETURNING offer_load`,
		ms(now.Add(-referral.CapacityWindow)), referral.CapacityWindow.Milliseconds(), referrerID).Scan(&load)
	return load, err
}

// rankShift splits referrer_companies.rank_key into load and last offer.
const rankShift = 42

// candidates are the referrers who may be asked about r now, the best of
// each profile (see bestPerProfileQuery), for referral.Best to order.
func candidates(ctx context.Context, tx *txn, now time.Time, r referral.Request) ([]referral.Candidate, error) {
	if err := recountDue(ctx, tx, now, r.GuildID, r.Company.Key); err != nil {
		return nil, err
	}
	var out []referral.Candidate
	err := eachRow(ctx, tx, tx.d.bestPerProfile(), []any{r.Company.Key, r.GuildID, r.StudentID, r.ID, referral.OfferUndelivered}, func(rows *sql.Rows) error {
		c := referral.Candidate{Status: referral.Active}
		var rank int64
		if err := rows.Scan(&c.UserID, &c.School, &c.Roles, &rank); err != nil {
			return err
		}
		c.UsedInWindow = int(rank >> rankShift)
		c.Capacity = c.UsedInWindow + 1 // free: the index holds only referrers with capacity left
		if last := rank & (1<<rankShift - 1); last != 0 {
			c.LastOfferedAt = time.UnixMilli(last).UTC()
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// choose is the referrer to ask next about r, or nil for nobody.
func choose(ctx context.Context, tx *txn, now time.Time, r referral.Request) (*referral.Candidate, error) {
	cands, err := candidates(ctx, tx, now, r)
	if err != nil {
		return nil, err
	}
	best := referral.Best(r.Seeker(), cands, now)
	if best == nil {
		return nil, nil
	}
	// What the offer shows and the rest of the profile, for the chosen one only.
	var last sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT capacity, verified_domain, last_offered_at FROM referrers WHERE guild_id = ? AND user_id = ?`, r.GuildID, best.UserID).
		Scan(&best.Capacity, &best.VerifiedDomain, &last)
	best.LastOfferedAt = fromMS(last)
	return best, err
}

// offerNext asks the best eligible referrer about a request, or leaves it
// waiting.
func (s *Store) offerNext(ctx context.Context, tx *txn, now time.Time, requestID int64, why referral.OfferWhy, a *applied) error {
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
// the sweeper for capacity that frees up over time. It works only while
// someone is free: each round finds the oldest waiting request that one of
// the free referrers may be asked about and offers it (to its own best
// candidate), so a backlog nobody can take costs one query, not a ranking
// per request. A request skipped had nobody eligible among a set of free
// referrers that only shrinks, so the order is that of offering each
// waiting request in turn.
func (s *Store) matchWaiting(ctx context.Context, tx *txn, now time.Time, guildID string, companies []referral.Company, a *applied) error {
	_, err := s.matchWaitingUntil(ctx, tx, now, time.Time{}, guildID, companies, a)
	return err
}

// matchWaitingUntil is matchWaiting that, given a deadline (zero: none),
// stops at the first round after it once it has offered something. Each
// company it did not finish then has a free referrer marked for the sweep
// (match_due), which matches it again in a transaction of its own, also
// after a crash. finished is how many of companies it matched through.
//
// Only the sweep's MatchWaiting passes a deadline: a backlog that many
// referrers freed up at once is matched there. Elsewhere the one referrer
// who joined, resumed or was approved (or the one request made) bounds
// the work by their capacity, and the offers are reported at once.
func (s *Store) matchWaitingUntil(ctx context.Context, tx *txn, now, deadline time.Time, guildID string, companies []referral.Company, a *applied) (finished int, err error) {
	offered := 0
	for i, co := range companies {
		for {
			var waiting bool
			if err := tx.QueryRowContext(ctx, anyWaitingQuery, guildID, co.Key).Scan(&waiting); err != nil {
				return i, err
			}
			if !waiting {
				break
			}
			if offered > 0 && !deadline.IsZero() && time.Now().After(deadline) {
				for _, left := range companies[i:] {
					if _, err := tx.ExecContext(ctx, markFreeQuery, left.Key, guildID); err != nil {
						return i, err
					}
				}
				return i, nil
			}
			if err := recountDue(ctx, tx, now, guildID, co.Key); err != nil {
				return i, err
			}
			var free bool
			if err := tx.QueryRowContext(ctx, anyFreeQuery, co.Key, guildID).Scan(&free); err != nil {
				return i, err
			}
			if !free {
				break
			}
			var id int64
			err := tx.QueryRowContext(ctx, oldestWaitingQuery, guildID, co.Key, referral.OfferUndelivered).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return i, err
			}
			before := len(a.offered)
			if err := s.offerNext(ctx, tx, now, id, referral.OfferWaiting, a); err != nil {
				return i, err
			}
			if len(a.offered) == before {
				return i, fmt.Errorf("waiting request %d had a free referrer but was not offered", id)
			}
			offered++
		}
	}
	return len(companies), nil
}

// acceptedByQuery lists the referrals a referrer accepted and has not
// submitted yet, through their accepted offers: requests have no index by
// referrer.
const acceptedByQuery = `SELECT r.id FROM offers o JOIN requests r ON r.id = o.request_id
	WHERE o.guild_id = ?1 AND o.referrer_user_id = ?2 AND o.state = 'accepted' AND r.state = 'accepted' AND r.referrer_id = ?2`

// handOn passes a departing, pausing or reported referrer's pending offers
// to the next candidate; with IncludeAccepted (leave, remove) their
// accepted but not yet submitted requests go back to matching as well.
func (s *Store) handOn(ctx context.Context, tx *txn, now time.Time, h referral.HandOn, a *applied) error {
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
	ids, err := idList(ctx, tx, acceptedByQuery, h.GuildID, h.UserID)
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
// at once; this catches the rest on every sweep. It looks only at
// referrers whose load may have dropped with time or whose capacity grew
// (one index seek when there are none): each is recounted and, with
// capacity left, their companies' waiting requests are matched, one
// transaction per referrer. A transaction that has held the writer for the
// budget (writeBudget) commits the offers made so far and marks a free
// referrer of each company left (see matchWaitingUntil), and the next
// round goes on from there, so a large backlog is matched in many short
// transactions. It returns how many requests were offered.
func (s *Store) MatchWaiting(ctx context.Context) (int, error) {
	type key struct{ guildID, company string }
	matched := map[key]bool{}
	offered := 0
	var errs []error
	for {
		due, err := idList(ctx, s.read, sweepDueQuery, ms(s.now().UTC()))
		if err != nil {
			return offered, errors.Join(append(errs, fmt.Errorf("match waiting: %w", err))...)
		}
		cut := false
		for _, id := range due {
			a := newApplied()
			var done []key
			left := false
			err := s.tx(ctx, func(tx *txn, now time.Time) error {
				deadline := time.Now().Add(s.budget)
				*a = *newApplied() // a rerun after a conflict starts afresh
				done, left = done[:0], false
				ref, err := referrerByID(ctx, tx, id)
				if err != nil || ref == nil {
					return err
				}
				load, err := recountLoad(ctx, tx, now, id)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE referrers SET match_due = FALSE WHERE id = ?`, id); err != nil {
					return err
				}
				if ref.Status != referral.Active || load >= ref.Capacity {
					return nil
				}
				var todo []referral.Company
				for _, co := range ref.Companies {
					// A company matched earlier in this sweep had every free
					// referrer's load recounted then, this one's included.
					if k := (key{ref.GuildID, co.Key}); !matched[k] {
						todo = append(todo, co)
					}
				}
				finished, err := s.matchWaitingUntil(ctx, tx, now, deadline, ref.GuildID, todo, a)
				for _, co := range todo[:finished] {
					done = append(done, key{ref.GuildID, co.Key})
				}
				left = finished < len(todo)
				return err
			})
			if err == nil {
				offered += len(a.offered)
				for _, k := range done {
					matched[k] = true
				}
				cut = cut || left
				continue
			}
			if ctx.Err() != nil {
				return offered, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("match waiting for referrer %d: %w", id, err))
		}
		// Each cut transaction offered at least one request and marked
		// the referrers who carry on, so this ends with the backlog.
		if !cut {
			return offered, errors.Join(errs...)
		}
	}
}
