package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/referral"
)

// The dashboard's queries read the maintained aggregates (migrations 0004,
// 0012 and 0013): whole UTC weeks of a period from the week tables, the
// whole days at its ends from the day tables, the partial days at its very
// ends from the rows themselves, all time from the totals; so a page costs
// about the same on a long history as on a short one, and for a long
// period as for a short one.
const (
	// qDashFunnel counts a window's requests by company spelling and the
	// furthest step each reached so far: 0 made, 1 offered, 2 accepted,
	// 3 submitted, 4 screen, 5 interview, 6 offer. periodParts fills in
	// the bounds.
	qDashFunnel = `SELECT company_key, company_name, step, SUM(n) FROM (
			SELECT company_key, company_name, step, n FROM funnel_weeks WHERE guild_id = ?1 AND week >= ?2 AND week < ?3
			UNION ALL SELECT company_key, company_name, step, n FROM funnel_days WHERE guild_id = ?1 AND day >= ?4 AND day < ?5
			UNION ALL SELECT company_key, company_name, step, n FROM funnel_days WHERE guild_id = ?1 AND day >= ?6 AND day < ?7
			UNION ALL SELECT company_key, company_name, furthest, 1 FROM requests WHERE guild_id = ?1 AND created_at >= ?8 AND created_at < ?9
			UNION ALL SELECT company_key, company_name, furthest, 1 FROM requests WHERE guild_id = ?1 AND created_at >= ?10 AND created_at < ?11
		) GROUP BY company_key, company_name, step`
	// qDashFunnelLate is the window's requests that reached a step at or
	// after its end, with the step they had before it.
	qDashFunnelLate = `SELECT r.company_key, r.company_name, r.furthest, COALESCE((SELECT MAX(` + eventStep + `) FROM events e
			WHERE e.request_id = r.id AND e.kind IN ('offered', 'accepted', 'submitted', 'outcome') AND e.at < ?3), 0)
		FROM requests r WHERE r.guild_id = ?1 AND r.created_at >= ?2 AND r.created_at < ?3 AND r.id IN (
			SELECT l.request_id FROM events l WHERE l.guild_id = ?1 AND l.at >= ?3 AND l.kind IN ('offered', 'accepted', 'submitted', 'outcome'))`
	qDashFunnelTotals = `SELECT company_key, company_name, step, n FROM funnel_totals WHERE guild_id = ? AND n != 0`

	// qDashAcceptWaits is request to accept of the window's accepts.
	qDashAcceptWaits = qDigestWaits
	// qDashOutcomeWaits is submission to first outcome, of the first
	// outcomes recorded in the window.
	qDashOutcomeWaits = `SELECT wait_ms FROM events INDEXED BY events_first_outcome
		WHERE guild_id = ? AND kind = 'outcome' AND wait_ms IS NOT NULL AND at >= ? AND at < ? ORDER BY wait_ms`
	// qDashWaitMinutes is all-time waits by the minute, shortest first.
	qDashWaitMinutes = `SELECT minute, n FROM wait_minutes WHERE guild_id = ? AND what = ? AND n != 0 ORDER BY minute`

	// qDashWaiting is the companies with waiting requests now; then per
	// company its active referrers (every spelling) and its oldest waiting
	// request.
	qDashWaiting          = `SELECT company_key, company_name, waiting FROM company_counts WHERE guild_id = ? AND waiting > 0`
	qDashCompanyReferrers = `SELECT COALESCE(SUM(referrers), 0) FROM company_counts WHERE guild_id = ? AND company_key = ?`
	qDashOldestWaiting    = `SELECT MIN(created_at) FROM requests WHERE guild_id = ? AND company_key = ? AND state = 'waiting'`

	// qDashReferrers is every referrer's profile, load and open reports.
	// The load is the maintained one unless time may have lowered it
	// (load_recheck_at passed): then it is counted, as matching would.
	qDashReferrers = `SELECT rf.user_id, rf.status, rf.pause_reason, rf.paused_until, rf.capacity, rf.verified_domain, rf.created_at,
			CASE WHEN rf.load_recheck_at IS NULL OR rf.load_recheck_at > ?2 THEN rf.offer_load ELSE
				(SELECT COUNT(*) FROM offers o WHERE o.guild_id = rf.guild_id AND o.referrer_user_id = rf.user_id
					AND (o.state = 'pending' OR (o.state = 'accepted' AND o.answered_at >= ?1))) END,
			(SELECT COUNT(*) FROM reports p WHERE p.guild_id = rf.guild_id AND p.referrer_id = rf.user_id AND p.resolved_at IS NULL)
		FROM referrers rf WHERE rf.guild_id = ?3`

	// qDashReferrerWork counts each referrer's offers, accepts and
	// submissions in a window (the actor of those events); periodParts
	// fills in the bounds.
	qDashReferrerWork = `SELECT actor_id, kind, SUM(n) FROM (
			SELECT actor_id, kind, n FROM actor_weeks WHERE guild_id = ?1 AND week >= ?2 AND week < ?3
			UNION ALL SELECT actor_id, kind, n FROM actor_days WHERE guild_id = ?1 AND day >= ?4 AND day < ?5
			UNION ALL SELECT actor_id, kind, n FROM actor_days WHERE guild_id = ?1 AND day >= ?6 AND day < ?7
			UNION ALL SELECT actor_id, kind, 1 FROM events WHERE guild_id = ?1 AND at >= ?8 AND at < ?9
			UNION ALL SELECT actor_id, kind, 1 FROM events WHERE guild_id = ?1 AND at >= ?10 AND at < ?11
		) WHERE kind IN ('offered', 'accepted', 'submitted') AND actor_id != '' GROUP BY 1, 2`
	qDashReferrerWorkTotals = `SELECT actor_id, kind, n FROM actor_totals WHERE guild_id = ? AND kind IN ('offered', 'accepted', 'submitted')`

	// qDashLastActive is each referrer's last own action, at any time.
	qDashLastActive = `SELECT actor_id, MAX(last_at) FROM actor_totals
		WHERE guild_id = ? AND kind IN ('accepted', 'declined', 'submitted') AND n > 0 GROUP BY 1`
)

