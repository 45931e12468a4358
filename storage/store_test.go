package storage

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) // a Monday

// clock is a settable time for a store under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testPolicy() referral.Policy {
	return referral.Policy{OfferTimeout: 72 * time.Hour, ReferrerReminder: 96 * time.Hour, Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour},
		RequestTTL: 30 * 24 * time.Hour, MaxOpenPerStudent: 3, DefaultCapacity: 4, Retention: 180 * 24 * time.Hour}
}

func openTest(t *testing.T) (*Store, *clock, string) {
	t.Helper()
	return openTestIn(t, nil)
}

// openTestIn opens a test store whose digest weeks are in loc (nil: UTC),
// on the backend of the forEachBackend subtest (else SQLite); the path is
// the SQLite file, "" on PostgreSQL.
func openTestIn(t *testing.T, loc *time.Location) (*Store, *clock, string) {
	t.Helper()
	c := &clock{t: t0}
	s, path := openBackend(t, Options{Policy: testPolicy(), Now: c.Now, Location: loc})
	return s, c, path
}

func goodFields(job string) referral.RequestFields {
	return referral.RequestFields{
		JobURL:    job,
		Role:      "Software Development Engineer Intern",
		Intro:     "I'm a third-year computer science student at State University. I built a distributed cache in Go and interned at a fintech last summer.",
		ResumeURL: "https://example.org/resume.pdf",
		Note:      "The role's focus on backend services matches my internship.",
	}
}

var amazon = referral.Company{Key: "amazon", Name: "Amazon"}

func join(t *testing.T, s *Store, user string, active bool) referral.JoinResult {
	t.Helper()
	ctx := context.Background()
	if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", FallbackChannelID: "c-fallback", ReferrerRoleID: "role-ref"}); err != nil {
		t.Fatal(err)
	}
	in := referral.JoinInput{GuildID: "g1", UserID: user, Companies: []referral.Company{amazon}, Roles: "software engineering", School: "State University"}
	if active {
		in.MemberRoles = []string{"role-ref"}
	}
	res, err := s.JoinReferrer(ctx, in)
	if err != nil {
		t.Fatalf("JoinReferrer(%s): %v", user, err)
	}
	return res
}

func request(t *testing.T, s *Store, student, job string) referral.Submission {
	t.Helper()
	sub, err := s.CreateRequest(context.Background(), referral.NewRequest{GuildID: "g1", StudentID: student, Company: amazon, Fields: goodFields(job)})
	if err != nil {
		t.Fatalf("CreateRequest(%s): %v", student, err)
	}
	return sub
}

