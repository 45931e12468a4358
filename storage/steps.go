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

func (s *Store) applyStep(ctx context.Context, tx *sql.Tx, now time.Time, st referral.Step) error {
	switch st.Kind {
	case referral.StepOfferTimeout:
		return s.offerTimedOut(ctx, tx, now, st.SubjectID)
	case referral.StepReminder:
		return s.remind(ctx, tx, now, st.SubjectID)
	case referral.StepNudge:
		return s.nudge(ctx, tx, now, st.SubjectID, st.Seq)
	case referral.StepExpire:
		return s.expire(ctx, tx, now, st.SubjectID)
	case referral.StepPauseEnd:
		return s.pauseEnded(ctx, tx, now, st.SubjectID)
	}
	return fmt.Errorf("unknown step kind %q", st.Kind)
}

// offerTimedOut moves an unanswered offer on to the next referrer.
func (s *Store) offerTimedOut(ctx context.Context, tx *sql.Tx, now time.Time, offerID int64) error {
	o, err := getOffer(ctx, tx, offerID)
	if errors.Is(err, referral.ErrNotFound) || (err == nil && o.state != "pending") {
		return nil // answered or gone meanwhile
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE offers SET state = 'timed_out', answered_at = ? WHERE id = ? AND state = 'pending'`, ms(now), offerID); err != nil {
		return err
	}
	r, err := getRequest(ctx, tx, o.requestID)
	if err != nil {
		return err
	}
	if err := addEvent(ctx, tx, now, r, "timed_out", o.referrerID, ""); err != nil {
		return err
	}
	if err := enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: o.referrerID, Notice: referral.Notice{
		Kind: referral.NoticeOfferClosed, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role, Reason: "timeout",
	}}, r.ID); err != nil {
		return err
	}
	_, err = s.moveOn(ctx, tx, now, &r)
	return err
}

// remind asks a referrer who accepted but has not submitted, once.
func (s *Store) remind(ctx context.Context, tx *sql.Tx, now time.Time, requestID int64) error {
	r, err := getRequest(ctx, tx, requestID)
	if errors.Is(err, referral.ErrNotFound) {
		return nil
	}
	if err != nil || r.State != referral.Accepted {
		return err
	}
	if err := addEvent(ctx, tx, now, r, "reminded", r.ReferrerID, ""); err != nil {
		return err
	}
	return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.ReferrerID, Notice: referral.Notice{
		Kind: referral.NoticeReminder, RequestID: r.ID, StudentID: r.StudentID, Company: r.Company.Name, Role: r.Fields.Role,
		JobURL: r.Fields.JobURL, ResumeURL: r.Fields.ResumeURL, // what they need to submit, at hand
	}}, r.ID)
}

// nudge sends follow-up n to the student and schedules the next one.
func (s *Store) nudge(ctx context.Context, tx *sql.Tx, now time.Time, requestID int64, n int) error {
	r, err := getRequest(ctx, tx, requestID)
	if errors.Is(err, referral.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.State != referral.Submitted && r.State != referral.InProcess {
		return nil
	}
	if r.StudentID == "" {
		return nil
	}
	next, more := s.Policy.NudgeDue(r.SubmittedAt, n+1)
	if more {
		if err := addStep(ctx, tx, referral.StepNudge, r.ID, n+1, next); err != nil {
			return err
		}
		if !next.After(now) {
			// The bot was down past the next check-in too: send only that
			// one rather than two questions back to back.
			return nil
		}
	}
	if err := addEvent(ctx, tx, now, r, "follow_up", "", fmt.Sprint(n)); err != nil {
		return err
	}
	return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
		Kind: referral.NoticeFollowUp, RequestID: r.ID, StudentID: r.StudentID, ReferrerID: r.ReferrerID,
		Company: r.Company.Name, Role: r.Fields.Role, FollowUp: n, FollowUps: len(s.Policy.Nudges), Outcome: r.Outcome,
	}}, r.ID)
}

// expire closes a request nobody took in time and points the student to
// applying directly.
func (s *Store) expire(ctx context.Context, tx *sql.Tx, now time.Time, requestID int64) error {
	r, err := getRequest(ctx, tx, requestID)
	if errors.Is(err, referral.ErrNotFound) {
		return nil
	}
	if err != nil || !r.State.Matchable() {
		return err
	}
	was := r.State
	if err := setState(ctx, tx, now, &r, referral.Expired, `, closed_at = ?`, ms(now)); err != nil {
		return err
	}
	if err := addEvent(ctx, tx, now, r, "expired", "", ""); err != nil {
		return err
	}
	if was == referral.Offered {
		if err := s.closeOffers(ctx, tx, now, r, "expired"); err != nil {
			return err
		}
	}
	return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
		Kind: referral.NoticeExpired, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role, JobURL: r.Fields.JobURL,
	}}, r.ID)
}

// pauseEnded resumes a referrer whose /referrer pause days: ran out.
func (s *Store) pauseEnded(ctx context.Context, tx *sql.Tx, now time.Time, referrerRowID int64) error {
	var guildID, userID, status string
	err := tx.QueryRowContext(ctx, `SELECT guild_id, user_id, status FROM referrers WHERE id = ?`, referrerRowID).Scan(&guildID, &userID, &status)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && status != string(referral.Paused)) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.resume(ctx, tx, now, guildID, userID); err != nil {
		return err
	}
	return enqueue(ctx, tx, now, referral.Outgoing{GuildID: guildID, UserID: userID, Notice: referral.Notice{Kind: referral.NoticePauseEnded}}, 0)
}

// MatchWaiting offers waiting requests to referrers who became free with no
// event to say so: an accepted referral left the 30-day capacity window, or
// an offer on another request ended. Joining, resuming and approving match
// at once; this catches the rest on every sweep. Each server and company is
// one transaction, and a company where nobody is free writes nothing. It
// returns how many requests were offered.
func (s *Store) MatchWaiting(ctx context.Context) (int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT guild_id, company_key FROM requests WHERE state = 'waiting'`)
	if err != nil {
		return 0, fmt.Errorf("match waiting: %w", err)
	}
	type key struct{ guildID, company string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.guildID, &k.company); err != nil {
			rows.Close()
			return 0, fmt.Errorf("match waiting: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("match waiting: %w", err)
	}
	offered := 0
	var errs []error
	for _, k := range keys {
		var n int
		err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			ids, err := s.matchWaiting(ctx, tx, now, k.guildID, []referral.Company{{Key: k.company}})
			n = len(ids)
			return err
		})
		if err == nil {
			offered += n
		} else {
			if ctx.Err() != nil {
				return offered, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("match waiting %s in %s: %w", k.company, k.guildID, err))
		}
	}
	return offered, errors.Join(errs...)
}

// EraseOldTexts blanks the intros, notes and links of requests closed longer
// than the retention ago, and old drafts. It returns how many it erased.
func (s *Store) EraseOldTexts(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		cutoff := ms(now.Add(-s.Policy.Retention))
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
