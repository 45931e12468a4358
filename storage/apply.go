package storage

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// applied is what running a change did, for the exported method's answer.
type applied struct {
	requests map[int64]referral.Request // each request as the last change left it
	offered  []int64                    // requests a referrer was asked about, in order
}

func newApplied() *applied { return &applied{requests: map[int64]referral.Request{}} }

// request is r as the changes left it.
func (a *applied) request(r referral.Request) referral.Request {
	if got, ok := a.requests[r.ID]; ok {
		return got
	}
	return r
}

func (a *applied) wasOffered(requestID int64) bool { return slices.Contains(a.offered, requestID) }

// decide is the shape of every exported method that changes state: with
// what was loaded, ask referral, and on yes apply the change with its
// follow-up work.
func (s *Store) decide(ctx context.Context, tx *txn, now time.Time, c referral.Change, err error) (*applied, error) {
	if err != nil {
		return nil, err
	}
	a := newApplied()
	return a, s.run(ctx, tx, now, c, a)
}

// run applies a change, then the work it starts (each decided on the state
// the change before it left), then its After part; all in tx.
func (s *Store) run(ctx context.Context, tx *txn, now time.Time, c referral.Change, a *applied) error {
	if err := s.apply(ctx, tx, now, c, a); err != nil {
		return err
	}
	for _, n := range c.Then {
		var err error
		switch {
		case n.Offer != nil:
			err = s.offerNext(ctx, tx, now, n.Offer.RequestID, n.Offer.Why, a)
		case n.HandOn != nil:
			err = s.handOn(ctx, tx, now, *n.HandOn, a)
		case n.Match != nil:
			err = s.matchWaiting(ctx, tx, now, n.Match.GuildID, n.Match.Companies, a)
		}
		if err != nil {
			return err
		}
	}
	if c.After != nil {
		return s.run(ctx, tx, now, *c.After, a)
	}
	return nil
}

