package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// Forget-me really forgets: once the log is checkpointed, the words the
// student typed are nowhere in the database file, free pages included.
func TestForgetLeavesNoBytesInTheFileSQLite(t *testing.T) {
	s, _, path := openTest(t)
	ctx := context.Background()
	join(t, s, "u-a", true)
	sub := request(t, s, "u-stu", "https://jobs.example/forget-bytes")
	if _, err := s.ForgetUser(ctx, "u-stu"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{sub.Request.Fields.Intro, "https://jobs.example/forget-bytes", sub.Request.Fields.Note} {
		if bytes.Contains(data, []byte(typed)) {
			t.Errorf("the database file still holds %q after forget-me", typed)
		}
	}
}

// idColumns are the columns that hold a Discord user id, as queries
// counting the rows that hold id (?1). An admin's own approvals and
// removals keep their id (admin_actions.admin_id but for reports, and
// reports.resolved_by); a message still queued to someone else may name
// the user until it is sent.
var idColumns = []string{
	`SELECT COUNT(*) FROM referrers WHERE user_id = ?1`,
	`SELECT COUNT(*) FROM referrer_companies WHERE user_id = ?1`,
	`SELECT COUNT(*) FROM requests WHERE student_id = ?1 OR referrer_id = ?1`,
	`SELECT COUNT(*) FROM drafts WHERE student_id = ?1`,
	`SELECT COUNT(*) FROM offers WHERE referrer_user_id = ?1`,
	`SELECT COUNT(*) FROM events WHERE actor_id = ?1`,
	`SELECT COUNT(*) FROM outbox WHERE user_id = ?1`,
	`SELECT COUNT(*) FROM outbox WHERE payload LIKE '%"' || ?1 || '"%' AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`,
	`SELECT COUNT(*) FROM outbox WHERE payload LIKE '%"' || ?1 || '"%' AND user_id = '' AND kind = 'dm_closed'`,
	`SELECT COUNT(*) FROM dm_closed WHERE user_id = ?1`,
	`SELECT COUNT(*) FROM admin_actions WHERE target_id = ?1 OR (admin_id = ?1 AND action = 'report')`,
	`SELECT COUNT(*) FROM reports WHERE reporter_id = ?1 OR referrer_id = ?1`,
	`SELECT COUNT(*) FROM actor_days WHERE actor_id = ?1`,
	`SELECT COUNT(*) FROM actor_weeks WHERE actor_id = ?1`,
	`SELECT COUNT(*) FROM actor_totals WHERE actor_id = ?1`,
}

// rowsNaming lists the id columns that still hold userID, with how many
// rows.
func rowsNaming(t *testing.T, s *Store, userID string) []string {
	t.Helper()
	var out []string
	for _, q := range idColumns {
		if n := count(t, s, q, userID); n != 0 {
			out = append(out, fmt.Sprintf("%s: %d", q, n))
		}
	}
	return out
}

// A referrer with a history and a student with requests both use
// forget-me: their ids are in no table afterwards, every count stays, and
// the maintained aggregates still equal a recount.
func TestForgetReferrerAndStudentLeaveTheirIDsNowhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "ref", false)
		if _, err := s.ApproveReferrer(ctx, "g1", "ref", "adm"); err != nil {
			t.Fatal(err)
		}
		// Declined, then accepted, submitted and an outcome; then reported.
		declined := request(t, s, "stu", "https://jobs.example/declined")
		offerID, _ := offerOf(t, s, declined.Request.ID)
		if _, err := s.AnswerOffer(ctx, offerID, "ref", false); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
		done := acceptedBy(t, s, "stu", "https://jobs.example/done", "ref")
		if _, err := s.MarkSubmitted(ctx, done.ID, "ref"); err != nil {
			t.Fatal(err)
		}
		clk.Add(24 * time.Hour)
		if _, err := s.RecordOutcome(ctx, "stu", done.ID, referral.OutcomeInterview); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReportReferrer(ctx, done.ID, "stu"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDraft(ctx, referral.DraftRequest{GuildID: "g1", StudentID: "stu", Company: amazon, Fields: referral.RequestFields{Intro: "a draft"}}); err != nil {
			t.Fatal(err)
		}
		// The student's DMs are closed: the first refused DM pings them in
		// the fallback channel, later ones (no fallback channel any more)
		// are kept undeliverable, naming the referrer.
		toStudent := func() []int64 {
			ids, err := idList(ctx, s.read, `SELECT id FROM outbox WHERE user_id = 'stu' AND sent_at IS NULL AND failed_at IS NULL ORDER BY id`)
			if err != nil || len(ids) < 2 {
				t.Fatalf("messages queued to the student = %v, %v; want two or more", ids, err)
			}
			return ids
		}()
		if fallback, err := s.MarkDMClosed(ctx, toStudent[0]); err != nil || !fallback {
			t.Fatalf("MarkDMClosed = %v, %v; want a fallback ping", fallback, err)
		}
		if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", ReferrerRoleID: "role-ref"}); err != nil {
			t.Fatal(err)
		}
		for _, id := range toStudent[1:] {
			if _, err := s.MarkDMClosed(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		// Everything to the referrer went out.
		if _, err := s.write.Exec(`UPDATE outbox SET sent_at = 1, payload = '' WHERE user_id = 'ref'`); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"ref", "stu"} {
			if len(rowsNaming(t, s, who)) == 0 {
				t.Fatalf("the test's history does not name %s anywhere", who)
			}
		}
		totals := map[string]int{}
		for _, what := range []string{"created", "offered", "declined", "accepted", "submitted", "outcome:interview", "reported"} {
			if totals[what] = count(t, s, `SELECT n FROM event_totals WHERE guild_id = 'g1' AND what = ?`, what); totals[what] == 0 {
				t.Fatalf("no %s event to keep counting", what)
			}
		}
		before, err := s.Stats(ctx, "g1", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if before.Undeliverable == 0 {
			t.Fatalf("no undeliverable message to keep counting")
		}

		clk.Add(time.Hour)
		res, err := s.ForgetUser(ctx, "ref")
		if err != nil || res.Referrers != 1 || res.History == 0 {
			t.Fatalf("ForgetUser(ref) = %+v, %v; want its profile and history", res, err)
		}
		if res, err := s.ForgetUser(ctx, "stu"); err != nil || res.Requests != 2 || res.Drafts != 1 {
			t.Fatalf("ForgetUser(stu) = %+v, %v; want 2 requests and 1 draft", res, err)
		}
		for _, who := range []string{"ref", "stu"} {
			if left := rowsNaming(t, s, who); len(left) > 0 {
				t.Errorf("after forget-me, %s is still in:\n%s", who, strings.Join(left, "\n"))
			}
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE payload LIKE '%resume%' OR payload LIKE '%State University%'`); n != 0 {
			t.Errorf("%d messages still hold the student's texts", n)
		}
		// The history stays counted (forget-me only adds the withdrawal of
		// the open request).
		for _, what := range []string{"created", "offered", "declined", "accepted", "submitted", "outcome:interview", "reported"} {
			if got, want := totals[what], count(t, s, `SELECT n FROM event_totals WHERE guild_id = 'g1' AND what = ?`, what); got != want {
				t.Errorf("event_totals %s = %d after forget-me; want %d as before", what, want, got)
			}
		}
		after, err := s.Stats(ctx, "g1", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if after.Undeliverable != before.Undeliverable {
			t.Errorf("undeliverable in stats = %d after forget-me; want %d as before", after.Undeliverable, before.Undeliverable)
		}
		checkAggregates(t, s, "after forget-me")
		if _, err := s.ForgetUser(ctx, "ref"); !errors.Is(err, referral.ErrNothingToForget) {
			t.Errorf("second ForgetUser(ref) = %v; want ErrNothingToForget", err)
		}
	})
}

// A referrer who left long ago has only their id in history: forget-me
// still removes it rather than saying there is nothing.
func TestForgetFormerReferrer(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "ref", true)
		req := acceptedBy(t, s, "stu", "https://jobs.example/1", "ref")
		if _, err := s.MarkSubmitted(ctx, req.ID, "ref"); err != nil {
			t.Fatal(err)
		}
		if err := s.LeaveReferrer(ctx, "g1", "ref"); err != nil {
			t.Fatal(err)
		}
		res, err := s.ForgetUser(ctx, "ref")
		if err != nil || res.History == 0 || res.Referrers+res.Requests+res.Drafts != 0 {
			t.Fatalf("ForgetUser(former referrer) = %+v, %v; want only history", res, err)
		}
		if left := rowsNaming(t, s, "ref"); len(left) > 0 {
			t.Errorf("after forget-me, the former referrer is still in:\n%s", strings.Join(left, "\n"))
		}
		checkAggregates(t, s, "after forget-me")
	})
}

// Retention erases an undeliverable offer DM's text with its request's;
// the message stays counted as undeliverable.
func TestRetentionErasesUndeliverableMessages(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "ref", true)
		if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", ReferrerRoleID: "role-ref"}); err != nil {
			t.Fatal(err)
		}
		sub := request(t, s, "stu", "https://jobs.example/kept")
		var offerMsg int64
		if err := s.read.QueryRow(`SELECT id FROM outbox WHERE user_id = 'ref' AND kind = 'offer'`).Scan(&offerMsg); err != nil {
			t.Fatal(err)
		}
		if _, err := s.MarkDMClosed(ctx, offerMsg); err != nil {
			t.Fatal(err)
		}
		if _, err := s.WithdrawRequest(ctx, "stu", sub.Request.ID); err != nil {
			t.Fatal(err)
		}
		kept := func() string {
			var p string
			if err := s.read.QueryRow(`SELECT payload FROM outbox WHERE id = ?`, offerMsg).Scan(&p); err != nil {
				t.Fatal(err)
			}
			return p
		}
		stats := func() int {
			st, err := s.Stats(ctx, "g1", clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			c, err := s.Counts(ctx, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if st.Undeliverable != c.Undeliverable {
				t.Fatalf("stats say %d undeliverable, /metrics %d", st.Undeliverable, c.Undeliverable)
			}
			return st.Undeliverable
		}
		if !strings.Contains(kept(), sub.Request.Fields.Intro) || stats() != 1 {
			t.Fatalf("undeliverable offer = %q, %d counted; want its text kept and 1 counted", kept(), stats())
		}
		clk.Add(179 * 24 * time.Hour)
		if n, err := s.EraseOldTexts(ctx); err != nil || n != 0 {
			t.Fatalf("EraseOldTexts before the retention = %d, %v; want 0", n, err)
		}
		if !strings.Contains(kept(), sub.Request.Fields.Intro) {
			t.Fatalf("the undeliverable offer lost its text before the retention")
		}
		clk.Add(2 * 24 * time.Hour)
		if n, err := s.EraseOldTexts(ctx); err != nil || n != 1 {
			t.Fatalf("EraseOldTexts after the retention = %d, %v; want 1", n, err)
		}
		if p := kept(); p != "" {
			t.Errorf("undeliverable offer after the retention = %q; want its text erased", p)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE payload != '' AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`); n != 0 {
			t.Errorf("%d kept messages still hold text after the retention", n)
		}
		if n := stats(); n != 1 {
			t.Errorf("undeliverable after the retention = %d; want 1 still counted", n)
		}
	})
}

// Retention works through a backlog in chunks, each its own transaction,
// until nothing is due.
func TestRetentionErasesABacklogInChunks(t *testing.T) {
	s, clk, _ := openTest(t)
	ctx := context.Background()
	for i := range eraseChunk*2 + 10 {
		if _, err := s.write.Exec(`INSERT INTO requests (guild_id, student_id, company_key, company_name, state, intro, created_at, updated_at)
			VALUES ('g1', ?, 'amazon', 'Amazon', 'closed', 'an old intro', 0, 0)`, fmt.Sprint("s", i)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(200 * 24 * time.Hour)
	if n, err := s.EraseOldTexts(ctx); err != nil || n != eraseChunk*2+10 {
		t.Fatalf("EraseOldTexts = %d, %v; want %d", n, err, eraseChunk*2+10)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM requests WHERE intro != '' OR erased_at IS NULL`); n != 0 {
		t.Errorf("%d requests keep their texts", n)
	}
}
