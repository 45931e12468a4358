// Package referral is the domain of referralbot: requests and their states,
// referrers, matching, follow-ups and the notices the bot sends. It depends on
// the standard library only; time is always a parameter.
package referral

import "fmt"

// State is where a request stands in its lifecycle.
type State string

const (
	// Waiting is valid but no referrer is being asked (none available yet).
	Waiting State = "waiting"
	// Offered has one pending offer to one referrer.
	Offered State = "offered"
	// Accepted: a referrer agreed and has not yet marked it submitted.
	Accepted State = "accepted"
	// Submitted: the referrer submitted the referral; follow-ups run.
	Submitted State = "submitted"
	// InProcess: the student reported a screen or an interview.
	InProcess State = "in_process"
	// Closed: a final outcome (offer, rejected, no response) was recorded.
	Closed State = "closed"
	// Withdrawn by the student.
	Withdrawn State = "withdrawn"
	// Expired unmatched after the request TTL.
	Expired State = "expired"
)

// transitions is the whole lifecycle: from -> allowed next states. A
// request that breaks a rule or a limit is never a request: it is kept as a
// draft (referral.DraftRequest, a table of its own) for "Edit request".
var transitions = map[State][]State{
	Waiting:   {Offered, Withdrawn, Expired},
	Offered:   {Offered, Waiting, Accepted, Withdrawn, Expired},
	Accepted:  {Submitted, Offered, Waiting, InProcess, Closed, Withdrawn},
	Submitted: {InProcess, Closed},
	InProcess: {InProcess, Closed},
	Closed:    nil,
	Withdrawn: nil,
	Expired:   nil,
}

// States lists every state, in lifecycle order.
func States() []State {
	return []State{Waiting, Offered, Accepted, Submitted, InProcess, Closed, Withdrawn, Expired}
}

// ErrTransition is returned for a move the lifecycle forbids.
type ErrTransition struct{ From, To State }

func (e ErrTransition) Error() string {
	return fmt.Sprintf("request cannot go from %s to %s", e.From, e.To)
}

// Move checks that a request may go from one state to another.
func Move(from, to State) error {
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return ErrTransition{From: from, To: to}
}

// Open reports whether the request still counts against the student's
// limit of open requests.
func (s State) Open() bool {
	switch s {
	case Waiting, Offered, Accepted:
		return true
	}
	return false
}

// Matchable reports whether the request is looking for a referrer.
func (s State) Matchable() bool { return s == Waiting || s == Offered }

// Withdrawable reports whether the student may still withdraw it.
func (s State) Withdrawable() bool { return Move(s, Withdrawn) == nil }

// Label is how a state reads to users.
func (s State) Label() string {
	switch s {
	case Waiting:
		return "waiting for a referrer"
	case Offered:
		return "with a referrer, awaiting their answer"
	case Accepted:
		return "accepted, referral in progress"
	case Submitted:
		return "referral submitted"
	case InProcess:
		return "interviewing"
	case Closed:
		return "closed"
	case Withdrawn:
		return "withdrawn"
	case Expired:
		return "expired"
	}
	return string(s)
}

// Outcome is what the student reports after a referral.
type Outcome string

const (
	OutcomeScreen     Outcome = "screen"
	OutcomeInterview  Outcome = "interview"
	OutcomeOffer      Outcome = "offer"
	OutcomeRejected   Outcome = "rejected"
	OutcomeNoResponse Outcome = "no_response"
)

// Outcomes lists every outcome in the order they are offered to users.
func Outcomes() []Outcome {
	return []Outcome{OutcomeScreen, OutcomeInterview, OutcomeOffer, OutcomeRejected, OutcomeNoResponse}
}

// ParseOutcome accepts the option values of /referral outcome.
func ParseOutcome(s string) (Outcome, error) {
	for _, o := range Outcomes() {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown outcome %q; use screen, interview, offer, rejected or no_response", s)
}

// Final outcomes end the follow-ups.
func (o Outcome) Final() bool {
	return o == OutcomeOffer || o == OutcomeRejected || o == OutcomeNoResponse
}

// State is the request state after recording o.
func (o Outcome) State() State {
	if o.Final() {
		return Closed
	}
	return InProcess
}

// Label is how an outcome reads to users (and the follow-up button labels).
func (o Outcome) Label() string {
	switch o {
	case OutcomeScreen:
		return "Recruiter screen"
	case OutcomeInterview:
		return "Interviewing"
	case OutcomeOffer:
		return "Offer"
	case OutcomeRejected:
		return "Rejected"
	case OutcomeNoResponse:
		return "No response"
	}
	return string(o)
}
