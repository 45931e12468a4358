package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPrivacyScale measures forget-me and retention on the generated
// databases of BenchmarkScale (20k made here, and REFERRALBOT_BENCH_DB
// copied first). Each forget-me iteration forgets the next busiest user,
// so run a few (-benchtime 5x); the first is the busiest and is logged.
// -count repeats on the same copy, where they are forgotten already: for
// repeats, run the benchmark again (a fresh copy).
func BenchmarkPrivacyScale(b *testing.B) {
	dbs := []struct{ name, path string }{{"20k", ""}}
	if p := os.Getenv("REFERRALBOT_BENCH_DB"); p != "" {
		dbs = append(dbs, struct{ name, path string }{filepath.Base(p), p})
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) { benchPrivacy(b, db.path) })
	}
}

func benchPrivacy(b *testing.B, src string) {
	d := openScaleDB(b, src)
	s, ctx := d.s, context.Background()
	users := func(query string) []string {
		var ids []string
		rows, err := s.read.Query(query)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	referrers := users(`SELECT referrer_user_id FROM offers WHERE referrer_user_id != '' GROUP BY referrer_user_id ORDER BY COUNT(*) DESC, referrer_user_id LIMIT 50`)
	students := users(`SELECT student_id FROM requests WHERE student_id != '' GROUP BY student_id ORDER BY COUNT(*) DESC, student_id LIMIT 50`)

	forgetEach := func(b *testing.B, who string, ids []string) {
		var cpu, longest time.Duration
		var offers, events, requests int
		s.read.QueryRow(`SELECT (SELECT COUNT(*) FROM offers WHERE referrer_user_id = ?1), (SELECT COUNT(*) FROM events WHERE actor_id = ?1),
			(SELECT COUNT(*) FROM requests WHERE student_id = ?1)`, ids[0]).Scan(&offers, &events, &requests)
		n := 0
		for b.Loop() {
			if n == len(ids) {
				b.Fatalf("only %d users to forget; run fewer iterations (-benchtime 5x)", len(ids))
			}
			id := ids[n]
			start, startCPU := time.Now(), cpuTime()
			if _, err := s.ForgetUser(ctx, id); err != nil {
				b.Fatalf("ForgetUser(%s): %v", id, err)
			}
			took := time.Since(start)
			cpu += cpuTime() - startCPU
			longest = max(longest, took)
			if n == 0 {
				b.Logf("busiest %s %s: %d offers, %d events as actor, %d requests; forget-me took %s", who, id, offers, events, requests, took.Round(time.Microsecond))
			}
			n++
		}
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
		b.ReportMetric(float64(longest)/1e6, "max-ms")
	}
	b.Run("forget-busiest-referrers", func(b *testing.B) { forgetEach(b, "referrer", referrers) })
	b.Run("forget-busiest-students", func(b *testing.B) { forgetEach(b, "student", students) })

	// erase runs EraseOldTexts while a probe writes a tiny transaction
	// again and again: the probe's longest wait is the longest the erase
	// held the writer.
	erase := func(b *testing.B, before func(i int)) {
		var cpu, longest time.Duration
		var erased int64
		i := 0
		for b.Loop() {
			before(i)
			start := cpuTime()
			wait := longestWriterWait(b, s, func() {
				n, err := s.EraseOldTexts(ctx)
				if err != nil {
					b.Fatal(err)
				}
				erased += n
			})
			cpu += cpuTime() - start
			longest = max(longest, wait)
			i++
		}
		b.ReportMetric(float64(erased)/float64(i), "requests/op")
		b.ReportMetric(float64(cpu)/float64(i), "cpu-ns/op")
		b.ReportMetric(float64(longest)/1e6, "max-writer-wait-ms")
	}
	// What the first sweep after opening erases, then a sweep a minute
	// later, as the bot runs them.
	start := time.Now()
	var first int64
	wait := longestWriterWait(b, s, func() {
		var err error
		if first, err = s.EraseOldTexts(ctx); err != nil {
			b.Fatal(err)
		}
	})
	b.Logf("first EraseOldTexts: %d requests erased in %s, the writer held at most %s", first, time.Since(start).Round(time.Microsecond), wait.Round(time.Microsecond))
	b.Run("erase-old-texts-steady", func(b *testing.B) { erase(b, func(int) { d.clk.Add(time.Minute) }) })
	// A month of closed requests falling due at once (as when retention is
	// shortened, or on an upgrade): iteration i erases with a retention of
	// 150 days minus i months.
	retention := s.policy.Retention
	b.Run("erase-old-texts-month-backlog", func(b *testing.B) {
		erase(b, func(i int) {
			if i >= 5 {
				b.Fatal("at most 5 months of backlog (-benchtime 3x)")
			}
			s.policy.Retention = time.Duration(150-30*i) * 24 * time.Hour
		})
	})
	s.policy.Retention = retention
}

// longestWriterWait runs fn while another goroutine writes an empty
// transaction every millisecond, and returns the longest such a write
// waited: how long fn kept the writer at most.
func longestWriterWait(b *testing.B, s *Store, fn func()) time.Duration {
	b.Helper()
	stop, done := make(chan struct{}), make(chan time.Duration)
	go func() {
		var longest time.Duration
		for {
			start := time.Now()
			if err := s.tx(context.Background(), func(*txn, time.Time) error { return nil }); err != nil {
				b.Error(err)
			}
			longest = max(longest, time.Since(start))
			select {
			case <-stop:
				done <- longest
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	return <-done
}
