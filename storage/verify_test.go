package storage

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

func startCode(t *testing.T, s *Store, user, code string) referral.VerifyTicket {
	t.Helper()
	tk, err := s.StartVerification(context.Background(), referral.VerifyStart{GuildID: "g1", UserID: user, Domain: "amazon.com", Code: code})
	if err != nil {
		t.Fatalf("StartVerification: %v", err)
	}
	return tk
}

func TestVerifyStoresOnlyDomainAndHash(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		ctx := context.Background()
		if _, err := s.StartVerification(ctx, referral.VerifyStart{GuildID: "g1", UserID: "nobody", Domain: "amazon.com", Code: "123456"}); !errors.Is(err, referral.ErrNotReferrer) {
			t.Errorf("verification without a profile: %v; want not a referrer", err)
		}
		join(t, s, "alice", true)
		tk := startCode(t, s, "alice", "123456")
		if tk.ID == 0 || tk.Domain != "amazon.com" || tk.TriesLeft != referral.MaxCodeTries || !tk.ExpiresAt.Equal(t0.Add(referral.CodeTTL)) {
			t.Errorf("ticket %+v", tk)
		}
		var salt, hash []byte
		var domain string
		if err := s.read.QueryRow(`SELECT salt, code_hash, domain FROM email_codes WHERE id = ?`, tk.ID).Scan(&salt, &hash, &domain); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(hash, []byte("123456")) || bytes.Equal(hash, referral.HashCode(nil, "123456")) || len(salt) != 16 {
			t.Errorf("code_hash %x with salt %x: want a salted hash, not the code", hash, salt)
		}
		if !bytes.Equal(hash, referral.HashCode(salt, "123456")) {
			t.Errorf("code_hash is not SHA-256 of salt and code")
		}
		if err := s.VerificationMailed(ctx, tk.ID, tk.SentAt, ""); err != nil {
			t.Fatal(err)
		}
		if st, err := s.VerificationStatus(ctx, tk.ID, "alice"); err != nil || st.MailState != "sent" {
			t.Errorf("status = %+v, %v; want sent", st, err)
		}
		if _, err := s.VerificationStatus(ctx, tk.ID, "mallory"); !errors.Is(err, referral.ErrNotYours) {
			t.Errorf("status for someone else: %v; want not yours", err)
		}
		if _, err := s.CheckCode(ctx, tk.ID, "mallory", "123456"); !errors.Is(err, referral.ErrNotYours) {
			t.Errorf("code typed by someone else: %v; want not yours", err)
		}
		res, err := s.CheckCode(ctx, tk.ID, "alice", "123456")
		if err != nil || res.Outcome != referral.CodeVerified || res.Domain != "amazon.com" {
			t.Fatalf("CheckCode(right) = %+v, %v", res, err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM referrers WHERE user_id = 'alice' AND verified_domain = 'amazon.com'`); n != 1 {
			t.Errorf("domain not stored on the profile")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM email_codes`); n != 0 {
			t.Errorf("%d codes kept after success", n)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM admin_actions WHERE action = 'verified' AND target_id = 'alice' AND detail = 'amazon.com'`); n != 1 {
			t.Errorf("verification not in the trust log")
		}
		if _, err := s.CheckCode(ctx, tk.ID, "alice", "123456"); !errors.Is(err, referral.ErrNotFound) {
			t.Errorf("code used twice: %v; want not found", err)
		}
	})
}

func TestVerifyResendWaitsAMinute(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		join(t, s, "alice", true)
		first := startCode(t, s, "alice", "111111")
		var wait referral.WaitError
		if _, err := s.StartVerification(context.Background(), referral.VerifyStart{GuildID: "g1", UserID: "alice", Domain: "amazon.com", Code: "222222"}); !errors.As(err, &wait) || wait.Locked {
			t.Errorf("second code at once: %v; want to wait a minute", err)
		}
		clk.Add(referral.CodeResendAfter)
		second := startCode(t, s, "alice", "222222")
		if second.ID != first.ID {
			t.Errorf("a new code got a new row %d; want the same %d", second.ID, first.ID)
		}
		// The old mail's result doesn't touch the new code.
		if err := s.VerificationMailed(context.Background(), first.ID, first.SentAt, "boom"); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.VerificationStatus(context.Background(), second.ID, "alice"); st.MailState != "sending" {
			t.Errorf("new code's mail state = %q; want sending", st.MailState)
		}
		if res, _ := s.CheckCode(context.Background(), second.ID, "alice", "111111"); res.Outcome != referral.CodeWrong {
			t.Errorf("the replaced code = %s; want wrong", res.Outcome)
		}
	})
}

func TestVerifyExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		join(t, s, "alice", true)
		tk := startCode(t, s, "alice", "123456")
		clk.Add(referral.CodeTTL)
		res, err := s.CheckCode(context.Background(), tk.ID, "alice", "123456")
		if err != nil || res.Outcome != referral.CodeExpired {
			t.Errorf("code at its expiry = %+v, %v; want expired", res, err)
		}
		if res.TriesLeft != referral.MaxCodeTries {
			t.Errorf("an expired code counted as a try: %d left", res.TriesLeft)
		}
	})
}

func TestVerifyFailedMailCannotBeUsed(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		join(t, s, "alice", true)
		tk := startCode(t, s, "alice", "123456")
		if err := s.VerificationMailed(context.Background(), tk.ID, tk.SentAt, "550 rejected"); err != nil {
			t.Fatal(err)
		}
		st, _ := s.VerificationStatus(context.Background(), tk.ID, "alice")
		if st.MailState != "failed" || st.MailError != "550 rejected" {
			t.Errorf("status %+v; want failed with the reason", st)
		}
		if res, _ := s.CheckCode(context.Background(), tk.ID, "alice", "123456"); res.Outcome != referral.CodeExpired {
			t.Errorf("code of a failed mail = %s; want unusable", res.Outcome)
		}
	})
}

func TestVerifyLockAfterFiveWrongCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		tk := startCode(t, s, "alice", "123456")
		for i := 1; i <= referral.MaxCodeTries; i++ {
			res, err := s.CheckCode(ctx, tk.ID, "alice", "000000")
			if err != nil {
				t.Fatal(err)
			}
			want := referral.CodeWrong
			if i == referral.MaxCodeTries {
				want = referral.CodeLocked
			}
			if res.Outcome != want || res.TriesLeft != referral.MaxCodeTries-i {
				t.Fatalf("wrong code %d = %+v; want %s with %d left", i, res, want, referral.MaxCodeTries-i)
			}
		}
		if res, _ := s.CheckCode(ctx, tk.ID, "alice", "123456"); res.Outcome != referral.CodeLocked || !res.LockedUntil.Equal(t0.Add(referral.CodeCooldown)) {
			t.Errorf("right code while locked = %+v; want locked until %v", res, t0.Add(referral.CodeCooldown))
		}
		var wait referral.WaitError
		clk.Add(30 * time.Minute)
		if _, err := s.StartVerification(ctx, referral.VerifyStart{GuildID: "g1", UserID: "alice", Domain: "amazon.com", Code: "654321"}); !errors.As(err, &wait) || !wait.Locked {
			t.Errorf("new code while locked: %v; want locked", err)
		}
		// After the cool-down a new code comes with all tries.
		clk.Add(31 * time.Minute)
		tk = startCode(t, s, "alice", "654321")
		if tk.TriesLeft != referral.MaxCodeTries {
			t.Errorf("after the cool-down %d tries left; want %d", tk.TriesLeft, referral.MaxCodeTries)
		}
		if res, _ := s.CheckCode(ctx, tk.ID, "alice", "654321"); res.Outcome != referral.CodeVerified {
			t.Errorf("right code after the cool-down = %s", res.Outcome)
		}
	})
}

func TestVerifyTriesCountAcrossNewCodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, clk, _ := openTest(t)
		ctx := context.Background()
		join(t, s, "alice", true)
		tk := startCode(t, s, "alice", "123456")
		for range 3 {
			s.CheckCode(ctx, tk.ID, "alice", "000000")
		}
		clk.Add(referral.CodeResendAfter)
		tk = startCode(t, s, "alice", "222222")
		if tk.TriesLeft != 2 {
			t.Errorf("a new code reset the tries: %d left; want 2", tk.TriesLeft)
		}
	})
}

func TestVerifyCodeDeletedWithProfile(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		s, _, _ := openTest(t)
		join(t, s, "alice", true)
		startCode(t, s, "alice", "123456")
		if err := s.LeaveReferrer(context.Background(), "g1", "alice"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM email_codes`); n != 0 {
			t.Errorf("%d codes outlive the profile", n)
		}
	})
}
