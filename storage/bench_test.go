package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
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

// The scale benchmarks run on generated databases: a 20k-request one made
// here, and the one named by REFERRALBOT_BENCH_DB (see docs/PERFORMANCE.md),
// which is copied first so the benchmarks never change it.
func BenchmarkScale(b *testing.B) {
	dbs := []struct{ name, path string }{{"20k", ""}}
	if p := os.Getenv("REFERRALBOT_BENCH_DB"); p != "" {
		dbs = append(dbs, struct{ name, path string }{filepath.Base(p), p})
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) { benchScale(b, db.path) })
	}
}

// scaleDB is a generated database opened at the end of its history.
type scaleDB struct {
	s        *Store
	clk      *clock
	guild    string
	company  referral.Company
	student  string // the one with the most requests
	refCount int
	maxHold  atomic.Int64 // the longest write transaction since reset, ns
	created  int          // requests create-request-largest-company made
}

// reportMaxHold reports, when the returned func runs, the longest any
// write transaction held the writer since reportMaxHold was called.
func (d *scaleDB) reportMaxHold(b *testing.B) func() {
	d.maxHold.Store(0)
	return func() { b.ReportMetric(float64(d.maxHold.Load())/1e6, "max-hold-ms") }
}

func openScaleDB(b *testing.B, src string) *scaleDB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "scale.db")
	start := time.Now()
	if src == "" {
		if _, err := Seed(ctx, path, SeedOptions{Requests: 20000, Weeks: 10, Seed: 1, Now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}); err != nil {
			b.Fatal(err)
		}
	} else if err := copyFile(src, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("database ready in %s", time.Since(start).Round(time.Millisecond))
	d := &scaleDB{clk: &clock{}}
	start = time.Now()
	held := func(h time.Duration) {
		for {
			old := d.maxHold.Load()
			if int64(h) <= old || d.maxHold.CompareAndSwap(old, int64(h)) {
				return
			}
		}
	}
	s, err := Open(ctx, path, Options{Policy: SeedPolicy(), Now: d.clk.Now, OnWriteHeld: held})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened (with any pending migrations) in %s", time.Since(start).Round(time.Millisecond))
	b.Cleanup(func() { s.Close() })
	d.s = s
	err = s.read.QueryRow(`SELECT c.company_key, MIN(c.company_name), rf.guild_id, COUNT(*) FROM referrer_companies c JOIN referrers rf ON rf.id = c.referrer_id
		GROUP BY c.company_key, rf.guild_id ORDER BY COUNT(*) DESC LIMIT 1`).Scan(&d.company.Key, &d.company.Name, &d.guild, &d.refCount)
	if err != nil {
		b.Fatal(err)
	}
	var last int64
	if err := s.read.QueryRow(`SELECT MAX(at) FROM events WHERE guild_id = ?`, d.guild).Scan(&last); err != nil {
		b.Fatal(err)
	}
	d.clk.t = time.UnixMilli(last).UTC()
	if err := s.read.QueryRow(`SELECT student_id FROM requests WHERE student_id != '' GROUP BY student_id ORDER BY COUNT(*) DESC LIMIT 1`).Scan(&d.student); err != nil {
		b.Fatal(err)
	}
	// Whatever fell due since the history ended, as the bot's first sweep
	// would (after an upgrade, this counts every referrer's load once).
	start = time.Now()
	d.maxHold.Store(0)
	n, err := s.RunDueSteps(ctx, 1_000_000)
	if err != nil {
		b.Fatal(err)
	}
	m, err := s.MatchWaiting(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("first sweep: %d steps, %d offered in %s, longest write transaction %s; largest company %s with %d referrers",
		n, m, time.Since(start).Round(time.Millisecond), time.Duration(d.maxHold.Load()).Round(10*time.Microsecond), d.company.Name, d.refCount)
	return d
}

// cpuTime is the CPU the process used: on a shared machine, a figure that
// other load changes far less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU time per operation when the returned func runs.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// On disk before the store opens it: else the first checkpoint's
	// fsync writes the whole copy back, inside the write it follows.
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchScale measures the operations whose cost must not grow with
// history. The order matters: the read-only and idle ones first, then
// those that add work.
func benchScale(b *testing.B, src string) {
	d := openScaleDB(b, src)
	s, ctx := d.s, context.Background()

	b.Run("choose-referrer-largest-company", func(b *testing.B) {
		defer reportCPU(b)()
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		r := referral.Request{ID: -1, GuildID: d.guild, StudentID: "bench-student", Company: d.company, State: referral.Waiting,
			Fields: goodFields("https://jobs.example/bench")}
		for b.Loop() {
			if _, err := choose(ctx, tx, d.clk.Now(), r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("status-student-20-requests", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if rs, err := s.StudentRequests(ctx, d.student); err != nil || len(rs) < 20 {
				b.Fatalf("StudentRequests(%s) = %d, %v; want 20 or more", d.student, len(rs), err)
			}
		}
	})
	b.Run("digest-largest-server", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.digest(ctx, s.read, d.guild, d.clk.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stats-largest-server", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.Stats(ctx, d.guild, d.clk.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("export-largest-server", func(b *testing.B) {
		// What /referral-admin export reads: the newest requests, as
		// many as fit its file (about 60,000 rows), not the whole server.
		defer reportCPU(b)()
		for b.Loop() {
			n := 0
			stop := errors.New("file full")
			err := s.ExportRequests(ctx, d.guild, func(referral.ExportRow) error {
				if n++; n == 60000 {
					return stop
				}
				return nil
			})
			if err != nil && err != stop {
				b.Fatal(err)
			}
		}
	})
	// The request modal recovers the company's name from its key: one
	// company's memberships, against listing every company of the server.
	b.Run("company-name-largest-company", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, ok, err := s.CompanyName(ctx, d.guild, d.company.Key); err != nil || !ok {
				b.Fatalf("CompanyName(%s) = %v, %v; want listed", d.company.Key, ok, err)
			}
		}
	})
	b.Run("companies-largest-server", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := s.Companies(ctx, d.guild); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("outbox-poll-idle", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if due, err := s.DueOutbox(ctx, d.clk.Now(), 50); err != nil || len(due) != 0 {
				b.Fatalf("DueOutbox = %d, %v; want nothing due", len(due), err)
			}
		}
	})
	b.Run("match-waiting-nothing-free", func(b *testing.B) {
		defer reportCPU(b)()
		defer d.reportMaxHold(b)()
		for b.Loop() {
			if n, err := s.MatchWaiting(ctx); err != nil || n != 0 {
				b.Fatalf("MatchWaiting = %d, %v; want 0", n, err)
			}
		}
	})
	b.Run("sweep-idle", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if n, err := s.RunDueSteps(ctx, 1000); err != nil || n != 0 {
				b.Fatalf("RunDueSteps = %d, %v; want 0", n, err)
			}
			if n, err := s.MatchWaiting(ctx); err != nil || n != 0 {
				b.Fatalf("MatchWaiting = %d, %v; want 0", n, err)
			}
		}
	})
	b.Run("create-request-largest-company", func(b *testing.B) {
		defer reportCPU(b)()
		defer d.reportMaxHold(b)()
		for b.Loop() {
			d.created++ // across runs too (-count): each a new student and job link
			i := d.created
			d.clk.Add(time.Second)
			if _, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: d.guild, StudentID: fmt.Sprintf("bench-create-%d", i), Company: d.company,
				Fields: goodFields(fmt.Sprintf("https://jobs.example/bench-create/%d", i))}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run-1000-due-steps", func(b *testing.B) {
		defer d.reportMaxHold(b)()
		ran := 0
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			var due int64
			err := s.read.QueryRow(`SELECT due_at FROM steps WHERE done_at IS NULL ORDER BY due_at
				LIMIT 1 OFFSET MIN(999, (SELECT COUNT(*) - 1 FROM steps WHERE done_at IS NULL))`).Scan(&due)
			if err != nil {
				b.Fatalf("no pending steps left (run fewer iterations, e.g. -benchtime 3x): %v", err)
			}
			if t := time.UnixMilli(due).UTC(); t.After(d.clk.Now()) {
				d.clk.t = t
			}
			b.StartTimer()
			start := cpuTime()
			n, err := s.RunDueSteps(ctx, 1000)
			if err != nil {
				b.Fatal(err)
			}
			cpu += cpuTime() - start
			ran += n
		}
		b.ReportMetric(float64(ran)/float64(b.N), "steps/op")
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	})
}
