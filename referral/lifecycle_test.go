package referral

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var (
	now    = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC) // a Monday
	policy = Policy{OfferTimeout: 72 * time.Hour, ReferrerReminder: 96 * time.Hour, Nudges: []time.Duration{7 * 24 * time.Hour, 14 * 24 * time.Hour},
		RequestTTL: 30 * 24 * time.Hour, MaxOpenPerStudent: 3, DefaultCapacity: 4}
	amazon = Company{Key: "amazon", Name: "Amazon"}
)

// req is request #7 of student "stu" in state st, with "ref" asked or accepted.
func req(st State) *Request {
	return &Request{ID: 7, GuildID: "g1", StudentID: "stu", Company: amazon, State: st, ReferrerID: "ref",
		Fields:    RequestFields{JobURL: "https://jobs.example/1", Role: "SDE Intern", ResumeURL: "https://example.org/cv.pdf"},
		CreatedAt: now.Add(-48 * time.Hour)}
}

// offer is offer #70 of request #7 to "ref".
func offer(st OfferState) *Offer {
	return &Offer{ID: 70, RequestID: 7, GuildID: "g1", ReferrerID: "ref", State: st}
}

func snap(r *Request, o *Offer) Snapshot { return Snapshot{Request: r, Offer: o, Policy: policy} }

// with is r changed by f, for the expected side of a transition.
func with(r *Request, f func(*Request)) Request {
	c := *r
	f(&c)
	return c
}

func mustChange(t *testing.T, name string, got Change, err error, want Change) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: error %v; want a change", name, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s =\n%+v\nwant\n%+v", name, got, want)
		if got.Request != nil && want.Request != nil && !reflect.DeepEqual(*got.Request, *want.Request) {
			t.Errorf("%s transition =\n%+v\nwant\n%+v", name, *got.Request, *want.Request)
		}
	}
}

// refusals runs cases that must refuse with an error and change nothing.
func refusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		got, err := c.run()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v; want %v", c.name, err, c.want)
		}
		if !got.Empty() {
			t.Errorf("%s: refused with a change %+v", c.name, got)
		}
	}
}

type refusal struct {
	name string
	run  func() (Change, error)
	want error
}

func TestAccept(t *testing.T) {
	r := req(Offered)
	got, err := Accept(snap(r, offer(OfferPending)), "ref", now)
	mustChange(t, "Accept", got, err, Change{
		Request:  &Transition{From: Offered, To: with(r, func(r *Request) { r.State, r.AcceptedAt = Accepted, now })},
		Offers:   []OfferEnd{{ID: 70, To: OfferAccepted}},
		Events:   []Event{{RequestID: 7, GuildID: "g1", Kind: EventAccepted, ActorID: "ref"}},
		End:      []StepRef{{StepOfferTimeout, 70}},
		Schedule: []StepAt{{Kind: StepReminder, SubjectID: 7, Due: now.Add(96 * time.Hour)}},
		Notices: []Outgoing{{GuildID: "g1", UserID: "stu", Notice: Notice{Kind: NoticeAccepted, RequestID: 7, ReferrerID: "ref", StudentID: "stu",
			Company: "Amazon", Role: "SDE Intern", JobURL: "https://jobs.example/1"}}},
	})
	refusals(t, []refusal{
		{"accept by someone else", func() (Change, error) { return Accept(snap(r, offer(OfferPending)), "stu", now) }, ErrNotYours},
		{"second accept", func() (Change, error) { return Accept(snap(req(Accepted), offer(OfferAccepted)), "ref", now) }, ErrAlreadyDone},
		{"accept after decline", func() (Change, error) { return Accept(snap(r, offer(OfferDeclined)), "ref", now) }, ErrMovedOn},
		{"accept after timeout", func() (Change, error) { return Accept(snap(r, offer(OfferTimedOut)), "ref", now) }, ErrMovedOn},
		{"accept of a withdrawn request", func() (Change, error) { return Accept(snap(req(Withdrawn), offer(OfferCancelled)), "ref", now) }, ErrMovedOn},
		{"accept of a gone offer", func() (Change, error) { return Accept(snap(r, nil), "ref", now) }, ErrNotFound},
	})
}

