package storage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// StartVerification keeps a new work-email code for a referrer: only the
// domain and a salted hash of the code, never the address or the code.
// It refuses while the referrer is locked out after too many wrong codes,
// and within a minute of the last mail. A new code replaces the previous
// one; wrong tries still count until a success or the end of a lock.
func (s *Store) StartVerification(ctx context.Context, in referral.VerifyStart) (referral.VerifyTicket, error) {
	var t referral.VerifyTicket
	if in.Domain == "" || len(referral.NormalizeCode(in.Code)) != referral.CodeDigits {
		return t, errors.New("start verification: need a domain and a code")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return t, fmt.Errorf("start verification: %w", err)
	}
	hash := referral.HashCode(salt, in.Code)
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		ref, err := getReferrer(ctx, tx, in.GuildID, in.UserID)
		if err != nil {
			return err
		}
		refID := ref.ID
		tries := 0
		var sent int64
		var locked sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT sent_at, tries, locked_until FROM email_codes WHERE referrer_id = ?`, refID).Scan(&sent, &tries, &locked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			tries = 0
		case err != nil:
			return err
		case locked.Valid && fromMS(locked).After(now):
			return referral.WaitError{Until: fromMS(locked), Locked: true}
		case locked.Valid:
			tries = 0 // the cool-down is over
			fallthrough
		default:
			if next := time.UnixMilli(sent).UTC().Add(referral.CodeResendAfter); next.After(now) {
				return referral.WaitError{Until: next}
			}
		}
		expires := now.Add(referral.CodeTTL)
		if _, err := tx.ExecContext(ctx, `INSERT INTO email_codes (referrer_id, domain, salt, code_hash, sent_at, expires_at, mail_state, mail_error, tries, locked_until)
			VALUES (?, ?, ?, ?, ?, ?, 'sending', '', ?, NULL)
			ON CONFLICT (referrer_id) DO UPDATE SET domain = excluded.domain, salt = excluded.salt, code_hash = excluded.code_hash,
				sent_at = excluded.sent_at, expires_at = excluded.expires_at, mail_state = 'sending', mail_error = '',
				tries = excluded.tries, locked_until = NULL`,
			refID, in.Domain, salt, hash, ms(now), ms(expires), tries); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT id FROM email_codes WHERE referrer_id = ?`, refID).Scan(&t.ID); err != nil {
			return err
		}
		t.Domain, t.SentAt, t.ExpiresAt = in.Domain, now.Truncate(time.Millisecond), expires.Truncate(time.Millisecond)
		t.MailState, t.TriesLeft = "sending", referral.MaxCodeTries-tries
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("start verification: %w", err)
	}
	return t, nil
}

// VerificationMailed records whether the mail with the code sent at sentAt
// went out; failure is "" on success. A newer code is left alone.
func (s *Store) VerificationMailed(ctx context.Context, id int64, sentAt time.Time, failure string) error {
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		state := "sent"
		if failure != "" {
			state = "failed"
		}
		_, err := tx.ExecContext(ctx, `UPDATE email_codes SET mail_state = ?, mail_error = ? WHERE id = ? AND sent_at = ?`,
			state, referral.Truncate(failure, 300), id, ms(sentAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("verification mailed: %w", err)
	}
	return nil
}

type codeRow struct {
	referral.VerifyTicket
	referrerRowID int64
	guildID       string
	userID        string
	salt, hash    []byte
	tries         int
}

func getCode(ctx context.Context, q querier, id int64, userID string, now time.Time) (codeRow, error) {
	var c codeRow
	var sent, expires int64
	var locked sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT e.id, e.referrer_id, r.guild_id, r.user_id, e.domain, e.salt, e.code_hash, e.sent_at, e.expires_at,
			e.mail_state, e.mail_error, e.tries, e.locked_until
		FROM email_codes e JOIN referrers r ON r.id = e.referrer_id WHERE e.id = ?`, id).
		Scan(&c.ID, &c.referrerRowID, &c.guildID, &c.userID, &c.Domain, &c.salt, &c.hash, &sent, &expires,
			&c.MailState, &c.MailError, &c.tries, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return c, referral.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	if c.userID != userID {
		return c, referral.ErrNotYours
	}
	c.SentAt, c.ExpiresAt = time.UnixMilli(sent).UTC(), time.UnixMilli(expires).UTC()
	if locked.Valid && fromMS(locked).After(now) {
		c.LockedUntil = fromMS(locked)
	} else if locked.Valid {
		c.tries = 0 // the cool-down is over
	}
	c.TriesLeft = max(0, referral.MaxCodeTries-c.tries)
	return c, nil
}

// VerificationStatus is a pending verification of the user, for the
// Enter code button.
func (s *Store) VerificationStatus(ctx context.Context, id int64, userID string) (referral.VerifyTicket, error) {
	c, err := getCode(ctx, s.read, id, userID, s.now().UTC())
	if err != nil {
		return c.VerifyTicket, fmt.Errorf("verification status: %w", err)
	}
	return c.VerifyTicket, nil
}

// CheckCode compares a typed code with the kept hash. The right code in
// time stores the domain on the profile (shown as "verified @domain") and
// forgets the code; a wrong one counts, and the last allowed wrong one
// locks the referrer out for the cool-down. An expired code, or one whose
// mail failed, counts nothing.
func (s *Store) CheckCode(ctx context.Context, id int64, userID, code string) (referral.VerifyResult, error) {
	var out referral.VerifyResult
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		c, err := getCode(ctx, tx, id, userID, now)
		if err != nil {
			return err
		}
		out.Domain = c.Domain
		switch {
		case !c.LockedUntil.IsZero():
			out.Outcome, out.LockedUntil = referral.CodeLocked, c.LockedUntil
			return nil
		case !now.Before(c.ExpiresAt), c.MailState == "failed":
			out.Outcome, out.TriesLeft = referral.CodeExpired, c.TriesLeft
			return nil
		}
		if subtle.ConstantTimeCompare(referral.HashCode(c.salt, code), c.hash) == 1 {
			if _, err := tx.ExecContext(ctx, `UPDATE referrers SET verified_domain = ?, updated_at = ? WHERE id = ?`, c.Domain, ms(now), c.referrerRowID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM email_codes WHERE id = ?`, c.ID); err != nil {
				return err
			}
			out.Outcome = referral.CodeVerified
			return s.apply(ctx, tx, now, referral.Change{Actions: []referral.AdminAction{
				{GuildID: c.guildID, Action: referral.ActionVerified, TargetID: c.userID, Detail: c.Domain}}}, newApplied())
		}
		tries := c.tries + 1
		var locked any
		out.Outcome, out.TriesLeft = referral.CodeWrong, referral.MaxCodeTries-tries
		if tries >= referral.MaxCodeTries {
			out.LockedUntil = now.Add(referral.CodeCooldown).Truncate(time.Millisecond)
			out.Outcome, out.TriesLeft, locked = referral.CodeLocked, 0, ms(out.LockedUntil)
		}
		_, err = tx.ExecContext(ctx, `UPDATE email_codes SET tries = ?, locked_until = ? WHERE id = ?`, tries, locked, c.ID)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("check code: %w", err)
	}
	return out, nil
}
