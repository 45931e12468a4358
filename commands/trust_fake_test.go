package commands

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// The fake store's trust methods: the overview and reports work on the
// fake's referrers and requests; verification lives in verifyFake, which
// tests that need it put in front of the fake store.

func (s *fakeStore) ReferrerOverview(ctx context.Context, guildID string) (referral.TrustOverview, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ReferrerOverview"); err != nil {
		return referral.TrustOverview{}, err
	}
	var ov referral.TrustOverview
	for _, ref := range s.referrers {
		if ref.GuildID == guildID {
			ov.Rows = append(ov.Rows, referral.TrustRow{ReferrerRow: referral.ReferrerRow{Referrer: ref}})
		}
	}
	return ov, nil
}

func (s *fakeStore) ReportReferrer(ctx context.Context, requestID int64, studentID string) (referral.ReportResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.called("ReportReferrer"); err != nil {
		return referral.ReportResult{}, err
	}
	r, ok := s.requests[requestID]
	switch {
	case !ok || r.StudentID != studentID:
		return referral.ReportResult{}, referral.ErrNotFound
	case r.ReferrerID == "" || r.AcceptedAt.IsZero():
		return referral.ReportResult{}, referral.ErrWrongState
	case r.Outcome == "reported": // the fake marks a reported request here
		return referral.ReportResult{}, referral.ErrAlreadyDone
	}
	out := referral.ReportResult{ReferrerID: r.ReferrerID, Paused: true, Notified: true}
	if r.State == referral.Accepted {
		out.Requeued, out.NextAsked = true, true
		r.State = referral.Offered
	}
	r.Outcome = "reported"
	s.requests[requestID] = r
	out.Request = r
	return out, nil
}

var errNoVerifyFake = errors.New("fakeStore: verification needs verifyFake")

func (s *fakeStore) StartVerification(ctx context.Context, in referral.VerifyStart) (referral.VerifyTicket, error) {
	return referral.VerifyTicket{}, errNoVerifyFake
}

func (s *fakeStore) VerificationMailed(ctx context.Context, id int64, sentAt time.Time, failure string) error {
	return errNoVerifyFake
}

func (s *fakeStore) VerificationStatus(ctx context.Context, id int64, userID string) (referral.VerifyTicket, error) {
	return referral.VerifyTicket{}, errNoVerifyFake
}

func (s *fakeStore) CheckCode(ctx context.Context, id int64, userID, code string) (referral.VerifyResult, error) {
	return referral.VerifyResult{}, errNoVerifyFake
}

// verifyFake keeps one pending code in memory, as the store would keep
// its hash, and counts tries.
type verifyFake struct {
	*fakeStore
	mu       sync.Mutex
	code     string
	ticket   referral.VerifyTicket
	userID   string
	tries    int
	failure  string
	mailed   int
	verified string
}

func (v *verifyFake) StartVerification(ctx context.Context, in referral.VerifyStart) (referral.VerifyTicket, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.fakeStore.referrer(in.GuildID, in.UserID); err != nil {
		return referral.VerifyTicket{}, err
	}
	v.code, v.userID = in.Code, in.UserID
	v.ticket = referral.VerifyTicket{ID: 55, Domain: in.Domain, SentAt: testNow, ExpiresAt: testNow.Add(referral.CodeTTL),
		MailState: "sending", TriesLeft: referral.MaxCodeTries - v.tries}
	return v.ticket, nil
}

func (v *verifyFake) VerificationMailed(ctx context.Context, id int64, sentAt time.Time, failure string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.mailed++
	v.failure = failure
	v.ticket.MailState = "sent"
	if failure != "" {
		v.ticket.MailState, v.ticket.MailError = "failed", failure
	}
	return nil
}

func (v *verifyFake) VerificationStatus(ctx context.Context, id int64, userID string) (referral.VerifyTicket, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case id != v.ticket.ID:
		return referral.VerifyTicket{}, referral.ErrNotFound
	case userID != v.userID:
		return referral.VerifyTicket{}, referral.ErrNotYours
	}
	return v.ticket, nil
}

func (v *verifyFake) CheckCode(ctx context.Context, id int64, userID, code string) (referral.VerifyResult, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case id != v.ticket.ID:
		return referral.VerifyResult{}, referral.ErrNotFound
	case userID != v.userID:
		return referral.VerifyResult{}, referral.ErrNotYours
	case code == v.code:
		v.verified = v.ticket.Domain
		return referral.VerifyResult{Outcome: referral.CodeVerified, Domain: v.ticket.Domain}, nil
	}
	v.tries++
	if v.tries >= referral.MaxCodeTries {
		return referral.VerifyResult{Outcome: referral.CodeLocked, LockedUntil: testNow.Add(referral.CodeCooldown)}, nil
	}
	return referral.VerifyResult{Outcome: referral.CodeWrong, TriesLeft: referral.MaxCodeTries - v.tries}, nil
}

// fakeMailer records mails and answers with err.
type fakeMailer struct {
	mu   sync.Mutex
	sent []Mail
	err  error
}

func (m *fakeMailer) Send(mail Mail, done func(error)) {
	m.mu.Lock()
	m.sent = append(m.sent, mail)
	err := m.err
	m.mu.Unlock()
	done(err)
}
