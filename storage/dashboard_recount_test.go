package storage

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/dashboard"

	"github.com/referralbot/referralbot/referral"
)

// The dashboard's aggregates (migrations 0012 and 0013) recounted in Go from the rows
// they count, for the property test of aggregates_test.go.

// eventStepOf is the funnel step an event reaches.
func eventStepOf(e eventRow) int {
	switch e.what() {
	case referral.EventOffered:
		return 1
	case referral.EventAccepted:
		return 2
	case referral.EventSubmitted:
		return 3
	case "outcome:screen":
		return 4
	case "outcome:interview":
		return 5
	case "outcome:offer":
		return 6
	}
	return 0
}

// recountWaits is every event's wait: an accept's since its request, a
// request's first outcome's since its submission.
func recountWaits(t *testing.T, q querier) map[int64]int64 {
	t.Helper()
	type times struct {
		id, created int64
		submitted   sql.NullInt64
	}
	byID := map[int64]times{}
	for _, r := range rowsOf(t, q, `SELECT id, created_at, submitted_at FROM requests`,
		func(rows *sql.Rows, r *times) error { return rows.Scan(&r.id, &r.created, &r.submitted) }) {
		byID[r.id] = r
	}
	out := map[int64]int64{}
	outcome := map[int64]bool{}
	for _, e := range allEvents(t, q) { // in id order
		r, ok := byID[e.request]
		switch {
		case !ok:
		case e.kind == referral.EventAccepted:
			out[e.id] = e.at - r.created
		case e.kind == referral.EventOutcome && !outcome[e.request]:
			outcome[e.request] = true
			if r.submitted.Valid {
				out[e.id] = e.at - r.submitted.Int64
			}
		}
	}
	return out
}

func recountDashboardAggregates(t *testing.T, q querier, events []eventRow, out map[string][]string) {
	t.Helper()
	furthest := map[int64]int{}
	for _, e := range events {
		furthest[e.request] = max(furthest[e.request], eventStepOf(e))
	}
	days, weeks, totals := map[[5]any]int{}, map[[5]any]int{}, map[[4]any]int{}
	for _, r := range allRequests(t, q) {
		days[[5]any{r.guild, r.created / dayMS * dayMS, r.key, r.name, furthest[r.id]}]++
		weeks[[5]any{r.guild, weekFloor(r.created), r.key, r.name, furthest[r.id]}]++
		totals[[4]any{r.guild, r.key, r.name, furthest[r.id]}]++
	}
	for k, n := range days {
		out["funnel_days"] = append(out["funnel_days"], line(k[0], k[1], k[2], k[3], k[4], n))
	}
	for k, n := range weeks {
		out["funnel_weeks"] = append(out["funnel_weeks"], line(k[0], k[1], k[2], k[3], k[4], n))
	}
	for k, n := range totals {
		out["funnel_totals"] = append(out["funnel_totals"], line(k[0], k[1], k[2], k[3], n))
	}

	type actorTotal struct {
		n    int
		last int64
	}
	actorDays, actorWeeks, actorTotals := map[[4]any]int{}, map[[4]any]int{}, map[[3]string]*actorTotal{}
	for _, e := range events {
		switch e.kind {
		case referral.EventOffered, referral.EventAccepted, referral.EventDeclined, referral.EventSubmitted:
		default:
			continue
		}
		if e.actor == "" {
			continue
		}
		actorDays[[4]any{e.guild, e.at / dayMS * dayMS, e.actor, e.kind}]++
		actorWeeks[[4]any{e.guild, weekFloor(e.at), e.actor, e.kind}]++
		k := [3]string{e.guild, e.actor, e.kind}
		if actorTotals[k] == nil {
			actorTotals[k] = &actorTotal{}
		}
		actorTotals[k].n++
		actorTotals[k].last = max(actorTotals[k].last, e.at)
	}
	for k, n := range actorDays {
		out["actor_days"] = append(out["actor_days"], line(k[0], k[1], k[2], k[3], n))
	}
	for k, n := range actorWeeks {
		out["actor_weeks"] = append(out["actor_weeks"], line(k[0], k[1], k[2], k[3], n))
	}
	for k, a := range actorTotals {
		out["actor_totals"] = append(out["actor_totals"], line(k[0], k[1], k[2], a.n, a.last))
	}

	byID := map[int64]eventRow{}
	for _, e := range events {
		byID[e.id] = e
	}
	minutes := map[[3]any]int{}
	for id, w := range recountWaits(t, q) {
		e := byID[id]
		minutes[[3]any{e.guild, e.kind, w / 60000}]++
	}
	for k, n := range minutes {
		out["wait_minutes"] = append(out["wait_minutes"], line(k[0], k[1], k[2], n))
	}
}

// checkDashboard compares the dashboard read from the aggregates with the
// one computed from history, for every period, just after now (the page
// is shown after what it counts). All-time medians come from whole
// minutes, so they may differ by less than one.
func checkDashboard(t *testing.T, s *Store, guildID string, now time.Time, when string) {
	t.Helper()
	ctx := context.Background()
	now = now.Add(time.Millisecond)
	for _, p := range dashboard.Periods() {
		got, err := s.Dashboard(ctx, guildID, p, now)
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.oldDashboard(ctx, guildID, p, now)
		if err != nil {
			t.Fatal(err)
		}
		if p == dashboard.AllTime {
			for _, m := range [][2]*time.Duration{{&got.MedianAccept, &want.MedianAccept}, {&got.MedianOutcome, &want.MedianOutcome}} {
				if d := *m[0] - *m[1]; d > -time.Minute && d < time.Minute {
					*m[0] = *m[1]
				}
			}
		}
		// History named a company after whichever spelling its first
		// step group met; the aggregates after its first spelling.
		for _, d := range []*dashboard.Data{&got, &want} {
			for i := range d.Companies {
				d.Companies[i].Company = strings.ToLower(d.Companies[i].Company)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Dashboard(%s, %s) differs from history:\n%s", when, guildID, p, dashDiff(got, want))
		}
	}
}

func dashDiff(got, want dashboard.Data) string {
	var out []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			out = append(out, fmt.Sprintf("%s: %+v; want %+v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface()))
		}
	}
	return strings.Join(out, "\n")
}
