package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// candidates loads every referrer of the request's company in its server
// with their load, for referral.Rank to filter and order.
func (s *Store) candidates(ctx context.Context, tx *sql.Tx, now time.Time, r referral.Request) ([]referral.Candidate, map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT rf.user_id, rf.status, rf.school, rf.roles, rf.capacity, rf.verified_domain, rf.last_offered_at,
			(SELECT COUNT(*) FROM offers o WHERE o.guild_id = rf.guild_id AND o.referrer_user_id = rf.user_id
				AND (o.state = 'pending' OR (o.state = 'accepted' AND o.answered_at >= ?))),
			EXISTS (SELECT 1 FROM offers o WHERE o.request_id = ? AND o.referrer_user_id = rf.user_id AND o.reason != 'undelivered')
		FROM referrer_companies c JOIN referrers rf ON rf.id = c.referrer_id
		WHERE c.company_key = ? AND rf.guild_id = ?`,
		ms(now.Add(-referral.CapacityWindow)), r.ID, r.Company.Key, r.GuildID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []referral.Candidate
	domains := map[string]string{}
	for rows.Next() {
		var c referral.Candidate
		var last sql.NullInt64
		var domain string
		if err := rows.Scan(&c.UserID, &c.Status, &c.School, &c.Roles, &c.Capacity, &domain, &last, &c.UsedInWindow, &c.AlreadyAsked); err != nil {
			return nil, nil, err
		}
		c.LastOfferedAt = fromMS(last)
		domains[c.UserID] = domain
		out = append(out, c)
	}
	return out, domains, rows.Err()
}

// offerNext asks the best eligible referrer, or leaves the request waiting.
// It reports whether someone is being asked.
func (s *Store) offerNext(ctx context.Context, tx *sql.Tx, now time.Time, r *referral.Request) (bool, error) {
	cands, domains, err := s.candidates(ctx, tx, now, *r)
	if err != nil {
		return false, err
	}
	ranked := referral.Rank(r.Seeker(), cands, now)
	if len(ranked) == 0 {
		if r.State != referral.Waiting {
			if err := setState(ctx, tx, now, r, referral.Waiting, `, referrer_id = ''`); err != nil {
				return false, err
			}
			r.ReferrerID = ""
		}
		return false, nil
	}
	best := ranked[0].UserID
	if err := setState(ctx, tx, now, r, referral.Offered, `, referrer_id = ?`, best); err != nil {
		return false, err
	}
	r.ReferrerID = best
	res, err := tx.ExecContext(ctx, `INSERT INTO offers (request_id, guild_id, referrer_user_id, state, offered_at) VALUES (?, ?, ?, 'pending', ?)`,
		r.ID, r.GuildID, best, ms(now))
	if err != nil {
		return false, err
	}
	offerID, err := res.LastInsertId()
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE referrers SET last_offered_at = ? WHERE guild_id = ? AND user_id = ?`, ms(now), r.GuildID, best); err != nil {
		return false, err
	}
	if err := addEvent(ctx, tx, now, *r, "offered", best, ""); err != nil {
		return false, err
	}
	due := now.Add(s.Policy.OfferTimeout)
	if err := addStep(ctx, tx, referral.StepOfferTimeout, offerID, 0, due); err != nil {
		return false, err
	}
	n := referral.OfferNotice(*r, offerID, best, domains[best])
	n.Due = due // the offer says when it moves on by itself
	return true, enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: best, Notice: n}, r.ID)
}

// moveOn asks the next referrer after an offer ended, telling the student
// when nobody is left.
func (s *Store) moveOn(ctx context.Context, tx *sql.Tx, now time.Time, r *referral.Request) (bool, error) {
	asked, err := s.offerNext(ctx, tx, now, r)
	if err != nil || asked {
		return asked, err
	}
	return false, enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
		Kind: referral.NoticeWaiting, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role,
	}}, r.ID)
}

type offerRow struct {
	id, requestID int64
	referrerID    string
	state         string
}

func getOffer(ctx context.Context, tx *sql.Tx, id int64) (offerRow, error) {
	var o offerRow
	err := tx.QueryRowContext(ctx, `SELECT id, request_id, referrer_user_id, state FROM offers WHERE id = ?`, id).
		Scan(&o.id, &o.requestID, &o.referrerID, &o.state)
	if errors.Is(err, sql.ErrNoRows) {
		return o, referral.ErrNotFound
	}
	return o, err
}