func TestDecline(t *testing.T) {
	got, err := Decline(snap(req(Offered), offer(OfferPending)), "ref", now)
	mustChange(t, "Decline", got, err, Change{
		Offers: []OfferEnd{{ID: 70, To: OfferDeclined}},
		Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventDeclined, ActorID: "ref"}},
		End:    []StepRef{{StepOfferTimeout, 70}},
		Then:   []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
	})
	refusals(t, []refusal{
		// The race the fake store once got wrong: the request moved on.
		{"decline after accept", func() (Change, error) { return Decline(snap(req(Accepted), offer(OfferAccepted)), "ref", now) }, ErrMovedOn},
		{"second decline", func() (Change, error) { return Decline(snap(req(Offered), offer(OfferDeclined)), "ref", now) }, ErrAlreadyDone},
		{"decline by someone else", func() (Change, error) { return Decline(snap(req(Offered), offer(OfferPending)), "x", now) }, ErrNotYours},
	})
}

func TestOfferTo(t *testing.T) {
	next := &Candidate{UserID: "alum", VerifiedDomain: "amazon.com"}
	waiting := req(Waiting)
	waiting.ReferrerID = ""
	offerDM := func(r *Request) Outgoing {
		n := OfferNotice(with(r, func(r *Request) { r.State, r.ReferrerID = Offered, "alum" }), 0, "alum", "amazon.com")
		n.Due = now.Add(72 * time.Hour)
		return ToUser("g1", "alum", n)
	}
	asked := func(r *Request) Change {
		return Change{
			Request: &Transition{From: r.State, To: with(r, func(r *Request) { r.State, r.ReferrerID = Offered, "alum" })},
			Offer:   &NewOffer{RequestID: 7, GuildID: "g1", ReferrerID: "alum", Due: now.Add(72 * time.Hour), Notice: offerDM(r)},
			Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventOffered, ActorID: "alum"}},
		}
	}
	matched := asked(waiting)
	matched.Notices = []Outgoing{ToUser("g1", "stu", Notice{Kind: NoticeStudentMatched, RequestID: 7, Company: "Amazon", Role: "SDE Intern"})}
	toWaiting := &Transition{From: Offered, To: with(req(Offered), func(r *Request) { r.State, r.ReferrerID = Waiting, "" })}
	tests := []struct {
		name string
		r    *Request
		next *Candidate
		why  OfferWhy
		want Change
	}{
		{"new request, someone free", waiting, next, OfferNew, asked(waiting)},
		{"after a decline, someone free", req(Offered), next, OfferMoveOn, asked(req(Offered))},
		{"waiting request, someone free: the student hears", waiting, next, OfferWaiting, matched},
		{"new request, nobody free", waiting, nil, OfferNew, Change{}},
		{"waiting request, still nobody", waiting, nil, OfferWaiting, Change{}},
		{"after a decline, nobody left", req(Offered), nil, OfferMoveOn, Change{Request: toWaiting,
			Notices: []Outgoing{ToUser("g1", "stu", Notice{Kind: NoticeWaiting, RequestID: 7, Company: "Amazon", Role: "SDE Intern"})}}},
	}
	for _, tt := range tests {
		got, err := OfferTo(Snapshot{Request: tt.r, Next: tt.next, Policy: policy}, tt.why, now)
		mustChange(t, tt.name, got, err, tt.want)
	}
	if _, err := OfferTo(Snapshot{Request: req(Submitted), Next: next, Policy: policy}, OfferMoveOn, now); err == nil {
		t.Errorf("OfferTo(submitted request) = nil error; want the lifecycle's refusal")
	}
}

