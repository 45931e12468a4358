package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// WeekKey is the ISO week of t in loc, e.g. "2026-W48": one digest each.
func WeekKey(t time.Time, loc *time.Location) string {
	y, w := t.In(loc).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// weekStart is Monday 00:00 in loc of t's ISO week.
func weekStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	day := (int(t.Weekday()) + 6) % 7 // Monday = 0
	return time.Date(t.Year(), t.Month(), t.Day()-day, 0, 0, 0, 0, loc)
}

// digest computes a server's numbers for the seven days before now.
func (s *Store) digest(ctx context.Context, q querier, guildID string, now time.Time) (referral.Digest, error) {
	loc := s.loc()
	d := referral.Digest{GuildID: guildID, Week: WeekKey(now, loc), From: now.Add(-7 * 24 * time.Hour).UTC(), To: now.UTC()}
	counts := func(from, to time.Time) (map[string]int, error) {
		rows, err := q.QueryContext(ctx, `SELECT kind || CASE WHEN kind = 'outcome' THEN ':' || detail ELSE '' END, COUNT(*)
			FROM events WHERE guild_id = ? AND at >= ? AND at < ? GROUP BY 1`, guildID, ms(from), ms(to))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return nil, err
			}
			m[k] = n
		}
		return m, rows.Err()
	}
	week, err := counts(d.From, d.To)
	if err != nil {
		return d, err
	}
	d.NewRequests, d.Matched, d.Submitted = week["created"], week["accepted"], week["submitted"]
	d.Screens, d.Interviews, d.Offers = week["outcome:screen"], week["outcome:interview"], week["outcome:offer"]
	all, err := counts(time.Unix(0, 0), now.Add(time.Millisecond))
	if err != nil {
		return d, err
	}
	d.Total = referral.Totals{Requests: all["created"], Matched: all["accepted"], Submitted: all["submitted"],
		Screens: all["outcome:screen"], Interviews: all["outcome:interview"], Offers: all["outcome:offer"]}

	// Median time from request to accept, over this week's accepts.
	rows, err := q.QueryContext(ctx, `SELECT e.at - r.created_at FROM events e JOIN requests r ON r.id = e.request_id
		WHERE e.guild_id = ? AND e.kind = 'accepted' AND e.at >= ? AND e.at < ? ORDER BY 1`, guildID, ms(d.From), ms(d.To))
	if err != nil {
		return d, err
	}
	var waits []int64
	for rows.Next() {
		var w int64
		if err := rows.Scan(&w); err != nil {
			rows.Close()
			return d, err
		}
		waits = append(waits, w)
	}
	rows.Close()
	if n := len(waits); n > 0 {
		med := waits[n/2]
		if n%2 == 0 {
			med = (waits[n/2-1] + waits[n/2]) / 2
		}
		d.MedianAccept = time.Duration(med) * time.Millisecond
	}

	// Companies whose requests wait because nobody is free.
	rows, err = q.QueryContext(ctx, `SELECT company_name, COUNT(*) FROM requests WHERE guild_id = ? AND state = 'waiting'
		GROUP BY company_key ORDER BY 2 DESC, 1 LIMIT 10`, guildID)
	if err != nil {
		return d, err
	}
	for rows.Next() {
		var w referral.Wanted
		if err := rows.Scan(&w.Company, &w.Waiting); err != nil {
			rows.Close()
			return d, err
		}
		d.Wanted = append(d.Wanted, w)
	}
	rows.Close()

	// The week's referrers: whoever accepted or submitted.
	rows, err = q.QueryContext(ctx, `SELECT actor_id FROM events WHERE guild_id = ? AND at >= ? AND at < ? AND kind IN ('accepted', 'submitted') AND actor_id != ''
		GROUP BY actor_id ORDER BY COUNT(*) DESC, MIN(at)`, guildID, ms(d.From), ms(d.To))
	if err != nil {
		return d, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return d, err
		}
		d.ThankReferrers = append(d.ThankReferrers, id)
	}
	rows.Close()

	// Eight weeks for the chart, oldest first.
	for i := 7; i >= 0; i-- {
		to := now.Add(-time.Duration(i) * 7 * 24 * time.Hour)
		c, err := counts(to.Add(-7*24*time.Hour), to)
		if err != nil {
			return d, err
		}
		d.History = append(d.History, referral.WeekCounts{Week: WeekKey(to, loc), Requests: c["created"], Submitted: c["submitted"],
			Interviews: c["outcome:interview"], Offers: c["outcome:offer"]})
	}
	return d, nil
}