// AnswerOffer applies a referrer's Accept or Decline. Only the referrer asked
// may answer, and only while the offer is pending: a second press or a late
// one changes nothing.
func (s *Store) AnswerOffer(ctx context.Context, offerID int64, userID string, accept bool) (referral.OfferAnswer, error) {
	var out referral.OfferAnswer
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		o, err := getOffer(ctx, tx, offerID)
		if err != nil {
			return err
		}
		if o.referrerID != userID {
			return referral.ErrNotYours
		}
		switch {
		case o.state == "accepted" && accept, o.state == "declined" && !accept:
			return referral.ErrAlreadyDone
		case o.state != "pending":
			return referral.ErrMovedOn
		}
		r, err := getRequest(ctx, tx, o.requestID)
		if err != nil {
			return err
		}
		newState := "declined"
		if accept {
			newState = "accepted"
		}
		res, err := tx.ExecContext(ctx, `UPDATE offers SET state = ?, answered_at = ? WHERE id = ? AND state = 'pending'`, newState, ms(now), offerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return referral.ErrMovedOn
		}
		if err := endSteps(ctx, tx, now, offerID, referral.StepOfferTimeout); err != nil {
			return err
		}
		out.Accepted = accept
		if !accept {
			if err := addEvent(ctx, tx, now, r, "declined", userID, ""); err != nil {
				return err
			}
			out.NextAsked, err = s.moveOn(ctx, tx, now, &r)
			out.Request = r
			return err
		}
		if err := setState(ctx, tx, now, &r, referral.Accepted, `, accepted_at = ?`, ms(now)); err != nil {
			return err
		}
		r.AcceptedAt = now
		if err := addEvent(ctx, tx, now, r, "accepted", userID, ""); err != nil {
			return err
		}
		if err := addStep(ctx, tx, referral.StepReminder, r.ID, 0, now.Add(s.Policy.ReferrerReminder)); err != nil {
			return err
		}
		out.Request = r
		return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
			Kind: referral.NoticeAccepted, RequestID: r.ID, ReferrerID: userID, StudentID: r.StudentID,
			Company: r.Company.Name, Role: r.Fields.Role, JobURL: r.Fields.JobURL,
		}}, r.ID)
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
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		if r, err = getRequest(ctx, tx, requestID); err != nil {
			return err
		}
		if r.ReferrerID != userID {
			return referral.ErrNotYours
		}
		switch r.State {
		case referral.Accepted:
		case referral.Submitted, referral.InProcess, referral.Closed:
			return referral.ErrAlreadyDone
		default:
			return referral.ErrMovedOn
		}
		if err := setState(ctx, tx, now, &r, referral.Submitted, `, submitted_at = ?`, ms(now)); err != nil {
			return err
		}
		r.SubmittedAt = now
		if err := addEvent(ctx, tx, now, r, "submitted", userID, ""); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, r.ID, referral.StepReminder, referral.StepExpire); err != nil {
			return err
		}
		due, ok := s.Policy.NudgeDue(now, 1)
		if ok {
			if err := addStep(ctx, tx, referral.StepNudge, r.ID, 1, due); err != nil {
				return err
			}
			r.NextNudgeAt = due
		}
		return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
			Kind: referral.NoticeSubmitted, RequestID: r.ID, ReferrerID: userID, StudentID: r.StudentID,
			Company: r.Company.Name, Role: r.Fields.Role, Due: r.NextNudgeAt, FollowUps: len(s.Policy.Nudges),
		}}, r.ID)
	})
	if err != nil {
		return r, fmt.Errorf("mark submitted: %w", err)
	}
	return r, nil
}

// matchWaiting offers the server's waiting requests for the given companies,
// oldest first, and tells each student whose request is offered (they were
// promised a DM "as soon as one is asked"); called when referrers become
// available, and by the sweeper for capacity that frees up over time.
func (s *Store) matchWaiting(ctx context.Context, tx *sql.Tx, now time.Time, guildID string, companies []referral.Company) ([]int64, error) {
	var offered []int64
	for _, c := range companies {
		ids, err := idList(ctx, tx, `SELECT id FROM requests WHERE guild_id = ? AND company_key = ? AND state = 'waiting' ORDER BY created_at`, guildID, c.Key)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			r, err := getRequest(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			asked, err := s.offerNext(ctx, tx, now, &r)
			if err != nil {
				return nil, err
			}
			if !asked {
				// Not break: the free referrers may all have been asked
				// about this request already, and a later one is new to them.
				continue
			}
			offered = append(offered, id)
			if r.StudentID == "" {
				continue
			}
			if err := enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
				Kind: referral.NoticeStudentMatched, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role,
			}}, r.ID); err != nil {
				return nil, err
			}
		}
	}
	return offered, nil
}

// handOn passes a departing or pausing referrer's pending offers to the next
// candidate; with includeAccepted (leave, remove) their accepted but not yet
// submitted requests go back to matching as well.
func (s *Store) handOn(ctx context.Context, tx *sql.Tx, now time.Time, guildID, userID, reason string, includeAccepted bool) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, request_id FROM offers WHERE guild_id = ? AND referrer_user_id = ? AND state = 'pending'`, guildID, userID)
	if err != nil {
		return err
	}
	type pair struct{ offer, request int64 }
	var pending []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.offer, &p.request); err != nil {
			rows.Close()
			return err
		}
		pending = append(pending, p)
	}
	rows.Close()
	for _, p := range pending {
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET state = 'cancelled', reason = ?, answered_at = ? WHERE id = ?`, reason, ms(now), p.offer); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, p.offer, referral.StepOfferTimeout); err != nil {
			return err
		}
		r, err := getRequest(ctx, tx, p.request)
		if err != nil {
			return err
		}
		if _, err := s.moveOn(ctx, tx, now, &r); err != nil {
			return err
		}
	}
	if !includeAccepted {
		return nil
	}
	ids, err := idList(ctx, tx, `SELECT id FROM requests WHERE guild_id = ? AND referrer_id = ? AND state = 'accepted'`, guildID, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, err := getRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, r.ID, referral.StepReminder); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, now, r, "referrer_gone", userID, reason); err != nil {
			return err
		}
		if err := enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, UserID: r.StudentID, Notice: referral.Notice{
			Kind: referral.NoticeReferrerGone, RequestID: r.ID, Company: r.Company.Name, Role: r.Fields.Role,
		}}, r.ID); err != nil {
			return err
		}
		if _, err := s.moveOn(ctx, tx, now, &r); err != nil {
			return err
		}
	}
	return nil
}
