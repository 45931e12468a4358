package storage

import (
	"context"
	"fmt"
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

// waitingRequests makes n requests at Amazon with nobody to refer them:
// each waits, with its expiry step due after the request TTL.
func waitingRequests(t *testing.T, s *Store, n int) {
	t.Helper()
	if err := s.SetupGuild(context.Background(), referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", ReferrerRoleID: "role-ref"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := fmt.Sprintf("u-wait-%d", i)
		if sub := request(t, s, u, "https://jobs.example/"+u); sub.Offered {
			t.Fatalf("request by %s was offered; want it waiting", u)
		}
	}
}

// A batch of due steps ends once it has held the writer for the budget:
// with none, each batch runs one step. The steps a batch claimed but did
// not take stay due and untouched, later batches take them, and limit
// still caps a sweep.
func TestDueStepBatchesEndAtTheBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		waitingRequests(t, s, 5)
		clk.Add(testPolicy().RequestTTL + time.Hour)
		due := count(t, s, `SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= ?`, clk.Now().UnixMilli())
		if due < 5 {
			t.Fatalf("%d steps due; want at least the 5 expiries", due)
		}
		s.budget = 0
		var txs int
		s.onWriteHeld = func(time.Duration) { txs++ }
		n, err := s.RunDueSteps(ctx, 3)
		if err != nil || n != 3 {
			t.Fatalf("RunDueSteps(3) = %d, %v; want 3, nil", n, err)
		}
		if txs < 3 {
			t.Errorf("RunDueSteps(3) with no budget committed %d write transactions; want one a step, 3 or more", txs)
		}
		if left := count(t, s, `SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= ? AND attempts = 0`, clk.Now().UnixMilli()); left != due-3 {
			t.Errorf("after 3 steps %d are due and untried; want %d", left, due-3)
		}
		if n, err := s.RunDueSteps(ctx, 1000); err != nil || n != due-3 {
			t.Errorf("second RunDueSteps = %d, %v; want the %d left, nil", n, err, due-3)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM requests WHERE state = 'expired'`); n != 5 {
			t.Errorf("%d requests expired; want 5", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM steps WHERE done_at IS NOT NULL AND attempts != 1`); n != 0 {
			t.Errorf("%d steps done after other than one run", n)
		}
	})
}

// A write that waits behind the sweep runs between two of its batches, not
// after the whole sweep: SQLite hands the one writer connection to the
// waiter at the batch's commit, PostgreSQL grants the writer lock in turn.
func TestWriteWaitingBehindTheSweepRunsBetweenBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		waitingRequests(t, s, 3)
		clk.Add(testPolicy().RequestTTL + time.Hour)
		s.budget = 0 // one step a batch
		steps := 0
		written := make(chan error, 1)
		var seenInSecond bool
		s.stepRan = func(tx *txn) {
			steps++
			switch steps {
			case 1:
				go func() {
					written <- s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g-waiter", DigestChannelID: "c"})
				}()
				waitForWriter(t, s)
			case 2:
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM guild_settings WHERE guild_id = 'g-waiter'`).Scan(&n); err != nil {
					t.Errorf("reading the waiter's write: %v", err)
				}
				seenInSecond = n == 1
			}
		}
		if _, err := s.RunDueSteps(ctx, 1000); err != nil {
			t.Fatalf("RunDueSteps: %v", err)
		}
		if err := <-written; err != nil {
			t.Fatalf("the waiting SetupGuild: %v", err)
		}
		if steps < 2 {
			t.Fatalf("the sweep ran %d steps; want 2 or more", steps)
		}
		if !seenInSecond {
			t.Errorf("the write waiting during the sweep's first batch was not committed before its second; want it let in between")
		}
	})
}

// waitForWriter waits until another goroutine's write transaction is
// queued for the writer the caller holds: a waiter for SQLite's one writer
// connection, or for PostgreSQL's writer lock.
func waitForWriter(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting bool
		if s.d.postgres {
			err := s.read.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND objid::bigint = hashtext('referralbot write ' || current_schema())::bigint & 4294967295)`).Scan(&waiting)
			if err != nil {
				t.Fatalf("pg_locks: %v", err)
			}
		} else {
			waiting = s.write.db.Stats().WaitCount > 0
		}
		if waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write queued for the writer after 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Matching a backlog in the sweep commits once it has held the writer for
// the budget and carries on in the next transaction until every request
// that can be offered is: with no budget, one offer a transaction.
func TestMatchWaitingCarriesOnPastTheBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", ReferrerRoleID: "role-ref"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: "u-ref", Companies: []referral.Company{amazon},
			MemberRoles: []string{"role-ref"}, Capacity: 3}); err != nil {
			t.Fatal(err)
		}
		// The referrer takes three, is then at capacity, and three more wait.
		for i := range 3 {
			u := fmt.Sprintf("u-taken-%d", i)
			sub := request(t, s, u, "https://jobs.example/"+u)
			var offerID int64
			if err := s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND state = 'pending'`, sub.Request.ID).Scan(&offerID); err != nil {
				t.Fatalf("offer of %s: %v", u, err)
			}
			if _, err := s.AnswerOffer(ctx, offerID, "u-ref", true); err != nil {
				t.Fatal(err)
			}
		}
		waitingRequests(t, s, 3)
		// The accepted referrals leave the 30-day window: room for three.
		clk.Add(referral.CapacityWindow + time.Hour)
		s.budget = 0
		var txs int
		s.onWriteHeld = func(time.Duration) { txs++ }
		n, err := s.MatchWaiting(ctx)
		if err != nil || n != 3 {
			t.Fatalf("MatchWaiting = %d, %v; want 3, nil", n, err)
		}
		if txs < 3 {
			t.Errorf("MatchWaiting with no budget committed %d write transactions; want one an offer, 3 or more", txs)
		}
		if w := count(t, s, `SELECT COUNT(*) FROM requests WHERE state = 'waiting'`); w != 0 {
			t.Errorf("%d requests still waiting; want all 3 offered", w)
		}
		if n, err := s.MatchWaiting(ctx); err != nil || n != 0 {
			t.Errorf("second MatchWaiting = %d, %v; want 0, nil", n, err)
		}
	})
}
