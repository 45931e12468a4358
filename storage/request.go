package storage

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/referralbot/referralbot/referral"
)

const requestColumns = `id, guild_id, student_id, company_key, company_name, state, job_url, role, intro, resume_url, note,
	referrer_id, outcome, created_at, accepted_at, submitted_at, closed_at, told,
	(SELECT MIN(due_at) FROM steps WHERE kind = 'nudge' AND subject_id = requests.id AND done_at IS NULL)`

func scanRequest(row scanner) (referral.Request, error) {
	var r referral.Request
	var created int64
	var accepted, submitted, closed, nudge sql.NullInt64
	err := row.Scan(&r.ID, &r.GuildID, &r.StudentID, &r.Company.Key, &r.Company.Name, &r.State,
		&r.Fields.JobURL, &r.Fields.Role, &r.Fields.Intro, &r.Fields.ResumeURL, &r.Fields.Note,
		&r.ReferrerID, &r.Outcome, &created, &accepted, &submitted, &closed, &r.Told, &nudge)
	if errors.Is(err, sql.ErrNoRows) {
		return r, referral.ErrNotFound
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.AcceptedAt = fromMS(accepted)
	r.SubmittedAt = fromMS(submitted)
	r.ClosedAt = fromMS(closed)
	r.NextNudgeAt = fromMS(nudge)
	return r, err
}

func getRequest(ctx context.Context, q querier, id int64) (referral.Request, error) {
	return scanRequest(q.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id))
}

// requestSnapshot loads a request and its pending offer, if any.
func requestSnapshot(ctx context.Context, q querier, id int64) (referral.Snapshot, error) {
	r, err := getRequest(ctx, q, id)
	if err != nil {
		return referral.Snapshot{}, err
	}
	o, err := pendingOffer(ctx, q, id)
	if err != nil {
		return referral.Snapshot{}, err
	}
	return referral.Snapshot{Request: &r, Offer: o}, nil
}

// SaveDraft stores (or updates, when d.ID is set) a request kept for editing.
func (s *Store) SaveDraft(ctx context.Context, d referral.DraftRequest) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		var err error
		id, err = saveDraft(ctx, tx, now, d)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("save draft: %w", err)
	}
	return id, nil
}

// saveDraft overwrites the student's draft d.ID, or else their draft for
// the same company in the server, or keeps a new one: one draft per
// student and company, however often a form is sent back. A draft is
// never a request: it is not offered and not listed by status.
func saveDraft(ctx context.Context, tx *txn, now time.Time, d referral.DraftRequest) (int64, error) {
	f := d.Fields
	if d.ID == 0 {
		err := tx.QueryRowContext(ctx, `SELECT id FROM drafts WHERE student_id = ? AND guild_id = ? AND company_key = ? ORDER BY id DESC LIMIT 1`,
			d.StudentID, d.GuildID, d.Company.Key).Scan(&d.ID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	if d.ID != 0 {
		res, err := tx.ExecContext(ctx, `UPDATE drafts SET job_url = ?, role = ?, intro = ?, resume_url = ?, note = ?, updated_at = ?
			WHERE id = ? AND student_id = ?`, f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now), d.ID, d.StudentID)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return d.ID, nil
		}
	}
	var editOf any
	if d.EditOf != 0 {
		editOf = d.EditOf
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO drafts (guild_id, student_id, company_key, company_name, job_url, role, intro, resume_url, note, updated_at, edit_of)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.GuildID, d.StudentID, d.Company.Key, d.Company.Name,
		f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(now), editOf).Scan(&id)
	return id, err
}

// Draft loads a kept draft.
func (s *Store) Draft(ctx context.Context, id int64) (referral.DraftRequest, error) {
	return getDraft(ctx, s.read, id)
}

