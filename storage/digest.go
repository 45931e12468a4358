package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// chartWeeks is how many weeks the digest's chart shows.
const chartWeeks = 8

// The digest's queries. Each one reads a range of one server's rows
// through an index (see TestDigestQueriesUseIndexes); none scans the
// events of every server or of every company.
const (
	// eventWhat names what an event counts as: created, accepted,
	// submitted, outcome:screen, outcome:interview, outcome:offer.
	eventWhat = `kind || CASE WHEN kind = 'outcome' THEN ':' || detail ELSE '' END`

	// qDigestWeeks counts the events of the last chartWeeks windows;
	// window 0 ends now. The bounds are filled in by weekBuckets.
	qDigestWeeks = `SELECT CASE %s ELSE %d END, ` + eventWhat + `, COUNT(*) FROM events
		WHERE guild_id = ? AND at >= ? AND at < ? AND kind IN ('created', 'accepted', 'submitted', 'outcome') GROUP BY 1, 2`

	// qDigestTotals counts everything before now.
	qDigestTotals = `SELECT ` + eventWhat + `, COUNT(*) FROM events
		WHERE guild_id = ? AND at < ? AND kind IN ('created', 'accepted', 'submitted', 'outcome') GROUP BY 1`

	// qDigestWaits is the time from request to accept of the week's accepts.
	qDigestWaits = `SELECT e.at - r.created_at FROM events e JOIN requests r ON r.id = e.request_id
		WHERE e.guild_id = ? AND e.at >= ? AND e.at < ? AND e.kind = 'accepted' ORDER BY 1`

	// qDigestWanted lists companies whose requests wait because no
	// referrer is free: most waiting first, then the longest waiting.
	qDigestWanted = `SELECT MIN(company_name), COUNT(*) FROM requests WHERE guild_id = ? AND state = 'waiting'
		GROUP BY company_key ORDER BY COUNT(*) DESC, MIN(created_at), MIN(company_name) LIMIT 15`

	// qDigestThanks lists the week's referrers, whoever accepted or
	// submitted, busiest first; forgotten users have no id left.
	qDigestThanks = `SELECT actor_id FROM events WHERE guild_id = ? AND at >= ? AND at < ? AND kind IN ('accepted', 'submitted') AND actor_id != ''
		GROUP BY actor_id ORDER BY COUNT(*) DESC, MIN(at), actor_id`

	// qDigestDue lists the servers whose week has no digest yet and whose
	// digest channel was set before the week's scheduled time.
	qDigestDue = `SELECT g.guild_id FROM guild_settings g WHERE g.digest_channel_id != '' AND g.digest_since <= ?
		AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.guild_id = g.guild_id AND d.week = ?) ORDER BY g.guild_id`
)

// weekBuckets returns the query counting events by week and its bounds:
// bounds[i] is where window i starts and bounds[i-1] where it ends, one
// calendar week apart in loc, so a daylight-saving change neither shifts
// nor drops a week.
func weekBuckets(now time.Time, loc *time.Location) (query string, bounds []time.Time) {
	local := now.In(loc)
	bounds = make([]time.Time, chartWeeks+1)
	bounds[0] = now
	var cases strings.Builder
	for i := 1; i <= chartWeeks; i++ {
		bounds[i] = local.AddDate(0, 0, -7*i)
		if i < chartWeeks {
			fmt.Fprintf(&cases, "WHEN at >= ? THEN %d ", i-1)
		}
	}
	return fmt.Sprintf(qDigestWeeks, cases.String(), chartWeeks-1), bounds
}

