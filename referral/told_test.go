package referral

import (
	"testing"
	"time"
)

func TestToldAfter(t *testing.T) {
	tests := []struct {
		told Told
		kind NoticeKind
		want Told
	}{
		{"", NoticeWaiting, "waiting"},
		{"waiting", NoticeWaiting, "waiting"},
		{"waiting", NoticeStudentMatched, "student_matched waiting"},
		{"student_matched", NoticeWaiting, "student_matched waiting"},
		// A referrer gone starts over: "being asked" may be said again,
		// "waiting" need not (the gone DM says it is looking again).
		{"student_matched waiting", NoticeReferrerGone, "referrer_gone waiting"},
		{"referrer_gone waiting", NoticeStudentMatched, "referrer_gone student_matched waiting"},
		// Notices that are news each time leave it alone.
		{"student_matched waiting", NoticeAccepted, "student_matched waiting"},
		{"waiting", NoticeNeedsDetail, "waiting"},
	}
	for _, tt := range tests {
		if got := tt.told.After(tt.kind); got != tt.want {
			t.Errorf("Told(%q).After(%s) = %q; want %q", tt.told, tt.kind, got, tt.want)
		}
	}
}

// TestOfferToSaysEachThingOnce walks one request bouncing between
// referrers and waiting, feeding each notice told back into the request
// as the store does.
func TestOfferToSaysEachThingOnce(t *testing.T) {
	next := &Candidate{UserID: "alum"}
	steps := []struct {
		name  string
		state State
		next  *Candidate
		why   OfferWhy
		gone  bool // the accepted referrer left before this step
		heard NoticeKind
	}{
		{"first decline, nobody left", Offered, nil, OfferMoveOn, false, NoticeWaiting},
		{"a referrer joins", Waiting, next, OfferWaiting, false, NoticeStudentMatched},
		{"they decline, nobody left", Offered, nil, OfferMoveOn, false, ""},
		{"another joins", Waiting, next, OfferWaiting, false, ""},
		{"they time out, someone else free", Offered, next, OfferMoveOn, false, ""},
		{"that one declines too", Offered, nil, OfferMoveOn, false, ""},
		{"accepted referrer left, nobody free", Accepted, nil, OfferMoveOn, true, ""},
		{"then someone joins", Waiting, next, OfferWaiting, false, NoticeStudentMatched},
		{"they decline", Offered, nil, OfferMoveOn, false, ""},
		{"and the next joins", Waiting, next, OfferWaiting, false, ""},
	}
	var told Told
	for _, st := range steps {
		if st.gone {
			told = told.After(NoticeReferrerGone)
		}
		r := req(st.state)
		r.Told = told
		c, err := OfferTo(Snapshot{Request: r, Next: st.next, Policy: policy}, st.why, now)
		if err != nil {
			t.Fatalf("%s: OfferTo = %v", st.name, err)
		}
		var heard NoticeKind
		for _, n := range c.Notices {
			if n.UserID == "stu" {
				if heard != "" {
					t.Fatalf("%s: two notices to the student: %+v", st.name, c.Notices)
				}
				heard = n.Notice.Kind
				told = told.After(heard)
			}
		}
		if heard != st.heard {
			t.Errorf("%s: the student hears %q; want %q (told so far %q)", st.name, heard, st.heard, told)
		}
	}
}

func TestOfferToAfterReferrerGoneSaysWhoIsAsked(t *testing.T) {
	r := req(Accepted)
	r.Told = Told("").After(NoticeReferrerGone)
	c, err := OfferTo(Snapshot{Request: r, Next: &Candidate{UserID: "alum"}, Policy: policy}, OfferMoveOn, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notices) != 1 || c.Notices[0].Notice.Kind != NoticeStudentMatched || c.Notices[0].UserID != "stu" {
		t.Errorf("OfferTo after the referrer left = %+v; want the student told a referrer is asked (the gone DM promised it)", c.Notices)
	}
}
