package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/web"
	"github.com/referralbot/referralbot/web/browsertest"
)

func TestDashboardInChromium(t *testing.T) {
	s, end := simulate(t)
	ctx := context.Background()
	key, err := s.DashboardKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := func(_ context.Context, _ string, ids []string) map[string]string { return displayNames }
	srv := httptest.NewServer(web.New(s, web.Options{Now: func() time.Time { return end }, Location: newYork, Names: names}))
	defer srv.Close()
	link := web.LinkFor(srv.URL, guildID, key, end)
	want, err := s.Dashboard(ctx, guildID, dashboard.Last4Weeks, end)
	if err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t)
	tctx := b.Context()

	if err := chromedp.Do(tctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("svg.activity-chart"))); err != nil {
		t.Fatalf("open the dashboard: %v", err)
	}

	// The funnel table: seven steps, the numbers of the store.
	rows, err := chromedp.Run(tctx, chromedp.Nodes(chromedp.CSSAll("table.funnel-table tbody tr")))
	if err != nil || len(rows) != 7 {
		t.Fatalf("funnel table rows = %d, %v; want 7", len(rows), err)
	}
	for step, n := range map[string]int{"requests": want.Funnel.Requests, "accepted": want.Funnel.Accepted, "offer": want.Funnel.Offers} {
		got, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`tr[data-step="`+step+`"] td.count`)))
		if err != nil || got != fmt.Sprint(n) {
			t.Errorf("funnel %s shows %q, %v; want %d", step, got, err, n)
		}
	}
	// The charts are drawn: one bar per funnel step, one per week, three lines.
	for sel, n := range map[string]int{
		"svg.funnel-chart rect.fill":       7,
		"svg.activity-chart rect.requests": dashboard.Last4Weeks.ChartWeeks(),
		"svg.activity-chart polyline":      3,
		"#referrers tbody tr":              len(want.Referrers),
		"#waiting tbody tr":                len(want.Waiting),
		".periods a[aria-current=page]":    1,
		"#referrers .tag.verified":         2,
		"#referrers .tag.reported":         2, // the status and the count of the reported referrer
		"#companies tbody tr":              len(want.Companies),
	} {
		nodes, err := chromedp.Run(tctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
		if err != nil || len(nodes) != n {
			t.Errorf("%s: %d elements, %v; want %d", sel, len(nodes), err, n)
		}
	}
	box, err := chromedp.Run(tctx, chromedp.Dimensions(chromedp.CSS("svg.activity-chart")))
	if err != nil || box.Width < 600 || box.Height < 150 {
		t.Errorf("activity chart box = %+v, %v; want it laid out at least 600x150", box, err)
	}
	// The stylesheet loaded under the Content-Security-Policy.
	if bg := b.ComputedStyle("header.top", "background-color"); bg != "rgb(21, 26, 45)" {
		t.Errorf("header background = %q; want rgb(21, 26, 45) from style.css", bg)
	}
	if name, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#referrers tbody tr:nth-child(3) th"))); err != nil || name == "" {
		t.Errorf("referrer name cell = %q, %v; want a name or id", name, err)
	}

	b.Screenshot("dashboard.png")

	// The period links keep the token.
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(`.periods a[href="?period=all"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.periods a.current[href="?period=all"]`))); err != nil {
		t.Fatalf("switch to all time: %v", err)
	}
	loc, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil || loc != link+"?period=all" {
		t.Errorf("after the All time link the page is %q, %v; want %q", loc, err, link+"?period=all")
	}
	if nodes, err := chromedp.Run(tctx, chromedp.Nodes(chromedp.CSSAll("svg.activity-chart rect.requests"))); err != nil || len(nodes) != dashboard.AllTime.ChartWeeks() {
		t.Errorf("all-time chart bars = %d, %v; want %d", len(nodes), err, dashboard.AllTime.ChartWeeks())
	}
	b.Screenshot("dashboard-all-time.png")

	requests, problems := b.Requests(), b.Problems()
	if len(requests) < 3 {
		t.Errorf("requests seen = %v; want at least the page, its stylesheet and the second page", requests)
	}
	for _, r := range b.OtherOrigins(srv.URL) {
		t.Errorf("the page asked for %q; want nothing but %s", r, srv.URL)
	}
	if len(problems) > 0 {
		t.Errorf("Chromium reported %d problems (CSP refusals, failed loads, script): %s", len(problems), strings.Join(problems, "; "))
	}
}
