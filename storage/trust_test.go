package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// offerOf returns the pending offer of a request and who has it.
func offerOf(t *testing.T, s *Store, requestID int64) (int64, string) {
	t.Helper()
	var id int64
	var user string
	if err := s.read.QueryRow(`SELECT id, referrer_user_id FROM offers WHERE request_id = ? AND state = 'pending'`, requestID).Scan(&id, &user); err != nil {
		t.Fatalf("pending offer of request %d: %v", requestID, err)
	}
	return id, user
}

func trustOf(t *testing.T, s *Store, user string) (status, via, reason string) {
	t.Helper()
	if err := s.read.QueryRow(`SELECT status, active_via, pause_reason FROM referrers WHERE guild_id = 'g1' AND user_id = ?`, user).Scan(&status, &via, &reason); err != nil {
		t.Fatalf("referrer %s: %v", user, err)
	}
	return status, via, reason
}

func TestTrustMigrationBackfillsActiveVia(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		string(body),
		`INSERT INTO schema_migrations VALUES (1, 'migrations/0001_init.sql', 0)`,
		`INSERT INTO referrers (guild_id, user_id, status, capacity, created_at, updated_at) VALUES
			('g1', 'by-role', 'active', 4, 0, 0), ('g1', 'approved', 'paused', 4, 0, 0), ('g1', 'waiting', 'pending', 4, 0, 0)`,
		`INSERT INTO admin_actions (guild_id, admin_id, action, target_id, at) VALUES ('g1', 'adm', 'approve', 'approved', 0)`,
	} {
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
	for user, want := range map[string]string{"by-role": referral.ViaRole, "approved": referral.ViaAdmin, "waiting": ""} {
		if _, via, _ := trustOf(t, s, user); via != want {
			t.Errorf("%s: active_via %q; want %q", user, via, want)
		}
	}
}

func TestTrustJoinRecordsHowActive(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "r-role", true)
		join(t, s, "r-pending", false)
		if st, via, _ := trustOf(t, s, "r-role"); st != "active" || via != referral.ViaRole {
			t.Errorf("role holder: %s via %q; want active via role", st, via)
		}
		if st, via, _ := trustOf(t, s, "r-pending"); st != "pending" || via != "" {
			t.Errorf("without role: %s via %q; want pending", st, via)
		}
		// Pending, then joining again with the role: active through the role.
		join(t, s, "r-pending", true)
		if st, via, _ := trustOf(t, s, "r-pending"); st != "active" || via != referral.ViaRole {
			t.Errorf("rejoin with role: %s via %q; want active via role", st, via)
		}
		// An admin's approve is recorded as such and is not undone by a rejoin.
		join(t, s, "r-approved", false)
		if _, err := s.ApproveReferrer(ctx, "g1", "r-approved", "adm"); err != nil {
			t.Fatal(err)
		}
		join(t, s, "r-approved", true)
		if st, via, _ := trustOf(t, s, "r-approved"); st != "active" || via != referral.ViaAdmin {
			t.Errorf("approved: %s via %q; want active via admin", st, via)
		}
		if role, err := s.RoleToCheck(ctx, "g1", "r-approved"); err != nil || role != "" {
			t.Errorf("RoleToCheck(approved) = %q, %v; want no check", role, err)
		}
		if role, err := s.RoleToCheck(ctx, "g1", "r-role"); err != nil || role != "role-ref" {
			t.Errorf("RoleToCheck(role holder) = %q, %v; want role-ref", role, err)
		}
		if role, err := s.RoleToCheck(ctx, "g1", "nobody"); err != nil || role != "" {
			t.Errorf("RoleToCheck(nobody) = %q, %v; want none", role, err)
		}
	})
}