func TestCreateAndCheckForm(t *testing.T) {
	good := RequestFields{JobURL: "https://jobs.example/9", Role: "Software Development Engineer Intern",
		Intro:     "I'm a third-year computer science student at State University. I built a distributed cache in Go and interned at a fintech last summer.",
		ResumeURL: "https://example.org/resume.pdf"}
	form := RequestForm{GuildID: "g1", StudentID: "stu", Company: amazon, Fields: good}
	open := func(jobs ...string) []Request {
		var out []Request
		for _, j := range jobs {
			r := *req(Offered)
			r.Fields.JobURL = j
			out = append(out, r)
		}
		return out
	}
	closed := *req(Closed)
	closed.Fields.JobURL = good.JobURL
	r, problems, err := CheckForm(form, append(open("https://a", "https://b"), closed), policy, now)
	want := Request{GuildID: "g1", StudentID: "stu", Company: amazon, Fields: good.Clean(), State: Waiting, CreatedAt: now}
	if err != nil || len(problems) > 0 || !reflect.DeepEqual(r, want) {
		t.Errorf("CheckForm(good) = %+v, %v, %v; want %+v", r, problems, err, want)
	}
	if _, _, err := CheckForm(form, open("https://a", "https://b", "https://c"), policy, now); !errors.Is(err, ErrTooManyOpen) {
		t.Errorf("CheckForm with 3 open = %v; want ErrTooManyOpen", err)
	}
	if _, _, err := CheckForm(form, open(good.JobURL), policy, now); !errors.Is(err, ErrDuplicateJob) {
		t.Errorf("CheckForm with the same open job = %v; want ErrDuplicateJob", err)
	}
	bad := form
	bad.Fields.JobURL = "not a link"
	if _, problems, err := CheckForm(bad, nil, policy, now); err != nil || len(problems) == 0 || problems[0].Field != "job_url" {
		t.Errorf("CheckForm(bad link) = %v, %v; want a job_url problem", problems, err)
	}
	if _, err := Create(NewRequest{GuildID: "g1", StudentID: "stu", Company: amazon, Fields: bad.Fields}, nil, policy, now); err == nil {
		t.Errorf("Create(bad link) = nil error; want the problem")
	}

	created := want
	created.ID = 9
	got, err := Created(Snapshot{Request: &created, Policy: policy}, now)
	mustChange(t, "Created", got, err, Change{
		Events:   []Event{{RequestID: 9, GuildID: "g1", Kind: EventCreated, ActorID: "stu"}},
		Schedule: []StepAt{{Kind: StepExpire, SubjectID: 9, Due: now.Add(30 * 24 * time.Hour)}},
		Then:     []Next{{Offer: &OfferNext{RequestID: 9, Why: OfferNew}}},
	})
}

func TestWithdraw(t *testing.T) {
	closedToRef := ToUser("g1", "ref", Notice{Kind: NoticeOfferClosed, RequestID: 7, Company: "Amazon", Role: "SDE Intern", Reason: "withdrawn"})
	withdrawn := func(r *Request) *Transition {
		return &Transition{From: r.State, To: with(r, func(r *Request) { r.State, r.ClosedAt = Withdrawn, now })}
	}
	ends := []StepRef{{StepExpire, 7}, {StepReminder, 7}}
	ev := []Event{{RequestID: 7, GuildID: "g1", Kind: EventWithdrawn, ActorID: "stu"}}
	waiting := req(Waiting)
	waiting.ReferrerID = ""
	tests := []struct {
		name string
		s    Snapshot
		want Change
	}{
		{"offered: the offer ends, the referrer hears", snap(req(Offered), offer(OfferPending)), Change{Request: withdrawn(req(Offered)), Events: ev,
			Offers: []OfferEnd{{ID: 70, To: OfferCancelled, Reason: "withdrawn"}}, End: append(ends, StepRef{StepOfferTimeout, 70}), Notices: []Outgoing{closedToRef}}},
		{"accepted: the referrer hears", snap(req(Accepted), nil), Change{Request: withdrawn(req(Accepted)), Events: ev, End: ends, Notices: []Outgoing{closedToRef}}},
		{"waiting: nobody to tell", snap(waiting, nil), Change{Request: withdrawn(waiting), Events: ev, End: ends}},
	}
	for _, tt := range tests {
		got, err := Withdraw(tt.s, "stu", now)
		mustChange(t, tt.name, got, err, tt.want)
	}
	got, err := Forgotten(snap(waiting, nil), now)
	mustChange(t, "Forgotten", got, err, Change{Request: withdrawn(waiting), End: ends,
		Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventWithdrawn, Detail: "forget-me"}}})
	refusals(t, []refusal{
		{"withdraw twice", func() (Change, error) { return Withdraw(snap(req(Withdrawn), nil), "stu", now) }, ErrAlreadyDone},
		{"withdraw after submit", func() (Change, error) { return Withdraw(snap(req(Submitted), nil), "stu", now) }, ErrWrongState},
		{"withdraw someone else's", func() (Change, error) { return Withdraw(snap(req(Waiting), nil), "other", now) }, ErrNotFound},
		{"withdraw a gone request", func() (Change, error) { return Withdraw(snap(nil, nil), "stu", now) }, ErrNotFound},
	})
}

