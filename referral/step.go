package referral

import "time"

// StepKind names a timed step; each is a row with a due time in the store.
type StepKind string

const (
	StepOfferTimeout StepKind = "offer_timeout" // subject: offer id
	StepReminder     StepKind = "reminder"      // subject: request id
	StepNudge        StepKind = "nudge"         // subject: request id, Seq: follow-up number
	StepExpire       StepKind = "expire"        // subject: request id
	StepPauseEnd     StepKind = "pause_end"     // subject: referrer row id
)

// Step is one due piece of work.
type Step struct {
	ID        int64
	Kind      StepKind
	SubjectID int64
	Seq       int
	DueAt     time.Time
}

// StepSubject says what a step's SubjectID names, so the store knows what
// to load for it.
type StepSubject int

const (
	SubjectOffer    StepSubject = iota // an offer, with its request
	SubjectRequest                     // a request, with its pending offer
	SubjectReferrer                    // a referrer profile's row
)

// StepRule is what a due step of one kind does.
type StepRule struct {
	Subject StepSubject
	Run     func(s Snapshot, st Step, now time.Time) (Change, error)
}

// stepRules is the step kind -> function table: a new timed step is a
// kind, a rule here, and whoever schedules it.
var stepRules = map[StepKind]StepRule{
	StepOfferTimeout: {SubjectOffer, func(s Snapshot, _ Step, now time.Time) (Change, error) { return OfferTimeout(s, now) }},
	StepReminder:     {SubjectRequest, func(s Snapshot, _ Step, now time.Time) (Change, error) { return Remind(s, now) }},
	StepNudge:        {SubjectRequest, func(s Snapshot, st Step, now time.Time) (Change, error) { return Nudge(s, st.Seq, now) }},
	StepExpire:       {SubjectRequest, func(s Snapshot, _ Step, now time.Time) (Change, error) { return Expire(s, now) }},
	StepPauseEnd:     {SubjectReferrer, func(s Snapshot, _ Step, now time.Time) (Change, error) { return PauseEnded(s, now) }},
}

// RuleFor returns the rule of a step kind; false for a kind this version
// does not know.
func RuleFor(k StepKind) (StepRule, bool) {
	r, ok := stepRules[k]
	return r, ok
}