// periodParts splits [from, to) (ms; to may be math.MaxInt64 for "from
// then on") into the args of the week- and day-table queries: whole UTC
// weeks, the whole days before and after them, and the partial days at
// either end; so a period reads at most 12 days and 2 partial days besides
// its weeks. Empty parts are empty ranges.
func periodParts(guildID string, from, to int64) []any {
	var weeks, daysA, daysB, a, b [2]int64
	d1, d2 := ceilTo(from, dayMS), floorTo(to, dayMS)
	if to == math.MaxInt64 {
		d2 = to
	}
	if d1 >= d2 {
		a = [2]int64{from, to}
	} else {
		a, b = [2]int64{from, d1}, [2]int64{d2, to}
		w1, w2 := weekCeil(d1), weekFloor(d2)
		if d2 == math.MaxInt64 {
			w2 = d2
		}
		if w1 < w2 {
			weeks, daysA, daysB = [2]int64{w1, w2}, [2]int64{d1, w1}, [2]int64{w2, d2}
		} else {
			daysA = [2]int64{d1, d2}
		}
	}
	return []any{guildID, weeks[0], weeks[1], daysA[0], daysA[1], daysB[0], daysB[1], a[0], a[1], b[0], b[1]}
}

// Dashboard is a server's numbers for the web dashboard over the period
// ending at now, all from one snapshot. The activity is the digest's: the
// same events in the same calendar weeks of the store's time zone. The
// funnel follows the period's requests to the furthest step each reached
// so far.
func (s *Store) Dashboard(ctx context.Context, guildID string, period dashboard.Period, now time.Time) (dashboard.Data, error) {
	loc := s.loc
	now = now.UTC()
	d := dashboard.Data{From: period.Since(now, loc), To: now}
	q, err := s.read.BeginTx(ctx, s.d.readTx())
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	defer q.Rollback()
	if err := s.dashboard(ctx, q, &d, guildID, period, now); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	return d, nil
}

