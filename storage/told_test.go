package storage

import (
	"context"
	"testing"

	"github.com/referralbot/referralbot/referral"
)

// studentNotices counts the notices queued to student about request, by kind.
func studentNotices(t *testing.T, s *Store, student string, request int64) map[referral.NoticeKind]int {
	t.Helper()
	out := map[referral.NoticeKind]int{}
	for _, m := range outbox(t, s) {
		if m.Outgoing.UserID == student && m.Outgoing.Notice.RequestID == request {
			out[m.Outgoing.Notice.Kind]++
		}
	}
	return out
}

func TestBouncingRequestTellsEachThingOnce(t *testing.T) {
	s, _, _ := openTest(t)
	ctx := context.Background()
	sub := request(t, s, "u-stu", "https://jobs.example/1")
	id := sub.Request.ID
	if sub.Request.State != referral.Waiting {
		t.Fatalf("new request with no referrers is %s; want waiting", sub.Request.State)
	}

	// Three referrers join one after the other, are asked and decline; each
	// time nobody else is free and the request goes back to waiting.
	for _, ref := range []string{"u-a", "u-b", "u-c"} {
		if res := join(t, s, ref, true); len(res.Offered) != 1 {
			t.Fatalf("join(%s) offered %v; want the waiting request", ref, res.Offered)
		}
		ans, err := s.AnswerOffer(ctx, pendingOfferTo(t, s, id, ref), ref, false)
		if err != nil || ans.Request.State != referral.Waiting {
			t.Fatalf("decline by %s = %+v, %v; want the request waiting", ref, ans, err)
		}
	}
	want := map[referral.NoticeKind]int{referral.NoticeStudentMatched: 1, referral.NoticeWaiting: 1}
	if got := studentNotices(t, s, "u-stu", id); !equalCounts(got, want) {
		t.Fatalf("student notices after three bounces = %v; want %v", got, want)
	}

	// A referrer who accepted and leaves is news, and so is the next one asked.
	join(t, s, "u-d", true)
	if _, err := s.AnswerOffer(ctx, pendingOfferTo(t, s, id, "u-d"), "u-d", true); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveReferrer(ctx, "g1", "u-d"); err != nil {
		t.Fatal(err)
	}
	join(t, s, "u-e", true)
	want = map[referral.NoticeKind]int{referral.NoticeStudentMatched: 2, referral.NoticeWaiting: 1,
		referral.NoticeAccepted: 1, referral.NoticeReferrerGone: 1}
	if got := studentNotices(t, s, "u-stu", id); !equalCounts(got, want) {
		t.Fatalf("student notices after the referrer left = %v; want %v (the gone DM says it is looking again)", got, want)
	}
	if r, _ := getRequest(ctx, s.read, id); r.Told == "" {
		t.Fatalf("request told = %q; want what the student heard", r.Told)
	}

	if _, err := s.ForgetUser(ctx, "u-stu"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM requests WHERE told != ''`); n != 0 {
		t.Errorf("%d requests keep what their student was told after forget-me; want 0", n)
	}
}

func equalCounts(a, b map[referral.NoticeKind]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
