package commands

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// /referral help shows each role its commands: students everyone's,
// referrers theirs once they have a profile here, admins theirs with
// Manage Server.
func TestHelpForEachRole(t *testing.T) {
	student := []string{"`/referral request company:` Ask for a referral at a company", "`/referral status`",
		"`/referral withdraw request:`", "`/referral outcome request: result:`", "`/referral forget-me`"}
	joinOnly := "`/referrer join companies: [roles:] [school:] [capacity:]`"
	referrer := []string{"(your profile here is active)", "`/referrer pause [days:]`", "`/referrer resume`", "`/referrer leave`", "`/referrer profile`"}
	admin := []string{"`/referral-admin setup digest_channel: [fallback_channel:] [referrer_role:]`", "`/referral-admin approve user:`",
		"`/referral-admin remove user:`", "`/referral-admin referrers`", "`/referral-admin digest-now`", "`/referral-admin stats`", "`/referral-admin export`"}
	tests := []struct {
		name     string
		referrer bool
		perms    int64
		mailer   bool
		want     [][]string
		not      []string
	}{
		{name: "student", want: [][]string{student, {"Volunteer as a referrer", joinOnly}},
			not: append(append([]string{"/referrer pause", "/referrer verify", "/referral help"}, admin...), referrer...)},
		{name: "referrer", referrer: true, want: [][]string{student, referrer, {joinOnly}},
			not: append([]string{"Volunteer", "/referrer verify"}, admin...)},
		{name: "referrer with verification", referrer: true, mailer: true, want: [][]string{referrer, {"`/referrer verify email:`"}}},
		{name: "admin", perms: discordgo.PermissionManageGuild, want: [][]string{student, admin, {"(you have Manage Server)"}},
			not: referrer},
		{name: "administrator and referrer", referrer: true, perms: discordgo.PermissionAdministrator, want: [][]string{student, referrer, admin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.referrer {
				h.join(testAlumnus, true, "Amazon")
			}
			if tt.mailer {
				h.router.Mailer = &fakeMailer{}
			}
			i := slash(testAlumnus, "referral", "help")
			i.Member.Permissions = tt.perms
			resp := h.do(i)
			mustEphemeral(t, resp)
			c := resp.Data.Content
			if n := runeLen(c); n > maxContent {
				t.Errorf("help has %d characters; want <= %d", n, maxContent)
			}
			for _, list := range tt.want {
				for _, w := range list {
					if !strings.Contains(c, w) {
						t.Errorf("help lacks %q:\n%s", w, c)
					}
				}
			}
			for _, n := range tt.not {
				if strings.Contains(c, n) {
					t.Errorf("help shows %q:\n%s", n, c)
				}
			}
			for _, line := range strings.Split(c, "\n") {
				if strings.HasPrefix(line, "`/") && runeLen(line) > 160 {
					t.Errorf("help line has %d characters; want one short line: %q", runeLen(line), line)
				}
			}
		})
	}
}
