package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// backlogStore is a server whose referrers at one company are all at
// capacity (capacity 1, one pending offer each) with backlog requests
// waiting there: the state `cmd/loadtest -waiting` drives.
func backlogStore(b *testing.B, referrers, backlog int) (*Store, *clock) {
	b.Helper()
	ctx := context.Background()
	clk := &clock{t: t0}
	p := testPolicy()
	p.MaxOpenPerStudent = 20
	s, err := Open(ctx, b.TempDir()+"/backlog.db", Options{Policy: p, Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c", ReferrerRoleID: "r"}); err != nil {
		b.Fatal(err)
	}
	for i := range referrers {
		if _, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: fmt.Sprintf("ref-%d", i), Companies: []referral.Company{amazon},
			MemberRoles: []string{"r"}, Capacity: 1, Roles: "software engineering"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range referrers + backlog {
		clk.Add(time.Second)
		sub, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: fmt.Sprintf("stu-%d", i%2000), Company: amazon,
			Fields: goodFields(fmt.Sprintf("https://jobs.example/backlog/%d", i))})
		if err != nil {
			b.Fatal(err)
		}
		if want := i < referrers; sub.Offered != want {
			b.Fatalf("request %d offered = %v; want %v (every referrer at capacity after the first %d)", i, sub.Offered, want, referrers)
		}
	}
	// Delivered, as the outbox sender would have.
	if _, err := s.write.Exec(`UPDATE outbox SET sent_at = next_attempt_at, payload = ''`); err != nil {
		b.Fatal(err)
	}
	return s, clk
}

// BenchmarkSubmitWithBacklog is the request modal's submit at a company
// where every referrer is at capacity, by the number of requests already
// waiting there: its cost must not grow with the backlog.
func BenchmarkSubmitWithBacklog(b *testing.B) {
	for _, backlog := range []int{0, 500, 5000} {
		b.Run(fmt.Sprintf("backlog-%d", backlog), func(b *testing.B) {
			s, clk := backlogStore(b, 30, backlog)
			ctx := context.Background()
			b.ReportAllocs()
			defer reportCPU(b)()
			for i := 0; b.Loop(); i++ {
				clk.Add(time.Second)
				res, err := s.SubmitRequest(ctx, referral.RequestForm{GuildID: "g1", StudentID: fmt.Sprintf("bench-%d", i), Company: amazon,
					Fields: goodFields(fmt.Sprintf("https://jobs.example/bench/%d", i))})
				if err != nil || !res.Sent || res.Submission.Offered {
					b.Fatalf("SubmitRequest = sent %v, offered %v, %v; want sent and waiting", res.Sent, res.Submission.Offered, err)
				}
			}
		})
	}
}
