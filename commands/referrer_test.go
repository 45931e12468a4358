package commands

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	"github.com/referralbot/referralbot/referral"
)

func TestReferrerJoin(t *testing.T) {
	tests := []struct {
		name       string
		roles      []string
		companies  string
		capacity   float64
		wantText   []string
		wantStatus referral.ReferrerStatus // "" = no profile made
	}{
		{name: "pending without the role", companies: "Amazon, AWS, Google", capacity: 3,
			wantText: []string{"pending until an admin approves you", "Amazon, Google", "3 referrals per 30 days", "No waiting requests were matched"}, wantStatus: referral.Pending},
		{name: "active with the role", roles: []string{"800"}, companies: "Google, Amazon",
			wantText: []string{"**active**", "Google, Amazon", "4 referrals per 30 days", "2 requests waiting for these companies were matched"}, wantStatus: referral.Active},
		{name: "capacity above the option's max", companies: "Amazon", capacity: 50,
			wantText: []string{"between 1 and 20"}},
		{name: "capacity zero", companies: "Amazon", capacity: -1,
			wantText: []string{"between 1 and 20"}},
		{name: "no company", companies: " , ;",
			wantText: []string{"no company given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setup()
			// Two waiting requests: for Amazon and for Google.
			h.request("202", "https://amazon.jobs/en/jobs/1")
			if _, err := h.store.CreateRequest(context.Background(), referral.NewRequest{GuildID: testGuild, StudentID: "203",
				Company: referral.NormalizeCompany("Google"), Fields: goodFields()}); err != nil {
				t.Fatal(err)
			}
			opts := []*discordgo.ApplicationCommandInteractionDataOption{str("companies", tt.companies)}
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
			row, err := h.store.ReferrerProfile(context.Background(), testGuild, testAlumnus)
			switch {
			case tt.wantStatus == "" && err == nil:
				t.Errorf("a refused join made a profile: %+v", row.Referrer)
			case tt.wantStatus != "" && (err != nil || row.Referrer.Status != tt.wantStatus):
				t.Errorf("profile = %+v, %v; want %s (the member's roles decide)", row.Referrer, err, tt.wantStatus)
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
		{"pause", []*discordgo.ApplicationCommandInteractionDataOption{num("days", 400)}, true, "1 to 365 days"},
		{"pause", nil, false, "/referrer join"},
		{"resume", nil, true, "You're not paused"},
		{"resume", nil, false, "/referrer join"},
		{"leave", nil, true, "deleted"},
		{"leave", nil, false, "/referrer join"},
		{"profile", nil, true, ""},
		{"profile", nil, false, "/referrer join"},
		{"verify", []*discordgo.ApplicationCommandInteractionDataOption{str("email", "me@amazon.com")}, false, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.sub+" "+tt.want, func(t *testing.T) {
			h := newHarness(t)
			if tt.profile {
				h.join(testAlumnus, true, "Amazon")
			}
			resp := h.do(slash(testAlumnus, "referrer", tt.sub, tt.opts...))
			mustEphemeral(t, resp)
			if !strings.Contains(resp.Data.Content, tt.want) {
				t.Errorf("reply %q lacks %q", resp.Data.Content, tt.want)
			}
		})
	}

	h := newHarness(t)
	h.join(testAlumnus, true, "Amazon")
	h.request(testStudent, "https://amazon.jobs/en/jobs/1") // offered to the alumnus: one of four used
	resp := h.do(slash(testAlumnus, "referrer", "profile"))
	if len(resp.Data.Embeds) != 1 || !embedHas(resp.Data.Embeds[0], "3 of 4") || !embedHas(resp.Data.Embeds[0], "Offered 1") {
		t.Errorf("profile embed = %+v; want capacity left 3 of 4, offered 1", resp.Data.Embeds)
	}
	h.do(slash(testAlumnus, "referrer", "pause"))
	if resp := h.do(slash(testAlumnus, "referrer", "resume")); !strings.Contains(resp.Data.Content, "receive referral offers again for Amazon") {
		t.Errorf("resume after pause = %q", resp.Data.Content)
	}

	h.router.Mailer = &fakeMailer{}
	resp = h.do(slash(testAlumnus, "referrer", "verify", str("email", "me@amazon.com")))
	if !strings.Contains(resp.Data.Content, "Enter code") || buttonLabels(resp.Data.Components) != "Enter code" {
		t.Errorf("verify with a mailer = %q; want a code on its way and an Enter code button", resp.Data.Content)
	}
}