// outbox returns the queued notices, oldest first.
func outbox(t *testing.T, s *Store) []OutboxMessage {
	t.Helper()
	msgs, err := s.DueOutbox(context.Background(), t0.AddDate(10, 0, 0), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestOpenMigratesAndReopensSQLite(t *testing.T) {
	s, _, path := openTest(t)
	if n := count(t, s, `SELECT COUNT(*) FROM schema_migrations`); n < 1 {
		t.Fatalf("schema_migrations has %d rows; want at least 1", n)
	}
	join(t, s, "u-ref", true)
	s.Close()

	again, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer again.Close()
	if n := count(t, again, `SELECT COUNT(*) FROM referrers`); n != 1 {
		t.Fatalf("referrers after reopen = %d; want 1", n)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Fatalf("database mode = %o; want 600", perm)
	}
}

func TestFullLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-ref", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		if !sub.Offered || sub.Request.State != referral.Offered || sub.Request.ReferrerID != "u-ref" {
			t.Fatalf("CreateRequest = %+v; want offered to u-ref", sub)
		}
		msgs := outbox(t, s)
		if len(msgs) != 1 || msgs[0].Outgoing.Notice.Kind != referral.NoticeOffer || msgs[0].Outgoing.UserID != "u-ref" {
			t.Fatalf("outbox = %+v; want one offer to u-ref", msgs)
		}
		offerID := msgs[0].Outgoing.Notice.OfferID

		if _, err := s.AnswerOffer(ctx, offerID, "u-stu", true); !errors.Is(err, referral.ErrNotYours) {
			t.Fatalf("AnswerOffer by the student = %v; want ErrNotYours", err)
		}
		clk.Add(time.Hour)
		ans, err := s.AnswerOffer(ctx, offerID, "u-ref", true)
		if err != nil || ans.Request.State != referral.Accepted {
			t.Fatalf("AnswerOffer accept = %+v, %v; want accepted", ans, err)
		}
		if _, err := s.AnswerOffer(ctx, offerID, "u-ref", true); !errors.Is(err, referral.ErrAlreadyDone) {
			t.Fatalf("second accept = %v; want ErrAlreadyDone", err)
		}
		r, err := s.MarkSubmitted(ctx, sub.Request.ID, "u-ref")
		if err != nil || r.State != referral.Submitted {
			t.Fatalf("MarkSubmitted = %+v, %v", r, err)
		}
		if want := clk.Now().Add(7 * 24 * time.Hour); !r.NextNudgeAt.Equal(want) {
			t.Fatalf("NextNudgeAt = %v; want %v", r.NextNudgeAt, want)
		}

		// Nothing is due before the first follow-up.
		clk.Add(7*24*time.Hour - time.Minute)
		if n, err := s.RunDueSteps(ctx, 100); err != nil || n != 0 {
			t.Fatalf("RunDueSteps before due = %d, %v; want 0 (the offer timeout and reminder ended with the answer)", n, err)
		}
		clk.Add(time.Minute)
		if n, err := s.RunDueSteps(ctx, 100); err != nil || n != 1 {
			t.Fatalf("RunDueSteps at 7d = %d, %v; want 1", n, err)
		}
		if n, _ := s.RunDueSteps(ctx, 100); n != 0 {
			t.Fatalf("RunDueSteps again = %d; want 0 (a step runs once)", n)
		}
		followUps := 0
		for _, m := range outbox(t, s) {
			if m.Outgoing.Notice.Kind == referral.NoticeFollowUp {
				followUps++
				if m.Outgoing.UserID != "u-stu" || m.Outgoing.Notice.FollowUp != 1 {
					t.Fatalf("follow-up = %+v; want #1 to u-stu", m.Outgoing)
				}
			}
		}
		if followUps != 1 {
			t.Fatalf("follow-ups queued = %d; want 1", followUps)
		}
		// A final outcome stops the second follow-up.
		if _, err := s.RecordOutcome(ctx, "u-stu", sub.Request.ID, referral.OutcomeOffer); err != nil {
			t.Fatal(err)
		}
		clk.Add(8 * 24 * time.Hour)
		if n, _ := s.RunDueSteps(ctx, 100); n != 0 {
			t.Fatalf("steps after the final outcome = %d; want 0", n)
		}
	})
}

func TestDeclineMovesOnThenWaits(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-a", true)
		join(t, s, "u-b", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		first := sub.Request.ReferrerID
		offer := outbox(t, s)[0].Outgoing.Notice.OfferID
		ans, err := s.AnswerOffer(ctx, offer, first, false)
		if err != nil || !ans.NextAsked || ans.Request.ReferrerID == first || ans.Request.ReferrerID == "" {
			t.Fatalf("decline = %+v, %v; want the other referrer asked", ans, err)
		}
		second := ans.Request.ReferrerID
		var offer2 int64
		for _, m := range outbox(t, s) {
			if m.Outgoing.Notice.Kind == referral.NoticeOffer && m.Outgoing.UserID == second {
				offer2 = m.Outgoing.Notice.OfferID
			}
		}
		ans, err = s.AnswerOffer(ctx, offer2, second, false)
		if err != nil || ans.NextAsked || ans.Request.State != referral.Waiting {
			t.Fatalf("second decline = %+v, %v; want waiting", ans, err)
		}
		// A late press on the first offer changes nothing.
		if _, err := s.AnswerOffer(ctx, offer, first, true); !errors.Is(err, referral.ErrMovedOn) {
			t.Fatalf("late accept = %v; want ErrMovedOn", err)
		}
		// A new referrer joining picks the waiting request up.
		res := join(t, s, "u-c", true)
		if len(res.Offered) != 1 || res.Offered[0] != sub.Request.ID {
			t.Fatalf("join offered %v; want [%d]", res.Offered, sub.Request.ID)
		}
	})
}

