package storage

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/referral"
)

func TestDashboardKeyMadeOnceAndKeptSQLite(t *testing.T) {
	s, _, path := openTest(t)
	ctx := context.Background()
	// Two first uses at once agree on one key.
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := s.DashboardKey(ctx)
			if err != nil {
				t.Errorf("DashboardKey: %v", err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("DashboardKey call %d = %x; want the same 32 bytes as call 0 (%x)", i, k, keys[0])
		}
	}
	if n := count(t, s, `SELECT COUNT(*) FROM dashboard_key`); n != 1 {
		t.Fatalf("dashboard_key rows = %d; want 1", n)
	}
	s.Close()

	again, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if k, err := again.DashboardKey(ctx); err != nil || !bytes.Equal(k, keys[0]) {
		t.Fatalf("DashboardKey after reopen = %x, %v; want the stored %x", k, err, keys[0])
	}

	other, err := Open(ctx, filepath.Join(t.TempDir(), "other.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if k, err := other.DashboardKey(ctx); err != nil || bytes.Equal(k, keys[0]) {
		t.Fatalf("another database's key = %x, %v; want a different random key", k, err)
	}
}

// seedDashboard fills server g1 with a known history (and one request in
// g2), every step through the store's own methods.
func seedDashboard(t *testing.T) (*Store, *clock, map[string]string) {
	s, clk, _ := openTest(t)
	ctx := context.Background()
	w := &digestWorld{t: t, s: s, clk: clk}
	w.at(nov(1, 12))
	w.setup("g1")
	w.setup("g2")
	w.referrer("g1", "ann", "Amazon")
	w.referrer("g1", "ben", "Amazon")
	w.referrer("g1", "cy", "Apple")
	// dee joins without the referrer role: pending, so Meta has nobody.
	if _, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: "dee", Companies: []referral.Company{referral.NormalizeCompany("Meta")}}); err != nil {
		t.Fatal(err)
	}

	r1, first := w.at(nov(2, 10)).request("g1", "stu-1", "Amazon")
	second := map[string]string{"ann": "ben", "ben": "ann"}[first]
	if second == "" {
		t.Fatalf("Amazon request offered to %q; want ann or ben", first)
	}
	if _, err := w.at(nov(2, 12)).s.AnswerOffer(ctx, pendingOfferID(t, s, r1), first, false); err != nil {
		t.Fatalf("decline: %v", err)
	}
	w.at(nov(2, 14)).accept(r1, second) // 4 h after the request, its second offer
	w.at(nov(3, 10)).submit(r1, second)
	w.at(nov(5, 10)).outcome(r1, "stu-1", referral.OutcomeScreen) // 48 h after submission
	w.at(nov(9, 10)).outcome(r1, "stu-1", referral.OutcomeInterview)

	r2, to := w.at(nov(10, 10)).request("g1", "stu-2", "Apple")
	if to != "cy" {
		t.Fatalf("Apple request offered to %q; want cy", to)
	}
	w.at(nov(10, 11)).accept(r2, "cy") // 1 h
	w.at(nov(10, 12)).submit(r2, "cy")
	w.at(nov(11, 12)).outcome(r2, "stu-2", referral.OutcomeRejected) // 24 h

	w.at(nov(11, 10)).request("g1", "stu-3", "Meta")
	w.at(nov(12, 10)).request("g1", "stu-4", "Stripe")
	w.at(nov(12, 11)).request("g1", "stu-5", "Stripe")
	w.at(nov(12, 9)).request("g2", "stu-6", "Stripe")
	clk.set(nov(12, 12))
	if _, err := s.ReportReferrer(ctx, r2, "stu-2"); err != nil {
		t.Fatalf("ReportReferrer: %v", err)
	}
	return s, clk, map[string]string{"accepter": second, "decliner": first}
}

