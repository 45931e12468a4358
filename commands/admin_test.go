package commands

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func adminCall(perms int64, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.Interaction {
	i := slash(testAdmin, "referral-admin", sub, opts...)
	i.Member.Permissions = perms
	return i
}

// Without Manage Server or Administrator every admin subcommand is refused
// before the store is touched: noStore would panic, and the result would
// be "error".
func TestAdminNeedsPermission(t *testing.T) {
	for _, cmd := range Definitions() {
		if cmd.Name != "referral-admin" {
			continue
		}
		for _, sub := range cmd.Options {
			var opts []*discordgo.ApplicationCommandInteractionDataOption
			for _, o := range sub.Options {
				opts = append(opts, sampleValue(o))
			}
			for _, i := range []*discordgo.Interaction{
				adminCall(discordgo.PermissionSendMessages|discordgo.PermissionManageMessages, sub.Name, opts...),
				func() *discordgo.Interaction { // from a DM: no member, no permissions
					i := adminCall(0, sub.Name, opts...)
					i.User, i.Member, i.GuildID = i.Member.User, nil, ""
					return i
				}(),
			} {
				h := newHarness(t)
				h.router.Store = noStore{}
				resp := h.do(i)
				mustEphemeral(t, resp)
				if got := h.lastResult(); got != "referral-admin "+sub.Name+" refused" {
					t.Errorf("%s: observed %q (%q); want refused", sub.Name, got, resp.Data.Content)
				}
			}
		}
	}
	// Administrator alone is enough.
	h := newHarness(t)
	resp := h.do(adminCall(discordgo.PermissionAdministrator, "stats"))
	if got := h.lastResult(); got != "referral-admin stats ok" || len(resp.Data.Embeds) != 1 {
		t.Errorf("an administrator got %q (%q); want the stats", got, resp.Data.Content)
	}
}

func TestAdminSetupAndDigestNow(t *testing.T) {
	h := newHarness(t)
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "digest-now"))
	mustEphemeral(t, resp)
	if !strings.Contains(resp.Data.Content, "setup first") {
		t.Errorf("digest-now before setup = %q", resp.Data.Content)
	}
	resp = h.do(adminCall(discordgo.PermissionManageGuild, "setup",
		idOption("digest_channel", discordgo.ApplicationCommandOptionChannel, "900"),
		idOption("referrer_role", discordgo.ApplicationCommandOptionRole, "800")))
	mustEphemeral(t, resp)
	for _, w := range []string{"Weekly digest: <#900>", "DM fallback: none", "members with <@&800> are active"} {
		if !strings.Contains(resp.Data.Content, w) {
			t.Errorf("setup reply lacks %q:\n%s", w, resp.Data.Content)
		}
	}
	want := referral.GuildSettings{GuildID: testGuild, DigestChannelID: "900", ReferrerRoleID: "800"}
	if got, err := h.store.GuildSettings(context.Background(), testGuild); err != nil || got != want {
		t.Errorf("settings = %+v, %v; want %+v", got, err, want)
	}
	if n := digestsQueued(h); n != 0 {
		t.Errorf("setup queued %d digests; want none", n)
	}
	resp = h.do(adminCall(discordgo.PermissionManageGuild, "digest-now"))
	if !strings.Contains(resp.Data.Content, "<#900>") || digestsQueued(h) != 1 {
		t.Errorf("digest-now = %q with %d digests queued; want one for <#900>", resp.Data.Content, digestsQueued(h))
	}
}

func digestsQueued(h *harness) int {
	n := 0
	for _, m := range h.outbox() {
		if m.Outgoing.Notice.Kind == referral.NoticeDigest && m.Outgoing.ChannelID == "900" {
			n++
		}
	}
	return n
}

