package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/referral"
)

// The dashboard as it was computed before the aggregates, from the
// history itself: the reference the aggregates must agree with.

// The dashboard's queries. They read the events and rows as they are;
// Dashboard is the one method to change when the aggregates of the
// performance work replace them.
const (
	// oldQDashFunnel sorts the period's requests by company and by the
	// furthest step each reached before the end of the period: 0 made,
	// 1 offered, 2 accepted, 3 submitted, 4 screen, 5 interview, 6 offer.
	oldQDashFunnel = `SELECT company_key, MIN(company_name), step, COUNT(*) FROM (
			SELECT r.company_key, r.company_name, CASE
				WHEN EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'outcome' AND e.detail = 'offer' AND e.at < ?3) THEN 6
				WHEN EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'outcome' AND e.detail = 'interview' AND e.at < ?3) THEN 5
				WHEN EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'outcome' AND e.detail = 'screen' AND e.at < ?3) THEN 4
				WHEN r.submitted_at < ?3 THEN 3
				WHEN r.accepted_at < ?3 THEN 2
				WHEN EXISTS (SELECT 1 FROM events e WHERE e.request_id = r.id AND e.kind = 'offered' AND e.at < ?3) THEN 1
				ELSE 0 END AS step
			FROM requests r WHERE r.guild_id = ?1 AND r.created_at >= ?2 AND r.created_at < ?3 AND r.state != 'draft')
		GROUP BY company_key, step`

	// oldDashEvent names an event as the digest counts it.
	oldDashEvent      = `e.kind || CASE WHEN e.kind = 'outcome' THEN ':' || e.detail ELSE '' END`
	oldDashEventWhere = `e.guild_id = ? AND e.at >= ? AND e.at < ? AND e.kind IN ('created', 'accepted', 'submitted', 'outcome')`

	// oldQDashActivity counts the period's events.
	oldQDashActivity = `SELECT ` + oldDashEvent + `, COUNT(*) FROM events e WHERE ` + oldDashEventWhere + ` GROUP BY 1`

	// oldQDashWeeks counts the chart's events by window; the CASE is filled
	// in by oldDashWeeks.
	oldQDashWeeks = `SELECT CASE %s ELSE %d END, ` + oldDashEvent + `, COUNT(*) FROM events e WHERE ` + oldDashEventWhere + ` GROUP BY 1, 2`

	// oldQDashAcceptWaits is request to accept of the period's accepts.
	oldQDashAcceptWaits = `SELECT e.at - r.created_at FROM events e JOIN requests r ON r.id = e.request_id
		WHERE e.guild_id = ? AND e.at >= ? AND e.at < ? AND e.kind = 'accepted' ORDER BY 1`

	// oldQDashOutcomeWaits is submission to first outcome, of the first
	// outcomes recorded in the period.
	oldQDashOutcomeWaits = `SELECT e.at - r.submitted_at FROM events e JOIN requests r ON r.id = e.request_id
		WHERE e.guild_id = ? AND e.at >= ? AND e.at < ? AND e.kind = 'outcome' AND r.submitted_at IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM events p WHERE p.request_id = e.request_id AND p.kind = 'outcome' AND p.id < e.id)
		ORDER BY 1`

	// oldQDashWaiting lists the companies with waiting requests now, and
	// how many active referrers each has.
	oldQDashWaiting = `SELECT MIN(q.company_name), COUNT(*), MIN(q.created_at),
			(SELECT COUNT(*) FROM referrer_companies c JOIN referrers rf ON rf.id = c.referrer_id
				WHERE c.company_key = q.company_key AND rf.guild_id = q.guild_id AND rf.status = 'active')
		FROM requests q WHERE q.guild_id = ? AND q.state = 'waiting'
		GROUP BY q.guild_id, q.company_key ORDER BY COUNT(*) DESC, MIN(q.created_at), MIN(q.company_name)`

	// oldQDashReferrers is every referrer's profile, load and open reports.
	oldQDashReferrers = `SELECT rf.user_id, rf.status, rf.pause_reason, rf.paused_until, rf.capacity, rf.verified_domain, rf.created_at,
			(SELECT COUNT(*) FROM offers o WHERE o.guild_id = rf.guild_id AND o.referrer_user_id = rf.user_id
				AND (o.state = 'pending' OR (o.state = 'accepted' AND o.answered_at >= ?))),
			(SELECT COUNT(*) FROM reports p WHERE p.guild_id = rf.guild_id AND p.referrer_id = rf.user_id AND p.resolved_at IS NULL)
		FROM referrers rf WHERE rf.guild_id = ?`

	// oldQDashReferrerWork counts each referrer's offers, accepts and
	// submissions in the period (the actor of those events).
	oldQDashReferrerWork = `SELECT actor_id, kind, COUNT(*) FROM events
		WHERE guild_id = ? AND at >= ? AND at < ? AND kind IN ('offered', 'accepted', 'submitted') AND actor_id != ''
		GROUP BY 1, 2`

	// oldQDashLastActive is each referrer's last own action, at any time.
	oldQDashLastActive = `SELECT actor_id, MAX(at) FROM events
		WHERE guild_id = ? AND at < ? AND kind IN ('accepted', 'declined', 'submitted') AND actor_id != '' GROUP BY 1`
)