func TestTrustWithdrawOfferRoleLost(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		first := request(t, s, "s1", "https://jobs.example.com/1")
		_, who := offerOf(t, s, first.Request.ID)
		if who != "alice" {
			t.Fatalf("first offer to %s; want alice", who)
		}
		join(t, s, "bob", true)
		clk.Add(time.Minute)
		second := request(t, s, "s2", "https://jobs.example.com/2")
		offerID, who := offerOf(t, s, second.Request.ID)
		if who != "bob" {
			// bob has less load, so he is asked; ask alice by declining.
			t.Fatalf("second offer to %s; want bob (less load)", who)
		}
		// Make alice the one asked for the second request: bob declines.
		if _, err := s.AnswerOffer(ctx, offerID, "bob", false); err != nil {
			t.Fatal(err)
		}
		offerID, who = offerOf(t, s, second.Request.ID)
		if who != "alice" {
			t.Fatalf("after bob's decline the offer is with %s; want alice", who)
		}

		ok, err := s.WithdrawOfferRoleLost(ctx, offerID, false)
		if err != nil || !ok {
			t.Fatalf("WithdrawOfferRoleLost = %v, %v; want withdrawn", ok, err)
		}
		if st, via, _ := trustOf(t, s, "alice"); st != "pending" || via != "" {
			t.Errorf("alice: %s via %q; want pending", st, via)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE id = ? AND state = 'cancelled' AND reason = 'undelivered'`, offerID); n != 1 {
			t.Errorf("the undelivered offer is not cancelled as undelivered")
		}
		// Her first (delivered) offer was handed on too; both requests wait
		// (bob declined the second, and the first was his to get: he takes it).
		if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE referrer_user_id = 'alice' AND state = 'pending'`); n != 0 {
			t.Errorf("alice still has %d pending offers", n)
		}
		if _, who := offerOf(t, s, first.Request.ID); who != "bob" {
			t.Errorf("first request went to %s; want bob", who)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM requests WHERE id = ? AND state = 'waiting'`, second.Request.ID); n != 1 {
			t.Errorf("second request is not waiting")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM admin_actions WHERE action = 'role_lost' AND admin_id = '' AND target_id = 'alice'`); n != 1 {
			t.Errorf("role_lost logged %d times; want once", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE user_id = 'alice' AND kind = 'offer' AND sent_at IS NULL`); n != 0 {
			t.Errorf("%d offer notices to alice still queued", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE user_id = 'alice' AND kind = 'role_lost'`); n != 1 {
			t.Errorf("alice is not told (%d notices)", n)
		}
		// Twice changes nothing; an admin's approve lets her be asked again.
		if ok, err := s.WithdrawOfferRoleLost(ctx, offerID, false); err != nil || ok {
			t.Errorf("second withdraw = %v, %v; want nothing", ok, err)
		}
		if _, err := s.ApproveReferrer(ctx, "g1", "alice", "adm"); err != nil {
			t.Fatal(err)
		}
		if _, who := offerOf(t, s, second.Request.ID); who != "alice" {
			t.Errorf("after approve the waiting request went to %s; want alice", who)
		}
	})
}

func TestTrustWithdrawOnlyRoleBasedAndPending(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "carol", false)
		if _, err := s.ApproveReferrer(ctx, "g1", "carol", "adm"); err != nil {
			t.Fatal(err)
		}
		sub := request(t, s, "s1", "https://jobs.example.com/1")
		offerID, _ := offerOf(t, s, sub.Request.ID)
		if ok, err := s.WithdrawOfferRoleLost(ctx, offerID, true); err != nil || ok {
			t.Errorf("withdraw from an approved referrer = %v, %v; want nothing", ok, err)
		}
		if _, err := s.AnswerOffer(ctx, offerID, "carol", true); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.WithdrawOfferRoleLost(ctx, offerID, true); err != nil || ok {
			t.Errorf("withdraw of an answered offer = %v, %v; want nothing", ok, err)
		}
		if ok, err := s.WithdrawOfferRoleLost(ctx, 99999, true); err != nil || ok {
			t.Errorf("withdraw of an unknown offer = %v, %v; want nothing", ok, err)
		}
	})
}

func acceptedBy(t *testing.T, s *Store, student, job, referrer string) referral.Request {
	t.Helper()
	sub := request(t, s, student, job)
	offerID, who := offerOf(t, s, sub.Request.ID)
	if who != referrer {
		t.Fatalf("offer to %s; want %s", who, referrer)
	}
	ans, err := s.AnswerOffer(context.Background(), offerID, referrer, true)
	if err != nil {
		t.Fatal(err)
	}
	return ans.Request
}

