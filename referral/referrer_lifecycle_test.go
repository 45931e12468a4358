package referral

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// ref is referrer "ref" (row 3) in status st, active through the role.
func ref(st ReferrerStatus) *Referrer {
	r := &Referrer{ID: 3, GuildID: "g1", UserID: "ref", Status: st, Companies: []Company{amazon}, Capacity: 4}
	if st != Pending {
		r.ActiveVia = ViaRole
	}
	return r
}

func reported() *Referrer {
	r := ref(Paused)
	r.PauseReason = PauseReported
	return r
}

func refSnap(r *Referrer) Snapshot { return Snapshot{Referrer: r, Policy: policy} }

func TestJoin(t *testing.T) {
	in := JoinInput{GuildID: "g1", UserID: "ref", Companies: []Company{amazon}, Roles: "backend", MemberRoles: []string{"role-ref"}}
	tests := []struct {
		name      string
		in        JoinInput
		st        JoinState
		status    ReferrerStatus
		via       string
		reason    string
		capacity  int
		roles     string
		wantError bool
	}{
		{"new with the role", in, JoinState{ReferrerRoleID: "role-ref", Policy: policy}, Active, ViaRole, "", 4, "backend", false},
		{"new without the role", in, JoinState{ReferrerRoleID: "other", Policy: policy}, Pending, "", "", 4, "backend", false},
		{"new with an open report", in, JoinState{ReferrerRoleID: "role-ref", OpenReports: 1, Policy: policy}, Paused, ViaRole, PauseReported, 4, "backend", false},
		{"pending gains the role", func() JoinInput { i := in; i.Capacity = 2; i.Roles = ""; return i }(),
			JoinState{Current: &Referrer{ID: 3, Status: Pending, Capacity: 4, Roles: "old"}, ReferrerRoleID: "role-ref"}, Active, ViaRole, "", 2, "old", false},
		{"paused keeps its pause", in, JoinState{Current: ref(Paused), ReferrerRoleID: "role-ref"}, Paused, ViaRole, "", 4, "backend", false},
		{"no companies", JoinInput{GuildID: "g1", UserID: "ref"}, JoinState{Policy: policy}, "", "", "", 0, "", true},
		{"capacity too high", func() JoinInput { i := in; i.Capacity = 21; return i }(), JoinState{Policy: policy}, "", "", "", 0, "", true},
	}
	for _, tt := range tests {
		r, err := Join(tt.in, tt.st, now)
		if tt.wantError {
			if err == nil {
				t.Errorf("%s: Join = %+v; want an error", tt.name, r)
			}
			continue
		}
		if err != nil || r.Status != tt.status || r.ActiveVia != tt.via || r.PauseReason != tt.reason || r.Capacity != tt.capacity || r.Roles != tt.roles {
			t.Errorf("%s: Join = %+v, %v; want %s via %q reason %q capacity %d roles %q", tt.name, r, err, tt.status, tt.via, tt.reason, tt.capacity, tt.roles)
		}
	}
}

func TestPauseResumeLeave(t *testing.T) {
	until := now.Add(7 * 24 * time.Hour)
	handOn := func(reason string, accepted bool) []Next {
		return []Next{{HandOn: &HandOn{GuildID: "g1", UserID: "ref", Reason: reason, IncludeAccepted: accepted}}}
	}
	got, err := Pause(refSnap(ref(Active)), until, now)
	mustChange(t, "Pause for days", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Active, Status: Paused, ActiveVia: ViaRole, PausedUntil: until},
		Schedule: []StepAt{{Kind: StepPauseEnd, SubjectID: 3, Due: until}},
		Then:     handOn("paused", false),
	})
	got, err = Pause(refSnap(ref(Active)), time.Time{}, now)
	mustChange(t, "Pause until resumed", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Active, Status: Paused, ActiveVia: ViaRole},
		End:      []StepRef{{StepPauseEnd, 3}},
		Then:     handOn("paused", false),
	})
	paused := ref(Paused)
	paused.PausedUntil = until
	resumed := Change{
		Referrer: &ReferrerChange{ID: 3, From: Paused, Status: Active, ActiveVia: ViaRole},
		End:      []StepRef{{StepPauseEnd, 3}},
		Then:     []Next{{Match: &Match{GuildID: "g1", Companies: []Company{amazon}}}},
	}
	got, err = Resume(refSnap(paused), now)
	mustChange(t, "Resume", got, err, resumed)
	ended := resumed
	ended.After = &Change{Notices: []Outgoing{ToUser("g1", "ref", Notice{Kind: NoticePauseEnded})}}
	got, err = PauseEnded(refSnap(paused), now)
	mustChange(t, "PauseEnded", got, err, ended)
	got, err = PauseEnded(refSnap(ref(Active)), now)
	mustChange(t, "PauseEnded after a resume", got, err, Change{})
	got, err = PauseEnded(refSnap(nil), now)
	mustChange(t, "PauseEnded after leaving", got, err, Change{})

	got, err = Leave(refSnap(ref(Active)), now)
	mustChange(t, "Leave", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Active, Status: Active, ActiveVia: ViaRole, Delete: true},
		End:      []StepRef{{StepPauseEnd, 3}},
		Then:     handOn("left", true),
	})
	refusals(t, []refusal{
		{"pause while pending", func() (Change, error) { return Pause(refSnap(ref(Pending)), until, now) }, ErrWrongState},
		{"pause while reported", func() (Change, error) { return Pause(refSnap(reported()), until, now) }, ErrUnderReview},
		{"resume while active", func() (Change, error) { return Resume(refSnap(ref(Active)), now) }, ErrAlreadyDone},
		{"resume while pending", func() (Change, error) { return Resume(refSnap(ref(Pending)), now) }, ErrWrongState},
		{"resume while reported", func() (Change, error) { return Resume(refSnap(reported()), now) }, ErrUnderReview},
		{"leave without a profile", func() (Change, error) { return Leave(refSnap(nil), now) }, ErrNotReferrer},
	})
}