func (s *Store) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
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
		return enqueue(ctx, tx, now, referral.Outgoing{GuildID: guildID, ChannelID: g.DigestChannelID, Notice: referral.Notice{Kind: referral.NoticeDigest, Digest: &d}}, 0)
	})
	if err != nil {
		return d, fmt.Errorf("post digest: %w", err)
	}
	return d, nil
}

// PostWeeklyDigests queues the week's digest for every server with a digest
// channel that has none yet this week and had its channel before
// scheduledAt (this week's scheduled time). It returns the servers posted to.
func (s *Store) PostWeeklyDigests(ctx context.Context, now, scheduledAt time.Time) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT guild_id FROM guild_settings WHERE digest_channel_id != '' AND digest_since <= ?
		AND guild_id NOT IN (SELECT guild_id FROM digests WHERE week = ?)`, ms(scheduledAt), WeekKey(now, s.loc()))
	if err != nil {
		return nil, fmt.Errorf("weekly digests: %w", err)
	}
	var guilds []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return nil, fmt.Errorf("weekly digests: %w", err)
		}
		guilds = append(guilds, g)
	}
	rows.Close()
	var posted []string
	for _, g := range guilds {
		err := s.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO digests (guild_id, week, posted_at) VALUES (?, ?, ?)`, g, WeekKey(now, s.loc()), ms(now))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // posted meanwhile
			}
			st, err := guildSettings(ctx, tx, g)
			if err != nil {
				return err
			}
			d, err := s.digest(ctx, tx, g, now)
			if err != nil {
				return err
			}
			posted = append(posted, g)
			return enqueue(ctx, tx, now, referral.Outgoing{GuildID: g, ChannelID: st.DigestChannelID, Notice: referral.Notice{Kind: referral.NoticeDigest, Digest: &d}}, 0)
		})
		if err != nil {
			return posted, fmt.Errorf("weekly digest for %s: %w", g, err)
		}
	}
	return posted, nil
}

// WeekStart is exported for the scheduler: Monday 00:00 of t's week in loc.
func WeekStart(t time.Time, loc *time.Location) time.Time { return weekStart(t, loc) }

// Stats are the server's numbers for /referral-admin stats.
func (s *Store) Stats(ctx context.Context, guildID string, now time.Time) (referral.Stats, error) {
	var st referral.Stats
	var err error
	if st.Week, err = s.digest(ctx, s.read, guildID, now); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	err = s.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(status = 'active'), 0), COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'paused'), 0)
		FROM referrers WHERE guild_id = ?`, guildID).Scan(&st.Referrers.Active, &st.Referrers.Pending, &st.Referrers.Paused)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE guild_id = ? AND failed_at IS NOT NULL AND last_error NOT LIKE '%pinged in fallback%'`, guildID).
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
	rows, err := s.read.QueryContext(ctx, `SELECT c.company_key, MIN(c.company_name), COUNT(*) FROM referrer_companies c JOIN referrers r ON r.id = c.referrer_id
		WHERE r.guild_id = ? AND r.status = 'active' GROUP BY c.company_key`, guildID)
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
	rows, err = s.read.QueryContext(ctx, `SELECT company_key, MIN(company_name), COALESCE(SUM(state = 'waiting'), 0),
			COALESCE(SUM(state IN ('waiting', 'offered', 'accepted')), 0), COALESCE(SUM(submitted_at IS NOT NULL), 0)
		FROM requests WHERE guild_id = ? GROUP BY company_key`, guildID)
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