// Dashboard is a server's numbers for the web dashboard over the period
// ending at now, all from one snapshot. The activity is the digest's: the
// same events in the same calendar weeks of the store's time zone.
func (s *Store) oldDashboard(ctx context.Context, guildID string, period dashboard.Period, now time.Time) (dashboard.Data, error) {
	loc := s.loc
	now = now.UTC()
	d := dashboard.Data{From: period.Since(now, loc), To: now}
	q, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	defer q.Rollback()
	from := ms(d.From)
	if d.From.IsZero() {
		from = int64(0)
	}
	if err := oldDashFunnel(ctx, q, &d, guildID, from); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	if d.Weeks, err = oldDashWeeks(ctx, q, guildID, now, loc, period.ChartWeeks()); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	if d.MedianAccept, d.Accepts, err = oldDashMedian(ctx, q, oldQDashAcceptWaits, guildID, from, ms(now)); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	if d.MedianOutcome, d.Outcomes, err = oldDashMedian(ctx, q, oldQDashOutcomeWaits, guildID, from, ms(now)); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	err = eachRow(ctx, q, oldQDashWaiting, []any{guildID}, func(rows *sql.Rows) error {
		var w dashboard.Waiting
		var since int64
		err := rows.Scan(&w.Company, &w.Requests, &since, &w.Referrers)
		w.Since = time.UnixMilli(since).UTC()
		d.Waiting = append(d.Waiting, w)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
	}
	if d.Referrers, err = oldDashReferrers(ctx, q, guildID, from, now); err != nil {
		return d, fmt.Errorf("dashboard: %w", err)
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
		return d, fmt.Errorf("dashboard: %w", err)
	}
	for _, r := range referral.DeclineReasons() {
		if n := counts[string(r)]; n > 0 {
			d.Declines = append(d.Declines, dashboard.DeclineCount{Reason: r.Label(), N: n})
		}
	}
	return d, nil
}

// oldAddEvents adds n events of one kind to the activity.
func oldAddEvents(a *dashboard.Activity, what string, n int) {
	switch what {
	case "created":
		a.NewRequests += n
	case "accepted":
		a.Matched += n
	case "submitted":
		a.Submitted += n
	case "outcome:" + string(referral.OutcomeScreen):
		a.Screens += n
	case "outcome:" + string(referral.OutcomeInterview):
		a.Interviews += n
	case "outcome:" + string(referral.OutcomeOffer):
		a.Offers += n
	}
}

// oldReach adds n requests whose furthest step is step to a funnel: they
// count for every step up to it.
func oldReach(f *dashboard.Funnel, step, n int) {
	for i, c := range []*int{&f.Requests, &f.Offered, &f.Accepted, &f.Submitted, &f.Screens, &f.Interviews, &f.Offers} {
		if i <= step {
			*c += n
		}
	}
}

func oldDashFunnel(ctx context.Context, q querier, d *dashboard.Data, guildID string, from any) error {
	byKey := map[string]*dashboard.CompanyFunnel{}
	var keys []string
	err := eachRow(ctx, q, oldQDashFunnel, []any{guildID, from, ms(d.To)}, func(rows *sql.Rows) error {
		var key, name string
		var step, n int
		if err := rows.Scan(&key, &name, &step, &n); err != nil {
			return err
		}
		c := byKey[key]
		if c == nil {
			c = &dashboard.CompanyFunnel{Company: name}
			byKey[key] = c
			keys = append(keys, key)
		}
		oldReach(&c.Funnel, step, n)
		oldReach(&d.Funnel, step, n)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		d.Companies = append(d.Companies, *byKey[k])
	}
	sort.Slice(d.Companies, func(i, j int) bool {
		a, b := d.Companies[i], d.Companies[j]
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		return strings.ToLower(a.Company) < strings.ToLower(b.Company)
	})
	return eachRow(ctx, q, oldQDashActivity, []any{guildID, from, ms(d.To)}, func(rows *sql.Rows) error {
		var what string
		var n int
		err := rows.Scan(&what, &n)
		oldAddEvents(&d.Activity, what, n)
		return err
	})
}

// oldDashWeeks counts the chart's n windows, oldest first: window i (counted
// back from now) is seven calendar days in loc, the digest's weeks.
func oldDashWeeks(ctx context.Context, q querier, guildID string, now time.Time, loc *time.Location, n int) ([]dashboard.Week, error) {
	local := now.In(loc)
	bounds := make([]time.Time, n+1) // bounds[i] ends window i, bounds[i+1] starts it
	bounds[0] = now
	var cases strings.Builder
	args := make([]any, 0, n+2)
	for i := 1; i <= n; i++ {
		bounds[i] = local.AddDate(0, 0, -7*i).UTC()
		if i < n {
			fmt.Fprintf(&cases, "WHEN e.at >= ? THEN %d ", i-1)
			args = append(args, ms(bounds[i]))
		}
	}
	args = append(args, guildID, ms(bounds[n]), ms(now))
	counts := make([]dashboard.Activity, n)
	err := eachRow(ctx, q, fmt.Sprintf(oldQDashWeeks, cases.String(), n-1), args, func(rows *sql.Rows) error {
		var i, c int
		var what string
		if err := rows.Scan(&i, &what, &c); err != nil {
			return err
		}
		if i >= 0 && i < n {
			oldAddEvents(&counts[i], what, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	weeks := make([]dashboard.Week, n)
	for i := range n {
		weeks[n-1-i] = dashboard.Week{From: bounds[i+1], To: bounds[i], Activity: counts[i]}
	}
	return weeks, nil
}

// oldDashMedian runs a query of sorted millisecond waits.
func oldDashMedian(ctx context.Context, q querier, query, guildID string, from, to any) (time.Duration, int, error) {
	var waits []int64
	err := eachRow(ctx, q, query, []any{guildID, from, to}, func(rows *sql.Rows) error {
		var w int64
		err := rows.Scan(&w)
		waits = append(waits, w)
		return err
	})
	return median(waits), len(waits), err
}

func oldDashReferrers(ctx context.Context, q querier, guildID string, from any, now time.Time) ([]dashboard.Referrer, error) {
	var list []dashboard.Referrer
	byUser := map[string]*dashboard.Referrer{}
	err := eachRow(ctx, q, oldQDashReferrers, []any{ms(now.Add(-referral.CapacityWindow)), guildID}, func(rows *sql.Rows) error {
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
	err = eachRow(ctx, q, oldQDashReferrerWork, []any{guildID, from, ms(now)}, func(rows *sql.Rows) error {
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
		case "offered":
			r.Asked = n
		case "accepted":
			r.Accepted = n
		case "submitted":
			r.Submitted = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachRow(ctx, q, oldQDashLastActive, []any{guildID, ms(now)}, func(rows *sql.Rows) error {
		var user string
		var at int64
		if err := rows.Scan(&user, &at); err != nil {
			return err
		}
		if r := byUser[user]; r != nil {
			if t := time.UnixMilli(at).UTC(); t.After(r.LastActive) {
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
