package storage

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// The aggregates (migrations/0004_aggregates.sql) count events per server
// by UTC hour, UTC day and all time, and keep per-company, per-status and
// undeliverable counts; 0012 adds the dashboard's: requests by day made,
// company and furthest step, referrers' work by day, and the all-time
// waits by minute; 0013 the same requests and work by UTC week. Triggers maintain them in the statement that writes
// what they count; the digest, stats (digest.go) and the dashboard
// (dashboard.go) read them.

const (
	hourMS = int64(time.Hour / time.Millisecond)
	dayMS  = 24 * hourMS
	weekMS = 7 * dayMS
	// mondayMS is the offset of the weeks from the epoch, a Thursday:
	// 1970-01-05 00:00 UTC, a Monday, is a week start.
	mondayMS = 4 * dayMS
)

// eventWhat names what an event counts as: its kind, or outcome:screen,
// outcome:interview, ... for an outcome. The triggers use the same
// expression.
const eventWhat = `CASE WHEN kind = 'outcome' THEN 'outcome:' || detail ELSE kind END`

// qWindowCounts counts a server's events in a window by what they are:
// its whole UTC days from event_days, the whole hours at either end from
// event_hours, and the partial hours at its very ends from the events
// index. windowParts fills in the bounds.
const qWindowCounts = `SELECT what, SUM(n) FROM (
	SELECT what, n FROM event_days WHERE guild_id = ?1 AND day >= ?2 AND day < ?3
	UNION ALL SELECT what, n FROM event_hours WHERE guild_id = ?1 AND hour >= ?4 AND hour < ?5
	UNION ALL SELECT what, n FROM event_hours WHERE guild_id = ?1 AND hour >= ?6 AND hour < ?7
	UNION ALL SELECT ` + eventWhat + ` AS what, 1 AS n FROM events WHERE guild_id = ?1 AND at >= ?8 AND at < ?9
	UNION ALL SELECT ` + eventWhat + `, 1 FROM events WHERE guild_id = ?1 AND at >= ?10 AND at < ?11
) GROUP BY what`

// qEventTotals is a server's all-time counts.
const qEventTotals = `SELECT what, n FROM event_totals WHERE guild_id = ?`

// floorTo rounds t (ms) down to a multiple of unit; for times after 1970
// that is the triggers' at / unit * unit.
func floorTo(t, unit int64) int64 {
	m := t % unit
	if m < 0 {
		m += unit
	}
	return t - m
}

// weekFloor is the start of the UTC week (Monday 00:00, ms) of t.
func weekFloor(t int64) int64 { return floorTo(t-mondayMS, weekMS) + mondayMS }

// weekCeil is t, if a week starts then, or the start of the next week.
func weekCeil(t int64) int64 { return ceilTo(t-mondayMS, weekMS) + mondayMS }

// ceilTo rounds t (ms) up to a multiple of unit.
func ceilTo(t, unit int64) int64 {
	f := floorTo(t, unit)
	if f == t {
		return t
	}
	return f + unit
}

// windowParts splits [from, to) (ms; to may be math.MaxInt64 for "from
// then on") into the args of qWindowCounts: whole days, whole hours before
// and after them, and the partial hours at the ends. Empty parts are empty
// ranges.
func windowParts(guildID string, from, to int64) []any {
	var days, hoursA, hoursB, evA, evB [2]int64 // [lo, hi); zero = empty
	h1, h2 := ceilTo(from, hourMS), floorTo(to, hourMS)
	if to == math.MaxInt64 {
		h2 = to // no partial hour at an open end
	}
	if h1 >= h2 {
		evA = [2]int64{from, to}
	} else {
		evA, evB = [2]int64{from, h1}, [2]int64{h2, to}
		d1, d2 := ceilTo(h1, dayMS), floorTo(h2, dayMS)
		if h2 == math.MaxInt64 {
			d2 = h2
		}
		if d1 < d2 {
			days, hoursA, hoursB = [2]int64{d1, d2}, [2]int64{h1, d1}, [2]int64{d2, h2}
		} else {
			hoursA = [2]int64{h1, h2}
		}
	}
	return []any{guildID, days[0], days[1], hoursA[0], hoursA[1], hoursB[0], hoursB[1], evA[0], evA[1], evB[0], evB[1]}
}

