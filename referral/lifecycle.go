package referral

import (
	"fmt"
	"time"
)

// The request lifecycle, one function per event. Each takes the Snapshot
// the store loaded and now, and returns a refusal or the Change to apply.

// answerable checks a press of Accept or Decline on the loaded offer.
func answerable(s Snapshot, userID string, same OfferState) (Offer, Request, error) {
	if s.Offer == nil || s.Request == nil {
		return Offer{}, Request{}, ErrNotFound
	}
	o := *s.Offer
	switch {
	case o.ReferrerID != userID:
		return o, *s.Request, ErrNotYours
	case o.State == same:
		return o, *s.Request, ErrAlreadyDone
	case o.State != OfferPending:
		// Decline after accept (or a late press) changes nothing.
		return o, *s.Request, ErrMovedOn
	}
	return o, *s.Request, nil
}

// Accept is the asked referrer pressing Accept: the request is theirs, the
// student is told, and a reminder is set in case they do not submit.
// Needs Offer, its Request, Policy.
func Accept(s Snapshot, userID string, now time.Time) (Change, error) {
	o, r, err := answerable(s, userID, OfferAccepted)
	if err != nil {
		return Change{}, err
	}
	t, err := move(r, Accepted)
	if err != nil {
		return Change{}, err
	}
	t.To.AcceptedAt = now
	return Change{
		Request:  t,
		Offers:   []OfferEnd{{ID: o.ID, To: OfferAccepted}},
		Events:   []Event{event(r, EventAccepted, userID, "")},
		End:      []StepRef{{StepOfferTimeout, o.ID}},
		Schedule: []StepAt{{Kind: StepReminder, SubjectID: r.ID, Due: now.Add(s.Policy.ReferrerReminder)}},
		Notices:  []Outgoing{ToUser(r.GuildID, r.StudentID, AcceptedNotice(r, userID))},
	}, nil
}

// Decline is the asked referrer pressing Decline: the next candidate is
// asked. Needs Offer, its Request.
func Decline(s Snapshot, userID string, now time.Time) (Change, error) {
	o, r, err := answerable(s, userID, OfferDeclined)
	if err != nil {
		return Change{}, err
	}
	return Change{
		Offers: []OfferEnd{{ID: o.ID, To: OfferDeclined}},
		Events: []Event{event(r, EventDeclined, userID, "")},
		End:    []StepRef{{StepOfferTimeout, o.ID}},
		Then:   []Next{offerNext(r.ID, OfferMoveOn)},
	}, nil
}

// OfferTo asks s.Next about s.Request, or leaves the request waiting when
// nobody is eligible (s.Next nil). The student hears each of "waiting" and
// "a referrer is being asked" once (see Told). Needs Request, Next, Policy.
func OfferTo(s Snapshot, why OfferWhy, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, ErrNotFound
	}
	r := *s.Request
	if s.Next == nil {
		var c Change
		if r.State != Waiting {
			t, err := move(r, Waiting)
			if err != nil {
				return Change{}, err
			}
			t.To.ReferrerID = ""
			c.Request = t
		}
		if why == OfferMoveOn && !r.Told.Has(NoticeWaiting) {
			c.Notices = []Outgoing{ToUser(r.GuildID, r.StudentID, WaitingNotice(r))}
		}
		return c, nil
	}
	best := s.Next.UserID
	t, err := move(r, Offered)
	if err != nil {
		return Change{}, err
	}
	t.To.ReferrerID = best
	due := now.Add(s.Policy.OfferTimeout)
	n := OfferNotice(t.To, 0, best, s.Next.VerifiedDomain)
	n.Due = due // the offer says when it moves on by itself
	c := Change{
		Request: t,
		Offer:   &NewOffer{RequestID: r.ID, GuildID: r.GuildID, ReferrerID: best, Due: due, Notice: ToUser(r.GuildID, best, n)},
		Events:  []Event{event(r, EventOffered, best, "")},
	}
	// They were promised a DM "as soon as one is asked": by the submit
	// reply or the waiting DM, or when their referrer left.
	promised := why == OfferWaiting || r.Told.Has(NoticeReferrerGone)
	if promised && r.StudentID != "" && !r.Told.Has(NoticeStudentMatched) {
		c.Notices = []Outgoing{ToUser(r.GuildID, r.StudentID, StudentMatchedNotice(r))}
	}
	return c, nil
}