func TestSubmit(t *testing.T) {
	r := req(Accepted)
	first := now.Add(7 * 24 * time.Hour)
	got, err := Submit(snap(r, nil), "ref", now)
	mustChange(t, "Submit", got, err, Change{
		Request:  &Transition{From: Accepted, To: with(r, func(r *Request) { r.State, r.SubmittedAt, r.NextNudgeAt = Submitted, now, first })},
		Events:   []Event{{RequestID: 7, GuildID: "g1", Kind: EventSubmitted, ActorID: "ref"}},
		End:      []StepRef{{StepReminder, 7}, {StepExpire, 7}},
		Schedule: []StepAt{{Kind: StepNudge, SubjectID: 7, Seq: 1, Due: first}},
		Notices: []Outgoing{ToUser("g1", "stu", Notice{Kind: NoticeSubmitted, RequestID: 7, ReferrerID: "ref", StudentID: "stu",
			Company: "Amazon", Role: "SDE Intern", Due: first, FollowUps: 2})},
	})
	refusals(t, []refusal{
		{"submit twice", func() (Change, error) { return Submit(snap(req(Submitted), nil), "ref", now) }, ErrAlreadyDone},
		{"submit after the outcome", func() (Change, error) { return Submit(snap(req(Closed), nil), "ref", now) }, ErrAlreadyDone},
		{"submit after a withdraw", func() (Change, error) { return Submit(snap(req(Withdrawn), nil), "ref", now) }, ErrMovedOn},
		{"submit by someone else", func() (Change, error) { return Submit(snap(r, nil), "stu", now) }, ErrNotYours},
	})
}

func TestRecordOutcome(t *testing.T) {
	r := req(Submitted)
	r.NextNudgeAt = now.Add(time.Hour)
	toRef := func(o Outcome) []Outgoing {
		return []Outgoing{ToUser("g1", "ref", Notice{Kind: NoticeOutcome, RequestID: 7, StudentID: "stu", Company: "Amazon", Role: "SDE Intern", Outcome: o})}
	}
	ev := func(o Outcome) []Event {
		return []Event{{RequestID: 7, GuildID: "g1", Kind: EventOutcome, ActorID: "stu", Detail: string(o)}}
	}
	got, err := RecordOutcome(snap(r, nil), "stu", OutcomeInterview, now)
	mustChange(t, "interview", got, err, Change{
		Request: &Transition{From: Submitted, To: with(r, func(r *Request) { r.State, r.Outcome = InProcess, OutcomeInterview })},
		Events:  ev(OutcomeInterview), End: []StepRef{{StepReminder, 7}}, Notices: toRef(OutcomeInterview),
	})
	got, err = RecordOutcome(snap(r, nil), "stu", OutcomeOffer, now)
	mustChange(t, "offer (final)", got, err, Change{
		Request: &Transition{From: Submitted, To: with(r, func(r *Request) {
			r.State, r.Outcome, r.ClosedAt, r.NextNudgeAt = Closed, OutcomeOffer, now, time.Time{}
		})},
		Events: ev(OutcomeOffer), End: []StepRef{{StepReminder, 7}, {StepNudge, 7}}, Notices: toRef(OutcomeOffer),
	})
	same := req(InProcess)
	same.Outcome = OutcomeScreen
	refusals(t, []refusal{
		{"same outcome twice", func() (Change, error) { return RecordOutcome(snap(same, nil), "stu", OutcomeScreen, now) }, ErrAlreadyDone},
		{"outcome of a waiting request", func() (Change, error) { return RecordOutcome(snap(req(Waiting), nil), "stu", OutcomeOffer, now) }, ErrWrongState},
		{"outcome of someone else's", func() (Change, error) { return RecordOutcome(snap(r, nil), "ref", OutcomeOffer, now) }, ErrNotFound},
	})
}