func (s *Store) dashboard(ctx context.Context, q *txn, d *dashboard.Data, guildID string, period dashboard.Period, now time.Time) error {
	allTime := d.From.IsZero()
	from, to := d.From.UnixMilli(), now.UnixMilli()
	windows, err := newWindowCounter(ctx, q, guildID)
	if err != nil {
		return err
	}
	defer windows.Close()

	if err := dashFunnel(ctx, q, d, guildID, allTime, from, to); err != nil {
		return err
	}
	var activity map[string]int
	if allTime {
		activity, err = windows.totalsBefore(ctx, q, to)
	} else {
		activity, err = windows.count(ctx, from, to)
	}
	if err != nil {
		return err
	}
	addCounts(&d.Activity, activity)
	if d.Weeks, err = dashWeeks(ctx, windows, now, s.loc, period.ChartWeeks()); err != nil {
		return err
	}
	if d.MedianAccept, d.Accepts, err = dashMedian(ctx, q, qDashAcceptWaits, referral.EventAccepted, guildID, allTime, from, to); err != nil {
		return err
	}
	if d.MedianOutcome, d.Outcomes, err = dashMedian(ctx, q, qDashOutcomeWaits, referral.EventOutcome, guildID, allTime, from, to); err != nil {
		return err
	}
	if d.Waiting, err = dashWaiting(ctx, q, guildID); err != nil {
		return err
	}
	if d.Referrers, err = dashReferrers(ctx, q, guildID, allTime, from, now); err != nil {
		return err
	}
	counts := map[string]int{}
	err = eachRow(ctx, q, `SELECT reason, n FROM decline_reasons WHERE guild_id = ?`, []any{guildID}, func(rows *sql.Rows) error {
		var r string
		var n int
		err := rows.Scan(&r, &n)
		counts[r] = n
		return err
	})
	if err != nil {
		return err
	}
	for _, r := range referral.DeclineReasons() {
		if n := counts[string(r)]; n > 0 {
			d.Declines = append(d.Declines, dashboard.DeclineCount{Reason: r.Label(), N: n})
		}
	}
	return nil
}

// addCounts adds event counts by what they are (eventWhat) to the activity.
func addCounts(a *dashboard.Activity, counts map[string]int) {
	a.NewRequests += counts[referral.EventCreated]
	a.Matched += counts[referral.EventAccepted]
	a.Submitted += counts[referral.EventSubmitted]
	a.Screens += counts["outcome:"+string(referral.OutcomeScreen)]
	a.Interviews += counts["outcome:"+string(referral.OutcomeInterview)]
	a.Offers += counts["outcome:"+string(referral.OutcomeOffer)]
}

// reach adds n requests whose furthest step is step to a funnel: they
// count for every step up to it.
func reach(f *dashboard.Funnel, step, n int) {
	for i, c := range []*int{&f.Requests, &f.Offered, &f.Accepted, &f.Submitted, &f.Screens, &f.Interviews, &f.Offers} {
		if i <= step {
			*c += n
		}
	}
}

// dashFunnel is the funnel of the requests made in [from, to), or before
// to for all time (the totals less any made from to on), by company: a
// company reads as the first of its spellings.
func dashFunnel(ctx context.Context, q querier, d *dashboard.Data, guildID string, allTime bool, from, to int64) error {
	type spelling struct {
		key, name string
		step      int
	}
	counts := map[spelling]int{}
	read := func(query string, args []any, sign int) error {
		return eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
			var sp spelling
			var n int
			err := rows.Scan(&sp.key, &sp.name, &sp.step, &n)
			counts[sp] += sign * n
			return err
		})
	}
	if allTime {
		if err := read(qDashFunnelTotals, []any{guildID}, 1); err != nil {
			return err
		}
		if err := read(qDashFunnel, periodParts(guildID, to, math.MaxInt64), -1); err != nil {
			return err
		}
	} else if err := read(qDashFunnel, periodParts(guildID, from, to), 1); err != nil {
		return err
	}
	// A request that reached a step at or after to counts at the step it
	// had then (none, unless the page is for a past moment: one seek).
	err := eachRow(ctx, q, qDashFunnelLate, []any{guildID, from, to}, func(rows *sql.Rows) error {
		var key, name string
		var now, then int
		if err := rows.Scan(&key, &name, &now, &then); err != nil {
			return err
		}
		counts[spelling{key, name, now}]--
		counts[spelling{key, name, then}]++
		return nil
	})
	if err != nil {
		return err
	}
	byKey := map[string]*dashboard.CompanyFunnel{}
	for sp, n := range counts {
		if n <= 0 {
			continue
		}
		c := byKey[sp.key]
		if c == nil {
			c = &dashboard.CompanyFunnel{Company: sp.name}
			byKey[sp.key] = c
		} else if sp.name < c.Company {
			c.Company = sp.name
		}
		reach(&c.Funnel, sp.step, n)
		reach(&d.Funnel, sp.step, n)
	}
	for _, c := range byKey {
		d.Companies = append(d.Companies, *c)
	}
	sort.Slice(d.Companies, func(i, j int) bool {
		a, b := d.Companies[i], d.Companies[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if la, lb := strings.ToLower(a.Company), strings.ToLower(b.Company); la != lb {
			return la < lb
		}
		return a.Company < b.Company
	})
	return nil
}

