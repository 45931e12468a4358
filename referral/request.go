package referral

import "time"

// Policy holds the configured durations and limits of the lifecycle.
type Policy struct {
	OfferTimeout      time.Duration
	ReferrerReminder  time.Duration
	Nudges            []time.Duration // after submission, e.g. 7d and 14d
	RequestTTL        time.Duration
	MaxOpenPerStudent int
	DefaultCapacity   int
	Retention         time.Duration
}

// Request is one student's ask for a referral at one company.
type Request struct {
	ID          int64
	GuildID     string
	StudentID   string
	Company     Company
	Fields      RequestFields
	State       State
	ReferrerID  string // the referrer asked now, or who accepted
	Outcome     Outcome
	CreatedAt   time.Time
	AcceptedAt  time.Time
	SubmittedAt time.Time
	ClosedAt    time.Time // when it reached a final state
	NextNudgeAt time.Time // zero when no follow-up is scheduled
	Told        Told      // what the student was told of the search so far
}

// Seeker is what matching needs of r.
func (r Request) Seeker() Seeker {
	return Seeker{StudentID: r.StudentID, Role: r.Fields.Role, Intro: r.Fields.Intro}
}

// NudgeDue returns when follow-up n (1-based) is due, and false when there
// is no such follow-up.
func (p Policy) NudgeDue(submittedAt time.Time, n int) (time.Time, bool) {
	if n < 1 || n > len(p.Nudges) {
		return time.Time{}, false
	}
	return submittedAt.Add(p.Nudges[n-1]), true
}
