package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/referralbot/referralbot/dashboard"
	"github.com/referralbot/referralbot/referral"
)

// pendingOfferTo is the id of the offer of requestID waiting for userID.
func pendingOfferTo(t *testing.T, s *Store, requestID int64, userID string) int64 {
	t.Helper()
	var id int64
	if err := s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND referrer_user_id = ? AND state = 'pending'`, requestID, userID).Scan(&id); err != nil {
		t.Fatalf("no pending offer of request %d to %s: %v", requestID, userID, err)
	}
	return id
}

func TestDeclineReasonsTeachOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-a", true)
		join(t, s, "u-b", true)
		join(t, s, "u-c", true)
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		id := sub.Request.ID

		var declined []string
		for i := 0; i < 2; i++ {
			r, err := getRequest(ctx, s.read, id)
			if err != nil {
				t.Fatal(err)
			}
			offer := pendingOfferTo(t, s, id, r.ReferrerID)
			if _, err := s.AnswerOffer(ctx, offer, r.ReferrerID, false); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.GiveDeclineReason(ctx, offer, "u-stu", referral.DeclineNeedsDetail); !errors.Is(err, referral.ErrNotYours) {
				t.Errorf("reason from someone else = %v; want ErrNotYours", err)
			}
			guild, told, err := s.GiveDeclineReason(ctx, offer, r.ReferrerID, referral.DeclineNeedsDetail)
			if err != nil || guild != "g1" || told != (i == 0) {
				t.Errorf("reason %d = %q, told %v, %v; want g1, told only the first time", i, guild, told, err)
			}
			if _, _, err := s.GiveDeclineReason(ctx, offer, r.ReferrerID, referral.DeclineOther); !errors.Is(err, referral.ErrAlreadyDone) {
				t.Errorf("second reason on one offer = %v; want ErrAlreadyDone", err)
			}
			declined = append(declined, r.ReferrerID)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE user_id = 'u-stu' AND kind = ?`, referral.NoticeNeedsDetail); n != 1 {
			t.Errorf("needs-detail DMs to the student = %d; want 1", n)
		}
		got, err := s.DeclineReasonCounts(ctx, "g1")
		if err != nil || got[referral.DeclineNeedsDetail] != 2 || len(got) != 1 {
			t.Errorf("DeclineReasonCounts = %v, %v; want needs_detail: 2", got, err)
		}
		dash, err := s.Dashboard(ctx, "g1", dashboard.AllTime, time.Now())
		want := []dashboard.DeclineCount{{Reason: referral.DeclineNeedsDetail.Label(), N: 2}}
		if err != nil || !reflect.DeepEqual(dash.Declines, want) {
			t.Errorf("dashboard declines = %+v, %v; want %+v", dash.Declines, err, want)
		}

		// The edit keeps the number, the place in line and who was asked.
		before, _ := getRequest(ctx, s.read, id)
		d, err := s.StartEdit(ctx, "u-stu", id)
		if err != nil || d.EditOf != id || d.Fields.Intro != before.Fields.Intro {
			t.Fatalf("StartEdit = %+v, %v; want a draft of request %d with its text", d, err, id)
		}
		if _, err := s.StartEdit(ctx, "u-other", id); !errors.Is(err, referral.ErrNotFound) {
			t.Errorf("StartEdit by someone else = %v; want ErrNotFound", err)
		}
		f := before.Fields
		f.Intro = "refer me"
		res, err := s.SubmitRequest(ctx, referral.RequestForm{StudentID: "u-stu", DraftID: d.ID, Fields: f})
		if err != nil || res.Edited || len(res.Problems) != 1 || res.DraftID != d.ID {
			t.Fatalf("bad edit = %+v, %v; want the draft kept with one problem", res, err)
		}
		f.Intro = before.Fields.Intro + " I also shipped a search feature used by 4,000 students and wrote its load tests."
		res, err = s.SubmitRequest(ctx, referral.RequestForm{StudentID: "u-stu", DraftID: d.ID, Fields: f})
		if err != nil || !res.Edited || res.Request.ID != id || res.Request.Fields.Intro != f.Intro {
			t.Fatalf("edit = %+v, %v; want request %d rewritten", res, err, id)
		}
		after, _ := getRequest(ctx, s.read, id)
		if !after.CreatedAt.Equal(before.CreatedAt) || after.State != before.State || after.ReferrerID != before.ReferrerID {
			t.Errorf("after the edit %+v; want the same created time, state and referrer as %+v", after, before)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE request_id = ? AND state = 'declined'`, id); n != 2 {
			t.Errorf("declined offers after the edit = %d; want the 2 kept, so they are not asked again", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM drafts WHERE edit_of = ?`, id); n != 0 {
			t.Errorf("edit drafts left = %d; want 0", n)
		}

		// "I can't refer right now" pauses for a week on request.
		ref, err := s.PauseAfterDecline(ctx, pendingOfferOf(t, s, id, declined[0]), declined[0], time.Now().Add(referral.PauseAfterCantNow))
		if err != nil || ref.Status != referral.Paused {
			t.Errorf("PauseAfterDecline = %+v, %v; want paused", ref, err)
		}
	})
}

// pendingOfferOf is any offer of requestID to userID.
func pendingOfferOf(t *testing.T, s *Store, requestID int64, userID string) int64 {
	t.Helper()
	var id int64
	if err := s.read.QueryRow(`SELECT id FROM offers WHERE request_id = ? AND referrer_user_id = ?`, requestID, userID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRoleRegainedMakesPendingActiveAndMatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "u-a", false) // pending: joined without the role
		sub := request(t, s, "u-stu", "https://jobs.example/1")
		if sub.Offered {
			t.Fatalf("request offered to a pending referrer")
		}
		if ok, err := s.RoleRegained(ctx, "g1", "u-a", []string{"other"}); err != nil || ok {
			t.Fatalf("RoleRegained without the role = %v, %v; want false", ok, err)
		}
		if ok, err := s.RoleRegained(ctx, "g1", "u-a", []string{"role-ref"}); err != nil || !ok {
			t.Fatalf("RoleRegained with the role = %v, %v; want true", ok, err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE request_id = ? AND referrer_user_id = 'u-a' AND state = 'pending'`, sub.Request.ID); n != 1 {
			t.Errorf("offers to the referrer after the role came back = %d; want the waiting request offered", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM admin_actions WHERE action = ? AND target_id = 'u-a'`, referral.ActionRoleRegained); n != 1 {
			t.Errorf("trust log role_regained rows = %d; want 1", n)
		}
		if ok, err := s.RoleRegained(ctx, "g1", "u-a", []string{"role-ref"}); err != nil || ok {
			t.Errorf("RoleRegained when already active = %v, %v; want false", ok, err)
		}
		offer := pendingOfferTo(t, s, sub.Request.ID, "u-a")
		guild, role, err := s.OfferRoleToCheck(ctx, offer, "u-a")
		if err != nil || guild != "g1" || role != "role-ref" {
			t.Errorf("OfferRoleToCheck = %q, %q, %v; want g1, role-ref", guild, role, err)
		}
		if _, role, err := s.OfferRoleToCheck(ctx, offer, "u-other"); err != nil || role != "" {
			t.Errorf("OfferRoleToCheck by another presser = %q, %v; want no role to check", role, err)
		}
	})
}
