package commands

import (
	"context"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// Store is what the handlers need of persistence. Every method is one
// transaction: it changes state, records the event, and queues the notices
// to send, or changes nothing.
type Store interface {
	GuildSettings(ctx context.Context, guildID string) (referral.GuildSettings, error)
	SetupGuild(ctx context.Context, s referral.GuildSettings) error

	JoinReferrer(ctx context.Context, in referral.JoinInput) (referral.JoinResult, error)
	PauseReferrer(ctx context.Context, guildID, userID string, until time.Time) (referral.Referrer, error)
	ResumeReferrer(ctx context.Context, guildID, userID string) (referral.Referrer, error)
	LeaveReferrer(ctx context.Context, guildID, userID string) error
	ReferrerProfile(ctx context.Context, guildID, userID string) (referral.ReferrerRow, error)
	ApproveReferrer(ctx context.Context, guildID, userID, adminID string) (referral.Referrer, error)
	RemoveReferrer(ctx context.Context, guildID, userID, adminID string) error
	Referrers(ctx context.Context, guildID string) ([]referral.ReferrerRow, error)
	Companies(ctx context.Context, guildID string) ([]referral.Company, error)
	// CompanyName is the name Companies lists for key, if it lists key.
	CompanyName(ctx context.Context, guildID, key string) (name string, ok bool, err error)

	// Trust: the admins' list, students' reports, and work-email
	// verification (only the domain and a salted hash of the code are kept).
	ReferrerOverview(ctx context.Context, guildID string) (referral.TrustOverview, error)
	ReportReferrer(ctx context.Context, requestID int64, studentID string) (referral.ReportResult, error)
	StartVerification(ctx context.Context, in referral.VerifyStart) (referral.VerifyTicket, error)
	VerificationMailed(ctx context.Context, codeID int64, sentAt time.Time, failure string) error
	VerificationStatus(ctx context.Context, codeID int64, userID string) (referral.VerifyTicket, error)
	CheckCode(ctx context.Context, codeID int64, userID, code string) (referral.VerifyResult, error)

	SaveDraft(ctx context.Context, d referral.DraftRequest) (int64, error)
	Draft(ctx context.Context, id int64) (referral.DraftRequest, error)
	// SubmitRequest validates a modal submit and, in one transaction,
	// sends it or keeps it as a draft with its problems or refusal.
	SubmitRequest(ctx context.Context, in referral.RequestForm) (referral.SubmitResult, error)
	StudentRequests(ctx context.Context, studentID string) ([]referral.Request, error)
	WithdrawRequest(ctx context.Context, studentID string, requestID int64) (referral.Request, error)
	RecordOutcome(ctx context.Context, studentID string, requestID int64, o referral.Outcome) (referral.Request, error)
	KeepInMind(ctx context.Context, studentID string, requestID int64) (referral.Request, error)
	FollowUpNoNews(ctx context.Context, studentID string, requestID int64) (referral.Request, error)
	ForgetUser(ctx context.Context, userID string) (referral.ForgetResult, error)

	AnswerOffer(ctx context.Context, offerID int64, userID string, accept bool) (referral.OfferAnswer, error)
	// GiveDeclineReason notes why a declined offer was declined, once,
	// telling whether the student was asked for more detail because of it.
	GiveDeclineReason(ctx context.Context, offerID int64, userID string, reason referral.DeclineReason) (guildID string, studentTold bool, err error)
	PauseAfterDecline(ctx context.Context, offerID int64, userID string, until time.Time) (referral.Referrer, error)
	DeclineReasonCounts(ctx context.Context, guildID string) (map[referral.DeclineReason]int, error)
	// StartEdit makes the draft that rewrites an open request.
	StartEdit(ctx context.Context, studentID string, requestID int64) (referral.DraftRequest, error)
	// RoleRegained makes a pending referrer holding the referrer role active.
	RoleRegained(ctx context.Context, guildID, userID string, memberRoles []string) (bool, error)
	MarkSubmitted(ctx context.Context, requestID int64, userID string) (referral.Request, error)

	Stats(ctx context.Context, guildID string, now time.Time) (referral.Stats, error)
	// ExportRequests gives each the server's requests, newest first,
	// until each returns an error, which it returns.
	ExportRequests(ctx context.Context, guildID string, each func(referral.ExportRow) error) error
	PostDigestNow(ctx context.Context, guildID string, now time.Time) (referral.Digest, error)
}

// DashboardLinks makes the signed, read-only link to one server's web
// dashboard, valid for 15 minutes from now.
type DashboardLinks interface {
	Link(ctx context.Context, guildID string, now time.Time) (string, error)
}

// AcceptCheck is asked when a referrer presses Accept: false means they no
// longer hold the server's referrer role, and the offer has been handed on
// (the profile is pending and the trust log says why).
type AcceptCheck interface {
	MayAccept(ctx context.Context, offerID int64, userID string) (bool, error)
}