func pendingOfferID(t *testing.T, s *Store, requestID int64) int64 {
	t.Helper()
	var id int64
	if err := s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND state = 'pending'`, requestID).Scan(&id); err != nil {
		t.Fatalf("no pending offer for request %d: %v", requestID, err)
	}
	return id
}

func TestDashboardFromSeededDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, who := seedDashboard(t)
		ctx := context.Background()
		now := nov(16, 9)
		d, err := s.Dashboard(ctx, "g1", dashboard.Last4Weeks, now)
		if err != nil {
			t.Fatalf("Dashboard: %v", err)
		}
		if want := nov(16, 9).AddDate(0, 0, -28); !d.From.Equal(want) || !d.To.Equal(now) {
			t.Errorf("period = %v to %v; want %v to %v", d.From, d.To, want, now)
		}
		// r1 was offered twice (a decline, then an accept) and counts once;
		// r2 was rejected after its referral; g2's request is not counted.
		if want := (dashboard.Funnel{Requests: 5, Offered: 2, Accepted: 2, Submitted: 2, Screens: 1, Interviews: 1}); d.Funnel != want {
			t.Errorf("funnel = %+v; want %+v", d.Funnel, want)
		}
		if want := (dashboard.Activity{NewRequests: 5, Matched: 2, Submitted: 2, Screens: 1, Interviews: 1}); d.Activity != want {
			t.Errorf("activity = %+v; want %+v", d.Activity, want)
		}
		wantCompanies := []dashboard.CompanyFunnel{
			{Company: "Stripe", Funnel: dashboard.Funnel{Requests: 2}},
			{Company: "Amazon", Funnel: dashboard.Funnel{Requests: 1, Offered: 1, Accepted: 1, Submitted: 1, Screens: 1, Interviews: 1}},
			{Company: "Apple", Funnel: dashboard.Funnel{Requests: 1, Offered: 1, Accepted: 1, Submitted: 1}},
			{Company: "Meta", Funnel: dashboard.Funnel{Requests: 1}},
		}
		if !reflect.DeepEqual(d.Companies, wantCompanies) {
			t.Errorf("companies = %+v; want %+v", d.Companies, wantCompanies)
		}
		if len(d.Weeks) != dashboard.Last4Weeks.ChartWeeks() {
			t.Fatalf("chart has %d weeks; want %d", len(d.Weeks), dashboard.Last4Weeks.ChartWeeks())
		}
		last, prev := d.Weeks[len(d.Weeks)-1], d.Weeks[len(d.Weeks)-2]
		if !last.From.Equal(nov(9, 9)) || !last.To.Equal(now) || !prev.From.Equal(nov(2, 9)) || !prev.To.Equal(nov(9, 9)) {
			t.Errorf("last weeks = %v..%v, %v..%v; want the digest's windows ending at 16 and 9 Nov 09:00", prev.From, prev.To, last.From, last.To)
		}
		if want := (dashboard.Activity{NewRequests: 4, Matched: 1, Submitted: 1, Interviews: 1}); last.Activity != want {
			t.Errorf("last week = %+v; want %+v", last.Activity, want)
		}
		if want := (dashboard.Activity{NewRequests: 1, Matched: 1, Submitted: 1, Screens: 1}); prev.Activity != want {
			t.Errorf("week before = %+v; want %+v", prev.Activity, want)
		}
		// Accepts after 4 h and 1 h; first outcomes 48 h and 24 h after submission.
		if d.MedianAccept != 150*time.Minute || d.Accepts != 2 {
			t.Errorf("median accept = %v over %d; want 2h30m over 2", d.MedianAccept, d.Accepts)
		}
		if d.MedianOutcome != 36*time.Hour || d.Outcomes != 2 {
			t.Errorf("median first outcome = %v over %d; want 36h over 2", d.MedianOutcome, d.Outcomes)
		}
		wantWaiting := []dashboard.Waiting{{Company: "Stripe", Requests: 2, Since: nov(12, 10)}, {Company: "Meta", Requests: 1, Since: nov(11, 10)}}
		if !reflect.DeepEqual(d.Waiting, wantWaiting) {
			t.Errorf("waiting = %+v; want %+v", d.Waiting, wantWaiting)
		}

		// Reported first, then pending, then by work done.
		wantReferrers := []dashboard.Referrer{
			{UserID: "cy", Status: "paused", Reported: true, Capacity: 4, Used: 1, Asked: 1, Accepted: 1, Submitted: 1, LastActive: nov(10, 12), OpenReports: 1},
			{UserID: "dee", Status: "pending", Capacity: 4, LastActive: nov(1, 12)},
			{UserID: who["accepter"], Status: "active", Capacity: 4, Used: 1, Asked: 1, Accepted: 1, Submitted: 1, LastActive: nov(3, 10)},
			{UserID: who["decliner"], Status: "active", Capacity: 4, Asked: 1, LastActive: nov(2, 12)},
		}
		if !reflect.DeepEqual(d.Referrers, wantReferrers) {
			t.Errorf("referrers =\n%+v\nwant\n%+v", d.Referrers, wantReferrers)
		}
	})
}

func TestDashboardPeriods(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := seedDashboard(t)
		ctx := context.Background()
		later := nov(16, 9).AddDate(0, 0, 21) // 7 Dec: the last 4 weeks start 9 Nov 09:00
		all := dashboard.Funnel{Requests: 5, Offered: 2, Accepted: 2, Submitted: 2, Screens: 1, Interviews: 1}
		allActivity := dashboard.Activity{NewRequests: 5, Matched: 2, Submitted: 2, Screens: 1, Interviews: 1}
		tests := []struct {
			period   dashboard.Period
			funnel   dashboard.Funnel
			activity dashboard.Activity
		}{
			// r1 was made before 9 Nov, so its interview on 9 Nov counts as
			// activity but not in the funnel of the period's requests.
			{dashboard.Last4Weeks, dashboard.Funnel{Requests: 4, Offered: 1, Accepted: 1, Submitted: 1}, dashboard.Activity{NewRequests: 4, Matched: 1, Submitted: 1, Interviews: 1}},
			{dashboard.Last12Weeks, all, allActivity},
			{dashboard.AllTime, all, allActivity},
		}
		for _, tt := range tests {
			d, err := s.Dashboard(ctx, "g1", tt.period, later)
			if err != nil {
				t.Fatalf("Dashboard(%s): %v", tt.period, err)
			}
			if d.Funnel != tt.funnel || d.Activity != tt.activity {
				t.Errorf("Dashboard(%s) = funnel %+v, activity %+v; want %+v, %+v", tt.period, d.Funnel, d.Activity, tt.funnel, tt.activity)
			}
			if len(d.Weeks) != tt.period.ChartWeeks() {
				t.Errorf("Dashboard(%s) chart has %d weeks; want %d", tt.period, len(d.Weeks), tt.period.ChartWeeks())
			}
			if n := tt.period.Weeks(); n > 0 {
				var sum dashboard.Activity
				for _, w := range d.Weeks[len(d.Weeks)-n:] {
					sum = addActivity(sum, w.Activity)
				}
				if sum != d.Activity {
					t.Errorf("Dashboard(%s): the chart's last %d weeks sum to %+v; want the activity %+v", tt.period, n, sum, d.Activity)
				}
			}
		}
		// A server with nothing shows zeros, not an error.
		d, err := s.Dashboard(ctx, "g-empty", dashboard.AllTime, later)
		if err != nil || d.Funnel != (dashboard.Funnel{}) || d.Activity != (dashboard.Activity{}) || len(d.Companies) != 0 || len(d.Referrers) != 0 || len(d.Weeks) != 52 {
			t.Errorf("Dashboard(empty server) = %+v, %v; want zeros and 52 empty weeks", d, err)
		}
	})
}

func addActivity(a, b dashboard.Activity) dashboard.Activity {
	return dashboard.Activity{NewRequests: a.NewRequests + b.NewRequests, Matched: a.Matched + b.Matched, Submitted: a.Submitted + b.Submitted,
		Screens: a.Screens + b.Screens, Interviews: a.Interviews + b.Interviews, Offers: a.Offers + b.Offers}
}

func TestDashboardQueriesUseIndexesSQLite(t *testing.T) {
	s, _, _ := seedDashboard(t)
	now, from := nov(16, 9).UnixMilli(), nov(16, 9).AddDate(0, 0, -28).UnixMilli()
	tests := []struct {
		name  string
		query string
		args  []any
		want  []string // "table index (constraint)" searched
	}{
		{"funnel", qDashFunnel, periodParts("g1", from, now), []string{"funnel_weeks PRIMARY KEY (guild_id=? AND week>? AND week<?)", "funnel_days PRIMARY KEY (guild_id=? AND day>? AND day<?)", "requests requests_guild_created (guild_id=? AND created_at>? AND created_at<?)"}},
		{"funnel late steps", qDashFunnelLate, []any{"g1", from, now}, []string{"l events_guild_at (guild_id=? AND at>?)", "e events_request (request_id=? AND kind=?)"}},
		{"funnel totals", qDashFunnelTotals, []any{"g1"}, []string{"funnel_totals PRIMARY KEY (guild_id=?)"}},
		{"activity", qWindowCounts, windowParts("g1", from, now), []string{"event_days PRIMARY KEY (guild_id=? AND day>? AND day<?)", "events events_guild_at (guild_id=? AND at>? AND at<?)"}},
		{"accept waits", qDashAcceptWaits, []any{"g1", from, now}, []string{"events events_referrer_work (guild_id=? AND kind=? AND at>? AND at<?)"}},
		{"outcome waits", qDashOutcomeWaits, []any{"g1", from, now}, []string{"events events_first_outcome (guild_id=? AND at>? AND at<?)"}},
		{"all-time waits", qDashWaitMinutes, []any{"g1", "accepted"}, []string{"wait_minutes PRIMARY KEY (guild_id=? AND what=?)"}},
		{"waiting", qDashWaiting, []any{"g1"}, []string{"company_counts company_counts_waiting (guild_id=?)"}},
		{"company referrers", qDashCompanyReferrers, []any{"g1", "amazon"}, []string{"company_counts PRIMARY KEY (guild_id=? AND company_key=?)"}},
		{"oldest waiting", qDashOldestWaiting, []any{"g1", "amazon"}, []string{"requests requests_waiting (guild_id=? AND company_key=?)"}},
		{"referrers", qDashReferrers, []any{now, now, "g1"}, []string{"rf sqlite_autoindex_referrers_1 (guild_id=?)", "o offers_referrer (guild_id=? AND referrer_user_id=?)", "p reports_open (guild_id=? AND referrer_id=?)"}},
		{"referrer work", qDashReferrerWork, periodParts("g1", from, now), []string{"actor_weeks PRIMARY KEY (guild_id=? AND week>? AND week<?)", "actor_days PRIMARY KEY (guild_id=? AND day>? AND day<?)", "events events_guild_at (guild_id=? AND at>? AND at<?)"}},
		{"referrer work totals", qDashReferrerWorkTotals, []any{"g1"}, []string{"actor_totals PRIMARY KEY (guild_id=?)"}},
		{"last active", qDashLastActive, []any{"g1"}, []string{"actor_totals PRIMARY KEY (guild_id=?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, s, tt.query, tt.args...)
			for _, want := range tt.want {
				table, index, _ := strings.Cut(want, " ")
				found := false
				for _, line := range strings.Split(plan, "\n") {
					found = found || strings.HasPrefix(line, "SEARCH "+table+" USING ") && strings.Contains(line, index)
				}
				if !found {
					t.Errorf("plan does not search %s by %s:\n%s", table, index, plan)
				}
			}
			for _, line := range strings.Split(plan, "\n") {
				// The union of aggregate rows is read as it comes (a co-routine), not a table.
				if strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN CONSTANT ROW") && !strings.HasPrefix(line, "SCAN (subquery-") {
					t.Errorf("plan scans a whole table: %q\n%s", line, plan)
				}
			}
		})
	}
}

func TestPeriodParts(t *testing.T) {
	day := func(d int) int64 { return nov(d, 0).UnixMilli() } // 2, 9, 16, 23 Nov 2026 are Mondays
	hour := func(d, h int) int64 { return nov(d, h).UnixMilli() }
	end := int64(math.MaxInt64)
	tests := []struct {
		name     string
		from, to int64
		// weeks, days before, days after, rows before, rows after
		want [5][2]int64
	}{
		{"inside a day", hour(4, 3), hour(4, 9), [5][2]int64{3: {hour(4, 3), hour(4, 9)}}},
		{"days of one week", hour(3, 5), hour(6, 7),
			[5][2]int64{1: {day(4), day(6)}, 3: {hour(3, 5), day(4)}, 4: {day(6), hour(6, 7)}}},
		{"days across a Monday", hour(6, 5), hour(11, 7),
			[5][2]int64{1: {day(7), day(11)}, 3: {hour(6, 5), day(7)}, 4: {day(11), hour(11, 7)}}},
		{"weeks", hour(4, 5), hour(25, 7), [5][2]int64{{day(9), day(23)}, {day(5), day(9)}, {day(23), day(25)},
			{hour(4, 5), day(5)}, {day(25), hour(25, 7)}}},
		{"whole weeks", day(2), day(16), [5][2]int64{{day(2), day(16)}, {day(2), day(2)}, {day(16), day(16)}, {day(2), day(2)}, {day(16), day(16)}}},
		{"from then on", hour(4, 5), end, [5][2]int64{{day(9), end}, {day(5), day(9)}, {end, end}, {hour(4, 5), day(5)}, {end, end}}},
	}
	for _, tt := range tests {
		args := periodParts("g1", tt.from, tt.to)
		var got [5][2]int64
		for i := range got {
			got[i] = [2]int64{args[1+2*i].(int64), args[2+2*i].(int64)}
		}
		if got != tt.want {
			t.Errorf("%s: periodParts(%d, %d) = %v; want %v", tt.name, tt.from, tt.to, got, tt.want)
		}
	}
	for _, monday := range []int64{day(2), day(9), 0 + 4*dayMS} {
		if weekFloor(monday) != monday || weekFloor(monday+weekMS-1) != monday || weekCeil(monday-1) != monday {
			t.Errorf("week of %d: floor %d, ceil %d", monday, weekFloor(monday), weekCeil(monday-1))
		}
	}
}
