package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

const (
	dueStepsQuery = `SELECT id, kind, subject_id, seq, due_at FROM steps
	WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at, id LIMIT ?`
	anyDueStepQuery = `SELECT EXISTS (SELECT 1 FROM steps WHERE done_at IS NULL AND due_at <= ?)`
)

// writeBudget is how long one transaction of background work (a batch of
// due steps, a round of matching, a round of recounting loads) keeps the
// writer before it commits and lets the writers waiting behind it in: an
// Accept or a modal submit waits at most about this long for the sweep.
// It is checked between steps, so a batch overruns it by at most one step
// and its commit; 20 ms keeps that under the 50 ms the issue allows even
// on a loaded machine, while a commit (about 1 ms) still serves tens of
// steps.
const writeBudget = 20 * time.Millisecond

// stepBatch is the most due steps one transaction claims. At about 0.5 ms
// a step the budget ends a batch first; claiming far more would only keep
// other replicas' sweeps (on PostgreSQL) off steps this batch leaves.
const stepBatch = 64

// RunDueSteps applies up to limit steps due by now, in batches of up to
// stepBatch to a transaction, each ended once it has held the writer for
// the budget (writeBudget), so writes waiting behind the sweep get in
// between batches. A step and its being marked done commit together, so a
// crash neither loses a step nor repeats its effect; a step a batch
// claimed but had no time for is left as it was and taken by the next. A
// step that fails rolls its batch back; the batch runs again with that
// step postponed (retried later with backoff), so one bad step neither
// stops nor doubles the others. Replicas sweeping at once on PostgreSQL
// each take steps no other holds, so each step runs once. It returns how
// many steps ran.
func (s *Store) RunDueSteps(ctx context.Context, limit int) (int, error) {
	var due bool
	if err := s.read.QueryRowContext(ctx, anyDueStepQuery, ms(s.now().UTC())).Scan(&due); err != nil {
		return 0, fmt.Errorf("due steps: %w", err)
	}
	if !due {
		return 0, nil // the idle sweep: one index seek, no write transaction
	}
	if err := s.recountDueLoads(ctx); err != nil {
		return 0, fmt.Errorf("due steps: %w", err)
	}
	ran, seen := 0, 0
	failed := map[int64]error{}
	var errs []error
	for seen < limit {
		want := min(stepBatch, limit-seen)
		n, tried, err := s.runStepBatch(ctx, want, failed)
		var se *stepError
		if errors.As(err, &se) && ctx.Err() == nil {
			failed[se.step.ID] = se.err
			errs = append(errs, fmt.Errorf("step %d (%s): %w", se.step.ID, se.step.Kind, se.err))
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ran, ctx.Err()
			}
			return ran, errors.Join(append(errs, err)...)
		}
		ran += n
		seen += tried
		if tried == 0 {
			// Not stopping at a short batch: a step may schedule
			// another that is due already (a missed check-in's successor).
			break
		}
	}
	return ran, errors.Join(errs...)
}

// stepError is one step's failure, which rolled its batch back.
type stepError struct {
	step referral.Step
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }

// Unwrap lets Store.tx see a conflict inside a step, so the batch runs
// again whole rather than postponing a step that did nothing wrong.
func (e *stepError) Unwrap() error { return e.err }

// runStepBatch claims up to max due steps in one transaction and takes
// them in order until the budget is spent (at least one); those in failed
// are postponed instead. tried is how many it took (ran of them ran); the
// rest are untouched.
func (s *Store) runStepBatch(ctx context.Context, max int, failed map[int64]error) (ran, tried int, err error) {
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		start := time.Now()
		ran, tried = 0, 0
		var steps []referral.Step
		// Claimed: on PostgreSQL another replica's sweep skips the steps
		// this transaction holds, and takes them if it rolls back (or
		// its replica dies); done is recorded in this same transaction.
		// Those it has no time for are released at its commit.
		err := eachRow(ctx, tx, dueStepsQuery+tx.d.skipLocked(), []any{ms(now), max}, func(rows *sql.Rows) error {
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
		for _, st := range steps {
			if tried > 0 && time.Since(start) >= s.budget {
				break
			}
			tried++
			if cause, ok := failed[st.ID]; ok {
				// Pushed back so the rest of the queue runs.
				if _, err := tx.ExecContext(ctx, `UPDATE steps SET attempts = attempts + 1, last_error = ?,
					due_at = CAST(? AS BIGINT) + (60000 << CASE WHEN attempts < 10 THEN attempts ELSE 10 END) WHERE id = ?`, cause.Error(), now.UnixMilli(), st.ID); err != nil {
					return err
				}
				continue
			}
			did, err := s.runStep(ctx, tx, now, st)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return &stepError{step: st, err: err}
			}
			if did {
				ran++
			}
			if s.stepRan != nil {
				s.stepRan(tx)
			}
		}
		return nil
	})
	return ran, tried, err
}

