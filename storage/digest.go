package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// chartWeeks is how many weeks the digest's chart shows.
const chartWeeks = 8

// The digest's queries besides the window counts (aggregates.go). Each
// reads a range of one server's rows through an index (see
// TestDigestQueriesUseIndexes) and none reads the server's history: at
// most the window's accepts and submissions.
const (
	// qDigestWaits is the time from request to accept of the window's
	// accepts, stored on each accepted event.
	qDigestWaits = `SELECT wait_ms FROM events WHERE guild_id = ? AND kind = 'accepted' AND at >= ? AND at < ? AND wait_ms IS NOT NULL
		ORDER BY wait_ms`

	// qDigestWanted lists companies whose requests wait because no
	// referrer is free: most waiting first, then the longest waiting.
	qDigestWanted = `SELECT MIN(c.company_name), SUM(c.waiting) FROM company_counts c WHERE c.guild_id = ?1 AND c.waiting > 0
		GROUP BY c.company_key ORDER BY SUM(c.waiting) DESC,
			(SELECT MIN(r.created_at) FROM requests r WHERE r.guild_id = ?1 AND r.company_key = c.company_key AND r.state = 'waiting'),
			MIN(c.company_name)
		LIMIT 15`

	// qDigestThanks lists the window's referrers, whoever accepted or
	// submitted, busiest first; forgotten users have no id left.
	qDigestThanks = `SELECT actor_id FROM events WHERE guild_id = ? AND (kind = 'accepted' OR kind = 'submitted') AND at >= ? AND at < ?
		AND actor_id != '' GROUP BY actor_id ORDER BY COUNT(*) DESC, MIN(at), actor_id`

	// qDigestDue lists the servers with a digest channel whose week has no
	// digest yet, with when their channel was set; referral.DigestDue decides.
	qDigestDue = `SELECT g.guild_id, g.digest_since FROM guild_settings g WHERE g.digest_channel_id != ''
		AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.guild_id = g.guild_id AND d.week = ?) ORDER BY g.guild_id`
)

// weekBounds returns the chart's windows: bounds[i] is where window i
// starts and bounds[i-1] where it ends (bounds[0] is now), one calendar
// week apart in loc, so a daylight-saving change neither shifts nor drops
// a week.
func weekBounds(now time.Time, loc *time.Location) []time.Time {
	local := now.In(loc)
	bounds := make([]time.Time, chartWeeks+1)
	bounds[0] = now
	for i := 1; i <= chartWeeks; i++ {
		bounds[i] = local.AddDate(0, 0, -7*i)
	}
	return bounds
}