// Create checks a validated request against the student's limits and
// returns it as it is to be stored (waiting, created now). open is the
// student's open requests.
func Create(in NewRequest, open []Request, p Policy, now time.Time) (Request, error) {
	if problems := in.Fields.Validate(); len(problems) > 0 {
		return Request{}, fmt.Errorf("%s: %s", problems[0].Field, problems[0].Message)
	}
	r, _, err := CheckForm(RequestForm{GuildID: in.GuildID, StudentID: in.StudentID, Company: in.Company, Fields: in.Fields}, open, p, now)
	return r, err
}

// Created is what a stored new request starts: its history, its expiry,
// and the first offer. Needs Request (with its id), Policy.
func Created(s Snapshot, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, ErrNotFound
	}
	r := *s.Request
	return Change{
		Events:   []Event{event(r, EventCreated, r.StudentID, "")},
		Schedule: []StepAt{{Kind: StepExpire, SubjectID: r.ID, Due: now.Add(s.Policy.RequestTTL)}},
		Then:     []Next{offerNext(r.ID, OfferNew)},
	}, nil
}

// ownRequest is the student's own loaded request; someone else's number
// reads as unknown, so it reveals nothing.
func ownRequest(s Snapshot, studentID string) (Request, error) {
	if s.Request == nil || s.Request.StudentID != studentID {
		return Request{}, ErrNotFound
	}
	return *s.Request, nil
}

// closeOffers ends the request's pending offer (s.Offer) and tells the
// referrer asked or accepted that the request moved on.
func closeOffers(c *Change, s Snapshot, r Request, reason string) {
	if s.Offer != nil && s.Offer.State == OfferPending {
		c.Offers = append(c.Offers, OfferEnd{ID: s.Offer.ID, To: OfferCancelled, Reason: reason})
		c.End = append(c.End, StepRef{StepOfferTimeout, s.Offer.ID})
	}
	if r.ReferrerID != "" {
		c.Notices = append(c.Notices, ToUser(r.GuildID, r.ReferrerID, OfferClosedNotice(r, reason)))
	}
}

// Withdraw is the student ending one of their open requests; a referrer
// being asked is told it moved on. Needs Request, its pending Offer.
func Withdraw(s Snapshot, studentID string, now time.Time) (Change, error) {
	r, err := ownRequest(s, studentID)
	if err != nil {
		return Change{}, err
	}
	if r.State == Withdrawn {
		return Change{}, ErrAlreadyDone
	}
	if !r.State.Withdrawable() {
		return Change{}, ErrWrongState
	}
	return withdraw(s, r, studentID, "", now)
}

// Forgotten withdraws an open request of a student who used forget-me.
// Needs Request, its pending Offer.
func Forgotten(s Snapshot, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, ErrNotFound
	}
	return withdraw(s, *s.Request, "", "forget-me", now)
}

func withdraw(s Snapshot, r Request, actor, detail string, now time.Time) (Change, error) {
	t, err := move(r, Withdrawn)
	if err != nil {
		return Change{}, err
	}
	t.To.ClosedAt = now
	c := Change{
		Request: t,
		Events:  []Event{event(r, EventWithdrawn, actor, detail)},
		End:     []StepRef{{StepExpire, r.ID}, {StepReminder, r.ID}},
	}
	if r.State == Offered || r.State == Accepted {
		closeOffers(&c, s, r, "withdrawn")
	}
	return c, nil
}