func getDraft(ctx context.Context, q querier, id int64) (referral.DraftRequest, error) {
	var d referral.DraftRequest
	var updated int64
	var editOf sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, guild_id, student_id, company_key, company_name, job_url, role, intro, resume_url, note, updated_at, edit_of
		FROM drafts WHERE id = ?`, id).Scan(&d.ID, &d.GuildID, &d.StudentID, &d.Company.Key, &d.Company.Name,
		&d.Fields.JobURL, &d.Fields.Role, &d.Fields.Intro, &d.Fields.ResumeURL, &d.Fields.Note, &updated, &editOf)
	d.EditOf = editOf.Int64
	if errors.Is(err, sql.ErrNoRows) {
		return d, referral.ErrNotFound
	}
	d.UpdatedAt = time.UnixMilli(updated).UTC()
	return d, err
}

// openRequests are the student's requests that count against the limits.
func openRequests(ctx context.Context, tx *txn, studentID string) ([]referral.Request, error) {
	var out []referral.Request
	err := eachRow(ctx, tx, `SELECT `+requestColumns+` FROM requests WHERE student_id = ? AND state IN ('waiting', 'offered', 'accepted')`,
		[]any{studentID}, func(rows *sql.Rows) error {
			r, err := scanRequest(rows)
			out = append(out, r)
			return err
		})
	return out, err
}

// CreateRequest stores a validated request, enforces the student's limits,
// schedules its expiry and asks the best referrer, all at once.
func (s *Store) CreateRequest(ctx context.Context, in referral.NewRequest) (referral.Submission, error) {
	var out referral.Submission
	if problems := in.Fields.Validate(); len(problems) > 0 {
		return out, fmt.Errorf("create request: %s: %s", problems[0].Field, problems[0].Message)
	}
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		open, err := openRequests(ctx, tx, in.StudentID)
		if err != nil {
			return err
		}
		r, err := referral.Create(in, open, s.policy, now)
		if err != nil {
			return err
		}
		out, err = s.createRequest(ctx, tx, now, r, in.DraftID)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("create request: %w", err)
	}
	return out, nil
}

// createRequest stores r, deletes the draft it came from, and starts its
// lifecycle.
func (s *Store) createRequest(ctx context.Context, tx *txn, now time.Time, r referral.Request, draftID int64) (referral.Submission, error) {
	// Older waiting requests for the company go first: a referrer whose
	// capacity freed since the last sweep takes the one that waited.
	a := newApplied()
	if err := s.matchWaiting(ctx, tx, now, r.GuildID, []referral.Company{r.Company}, a); err != nil {
		return referral.Submission{}, err
	}
	f := r.Fields
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO requests (guild_id, student_id, company_key, company_name, state, job_url, role, intro, resume_url, note, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.GuildID, r.StudentID, r.Company.Key, r.Company.Name, r.State,
		f.JobURL, f.Role, f.Intro, f.ResumeURL, f.Note, ms(r.CreatedAt), ms(now)).Scan(&id); err != nil {
		return referral.Submission{}, err
	}
	if draftID != 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE id = ? AND student_id = ?`, draftID, r.StudentID); err != nil {
			return referral.Submission{}, err
		}
	}
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return referral.Submission{}, err
	}
	c, err := referral.Created(referral.Snapshot{Request: &r, Policy: s.policy}, now)
	if err != nil {
		return referral.Submission{}, err
	}
	if err := s.run(ctx, tx, now, c, a); err != nil {
		return referral.Submission{}, err
	}
	return referral.Submission{Request: a.request(r), Offered: a.wasOffered(id)}, nil
}