func TestNoNewsAndKeepInMind(t *testing.T) {
	got, err := NoNews(snap(req(Submitted), nil), "stu", now)
	mustChange(t, "NoNews", got, err, Change{Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventNoNews, ActorID: "stu"}}})
	rejected := req(Closed)
	rejected.Outcome = OutcomeRejected
	got, err = KeepInMind(snap(rejected, nil), "stu", false, now)
	mustChange(t, "KeepInMind", got, err, Change{
		Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventKeepInMind, ActorID: "stu"}},
		Notices: []Outgoing{ToUser("g1", "ref", Notice{Kind: NoticeKeepInMind, RequestID: 7, StudentID: "stu", Company: "Amazon", Role: "SDE Intern"})},
	})
	offered := req(Closed)
	offered.Outcome = OutcomeOffer
	refusals(t, []refusal{
		{"no news after closing", func() (Change, error) { return NoNews(snap(req(Closed), nil), "stu", now) }, ErrAlreadyDone},
		{"no news on someone else's", func() (Change, error) { return NoNews(snap(req(Submitted), nil), "x", now) }, ErrNotFound},
		{"keep in mind twice", func() (Change, error) { return KeepInMind(snap(rejected, nil), "stu", true, now) }, ErrAlreadyDone},
		{"keep in mind after an offer", func() (Change, error) { return KeepInMind(snap(offered, nil), "stu", false, now) }, ErrWrongState},
	})
}

func TestTimedSteps(t *testing.T) {
	closedNotice := func(reason string) Outgoing {
		return ToUser("g1", "ref", Notice{Kind: NoticeOfferClosed, RequestID: 7, Company: "Amazon", Role: "SDE Intern", Reason: reason})
	}
	submitted := req(Submitted)
	submitted.SubmittedAt = now.Add(-7 * 24 * time.Hour)
	late := req(Submitted)
	late.SubmittedAt = now.Add(-15 * 24 * time.Hour)
	followUp := func(r *Request, n int) Outgoing {
		due, _ := policy.NudgeDue(r.SubmittedAt, n) // the check-in's own time, for "7 days ago"
		return ToUser("g1", "stu", Notice{Kind: NoticeFollowUp, RequestID: 7, StudentID: "stu", ReferrerID: "ref", Company: "Amazon", Role: "SDE Intern",
			FollowUp: n, FollowUps: 2, SubmittedAt: r.SubmittedAt, Due: due})
	}
	tests := []struct {
		name string
		run  func() (Change, error)
		want Change
	}{
		{"timeout of a pending offer", func() (Change, error) { return OfferTimeout(snap(req(Offered), offer(OfferPending)), now) }, Change{
			Offers:  []OfferEnd{{ID: 70, To: OfferTimedOut}},
			Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventTimedOut, ActorID: "ref"}},
			Notices: []Outgoing{closedNotice("timeout")},
			Then:    []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
		}},
		{"timeout of an answered offer", func() (Change, error) { return OfferTimeout(snap(req(Accepted), offer(OfferAccepted)), now) }, Change{}},
		{"timeout of a gone offer", func() (Change, error) { return OfferTimeout(snap(nil, nil), now) }, Change{}},
		{"reminder of an accepted request", func() (Change, error) { return Remind(snap(req(Accepted), nil), now) }, Change{
			Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventReminded, ActorID: "ref"}},
			Notices: []Outgoing{ToUser("g1", "ref", Notice{Kind: NoticeReminder, RequestID: 7, StudentID: "stu", Company: "Amazon", Role: "SDE Intern",
				JobURL: "https://jobs.example/1", ResumeURL: "https://example.org/cv.pdf"})},
		}},
		{"reminder after submit", func() (Change, error) { return Remind(snap(req(Submitted), nil), now) }, Change{}},
		{"first follow-up", func() (Change, error) { return Nudge(snap(submitted, nil), 1, now) }, Change{
			Schedule: []StepAt{{Kind: StepNudge, SubjectID: 7, Seq: 2, Due: now.Add(7 * 24 * time.Hour)}},
			Events:   []Event{{RequestID: 7, GuildID: "g1", Kind: EventFollowUp, Detail: "1"}},
			Notices:  []Outgoing{followUp(submitted, 1)},
		}},
		{"first follow-up after downtime past the second", func() (Change, error) { return Nudge(snap(late, nil), 1, now) }, Change{
			Schedule: []StepAt{{Kind: StepNudge, SubjectID: 7, Seq: 2, Due: now.Add(-time.Hour * 24)}},
		}},
		{"last follow-up", func() (Change, error) { return Nudge(snap(late, nil), 2, now) }, Change{
			Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventFollowUp, Detail: "2"}},
			Notices: []Outgoing{followUp(late, 2)},
		}},
		{"follow-up after closing", func() (Change, error) { return Nudge(snap(req(Closed), nil), 1, now) }, Change{}},
		{"expiry of an offered request", func() (Change, error) { return Expire(snap(req(Offered), offer(OfferPending)), now) }, Change{
			Request: &Transition{From: Offered, To: with(req(Offered), func(r *Request) { r.State, r.ClosedAt = Expired, now })},
			Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventExpired}},
			Offers:  []OfferEnd{{ID: 70, To: OfferCancelled, Reason: "expired"}},
			End:     []StepRef{{StepOfferTimeout, 70}},
			Notices: []Outgoing{closedNotice("expired"),
				ToUser("g1", "stu", Notice{Kind: NoticeExpired, RequestID: 7, Company: "Amazon", Role: "SDE Intern", JobURL: "https://jobs.example/1"})},
		}},
		{"expiry of an accepted request", func() (Change, error) { return Expire(snap(req(Accepted), nil), now) }, Change{}},
		{"DM-closed offer", func() (Change, error) { return Unreachable(snap(req(Offered), offer(OfferPending)), now) }, Change{
			Offers: []OfferEnd{{ID: 70, To: OfferCancelled, Reason: OfferDMClosed}},
			Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventUnreachable, ActorID: "ref", Detail: OfferDMClosed}},
			End:    []StepRef{{StepOfferTimeout, 70}},
			Then:   []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
		}},
		{"DM-closed offer answered meanwhile", func() (Change, error) { return Unreachable(snap(req(Accepted), offer(OfferAccepted)), now) }, Change{}},
	}
	for _, tt := range tests {
		got, err := tt.run()
		mustChange(t, tt.name, got, err, tt.want)
	}
}

