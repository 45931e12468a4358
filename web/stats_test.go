package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/web"
)

// digestSix are the six numbers the digest and stats show, in their order:
// New requests, Matched, Referrals submitted, screens, interviews, offers.
func digestSix(d referral.Digest) [6]int {
	return [6]int{d.NewRequests, d.Matched, d.Submitted, d.Screens, d.Interviews, d.Offers}
}

func totalSix(t referral.Totals) [6]int {
	return [6]int{t.Requests, t.Matched, t.Submitted, t.Screens, t.Interviews, t.Offers}
}

func activitySix(a dashboard.Activity) [6]int {
	return [6]int{a.NewRequests, a.Matched, a.Submitted, a.Screens, a.Interviews, a.Offers}
}

// checkFunnel fails unless each step holds at most the one before.
func checkFunnel(t *testing.T, what string, f dashboard.Funnel) {
	t.Helper()
	steps := []int{f.Requests, f.Offered, f.Accepted, f.Submitted, f.Screens, f.Interviews, f.Offers}
	for i := 1; i < len(steps); i++ {
		if steps[i] > steps[i-1] {
			t.Errorf("%s funnel %+v: step %d (%d) exceeds the step before (%d)", what, f, i, steps[i], steps[i-1])
		}
	}
}

func TestDashboardMatchesStatsAndDigest(t *testing.T) {
	s, end := simulate(t)
	ctx := context.Background()

	// At the end and at 14 earlier moments, a few days apart, across the
	// change from summer time.
	for k := range 15 {
		now := end.Add(-time.Duration(k) * 84 * time.Hour)
		st, err := s.Stats(ctx, guildID, now)
		if err != nil {
			t.Fatalf("Stats(%v): %v", now, err)
		}
		all, err := s.Dashboard(ctx, guildID, dashboard.AllTime, now)
		if err != nil {
			t.Fatalf("Dashboard(all, %v): %v", now, err)
		}
		if got, want := activitySix(all.Activity), totalSix(st.Week.Total); got != want {
			t.Errorf("at %v: all-time activity = %v; want the digest's totals %v", now, got, want)
		}
		// Every request is made and submitted once, and gets one offer at most.
		if f, tot := all.Funnel, st.Week.Total; f.Requests != tot.Requests || f.Submitted != tot.Submitted || f.Offers != tot.Offers {
			t.Errorf("at %v: all-time funnel %+v; want requests, submitted and offers of the totals %+v", now, f, tot)
		}
		checkFunnel(t, "all-time", all.Funnel)
		for _, c := range all.Companies {
			checkFunnel(t, c.Company, c.Funnel)
		}
		d, err := s.Dashboard(ctx, guildID, dashboard.Last4Weeks, now)
		if err != nil {
			t.Fatalf("Dashboard(4w, %v): %v", now, err)
		}
		last := d.Weeks[len(d.Weeks)-1]
		if got, want := activitySix(last.Activity), digestSix(st.Week); got != want {
			t.Errorf("at %v: the chart's last week = %v; want the digest's week %v", now, got, want)
		}
		if !last.From.Equal(st.Week.From) || !last.To.Equal(st.Week.To) {
			t.Errorf("at %v: the chart's last week is %v to %v; want the digest's %v to %v", now, last.From, last.To, st.Week.From, st.Week.To)
		}
		history := d.Weeks[len(d.Weeks)-len(st.Week.History):]
		for i, h := range st.Week.History {
			w := history[i]
			got := referral.WeekCounts{Week: referral.WeekKey(w.To, newYork), Requests: w.NewRequests, Submitted: w.Submitted, Interviews: w.Interviews, Offers: w.Offers}
			if got != h {
				t.Errorf("at %v: chart week %d = %+v; want the digest chart's %+v", now, i, got, h)
			}
		}
		var sum dashboard.Activity
		for _, w := range d.Weeks[len(d.Weeks)-4:] {
			sum = add(sum, w.Activity)
		}
		if sum != d.Activity {
			t.Errorf("at %v: 4-week activity = %+v; want the sum of its 4 chart weeks %+v", now, d.Activity, sum)
		}
		checkFunnel(t, "4-week", d.Funnel)
	}

	// What stands now: waiting companies, per-company submissions and the
	// referrers' counts, against stats and /referral-admin referrers.
	st, err := s.Stats(ctx, guildID, end)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Dashboard(ctx, guildID, dashboard.AllTime, end)
	if err != nil {
		t.Fatal(err)
	}
	var waiting []referral.Wanted
	for _, w := range d.Waiting {
		waiting = append(waiting, referral.Wanted{Company: w.Company, Waiting: w.Requests})
	}
	if len(waiting) == 0 || len(waiting) > 15 || !equalWanted(waiting, st.Week.Wanted) {
		t.Errorf("waiting = %+v; want the digest's wanted %+v (and some)", waiting, st.Week.Wanted)
	}
	submitted := map[string]int{}
	for _, c := range d.Companies {
		submitted[c.Company] = c.Submitted
	}
	for _, c := range st.Companies {
		if submitted[c.Company] != c.Submitted {
			t.Errorf("%s: all-time submitted = %d; want stats' %d", c.Company, submitted[c.Company], c.Submitted)
		}
	}
	rows, err := s.Referrers(ctx, guildID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(d.Referrers) {
		t.Fatalf("dashboard lists %d referrers; want %d", len(d.Referrers), len(rows))
	}
	byUser := map[string]dashboard.Referrer{}
	for _, r := range d.Referrers {
		byUser[r.UserID] = r
	}
	for _, row := range rows {
		r, st := byUser[row.Referrer.UserID], row.Stats
		got := [5]int{r.Asked, r.Accepted, r.Submitted, r.Used, r.Capacity}
		want := [5]int{st.Offered, st.Accepted, st.Submitted, st.UsedInWindow, row.Referrer.Capacity}
		if got != want || r.Status != string(row.Referrer.Status) || r.VerifiedDomain != row.Referrer.VerifiedDomain {
			t.Errorf("referrer %s: asked, accepted, submitted, used, capacity = %v, %s, %q; want %v, %s, %q",
				r.UserID, got, r.Status, r.VerifiedDomain, want, row.Referrer.Status, row.Referrer.VerifiedDomain)
		}
	}

	// The history is rich enough for the comparisons to mean something.
	tot := st.Week.Total
	if tot.Requests < 100 || tot.Offers == 0 || tot.Interviews == 0 || tot.Screens == 0 || d.Funnel.Offered == d.Funnel.Requests {
		t.Fatalf("simulated totals %+v (funnel %+v) are too thin to test with", tot, d.Funnel)
	}
	reported := false
	for _, r := range d.Referrers {
		reported = reported || r.Reported && r.OpenReports == 1
	}
	if !reported {
		t.Errorf("no referrer is shown reported with one open report; want 7002")
	}
}

func add(a, b dashboard.Activity) dashboard.Activity {
	return dashboard.Activity{NewRequests: a.NewRequests + b.NewRequests, Matched: a.Matched + b.Matched, Submitted: a.Submitted + b.Submitted,
		Screens: a.Screens + b.Screens, Interviews: a.Interviews + b.Interviews, Offers: a.Offers + b.Offers}
}

func equalWanted(a, b []referral.Wanted) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The funnel table's rows, the period's activity and the weekly table's
// rows, as rendered.
var (
	funnelRow   = regexp.MustCompile(`<tr data-step="([\w-]+)"><th scope="row">[^<]+</th><td class="num count">(\d+)</td>`)
	activityRow = regexp.MustCompile(`<div data-activity="([\w-]+)"><dt>[^<]+</dt><dd>(\d+)</dd></div>`)
	weekRow     = regexp.MustCompile(`<tr><th scope="row">[^<]+</th>((?:<td class="num">\d+</td>){6})</tr>`)
	cell        = regexp.MustCompile(`<td class="num">(\d+)</td>`)
)

func numbers(re *regexp.Regexp, page string) map[string]int {
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

func TestPageNumbersMatchStats(t *testing.T) {
	s, end := simulate(t)
	ctx := context.Background()
	key, err := s.DashboardKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := web.New(s, web.Options{Now: func() time.Time { return end }, Location: newYork})
	st, err := s.Stats(ctx, guildID, end)
	if err != nil {
		t.Fatal(err)
	}
	link := web.LinkFor("https://bot.example", guildID, key, end)
	for _, period := range dashboard.Periods() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(link, "https://bot.example")+"?period="+string(period), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", period, rec.Code, rec.Body)
		}
		page := rec.Body.String()
		steps, activity := numbers(funnelRow, page), numbers(activityRow, page)
		if len(steps) != 7 || len(activity) != 6 {
			t.Fatalf("%s: funnel table has steps %v and activity %v; want 7 and 6", period, steps, activity)
		}
		d, err := s.Dashboard(ctx, guildID, period, end)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := [3]int{steps["requests"], steps["accepted"], steps["offer"]}, [3]int{d.Funnel.Requests, d.Funnel.Accepted, d.Funnel.Offers}; got != want {
			t.Errorf("%s: the page's funnel shows requests, accepted, offer = %v; want the store's %v", period, got, want)
		}
		weeks := weekRow.FindAllStringSubmatch(page, -1)
		if len(weeks) != period.ChartWeeks() {
			t.Fatalf("%s: weekly table has %d rows; want %d", period, len(weeks), period.ChartWeeks())
		}
		var lastWeek [6]int
		for i, c := range cell.FindAllStringSubmatch(weeks[len(weeks)-1][1], -1) {
			lastWeek[i], _ = strconv.Atoi(c[1])
		}
		if want := digestSix(st.Week); lastWeek != want {
			t.Errorf("%s: the page's last week = %v; want the digest's %v", period, lastWeek, want)
		}
		if period != dashboard.AllTime {
			continue
		}
		got := [6]int{activity["new-requests"], activity["matched"], activity["submitted"], activity["screens"], activity["interviews"], activity["offers"]}
		if want := totalSix(st.Week.Total); got != want {
			t.Errorf("the page's all-time activity = %v; want /referral-admin stats' totals %v", got, want)
		}
	}
}
