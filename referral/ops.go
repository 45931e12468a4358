package referral

import (
	"errors"
	"time"
)

// The results of store operations that the commands layer shows to users.
// They live here so that commands and storage share them without importing
// each other.

// Errors a store operation returns for a refused action; commands turns each
// into a polite ephemeral reply.
var (
	ErrNotFound        = errors.New("not found")
	ErrNotYours        = errors.New("this belongs to someone else")
	ErrMovedOn         = errors.New("this request has moved on")
	ErrAlreadyDone     = errors.New("already done")
	ErrTooManyOpen     = errors.New("too many open requests")
	ErrDuplicateJob    = errors.New("an open request for this job link exists")
	ErrNotReferrer     = errors.New("no referrer profile")
	ErrNoReferrerHere  = errors.New("no referrer profile in this server")
	ErrWrongState      = errors.New("not possible in the request's current state")
	ErrSelfReferral    = errors.New("cannot refer yourself")
	ErrNothingToForget = errors.New("nothing stored")
)

// ErrUnavailable is wrapped by a store error when the database cannot take
// writes for now (disk full, I/O error, read-only file system): nothing was
// changed, and the same action may well work in a minute.
var ErrUnavailable = errors.New("the database cannot be written just now")

// GuildSettings are a server's choices from /referral-admin setup.
type GuildSettings struct {
	GuildID           string
	DigestChannelID   string
	FallbackChannelID string
	ReferrerRoleID    string
}

// JoinInput is /referrer join.
type JoinInput struct {
	GuildID   string
	UserID    string
	Companies []Company
	Roles     string
	School    string
	Capacity  int // 0 = keep the current one, or the configured default
	// MemberRoles are the member's role ids from the interaction; holding
	// the server's referrer role makes a new referrer active at once.
	MemberRoles []string
}

// JoinResult tells the new referrer where they stand.
type JoinResult struct {
	Referrer Referrer
	Created  bool
	Offered  []int64 // waiting requests offered to someone because of this join
}

// DraftRequest is a request that failed a rule or a limit, kept for "Edit request".
type DraftRequest struct {
	ID        int64
	GuildID   string
	StudentID string
	Company   Company
	Fields    RequestFields
	UpdatedAt time.Time
	// EditOf is the open request this draft rewrites; 0 = a new request.
	EditOf int64
}

// NewRequest is a validated modal submission.
type NewRequest struct {
	GuildID   string
	StudentID string
	Company   Company
	Fields    RequestFields
	DraftID   int64 // the draft it came from, deleted on success; 0 = none
}

// Submission tells the student what happened to a new request.
type Submission struct {
	Request Request
	Offered bool // a referrer is being asked now; false = waiting
}

// OfferAnswer is the result of pressing Accept or Decline.
type OfferAnswer struct {
	Request   Request
	Accepted  bool
	NextAsked bool // after a decline: another referrer is being asked
}

// ForgetResult counts what forget-me erased.
type ForgetResult struct {
	Requests  int
	Drafts    int
	Referrers int
	// History is the offers and trust-log entries that named the user:
	// all a referrer who left long ago still has stored.
	History int
}

// Stats are a server's numbers for /referral-admin stats.
type Stats struct {
	Week          Digest
	Referrers     struct{ Active, Pending, Paused int }
	Companies     []CompanyStats
	Undeliverable int
}

// CompanyStats is one company's row in stats.
type CompanyStats struct {
	Company   string
	Referrers int
	Waiting   int
	Open      int
	Submitted int
}

// ExportRow is one request in the admin CSV export; never resume links.
type ExportRow struct {
	ID          int64
	Company     string
	Role        string
	State       State
	Outcome     Outcome
	StudentID   string
	ReferrerID  string
	CreatedAt   time.Time
	AcceptedAt  time.Time
	SubmittedAt time.Time
}

// ReferrerRow is one referrer in /referral-admin referrers.
type ReferrerRow struct {
	Referrer Referrer
	Stats    ReferrerStats
}