func TestStepRules(t *testing.T) {
	subjects := map[StepKind]StepSubject{StepOfferTimeout: SubjectOffer, StepReminder: SubjectRequest, StepNudge: SubjectRequest,
		StepExpire: SubjectRequest, StepPauseEnd: SubjectReferrer}
	for kind, want := range subjects {
		rule, ok := RuleFor(kind)
		if !ok || rule.Subject != want {
			t.Errorf("RuleFor(%s) = %v, %v; want subject %v", kind, rule.Subject, ok, want)
		}
	}
	if _, ok := RuleFor("teleport"); ok {
		t.Errorf("RuleFor(%q) found a rule; want none", "teleport")
	}
	// The table passes the step's number on: follow-up 2 is the last.
	rule, _ := RuleFor(StepNudge)
	late := req(Submitted)
	late.SubmittedAt = now.Add(-15 * 24 * time.Hour)
	c, err := rule.Run(snap(late, nil), Step{Kind: StepNudge, SubjectID: 7, Seq: 2}, now)
	if err != nil || len(c.Schedule) != 0 || len(c.Notices) != 1 || c.Notices[0].Notice.FollowUp != 2 {
		t.Errorf("nudge rule for step 2 = %+v, %v; want follow-up 2 and nothing scheduled", c, err)
	}
}

func TestHandOnAndReferrerGone(t *testing.T) {
	got, err := HandOnOffer(snap(req(Offered), offer(OfferPending)), "paused", now)
	mustChange(t, "HandOnOffer", got, err, Change{
		Offers: []OfferEnd{{ID: 70, To: OfferCancelled, Reason: "paused"}},
		End:    []StepRef{{StepOfferTimeout, 70}},
		Then:   []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
	})
	got, err = ReferrerGone(snap(req(Accepted), nil), "ref", "left", now)
	mustChange(t, "ReferrerGone", got, err, Change{
		Events:  []Event{{RequestID: 7, GuildID: "g1", Kind: EventReferrerGone, ActorID: "ref", Detail: "left"}},
		End:     []StepRef{{StepReminder, 7}},
		Notices: []Outgoing{ToUser("g1", "stu", Notice{Kind: NoticeReferrerGone, RequestID: 7, Company: "Amazon", Role: "SDE Intern"})},
		Then:    []Next{{Offer: &OfferNext{RequestID: 7, Why: OfferMoveOn}}},
	})
}
