package commands

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestReferrerJoin(t *testing.T) {
	tests := []struct {
		name      string
		roles     []string
		opts      []string // companies, then capacity as text when set
		capacity  float64
		wantText  []string
		wantStore bool
	}{
		{name: "pending without the role", opts: []string{"Amazon, AWS, Google"}, capacity: 3,
			wantText: []string{"pending until an admin approves you", "Amazon, Google", "2 requests"}, wantStore: true},
		{name: "active with the role", roles: []string{"800"}, opts: []string{"Stripe"},
			wantText: []string{"**active**", "Stripe"}, wantStore: true},
		{name: "capacity above the option's max", opts: []string{"Amazon"}, capacity: 50,
			wantText: []string{"between 1 and 20"}},
		{name: "capacity zero", opts: []string{"Amazon"}, capacity: -1,
			wantText: []string{"between 1 and 20"}},
		{name: "no company", opts: []string{" , ;"},
			wantText: []string{"no company given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.settings[testGuild] = settingsFixture()
			opts := []*discordgo.ApplicationCommandInteractionDataOption{str("companies", tt.opts[0])}
			if tt.capacity != 0 {
				opts = append(opts, num("capacity", tt.capacity))
			}
			i := slash(testAlumnus, "referrer", "join", opts...)
			i.Member.Roles = tt.roles
			resp := h.do(i)
			mustEphemeral(t, resp)
			for _, w := range tt.wantText {
				if !strings.Contains(resp.Data.Content, w) {
					t.Errorf("reply lacks %q:\n%s", w, resp.Data.Content)
				}
			}
			if called := h.store.callCount() > 0; called != tt.wantStore {
				t.Errorf("store called = %v; want %v", called, tt.wantStore)
			}
			if tt.wantStore && strings.Join(h.store.joined.MemberRoles, ",") != strings.Join(tt.roles, ",") {
				t.Errorf("member roles passed = %v; want %v", h.store.joined.MemberRoles, tt.roles)
			}
		})
	}
}

func TestReferrerSubcommands(t *testing.T) {
	tests := []struct {
		sub     string
		opts    []*discordgo.ApplicationCommandInteractionDataOption
		profile bool
		want    string
	}{
		{"pause", []*discordgo.ApplicationCommandInteractionDataOption{num("days", 14)}, true, "Wed 9 Dec 2026"},
		{"pause", nil, true, "until you run /referrer resume"},
		{"pause", nil, false, "/referrer join"},
		{"resume", nil, true, "receive referral offers again"},
		{"leave", nil, true, "deleted"},
		{"leave", nil, false, "/referrer join"},
		{"profile", nil, true, ""},
		{"verify", []*discordgo.ApplicationCommandInteractionDataOption{str("email", "me@amazon.com")}, false, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.sub+" "+tt.want, func(t *testing.T) {
			h := newHarness(t)
			if tt.profile {
				h.store.referrers[testGuild+"/"+testAlumnus] = referrerFixture()
			}
			resp := h.do(slash(testAlumnus, "referrer", tt.sub, tt.opts...))
			mustEphemeral(t, resp)
			if !strings.Contains(resp.Data.Content, tt.want) {
				t.Errorf("reply %q lacks %q", resp.Data.Content, tt.want)
			}
		})
	}

	h := newHarness(t)
	h.store.referrers[testGuild+"/"+testAlumnus] = referrerFixture()
	resp := h.do(slash(testAlumnus, "referrer", "profile"))
	if len(resp.Data.Embeds) != 1 || !embedHas(resp.Data.Embeds[0], "3 of 4") {
		t.Errorf("profile embed = %+v; want capacity left 3 of 4", resp.Data.Embeds)
	}

	h.router.SMTPEnabled = true
	h.router.Mailer = &fakeMailer{}
	h.router.Store = &verifyFake{fakeStore: h.store}
	resp = h.do(slash(testAlumnus, "referrer", "verify", str("email", "me@amazon.com")))
	if !strings.Contains(resp.Data.Content, "Enter code") || buttonLabels(resp.Data.Components) != "Enter code" {
		t.Errorf("verify with smtp = %q; want a code on its way and an Enter code button", resp.Data.Content)
	}
}