// digest computes a server's numbers for the week (seven calendar days in
// the configured time zone) before now. q should be one read snapshot.
func (s *Store) digest(ctx context.Context, q snapshot, guildID string, now time.Time) (referral.Digest, error) {
	loc := s.loc
	bounds := weekBounds(now, loc)
	d := referral.Digest{GuildID: guildID, Week: referral.WeekKey(now, loc), From: bounds[1].UTC(), To: now.UTC()}

	windows, err := newWindowCounter(ctx, q, guildID)
	if err != nil {
		return d, err
	}
	defer windows.Close()
	weeks := make([]map[string]int, chartWeeks)
	for i := range weeks {
		if weeks[i], err = windows.count(ctx, bounds[i+1].UnixMilli(), bounds[i].UnixMilli()); err != nil {
			return d, err
		}
	}
	week := weeks[0]
	d.NewRequests, d.Matched, d.Submitted = week["created"], week["accepted"], week["submitted"]
	d.Screens, d.Interviews, d.Offers = week["outcome:screen"], week["outcome:interview"], week["outcome:offer"]
	for i := chartWeeks - 1; i >= 0; i-- { // oldest first
		c := weeks[i]
		d.History = append(d.History, referral.WeekCounts{Week: referral.WeekKey(bounds[i], loc), Requests: c["created"],
			Submitted: c["submitted"], Interviews: c["outcome:interview"], Offers: c["outcome:offer"]})
	}

	all, err := windows.totalsBefore(ctx, q, now.UnixMilli())
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

// readDigest computes a server's digest from one read snapshot, outside
// any write transaction, with the server's settings as of that snapshot.
func (s *Store) readDigest(ctx context.Context, guildID string, now time.Time) (referral.Digest, referral.GuildSettings, error) {
	q, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return referral.Digest{}, referral.GuildSettings{}, err
	}
	defer q.Rollback()
	g, err := guildSettings(ctx, q, guildID)
	if err != nil || g.DigestChannelID == "" {
		return referral.Digest{}, g, err
	}
	d, err := s.digest(ctx, q, guildID, now)
	return d, g, err
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
// The numbers come from a read snapshot; the write transaction only
// records the digest and queues it.
func (s *Store) PostDigestNow(ctx context.Context, guildID string, now time.Time) (referral.Digest, error) {
	d, g, err := s.readDigest(ctx, guildID, now)
	if err == nil && g.DigestChannelID == "" {
		err = referral.ErrWrongState
	}
	if err != nil {
		return d, fmt.Errorf("post digest: %w", err)
	}
	err = s.tx(ctx, func(tx *txn, _ time.Time) error {
		g, err := guildSettings(ctx, tx, guildID)
		if err != nil {
			return err
		}
		if g.DigestChannelID == "" {
			return referral.ErrWrongState
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
// time zone) and had its channel by firing, the schedule's latest firing
// so far this week (referral.DigestDue): a server set up after it waits for
// the next firing. It returns the servers posted to. Each digest is computed from a read snapshot; a short
// write transaction then decides whether to post it.
func (s *Store) PostWeeklyDigests(ctx context.Context, now, firing time.Time) ([]string, error) {
	week := referral.WeekKey(now, s.loc)
	var guilds []string
	err := eachRow(ctx, s.read, qDigestDue, []any{week}, func(rows *sql.Rows) error {
		var g string
		var since sql.NullInt64
		if err := rows.Scan(&g, &since); err != nil {
			return err
		}
		if referral.DigestDue(fromMS(since), firing, false) {
			guilds = append(guilds, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("weekly digests: %w", err)
	}
	var posted []string
	for _, g := range guilds {
		d, st, err := s.readDigest(ctx, g, now)
		if err != nil {
			return posted, fmt.Errorf("weekly digest for %s: %w", g, err)
		}
		if st.DigestChannelID == "" {
			continue
		}
		queued := false
		err = s.tx(ctx, func(tx *txn, _ time.Time) error {
			queued = false // a rerun after a conflict starts afresh
			st, err := guildSettings(ctx, tx, g)
			if err != nil || st.DigestChannelID == "" {
				return err
			}
			// The insert decides: a digest-now or a second bot that got
			// here first leaves nothing to do.
			res, err := tx.ExecContext(ctx, `INSERT INTO digests (guild_id, week, posted_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, g, week, ms(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
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

// The queries of /referral-admin stats besides the digest's: maintained
// counts, a few rows each.
const (
	qStatsReferrers     = `SELECT status, n FROM referrer_counts WHERE guild_id = ?`
	qStatsUndeliverable = `SELECT COALESCE(SUM(n), 0) FROM undeliverable_counts WHERE guild_id = ?`
	// In key and name order, so a company's first spelling comes first.
	qStatsCompanies = `SELECT company_key, company_name, requests, waiting, open, submitted, referrers FROM company_counts
		WHERE guild_id = ? AND (requests > 0 OR referrers > 0) ORDER BY company_key, company_name`
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
	err = eachRow(ctx, q, qStatsReferrers, []any{guildID}, func(rows *sql.Rows) error {
		var status referral.ReferrerStatus
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return err
		}
		switch status {
		case referral.Active:
			st.Referrers.Active = n
		case referral.Pending:
			st.Referrers.Pending = n
		case referral.Paused:
			st.Referrers.Paused = n
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := q.QueryRowContext(ctx, qStatsUndeliverable, guildID).Scan(&st.Undeliverable); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if st.Companies, err = companyStats(ctx, q, guildID); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// companyStats merges a server's company counts by company: named as its
// active referrers first spell it, else as its requests first do; most
// waiting first.
func companyStats(ctx context.Context, q querier, guildID string) ([]referral.CompanyStats, error) {
	type company struct {
		referral.CompanyStats
		key            string
		byReferrerName bool
	}
	var list []*company
	byKey := map[string]*company{}
	err := eachRow(ctx, q, qStatsCompanies, []any{guildID}, func(rows *sql.Rows) error {
		var key, name string
		var requests, waiting, open, submitted, referrers int
		if err := rows.Scan(&key, &name, &requests, &waiting, &open, &submitted, &referrers); err != nil {
			return err
		}
		c := byKey[key]
		if c == nil {
			c = &company{key: key, CompanyStats: referral.CompanyStats{Company: name}, byReferrerName: referrers > 0}
			byKey[key] = c
			list = append(list, c)
		} else if referrers > 0 && !c.byReferrerName {
			c.Company, c.byReferrerName = name, true
		}
		c.Referrers += referrers
		c.Waiting += waiting
		c.Open += open
		c.Submitted += submitted
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Waiting != b.Waiting {
			return a.Waiting > b.Waiting
		}
		return a.Company < b.Company
	})
	var out []referral.CompanyStats
	for _, c := range list {
		out = append(out, c.CompanyStats)
	}
	return out, nil
}

// qExportRequests reads a server's requests newest first, straight off
// requests_guild_created (the rowid is its last column), so an export can
// stop at any size without sorting the whole server.
const qExportRequests = `SELECT id, company_name, role, state, outcome, student_id, referrer_id, created_at, accepted_at, submitted_at
	FROM requests WHERE guild_id = ? ORDER BY created_at DESC, id DESC`

// ExportRequests gives a server's requests to each, newest first, for the
// CSV export; never links or intros. Rows are read one at a time, so a
// server's whole history is never held in memory; an error from each
// stops the export and is returned as it is.
func (s *Store) ExportRequests(ctx context.Context, guildID string, each func(referral.ExportRow) error) error {
	rows, err := s.read.QueryContext(ctx, qExportRequests, guildID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e referral.ExportRow
		var created int64
		var accepted, submitted sql.NullInt64
		if err := rows.Scan(&e.ID, &e.Company, &e.Role, &e.State, &e.Outcome, &e.StudentID, &e.ReferrerID, &created, &accepted, &submitted); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		e.CreatedAt = time.UnixMilli(created).UTC()
		e.AcceptedAt, e.SubmittedAt = fromMS(accepted), fromMS(submitted)
		if err := each(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
