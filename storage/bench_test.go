package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// seedLarge fills a store with a busy server: referrers across companies
// and a history of requests, offers and events.
func seedLarge(b *testing.B, s *Store, clk *clock, referrers, requests int) {
	b.Helper()
	ctx := context.Background()
	if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c", ReferrerRoleID: "r"}); err != nil {
		b.Fatal(err)
	}
	companies := []referral.Company{amazon, {Key: "google", Name: "Google"}, {Key: "meta", Name: "Meta"}, {Key: "stripe", Name: "Stripe"}}
	for i := range referrers {
		c := companies[i%len(companies)]
		if _, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: fmt.Sprintf("ref-%d", i), Companies: []referral.Company{c},
			MemberRoles: []string{"r"}, Capacity: 20, Roles: "software engineering"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range requests {
		clk.Add(10 * time.Minute)
		c := companies[i%len(companies)]
		sub, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: fmt.Sprintf("stu-%d", i), Company: c,
			Fields: goodFields(fmt.Sprintf("https://jobs.example/%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		if !sub.Offered || i%3 == 0 {
			continue
		}
		var offerID int64
		if err := s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND state = 'pending'`, sub.Request.ID).Scan(&offerID); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AnswerOffer(ctx, offerID, sub.Request.ReferrerID, true); err != nil {
			b.Fatal(err)
		}
		if _, err := s.MarkSubmitted(ctx, sub.Request.ID, sub.Request.ReferrerID); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := s.RecordOutcome(ctx, fmt.Sprintf("stu-%d", i), sub.Request.ID, referral.OutcomeInterview); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Deliver everything so the outbox is as it would be in production.
	if _, err := s.write.Exec(`UPDATE outbox SET sent_at = next_attempt_at, payload = ''`); err != nil {
		b.Fatal(err)
	}
}

func benchStore(b *testing.B, referrers, requests int) (*Store, *clock) {
	b.Helper()
	clk := &clock{t: t0}
	p := testPolicy()
	p.MaxOpenPerStudent = 20
	s, err := Open(context.Background(), b.TempDir()+"/bench.db", Options{Policy: p, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	seedLarge(b, s, clk, referrers, requests)
	return s, clk
}

// BenchmarkCreateRequest measures one modal submission: limits, insert,
// candidate ranking and the offer, in one transaction.
func BenchmarkCreateRequest(b *testing.B) {
	s, clk := benchStore(b, 200, 2000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		clk.Add(time.Second)
		if _, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: fmt.Sprintf("bench-%d", i), Company: amazon,
			Fields: goodFields(fmt.Sprintf("https://jobs.example/bench/%d", i))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDigest measures a week's digest of a server with a long history.
func BenchmarkDigest(b *testing.B) {
	s, clk := benchStore(b, 200, 5000)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.digest(ctx, s.read, "g1", clk.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunDueSteps measures the sweep when nothing is due: the cost
// paid every schedule.sweep.
func BenchmarkRunDueStepsIdle(b *testing.B) {
	s, _ := benchStore(b, 50, 500)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.RunDueSteps(ctx, 1000); err != nil {
			b.Fatal(err)
		}
	}
}