// dashWeeks counts the chart's n windows, oldest first: window i (counted
// back from now) is seven calendar days in loc, the digest's weeks.
func dashWeeks(ctx context.Context, windows *windowCounter, now time.Time, loc *time.Location, n int) ([]dashboard.Week, error) {
	local := now.In(loc)
	weeks := make([]dashboard.Week, n)
	for i := range n {
		w := dashboard.Week{From: local.AddDate(0, 0, -7*(i+1)).UTC(), To: local.AddDate(0, 0, -7*i).UTC()}
		counts, err := windows.count(ctx, w.From.UnixMilli(), w.To.UnixMilli())
		if err != nil {
			return nil, err
		}
		addCounts(&w.Activity, counts)
		weeks[n-1-i] = w
	}
	return weeks, nil
}

// dashMedian is the median of a window's sorted millisecond waits, or of
// all time's from the minute histogram (what: accepted or outcome).
func dashMedian(ctx context.Context, q querier, query, what, guildID string, allTime bool, from, to int64) (time.Duration, int, error) {
	if allTime {
		return minuteMedian(ctx, q, guildID, what)
	}
	var waits []int64
	err := eachRow(ctx, q, query, []any{guildID, from, to}, func(rows *sql.Rows) error {
		var w int64
		err := rows.Scan(&w)
		waits = append(waits, w)
		return err
	})
	return median(waits), len(waits), err
}

// minuteMedian is the median of all time's waits, to the minute.
func minuteMedian(ctx context.Context, q querier, guildID, what string) (time.Duration, int, error) {
	type bucket struct{ minute, n int64 }
	var buckets []bucket
	total := int64(0)
	err := eachRow(ctx, q, qDashWaitMinutes, []any{guildID, what}, func(rows *sql.Rows) error {
		var b bucket
		err := rows.Scan(&b.minute, &b.n)
		buckets = append(buckets, b)
		total += b.n
		return err
	})
	if err != nil || total == 0 {
		return 0, 0, err
	}
	// The minutes of the (total-1)/2-th and total/2-th waits, 0-based.
	at := func(i int64) int64 {
		for _, b := range buckets {
			if i < b.n {
				return b.minute
			}
			i -= b.n
		}
		return buckets[len(buckets)-1].minute
	}
	mid := (at((total-1)/2) + at(total/2)) * int64(time.Minute) / 2
	return time.Duration(mid), int(total), nil
}

