package referral

import "time"

// RequestForm is a submitted request modal.
type RequestForm struct {
	GuildID   string
	StudentID string
	Company   Company // for a new request; an edited draft keeps its own
	DraftID   int64   // the draft being edited; 0 = a new request
	Fields    RequestFields
}

// SubmitResult is what became of a modal submission: sent as a request
// (Sent, Submission), or kept as draft DraftID because of Problems to fix
// or a limit (Refused: ErrTooManyOpen or ErrDuplicateJob; MaxOpen is the
// limit of open requests, for the reply).
type SubmitResult struct {
	Sent       bool
	Submission Submission
	DraftID    int64
	Problems   []Problem
	Refused    error
	MaxOpen    int
	// Edited: the draft rewrote open request Request, which keeps its
	// number, its place in line and the referrers already asked.
	Edited  bool
	Request Request
}

// CheckForm decides a modal submission against the rules and the
// student's open requests: the request to store, or the problems that keep
// it a draft, or the limit that refuses it (ErrTooManyOpen,
// ErrDuplicateJob). Fields are cleaned first.
func CheckForm(f RequestForm, open []Request, p Policy, now time.Time) (Request, []Problem, error) {
	fields := f.Fields.Clean()
	if problems := fields.Validate(); len(problems) > 0 {
		return Request{}, problems, nil
	}
	n := 0
	for _, o := range open {
		if !o.State.Open() {
			continue
		}
		if o.Fields.JobURL == fields.JobURL {
			return Request{}, nil, ErrDuplicateJob
		}
		n++
	}
	if n >= p.MaxOpenPerStudent {
		return Request{}, nil, ErrTooManyOpen
	}
	return Request{GuildID: f.GuildID, StudentID: f.StudentID, Company: f.Company, Fields: fields, State: Waiting, CreatedAt: now}, nil, nil
}