func TestAdminApproveAndRemove(t *testing.T) {
	h := newHarness(t)
	h.join(testAlumnus, false, "Amazon")
	user := idOption("user", discordgo.ApplicationCommandOptionUser, testAlumnus)
	nobody := idOption("user", discordgo.ApplicationCommandOptionUser, "555")
	steps := []struct {
		sub  string
		opt  *discordgo.ApplicationCommandInteractionDataOption
		want string
	}{
		{"approve", user, "<@301> is approved as a referrer for Amazon."},
		{"approve", user, "<@301> is already approved."},
		{"approve", nobody, "<@555> has no referrer profile here; they need to run /referrer join first."},
		{"remove", nobody, "<@555> has no referrer profile here, so there was nothing to remove."},
		{"remove", user, "Removed <@301>'s referrer profile."},
		{"remove", user, "<@301> has no referrer profile here, so there was nothing to remove."},
	}
	for _, s := range steps {
		resp := h.do(adminCall(discordgo.PermissionManageGuild, s.sub, s.opt))
		mustEphemeral(t, resp)
		if !strings.Contains(resp.Data.Content, s.want) {
			t.Errorf("%s %s = %q; want %q", s.sub, s.opt.Value, resp.Data.Content, s.want)
		}
	}
}

func TestAdminReferrersFitsOneMessage(t *testing.T) {
	h := newHarness(t)
	for k := range 60 {
		h.join(itoa(int64(1000+k)), true, strings.Repeat("Company ", 6)+itoa(int64(k)))
	}
	h.join("7", false, "Amazon")
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "referrers"))
	mustEphemeral(t, resp)
	c := resp.Data.Content
	if n := len([]rune(c)); n > maxContent {
		t.Errorf("referrers reply has %d characters; want <= %d", n, maxContent)
	}
	if !strings.Contains(c, "more") || !strings.Contains(c, "**Referrers (61)**") || !strings.HasPrefix(strings.SplitN(c, "\n", 2)[1], "<@7> · **pending**") {
		t.Errorf("referrers reply lacks the pending referrer first or the count of the rest:\n%s", c)
	}
}

func TestAdminStats(t *testing.T) {
	h := newHarness(t)
	h.join(testAlumnus, true, "Amazon")
	h.join("302", true, "Amazon")
	h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	h.request("202", "https://amazon.jobs/en/jobs/2")
	for _, m := range h.outbox()[:2] {
		if err := h.store.MarkUndeliverable(context.Background(), m.ID, "DMs closed"); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Add(time.Minute) // the last seven days end now, and the requests came a minute ago
	st, err := h.store.Stats(context.Background(), testGuild, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "stats"))
	mustEphemeral(t, resp)
	if len(resp.Data.Embeds) != 1 {
		t.Fatalf("stats has %d embeds; want 1", len(resp.Data.Embeds))
	}
	e := resp.Data.Embeds[0]
	checkEmbedLimits(t, e)
	for _, want := range []string{"Amazon: 2 referrers · 0 waiting · 2 open", "2 (DMs closed", "2 active · 0 pending · 0 paused"} {
		if !embedHas(e, want) {
			t.Errorf("stats lacks %q: %+v", want, e)
		}
	}
	// Named by the seven days that end now, not by the calendar week.
	if want := "Referral stats, the 7 days to Wed 25 Nov 2026, 18:01 UTC"; e.Title != want {
		t.Errorf("stats title = %q; want %q", e.Title, want)
	}
	if st.Week.NewRequests != 2 {
		t.Errorf("the store counts %d new requests; want 2", st.Week.NewRequests)
	}
	checkDigestLabels(t, e, st.Week)
}

