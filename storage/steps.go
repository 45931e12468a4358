package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

const dueStepsQuery = `SELECT id, kind, subject_id, seq, due_at FROM steps
	WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?`

// stepBatch is how many due steps share one transaction.
const stepBatch = 100

// RunDueSteps applies up to limit steps due by now, in batches of
// stepBatch to a transaction. Each step runs inside a savepoint that its
// effects and its being marked done share, so a crash neither loses a step
// nor repeats its effect, and a step that fails is rolled back alone and
// retried later with backoff while the rest of its batch commits. It
// returns how many steps ran.
func (s *Store) RunDueSteps(ctx context.Context, limit int) (int, error) {
	ran, seen := 0, 0
	var errs []error
	for seen < limit {
		want := min(stepBatch, limit-seen)
		n, tried, failed, err := s.runStepBatch(ctx, want)
		ran += n
		seen += tried
		errs = append(errs, failed...)
		if err != nil {
			if ctx.Err() != nil {
				return ran, ctx.Err()
			}
			return ran, errors.Join(append(errs, err)...)
		}
		if tried == 0 {
			// Not stopping at a short batch: a step may schedule
			// another that is due already (a missed check-in's successor).
			break
		}
	}
	return ran, errors.Join(errs...)
}

// runStepBatch runs up to max due steps in one transaction: ran of the
// tried steps ran, failed says why the others were postponed.
func (s *Store) runStepBatch(ctx context.Context, max int) (ran, tried int, failed []error, err error) {
	err = s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		ran, tried, failed = 0, 0, nil
		var steps []referral.Step
		err := eachRow(ctx, tx, dueStepsQuery, []any{ms(now), max}, func(rows *sql.Rows) error {
			var st referral.Step
			var due int64
			err := rows.Scan(&st.ID, &st.Kind, &st.SubjectID, &st.Seq, &due)
			st.DueAt = time.UnixMilli(due).UTC()
			steps = append(steps, st)
			return err
		})
		if err != nil {
			return err
		}
		tried = len(steps)
		if tried > 0 {
			if err := recountAllDue(ctx, tx, now); err != nil {
				return err
			}
		}
		for _, st := range steps {
			did, stepErr, err := s.runStep(ctx, tx, now, st)
			if err != nil {
				return err
			}
			if stepErr != nil {
				failed = append(failed, fmt.Errorf("step %d (%s): %w", st.ID, st.Kind, stepErr))
			} else if did {
				ran++
			}
		}
		return nil
	})
	return ran, tried, failed, err
}

// runStep runs one step of a batch in its own savepoint. A step an earlier
// one in the batch ended or moved to later is left alone. A failure of the
// step is returned as failed, after its savepoint is rolled back and the
// step postponed; err is a failure of the transaction itself.
func (s *Store) runStep(ctx context.Context, tx *sql.Tx, now time.Time, st referral.Step) (did bool, failed, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT step`); err != nil {
		return false, nil, err
	}
	stepErr := func() error {
		var due int64
		err := tx.QueryRowContext(ctx, `SELECT due_at FROM steps WHERE id = ? AND done_at IS NULL`, st.ID).Scan(&due)
		if errors.Is(err, sql.ErrNoRows) || err == nil && due > now.UnixMilli() {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.applyStep(ctx, tx, now, st); err != nil {
			return err
		}
		did = true
		_, err = tx.ExecContext(ctx, `UPDATE steps SET done_at = ?, attempts = attempts + 1 WHERE id = ? AND done_at IS NULL`, ms(now), st.ID)
		return err
	}()
	if stepErr == nil {
		_, err := tx.ExecContext(ctx, `RELEASE step`)
		return did, nil, err
	}
	if ctx.Err() != nil {
		return false, nil, ctx.Err()
	}
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO step`); err != nil {
		return false, nil, errors.Join(stepErr, err)
	}
	if _, err := tx.ExecContext(ctx, `RELEASE step`); err != nil {
		return false, nil, err
	}
	// Pushed back so the rest of the queue runs.
	if _, err := tx.ExecContext(ctx, `UPDATE steps SET attempts = attempts + 1, last_error = ?,
		due_at = ? + (60000 << MIN(attempts, 10)) WHERE id = ?`, stepErr.Error(), now.UnixMilli(), st.ID); err != nil {
		return false, nil, err
	}
	return false, stepErr, nil
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
