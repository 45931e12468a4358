package referral

import "time"

// The lifecycle's functions take what the store loaded (a Snapshot) and
// the time, and return either a refusal (one of the Err values) or a
// Change: everything the event does, for the store to apply in the same
// transaction it loaded in. Nothing here reads a clock or a database.

// OfferState is where one offer to one referrer stands.
type OfferState string

const (
	OfferPending   OfferState = "pending"
	OfferAccepted  OfferState = "accepted"
	OfferDeclined  OfferState = "declined"
	OfferTimedOut  OfferState = "timed_out"
	OfferCancelled OfferState = "cancelled"
)

// Why an offer was cancelled; OfferUndelivered is the one reason that does
// not count as asked, so an admin's approve later may ask them again.
const (
	OfferUndelivered = "undelivered"
	OfferDMClosed    = "dm closed"
)

// Offer is one referrer asked about one request.
type Offer struct {
	ID         int64
	RequestID  int64
	GuildID    string
	ReferrerID string
	State      OfferState
}

// Event kinds in a request's history; the digest and stats count some.
const (
	EventCreated        = "created"
	EventOffered        = "offered"
	EventAccepted       = "accepted"
	EventDeclined       = "declined"
	EventTimedOut       = "timed_out"
	EventUnreachable    = "unreachable"
	EventOfferWithdrawn = "offer_withdrawn"
	EventSubmitted      = "submitted"
	EventReminded       = "reminded"
	EventFollowUp       = "follow_up"
	EventNoNews         = "no_news"
	EventOutcome        = "outcome"
	EventKeepInMind     = "keep_in_mind"
	EventWithdrawn      = "withdrawn"
	EventExpired        = "expired"
	EventReferrerGone   = "referrer_gone"
	EventReported       = "reported"
)

// Snapshot is what the store loaded for one decision. Which parts an event
// needs is said on its function.
type Snapshot struct {
	Request  *Request  // nil: gone
	Offer    *Offer    // the offer pressed or due, or the request's pending one
	Referrer *Referrer // nil: no profile
	Next     *Candidate
	Policy   Policy
}

// Change is what one event does. The store applies it in this order:
// Request, Offers, Offer, Referrer, Report, Actions, Events, End, Schedule,
// Drop, Notices; then runs Then in order, each a decision of its own on
// fresh state; then applies After.
type Change struct {
	// Request moves a request from one state to another: the row is
	// written only if it is still in From, else the change fails with
	// ErrMovedOn (that is how a race is decided).
	Request *Transition
	// Edit rewrites an open request's fields, keeping everything else.
	Edit *RequestEdit
	// Offers end pending offers; one no longer pending fails the change
	// with ErrMovedOn.
	Offers []OfferEnd
	// Offer asks a referrer: the store inserts it, notes the referrer's last
	// offer time, schedules its timeout and queues the notice with its id.
	Offer *NewOffer
	// OfferReason notes why a declined offer was declined, once.
	OfferReason *OfferReason
	Referrer    *ReferrerChange
	Report      *NewReport
	Resolve     *ResolveReports
	Actions     []AdminAction
	Events      []Event
	End         []StepRef
	Schedule    []StepAt
	// Drop deletes queued, unsent messages that are no longer true.
	Drop    []Drop
	Notices []Outgoing
	Then    []Next
	After   *Change
}

// Empty reports whether the change does nothing at all.
func (c Change) Empty() bool {
	return c.Request == nil && c.Edit == nil && c.OfferReason == nil && len(c.Offers) == 0 && c.Offer == nil && c.Referrer == nil && c.Report == nil &&
		c.Resolve == nil && len(c.Actions) == 0 && len(c.Events) == 0 && len(c.End) == 0 && len(c.Schedule) == 0 &&
		len(c.Drop) == 0 && len(c.Notices) == 0 && len(c.Then) == 0 && (c.After == nil || c.After.Empty())
}

// Transition is a request's move: From is the state it was loaded in, To
// the whole request after the move (state, referrer, outcome, times).
type Transition struct {
	From State
	To   Request
}

// RequestEdit replaces the fields of a request still in From.
type RequestEdit struct {
	RequestID int64
	From      State
	Fields    RequestFields
}

// OfferReason is a declined offer's reason; written only while it has none.
type OfferReason struct {
	OfferID int64
	Reason  DeclineReason
}

// OfferEnd ends a pending offer.
type OfferEnd struct {
	ID     int64
	To     OfferState
	Reason string
}

// NewOffer asks Referrer about a request until Due.
type NewOffer struct {
	RequestID  int64
	GuildID    string
	ReferrerID string
	Due        time.Time
	Notice     Outgoing // the offer DM; the store fills in OfferID
}

// ReferrerChange writes a referrer profile's status fields, or deletes it.
// From is the status it was loaded in.
type ReferrerChange struct {
	ID          int64
	From        ReferrerStatus
	Status      ReferrerStatus
	ActiveVia   string
	PauseReason string
	PausedUntil time.Time // zero: not paused by days
	Delete      bool
}

// NewReport records a student's report about a referrer.
type NewReport struct {
	GuildID, ReporterID, ReferrerID string
	RequestID                       int64
}

// ResolveReports closes a referrer's open reports after an admin acted.
type ResolveReports struct {
	GuildID, ReferrerID, By, Resolution string
}

// Event is one line of a request's history.
type Event struct {
	RequestID int64
	GuildID   string
	Kind      string
	ActorID   string
	Detail    string
}

// StepRef names a step: the store marks its pending rows done.
type StepRef struct {
	Kind      StepKind
	SubjectID int64
}

// StepAt schedules a step (again: a done one comes back).
type StepAt struct {
	Kind      StepKind
	SubjectID int64
	Seq       int
	Due       time.Time
}

// Drop names queued messages of one kind to one user in one server.
type Drop struct {
	GuildID, UserID string
	Kind            NoticeKind
}

// Next is more work the event starts, decided when its turn comes (so it
// sees what the change before it did). Exactly one field is set.
type Next struct {
	// Offer asks the next candidate about a request.
	Offer *OfferNext
	// HandOn passes a referrer's pending offers on; with IncludeAccepted
	// their accepted, unsubmitted referrals go back to matching too.
	HandOn *HandOn
	// Match offers the server's waiting requests for the companies.
	Match *Match
}

// OfferNext asks about one request.
type OfferNext struct {
	RequestID int64
	Why       OfferWhy
}

// HandOn is a departing, pausing or reported referrer's work.
type HandOn struct {
	GuildID, UserID, Reason string
	IncludeAccepted         bool
}

// Match is waiting requests of a server's companies, oldest first.
type Match struct {
	GuildID   string
	Companies []Company
}

// OfferWhy says who asks and so what the student hears.
type OfferWhy int

const (
	// OfferNew: a new request; the submit reply tells the student.
	OfferNew OfferWhy = iota
	// OfferMoveOn: an offer ended; the student hears when nobody is left.
	OfferMoveOn
	// OfferWaiting: a waiting request; the student hears when someone is asked.
	OfferWaiting
)

func offerNext(id int64, why OfferWhy) Next { return Next{Offer: &OfferNext{RequestID: id, Why: why}} }

func event(r Request, kind, actor, detail string) Event {
	return Event{RequestID: r.ID, GuildID: r.GuildID, Kind: kind, ActorID: actor, Detail: detail}
}

// move is r in state to, checked against the lifecycle.
func move(r Request, to State) (*Transition, error) {
	if err := Move(r.State, to); err != nil {
		return nil, err
	}
	t := &Transition{From: r.State, To: r}
	t.To.State = to
	return t, nil
}
