package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// GuildSettings reads a server's settings; an unknown server has none set.
func (s *Store) GuildSettings(ctx context.Context, guildID string) (referral.GuildSettings, error) {
	return guildSettings(ctx, s.read, guildID)
}

func guildSettings(ctx context.Context, q querier, guildID string) (referral.GuildSettings, error) {
	g := referral.GuildSettings{GuildID: guildID}
	err := q.QueryRowContext(ctx, `SELECT digest_channel_id, fallback_channel_id, referrer_role_id FROM guild_settings WHERE guild_id = ?`, guildID).
		Scan(&g.DigestChannelID, &g.FallbackChannelID, &g.ReferrerRoleID)
	if errors.Is(err, sql.ErrNoRows) {
		return g, nil
	}
	if err != nil {
		return g, fmt.Errorf("guild settings: %w", err)
	}
	return g, nil
}

// SetupGuild stores a server's channels and referrer role.
func (s *Store) SetupGuild(ctx context.Context, g referral.GuildSettings) error {
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO guild_settings (guild_id, digest_channel_id, fallback_channel_id, referrer_role_id, digest_since, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (guild_id) DO UPDATE SET digest_channel_id = excluded.digest_channel_id,
				fallback_channel_id = excluded.fallback_channel_id, referrer_role_id = excluded.referrer_role_id,
				digest_since = COALESCE(guild_settings.digest_since, excluded.digest_since), updated_at = excluded.updated_at`,
			g.GuildID, g.DigestChannelID, g.FallbackChannelID, g.ReferrerRoleID, ms(now), ms(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("setup guild: %w", err)
	}
	return nil
}

const referrerColumns = `id, guild_id, user_id, status, school, roles, capacity, paused_until, pause_reason, verified_domain, last_offered_at, created_at, updated_at`

func scanReferrer(row scanner) (int64, referral.Referrer, error) {
	var id int64
	var r referral.Referrer
	var paused, last sql.NullInt64
	var created, updated int64
	err := row.Scan(&id, &r.GuildID, &r.UserID, &r.Status, &r.School, &r.Roles, &r.Capacity, &paused, &r.PauseReason, &r.VerifiedDomain, &last, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, r, referral.ErrNotReferrer
	}
	r.PausedUntil = fromMS(paused)
	r.LastOfferedAt = fromMS(last)
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.UpdatedAt = time.UnixMilli(updated).UTC()
	return id, r, err
}

func getReferrer(ctx context.Context, q querier, guildID, userID string) (int64, referral.Referrer, error) {
	id, r, err := scanReferrer(q.QueryRowContext(ctx, `SELECT `+referrerColumns+` FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, userID))
	if err != nil {
		return id, r, err
	}
	r.Companies, err = referrerCompanies(ctx, q, id)
	return id, r, err
}

