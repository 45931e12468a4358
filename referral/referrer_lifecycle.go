package referral

import (
	"errors"
	"fmt"
	"time"
)

// The referrer lifecycle where there is a rule: joining, pausing,
// resuming, leaving, an admin's approve and remove, a lost role, a report.

// JoinState is what the store loaded for /referrer join.
type JoinState struct {
	Current        *Referrer // nil: a new profile
	ReferrerRoleID string    // the server's referrer role; "" = none set
	OpenReports    int       // open reports about the user in this server
	Policy         Policy
}

// Join decides the profile /referrer join stores. Holders of the server's
// referrer role are active at once, everyone else waits for an admin; a
// user with an open report starts paused (leaving and joining again does
// not end it). On an existing profile, empty options keep what it had.
func Join(in JoinInput, st JoinState, now time.Time) (Referrer, error) {
	if len(in.Companies) == 0 {
		return Referrer{}, errors.New("no companies")
	}
	if in.Capacity != 0 {
		if err := CheckCapacity(in.Capacity); err != nil {
			return Referrer{}, err
		}
	}
	hasRole := st.ReferrerRoleID != "" && contains(in.MemberRoles, st.ReferrerRoleID)
	if st.Current == nil {
		r := Referrer{GuildID: in.GuildID, UserID: in.UserID, Companies: in.Companies, Roles: in.Roles, School: in.School,
			Capacity: in.Capacity, CreatedAt: now, UpdatedAt: now}
		if r.Capacity == 0 {
			r.Capacity = st.Policy.DefaultCapacity
		}
		switch {
		case st.OpenReports > 0:
			r.Status, r.PauseReason = Paused, PauseReported
			if hasRole {
				r.ActiveVia = ViaRole
			}
		case hasRole:
			r.Status, r.ActiveVia = Active, ViaRole
		default:
			r.Status = Pending
		}
		return r, nil
	}
	r := *st.Current
	if r.Status == Pending && hasRole {
		r.Status, r.ActiveVia = Active, ViaRole
	}
	if in.Capacity != 0 {
		r.Capacity = in.Capacity
	}
	if in.School != "" {
		r.School = in.School
	}
	if in.Roles != "" {
		r.Roles = in.Roles
	}
	r.Companies = in.Companies
	r.UpdatedAt = now
	return r, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// referrerChange starts a change of r's status fields from what was loaded.
func referrerChange(r Referrer) *ReferrerChange {
	return &ReferrerChange{ID: r.ID, From: r.Status, Status: r.Status, ActiveVia: r.ActiveVia, PauseReason: r.PauseReason, PausedUntil: r.PausedUntil}
}

func loadedReferrer(s Snapshot) (Referrer, error) {
	if s.Referrer == nil {
		return Referrer{}, ErrNotReferrer
	}
	return *s.Referrer, nil
}

// Pause stops offers to a referrer until a time (zero: until resumed) and
// hands their pending offers on. Needs Referrer.
func Pause(s Snapshot, until time.Time, now time.Time) (Change, error) {
	r, err := loadedReferrer(s)
	if err != nil {
		return Change{}, err
	}
	if r.Status == Pending {
		return Change{}, ErrWrongState
	}
	if r.PauseReason == PauseReported {
		return Change{}, ErrUnderReview
	}
	rc := referrerChange(r)
	rc.Status, rc.PausedUntil = Paused, until
	c := Change{Referrer: rc, Then: []Next{{HandOn: &HandOn{GuildID: r.GuildID, UserID: r.UserID, Reason: "paused"}}}}
	if until.IsZero() {
		c.End = []StepRef{{StepPauseEnd, r.ID}}
	} else {
		c.Schedule = []StepAt{{Kind: StepPauseEnd, SubjectID: r.ID, Due: until}}
	}
	return c, nil
}

// Resume makes a paused referrer active and matches waiting requests of
// their companies. A reported referrer waits for an admin. Needs Referrer.
func Resume(s Snapshot, now time.Time) (Change, error) {
	r, err := loadedReferrer(s)
	if err != nil {
		return Change{}, err
	}
	switch r.Status {
	case Active:
		return Change{}, ErrAlreadyDone
	case Pending:
		return Change{}, ErrWrongState
	}
	if r.PauseReason == PauseReported {
		return Change{}, ErrUnderReview
	}
	rc := referrerChange(r)
	rc.Status, rc.PausedUntil = Active, time.Time{}
	return Change{
		Referrer: rc,
		End:      []StepRef{{StepPauseEnd, r.ID}},
		Then:     []Next{{Match: &Match{GuildID: r.GuildID, Companies: r.Companies}}},
	}, nil
}

// PauseEnded resumes a referrer whose /referrer pause days: ran out and
// tells them; one resumed or gone meanwhile is left alone. Needs Referrer.
func PauseEnded(s Snapshot, now time.Time) (Change, error) {
	if s.Referrer == nil || s.Referrer.Status != Paused {
		return Change{}, nil
	}
	c, err := Resume(s, now)
	if err != nil {
		return c, err
	}
	r := *s.Referrer
	c.After = &Change{Notices: []Outgoing{ToUser(r.GuildID, r.UserID, PauseEndedNotice())}}
	return c, nil
}

// Leave deletes the caller's profile; their open offers and unsubmitted
// referrals go to the next referrer. Needs Referrer.
func Leave(s Snapshot, now time.Time) (Change, error) {
	return deleteReferrer(s, "left")
}

// deleteReferrer deletes first, so that matching cannot pick them again.
func deleteReferrer(s Snapshot, reason string) (Change, error) {
	r, err := loadedReferrer(s)
	if err != nil {
		return Change{}, err
	}
	rc := referrerChange(r)
	rc.Delete = true
	return Change{
		Referrer: rc,
		End:      []StepRef{{StepPauseEnd, r.ID}},
		Then:     []Next{{HandOn: &HandOn{GuildID: r.GuildID, UserID: r.UserID, Reason: reason, IncludeAccepted: true}}},
	}, nil
}

// Remove ends a referrer's profile on an admin's word; their open reports
// are resolved. Needs Referrer.
func Remove(s Snapshot, adminID string, now time.Time) (Change, error) {
	c, err := deleteReferrer(s, "removed")
	if err != nil {
		return c, err
	}
	r := *s.Referrer
	c.Actions = []AdminAction{{GuildID: r.GuildID, ActorID: adminID, Action: ActionRemove, TargetID: r.UserID}}
	c.Resolve = &ResolveReports{GuildID: r.GuildID, ReferrerID: r.UserID, By: adminID, Resolution: "removed"}
	return c, nil
}

// Approve makes a pending referrer active, or clears a reported one (their
// openReports are resolved), and matches waiting requests. An approved
// referrer is active on the admin's word: no role check. Needs Referrer.
func Approve(s Snapshot, adminID string, openReports int, now time.Time) (Change, error) {
	r, err := loadedReferrer(s)
	if err != nil {
		return Change{}, err
	}
	if r.Status != Pending && r.PauseReason != PauseReported {
		return Change{}, ErrAlreadyDone
	}
	rc := referrerChange(r)
	rc.Status, rc.ActiveVia, rc.PauseReason, rc.PausedUntil = Active, ViaAdmin, "", time.Time{}
	detail := ""
	if openReports > 0 {
		detail = "report cleared"
	}
	return Change{
		Referrer: rc,
		Resolve:  &ResolveReports{GuildID: r.GuildID, ReferrerID: r.UserID, By: adminID, Resolution: "approved"},
		Actions:  []AdminAction{{GuildID: r.GuildID, ActorID: adminID, Action: ActionApprove, TargetID: r.UserID, Detail: detail}},
		Then:     []Next{{Match: &Match{GuildID: r.GuildID, Companies: r.Companies}}},
	}, nil
}

// RoleLost runs when the bot, about to deliver an offer, finds that the
// referrer no longer holds the referrer role they joined with: they become
// pending; the undelivered offer is cancelled as undelivered (they never
// saw it) and its request asks the next candidate; their other pending
// offers are handed on; queued offer notices to them are dropped; and,
// unless they left the server, they are told why. It changes nothing when
// the offer is no longer pending or the referrer is no longer active
// through the role (an admin approved them meanwhile, say). Needs Offer,
// its Request, the offer's Referrer.
func RoleLost(s Snapshot, leftServer bool, now time.Time) (Change, error) {
	o, r, ref := s.Offer, s.Request, s.Referrer
	if o == nil || o.State != OfferPending || o.ReferrerID == "" || r == nil || ref == nil {
		return Change{}, nil
	}
	if ref.Status != Active || ref.ActiveVia != ViaRole {
		return Change{}, nil
	}
	rc := referrerChange(*ref)
	rc.Status, rc.ActiveVia = Pending, ""
	detail := fmt.Sprintf("offer of request #%d withdrawn", r.ID)
	if leftServer {
		detail = "left the server; " + detail
	}
	c := Change{
		Referrer: rc,
		Actions:  []AdminAction{{GuildID: ref.GuildID, Action: ActionRoleLost, TargetID: ref.UserID, Detail: detail}},
		Offers:   []OfferEnd{{ID: o.ID, To: OfferCancelled, Reason: OfferUndelivered}},
		End:      []StepRef{{StepOfferTimeout, o.ID}},
		Events:   []Event{event(*r, EventOfferWithdrawn, ref.UserID, "role_lost")},
	}
	if r.State == Offered && r.ReferrerID == ref.UserID {
		c.Then = append(c.Then, offerNext(r.ID, OfferMoveOn))
	}
	c.Then = append(c.Then, Next{HandOn: &HandOn{GuildID: ref.GuildID, UserID: ref.UserID, Reason: "role_lost"}})
	// None of their offers is pending now: notices not yet sent are stale.
	after := Change{Drop: []Drop{{GuildID: ref.GuildID, UserID: ref.UserID, Kind: NoticeOffer}}}
	if !leftServer {
		after.Notices = []Outgoing{ToUser(ref.GuildID, ref.UserID, RoleLostNotice())}
	}
	c.After = &after
	return c, nil
}

// ReportState is what the store loaded for a student's report.
type ReportState struct {
	Snapshot                 // Request, and the Referrer who accepted it (nil: they left)
	AlreadyReported   bool   // this request was reported before
	FallbackChannelID string // where admins hear of it; "" = nowhere
}

// ReportReferrer records a student's report about the referrer who accepted one of
// their requests: the referrer is paused until an admin acts and their
// pending offers handed on; the request goes back to matching if it was
// not submitted yet; the fallback channel hears of it. Only the request's
// student may report, once per request. NextAsked is left for the store,
// which knows it once the request's turn comes.
func ReportReferrer(st ReportState, studentID string, now time.Time) (Change, ReportResult, error) {
	var out ReportResult
	r, err := ownRequest(st.Snapshot, studentID)
	if err != nil {
		return Change{}, out, err
	}
	if r.ReferrerID == "" || r.AcceptedAt.IsZero() {
		return Change{}, out, ErrWrongState
	}
	if st.AlreadyReported {
		return Change{}, out, ErrAlreadyDone
	}
	referrerID := r.ReferrerID
	out.ReferrerID = referrerID
	c := Change{
		Report:  &NewReport{GuildID: r.GuildID, RequestID: r.ID, ReporterID: studentID, ReferrerID: referrerID},
		Actions: []AdminAction{{GuildID: r.GuildID, ActorID: studentID, Action: ActionReport, TargetID: referrerID, Detail: fmt.Sprintf("request #%d", r.ID)}},
		Events:  []Event{event(r, EventReported, studentID, "")},
	}
	// A referrer who left already starts paused should they join again.
	if ref := st.Referrer; ref != nil && ref.PauseReason != PauseReported {
		rc := referrerChange(*ref)
		rc.Status, rc.PauseReason, rc.PausedUntil = Paused, PauseReported, time.Time{}
		c.Referrer = rc
		c.End = append(c.End, StepRef{StepPauseEnd, ref.ID})
		c.Then = append(c.Then, Next{HandOn: &HandOn{GuildID: r.GuildID, UserID: referrerID, Reason: "reported"}})
		out.Paused = true
	}
	// A referral not submitted yet goes to someone else.
	if r.State == Accepted {
		c.End = append(c.End, StepRef{StepReminder, r.ID})
		c.Then = append(c.Then, offerNext(r.ID, OfferMoveOn))
		out.Requeued = true
	}
	if st.FallbackChannelID != "" {
		out.Notified = true
		c.After = &Change{Notices: []Outgoing{ToChannel(r.GuildID, st.FallbackChannelID, ReportNotice(r, studentID, referrerID))}}
	}
	return c, out, nil
}

// fallbackPingEvery limits the fallback channel to one ping per user a
// day: a user with closed DMs would otherwise be pinged for every message.
const fallbackPingEvery = 24 * time.Hour

// DMRefusal is what becomes of a DM Discord refused (error 50007).
type DMRefusal struct {
	Reason  string    // kept on the message
	Reached bool      // the user was pinged in the fallback channel (now or earlier today): not undeliverable
	Ping    *Outgoing // the ping to queue now, if any
}

// DMClosed decides about a DM refused because the user's DMs are closed.
// Where the server has a fallback channel, a message pinging only that
// user goes there, at most once a day per user (lastPing: the last one,
// zero for never); without one the message is undeliverable. An offer so
// refused also moves on (see Unreachable).
func DMClosed(msg Outgoing, fallbackChannelID string, lastPing, now time.Time) DMRefusal {
	if fallbackChannelID == "" || msg.Notice.Kind == NoticeDMClosed {
		return DMRefusal{Reason: "dm closed (50007); no fallback channel set"}
	}
	if !lastPing.IsZero() && now.Sub(lastPing) < fallbackPingEvery {
		return DMRefusal{Reason: "dm closed (50007); already pinged in fallback channel today", Reached: true}
	}
	ping := ToChannel(msg.GuildID, fallbackChannelID, DMClosedNotice(msg.UserID, msg.Notice.RequestID))
	return DMRefusal{Reason: "dm closed (50007); pinged in fallback channel", Reached: true, Ping: &ping}
}
