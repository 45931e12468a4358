package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// Steps run many to a transaction: one that fails is rolled back alone and
// postponed with its reason, and the others of its batch still run.
func TestDueStepBatchIsolatesAFailingStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-ref", true)
		var subs []referral.Submission
		for _, u := range []string{"u-s1", "u-s2", "u-s3"} {
			subs = append(subs, request(t, s, u, "https://jobs.example/"+u))
		}
		// A step this version does not know sits between the due expiries.
		if _, err := s.write.Exec(`INSERT INTO steps (kind, subject_id, due_at) VALUES ('bogus', 1, ?)`, t0.Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		clk.Add(testPolicy().RequestTTL + time.Hour)
		n, err := s.RunDueSteps(ctx, 1000)
		if err == nil || !strings.Contains(err.Error(), "bogus") {
			t.Fatalf("RunDueSteps error = %v; want the failing step named", err)
		}
		if n == 0 {
			t.Fatalf("RunDueSteps ran %d steps; want the others run", n)
		}
		for _, sub := range subs {
			var state string
			s.read.QueryRow(`SELECT state FROM requests WHERE id = ?`, sub.Request.ID).Scan(&state)
			if state != string(referral.Expired) {
				t.Errorf("request %d after its expiry = %s; want expired", sub.Request.ID, state)
			}
		}
		var attempts int
		var lastErr string
		var due int64
		if err := s.read.QueryRow(`SELECT attempts, last_error, due_at FROM steps WHERE kind = 'bogus' AND done_at IS NULL`).Scan(&attempts, &lastErr, &due); err != nil {
			t.Fatalf("the failing step: %v; want it kept pending", err)
		}
		if attempts != 1 || !strings.Contains(lastErr, "unknown step kind") || !time.UnixMilli(due).After(clk.Now()) {
			t.Errorf("failing step attempts %d, last error %q, due %v; want 1, its reason, and later than now %v",
				attempts, lastErr, time.UnixMilli(due).UTC(), clk.Now())
		}
		// Nothing else is due now: a second sweep runs nothing and fails nothing.
		if n, err := s.RunDueSteps(ctx, 1000); n != 0 || err != nil {
			t.Errorf("second RunDueSteps = %d, %v; want 0, nil", n, err)
		}
	})
}