// snapshot is what the digest reads from: one read transaction (or the
// read pool), with statements prepared once for many windows.
type snapshot interface {
	querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// windowCounter counts a server's events in windows, exactly, each window
// a few aggregate rows and the events of at most two partial hours.
type windowCounter struct {
	stmt    *sql.Stmt
	guildID string
}

func newWindowCounter(ctx context.Context, q snapshot, guildID string) (*windowCounter, error) {
	stmt, err := q.PrepareContext(ctx, qWindowCounts)
	if err != nil {
		return nil, err
	}
	return &windowCounter{stmt: stmt, guildID: guildID}, nil
}

func (w *windowCounter) Close() error { return w.stmt.Close() }

// count counts the events in [from, to) (ms) by what they are.
func (w *windowCounter) count(ctx context.Context, from, to int64) (map[string]int, error) {
	counts := map[string]int{}
	if from >= to {
		return counts, nil
	}
	rows, err := w.stmt.QueryContext(ctx, windowParts(w.guildID, from, to)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var what string
		var n int
		if err := rows.Scan(&what, &n); err != nil {
			return nil, err
		}
		counts[what] += n
	}
	return counts, rows.Err()
}

// windowCounts counts a server's events in [from, to) by what they are.
func windowCounts(ctx context.Context, q snapshot, guildID string, from, to int64) (map[string]int, error) {
	w, err := newWindowCounter(ctx, q, guildID)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	return w.count(ctx, from, to)
}

// totalsBefore counts a server's events before t: the all-time counts less
// what happened from t on (normally nothing, as t is now).
func (w *windowCounter) totalsBefore(ctx context.Context, q querier, t int64) (map[string]int, error) {
	all := map[string]int{}
	err := eachRow(ctx, q, qEventTotals, []any{w.guildID}, func(rows *sql.Rows) error {
		var what string
		var n int
		err := rows.Scan(&what, &n)
		all[what] += n
		return err
	})
	if err != nil {
		return nil, err
	}
	later, err := w.count(ctx, t, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	for what, n := range later {
		all[what] -= n
	}
	return all, nil
}

// insertEvent records an event. An accept carries the wait since its
// request was made and a request's first outcome the wait since its
// submission, so the medians read no requests; the aggregates count the
// event by trigger.
func insertEvent(ctx context.Context, tx *txn, now time.Time, e referral.Event) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (request_id, guild_id, kind, actor_id, detail, at, wait_ms)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE
			WHEN ?3 = 'accepted' THEN ?6 - (SELECT created_at FROM requests WHERE id = ?1)
			WHEN ?3 = 'outcome' AND NOT EXISTS (SELECT 1 FROM events p WHERE p.request_id = ?1 AND p.kind = 'outcome')
				THEN ?6 - (SELECT submitted_at FROM requests WHERE id = ?1) END)`,
		e.RequestID, e.GuildID, e.Kind, e.ActorID, e.Detail, ms(now))
	return err
}

// eventStep is the funnel step an event reaches (requests.furthest); the
// triggers of migration 0012 use the same expression.
const eventStep = `CASE e.kind WHEN 'offered' THEN 1 WHEN 'accepted' THEN 2 WHEN 'submitted' THEN 3
	ELSE CASE e.detail WHEN 'screen' THEN 4 WHEN 'interview' THEN 5 WHEN 'offer' THEN 6 ELSE 0 END END`

// weekOfDay is the start of the UTC week (Monday 00:00, ms) of a day
// table's day, as weekFloor and the triggers of migration 0013 have it.
const weekOfDay = `(day + 259200000) / 604800000 * 604800000 - 259200000`

// rebuildAggregates recomputes every aggregate, and the waits on accepted
// events, from history; migration 0004 backfills with the same queries.
var rebuildAggregates = []string{
	`UPDATE events SET wait_ms = events.at - r.created_at FROM requests r
		WHERE r.id = events.request_id AND events.kind = 'accepted' AND events.wait_ms IS DISTINCT FROM events.at - r.created_at`,
	`UPDATE events SET wait_ms = CASE WHEN r.submitted_at IS NOT NULL AND NOT EXISTS (
			SELECT 1 FROM events p WHERE p.request_id = events.request_id AND p.kind = 'outcome' AND p.id < events.id)
		THEN events.at - r.submitted_at END FROM requests r WHERE r.id = events.request_id AND events.kind = 'outcome'`,
	`UPDATE events SET wait_ms = NULL WHERE wait_ms IS NOT NULL AND kind NOT IN ('accepted', 'outcome')`,
	`UPDATE requests SET furthest = COALESCE((SELECT MAX(` + eventStep + `) FROM events e
		WHERE e.request_id = requests.id AND e.kind IN ('offered', 'accepted', 'submitted', 'outcome')), 0)`,
	`DELETE FROM event_hours`,
	`DELETE FROM event_days`,
	`DELETE FROM event_totals`,
	`DELETE FROM company_counts`,
	`DELETE FROM referrer_counts`,
	`DELETE FROM undeliverable_counts`,
	`DELETE FROM funnel_days`,
	`DELETE FROM funnel_totals`,
	`DELETE FROM actor_days`,
	`DELETE FROM funnel_weeks`,
	`DELETE FROM actor_weeks`,
	`DELETE FROM actor_totals`,
	`DELETE FROM wait_minutes`,
	`INSERT INTO event_hours (guild_id, hour, what, n)
		SELECT guild_id, at / 3600000 * 3600000, ` + eventWhat + `, COUNT(*) FROM events GROUP BY 1, 2, 3`,
	`INSERT INTO event_days (guild_id, day, what, n)
		SELECT guild_id, at / 86400000 * 86400000, ` + eventWhat + `, COUNT(*) FROM events GROUP BY 1, 2, 3`,
	`INSERT INTO event_totals (guild_id, what, n) SELECT guild_id, ` + eventWhat + `, COUNT(*) FROM events GROUP BY 1, 2`,
	`INSERT INTO company_counts (guild_id, company_key, company_name, requests, waiting, open, submitted, referrers)
		SELECT guild_id, company_key, company_name, SUM(requests), SUM(waiting), SUM(open), SUM(submitted), SUM(referrers) FROM (
			SELECT guild_id, company_key, company_name, 1 AS requests, CASE WHEN state = 'waiting' THEN 1 ELSE 0 END AS waiting,
				CASE WHEN state IN ('waiting', 'offered', 'accepted') THEN 1 ELSE 0 END AS open,
				CASE WHEN submitted_at IS NOT NULL THEN 1 ELSE 0 END AS submitted, 0 AS referrers
			FROM requests
			UNION ALL
			SELECT r.guild_id, c.company_key, c.company_name, 0, 0, 0, 0, 1
			FROM referrer_companies c JOIN referrers r ON r.id = c.referrer_id WHERE r.status = 'active'
		) GROUP BY 1, 2, 3`,
	`INSERT INTO referrer_counts (guild_id, status, n) SELECT guild_id, status, COUNT(*) FROM referrers GROUP BY 1, 2`,
	`INSERT INTO undeliverable_counts (guild_id, n)
		SELECT guild_id, COUNT(*) FROM outbox WHERE failed_at IS NOT NULL AND NOT reached_in_fallback GROUP BY 1`,
	`INSERT INTO funnel_days (guild_id, day, company_key, company_name, step, n)
		SELECT guild_id, created_at / 86400000 * 86400000, company_key, company_name, furthest, COUNT(*) FROM requests GROUP BY 1, 2, 3, 4, 5`,
	`INSERT INTO funnel_totals (guild_id, company_key, company_name, step, n)
		SELECT guild_id, company_key, company_name, furthest, COUNT(*) FROM requests GROUP BY 1, 2, 3, 4`,
	`INSERT INTO actor_days (guild_id, day, actor_id, kind, n)
		SELECT guild_id, at / 86400000 * 86400000, actor_id, kind, COUNT(*) FROM events
		WHERE kind IN ('offered', 'accepted', 'declined', 'submitted') AND actor_id != '' GROUP BY 1, 2, 3, 4`,
	`INSERT INTO actor_totals (guild_id, actor_id, kind, n, last_at)
		SELECT guild_id, actor_id, kind, COUNT(*), MAX(at) FROM events
		WHERE kind IN ('offered', 'accepted', 'declined', 'submitted') AND actor_id != '' GROUP BY 1, 2, 3`,
	`INSERT INTO funnel_weeks (guild_id, week, company_key, company_name, step, n)
		SELECT guild_id, ` + weekOfDay + `, company_key, company_name, step, SUM(n) FROM funnel_days WHERE n != 0 GROUP BY 1, 2, 3, 4, 5`,
	`INSERT INTO actor_weeks (guild_id, week, actor_id, kind, n)
		SELECT guild_id, ` + weekOfDay + `, actor_id, kind, SUM(n) FROM actor_days WHERE n != 0 GROUP BY 1, 2, 3, 4`,
	`INSERT INTO wait_minutes (guild_id, what, minute, n)
		SELECT guild_id, kind, wait_ms / 60000, COUNT(*) FROM events WHERE wait_ms IS NOT NULL AND kind IN ('accepted', 'outcome') GROUP BY 1, 2, 3`,
}

// RebuildAggregates recomputes, in one transaction, every count the digest
// and stats read from the history itself: for a database whose rows were
// written directly (a data generator), or to repair one. The bot never
// needs it; the counts are maintained as rows are written.
func (s *Store) RebuildAggregates(ctx context.Context) error {
	err := s.tx(ctx, func(tx *txn, _ time.Time) error {
		for _, q := range rebuildAggregates {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild aggregates: %w", err)
	}
	return nil
}