// dashWaiting is the companies whose requests wait now: most waiting
// first, then the longest waiting.
func dashWaiting(ctx context.Context, q querier, guildID string) ([]dashboard.Waiting, error) {
	byKey := map[string]*dashboard.Waiting{}
	var keys []string
	err := eachRow(ctx, q, qDashWaiting, []any{guildID}, func(rows *sql.Rows) error {
		var key, name string
		var n int
		if err := rows.Scan(&key, &name, &n); err != nil {
			return err
		}
		w := byKey[key]
		if w == nil {
			w = &dashboard.Waiting{Company: name}
			byKey[key] = w
			keys = append(keys, key)
		} else if name < w.Company {
			w.Company = name
		}
		w.Requests += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []dashboard.Waiting
	for _, key := range keys {
		w := byKey[key]
		if err := q.QueryRowContext(ctx, qDashCompanyReferrers, guildID, key).Scan(&w.Referrers); err != nil {
			return nil, err
		}
		var since sql.NullInt64
		if err := q.QueryRowContext(ctx, qDashOldestWaiting, guildID, key).Scan(&since); err != nil {
			return nil, err
		}
		w.Since = fromMS(since)
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if !a.Since.Equal(b.Since) {
			return a.Since.Before(b.Since)
		}
		return a.Company < b.Company
	})
	return out, nil
}

func dashReferrers(ctx context.Context, q querier, guildID string, allTime bool, from int64, now time.Time) ([]dashboard.Referrer, error) {
	var list []dashboard.Referrer
	byUser := map[string]*dashboard.Referrer{}
	err := eachRow(ctx, q, qDashReferrers, []any{ms(now.Add(-referral.CapacityWindow)), ms(now), guildID}, func(rows *sql.Rows) error {
		var r dashboard.Referrer
		var reason string
		var paused sql.NullInt64
		var joined int64
		if err := rows.Scan(&r.UserID, &r.Status, &reason, &paused, &r.Capacity, &r.VerifiedDomain, &joined, &r.Used, &r.OpenReports); err != nil {
			return err
		}
		r.Reported = r.Status == string(referral.Paused) && reason == referral.PauseReported
		r.PausedUntil = fromMS(paused)
		r.LastActive = time.UnixMilli(joined).UTC()
		list = append(list, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		byUser[list[i].UserID] = &list[i]
	}
	work := func(query string, args []any, sign int) error {
		return eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
			var user, kind string
			var n int
			if err := rows.Scan(&user, &kind, &n); err != nil {
				return err
			}
			r := byUser[user]
			if r == nil {
				return nil // no longer a referrer here
			}
			switch kind {
			case referral.EventOffered:
				r.Asked += sign * n
			case referral.EventAccepted:
				r.Accepted += sign * n
			case referral.EventSubmitted:
				r.Submitted += sign * n
			}
			return nil
		})
	}
	if allTime {
		err = work(qDashReferrerWorkTotals, []any{guildID}, 1)
		if err == nil {
			err = work(qDashReferrerWork, periodParts(guildID, now.UnixMilli(), math.MaxInt64), -1)
		}
	} else {
		err = work(qDashReferrerWork, periodParts(guildID, from, now.UnixMilli()), 1)
	}
	if err != nil {
		return nil, err
	}
	err = eachRow(ctx, q, qDashLastActive, []any{guildID}, func(rows *sql.Rows) error {
		var user string
		var at sql.NullInt64
		if err := rows.Scan(&user, &at); err != nil {
			return err
		}
		if r := byUser[user]; r != nil && at.Valid {
			if t := time.UnixMilli(at.Int64).UTC(); t.After(r.LastActive) {
				r.LastActive = t
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Who needs an admin first (reported, then pending), then who carries
	// the load.
	rank := func(r dashboard.Referrer) int {
		switch {
		case r.OpenReports > 0 || r.Reported:
			return 0
		case r.Status == string(referral.Pending):
			return 1
		}
		return 2
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.Submitted != b.Submitted {
			return a.Submitted > b.Submitted
		}
		if a.Accepted != b.Accepted {
			return a.Accepted > b.Accepted
		}
		if a.Asked != b.Asked {
			return a.Asked > b.Asked
		}
		return a.UserID < b.UserID
	})
	return list, nil
}

// DashboardKey is the key that signs dashboard links: made once, on first
// use, from 32 random bytes, and kept in the database.
func (s *Store) DashboardKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.read.QueryRowContext(ctx, `SELECT key FROM dashboard_key WHERE id = 1`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("dashboard key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("dashboard key: %w", err)
	}
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		// Another caller may have made it meanwhile: theirs stays.
		if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_key (id, key, created_at) VALUES (1, ?, ?) ON CONFLICT DO NOTHING`, fresh, ms(now)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT key FROM dashboard_key WHERE id = 1`).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard key: %w", err)
	}
	return key, nil
}
