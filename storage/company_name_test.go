package storage

import (
	"context"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// CompanyName gives, for every key, what Companies lists for it: the
// server's active and paused referrers count, pending ones and other
// servers' do not, and of two spellings the same one wins.
func TestCompanyNameAgreesWithCompanies(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		for _, g := range []string{"g1", "g2"} {
			if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: g, DigestChannelID: "c", ReferrerRoleID: "role-ref"}); err != nil {
				t.Fatal(err)
			}
		}
		joins := []struct {
			guild, user, companies string
			active                 bool
		}{
			{"g1", "u1", "Amazon, Stripe", true},
			{"g1", "u2", "AWS", true},          // Amazon's alias
			{"g1", "u3", "Google", true},       // paused below: still listed
			{"g1", "u4", "Pending Co", false},  // pending: not listed
			{"g2", "u5", "Other Server", true}, // another server's company
			{"g1", "u6", "stripe", true},       // a second spelling of Stripe
		}
		for _, j := range joins {
			companies, err := referral.ParseCompanies(j.companies)
			if err != nil {
				t.Fatal(err)
			}
			in := referral.JoinInput{GuildID: j.guild, UserID: j.user, Companies: companies}
			if j.active {
				in.MemberRoles = []string{"role-ref"}
			}
			if _, err := s.JoinReferrer(ctx, in); err != nil {
				t.Fatalf("JoinReferrer(%s): %v", j.user, err)
			}
		}
		if _, err := s.PauseReferrer(ctx, "g1", "u3", time.Time{}); err != nil {
			t.Fatal(err)
		}
		listed, err := s.Companies(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, c := range listed {
			want[c.Key] = c.Name
		}
		for _, key := range []string{"amazon", "stripe", "google", "pendingco", "otherserver", "nobody"} {
			name, ok, err := s.CompanyName(ctx, "g1", key)
			if err != nil {
				t.Fatal(err)
			}
			wantName, wantOK := want[key]
			if name != wantName || ok != wantOK {
				t.Errorf("CompanyName(g1, %q) = %q, %v; want %q, %v (as Companies lists it)", key, name, ok, wantName, wantOK)
			}
		}
		if len(want) != 3 {
			t.Errorf("Companies(g1) = %v; want amazon, google and stripe", listed)
		}
	})
}
