package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

const offerColumns = `id, request_id, guild_id, referrer_user_id, state`

func scanOffer(row scanner) (referral.Offer, error) {
	var o referral.Offer
	err := row.Scan(&o.ID, &o.RequestID, &o.GuildID, &o.ReferrerID, &o.State)
	if errors.Is(err, sql.ErrNoRows) {
		return o, referral.ErrNotFound
	}
	return o, err
}

func getOffer(ctx context.Context, q querier, id int64) (referral.Offer, error) {
	return scanOffer(q.QueryRowContext(ctx, `SELECT `+offerColumns+` FROM offers WHERE id = ?`, id))
}

// pendingOffer is the request's one pending offer, or nil.
func pendingOffer(ctx context.Context, q querier, requestID int64) (*referral.Offer, error) {
	o, err := scanOffer(q.QueryRowContext(ctx, `SELECT `+offerColumns+` FROM offers WHERE request_id = ? AND state = 'pending'`, requestID))
	if errors.Is(err, referral.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// offerSnapshot loads an offer and its request; a missing offer is nil.
func offerSnapshot(ctx context.Context, q querier, offerID int64) (referral.Snapshot, error) {
	o, err := getOffer(ctx, q, offerID)
	if errors.Is(err, referral.ErrNotFound) {
		return referral.Snapshot{}, nil
	}
	if err != nil {
		return referral.Snapshot{}, err
	}
	r, err := getRequest(ctx, q, o.RequestID)
	if err != nil {
		return referral.Snapshot{}, err
	}
	return referral.Snapshot{Offer: &o, Request: &r}, nil
}

// AnswerOffer applies a referrer's Accept or Decline. Only the referrer asked
// may answer, and only while the offer is pending: a second press or a late
// one changes nothing.
func (s *Store) AnswerOffer(ctx context.Context, offerID int64, userID string, accept bool) (referral.OfferAnswer, error) {
	var out referral.OfferAnswer
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		o, err := getOffer(ctx, tx, offerID)
		if err != nil {
			return err
		}
		// The presser is checked before the request is read, as before.
		if o.ReferrerID != userID {
			return referral.ErrNotYours
		}
		r, err := getRequest(ctx, tx, o.RequestID)
		if err != nil {
			return err
		}
		snap := referral.Snapshot{Offer: &o, Request: &r, Policy: s.policy}
		var c referral.Change
		if accept {
			c, err = referral.Accept(snap, userID, now)
		} else {
			c, err = referral.Decline(snap, userID, now)
		}
		a, err := s.decide(ctx, tx, now, c, err)
		if err != nil {
			return err
		}
		out = referral.OfferAnswer{Request: a.request(r), Accepted: accept, NextAsked: !accept && a.wasOffered(r.ID)}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("answer offer: %w", err)
	}
	return out, nil
}

// MarkSubmitted records that the referrer submitted the referral and
// schedules the student's follow-ups.
func (s *Store) MarkSubmitted(ctx context.Context, requestID int64, userID string) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		loaded, err := getRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		r = loaded
		c, err := referral.Submit(referral.Snapshot{Request: &loaded, Policy: s.policy}, userID, now)
		a, err := s.decide(ctx, tx, now, c, err)
		if err == nil {
			r = a.request(loaded)
		}
		return err
	})
	if err != nil {
		return r, fmt.Errorf("mark submitted: %w", err)
	}
	return r, nil
}
