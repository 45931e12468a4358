package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// GiveDeclineReason records why the referrer declined offerID, once; when
// referrers ask for more detail the student hears it once per request.
// It returns the offer's server, for a pause offered after "can't right
// now", and whether the student was told.
func (s *Store) GiveDeclineReason(ctx context.Context, offerID int64, userID string, reason referral.DeclineReason) (guildID string, studentTold bool, err error) {
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		o, err := getOffer(ctx, tx, offerID)
		if err != nil {
			return err
		}
		r, err := getRequest(ctx, tx, o.RequestID)
		if err != nil {
			return err
		}
		st := referral.ReasonState{Offer: &o, Request: &r}
		var given string
		if err := tx.QueryRowContext(ctx, `SELECT reason FROM offers WHERE id = ?`, offerID).Scan(&given); err != nil {
			return err
		}
		st.Reason = referral.DeclineReason(given)
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE request_id = ? AND kind = ?)`,
			r.ID, referral.EventDetailRequested).Scan(&st.DetailAsked); err != nil {
			return err
		}
		c, err := referral.GiveDeclineReason(st, userID, reason, now)
		if _, err := s.decide(ctx, tx, now, c, err); err != nil {
			return err
		}
		guildID, studentTold = o.GuildID, len(c.Notices) > 0
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("decline reason: %w", err)
	}
	return guildID, studentTold, nil
}

// DeclineReasonCounts are the server's decline reasons so far, for stats.
func (s *Store) DeclineReasonCounts(ctx context.Context, guildID string) (map[referral.DeclineReason]int, error) {
	out := map[referral.DeclineReason]int{}
	err := eachRow(ctx, s.read, `SELECT reason, n FROM decline_reasons WHERE guild_id = ?`, []any{guildID}, func(rows *sql.Rows) error {
		var r string
		var n int
		err := rows.Scan(&r, &n)
		out[referral.DeclineReason(r)] = n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("decline reasons: %w", err)
	}
	return out, nil
}

// PauseAfterDecline pauses the referrer who declined offerID until until,
// in the offer's server: the "pause me" answer to "I can't refer right now".
func (s *Store) PauseAfterDecline(ctx context.Context, offerID int64, userID string, until time.Time) (referral.Referrer, error) {
	o, err := getOffer(ctx, s.read, offerID)
	if err != nil {
		return referral.Referrer{}, fmt.Errorf("pause after decline: %w", err)
	}
	if o.ReferrerID != userID {
		return referral.Referrer{}, fmt.Errorf("pause after decline: %w", referral.ErrNotYours)
	}
	return s.PauseReferrer(ctx, o.GuildID, userID, until)
}

// StartEdit makes (or refreshes) the draft that rewrites one of the
// student's open requests, holding the request's current text, for the
// Edit request button of the "more detail" DM.
func (s *Store) StartEdit(ctx context.Context, studentID string, requestID int64) (referral.DraftRequest, error) {
	var d referral.DraftRequest
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		r, err := getRequest(ctx, tx, requestID)
		if errors.Is(err, referral.ErrNotFound) || (err == nil && r.StudentID != studentID) {
			return referral.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !r.State.Matchable() {
			return referral.ErrEditNotOpen
		}
		d = referral.DraftRequest{GuildID: r.GuildID, StudentID: studentID, Company: r.Company, Fields: r.Fields, EditOf: r.ID}
		var existing int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM drafts WHERE edit_of = ? AND student_id = ?`, r.ID, studentID).Scan(&existing)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		d.ID = existing
		d.ID, err = saveDraft(ctx, tx, now, d)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("start edit: %w", err)
	}
	return d, nil
}

// submitEdit applies a submitted edit draft to its request: a form that
// breaks a rule stays the draft, with its problems.
func (s *Store) submitEdit(ctx context.Context, tx *txn, now time.Time, d referral.DraftRequest, f referral.RequestFields, out *referral.SubmitResult) error {
	snap, err := requestSnapshot(ctx, tx, d.EditOf)
	if err != nil {
		return err
	}
	c, err := referral.EditRequest(snap, d.StudentID, f, now)
	var pe referral.ProblemsError
	if errors.As(err, &pe) {
		d.Fields = f.Clean()
		out.Problems = pe.Problems
		out.DraftID, err = saveDraft(ctx, tx, now, d)
		return err
	}
	if _, err := s.decide(ctx, tx, now, c, err); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE id = ?`, d.ID); err != nil {
		return err
	}
	r, err := getRequest(ctx, tx, d.EditOf)
	out.Edited, out.Request = err == nil, r
	return err
}