func TestApproveAndRemove(t *testing.T) {
	match := []Next{{Match: &Match{GuildID: "g1", Companies: []Company{amazon}}}}
	got, err := Approve(refSnap(ref(Pending)), "adm", 0, now)
	mustChange(t, "Approve pending", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Pending, Status: Active, ActiveVia: ViaAdmin},
		Resolve:  &ResolveReports{GuildID: "g1", ReferrerID: "ref", By: "adm", Resolution: "approved"},
		Actions:  []AdminAction{{GuildID: "g1", ActorID: "adm", Action: ActionApprove, TargetID: "ref"}},
		Then:     match,
	})
	got, err = Approve(refSnap(reported()), "adm", 2, now)
	mustChange(t, "Approve reported", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Paused, Status: Active, ActiveVia: ViaAdmin},
		Resolve:  &ResolveReports{GuildID: "g1", ReferrerID: "ref", By: "adm", Resolution: "approved"},
		Actions:  []AdminAction{{GuildID: "g1", ActorID: "adm", Action: ActionApprove, TargetID: "ref", Detail: "report cleared"}},
		Then:     match,
	})
	got, err = Remove(refSnap(ref(Active)), "adm", now)
	mustChange(t, "Remove", got, err, Change{
		Referrer: &ReferrerChange{ID: 3, From: Active, Status: Active, ActiveVia: ViaRole, Delete: true},
		Resolve:  &ResolveReports{GuildID: "g1", ReferrerID: "ref", By: "adm", Resolution: "removed"},
		Actions:  []AdminAction{{GuildID: "g1", ActorID: "adm", Action: ActionRemove, TargetID: "ref"}},
		End:      []StepRef{{StepPauseEnd, 3}},
		Then:     []Next{{HandOn: &HandOn{GuildID: "g1", UserID: "ref", Reason: "removed", IncludeAccepted: true}}},
	})
	refusals(t, []refusal{
		{"approve an active referrer", func() (Change, error) { return Approve(refSnap(ref(Active)), "adm", 0, now) }, ErrAlreadyDone},
		{"approve their own pause", func() (Change, error) { return Approve(refSnap(ref(Paused)), "adm", 0, now) }, ErrAlreadyDone},
		{"remove nobody", func() (Change, error) { return Remove(refSnap(nil), "adm", now) }, ErrNotReferrer},
	})
}

func TestRoleLost(t *testing.T) {
	s := Snapshot{Request: req(Offered), Offer: offer(OfferPending), Referrer: ref(Active), Policy: policy}
	want := func(left bool, detail string) Change {
		after := Change{Drop: []Drop{{GuildID: "g1", UserID: "ref", Kind: NoticeOffer}}}
		if !left {
			after.Notices = []Outgoing{ToUser("g1", "ref", Notice{Kind: NoticeRoleLost})}
		}
		return Change{
			Referrer: &ReferrerChange{ID: 3, From: Active, Status: Pending},
			Actions:  []AdminAction{{GuildID: "g1", Action: ActionRoleLost, TargetID: "ref", Detail: detail}},
			Offers:   []OfferEnd{{ID: 70, To: OfferCancelled, Reason: OfferUndelivered}},
			End:      []StepRef{{StepOfferTimeout, 70}},
			Events:   []Event{{RequestID: 7, GuildID: "g1", Kind: EventOfferWithdrawn, ActorID: "ref", Detail: "role_lost"}},
			Then: []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}},
				{HandOn: &HandOn{GuildID: "g1", UserID: "ref", Reason: "role_lost"}}},
			After: &after,
		}
	}
	got, err := RoleLost(s, false, now)
	mustChange(t, "RoleLost", got, err, want(false, "offer of request #7 withdrawn"))
	got, err = RoleLost(s, true, now)
	mustChange(t, "RoleLost, left the server", got, err, want(true, "left the server; offer of request #7 withdrawn"))

	admin := ref(Active)
	admin.ActiveVia = ViaAdmin
	for name, s := range map[string]Snapshot{
		"offer answered meanwhile": {Request: req(Accepted), Offer: offer(OfferAccepted), Referrer: ref(Active)},
		"approved by an admin":     {Request: req(Offered), Offer: offer(OfferPending), Referrer: admin},
		"paused meanwhile":         {Request: req(Offered), Offer: offer(OfferPending), Referrer: ref(Paused)},
		"profile gone":             {Request: req(Offered), Offer: offer(OfferPending)},
	} {
		if got, err := RoleLost(s, false, now); err != nil || !got.Empty() {
			t.Errorf("RoleLost(%s) = %+v, %v; want no change", name, got, err)
		}
	}
}