// Submit is the referrer who accepted marking the referral submitted: the
// student is told and the follow-ups are scheduled. Needs Request, Policy.
func Submit(s Snapshot, userID string, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, ErrNotFound
	}
	r := *s.Request
	if r.ReferrerID != userID {
		return Change{}, ErrNotYours
	}
	switch r.State {
	case Accepted:
	case Submitted, InProcess, Closed:
		return Change{}, ErrAlreadyDone
	default:
		return Change{}, ErrMovedOn
	}
	t, err := move(r, Submitted)
	if err != nil {
		return Change{}, err
	}
	t.To.SubmittedAt = now
	c := Change{
		Request: t,
		Events:  []Event{event(r, EventSubmitted, userID, "")},
		End:     []StepRef{{StepReminder, r.ID}, {StepExpire, r.ID}},
	}
	if due, ok := s.Policy.NudgeDue(now, 1); ok {
		c.Schedule = []StepAt{{Kind: StepNudge, SubjectID: r.ID, Seq: 1, Due: due}}
		t.To.NextNudgeAt = due
	}
	c.Notices = []Outgoing{ToUser(r.GuildID, r.StudentID, SubmittedNotice(r, userID, t.To.NextNudgeAt, len(s.Policy.Nudges)))}
	return c, nil
}

// RecordOutcome is the student telling what came of a referral; a final
// outcome ends the follow-ups. The referrer is told. Needs Request.
func RecordOutcome(s Snapshot, studentID string, o Outcome, now time.Time) (Change, error) {
	r, err := ownRequest(s, studentID)
	if err != nil {
		return Change{}, err
	}
	if r.Outcome == o {
		return Change{}, ErrAlreadyDone
	}
	t, err := move(r, o.State())
	if err != nil {
		return Change{}, ErrWrongState
	}
	t.To.Outcome = o
	c := Change{
		Request: t,
		Events:  []Event{event(r, EventOutcome, studentID, string(o))},
		End:     []StepRef{{StepReminder, r.ID}},
	}
	if o.Final() {
		t.To.ClosedAt = now
		t.To.NextNudgeAt = time.Time{}
		c.End = append(c.End, StepRef{StepNudge, r.ID})
	}
	if r.ReferrerID != "" {
		c.Notices = []Outgoing{ToUser(r.GuildID, r.ReferrerID, OutcomeNotice(r, o))}
	}
	return c, nil
}

// NoNews is the student answering a follow-up with "No news yet"; the next
// follow-up stays. Needs Request.
func NoNews(s Snapshot, studentID string, now time.Time) (Change, error) {
	r, err := ownRequest(s, studentID)
	if err != nil {
		return Change{}, err
	}
	if r.State == Closed {
		return Change{}, ErrAlreadyDone
	}
	return Change{Events: []Event{event(r, EventNoNews, studentID, "")}}, nil
}

// KeepInMind asks the referrer of a rejected application to remember the
// student for future openings, once (alreadyAsked: it was asked before).
// Needs Request.
func KeepInMind(s Snapshot, studentID string, alreadyAsked bool, now time.Time) (Change, error) {
	r, err := ownRequest(s, studentID)
	if err != nil {
		return Change{}, err
	}
	if r.Outcome != OutcomeRejected || r.ReferrerID == "" {
		return Change{}, ErrWrongState
	}
	if alreadyAsked {
		return Change{}, ErrAlreadyDone
	}
	return Change{
		Events:  []Event{event(r, EventKeepInMind, studentID, "")},
		Notices: []Outgoing{ToUser(r.GuildID, r.ReferrerID, KeepInMindNotice(r))},
	}, nil
}

// OfferTimeout moves an offer nobody answered in time on to the next
// referrer; one answered or gone meanwhile is left alone. Needs Offer, its
// Request.
func OfferTimeout(s Snapshot, now time.Time) (Change, error) {
	if s.Offer == nil || s.Offer.State != OfferPending || s.Request == nil {
		return Change{}, nil
	}
	o, r := *s.Offer, *s.Request
	return Change{
		Offers:  []OfferEnd{{ID: o.ID, To: OfferTimedOut}},
		Events:  []Event{event(r, EventTimedOut, o.ReferrerID, "")},
		Notices: []Outgoing{ToUser(r.GuildID, o.ReferrerID, OfferClosedNotice(r, "timeout"))},
		Then:    []Next{offerNext(r.ID, OfferMoveOn)},
	}, nil
}

