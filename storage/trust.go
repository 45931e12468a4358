package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

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
// that the referrer no longer holds the referrer role they joined with;
// referral.RoleLost says what follows. It reports false and changes nothing
// when the offer is no longer pending or the referrer is no longer active
// through the role (an admin approved them meanwhile, say).
func (s *Store) WithdrawOfferRoleLost(ctx context.Context, offerID int64, leftServer bool) (bool, error) {
	withdrawn := false
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		snap, err := offerSnapshot(ctx, tx, offerID)
		if err != nil || snap.Offer == nil || snap.Offer.State != referral.OfferPending || snap.Offer.ReferrerID == "" {
			return err
		}
		if snap.Referrer, err = findReferrer(ctx, tx, snap.Offer.GuildID, snap.Offer.ReferrerID); err != nil {
			return err
		}
		snap.Policy = s.policy
		c, err := referral.RoleLost(snap, leftServer, now)
		if _, err := s.decide(ctx, tx, now, c, err); err != nil {
			return err
		}
		withdrawn = !c.Empty()
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("withdraw offer (role lost): %w", err)
	}
	return withdrawn, nil
}

// ReportReferrer records a student's report about the referrer who
// accepted one of their requests, as referral.ReportReferrer decides, in
// one transaction. Only the request's student may report, once per request.
func (s *Store) ReportReferrer(ctx context.Context, requestID int64, studentID string) (referral.ReportResult, error) {
	var out referral.ReportResult
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		r, err := getRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		st := referral.ReportState{Snapshot: referral.Snapshot{Request: &r, Policy: s.policy}}
		if r.StudentID == studentID && r.ReferrerID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM reports WHERE request_id = ?`, r.ID).Scan(&n); err != nil {
				return err
			}
			st.AlreadyReported = n > 0
			if st.Referrer, err = findReferrer(ctx, tx, r.GuildID, r.ReferrerID); err != nil {
				return err
			}
			g, err := guildSettings(ctx, tx, r.GuildID)
			if err != nil {
				return err
			}
			st.FallbackChannelID = g.FallbackChannelID
		}
		c, res, err := referral.ReportReferrer(st, studentID, now)
		a, err := s.decide(ctx, tx, now, c, err)
		if err != nil {
			return err
		}
		out = res
		out.Request = a.request(r)
		out.NextAsked = res.Requeued && a.wasOffered(r.ID)
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

// OfferRoleToCheck is the server of offerID and the referrer role userID
// must still hold to accept it; role "" when there is nothing to check: an
// admin approved them, the server has no role, or the offer is not a
// pending one of userID's (the Accept itself then refuses). The check at
// Accept uses it, so a role removed after delivery still counts.
func (s *Store) OfferRoleToCheck(ctx context.Context, offerID int64, userID string) (guildID, roleID string, err error) {
	o, err := getOffer(ctx, s.read, offerID)
	if errors.Is(err, referral.ErrNotFound) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("offer role to check: %w", err)
	}
	if o.ReferrerID != userID || o.State != referral.OfferPending {
		return o.GuildID, "", nil
	}
	roleID, err = s.RoleToCheck(ctx, o.GuildID, o.ReferrerID)
	return o.GuildID, roleID, err
}

// RoleRegained makes a pending referrer who holds the server's referrer
// role again active through it (see referral.RoleRegained), reporting
// whether it did. Called at their commands, with the member's roles.
func (s *Store) RoleRegained(ctx context.Context, guildID, userID string, memberRoles []string) (bool, error) {
	var status referral.ReferrerStatus
	err := s.read.QueryRowContext(ctx, `SELECT status FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, userID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && status != referral.Pending) {
		return false, nil // the common case costs one read
	}
	if err != nil {
		return false, fmt.Errorf("role regained: %w", err)
	}
	changed := false
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		ref, err := getReferrer(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		g, err := guildSettings(ctx, tx, guildID)
		if err != nil {
			return err
		}
		c, err := referral.RoleRegained(referral.Snapshot{Referrer: &ref, Policy: s.policy}, g.ReferrerRoleID, memberRoles, now)
		if _, err := s.decide(ctx, tx, now, c, err); err != nil {
			return err
		}
		changed = !c.Empty()
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("role regained: %w", err)
	}
	return changed, nil
}
