package referral

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"
)

// Who may refer: how a referrer became active, why one is paused, and
// the audit trail admins read in /referral-admin referrers.

// How a referrer became active; stored with the profile.
const (
	// ViaRole: joined holding the server's referrer role. Before each offer
	// is delivered the bot checks with Discord that they still hold it.
	ViaRole = "role"
	// ViaAdmin: approved with /referral-admin approve; no role check.
	ViaAdmin = "admin"
)

// PauseReported is the pause reason of a referrer a student reported: they
// stay paused until an admin approves or removes them.
const PauseReported = "reported"

// Actions in the trust log (the admin_actions table).
const (
	ActionApprove  = "approve"   // an admin approved the target (also clears a report)
	ActionRemove   = "remove"    // an admin ended the target's profile
	ActionRoleLost = "role_lost" // the bot found the target without the referrer role; actor ""
	ActionReport   = "report"    // a student (actor) reported the target about a request
	ActionVerified = "verified"  // the target verified a work email; Detail is the domain
)

// Notices of the trust features.
const (
	NoticeReport   NoticeKind = "report"    // to the fallback channel: a student reported a referrer
	NoticeRoleLost NoticeKind = "role_lost" // to a referrer: the referrer role is gone, pending now
)

// ErrUnderReview refuses what a reported referrer cannot do themselves
// (resume, pause) until an admin has acted.
var ErrUnderReview = errors.New("paused until an admin reviews a report")

// AdminAction is one line of the trust log.
type AdminAction struct {
	GuildID  string
	ActorID  string // the admin, the reporting student, the verifying referrer; "" = the bot
	Action   string
	TargetID string
	Detail   string
	At       time.Time
}

// Report is a student's report about a referrer.
type Report struct {
	ID         int64
	RequestID  int64
	ReporterID string
	ReferrerID string
	At         time.Time
	ResolvedAt time.Time
	ResolvedBy string
	Resolution string // "approved" or "removed"
}

// TrustRow is one referrer in /referral-admin referrers.
type TrustRow struct {
	ReferrerRow
	ActiveVia   string   // ViaRole, ViaAdmin, or "" while pending
	PauseReason string   // "" or PauseReported
	OpenReports []Report // oldest first
}

// TrustOverview is everything /referral-admin referrers shows.
type TrustOverview struct {
	Rows    []TrustRow
	Actions []AdminAction // newest first, at most MaxActionsShown
}

// MaxActionsShown bounds the trust log in /referral-admin referrers.
const MaxActionsShown = 100

// ReportResult tells the student what their report did.
type ReportResult struct {
	Request    Request // as it is now; back to matching when it was accepted
	ReferrerID string
	Paused     bool // the referrer was paused by this report (false: already paused, or gone)
	Requeued   bool // the request went back to matching
	NextAsked  bool // and another referrer is being asked
	Notified   bool // a message to the server's fallback channel is queued
}

// Work-email verification.
const (
	CodeDigits      = 6
	CodeTTL         = 15 * time.Minute
	MaxCodeTries    = 5
	CodeCooldown    = time.Hour   // after MaxCodeTries wrong codes
	CodeResendAfter = time.Minute // between two mails
)

// VerifyStart asks for a code to be mailed. Code is hashed before it is
// stored; Domain is all that is kept of the address.
type VerifyStart struct {
	GuildID string
	UserID  string
	Domain  string
	Code    string
}

// VerifyTicket is a pending verification as the buttons see it.
type VerifyTicket struct {
	ID          int64
	Domain      string
	SentAt      time.Time
	ExpiresAt   time.Time
	MailState   string // "sending", "sent", "failed"
	MailError   string // why the mail failed; no address in it
	TriesLeft   int
	LockedUntil time.Time // zero = not locked
}

// VerifyOutcome is the result of typing a code.
type VerifyOutcome string

const (
	CodeVerified VerifyOutcome = "verified"
	CodeWrong    VerifyOutcome = "wrong"
	CodeLocked   VerifyOutcome = "locked"  // too many wrong codes: wait until LockedUntil
	CodeExpired  VerifyOutcome = "expired" // older than CodeTTL: ask for a new one
)

// VerifyResult is what CheckCode found.
type VerifyResult struct {
	Outcome     VerifyOutcome
	Domain      string
	TriesLeft   int
	LockedUntil time.Time
}

// WaitError refuses a new code for a while: after too many wrong codes
// (Locked) or right after the last mail.
type WaitError struct {
	Until  time.Time
	Locked bool
}

func (e WaitError) Error() string {
	if e.Locked {
		return "too many wrong codes; wait until " + e.Until.UTC().Format(time.RFC3339)
	}
	return "a code was just sent; wait until " + e.Until.UTC().Format(time.RFC3339)
}

// NewCode returns a uniformly random code of CodeDigits digits from crypto/rand.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("new code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// NormalizeCode drops the spaces and dashes people type or paste into a code.
func NormalizeCode(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// HashCode is what is stored instead of a code: SHA-256 over a random
// per-code salt and the code.
func HashCode(salt []byte, code string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(NormalizeCode(code)))
	return h.Sum(nil)
}

// freeMail are providers anyone can sign up with: "verified @gmail.com"
// says nothing about an employer.
var freeMail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "live.com": true,
	"msn.com": true, "yahoo.com": true, "ymail.com": true, "icloud.com": true, "me.com": true, "mac.com": true,
	"aol.com": true, "proton.me": true, "protonmail.com": true, "pm.me": true, "gmx.com": true, "gmx.net": true,
	"gmx.de": true, "web.de": true, "mail.com": true, "yandex.com": true, "yandex.ru": true, "qq.com": true,
	"163.com": true, "126.com": true, "zoho.com": true, "tutanota.com": true, "fastmail.com": true, "hey.com": true,
}

// WorkEmailDomain checks a work address and returns its domain in lower
// case. Its error text is written for users.
func WorkEmailDomain(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	const example = "Give your work address on its own, like jane.doe@yourcompany.com."
	if addr == "" || len(addr) > 254 {
		return "", errors.New("That doesn't look like an email address. " + example)
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return "", errors.New("That doesn't look like an email address. " + example)
	}
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr[:at], strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	if local == "" || !validDomain(domain) {
		return "", errors.New("That address has no company domain I can use. " + example)
	}
	if freeMail[domain] {
		return "", fmt.Errorf("@%s is a personal mail provider, so it can't show where you work. %s", domain, example)
	}
	return domain, nil
}

// validDomain accepts host names with at least two labels of letters,
// digits and inner hyphens.
func validDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
