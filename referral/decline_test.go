package referral

import (
	"errors"
	"testing"
)

func TestGiveDeclineReason(t *testing.T) {
	declined := offer(OfferDeclined)
	waiting := req(Waiting)
	st := ReasonState{Offer: declined, Request: waiting}

	got, err := GiveDeclineReason(st, "ref", DeclineNoOpening, now)
	mustChange(t, "no opening", got, err, Change{
		OfferReason: &OfferReason{OfferID: 70, Reason: DeclineNoOpening},
		Events:      []Event{{RequestID: 7, GuildID: "g1", Kind: EventDeclineReason, ActorID: "ref", Detail: "no_opening"}},
	})

	got, err = GiveDeclineReason(st, "ref", DeclineNeedsDetail, now)
	mustChange(t, "needs detail, first time", got, err, Change{
		OfferReason: &OfferReason{OfferID: 70, Reason: DeclineNeedsDetail},
		Events: []Event{
			{RequestID: 7, GuildID: "g1", Kind: EventDeclineReason, ActorID: "ref", Detail: "needs_detail"},
			{RequestID: 7, GuildID: "g1", Kind: EventDetailRequested},
		},
		Notices: []Outgoing{ToUser("g1", "stu", NeedsDetailNotice(*waiting, WeakestFields(waiting.Fields)))},
	})
	if n := got.Notices[0].Notice; n.ReferrerID != "" || n.Intro != "" || len(n.Tips) == 0 {
		t.Errorf("needs-detail notice %+v; want tips and no referrer or request text", n)
	}

	asked := st
	asked.DetailAsked = true
	got, err = GiveDeclineReason(asked, "ref", DeclineNeedsDetail, now)
	mustChange(t, "needs detail, student already told", got, err, Change{
		OfferReason: &OfferReason{OfferID: 70, Reason: DeclineNeedsDetail},
		Events:      []Event{{RequestID: 7, GuildID: "g1", Kind: EventDeclineReason, ActorID: "ref", Detail: "needs_detail"}},
	})

	accepted := ReasonState{Offer: declined, Request: req(Accepted)}
	got, err = GiveDeclineReason(accepted, "ref", DeclineNeedsDetail, now)
	if err != nil || len(got.Notices) != 0 {
		t.Errorf("needs detail after someone else accepted = %+v, %v; want the reason kept and no DM to the student", got, err)
	}

	again := st
	again.Reason = DeclineOther
	refusals(t, []refusal{
		{"someone else", func() (Change, error) { return GiveDeclineReason(st, "other", DeclineOther, now) }, ErrNotYours},
		{"twice", func() (Change, error) { return GiveDeclineReason(again, "ref", DeclineSkipped, now) }, ErrAlreadyDone},
		{"offer still pending", func() (Change, error) {
			return GiveDeclineReason(ReasonState{Offer: offer(OfferPending), Request: req(Offered)}, "ref", DeclineOther, now)
		}, ErrMovedOn},
		{"offer gone", func() (Change, error) { return GiveDeclineReason(ReasonState{}, "ref", DeclineOther, now) }, ErrNotFound},
	})
}

func TestDeclineReasonsRoundTrip(t *testing.T) {
	for _, r := range DeclineReasons() {
		got, err := ParseDeclineReason(string(r))
		if err != nil || got != r || r.Label() == string(r) {
			t.Errorf("ParseDeclineReason(%q) = %q, %v (label %q); want itself with a label", r, got, err, r.Label())
		}
	}
	if _, err := ParseDeclineReason("rude"); err == nil {
		t.Errorf("ParseDeclineReason(%q) = nil error; want one", "rude")
	}
}

func TestEditRequestKeepsNumberPlaceAndAsked(t *testing.T) {
	r := req(Waiting)
	f := goodFields()
	got, err := EditRequest(snap(r, nil), "stu", f, now)
	mustChange(t, "edit", got, err, Change{
		Edit:   &RequestEdit{RequestID: 7, From: Waiting, Fields: f.Clean()},
		Events: []Event{{RequestID: 7, GuildID: "g1", Kind: EventEdited, ActorID: "stu"}},
	})

	bad := f
	bad.Intro = "refer me pls"
	_, err = EditRequest(snap(r, nil), "stu", bad, now)
	var pe ProblemsError
	if !errors.As(err, &pe) || len(pe.Problems) != 1 || pe.Problems[0].Field != FieldIntro {
		t.Errorf("EditRequest with a bare ask = %v; want one intro problem", err)
	}
	refusals(t, []refusal{
		{"someone else's", func() (Change, error) { return EditRequest(snap(r, nil), "other", f, now) }, ErrNotFound},
		{"accepted", func() (Change, error) { return EditRequest(snap(req(Accepted), nil), "stu", f, now) }, ErrEditNotOpen},
		{"closed", func() (Change, error) { return EditRequest(snap(req(Closed), nil), "stu", f, now) }, ErrEditNotOpen},
	})
}

func TestWeakestFieldsTipsThinPartsFirst(t *testing.T) {
	thin := RequestFields{Role: "SWE", Intro: "I am a second-year student at Example University studying computer science and I like building small tools in Go."}
	ps := WeakestFields(thin)
	if len(ps) != 3 || ps[0].Field != FieldIntro || ps[1].Field != FieldNote || ps[2].Field != FieldRole {
		t.Errorf("WeakestFields(thin) = %+v; want intro, note, role", ps)
	}
	strong := goodFields()
	strong.Intro = strong.Intro + " I also led a team of four that shipped a campus food-ordering app used by 3,000 students, wrote its Postgres schema and its CI, and mentored first-years in our systems club every week."
	ps = WeakestFields(strong)
	if len(ps) != 1 || ps[0].Field != FieldResumeURL {
		t.Errorf("WeakestFields(strong) = %+v; want only the resume check", ps)
	}
	for _, p := range append(WeakestFields(thin), ps...) {
		if p.Message == "" || p.Tip == "" {
			t.Errorf("WeakestFields tip %+v; want a message and a tip", p)
		}
	}
}

func TestRoleRegained(t *testing.T) {
	pending := &Referrer{ID: 3, GuildID: "g1", UserID: "ref", Status: Pending, Companies: []Company{amazon}}
	got, err := RoleRegained(Snapshot{Referrer: pending}, "role-ref", []string{"x", "role-ref"}, now)
	rc := referrerChange(*pending)
	rc.Status, rc.ActiveVia = Active, ViaRole
	mustChange(t, "role back", got, err, Change{
		Referrer: rc,
		Actions:  []AdminAction{{GuildID: "g1", Action: ActionRoleRegained, TargetID: "ref", Detail: "holds the referrer role again"}},
		Then:     []Next{{Match: &Match{GuildID: "g1", Companies: []Company{amazon}}}},
	})
	active := *pending
	active.Status = Active
	for name, c := range map[string]func() (Change, error){
		"no role": func() (Change, error) {
			return RoleRegained(Snapshot{Referrer: pending}, "role-ref", []string{"x"}, now)
		},
		"no role set": func() (Change, error) {
			return RoleRegained(Snapshot{Referrer: pending}, "", []string{"role-ref"}, now)
		},
		"active": func() (Change, error) {
			return RoleRegained(Snapshot{Referrer: &active}, "role-ref", []string{"role-ref"}, now)
		},
		"not referrer": func() (Change, error) { return RoleRegained(Snapshot{}, "role-ref", []string{"role-ref"}, now) },
	} {
		if got, err := c(); err != nil || !got.Empty() {
			t.Errorf("%s: RoleRegained = %+v, %v; want nothing", name, got, err)
		}
	}
}