func TestPendingReferrerGetsNoOffersUntilApproved(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		res := join(t, s, "u-new", false)
		if res.Referrer.Status != referral.Pending {
			t.Fatalf("status = %s; want pending without the referrer role", res.Referrer.Status)
		}
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		if sub.Offered {
			t.Fatalf("a pending referrer was offered a request")
		}
		if _, err := s.ApproveReferrer(ctx, "g1", "u-new", "u-admin"); err != nil {
			t.Fatal(err)
		}
		r, err := getRequest(ctx, s.read, sub.Request.ID)
		if err != nil || r.State != referral.Offered || r.ReferrerID != "u-new" {
			t.Fatalf("after approve: %+v, %v; want offered to u-new", r, err)
		}
	})
}

func TestLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		request(t, s, "u-stu", "https://jobs.example/1")
		_, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: goodFields("https://jobs.example/1")})
		if !errors.Is(err, referral.ErrDuplicateJob) {
			t.Fatalf("same job link = %v; want ErrDuplicateJob", err)
		}
		request(t, s, "u-stu", "https://jobs.example/2")
		request(t, s, "u-stu", "https://jobs.example/3")
		_, err = s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: goodFields("https://jobs.example/4")})
		if !errors.Is(err, referral.ErrTooManyOpen) {
			t.Fatalf("fourth open request = %v; want ErrTooManyOpen", err)
		}
	})
}

func TestCapacityCountsThirtyDays(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-ref", true)
		if _, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: "u-ref", Companies: []referral.Company{amazon}, Capacity: 1}); err != nil {
			t.Fatal(err)
		}
		sub := request(t, s, "u-s1", "https://jobs.example/1")
		if _, err := s.AnswerOffer(ctx, outbox(t, s)[0].Outgoing.Notice.OfferID, "u-ref", true); err != nil {
			t.Fatal(err)
		}
		if got := request(t, s, "u-s2", "https://jobs.example/2"); got.Offered {
			t.Fatalf("a referrer at capacity was offered a second request (first %d)", sub.Request.ID)
		}
		clk.Add(referral.CapacityWindow + time.Minute)
		// The request that waited is offered first, before the newer one.
		if got := request(t, s, "u-s3", "https://jobs.example/3"); got.Offered {
			t.Fatalf("after 30 days the newer request was offered ahead of the one that waited")
		}
		var state string
		s.read.QueryRow(`SELECT state FROM requests WHERE student_id = 'u-s2'`).Scan(&state)
		if state != string(referral.Offered) {
			t.Fatalf("waiting request after 30 days: %s; want offered", state)
		}
	})
}

// A forced failure in the middle of a state change leaves nothing behind.
func TestCreateRequestIsOneTransactionSQLite(t *testing.T) {
	s, _, _ := openTest(t)
	join(t, s, "u-ref", true)
	if _, err := s.write.Exec(`CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'forced failure'); END`); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateRequest(context.Background(), referral.NewRequest{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: goodFields("https://jobs.example/1")})
	if err == nil || !strings.Contains(err.Error(), "forced failure") {
		t.Fatalf("CreateRequest = %v; want the forced failure", err)
	}
	for _, table := range []string{"requests", "offers", "events", "steps", "outbox"} {
		if n := count(t, s, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("%s has %d rows after a failed transaction; want 0", table, n)
		}
	}
	if n := count(t, s, `SELECT COUNT(*) FROM referrers WHERE last_offered_at IS NOT NULL`); n != 0 {
		t.Errorf("referrer's last offer time changed by a failed transaction")
	}
}

func TestConcurrentAcceptChangesStateOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		join(t, s, "u-ref", true)
		request(t, s, "u-stu", "https://jobs.example/1")
		offer := outbox(t, s)[0].Outgoing.Notice.OfferID
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.AnswerOffer(context.Background(), offer, "u-ref", true)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, referral.ErrAlreadyDone) {
				t.Fatalf("concurrent accept error = %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d accepts succeeded; want exactly 1", ok)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE kind = 'accepted'`); n != 1 {
			t.Fatalf("accepted notices = %d; want 1", n)
		}
	})
}

func TestOfferTimeoutMovesOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-a", true)
		join(t, s, "u-b", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		clk.Add(72 * time.Hour)
		if n, err := s.RunDueSteps(ctx, 100); err != nil || n != 1 {
			t.Fatalf("RunDueSteps = %d, %v; want the offer timeout", n, err)
		}
		r, _ := getRequest(ctx, s.read, sub.Request.ID)
		if r.State != referral.Offered || r.ReferrerID == sub.Request.ReferrerID {
			t.Fatalf("after timeout: %+v; want offered to the other referrer", r)
		}
	})
}

func TestExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		clk.Add(30 * 24 * time.Hour)
		if n, err := s.RunDueSteps(ctx, 100); err != nil || n != 1 {
			t.Fatalf("RunDueSteps = %d, %v", n, err)
		}
		r, _ := getRequest(ctx, s.read, sub.Request.ID)
		if r.State != referral.Expired {
			t.Fatalf("state = %s; want expired", r.State)
		}
		msgs := outbox(t, s)
		if last := msgs[len(msgs)-1].Outgoing; last.Notice.Kind != referral.NoticeExpired || last.UserID != "u-stu" {
			t.Fatalf("last notice = %+v; want expired to the student", last)
		}
	})
}

func TestForgetUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-ref", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		if _, err := s.SaveDraft(ctx, referral.DraftRequest{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: referral.RequestFields{Intro: "secret draft"}}); err != nil {
			t.Fatal(err)
		}
		res, err := s.ForgetUser(ctx, "u-stu")
		if err != nil || res.Requests != 1 || res.Drafts != 1 {
			t.Fatalf("ForgetUser = %+v, %v", res, err)
		}
		for _, q := range []string{
			`SELECT COUNT(*) FROM requests WHERE student_id = 'u-stu' OR intro != '' OR resume_url != '' OR job_url != ''`,
			`SELECT COUNT(*) FROM drafts`,
			`SELECT COUNT(*) FROM outbox WHERE payload LIKE '%resume%' OR payload LIKE '%State University%' OR user_id = 'u-stu'`,
			`SELECT COUNT(*) FROM events WHERE actor_id = 'u-stu'`,
		} {
			if n := count(t, s, q); n != 0 {
				t.Errorf("%s = %d after forget-me; want 0", q, n)
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE kind = 'created'`); n != 1 {
			t.Errorf("anonymous counts lost: created events = %d; want 1", n)
		}
		r, _ := getRequest(ctx, s.read, sub.Request.ID)
		if r.State != referral.Withdrawn {
			t.Errorf("open request state = %s; want withdrawn", r.State)
		}
		if _, err := s.ForgetUser(ctx, "u-stu"); !errors.Is(err, referral.ErrNothingToForget) {
			t.Errorf("second ForgetUser = %v; want ErrNothingToForget", err)
		}
	})
}

