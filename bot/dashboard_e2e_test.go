package bot_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/chromedp/chromedp"

	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
	"github.com/referralbot/referralbot/web/browsertest"
)

// The dashboard end to end (issue 16): an admin asks the bot for a link
// through Discord, and a real headless Chromium opens it on the bot's own
// http server.

const otherGuildID = "100000000000000002" // a server the link was not made for

// freeLoopbackAddr is a loopback address with a port nothing listens on,
// so http.public_url can name the port before the bot listens on it (the
// port is free again for the few milliseconds until the bot takes it).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// digestLabelIDs pairs the labels of the stats embed with the page's
// data-activity ids, in the digest's order.
var digestLabelIDs = []struct{ label, id string }{
	{"New requests", "new-requests"},
	{"Matched", "matched"},
	{"Referrals submitted", "submitted"},
	{"Recruiter screens", "screens"},
	{"Interviews", "interviews"},
	{"Offers", "offers"},
}

// seedDashboard makes a week of activity through Discord: alice and bob
// refer at Amazon; sam's and tia's Amazon requests are accepted and
// submitted, sam's ends in an offer and tia's reaches a recruiter screen;
// sam's Stripe request waits with no referrer there.
func seedDashboard(t *testing.T, h *harness) {
	t.Helper()
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.joinReferrer(bob, "Amazon")

	samAmazon := flowPreviewNumber(t, h.submitRequest(sam, "Amazon", "https://www.amazon.jobs/en/jobs/1000001/sde-intern"))
	who, offer := flowWaitOfferAny(h, samAmazon, alice, bob)
	accepted := h.press(who, offer, "Accept")
	if !hasEnabledButton(accepted.Message(), "Referral submitted") {
		t.Fatalf("Accept of #%d answered %q; want a Referral submitted button", samAmazon, accepted.Text())
	}
	h.press(who, accepted.Message(), "Referral submitted")
	h.waitDM(sam, submittedText)
	if r := h.run(sam, "referral", "outcome", opt("request", samAmazon), opt("result", "offer")); !r.Ephemeral {
		t.Fatalf("/referral outcome #%d result:offer = %q; want an ephemeral answer", samAmazon, r.Text())
	}

	tiaAmazon := flowPreviewNumber(t, h.submitRequest(tia, "Amazon", "https://www.amazon.jobs/en/jobs/1000002/sde-intern"))
	who, offer = flowWaitOfferAny(h, tiaAmazon, alice, bob)
	accepted = h.press(who, offer, "Accept")
	h.press(who, accepted.Message(), "Referral submitted")
	h.waitDM(tia, submittedText)
	if r := h.run(tia, "referral", "outcome", opt("request", tiaAmazon), opt("result", "screen")); !r.Ephemeral {
		t.Fatalf("/referral outcome #%d result:screen = %q; want an ephemeral answer", tiaAmazon, r.Text())
	}

	h.submitRequest(sam, "Stripe", "https://stripe.com/jobs/listing/intern/2000001")
	h.drained()
}

// dashboardLink runs /referral-admin dashboard as the admin and returns
// the URL of its link button.
func dashboardLink(t *testing.T, h *harness) string {
	t.Helper()
	resp := h.run(admin, "referral-admin", "dashboard")
	if !resp.Ephemeral {
		t.Errorf("/referral-admin dashboard answer is not ephemeral: %q", resp.Text())
	}
	var links []discordgo.Button
	for _, b := range resp.Buttons() {
		if b.Style == discordgo.LinkButton {
			links = append(links, b)
		}
	}
	if len(links) != 1 || links[0].URL == "" {
		t.Fatalf("/referral-admin dashboard = %q with link buttons %+v; want one link button", resp.Text(), links)
	}
	return links[0].URL
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, string(body)
}

