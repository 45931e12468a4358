package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/web"
)

// chromiumPath finds Debian's chromium; CI installs it in .ci/run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatalf("chromium is not installed: this test drives a real headless Chromium. Install it with " +
		"`DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` (as root; .ci/run does this when it is missing)")
	return ""
}

// artifactDir is where screenshots go: $REFERRALBOT_ARTIFACTS, or a
// temporary directory of the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("REFERRALBOT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("REFERRALBOT_ARTIFACTS=%s: %v", dir, err)
	}
	return dir
}

// browserLog is what the page did, as Chromium reported it.
type browserLog struct {
	mu       sync.Mutex
	requests []string
	problems []string
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *cdplog.EventEntryAdded:
		// CSP refusals, failed loads and the like arrive here.
		b.problems = append(b.problems, fmt.Sprintf("%s %s: %s %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
	case *runtime.EventConsoleAPICalled:
		b.problems = append(b.problems, "console."+string(ev.Type))
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text)
	}
}

func (b *browserLog) snapshot() (requests, problems []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...), append([]string(nil), b.problems...)
}

func TestDashboardInChromium(t *testing.T) {
	exe := chromiumPath(t)
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

	var output bytes.Buffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), // a new empty profile
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&output),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser with no deadline of its own
		t.Fatalf("start chromium (%s): %v\n%s", exe, err, output.String())
	}
	var seen browserLog
	if err := chromedp.Listen(bctx, seen.listen); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

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
	if bg := computed(t, tctx, "header.top", "background-color"); bg != "rgb(21, 26, 45)" {
		t.Errorf("header background = %q; want rgb(21, 26, 45) from style.css", bg)
	}
	if name, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#referrers tbody tr:nth-child(3) th"))); err != nil || name == "" {
		t.Errorf("referrer name cell = %q, %v; want a name or id", name, err)
	}

	dir := artifactDir(t)
	shot := filepath.Join(dir, "dashboard.png")
	screenshot(t, tctx, shot)
	t.Logf("screenshot: %s", shot)

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
	screenshot(t, tctx, filepath.Join(dir, "dashboard-all-time.png"))

	requests, problems := seen.snapshot()
	origin, _ := url.Parse(srv.URL)
	if len(requests) < 3 {
		t.Errorf("requests seen = %v; want at least the page, its stylesheet and the second page", requests)
	}
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != origin.Scheme || u.Host != origin.Host {
			t.Errorf("the page asked for %q; want nothing but %s", r, srv.URL)
		}
	}
	if len(problems) > 0 {
		t.Errorf("Chromium reported %d problems (CSP refusals, failed loads, script): %s", len(problems), strings.Join(problems, "; "))
	}
}

func computed(t *testing.T, ctx context.Context, sel, property string) string {
	t.Helper()
	props, err := chromedp.Run(ctx, chromedp.ComputedStyle(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("computed style of %s: %v", sel, err)
	}
	for _, p := range props {
		if p.Name == property {
			return p.Value
		}
	}
	return ""
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