func TestReportReferrer(t *testing.T) {
	accepted := req(Accepted)
	accepted.AcceptedAt = now.Add(-time.Hour)
	base := func(r *Request, who *Referrer, fallback string) ReportState {
		return ReportState{Snapshot: Snapshot{Request: r, Referrer: who, Policy: policy}, FallbackChannelID: fallback}
	}
	c, res, err := ReportReferrer(base(accepted, ref(Active), "c-fb"), "stu", now)
	want := Change{
		Report:   &NewReport{GuildID: "g1", RequestID: 7, ReporterID: "stu", ReferrerID: "ref"},
		Actions:  []AdminAction{{GuildID: "g1", ActorID: "stu", Action: ActionReport, TargetID: "ref", Detail: "request #7"}},
		Events:   []Event{{RequestID: 7, GuildID: "g1", Kind: EventReported, ActorID: "stu"}},
		Referrer: &ReferrerChange{ID: 3, From: Active, Status: Paused, ActiveVia: ViaRole, PauseReason: PauseReported},
		End:      []StepRef{{StepPauseEnd, 3}, {StepReminder, 7}},
		Then: []Next{{HandOn: &HandOn{GuildID: "g1", UserID: "ref", Reason: "reported"}},
			{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
		After: &Change{Notices: []Outgoing{ToChannel("g1", "c-fb", Notice{Kind: NoticeReport, RequestID: 7, StudentID: "stu", ReferrerID: "ref",
			Company: "Amazon", Role: "SDE Intern"})}},
	}
	mustChange(t, "ReportReferrer", c, err, want)
	if wantRes := (ReportResult{ReferrerID: "ref", Paused: true, Requeued: true, Notified: true}); !reflect.DeepEqual(res, wantRes) {
		t.Errorf("ReportReferrer result = %+v; want %+v", res, wantRes)
	}

	submitted := req(Submitted)
	submitted.AcceptedAt = now.Add(-time.Hour)
	c, res, err = ReportReferrer(base(submitted, reported(), ""), "stu", now)
	if err != nil || c.Referrer != nil || len(c.Then) != 0 || c.After != nil || res.Paused || res.Requeued || res.Notified {
		t.Errorf("report of a submitted referral by an already reported referrer = %+v, %+v, %v; want only the report recorded", c, res, err)
	}
	again := base(accepted, ref(Active), "")
	again.AlreadyReported = true
	for name, tt := range map[string]struct {
		st      ReportState
		student string
		want    error
	}{
		"twice":          {again, "stu", ErrAlreadyDone},
		"never accepted": {base(req(Offered), ref(Active), ""), "stu", ErrWrongState},
		"someone else's": {base(accepted, ref(Active), ""), "other", ErrNotFound},
		"request gone":   {base(nil, nil, ""), "stu", ErrNotFound},
	} {
		if c, _, err := ReportReferrer(tt.st, tt.student, now); !errors.Is(err, tt.want) || !c.Empty() {
			t.Errorf("ReportReferrer(%s) = %+v, %v; want %v", name, c, err, tt.want)
		}
	}
}

func TestDMClosed(t *testing.T) {
	msg := ToUser("g1", "ref", Notice{Kind: NoticeOffer, RequestID: 7, OfferID: 70})
	tests := []struct {
		name     string
		msg      Outgoing
		fallback string
		last     time.Time
		reached  bool
		ping     bool
	}{
		{"no fallback channel", msg, "", time.Time{}, false, false},
		{"first refusal", msg, "c-fb", time.Time{}, true, true},
		{"again the same day", msg, "c-fb", now.Add(-23 * time.Hour), true, false},
		{"again the next day", msg, "c-fb", now.Add(-24 * time.Hour), true, true},
		{"the ping itself", ToChannel("g1", "c-fb", DMClosedNotice("ref", 7)), "c-fb", time.Time{}, false, false},
	}
	for _, tt := range tests {
		d := DMClosed(tt.msg, tt.fallback, tt.last, now)
		if d.Reached != tt.reached || (d.Ping != nil) != tt.ping || d.Reason == "" {
			t.Errorf("DMClosed(%s) = %+v; want reached %v, ping %v, a reason", tt.name, d, tt.reached, tt.ping)
		}
		if d.Ping != nil {
			if want := ToChannel("g1", "c-fb", Notice{Kind: NoticeDMClosed, UserID: "ref", RequestID: 7}); !reflect.DeepEqual(*d.Ping, want) {
				t.Errorf("DMClosed(%s) ping = %+v; want %+v", tt.name, *d.Ping, want)
			}
		}
	}
}
