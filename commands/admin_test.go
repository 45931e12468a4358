package commands

import (
	"encoding/csv"
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
// before the store is touched.
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
				resp := h.do(i)
				mustEphemeral(t, resp)
				if h.store.callCount() != 0 {
					t.Errorf("%s: store called %v", sub.Name, h.store.calls)
				}
				if got := h.lastResult(); got != "referral-admin "+sub.Name+" refused" {
					t.Errorf("%s: observed %q; want refused", sub.Name, got)
				}
			}
		}
	}
	// Administrator alone is enough.
	h := newHarness(t)
	h.do(adminCall(discordgo.PermissionAdministrator, "stats"))
	if h.store.callCount() != 1 {
		t.Errorf("an administrator was refused")
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
	want := referral.GuildSettings{GuildID: testGuild, DigestChannelID: "900", ReferrerRoleID: "800"}
	if got := h.store.settings[testGuild]; got != want {
		t.Errorf("settings = %+v; want %+v", got, want)
	}
	if strings.Contains(strings.Join(h.store.calls, ","), "PostDigestNow") {
		t.Errorf("setup posted a digest")
	}
	resp = h.do(adminCall(discordgo.PermissionManageGuild, "digest-now"))
	if !strings.Contains(resp.Data.Content, "<#900>") || h.store.calls[len(h.store.calls)-1] != "PostDigestNow" {
		t.Errorf("digest-now = %q, calls %v", resp.Data.Content, h.store.calls)
	}
}

func TestAdminReferrersFitsOneMessage(t *testing.T) {
	h := newHarness(t)
	for k := range 200 {
		id := itoa(int64(1000 + k))
		h.store.referrers[testGuild+"/"+id] = referral.Referrer{GuildID: testGuild, UserID: id, Status: referral.Active,
			Capacity: 4, Companies: []referral.Company{{Name: strings.Repeat("Company ", 12)}}}
	}
	h.store.referrers[testGuild+"/pending"] = referral.Referrer{GuildID: testGuild, UserID: "pending", Status: referral.Pending}
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "referrers"))
	mustEphemeral(t, resp)
	c := resp.Data.Content
	if n := len([]rune(c)); n > maxContent {
		t.Errorf("referrers reply has %d characters; want <= %d", n, maxContent)
	}
	if !strings.Contains(c, "more") || !strings.Contains(c, "<@pending> · **pending**") {
		t.Errorf("referrers reply lacks the pending referrer first or the count of the rest:\n%s", c)
	}
}

func TestAdminStats(t *testing.T) {
	h := newHarness(t)
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "stats"))
	mustEphemeral(t, resp)
	if len(resp.Data.Embeds) != 1 {
		t.Fatalf("stats has %d embeds; want 1", len(resp.Data.Embeds))
	}
	e := resp.Data.Embeds[0]
	checkEmbedLimits(t, e)
	for _, want := range []string{"Amazon: 3 referrers", "2 (DMs closed"} {
		if !embedHas(e, want) {
			t.Errorf("stats lacks %q", want)
		}
	}
	checkDigestLabels(t, e, sampleDigest())
}

func TestAdminExport(t *testing.T) {
	h := newHarness(t)
	h.store.export = []referral.ExportRow{
		{ID: 1, Company: "Amazon", Role: "SDE Intern", State: referral.Submitted, StudentID: testStudent, ReferrerID: testAlumnus,
			CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.FixedZone("EST", -5*3600)), AcceptedAt: testNow, SubmittedAt: testNow},
		{ID: 2, Company: "Stripe", Role: "=HYPERLINK(\"https://evil.example\")", State: referral.Waiting, StudentID: "202"},
	}
	resp := h.do(adminCall(discordgo.PermissionManageGuild, "export"))
	mustEphemeral(t, resp)
	if len(resp.Data.Files) != 1 {
		t.Fatalf("export has %d files; want 1", len(resp.Data.Files))
	}
	f := resp.Data.Files[0]
	if f.Name != "requests-g1.csv" {
		t.Errorf("file name = %q; want requests-g1.csv", f.Name)
	}
	raw, err := io.ReadAll(f.Reader)
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
	if got := records[1][7]; got != "2026-11-02T15:00:00Z" {
		t.Errorf("created_at = %q; want RFC 3339 UTC", got)
	}
	if got := records[2][8]; got != "" {
		t.Errorf("empty accepted_at = %q; want empty", got)
	}
	if !strings.HasPrefix(records[2][2], "'=") {
		t.Errorf("formula role = %q; want it defused", records[2][2])
	}
	if strings.Contains(string(raw), "drive.google.com") || strings.Contains(string(raw), "resume") {
		t.Errorf("export has resume data:\n%s", raw)
	}
}
