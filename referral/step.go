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