// Unreachable ends an offer whose referrer's DMs are closed and asks the
// next referrer at once. It counts as asked, so the same referrer is not
// offered the request again and again. Needs Offer, its Request.
func Unreachable(s Snapshot, now time.Time) (Change, error) {
	if s.Offer == nil || s.Offer.State != OfferPending || s.Request == nil {
		return Change{}, nil // answered, timed out or withdrawn meanwhile
	}
	o, r := *s.Offer, *s.Request
	return Change{
		Offers: []OfferEnd{{ID: o.ID, To: OfferCancelled, Reason: OfferDMClosed}},
		Events: []Event{event(r, EventUnreachable, o.ReferrerID, OfferDMClosed)},
		End:    []StepRef{{StepOfferTimeout, o.ID}},
		Then:   []Next{offerNext(r.ID, OfferMoveOn)},
	}, nil
}

// Remind asks a referrer who accepted but has not submitted, once. Needs
// Request.
func Remind(s Snapshot, now time.Time) (Change, error) {
	if s.Request == nil || s.Request.State != Accepted {
		return Change{}, nil
	}
	r := *s.Request
	return Change{
		Events:  []Event{event(r, EventReminded, r.ReferrerID, "")},
		Notices: []Outgoing{ToUser(r.GuildID, r.ReferrerID, ReminderNotice(r))},
	}, nil
}

// Nudge sends follow-up n to the student and schedules the next one.
// After downtime past the next check-in too, only that one is sent rather
// than two questions back to back. Needs Request, Policy.
func Nudge(s Snapshot, n int, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, nil
	}
	r := *s.Request
	if r.State != Submitted && r.State != InProcess || r.StudentID == "" {
		return Change{}, nil
	}
	var c Change
	if next, more := s.Policy.NudgeDue(r.SubmittedAt, n+1); more {
		c.Schedule = []StepAt{{Kind: StepNudge, SubjectID: r.ID, Seq: n + 1, Due: next}}
		if !next.After(now) {
			return c, nil
		}
	}
	c.Events = []Event{event(r, EventFollowUp, "", fmt.Sprint(n))}
	fu := FollowUpNotice(r, n, len(s.Policy.Nudges))
	fu.Due, _ = s.Policy.NudgeDue(r.SubmittedAt, n) // when this check-in fell due: "7 days ago"
	c.Notices = []Outgoing{ToUser(r.GuildID, r.StudentID, fu)}
	return c, nil
}

// Expire closes a request nobody took in time and points the student to
// applying directly. Needs Request, its pending Offer.
func Expire(s Snapshot, now time.Time) (Change, error) {
	if s.Request == nil || !s.Request.State.Matchable() {
		return Change{}, nil
	}
	r := *s.Request
	t, err := move(r, Expired)
	if err != nil {
		return Change{}, err
	}
	t.To.ClosedAt = now
	c := Change{Request: t, Events: []Event{event(r, EventExpired, "", "")}}
	if r.State == Offered {
		closeOffers(&c, s, r, "expired")
	}
	c.Notices = append(c.Notices, ToUser(r.GuildID, r.StudentID, ExpiredNotice(r)))
	return c, nil
}

// HandOnOffer passes a pending offer of a referrer who paused, left, lost
// the role or was reported to the next candidate. Needs Offer, its Request.
func HandOnOffer(s Snapshot, reason string, now time.Time) (Change, error) {
	if s.Offer == nil || s.Request == nil {
		return Change{}, ErrNotFound
	}
	return Change{
		Offers: []OfferEnd{{ID: s.Offer.ID, To: OfferCancelled, Reason: reason}},
		End:    []StepRef{{StepOfferTimeout, s.Offer.ID}},
		Then:   []Next{offerNext(s.Request.ID, OfferMoveOn)},
	}, nil
}

// ReferrerGone sends a request accepted by a referrer who left or was
// removed back to matching, and tells the student. Needs Request.
func ReferrerGone(s Snapshot, userID, reason string, now time.Time) (Change, error) {
	if s.Request == nil {
		return Change{}, ErrNotFound
	}
	r := *s.Request
	return Change{
		Events:  []Event{event(r, EventReferrerGone, userID, reason)},
		End:     []StepRef{{StepReminder, r.ID}},
		Notices: []Outgoing{ToUser(r.GuildID, r.StudentID, ReferrerGoneNotice(r))},
		Then:    []Next{offerNext(r.ID, OfferMoveOn)},
	}, nil
}