// apply writes one change in the order referral.Change documents. The
// conditional updates decide races: a request or offer no longer in the
// state the change was decided on fails it with ErrMovedOn, and the
// caller's transaction rolls back.
func (s *Store) apply(ctx context.Context, tx *txn, now time.Time, c referral.Change, a *applied) error {
	if t := c.Request; t != nil {
		if err := referral.Move(t.From, t.To.State); err != nil {
			return err
		}
		r := t.To
		res, err := tx.ExecContext(ctx, `UPDATE requests SET state = ?, referrer_id = ?, outcome = ?, accepted_at = ?, submitted_at = ?,
			closed_at = ?, updated_at = ? WHERE id = ? AND state = ?`,
			r.State, r.ReferrerID, r.Outcome, ms(r.AcceptedAt), ms(r.SubmittedAt), ms(r.ClosedAt), ms(now), r.ID, t.From)
		if err := oneRow(res, err, referral.ErrMovedOn); err != nil {
			return err
		}
		a.requests[r.ID] = r
	}
	if e := c.Edit; e != nil {
		f := e.Fields
		res, err := tx.ExecContext(ctx, `UPDATE requests SET job_url = ?, role = ?, intro = ?, resume_url = ?, note = ?, updated_at = ?
			WHERE id = ? AND state = ?`, f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now), e.RequestID, e.From)
		if err := oneRow(res, err, referral.ErrMovedOn); err != nil {
			return err
		}
	}
	if o := c.OfferReason; o != nil {
		res, err := tx.ExecContext(ctx, `UPDATE offers SET reason = ? WHERE id = ? AND state = 'declined' AND reason = ''`, o.Reason, o.OfferID)
		if err := oneRow(res, err, referral.ErrAlreadyDone); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO decline_reasons (guild_id, reason, n) SELECT guild_id, ?, 1 FROM offers WHERE id = ?
			ON CONFLICT (guild_id, reason) DO UPDATE SET n = decline_reasons.n + 1`, o.Reason, o.OfferID); err != nil {
			return err
		}
	}
	for _, o := range c.Offers {
		res, err := tx.ExecContext(ctx, `UPDATE offers SET state = ?, reason = ?, answered_at = ? WHERE id = ? AND state = 'pending'`,
			o.To, o.Reason, ms(now), o.ID)
		if err := oneRow(res, err, referral.ErrMovedOn); err != nil {
			return err
		}
	}
	var offerNotice *referral.Outgoing
	if o := c.Offer; o != nil {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO offers (request_id, guild_id, referrer_user_id, state, offered_at) VALUES (?, ?, ?, 'pending', ?)
			RETURNING id`, o.RequestID, o.GuildID, o.ReferrerID, ms(now)).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE referrers SET last_offered_at = ? WHERE guild_id = ? AND user_id = ?`, ms(now), o.GuildID, o.ReferrerID); err != nil {
			return err
		}
		if err := addStep(ctx, tx, referral.StepAt{Kind: referral.StepOfferTimeout, SubjectID: id, Due: o.Due}); err != nil {
			return err
		}
		n := o.Notice
		n.Notice.OfferID = id
		offerNotice = &n
		a.offered = append(a.offered, o.RequestID)
	}
	if rc := c.Referrer; rc != nil {
		if rc.Delete {
			res, err := tx.ExecContext(ctx, `DELETE FROM referrers WHERE id = ?`, rc.ID)
			if err := oneRow(res, err, referral.ErrNotReferrer); err != nil {
				return err
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE referrers SET status = ?, active_via = ?, pause_reason = ?, paused_until = ?, updated_at = ?
				WHERE id = ? AND status = ?`, rc.Status, rc.ActiveVia, rc.PauseReason, ms(rc.PausedUntil), ms(now), rc.ID, rc.From)
			if err := oneRow(res, err, referral.ErrMovedOn); err != nil {
				return err
			}
		}
	}
	if r := c.Report; r != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (guild_id, request_id, reporter_id, referrer_id, at) VALUES (?, ?, ?, ?, ?)`,
			r.GuildID, r.RequestID, r.ReporterID, r.ReferrerID, ms(now)); err != nil {
			return err
		}
	}
	if r := c.Resolve; r != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution = ?
			WHERE guild_id = ? AND referrer_id = ? AND resolved_at IS NULL`, ms(now), r.By, r.Resolution, r.GuildID, r.ReferrerID); err != nil {
			return err
		}
	}
	for _, x := range c.Actions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_actions (guild_id, admin_id, action, target_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)`,
			x.GuildID, x.ActorID, x.Action, x.TargetID, x.Detail, ms(now)); err != nil {
			return err
		}
	}
	for _, e := range c.Events {
		if err := insertEvent(ctx, tx, now, e); err != nil { // counted in the aggregates (aggregates.go)
			return err
		}
	}
	for _, st := range c.End {
		if _, err := tx.ExecContext(ctx, `UPDATE steps SET done_at = ? WHERE kind = ? AND subject_id = ? AND done_at IS NULL`, ms(now), st.Kind, st.SubjectID); err != nil {
			return err
		}
	}
	for _, st := range c.Schedule {
		if err := addStep(ctx, tx, st); err != nil {
			return err
		}
	}
	for _, d := range c.Drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE guild_id = ? AND user_id = ? AND kind = ? AND sent_at IS NULL AND failed_at IS NULL`,
			d.GuildID, d.UserID, d.Kind); err != nil {
			return err
		}
	}
	if offerNotice != nil {
		if err := enqueue(ctx, tx, now, *offerNotice); err != nil {
			return err
		}
	}
	for _, n := range c.Notices {
		if err := enqueue(ctx, tx, now, n); err != nil {
			return err
		}
		if err := recordTold(ctx, tx, n); err != nil {
			return err
		}
	}
	return nil
}

// recordTold notes a notice about a request's search on the request, for
// the lifecycle to say each thing once (referral.Told).
func recordTold(ctx context.Context, tx *txn, n referral.Outgoing) error {
	if !referral.Tracks(n.Notice.Kind) || n.Notice.RequestID == 0 || n.UserID == "" {
		return nil
	}
	var told referral.Told
	err := tx.QueryRowContext(ctx, `SELECT told FROM requests WHERE id = ? AND student_id = ?`, n.Notice.RequestID, n.UserID).Scan(&told)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not the student's (nothing tracked goes to anyone else)
	}
	if err != nil {
		return err
	}
	if after := told.After(n.Notice.Kind); after != told {
		_, err = tx.ExecContext(ctx, `UPDATE requests SET told = ? WHERE id = ?`, after, n.Notice.RequestID)
	}
	return err
}

// oneRow turns an UPDATE or DELETE that matched no row into lost.
func oneRow(res sql.Result, err error, lost error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return lost
	}
	return nil
}

// addStep schedules a step; one that ran before comes back as new.
func addStep(ctx context.Context, tx *txn, st referral.StepAt) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO steps (kind, subject_id, seq, due_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, subject_id, seq) DO UPDATE SET due_at = excluded.due_at, done_at = NULL, attempts = 0, last_error = ''`,
		st.Kind, st.SubjectID, st.Seq, ms(st.Due))
	return err
}