func TestBackupPassesIntegrityCheckSQLite(t *testing.T) {
	s, _, _ := openTest(t)
	join(t, s, "u-ref", true)
	request(t, s, "u-stu", "https://jobs.example/1")
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(context.Background(), out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	db, err := sql.Open("sqlite3", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v; want ok", res, err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("requests in backup = %d, %v; want 1", n, err)
	}
	if err := s.Backup(context.Background(), out); err == nil {
		t.Fatalf("Backup over an existing file succeeded; want an error")
	}
}

func TestHotQueriesUseIndexesSQLite(t *testing.T) {
	s, _, _ := openTest(t)
	cases := []struct {
		name, query, index string
	}{
		{"due steps", `SELECT id FROM steps WHERE done_at IS NULL AND due_at <= 1 ORDER BY due_at, id LIMIT 1`, "steps_due"},
		{"due outbox", `SELECT id FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= 1 ORDER BY next_attempt_at, id LIMIT 50`, "outbox_pending"},
		{"digest counts", `SELECT kind, COUNT(*) FROM events WHERE guild_id = 'g' AND at >= 0 AND at < 1 GROUP BY 1`, "events_guild_at"},
		{"waiting requests", `SELECT id FROM requests WHERE guild_id = 'g' AND company_key = 'k' AND state = 'waiting' ORDER BY created_at`, "requests_waiting"},
		{"candidates", strings.NewReplacer("?", "'k'").Replace(bestPerProfileQuery), "referrer_companies_free"},
	}
	for _, c := range cases {
		rows, err := s.read.Query(`EXPLAIN QUERY PLAN ` + c.query)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		if joined := strings.Join(plan, "; "); !strings.Contains(joined, c.index) {
			t.Errorf("%s: plan %q does not use index %s", c.name, joined, c.index)
		}
	}
}

func TestDMClosedOfferMovesOnAndPingsOncePerDay(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-a", true)
		join(t, s, "u-b", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		first := sub.Request.ReferrerID
		offerRow := outbox(t, s)[0]
		fallback, err := s.MarkDMClosed(ctx, offerRow.ID)
		if err != nil || !fallback {
			t.Fatalf("MarkDMClosed(offer) = %v, %v; want a fallback ping", fallback, err)
		}
		r, _ := getRequest(ctx, s.read, sub.Request.ID)
		if r.State != referral.Offered || r.ReferrerID == first {
			t.Fatalf("after the referrer's DMs refused the offer: %+v; want it offered to the other referrer at once", r)
		}
		// A second refused DM to the same user the same day: no second ping.
		if _, err := s.write.Exec(`INSERT INTO outbox (guild_id, user_id, kind, payload, next_attempt_at, created_at) VALUES ('g1', ?, 'pause_ended', '{"kind":"pause_ended"}', 0, 0)`, first); err != nil {
			t.Fatal(err)
		}
		var second int64
		s.read.QueryRow(`SELECT MAX(id) FROM outbox`).Scan(&second)
		clk.Add(time.Hour)
		if fallback, err := s.MarkDMClosed(ctx, second); err != nil || fallback {
			t.Fatalf("second MarkDMClosed the same day = %v, %v; want no second ping", fallback, err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE kind = 'dm_closed'`); n != 1 {
			t.Fatalf("fallback pings = %d; want 1", n)
		}
		if c, _ := s.Counts(ctx, clk.Now()); c.Undeliverable != 0 {
			t.Fatalf("undeliverable = %d; want 0 (the user was pinged in the fallback channel)", c.Undeliverable)
		}
	})
}

func TestMissedCheckInsSendOnlyTheLatest(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-ref", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		if _, err := s.AnswerOffer(ctx, outbox(t, s)[0].Outgoing.Notice.OfferID, "u-ref", true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkSubmitted(ctx, sub.Request.ID, "u-ref"); err != nil {
			t.Fatal(err)
		}
		clk.Add(15 * 24 * time.Hour) // down past both check-ins
		if _, err := s.RunDueSteps(ctx, 100); err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, m := range outbox(t, s) {
			if m.Outgoing.Notice.Kind == referral.NoticeFollowUp {
				got = append(got, m.Outgoing.Notice.FollowUp)
			}
		}
		if len(got) != 1 || got[0] != 2 {
			t.Fatalf("check-ins queued = %v; want only [2]", got)
		}
	})
}