// SubmitRequest handles the request modal in one transaction: a form that
// breaks a rule, or that a limit refuses (open requests, a duplicate job
// link), is kept as a draft (the edited one is overwritten) for "Edit
// request"; a good one becomes a request, the draft it came from deleted,
// and the best referrer is asked. Editing a draft that is gone is
// ErrNotFound; someone else's, ErrNotYours.
func (s *Store) SubmitRequest(ctx context.Context, in referral.RequestForm) (referral.SubmitResult, error) {
	var out referral.SubmitResult
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		out = referral.SubmitResult{} // a rerun after a conflict starts afresh
		if in.DraftID != 0 {
			d, err := getDraft(ctx, tx, in.DraftID)
			if err != nil {
				return err
			}
			if d.StudentID != in.StudentID {
				return referral.ErrNotYours
			}
			in.GuildID, in.Company = d.GuildID, d.Company
			if d.EditOf != 0 {
				return s.submitEdit(ctx, tx, now, d, in.Fields, &out)
			}
		}
		open, err := openRequests(ctx, tx, in.StudentID)
		if err != nil {
			return err
		}
		r, problems, refused := referral.CheckForm(in, open, s.policy, now)
		if len(problems) == 0 && refused == nil {
			out.Sent = true
			out.Submission, err = s.createRequest(ctx, tx, now, r, in.DraftID)
			return err
		}
		if !errors.Is(refused, referral.ErrTooManyOpen) && !errors.Is(refused, referral.ErrDuplicateJob) && refused != nil {
			return refused
		}
		out.Problems, out.Refused, out.MaxOpen = problems, refused, s.policy.MaxOpenPerStudent
		out.DraftID, err = saveDraft(ctx, tx, now, referral.DraftRequest{ID: in.DraftID, GuildID: in.GuildID, StudentID: in.StudentID,
			Company: in.Company, Fields: in.Fields.Clean()})
		return err
	})
	if err != nil {
		return out, fmt.Errorf("submit request: %w", err)
	}
	return out, nil
}

// StudentRequests lists a student's requests, newest first.
func (s *Store) StudentRequests(ctx context.Context, studentID string) ([]referral.Request, error) {
	var out []referral.Request
	// Sorted here, not by ORDER BY: the index is by (student_id, state),
	// and SQLite's sorter for a few rows this wide cost more than the
	// query itself (about 25 µs of each /referral status).
	err := eachRow(ctx, s.read, `SELECT `+requestColumns+` FROM requests WHERE student_id = ?`, []any{studentID}, func(rows *sql.Rows) error {
		r, err := scanRequest(rows)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("student requests: %w", err)
	}
	slices.SortFunc(out, func(a, b referral.Request) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}

// WithdrawRequest ends one of the student's open requests; a referrer
// being asked is told it moved on.
func (s *Store) WithdrawRequest(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		snap, err := requestSnapshot(ctx, tx, id)
		if err != nil {
			return err
		}
		r = *snap.Request
		c, err := referral.Withdraw(snap, studentID, now)
		a, err := s.decide(ctx, tx, now, c, err)
		if err == nil {
			r = a.request(r)
		}
		return err
	})
	if err != nil {
		return r, fmt.Errorf("withdraw request: %w", err)
	}
	return r, nil
}

// studentEvent loads one of the student's requests and applies what
// decide makes of it.
func (s *Store) studentEvent(ctx context.Context, name string, id int64, decide func(tx *txn, snap referral.Snapshot, now time.Time) (referral.Change, error)) (referral.Request, error) {
	var r referral.Request
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		loaded, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		c, err := decide(tx, referral.Snapshot{Request: &loaded, Policy: s.policy}, now)
		a, err := s.decide(ctx, tx, now, c, err)
		if err == nil {
			r = a.request(loaded)
		}
		return err
	})
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// RecordOutcome stores what came of a referral and tells the referrer.
func (s *Store) RecordOutcome(ctx context.Context, studentID string, id int64, o referral.Outcome) (referral.Request, error) {
	return s.studentEvent(ctx, "record outcome", id, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.RecordOutcome(snap, studentID, o, now)
	})
}

// FollowUpNoNews records a "No news yet" answer; the next follow-up stays.
func (s *Store) FollowUpNoNews(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	return s.studentEvent(ctx, "no news", id, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.NoNews(snap, studentID, now)
	})
}

// KeepInMind asks the referrer of a rejected application to remember the
// student for future openings, once.
func (s *Store) KeepInMind(ctx context.Context, studentID string, id int64) (referral.Request, error) {
	return s.studentEvent(ctx, "keep in mind", id, func(tx *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE request_id = ? AND kind = 'keep_in_mind'`, id).Scan(&n); err != nil {
			return referral.Change{}, err
		}
		return referral.KeepInMind(snap, studentID, n > 0, now)
	})
}
