package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// trustState reads how a referrer became active and why they are paused.
func trustState(ctx context.Context, q querier, guildID, userID string) (id int64, status referral.ReferrerStatus, via, reason string, err error) {
	err = q.QueryRowContext(ctx, `SELECT id, status, active_via, pause_reason FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, userID).
		Scan(&id, &status, &via, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", "", "", referral.ErrNotReferrer
	}
	return id, status, via, reason, err
}

// newReferrerStatus decides where a new profile starts: paused if the user
// has an open report here (leaving and joining again does not end it),
// active through the role if they hold it, pending otherwise.
func newReferrerStatus(ctx context.Context, tx *sql.Tx, guildID, userID string, hasRole bool) (status referral.ReferrerStatus, via, reason string, err error) {
	var open int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM reports WHERE guild_id = ? AND referrer_id = ? AND resolved_at IS NULL`, guildID, userID).Scan(&open); err != nil {
		return "", "", "", err
	}
	switch {
	case open > 0:
		via = ""
		if hasRole {
			via = referral.ViaRole
		}
		return referral.Paused, via, referral.PauseReported, nil
	case hasRole:
		return referral.Active, referral.ViaRole, "", nil
	}
	return referral.Pending, "", "", nil
}

// logAction writes one line of the trust log.
func logAction(ctx context.Context, tx *sql.Tx, now time.Time, guildID, actorID, action, targetID, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO admin_actions (guild_id, admin_id, action, target_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)`,
		guildID, actorID, action, targetID, detail, ms(now))
	return err
}

// resolveReports closes the open reports about a referrer after an admin acted.
func resolveReports(ctx context.Context, tx *sql.Tx, now time.Time, guildID, referrerID, adminID, resolution string) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE reports SET resolved_at = ?, resolved_by = ?, resolution = ?
		WHERE guild_id = ? AND referrer_id = ? AND resolved_at IS NULL`, ms(now), adminID, resolution, guildID, referrerID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// refuseUnderReview keeps a reported referrer from ending their pause themselves.
func refuseUnderReview(ctx context.Context, tx *sql.Tx, guildID, userID string) error {
	_, _, _, reason, err := trustState(ctx, tx, guildID, userID)
	if err != nil {
		return err
	}
	if reason == referral.PauseReported {
		return referral.ErrUnderReview
	}
	return nil
}

// ReferrerOverview is /referral-admin referrers: every referrer of the
// server with counts, how they became active, open reports, and the
// latest lines of the trust log.
func (s *Store) ReferrerOverview(ctx context.Context, guildID string) (referral.TrustOverview, error) {
	var out referral.TrustOverview
	rows, err := s.Referrers(ctx, guildID)
	if err != nil {
		return out, err
	}
	type trust struct{ via, reason string }
	byUser := map[string]trust{}
	q, err := s.read.QueryContext(ctx, `SELECT user_id, active_via, pause_reason FROM referrers WHERE guild_id = ?`, guildID)
	if err != nil {
		return out, fmt.Errorf("referrer overview: %w", err)
	}
	for q.Next() {
		var u string
		var t trust
		if err := q.Scan(&u, &t.via, &t.reason); err != nil {
			q.Close()
			return out, fmt.Errorf("referrer overview: %w", err)
		}
		byUser[u] = t
	}
	q.Close()
	reports, err := s.openReports(ctx, guildID)
	if err != nil {
		return out, fmt.Errorf("referrer overview: %w", err)
	}
	for _, row := range rows {
		t := byUser[row.Referrer.UserID]
		out.Rows = append(out.Rows, referral.TrustRow{ReferrerRow: row, ActiveVia: t.via, PauseReason: t.reason, OpenReports: reports[row.Referrer.UserID]})
	}
	if out.Actions, err = s.trustLog(ctx, guildID, referral.MaxActionsShown); err != nil {
		return out, fmt.Errorf("referrer overview: %w", err)
	}
	return out, nil
}

func (s *Store) openReports(ctx context.Context, guildID string) (map[string][]referral.Report, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, request_id, reporter_id, referrer_id, at FROM reports
		WHERE guild_id = ? AND resolved_at IS NULL ORDER BY at, id`, guildID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]referral.Report{}
	for rows.Next() {
		var r referral.Report
		var at int64
		if err := rows.Scan(&r.ID, &r.RequestID, &r.ReporterID, &r.ReferrerID, &at); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(at).UTC()
		out[r.ReferrerID] = append(out[r.ReferrerID], r)
	}
	return out, rows.Err()
}

// trustLog is the newest lines of the server's trust log.
func (s *Store) trustLog(ctx context.Context, guildID string, limit int) ([]referral.AdminAction, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT admin_id, action, target_id, detail, at FROM admin_actions
		WHERE guild_id = ? ORDER BY at DESC, id DESC LIMIT ?`, guildID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []referral.AdminAction
	for rows.Next() {
		var a referral.AdminAction
		var at int64
		if err := rows.Scan(&a.ActorID, &a.Action, &a.TargetID, &a.Detail, &at); err != nil {
			return nil, err
		}
		a.At = time.UnixMilli(at).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// RoleToCheck tells the bot whether a referrer's offers depend on the
// server's referrer role: it returns the role to look for, or "" when the
// referrer was approved by an admin, is not active, or the server has no
// referrer role set.
func (s *Store) RoleToCheck(ctx context.Context, guildID, userID string) (string, error) {
	var via string
	var status referral.ReferrerStatus
	err := s.read.QueryRowContext(ctx, `SELECT status, active_via FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, userID).Scan(&status, &via)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("role to check: %w", err)
	}
	if status != referral.Active || via != referral.ViaRole {
		return "", nil
	}
	g, err := guildSettings(ctx, s.read, guildID)
	if err != nil {
		return "", fmt.Errorf("role to check: %w", err)
	}
	return g.ReferrerRoleID, nil
}

// WithdrawOfferRoleLost runs when the bot, about to deliver an offer, finds
// that the referrer no longer holds the referrer role they joined with. In
// one transaction: the referrer becomes pending and the bot's "role lost"
// is logged; the undelivered offer is cancelled as "undelivered" (they
// never saw it, so an admin's approve later may ask them again) and its
// request goes to the next candidate; their other pending offers are
// handed on; queued offer notices to them are dropped; and, unless they
// left the server, they are told why. It reports false and changes nothing
// when the offer is no longer pending or the referrer is no longer active
// through the role (an admin approved them meanwhile, say).
func (s *Store) WithdrawOfferRoleLost(ctx context.Context, offerID int64, leftServer bool) (bool, error) {
	withdrawn := false
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var guildID, userID, state string
		var requestID int64
		err := tx.QueryRowContext(ctx, `SELECT guild_id, referrer_user_id, state, request_id FROM offers WHERE id = ?`, offerID).
			Scan(&guildID, &userID, &state, &requestID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if state != "pending" || userID == "" {
			return nil
		}
		id, status, via, _, err := trustState(ctx, tx, guildID, userID)
		if errors.Is(err, referral.ErrNotReferrer) {
			return nil
		}
		if err != nil {
			return err
		}
		if status != referral.Active || via != referral.ViaRole {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = 'pending', active_via = '', updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return err
		}
		detail := fmt.Sprintf("offer of request #%d withdrawn", requestID)
		if leftServer {
			detail = "left the server; " + detail
		}
		if err := logAction(ctx, tx, now, guildID, "", referral.ActionRoleLost, userID, detail); err != nil {
			return err
		}
		// Cancelled as "undelivered": it does not count as asked (see candidates).
		if _, err := tx.ExecContext(ctx, `UPDATE offers SET state = 'cancelled', reason = 'undelivered', answered_at = ? WHERE id = ?`, ms(now), offerID); err != nil {
			return err
		}
		if err := endSteps(ctx, tx, now, offerID, referral.StepOfferTimeout); err != nil {
			return err
		}
		r, err := getRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		if err := addEvent(ctx, tx, now, r, "offer_withdrawn", userID, "role_lost"); err != nil {
			return err
		}
		if r.State == referral.Offered && r.ReferrerID == userID {
			if _, err := s.moveOn(ctx, tx, now, &r); err != nil {
				return err
			}
		}
		if err := s.handOn(ctx, tx, now, guildID, userID, "role_lost", false); err != nil {
			return err
		}
		// None of their offers is pending now: notices not yet sent are stale.
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE guild_id = ? AND user_id = ? AND kind = ? AND sent_at IS NULL AND failed_at IS NULL`,
			guildID, userID, referral.NoticeOffer); err != nil {
			return err
		}
		if !leftServer {
			if err := enqueue(ctx, tx, now, referral.Outgoing{GuildID: guildID, UserID: userID, Notice: referral.Notice{Kind: referral.NoticeRoleLost}}, 0); err != nil {
				return err
			}
		}
		withdrawn = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("withdraw offer (role lost): %w", err)
	}
	return withdrawn, nil
}

// ReportReferrer records a student's report about the referrer who
// accepted one of their requests. In one transaction: the report and its
// log line; the referrer paused until an admin acts, their pending offers
// handed on; the request back to matching if it was not submitted yet; and
// a message for the server's fallback channel. Only the request's student
// may report, once per request.
func (s *Store) ReportReferrer(ctx context.Context, requestID int64, studentID string) (referral.ReportResult, error) {
	var out referral.ReportResult
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		r, err := studentRequest(ctx, tx, studentID, requestID)
		if err != nil {
			return err
		}
		if r.ReferrerID == "" || r.AcceptedAt.IsZero() {
			return referral.ErrWrongState
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM reports WHERE request_id = ?`, r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return referral.ErrAlreadyDone
		}
		referrerID := r.ReferrerID
		out.ReferrerID = referrerID
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (guild_id, request_id, reporter_id, referrer_id, at) VALUES (?, ?, ?, ?, ?)`,
			r.GuildID, r.ID, studentID, referrerID, ms(now)); err != nil {
			return err
		}
		if err := logAction(ctx, tx, now, r.GuildID, studentID, referral.ActionReport, referrerID, fmt.Sprintf("request #%d", r.ID)); err != nil {
			return err
		}
		if err := addEvent(ctx, tx, now, r, "reported", studentID, ""); err != nil {
			return err
		}

		id, _, _, reason, err := trustState(ctx, tx, r.GuildID, referrerID)
		switch {
		case errors.Is(err, referral.ErrNotReferrer):
			// They left already; should they join again, they start paused.
		case err != nil:
			return err
		case reason != referral.PauseReported:
			if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = 'paused', pause_reason = ?, paused_until = NULL, updated_at = ? WHERE id = ?`,
				referral.PauseReported, ms(now), id); err != nil {
				return err
			}
			if err := endSteps(ctx, tx, now, id, referral.StepPauseEnd); err != nil {
				return err
			}
			if err := s.handOn(ctx, tx, now, r.GuildID, referrerID, "reported", false); err != nil {
				return err
			}
			out.Paused = true
		}

		// A referral not submitted yet goes to someone else.
		if r.State == referral.Accepted {
			if err := endSteps(ctx, tx, now, r.ID, referral.StepReminder); err != nil {
				return err
			}
			out.Requeued = true
			if out.NextAsked, err = s.moveOn(ctx, tx, now, &r); err != nil {
				return err
			}
		}
		out.Request = r

		g, err := guildSettings(ctx, tx, r.GuildID)
		if err != nil {
			return err
		}
		if g.FallbackChannelID != "" {
			out.Notified = true
			return enqueue(ctx, tx, now, referral.Outgoing{GuildID: r.GuildID, ChannelID: g.FallbackChannelID, Notice: referral.Notice{
				Kind: referral.NoticeReport, RequestID: r.ID, StudentID: studentID, ReferrerID: referrerID,
				Company: r.Company.Name, Role: r.Fields.Role,
			}}, r.ID)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("report referrer: %w", err)
	}
	return out, nil
}

// StillQueued reports whether an outbox message is still waiting to be
// sent; a withdrawn offer's notice is deleted from the outbox.
func (s *Store) StillQueued(ctx context.Context, outboxID int64) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`, outboxID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("still queued: %w", err)
	}
	return n > 0, nil
}