func TestAdminExport(t *testing.T) {
	h := newHarness(t)
	h.join(testAlumnus, true, "Amazon")
	accepted := h.request(testStudent, "https://amazon.jobs/en/jobs/1")
	accept, _ := h.offerButtons(testAlumnus)
	h.do(dmButton(testAlumnus, accept))
	f := goodFields()
	f.JobURL, f.Role = "https://stripe.com/jobs/2", "=2+3 Backend Engineer"
	if _, err := h.store.CreateRequest(context.Background(), referral.NewRequest{GuildID: testGuild, StudentID: "202",
		Company: referral.NormalizeCompany("Stripe"), Fields: f}); err != nil {
		t.Fatal(err)
	}
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "export"))
	mustEphemeral(t, resp)
	if !strings.Contains(resp.Data.Content, "2 requests") || len(resp.Data.Files) != 1 {
		t.Fatalf("export = %q with %d files; want 2 requests in one file", resp.Data.Content, len(resp.Data.Files))
	}
	file := resp.Data.Files[0]
	if file.Name != "requests-g1.csv" {
		t.Errorf("file name = %q; want requests-g1.csv", file.Name)
	}
	raw, err := io.ReadAll(file.Reader)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(records[0], ","), "id,company,role,state,outcome,student_id,referrer_id,created_at,accepted_at,submitted_at"; got != want {
		t.Errorf("header = %s; want %s", got, want)
	}
	if len(records) != 3 {
		t.Fatalf("%d records; want header + 2", len(records))
	}
	byID := map[string][]string{}
	for _, rec := range records[1:] {
		byID[rec[0]] = rec
	}
	acc := byID[itoa(accepted.ID)]
	if acc == nil || acc[3] != string(referral.Accepted) || acc[6] != testAlumnus || acc[7] != "2026-11-25T18:00:00Z" || acc[8] != "2026-11-25T18:00:00Z" {
		t.Errorf("accepted row = %q; want accepted by %s with RFC 3339 UTC times", acc, testAlumnus)
	}
	for _, rec := range records[1:] {
		if rec[1] == "Stripe" {
			if rec[8] != "" {
				t.Errorf("empty accepted_at = %q; want empty", rec[8])
			}
			if !strings.HasPrefix(rec[2], "'=") {
				t.Errorf("formula role = %q; want it defused", rec[2])
			}
		}
	}
	if strings.Contains(string(raw), "drive.google.com") || strings.Contains(string(raw), "resume") {
		t.Errorf("export has resume data:\n%s", raw)
	}
}

// Export times are RFC 3339 in UTC whatever zone they come in.
func TestExportCSVTimes(t *testing.T) {
	rec := exportRecord(referral.ExportRow{ID: 1, Company: "Amazon", State: referral.Submitted,
		CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))})
	if got := rec[7]; got != "2026-11-02T15:00:00Z" {
		t.Errorf("created_at = %q; want 2026-11-02T15:00:00Z", got)
	}
	if got := rec[8]; got != "" {
		t.Errorf("zero accepted_at = %q; want empty", got)
	}
}

// An export larger than one attachment keeps the newest requests whole
// (no cut line) and counts the rest.
func TestExportCSVStopsAtTheSizeLimit(t *testing.T) {
	h := newHarness(t)
	var ids []int64
	for n := range 5 {
		f := goodFields()
		f.JobURL = fmt.Sprintf("https://stripe.com/jobs/%d", n)
		req, err := h.store.CreateRequest(context.Background(), referral.NewRequest{GuildID: testGuild, StudentID: fmt.Sprintf("30%d", n),
			Company: referral.NormalizeCompany("Stripe"), Fields: f})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, req.Request.ID)
		h.clock.Add(time.Minute)
	}
	whole, written, total, err := h.router.exportCSV(context.Background(), testGuild, 1<<20)
	if err != nil || written != 5 || total != 5 {
		t.Fatalf("exportCSV(1 MiB) = %d of %d rows, %v; want 5 of 5", written, total, err)
	}
	lines := strings.SplitAfter(string(whole), "\n")
	limit := len(lines[0]) + len(lines[1]) + len(lines[2]) + 1 // header and two rows, not a third
	data, written, total, err := h.router.exportCSV(context.Background(), testGuild, limit)
	if err != nil || written != 2 || total != 5 {
		t.Fatalf("exportCSV(%d bytes) = %d of %d rows, %v; want 2 of 5", limit, written, total, err)
	}
	if len(data) > limit {
		t.Errorf("exportCSV(%d bytes) wrote %d bytes", limit, len(data))
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(records) != 3 {
		t.Fatalf("capped export = %q, %v; want a header and two whole rows", data, err)
	}
	if records[1][0] != itoa(ids[4]) || records[2][0] != itoa(ids[3]) {
		t.Errorf("capped export has requests %s, %s; want the newest two, %d and %d", records[1][0], records[2][0], ids[4], ids[3])
	}
}