func referrerCompanies(ctx context.Context, q querier, id int64) ([]referral.Company, error) {
	rows, err := q.QueryContext(ctx, `SELECT company_key, company_name FROM referrer_companies WHERE referrer_id = ? ORDER BY rowid`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []referral.Company
	for rows.Next() {
		var c referral.Company
		if err := rows.Scan(&c.Key, &c.Name); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// JoinReferrer creates or updates the caller's profile. Holders of the
// server's referrer role are active at once, everyone else waits for an
// admin; an active referrer is matched with waiting requests right away.
func (s *Store) JoinReferrer(ctx context.Context, in referral.JoinInput) (referral.JoinResult, error) {
	var out referral.JoinResult
	if len(in.Companies) == 0 {
		return out, errors.New("join referrer: no companies")
	}
	if in.Capacity != 0 {
		if err := referral.CheckCapacity(in.Capacity); err != nil {
			return out, fmt.Errorf("join referrer: %w", err)
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		g, err := guildSettings(ctx, tx, in.GuildID)
		if err != nil {
			return err
		}
		hasRole := g.ReferrerRoleID != "" && contains(in.MemberRoles, g.ReferrerRoleID)
		id, existing, err := getReferrer(ctx, tx, in.GuildID, in.UserID)
		switch {
		case errors.Is(err, referral.ErrNotReferrer):
			out.Created = true
			status, via, reason, err := newReferrerStatus(ctx, tx, in.GuildID, in.UserID, hasRole)
			if err != nil {
				return err
			}
			capacity := in.Capacity
			if capacity == 0 {
				capacity = s.Policy.DefaultCapacity
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO referrers (guild_id, user_id, status, school, roles, capacity, active_via, pause_reason, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.GuildID, in.UserID, status, in.School, in.Roles, capacity, via, reason, ms(now), ms(now))
			if err != nil {
				return err
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			status, via := existing.Status, ""
			if status == referral.Pending && hasRole {
				status, via = referral.Active, referral.ViaRole
			}
			capacity := existing.Capacity
			if in.Capacity != 0 {
				capacity = in.Capacity
			}
			school, roles := existing.School, existing.Roles
			if in.School != "" {
				school = in.School
			}
			if in.Roles != "" {
				roles = in.Roles
			}
			if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = ?, school = ?, roles = ?, capacity = ?, updated_at = ?,
				active_via = CASE WHEN ? != '' THEN ? ELSE active_via END WHERE id = ?`,
				status, school, roles, capacity, ms(now), via, via, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM referrer_companies WHERE referrer_id = ?`, id); err != nil {
				return err
			}
		}
		for _, c := range in.Companies {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO referrer_companies (referrer_id, company_key, company_name) VALUES (?, ?, ?)`, id, c.Key, c.Name); err != nil {
				return err
			}
		}
		if _, out.Referrer, err = getReferrer(ctx, tx, in.GuildID, in.UserID); err != nil {
			return err
		}
		if out.Referrer.Status == referral.Active {
			out.Offered, err = s.matchWaiting(ctx, tx, now, in.GuildID, in.Companies)
		}
		return err
	})
	if err != nil {
		return out, fmt.Errorf("join referrer: %w", err)
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// PauseReferrer stops offers to a referrer (until a time, or zero for until
// resumed) and hands their pending offers on.
func (s *Store) PauseReferrer(ctx context.Context, guildID, userID string, until time.Time) (referral.Referrer, error) {
	var r referral.Referrer
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		id, cur, err := getReferrer(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		if cur.Status == referral.Pending {
			return referral.ErrWrongState
		}
		if err := refuseUnderReview(ctx, tx, guildID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = 'paused', paused_until = ?, updated_at = ? WHERE id = ?`, ms(until), ms(now), id); err != nil {
			return err
		}
		if !until.IsZero() {
			if err := addStep(ctx, tx, referral.StepPauseEnd, id, 0, until); err != nil {
				return err
			}
		} else if err := endSteps(ctx, tx, now, id, referral.StepPauseEnd); err != nil {
			return err
		}
		if err := s.handOn(ctx, tx, now, guildID, userID, "paused", false); err != nil {
			return err
		}
		_, r, err = getReferrer(ctx, tx, guildID, userID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("pause referrer: %w", err)
	}
	return r, nil
}

// ResumeReferrer makes a paused referrer active and matches waiting requests.
func (s *Store) ResumeReferrer(ctx context.Context, guildID, userID string) (referral.Referrer, error) {
	var r referral.Referrer
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var err error
		r, err = s.resume(ctx, tx, now, guildID, userID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("resume referrer: %w", err)
	}
	return r, nil
}

func (s *Store) resume(ctx context.Context, tx *sql.Tx, now time.Time, guildID, userID string) (referral.Referrer, error) {
	id, cur, err := getReferrer(ctx, tx, guildID, userID)
	if err != nil {
		return cur, err
	}
	switch cur.Status {
	case referral.Active:
		return cur, referral.ErrAlreadyDone
	case referral.Pending:
		return cur, referral.ErrWrongState
	}
	if err := refuseUnderReview(ctx, tx, guildID, userID); err != nil {
		return cur, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = 'active', paused_until = NULL, updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
		return cur, err
	}
	if err := endSteps(ctx, tx, now, id, referral.StepPauseEnd); err != nil {
		return cur, err
	}
	if _, err := s.matchWaiting(ctx, tx, now, guildID, cur.Companies); err != nil {
		return cur, err
	}
	_, cur, err = getReferrer(ctx, tx, guildID, userID)
	return cur, err
}

// LeaveReferrer deletes the caller's profile; their open offers and
// unsubmitted referrals go to the next referrer.
func (s *Store) LeaveReferrer(ctx context.Context, guildID, userID string) error {
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		return s.deleteReferrer(ctx, tx, now, guildID, userID, "left")
	})
	if err != nil {
		return fmt.Errorf("leave referrer: %w", err)
	}
	return nil
}

func (s *Store) deleteReferrer(ctx context.Context, tx *sql.Tx, now time.Time, guildID, userID, reason string) error {
	id, _, err := getReferrer(ctx, tx, guildID, userID)
	if err != nil {
		return err
	}
	// Delete first so that matching cannot pick them again.
	if _, err := tx.ExecContext(ctx, `DELETE FROM referrers WHERE id = ?`, id); err != nil {
		return err
	}
	if err := endSteps(ctx, tx, now, id, referral.StepPauseEnd); err != nil {
		return err
	}
	return s.handOn(ctx, tx, now, guildID, userID, reason, true)
}

// ApproveReferrer makes a pending referrer active, or clears a reported
// one (their open reports are resolved), and matches waiting requests. An
// approved referrer is active on the admin's word: no role check.
func (s *Store) ApproveReferrer(ctx context.Context, guildID, userID, adminID string) (referral.Referrer, error) {
	var r referral.Referrer
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		id, cur, err := getReferrer(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		_, _, _, reason, err := trustState(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		if cur.Status != referral.Pending && reason != referral.PauseReported {
			return referral.ErrAlreadyDone
		}
		if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = 'active', active_via = 'admin', pause_reason = '', paused_until = NULL, updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return err
		}
		detail := ""
		if n, err := resolveReports(ctx, tx, now, guildID, userID, adminID, "approved"); err != nil {
			return err
		} else if n > 0 {
			detail = "report cleared"
		}
		if err := logAction(ctx, tx, now, guildID, adminID, referral.ActionApprove, userID, detail); err != nil {
			return err
		}
		if _, err := s.matchWaiting(ctx, tx, now, guildID, cur.Companies); err != nil {
			return err
		}
		_, r, err = getReferrer(ctx, tx, guildID, userID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("approve referrer: %w", err)
	}
	return r, nil
}

// RemoveReferrer ends a referrer's profile on an admin's word.
func (s *Store) RemoveReferrer(ctx context.Context, guildID, userID, adminID string) error {
	err := s.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := adminAction(ctx, tx, now, guildID, adminID, "remove", userID); err != nil {
			return err
		}
		if _, err := resolveReports(ctx, tx, now, guildID, userID, adminID, "removed"); err != nil {
			return err
		}
		return s.deleteReferrer(ctx, tx, now, guildID, userID, "removed")
	})
	if err != nil {
		return fmt.Errorf("remove referrer: %w", err)
	}
	return nil
}

func adminAction(ctx context.Context, tx *sql.Tx, now time.Time, guildID, adminID, action, target string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO admin_actions (guild_id, admin_id, action, target_id, at) VALUES (?, ?, ?, ?, ?)`,
		guildID, adminID, action, target, ms(now))
	return err
}

// referrerStats counts a referrer's work in a server.
func (s *Store) referrerStats(ctx context.Context, q querier, guildID, userID string, now time.Time) (referral.ReferrerStats, error) {
	var st referral.ReferrerStats
	var last sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT
			COUNT(*),
			COALESCE(SUM(state = 'accepted'), 0),
			COALESCE(SUM(state = 'declined'), 0),
			COALESCE(SUM(state = 'pending' OR (state = 'accepted' AND answered_at >= ?)), 0),
			MAX(COALESCE(answered_at, offered_at))
		FROM offers WHERE guild_id = ? AND referrer_user_id = ?`, ms(now.Add(-referral.CapacityWindow)), guildID, userID).
		Scan(&st.Offered, &st.Accepted, &st.Declined, &st.UsedInWindow, &last)
	if err != nil {
		return st, err
	}
	st.LastActivity = fromMS(last)
	err = q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(submitted_at IS NOT NULL), 0),
			COALESCE(SUM(outcome = 'screen'), 0),
			COALESCE(SUM(outcome = 'interview'), 0),
			COALESCE(SUM(outcome = 'offer'), 0)
		FROM requests WHERE guild_id = ? AND referrer_id = ? AND state IN ('submitted', 'in_process', 'closed')`, guildID, userID).
		Scan(&st.Submitted, &st.Screens, &st.Interviews, &st.Offers)
	return st, err
}

// ReferrerProfile is the caller's profile with counts.
func (s *Store) ReferrerProfile(ctx context.Context, guildID, userID string) (referral.ReferrerRow, error) {
	var row referral.ReferrerRow
	_, r, err := getReferrer(ctx, s.read, guildID, userID)
	if err != nil {
		return row, err
	}
	st, err := s.referrerStats(ctx, s.read, guildID, userID, s.Now())
	if err != nil {
		return row, fmt.Errorf("referrer profile: %w", err)
	}
	return referral.ReferrerRow{Referrer: r, Stats: st}, nil
}

// Referrers lists a server's referrers: pending first, then by name order of ids.
func (s *Store) Referrers(ctx context.Context, guildID string) ([]referral.ReferrerRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+referrerColumns+` FROM referrers WHERE guild_id = ? ORDER BY status = 'pending' DESC, created_at`, guildID)
	if err != nil {
		return nil, fmt.Errorf("referrers: %w", err)
	}
	var list []referral.ReferrerRow
	var ids []int64
	for rows.Next() {
		id, r, err := scanReferrer(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("referrers: %w", err)
		}
		ids = append(ids, id)
		list = append(list, referral.ReferrerRow{Referrer: r})
	}
	rows.Close()
	now := s.Now()
	for i := range list {
		if list[i].Referrer.Companies, err = referrerCompanies(ctx, s.read, ids[i]); err != nil {
			return nil, fmt.Errorf("referrers: %w", err)
		}
		if list[i].Stats, err = s.referrerStats(ctx, s.read, guildID, list[i].Referrer.UserID, now); err != nil {
			return nil, fmt.Errorf("referrers: %w", err)
		}
	}
	return list, nil
}

// Companies lists the companies that have approved referrers in a server.
func (s *Store) Companies(ctx context.Context, guildID string) ([]referral.Company, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT c.company_key, MIN(c.company_name) FROM referrer_companies c
		JOIN referrers r ON r.id = c.referrer_id WHERE r.guild_id = ? AND r.status != 'pending' GROUP BY c.company_key`, guildID)
	if err != nil {
		return nil, fmt.Errorf("companies: %w", err)
	}
	defer rows.Close()
	var out []referral.Company
	for rows.Next() {
		var c referral.Company
		if err := rows.Scan(&c.Key, &c.Name); err != nil {
			return nil, fmt.Errorf("companies: %w", err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, rows.Err()
}