func TestTrustReportPausesAndHandsOn(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		req := acceptedBy(t, s, "s1", "https://jobs.example.com/1", "alice")
		other := request(t, s, "s2", "https://jobs.example.com/2") // pending offer with alice
		join(t, s, "bob", true)                                    // nothing waits: bob gets nothing yet
		clk.Add(time.Hour)

		if _, err := s.ReportReferrer(ctx, req.ID, "s2"); !errors.Is(err, referral.ErrNotFound) {
			t.Errorf("report by another student: %v; want not found", err)
		}
		if _, err := s.ReportReferrer(ctx, other.Request.ID, "s2"); !errors.Is(err, referral.ErrWrongState) {
			t.Errorf("report of a request nobody accepted: %v; want wrong state", err)
		}
		res, err := s.ReportReferrer(ctx, req.ID, "s1")
		if err != nil {
			t.Fatal(err)
		}
		if res.ReferrerID != "alice" || !res.Paused || !res.Requeued || !res.NextAsked || !res.Notified {
			t.Errorf("report result %+v; want alice paused, the request requeued to someone, admins told", res)
		}
		if st, _, reason := trustOf(t, s, "alice"); st != "paused" || reason != referral.PauseReported {
			t.Errorf("alice: %s (%q); want paused, reported", st, reason)
		}
		if _, who := offerOf(t, s, req.ID); who != "bob" {
			t.Errorf("reported request went to %s; want bob", who)
		}
		if _, who := offerOf(t, s, other.Request.ID); who != "bob" {
			t.Errorf("alice's open offer went to %s; want bob", who)
		}
		var payload string
		if err := s.read.QueryRow(`SELECT payload FROM outbox WHERE channel_id = 'c-fallback' AND kind = 'report'`).Scan(&payload); err != nil {
			t.Fatalf("no report for the fallback channel: %v", err)
		}
		for _, want := range []string{`"student_id":"s1"`, `"referrer_id":"alice"`} {
			if !strings.Contains(payload, want) {
				t.Errorf("report notice %s lacks %s", payload, want)
			}
		}
		if _, err := s.ReportReferrer(ctx, req.ID, "s1"); !errors.Is(err, referral.ErrAlreadyDone) {
			t.Errorf("second report: %v; want already done", err)
		}

		// Only an admin ends it: not resume, not pause, not leave and join again.
		if _, err := s.ResumeReferrer(ctx, "g1", "alice"); !errors.Is(err, referral.ErrUnderReview) {
			t.Errorf("resume: %v; want under review", err)
		}
		if _, err := s.PauseReferrer(ctx, "g1", "alice", clk.Now().Add(24*time.Hour)); !errors.Is(err, referral.ErrUnderReview) {
			t.Errorf("pause: %v; want under review", err)
		}
		if err := s.LeaveReferrer(ctx, "g1", "alice"); err != nil {
			t.Fatal(err)
		}
		join(t, s, "alice", true)
		if st, _, reason := trustOf(t, s, "alice"); st != "paused" || reason != referral.PauseReported {
			t.Errorf("alice after leave and join: %s (%q); want still paused, reported", st, reason)
		}
		ov, err := s.ReferrerOverview(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		var row referral.TrustRow
		for _, r := range ov.Rows {
			if r.Referrer.UserID == "alice" {
				row = r
			}
		}
		if len(row.OpenReports) != 1 || row.OpenReports[0].ReporterID != "s1" || row.OpenReports[0].RequestID != req.ID {
			t.Errorf("overview row %+v; want one open report by s1", row)
		}
		if len(ov.Actions) == 0 || ov.Actions[0].Action != referral.ActionReport || ov.Actions[0].ActorID != "s1" {
			t.Errorf("trust log %+v; want the report first", ov.Actions)
		}

		if _, err := s.ApproveReferrer(ctx, "g1", "alice", "adm"); err != nil {
			t.Fatalf("approve a reported referrer: %v", err)
		}
		if st, via, reason := trustOf(t, s, "alice"); st != "active" || via != referral.ViaAdmin || reason != "" {
			t.Errorf("after approve: %s via %q (%q); want active via admin", st, via, reason)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM reports WHERE resolved_at IS NOT NULL AND resolved_by = 'adm' AND resolution = 'approved'`); n != 1 {
			t.Errorf("resolved reports = %d; want 1", n)
		}
		if _, err := s.ApproveReferrer(ctx, "g1", "alice", "adm"); !errors.Is(err, referral.ErrAlreadyDone) {
			t.Errorf("second approve: %v; want already done", err)
		}
	})
}

func TestTrustRemoveResolvesReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		req := acceptedBy(t, s, "s1", "https://jobs.example.com/1", "alice")
		if _, err := s.ReportReferrer(ctx, req.ID, "s1"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveReferrer(ctx, "g1", "alice", "adm"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM reports WHERE resolution = 'removed' AND resolved_by = 'adm'`); n != 1 {
			t.Errorf("report not resolved by the removal")
		}
		join(t, s, "alice", true)
		if st, _, _ := trustOf(t, s, "alice"); st != "active" {
			t.Errorf("alice joining after removal: %s; want active (the report was dealt with)", st)
		}
	})
}

func TestTrustForgetMeErasesReportIDs(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		req := acceptedBy(t, s, "s1", "https://jobs.example.com/1", "alice")
		if _, err := s.ReportReferrer(ctx, req.ID, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ForgetUser(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM reports WHERE reporter_id = 's1'`) + count(t, s, `SELECT COUNT(*) FROM admin_actions WHERE admin_id = 's1'`); n != 0 {
			t.Errorf("the student's id is still in %d report rows", n)
		}
		if _, err := s.ForgetUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM reports WHERE referrer_id = 'alice'`) + count(t, s, `SELECT COUNT(*) FROM admin_actions WHERE target_id = 'alice'`); n != 0 {
			t.Errorf("the referrer's id is still in %d report rows", n)
		}
	})
}
