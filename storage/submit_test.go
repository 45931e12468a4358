package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

func TestSubmitRequestKeepsDraftsAndSendsSQLite(t *testing.T) {
	s, _, path := openTest(t)
	ctx := context.Background()
	join(t, s, "u-ref", true)
	form := referral.RequestForm{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: goodFields("https://jobs.example/1")}

	// A rule broken: kept as a draft, nothing offered.
	bad := form
	bad.Fields.JobURL = "not a link"
	res, err := s.SubmitRequest(ctx, bad)
	if err != nil || res.Sent || res.DraftID == 0 || len(res.Problems) == 0 || res.Problems[0].Field != "job_url" {
		t.Fatalf("SubmitRequest(bad link) = %+v, %v; want a draft with a job_url problem", res, err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM requests`); n != 0 {
		t.Fatalf("requests after a bad submit = %d; want 0", n)
	}

	// The draft survives a restart and is never listed as a request.
	s.Close()
	s2, err := Open(ctx, path, Options{Policy: testPolicy(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	d, err := s2.Draft(ctx, res.DraftID)
	if err != nil || d.Fields.JobURL != "not a link" || d.Company != amazon || d.GuildID != "g1" {
		t.Fatalf("Draft(%d) after reopen = %+v, %v; want the kept fields", res.DraftID, d, err)
	}
	if list, err := s2.StudentRequests(ctx, "u-stu"); err != nil || len(list) != 0 {
		t.Fatalf("StudentRequests with only a draft = %+v, %v; want none", list, err)
	}

	// Someone else cannot send it; a gone draft is not found.
	stranger := form
	stranger.StudentID, stranger.DraftID = "u-other", res.DraftID
	if _, err := s2.SubmitRequest(ctx, stranger); !errors.Is(err, referral.ErrNotYours) {
		t.Fatalf("SubmitRequest(someone else's draft) = %v; want ErrNotYours", err)
	}
	gone := form
	gone.DraftID = 999
	if _, err := s2.SubmitRequest(ctx, gone); !errors.Is(err, referral.ErrNotFound) {
		t.Fatalf("SubmitRequest(gone draft) = %v; want ErrNotFound", err)
	}

	// Fixed: sent from the draft's server and company, the draft deleted.
	fixed := form
	fixed.DraftID, fixed.GuildID, fixed.Company = res.DraftID, "", referral.Company{}
	sent, err := s2.SubmitRequest(ctx, fixed)
	if err != nil || !sent.Sent || !sent.Submission.Offered || sent.Submission.Request.Company != amazon || sent.Submission.Request.GuildID != "g1" {
		t.Fatalf("SubmitRequest(fixed draft) = %+v, %v; want sent and offered at Amazon in g1", sent, err)
	}
	if _, err := s2.Draft(ctx, res.DraftID); !errors.Is(err, referral.ErrNotFound) {
		t.Fatalf("draft after sending = %v; want ErrNotFound", err)
	}

	// A limit: the same job link again is kept as a draft, in the same call.
	dup, err := s2.SubmitRequest(ctx, form)
	if err != nil || dup.Sent || dup.DraftID == 0 || !errors.Is(dup.Refused, referral.ErrDuplicateJob) {
		t.Fatalf("SubmitRequest(same job) = %+v, %v; want a draft refused with ErrDuplicateJob", dup, err)
	}
	for _, job := range []string{"https://jobs.example/2", "https://jobs.example/3"} {
		f := form
		f.Fields = goodFields(job)
		if r, err := s2.SubmitRequest(ctx, f); err != nil || !r.Sent {
			t.Fatalf("SubmitRequest(%s) = %+v, %v; want sent", job, r, err)
		}
	}
	over := form
	over.Fields, over.DraftID = goodFields("https://jobs.example/4"), dup.DraftID
	full, err := s2.SubmitRequest(ctx, over)
	if err != nil || full.Sent || full.DraftID != dup.DraftID || !errors.Is(full.Refused, referral.ErrTooManyOpen) || full.MaxOpen != 3 {
		t.Fatalf("SubmitRequest(fourth open) = %+v, %v; want draft %d overwritten, ErrTooManyOpen, limit 3", full, err, dup.DraftID)
	}
	if d, _ := s2.Draft(ctx, dup.DraftID); d.Fields.JobURL != "https://jobs.example/4" {
		t.Fatalf("overwritten draft job = %q; want the new link", d.Fields.JobURL)
	}
	if n := count(t, s2, `SELECT COUNT(*) FROM requests`); n != 3 {
		t.Fatalf("requests = %d; want 3", n)
	}
}

// Accept and Decline pressed at once on one offer: one wins, the request
// changes state once, and each loser is told why.
func TestConcurrentAcceptAndDeclineChangeStateOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		join(t, s, "u-ref", true)
		join(t, s, "u-other", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		offer := outbox(t, s)[0].Outgoing.Notice.OfferID
		first := sub.Request.ReferrerID
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.AnswerOffer(context.Background(), offer, first, i%2 == 0)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, referral.ErrAlreadyDone), errors.Is(err, referral.ErrMovedOn):
			default:
				t.Fatalf("concurrent answer error = %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d answers succeeded; want exactly 1", ok)
		}
		answers := count(t, s, `SELECT COUNT(*) FROM events WHERE kind IN ('accepted', 'declined')`)
		if answers != 1 {
			t.Fatalf("answer events = %d; want 1", answers)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE request_id = ? AND state != 'pending'`, sub.Request.ID); n != 1 {
			t.Fatalf("answered offers = %d; want 1", n)
		}
	})
}

func TestFallbackMigrationBackfillsReachedColumnSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`}
	for i, name := range []string{"migrations/0001_init.sql", "migrations/0002_trust.sql"} {
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(body), `INSERT INTO schema_migrations VALUES (`+string(rune('1'+i))+`, '`+name+`', 0)`)
	}
	stmts = append(stmts, `INSERT INTO outbox (guild_id, user_id, kind, payload, next_attempt_at, failed_at, last_error, created_at) VALUES
		('g1', 'a', 'offer', '', 0, 1, 'dm closed (50007); pinged in fallback channel', 0),
		('g1', 'b', 'offer', '', 0, 1, 'dm closed (50007); already pinged in fallback channel today', 0),
		('g1', 'c', 'offer', '', 0, 1, 'dm closed (50007); no fallback channel set', 0),
		('g1', 'd', 'offer', '', 0, 1, 'decode payload: bad', 0)`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open an old database: %v", err)
	}
	defer s.Close()
	c, err := s.Counts(context.Background(), t0)
	if err != nil || c.Undeliverable != 2 {
		t.Fatalf("Counts after migration = %+v, %v; want 2 undeliverable (c and d)", c, err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE reached_in_fallback AND user_id IN ('a', 'b')`); n != 2 {
		t.Fatalf("rows reached in fallback = %d; want a and b", n)
	}
}
