package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

const requestColumns = `id, guild_id, student_id, company_key, company_name, state, job_url, role, intro, resume_url, note,
	referrer_id, outcome, created_at, accepted_at, submitted_at,
	(SELECT MIN(due_at) FROM steps WHERE kind = 'nudge' AND subject_id = requests.id AND done_at IS NULL)`

type scanner interface{ Scan(dest ...any) error }

func scanRequest(row scanner) (referral.Request, error) {
	var r referral.Request
	var created int64
	var accepted, submitted, nudge sql.NullInt64
	err := row.Scan(&r.ID, &r.GuildID, &r.StudentID, &r.Company.Key, &r.Company.Name, &r.State,
		&r.Fields.JobURL, &r.Fields.Role, &r.Fields.Intro, &r.Fields.ResumeURL, &r.Fields.Note,
		&r.ReferrerID, &r.Outcome, &created, &accepted, &submitted, &nudge)
	if errors.Is(err, sql.ErrNoRows) {
		return r, referral.ErrNotFound
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.AcceptedAt = fromMS(accepted)
	r.SubmittedAt = fromMS(submitted)
	r.NextNudgeAt = fromMS(nudge)
	return r, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getRequest(ctx context.Context, q querier, id int64) (referral.Request, error) {
	return scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ? AND state != 'draft'`, id))
}

// studentRequest loads a request and checks it is the student's own.
func studentRequest(ctx context.Context, tx *sql.Tx, studentID string, id int64) (referral.Request, error) {
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return r, err
	}
	if r.StudentID != studentID {
		// Someone else's number reads as unknown: it reveals nothing.
		return r, referral.ErrNotFound
	}
	return r, nil
}

// setState moves a request from its expected state; RowsAffected decides races.
func setState(ctx context.Context, tx *sql.Tx, now time.Time, r *referral.Request, to referral.State, extra string, args ...any) error {
	if err := referral.Move(r.State, to); err != nil {
		return err
	}
	q := `UPDATE requests SET state = ?, updated_at = ?` + extra + ` WHERE id = ? AND state = ?`
	all := append([]any{to, ms(now)}, args...)
	all = append(all, r.ID, r.State)
	res, err := tx.ExecContext(ctx, q, all...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return referral.ErrMovedOn
	}
	r.State = to
	return nil
}

func addEvent(ctx context.Context, tx *sql.Tx, now time.Time, r referral.Request, kind, actor, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events (request_id, guild_id, kind, actor_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.GuildID, kind, actor, detail, ms(now))
	return err
}

func addStep(ctx context.Context, tx *sql.Tx, kind referral.StepKind, subject int64, seq int, due time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO steps (kind, subject_id, seq, due_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, subject_id, seq) DO UPDATE SET due_at = excluded.due_at, done_at = NULL, attempts = 0, last_error = ''`,
		kind, subject, seq, ms(due))
	return err
}

// endSteps marks a subject's pending steps of the given kinds done.
func endSteps(ctx context.Context, tx *sql.Tx, now time.Time, subject int64, kinds ...referral.StepKind) error {
	for _, k := range kinds {
		if _, err := tx.ExecContext(ctx, `UPDATE steps SET done_at = ? WHERE kind = ? AND subject_id = ? AND done_at IS NULL`, ms(now), k, subject); err != nil {
			return err
		}
	}
	return nil
}

// SaveDraft stores (or updates, when d.ID is set) a request kept for editing.
func (s *Store) SaveDraft(ctx context.Context, d referral.DraftRequest) (int64, error) {
	f := d.Fields
	id := d.ID
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if id != 0 {
			res, err := tx.ExecContext(ctx, `UPDATE drafts SET job_url = ?, role = ?, intro = ?, resume_url = ?, note = ?, updated_at = ?
				WHERE id = ? AND student_id = ?`, f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now), id, d.StudentID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				return nil
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO drafts (guild_id, student_id, company_key, company_name, job_url, role, intro, resume_url, note, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.GuildID, d.StudentID, d.Company.Key, d.Company.Name,
			f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("save draft: %w", err)
	}
	return id, nil
}

// Draft loads a kept draft.
func (s *Store) Draft(ctx context.Context, id int64) (referral.DraftRequest, error) {
	var d referral.DraftRequest
	var updated int64
	err := s.read.QueryRowContext(ctx, `SELECT id, guild_id, student_id, company_key, company_name, job_url, role, intro, resume_url, note, updated_at
		FROM drafts WHERE id = ?`, id).Scan(&d.ID, &d.GuildID, &d.StudentID, &d.Company.Key, &d.Company.Name,
		&d.Fields.JobURL, &d.Fields.Role, &d.Fields.Intro, &d.Fields.ResumeURL, &d.Fields.Note, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return d, referral.ErrNotFound
	}
	d.UpdatedAt = time.UnixMilli(updated).UTC()
	return d, err
}

// CreateRequest stores a validated request, enforces the student's limits,
// schedules its expiry and asks the best referrer, all at once.
func (s *Store) CreateRequest(ctx context.Context, in referral.NewRequest) (referral.Submission, error) {
	var out referral.Submission
	if problems := in.Fields.Validate(); len(problems) > 0 {
		return out, fmt.Errorf("create request: %s: %s", problems[0].Field, problems[0].Message)
	}
	f := in.Fields.Clean()
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var open, sameJob int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(job_url = ?), 0) FROM requests
			WHERE student_id = ? AND state IN ('waiting', 'offered', 'accepted')`, f.JobURL, in.StudentID).Scan(&open, &sameJob)
		if err != nil {
			return err
		}
		if sameJob > 0 {
			return referral.ErrDuplicateJob
		}
		if open >= s.Policy.MaxOpenPerStudent {
			return referral.ErrTooManyOpen
		}
		// Older waiting requests for the company go first: a referrer whose
		// capacity freed since the last sweep takes the one that waited.
		if _, err := s.matchWaiting(ctx, tx, now, in.GuildID, []referral.Company{in.Company}); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO requests (guild_id, student_id, company_key, company_name, state, job_url, role, intro, resume_url, note, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?)`, in.GuildID, in.StudentID, in.Company.Key, in.Company.Name,
			f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now), ms(now))
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if in.DraftID != 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE id = ? AND student_id = ?`, in.DraftID, in.StudentID); err != nil {
				return err
			}
		}
		r, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, now, r, "created", in.StudentID, ""); err != nil {
			return err
		}
		if err := addStep(ctx, tx, referral.StepExpire, r.ID, 0, now.Add(s.Policy.RequestTTL)); err != nil {
			return err
		}
		offered, err := s.offerNext(ctx, tx, now, &r)
		if err != nil {
			return err
		}
		out = referral.Submission{Request: r, Offered: offered}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("create request: %w", err)
	}
	return out, nil
}

// StudentRequests lists a student's requests, newest first.
func (s *Store) StudentRequests(ctx context.Context, studentID string) ([]referral.Request, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE student_id = ? AND state != 'draft' ORDER BY id DESC`, studentID)
	if err != nil {
		return nil, fmt.Errorf("student requests: %w", err)
	}
	defer rows.Close()
	var out []referral.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("student requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WithdrawRequest ends one of the student's open requests; a referrer
// being asked is told it moved on.
func (s *Store) WithdrawRequest(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if r, err = studentRequest(ctx, tx, studentID, id); err != nil {
			return err
		}
		if r.State == referral.Withdrawn {
			return referral.ErrAlreadyDone
		}
		if !r.State.Withdrawable() {
			return referral.ErrWrongState
		}
		was := r.State
		if err := setState(ctx, tx, now, &r, referral.Withdrawn, `, closed_at = ?`, ms(now)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, now, r, "withdrawn", studentID, ""); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, r.ID, referral.StepExpire, referral.StepReminder); err != nil {
			return err
		}
		if was == referral.Offered || was == referral.Accepted {
			if err := s.closeOffers(ctx, tx, now, r, "withdrawn"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("withdraw request: %w", err)
	}
	return r, nil
}

// closeOffers cancels the request's pending offer and tells the referrer
// (asked or accepted) that the request moved on.
func (s *Store) closeOffers(ctx context.Context, tx *sql.Tx, now time.Time, r referral.Request, reason string) error {
	pending, err := idList(ctx, tx, `SELECT id FROM offers WHERE request_id = ? AND state = 'pending'`, r.ID)
	if err != nil {
		return err
	}
	for _, id := range pending {
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET state = 'cancelled', reason = ?, answered_at = ? WHERE id = ? AND state = 'pending'`, reason, ms(now), id); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, id, referral.StepOfferTimeout); err != nil {
			return err
		}
	}
	if r.ReferrerID == "" {
		return nil
	}
	return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.ReferrerID, Notice: referral.Notice{
		Kind: referral.NoticeOfferClosed, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role, Reason: reason,
	}}, r.ID)
}

// RecordOutcome stores what came of a referral and tells the referrer.
func (s *Store) RecordOutcome(ctx context.Context, studentID string, id int64, o referral.Outcome) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if r, err = studentRequest(ctx, tx, studentID, id); err != nil {
			return err
		}
		if r.Outcome == o {
			return referral.ErrAlreadyDone
		}
		to := o.State()
		if err := referral.Move(r.State, to); err != nil {
			return referral.ErrWrongState
		}
		closed := any(nil)
		if o.Final() {
			closed = ms(now)
		}
		if err := setState(ctx, tx, now, &r, to, `, outcome = ?, closed_at = ?`, o, closed); err != nil {
			return err
		}
		r.Outcome = o
		if err := addEvent(ctx, tx, now, r, "outcome", studentID, string(o)); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, r.ID, referral.StepReminder); err != nil {
			return err
		}
		if o.Final() {
			if err := endSteps(ctx, tx, now, r.ID, referral.StepNudge); err != nil {
				return err
			}
			r.NextNudgeAt = time.Time{}
		}
		if r.ReferrerID == "" {
			return nil
		}
		return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.ReferrerID, Notice: referral.Notice{
			Kind: referral.NoticeOutcome, RequestID: r.ID, StudentID: r.StudentID, Company: r.Company.Name, Role: r.Fields.Role, Outcome: o,
		}}, r.ID)
	})
	if err != nil {
		return r, fmt.Errorf("record outcome: %w", err)
	}
	return r, nil
}

// FollowUpNoNews records a "No news yet" answer; the next follow-up stays.
func (s *Store) FollowUpNoNews(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if r, err = studentRequest(ctx, tx, studentID, id); err != nil {
			return err
		}
		if r.State == referral.Closed {
			return referral.ErrAlreadyDone
		}
		return addEvent(ctx, tx, now, r, "no_news", studentID, "")
	})
	if err != nil {
		return r, fmt.Errorf("no news: %w", err)
	}
	return r, nil
}

// KeepInMind asks the referrer of a rejected application to remember the
// student for future openings, once.
func (s *Store) KeepInMind(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if r, err = studentRequest(ctx, tx, studentID, id); err != nil {
			return err
		}
		if r.Outcome != referral.OutcomeRejected || r.ReferrerID == "" {
			return referral.ErrWrongState
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE request_id = ? AND kind = 'keep_in_mind'`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return referral.ErrAlreadyDone
		}
		if err := addEvent(ctx, tx, now, r, "keep_in_mind", studentID, ""); err != nil {
			return err
		}
		return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.ReferrerID, Notice: referral.Notice{
			Kind: referral.NoticeKeepInMind, RequestID: r.ID, StudentID: r.StudentID, Company: r.Company.Name, Role: r.Fields.Role,
		}}, r.ID)
	})
	if err != nil {
		return r, fmt.Errorf("keep in mind: %w", err)
	}
	return r, nil
}
