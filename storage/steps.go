package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// RunDueSteps applies every step due by now, each in its own transaction
// that claims it, applies it and marks it done, so a crash neither loses a
// step nor repeats its effect. A step whose transaction fails is retried
// later with backoff. It returns how many steps ran.
func (s *Store) RunDueSteps(ctx context.Context, limit int) (int, error) {
	ran := 0
	var errs []error
	for ran < limit {
		var step referral.Step
		found := false
		err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			var due int64
			err := tx.QueryRowContext(ctx, `SELECT id, kind, subject_id, seq, due_at FROM steps
				WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT 1`, ms(now)).
				Scan(&step.ID, &step.Kind, &step.SubjectID, &step.Seq, &due)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			found = true
			step.DueAt = time.UnixMilli(due).UTC()
			if err := s.applyStep(ctx, tx, now, step); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE steps SET done_at = ?, attempts = attempts + 1 WHERE id = ? AND done_at IS NULL`, ms(now), step.ID)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return ran, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("step %d (%s): %w", step.ID, step.Kind, err))
			if !found || step.ID == 0 {
				return ran, errors.Join(errs...)
			}
			if err := s.postponeStep(ctx, step.ID, err); err != nil {
				return ran, errors.Join(append(errs, err)...)
			}
			continue
		}
		if !found {
			break
		}
		ran++
	}
	return ran, errors.Join(errs...)
}

// postponeStep pushes a failing step back so the rest of the queue runs.
func (s *Store) postponeStep(ctx context.Context, id int64, cause error) error {
	return s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var attempts int
		if err := tx.QueryRowContext(ctx, `SELECT attempts FROM steps WHERE id = ?`, id).Scan(&attempts); err != nil {
			return err
		}
		backoff := time.Minute << min(attempts, 10)
		_, err := tx.ExecContext(ctx, `UPDATE steps SET attempts = attempts + 1, last_error = ?, due_at = ? WHERE id = ?`, cause.Error(), ms(now.Add(backoff)), id)
		return err
	})
}

// applyStep loads the step's subject as its rule says, asks the rule, and
// applies the change.
func (s *Store) applyStep(ctx context.Context, tx *sql.Tx, now time.Time, st referral.Step) error {
	rule, ok := referral.RuleFor(st.Kind)
	if !ok {
		return fmt.Errorf("unknown step kind %q", st.Kind)
	}
	var snap referral.Snapshot
	var err error
	switch rule.Subject {
	case referral.SubjectOffer:
		snap, err = offerSnapshot(ctx, tx, st.SubjectID)
	case referral.SubjectRequest:
		snap, err = requestSnapshot(ctx, tx, st.SubjectID)
		if errors.Is(err, referral.ErrNotFound) {
			snap, err = referral.Snapshot{}, nil // gone meanwhile
		}
	case referral.SubjectReferrer:
		snap.Referrer, err = referrerByID(ctx, tx, st.SubjectID)
	}
	if err != nil {
		return err
	}
	snap.Policy = s.policy
	c, err := rule.Run(snap, st, now)
	_, err = s.decide(ctx, tx, now, c, err)
	return err
}

// EraseOldTexts blanks the intros, notes and links of requests closed longer
// than the retention ago, and old drafts. It returns how many it erased.
func (s *Store) EraseOldTexts(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		cutoff := ms(now.Add(-s.policy.Retention))
		res, err := tx.ExecContext(ctx, `UPDATE requests SET job_url = '', intro = '', resume_url = '', note = '', erased_at = ?
			WHERE erased_at IS NULL AND state IN ('closed', 'withdrawn', 'expired') AND updated_at < ?`, ms(now), cutoff)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, `DELETE FROM drafts WHERE updated_at < ?`, cutoff)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("erase old texts: %w", err)
	}
	return n, nil
}