// runStep runs one step of a batch and marks it done. A step an earlier
// one in the batch ended or moved to later is left alone.
func (s *Store) runStep(ctx context.Context, tx *txn, now time.Time, st referral.Step) (bool, error) {
	var due int64
	err := tx.QueryRowContext(ctx, `SELECT due_at FROM steps WHERE id = ? AND done_at IS NULL`, st.ID).Scan(&due)
	if errors.Is(err, sql.ErrNoRows) || err == nil && due > now.UnixMilli() {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.applyStep(ctx, tx, now, st); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE steps SET done_at = ?, attempts = attempts + 1 WHERE id = ? AND done_at IS NULL`, ms(now), st.ID)
	return err == nil, err
}

// applyStep loads the step's subject as its rule says, asks the rule, and
// applies the change.
func (s *Store) applyStep(ctx context.Context, tx *txn, now time.Time, st referral.Step) error {
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

// Retention works through the due rows oldest first, eraseChunk at a
// time, each chunk its own transaction: a long backlog (an upgrade, a
// shortened retention) never holds the writer for long.
const (
	eraseChunk     = 500
	dueErasesQuery = `SELECT id FROM requests WHERE erased_at IS NULL AND state IN ('closed', 'withdrawn', 'expired') AND updated_at < ?
		ORDER BY updated_at LIMIT ?`
	eraseTextsQuery = `UPDATE requests SET job_url = '', intro = '', resume_url = '', note = '', erased_at = ? WHERE id IN %s AND erased_at IS NULL`
	// Sent messages hold no text (MarkSent drops it); an undeliverable one
	// keeps the notice, an offer's intro and links included
	// (outbox_kept_text lists those).
	eraseKeptQuery   = `UPDATE outbox SET payload = '' WHERE request_id IN %s AND failed_at IS NOT NULL AND payload != ''`
	eraseDraftsQuery = `DELETE FROM drafts WHERE id IN (SELECT id FROM drafts WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`
)

// EraseOldTexts blanks the intros, notes and links of requests closed longer
// than the retention ago, with the kept messages about them, and deletes
// old drafts. It returns how many requests it erased.
func (s *Store) EraseOldTexts(ctx context.Context) (int64, error) {
	var erased int64
	for {
		var requests, drafts int64
		err := s.tx(ctx, func(tx *txn, now time.Time) error {
			requests, drafts = 0, 0 // a rerun after a conflict starts afresh
			cutoff := ms(now.Add(-s.policy.Retention))
			ids, err := idList(ctx, tx, dueErasesQuery, cutoff, eraseChunk)
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				list, args := inIDs(ids)
				res, err := tx.ExecContext(ctx, fmt.Sprintf(eraseTextsQuery, list), append([]any{ms(now)}, args...)...)
				if err != nil {
					return err
				}
				requests, _ = res.RowsAffected()
				if _, err := tx.ExecContext(ctx, fmt.Sprintf(eraseKeptQuery, list), args...); err != nil {
					return err
				}
			}
			res, err := tx.ExecContext(ctx, eraseDraftsQuery, cutoff, eraseChunk)
			if err != nil {
				return err
			}
			drafts, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return erased, fmt.Errorf("erase old texts: %w", err)
		}
		erased += requests
		if requests < eraseChunk && drafts < eraseChunk {
			return erased, nil
		}
	}
}
