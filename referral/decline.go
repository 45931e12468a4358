package referral

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// DeclineReason is what a referrer says after pressing Decline. The request
// has moved on by then whatever they choose; the reason teaches: the
// student hears (without the referrer's name) when referrers ask for more
// detail, and admins see the counts.
type DeclineReason string

const (
	DeclineNoOpening   DeclineReason = "no_opening"
	DeclineNeedsDetail DeclineReason = "needs_detail"
	DeclineCantNow     DeclineReason = "cant_now"
	DeclineOther       DeclineReason = "other"
	DeclineSkipped     DeclineReason = "skipped"
)

// DeclineReasons lists the choices in the order they are offered.
func DeclineReasons() []DeclineReason {
	return []DeclineReason{DeclineNoOpening, DeclineNeedsDetail, DeclineCantNow, DeclineOther, DeclineSkipped}
}

// ParseDeclineReason reads a reason from a custom_id segment.
func ParseDeclineReason(s string) (DeclineReason, error) {
	for _, r := range DeclineReasons() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown decline reason %q", s)
}

// Label is the button text of a reason.
func (r DeclineReason) Label() string {
	switch r {
	case DeclineNoOpening:
		return "No fitting opening on my side"
	case DeclineNeedsDetail:
		return "The request needs more detail"
	case DeclineCantNow:
		return "I can't refer right now"
	case DeclineOther:
		return "Other"
	case DeclineSkipped:
		return "Skip"
	}
	return string(r)
}

// PauseAfterCantNow is how long "I can't refer right now" offers to pause.
const PauseAfterCantNow = 7 * 24 * time.Hour

// EventDeclineReason records a reason on the request's history (detail =
// the reason); EventDetailRequested marks that the student was asked for
// more detail, which happens once per request.
const (
	EventDeclineReason   = "decline_reason"
	EventDetailRequested = "detail_requested"
	EventEdited          = "edited"
)

// ErrEditNotOpen refuses an edit of a request that is no longer looking for
// a referrer.
var ErrEditNotOpen = errors.New("the request is no longer looking for a referrer")

// ReasonState is what a decline reason needs: the declined offer, its
// request, and whether the student was already asked for more detail.
type ReasonState struct {
	Offer       *Offer
	Request     *Request
	Reason      DeclineReason // the offer's reason so far; "" = none yet
	DetailAsked bool
}

// GiveDeclineReason is the referrer choosing a reason after Decline. Only
// the referrer who declined may choose, once per offer. "Needs more detail"
// sends the student one DM per request (however many referrers say so)
// while the request is still looking for a referrer.
func GiveDeclineReason(st ReasonState, userID string, reason DeclineReason, now time.Time) (Change, error) {
	o, r := st.Offer, st.Request
	switch {
	case o == nil || r == nil:
		return Change{}, ErrNotFound
	case o.ReferrerID != userID:
		return Change{}, ErrNotYours
	case o.State != OfferDeclined:
		return Change{}, ErrMovedOn
	case st.Reason != "":
		return Change{}, ErrAlreadyDone
	}
	c := Change{
		OfferReason: &OfferReason{OfferID: o.ID, Reason: reason},
		Events:      []Event{event(*r, EventDeclineReason, userID, string(reason))},
	}
	if reason == DeclineNeedsDetail && !st.DetailAsked && r.State.Matchable() && r.StudentID != "" {
		c.Events = append(c.Events, event(*r, EventDetailRequested, "", ""))
		c.Notices = []Outgoing{ToUser(r.GuildID, r.StudentID, NeedsDetailNotice(*r, WeakestFields(r.Fields)))}
	}
	return c, nil
}

// EditRequest is the student rewriting an open request after referrers
// asked for more detail: it keeps its number, its place in line (created
// time) and the referrers already asked. A form that breaks a rule changes
// nothing; its problems come back as ProblemsError.
func EditRequest(s Snapshot, studentID string, f RequestFields, now time.Time) (Change, error) {
	r, err := ownRequest(s, studentID)
	if err != nil {
		return Change{}, err
	}
	if !r.State.Matchable() {
		return Change{}, ErrEditNotOpen
	}
	f = f.Clean()
	if ps := f.Validate(); len(ps) > 0 {
		return Change{}, ProblemsError{Problems: ps}
	}
	return Change{
		Edit:   &RequestEdit{RequestID: r.ID, From: r.State, Fields: f},
		Events: []Event{event(r, EventEdited, studentID, "")},
	}, nil
}

// ProblemsError carries the broken rules of a form.
type ProblemsError struct{ Problems []Problem }

func (e ProblemsError) Error() string {
	return fmt.Sprintf("%d problems in the form", len(e.Problems))
}

// WeakestFields are the tips for the parts of a valid request that a
// referrer most likely found too thin, weakest first, at most three: a
// short or generic intro, no note on why they fit, a role without a level
// or team, and always a word on the resume link when there is room.
func WeakestFields(f RequestFields) []Problem {
	f = f.Clean()
	var ps []Problem
	a := analyzeIntro(f.Intro)
	if utf8.RuneCountInString(f.Intro) < 250 || a.substance < 15 {
		ps = append(ps, Problem{Field: FieldIntro, Message: "The intro is short on specifics.", Tip: introTip})
	}
	if f.Note == "" {
		ps = append(ps, Problem{Field: FieldNote, Message: "There is no note on why you fit this role.",
			Tip: "Add one or two concrete reasons you fit this role (a project, a course, an internship), in the note field."})
	}
	if utf8.RuneCountInString(f.Role) < 12 {
		ps = append(ps, Problem{Field: FieldRole, Message: "The role is hard to match to one opening.", Tip: roleTip})
	}
	if len(ps) < 3 {
		ps = append(ps, Problem{Field: FieldResumeURL, Message: "Check that the resume opens for a stranger.", Tip: resumeLinkTip})
	}
	if len(ps) > 3 {
		ps = ps[:3]
	}
	return ps
}