// digest computes a server's numbers for the week (seven calendar days in
// the configured time zone) before now.
func (s *Store) digest(ctx context.Context, q querier, guildID string, now time.Time) (referral.Digest, error) {
	loc := s.loc
	query, bounds := weekBuckets(now, loc)
	d := referral.Digest{GuildID: guildID, Week: referral.WeekKey(now, loc), From: bounds[1].UTC(), To: now.UTC()}

	// The week and the chart's weeks in one pass over the index.
	args := make([]any, 0, chartWeeks+2)
	for _, b := range bounds[1:chartWeeks] {
		args = append(args, ms(b))
	}
	args = append(args, guildID, ms(bounds[chartWeeks]), ms(now))
	weeks := make([]map[string]int, chartWeeks)
	for i := range weeks {
		weeks[i] = map[string]int{}
	}
	err := eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		var i, n int
		var what string
		if err := rows.Scan(&i, &what, &n); err != nil {
			return err
		}
		if i >= 0 && i < chartWeeks {
			weeks[i][what] = n
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	week := weeks[0]
	d.NewRequests, d.Matched, d.Submitted = week["created"], week["accepted"], week["submitted"]
	d.Screens, d.Interviews, d.Offers = week["outcome:screen"], week["outcome:interview"], week["outcome:offer"]
	for i := chartWeeks - 1; i >= 0; i-- { // oldest first
		c := weeks[i]
		d.History = append(d.History, referral.WeekCounts{Week: referral.WeekKey(bounds[i], loc), Requests: c["created"],
			Submitted: c["submitted"], Interviews: c["outcome:interview"], Offers: c["outcome:offer"]})
	}

	all := map[string]int{}
	err = eachRow(ctx, q, qDigestTotals, []any{guildID, ms(now)}, func(rows *sql.Rows) error {
		var what string
		var n int
		err := rows.Scan(&what, &n)
		all[what] = n
		return err
	})
	if err != nil {
		return d, err
	}
	d.Total = referral.Totals{Requests: all["created"], Matched: all["accepted"], Submitted: all["submitted"],
		Screens: all["outcome:screen"], Interviews: all["outcome:interview"], Offers: all["outcome:offer"]}

	var waits []int64
	err = eachRow(ctx, q, qDigestWaits, []any{guildID, ms(bounds[1]), ms(now)}, func(rows *sql.Rows) error {
		var w int64
		err := rows.Scan(&w)
		waits = append(waits, w)
		return err
	})
	if err != nil {
		return d, err
	}
	d.MedianAccept = median(waits)

	err = eachRow(ctx, q, qDigestWanted, []any{guildID}, func(rows *sql.Rows) error {
		var w referral.Wanted
		err := rows.Scan(&w.Company, &w.Waiting)
		d.Wanted = append(d.Wanted, w)
		return err
	})
	if err != nil {
		return d, err
	}

	err = eachRow(ctx, q, qDigestThanks, []any{guildID, ms(bounds[1]), ms(now)}, func(rows *sql.Rows) error {
		var id string
		err := rows.Scan(&id)
		d.ThankReferrers = append(d.ThankReferrers, id)
		return err
	})
	return d, err
}

// median of sorted millisecond waits; 0 for none.
func median(sorted []int64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	m := sorted[n/2]
	if n%2 == 0 {
		m = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return time.Duration(m) * time.Millisecond
}

// PostDigestNow queues this week's digest for the server's digest channel
// at once; it counts as the week's digest, so the scheduled one skips.
func (s *Store) PostDigestNow(ctx context.Context, guildID string, now time.Time) (referral.Digest, error) {
	var d referral.Digest
	err := s.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		g, err := guildSettings(ctx, tx, guildID)
		if err != nil {
			return err
		}
		if g.DigestChannelID == "" {
			return referral.ErrWrongState
		}
		if d, err = s.digest(ctx, tx, guildID, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO digests (guild_id, week, posted_at) VALUES (?, ?, ?)
			ON CONFLICT (guild_id, week) DO UPDATE SET posted_at = excluded.posted_at`, guildID, d.Week, ms(now)); err != nil {
			return err
		}
		return enqueue(ctx, tx, now, referral.ToChannel(guildID, g.DigestChannelID, referral.DigestNotice(d)))
	})
	if err != nil {
		return d, fmt.Errorf("post digest: %w", err)
	}
	return d, nil
}

// PostWeeklyDigests queues the week's digest for every server with a digest
// channel that has none yet this week (the ISO week of now in the store's
// time zone) and had its channel before scheduledAt, this week's scheduled
// time: a server set up after it waits for next week. It returns the
// servers posted to.
func (s *Store) PostWeeklyDigests(ctx context.Context, now, scheduledAt time.Time) ([]string, error) {
	week := referral.WeekKey(now, s.loc)
	var guilds []string
	err := eachRow(ctx, s.read, qDigestDue, []any{ms(scheduledAt), week}, func(rows *sql.Rows) error {
		var g string
		err := rows.Scan(&g)
		guilds = append(guilds, g)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("weekly digests: %w", err)
	}
	var posted []string
	for _, g := range guilds {
		queued := false
		err := s.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
			// The insert decides: a digest-now or a second bot that got
			// here first leaves nothing to do.
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO digests (guild_id, week, posted_at) VALUES (?, ?, ?)`, g, week, ms(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			st, err := guildSettings(ctx, tx, g)
			if err != nil {
				return err
			}
			d, err := s.digest(ctx, tx, g, now)
			if err != nil {
				return err
			}
			queued = true
			return enqueue(ctx, tx, now, referral.ToChannel(g, st.DigestChannelID, referral.DigestNotice(d)))
		})
		if err != nil {
			return posted, fmt.Errorf("weekly digest for %s: %w", g, err)
		}
		if queued {
			posted = append(posted, g)
		}
	}
	return posted, nil
}

// The queries of /referral-admin stats besides the digest's.
const (
	qStatsReferrers = `SELECT COALESCE(SUM(status = 'active'), 0), COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'paused'), 0)
		FROM referrers WHERE guild_id = ?`
	qStatsUndeliverable    = `SELECT COUNT(*) FROM outbox WHERE guild_id = ? AND failed_at IS NOT NULL AND NOT reached_in_fallback`
	qStatsCompanyReferrers = `SELECT c.company_key, MIN(c.company_name), COUNT(*) FROM referrers r JOIN referrer_companies c ON c.referrer_id = r.id
		WHERE r.guild_id = ? AND r.status = 'active' GROUP BY c.company_key`
	qStatsCompanyRequests = `SELECT company_key, MIN(company_name), COALESCE(SUM(state = 'waiting'), 0),
			COALESCE(SUM(state IN ('waiting', 'offered', 'accepted')), 0), COALESCE(SUM(submitted_at IS NOT NULL), 0)
		FROM requests WHERE guild_id = ? GROUP BY company_key`
)

// Stats are the server's numbers for /referral-admin stats.
func (s *Store) Stats(ctx context.Context, guildID string, now time.Time) (referral.Stats, error) {
	var st referral.Stats
	// One read transaction: every number from the same snapshot.
	q, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer q.Rollback()
	if st.Week, err = s.digest(ctx, q, guildID, now); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	err = q.QueryRowContext(ctx, qStatsReferrers, guildID).Scan(&st.Referrers.Active, &st.Referrers.Pending, &st.Referrers.Paused)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := q.QueryRowContext(ctx, qStatsUndeliverable, guildID).
		Scan(&st.Undeliverable); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	byKey := map[string]*referral.CompanyStats{}
	get := func(key, name string) *referral.CompanyStats {
		c := byKey[key]
		if c == nil {
			c = &referral.CompanyStats{Company: name}
			byKey[key] = c
		}
		return c
	}
	rows, err := q.QueryContext(ctx, qStatsCompanyReferrers, guildID)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var key, name string
		var n int
		if err := rows.Scan(&key, &name, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("stats: %w", err)
		}
		get(key, name).Referrers = n
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, qStatsCompanyRequests, guildID)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	for rows.Next() {
		var key, name string
		var waiting, open, submitted int
		if err := rows.Scan(&key, &name, &waiting, &open, &submitted); err != nil {
			rows.Close()
			return st, fmt.Errorf("stats: %w", err)
		}
		c := get(key, name)
		c.Waiting, c.Open, c.Submitted = waiting, open, submitted
	}
	rows.Close()
	for _, c := range byKey {
		st.Companies = append(st.Companies, *c)
	}
	sort.Slice(st.Companies, func(i, j int) bool {
		a, b := st.Companies[i], st.Companies[j]
		if a.Waiting != b.Waiting {
			return a.Waiting > b.Waiting
		}
		return a.Company < b.Company
	})
	return st, nil
}

// ExportRequests lists a server's requests for the CSV export; never links
// or intros.
func (s *Store) ExportRequests(ctx context.Context, guildID string) ([]referral.ExportRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, company_name, role, state, outcome, student_id, referrer_id, created_at, accepted_at, submitted_at
		FROM requests WHERE guild_id = ? ORDER BY id`, guildID)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	var out []referral.ExportRow
	for rows.Next() {
		var e referral.ExportRow
		var created int64
		var accepted, submitted sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Company, &e.Role, &e.State, &e.Outcome, &e.StudentID, &e.ReferrerID, &created, &accepted, &submitted); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		e.CreatedAt = time.UnixMilli(created).UTC()
		e.AcceptedAt, e.SubmittedAt = fromMS(accepted), fromMS(submitted)
		out = append(out, e)
	}
	return out, rows.Err()
}