func TestDashboardFromDiscordInChromium(t *testing.T) {
	t.Parallel()
	addr := freeLoopbackAddr(t)
	base := "http://" + addr
	h := startBot(t, func(c *config.Config) {
		c.HTTP.Listen = addr
		c.HTTP.PublicURL = base
	})
	seedDashboard(t, h)

	stats := h.run(admin, "referral-admin", "stats")
	if len(stats.Message().Embeds) != 1 {
		t.Fatalf("/referral-admin stats = %q; want one embed", stats.Text())
	}
	want := fieldValues(stats.Message().Embeds[0])
	// What was seeded, so that the page agreeing with stats means something.
	for label, n := range map[string]string{"New requests": "3", "Matched": "2", "Referrals submitted": "2", "Recruiter screens": "1", "Offers": "1"} {
		if want[label] != n {
			t.Fatalf("/referral-admin stats %s = %q; want %s after seeding:\n%s", label, want[label], n, stats.Text())
		}
	}

	link := dashboardLink(t, h)
	token, ok := strings.CutPrefix(link, base+"/dashboard/")
	if !ok || token == "" {
		t.Fatalf("dashboard link = %q; want %s/dashboard/<token>", link, base)
	}

	b := browsertest.Start(t)
	ctx := b.Context()
	if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("svg.activity-chart"))); err != nil {
		t.Fatalf("open the dashboard link from Discord: %v", err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	count := func(sel string) int {
		t.Helper()
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
		if err != nil {
			t.Fatalf("find %s: %v", sel, err)
		}
		return len(nodes)
	}

	// The funnel table: its steps that stats counts too.
	if n := count("table.funnel-table tbody tr"); n != 7 {
		t.Errorf("funnel table rows = %d; want 7", n)
	}
	for step, label := range map[string]string{"requests": "New requests", "accepted": "Matched", "submitted": "Referrals submitted", "offer": "Offers"} {
		if got := text(`tr[data-step="` + step + `"] td.count`); got != want[label] {
			t.Errorf("funnel %s shows %q; want stats' %s %q", step, got, label, want[label])
		}
	}
	// The activity numbers and the chart's current week: stats' week.
	var week []string
	for _, c := range digestLabelIDs {
		if got := text(`[data-activity="` + c.id + `"] dd`); got != want[c.label] {
			t.Errorf("activity %s shows %q; want stats' %q", c.label, got, want[c.label])
		}
		week = append(week, c.label+" "+want[c.label])
	}
	titles, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("svg.activity-chart g.week title")))
	if err != nil || len(titles) == 0 {
		t.Fatalf("activity chart weeks = %d, %v; want some", len(titles), err)
	}
	last, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.NodeIDs{titles[len(titles)-1].NodeID}))
	if err != nil || !strings.HasSuffix(last, ": "+strings.Join(week, ", ")) {
		t.Errorf("the chart's last week reads %q, %v; want it to end %q", last, err, ": "+strings.Join(week, ", "))
	}
	for sel, n := range map[string]int{
		"svg.activity-chart rect.requests": len(titles),
		"svg.activity-chart polyline":      3,
		"svg.funnel-chart rect.fill":       7,
		"#waiting tbody tr":                1,
		"#referrers tbody tr":              2,
	} {
		if got := count(sel); got != n {
			t.Errorf("%s: %d elements; want %d", sel, got, n)
		}
	}
	box, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS("svg.activity-chart")))
	if err != nil || box.Width < 600 || box.Height < 150 {
		t.Errorf("activity chart box = %+v, %v; want it laid out at least 600x150", box, err)
	}
	if got := text("#waiting tbody tr th"); !strings.Contains(got, "wanted: referrers at Stripe") {
		t.Errorf("waiting row = %q; want Stripe wanted, as stats says:\n%s", got, stats.Text())
	}
	// Referrers by their Discord names, looked up through the fake Discord.
	if got := text("#referrers tbody"); !strings.Contains(got, "alice") || !strings.Contains(got, "bob") {
		t.Errorf("referrers table = %q; want alice and bob by name", got)
	}
	b.Screenshot("bot-dashboard.png")

	if other := b.OtherOrigins(base); len(other) > 0 || len(b.Requests()) < 2 {
		t.Errorf("the page asked for %q; want the page and its stylesheet from %s and nothing else (all: %q)", other, base, b.Requests())
	}
	if problems := b.Problems(); len(problems) > 0 {
		t.Errorf("Chromium reported %d problems (CSP refusals, failed loads, script): %s", len(problems), strings.Join(problems, "; "))
	}

	// A member without Manage Server gets no link.
	noManage := int64(discordgo.PermissionViewChannel | discordgo.PermissionSendMessages | discordgo.PermissionUseApplicationCommands)
	refused := h.runAs(discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: sam, Permissions: noManage,
		Name: "referral-admin", Subcommand: "dashboard"})
	if !refused.Ephemeral || !strings.Contains(refused.Text(), "Manage Server") || len(refused.Buttons()) != 0 || strings.Contains(refused.Text(), "/dashboard/") {
		t.Errorf("/referral-admin dashboard by a member = %q with %d buttons; want an ephemeral refusal and no link", refused.Text(), len(refused.Buttons()))
	}

	// Only the link itself opens the page, and only until it expires.
	guild, rest, _ := strings.Cut(token, ".")
	exp, mac, _ := strings.Cut(rest, ".")
	expires, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		t.Fatalf("dashboard link %q: expiry %q is not a number: %v", link, exp, err)
	}
	flipped := "A"
	if strings.HasSuffix(mac, "A") {
		flipped = "B"
	}
	for _, c := range []struct{ name, url string }{
		{"another server", base + "/dashboard/" + otherGuildID + "." + exp + "." + mac},
		{"a changed MAC", base + "/dashboard/" + guild + "." + exp + "." + mac[:len(mac)-1] + flipped},
		{"a later expiry", base + "/dashboard/" + guild + "." + fmt.Sprint(expires+60) + "." + mac},
		{"no token", base + "/dashboard/"},
	} {
		if code, body := get(t, c.url); code != http.StatusNotFound || strings.Contains(body, "Funnel") {
			t.Errorf("GET the link with %s = %d %.60q; want 404 and no page", c.name, code, body)
		}
	}
	if code, body := get(t, link); code != http.StatusOK || !strings.Contains(body, "Referral dashboard") {
		t.Fatalf("GET the link as given = %d %.60q; want 200 and the page", code, body)
	}
	h.clock.Advance(16 * time.Minute)
	if code, _ := get(t, link); code != http.StatusNotFound {
		t.Errorf("GET the link 16 minutes later = %d; want 404", code)
	}
	if lines := h.log.matching(mac); len(lines) > 0 {
		t.Errorf("the bot logged the dashboard token: %q", lines)
	}
}

func TestDashboardCommandWithoutPublicURL(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil) // http.listen set, http.public_url empty
	resp := h.run(admin, "referral-admin", "dashboard")
	if !resp.Ephemeral || !strings.Contains(resp.Text(), "`http.public_url`") || len(resp.Buttons()) != 0 {
		t.Errorf("/referral-admin dashboard without http.public_url = %q with %d buttons; want an ephemeral answer naming http.public_url and no link",
			resp.Text(), len(resp.Buttons()))
	}
}
