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
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
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

const referrerColumns = `id, guild_id, user_id, status, school, roles, capacity, paused_until, pause_reason, active_via, verified_domain, last_offered_at, created_at, updated_at`

func scanReferrer(row scanner) (referral.Referrer, error) {
	var r referral.Referrer
	var paused, last sql.NullInt64
	var created, updated int64
	err := row.Scan(&r.ID, &r.GuildID, &r.UserID, &r.Status, &r.School, &r.Roles, &r.Capacity, &paused, &r.PauseReason, &r.ActiveVia,
		&r.VerifiedDomain, &last, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, referral.ErrNotReferrer
	}
	r.PausedUntil = fromMS(paused)
	r.LastOfferedAt = fromMS(last)
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.UpdatedAt = time.UnixMilli(updated).UTC()
	return r, err
}

func getReferrer(ctx context.Context, q querier, guildID, userID string) (referral.Referrer, error) {
	r, err := scanReferrer(q.QueryRowContext(ctx, `SELECT `+referrerColumns+` FROM referrers WHERE guild_id = ? AND user_id = ?`, guildID, userID))
	if err != nil {
		return r, err
	}
	r.Companies, err = referrerCompanies(ctx, q, r.ID)
	return r, err
}

// findReferrer is getReferrer with nil for no profile.
func findReferrer(ctx context.Context, q querier, guildID, userID string) (*referral.Referrer, error) {
	r, err := getReferrer(ctx, q, guildID, userID)
	if errors.Is(err, referral.ErrNotReferrer) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// referrerByID loads a profile by its row id; nil when it is gone.
func referrerByID(ctx context.Context, q querier, id int64) (*referral.Referrer, error) {
	r, err := scanReferrer(q.QueryRowContext(ctx, `SELECT `+referrerColumns+` FROM referrers WHERE id = ?`, id))
	if errors.Is(err, referral.ErrNotReferrer) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Companies, err = referrerCompanies(ctx, q, r.ID); err != nil {
		return nil, err
	}
	return &r, nil
}

func referrerCompanies(ctx context.Context, q querier, id int64) ([]referral.Company, error) {
	var out []referral.Company
	err := eachRow(ctx, q, `SELECT company_key, company_name FROM referrer_companies WHERE referrer_id = ? ORDER BY rowid`, []any{id}, func(rows *sql.Rows) error {
		var c referral.Company
		err := rows.Scan(&c.Key, &c.Name)
		out = append(out, c)
		return err
	})
	return out, err
}

// openReportCount counts the open reports about a user in a server.
func openReportCount(ctx context.Context, q querier, guildID, userID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM reports WHERE guild_id = ? AND referrer_id = ? AND resolved_at IS NULL`, guildID, userID).Scan(&n)
	return n, err
}

// JoinReferrer creates or updates the caller's profile. Holders of the
// server's referrer role are active at once, everyone else waits for an
// admin; an active referrer is matched with waiting requests right away.
func (s *Store) JoinReferrer(ctx context.Context, in referral.JoinInput) (referral.JoinResult, error) {
	var out referral.JoinResult
	if _, err := referral.Join(in, referral.JoinState{Policy: s.policy}, time.Time{}); err != nil {
		return out, fmt.Errorf("join referrer: %w", err)
	}
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		out = referral.JoinResult{} // a rerun after a conflict starts afresh
		g, err := guildSettings(ctx, tx, in.GuildID)
		if err != nil {
			return err
		}
		st := referral.JoinState{ReferrerRoleID: g.ReferrerRoleID, Policy: s.policy}
		if st.Current, err = findReferrer(ctx, tx, in.GuildID, in.UserID); err != nil {
			return err
		}
		if st.Current == nil {
			if st.OpenReports, err = openReportCount(ctx, tx, in.GuildID, in.UserID); err != nil {
				return err
			}
		}
		r, err := referral.Join(in, st, now)
		if err != nil {
			return err
		}
		if st.Current == nil {
			out.Created = true
			if err := tx.QueryRowContext(ctx, `INSERT INTO referrers (guild_id, user_id, status, school, roles, capacity, active_via, pause_reason, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.GuildID, r.UserID, r.Status, r.School, r.Roles, r.Capacity, r.ActiveVia, r.PauseReason, ms(now), ms(now)).
				Scan(&r.ID); err != nil {
				return err
			}
		} else {
			if _, err := tx.ExecContext(ctx, `UPDATE referrers SET status = ?, school = ?, roles = ?, capacity = ?, active_via = ?, updated_at = ? WHERE id = ?`,
				r.Status, r.School, r.Roles, r.Capacity, r.ActiveVia, ms(now), r.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM referrer_companies WHERE referrer_id = ?`, r.ID); err != nil {
				return err
			}
		}
		for _, c := range r.Companies {
			if _, err := tx.ExecContext(ctx, `INSERT INTO referrer_companies (referrer_id, company_key, company_name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, r.ID, c.Key, c.Name); err != nil {
				return err
			}
		}
		if out.Referrer, err = getReferrer(ctx, tx, in.GuildID, in.UserID); err != nil {
			return err
		}
		if out.Referrer.Status == referral.Active {
			a := newApplied()
			if err := s.matchWaiting(ctx, tx, now, in.GuildID, in.Companies, a); err != nil {
				return err
			}
			out.Offered = a.offered
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("join referrer: %w", err)
	}
	return out, nil
}

// referrerEvent loads a user's profile, applies what decide makes of it,
// and returns the profile as it is then (the zero profile once deleted).
func (s *Store) referrerEvent(ctx context.Context, name, guildID, userID string, decide func(tx *txn, snap referral.Snapshot, now time.Time) (referral.Change, error)) (referral.Referrer, error) {
	var r referral.Referrer
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		cur, err := getReferrer(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		r = cur
		c, err := decide(tx, referral.Snapshot{Referrer: &cur, Policy: s.policy}, now)
		if _, err := s.decide(ctx, tx, now, c, err); err != nil {
			return err
		}
		if c.Referrer != nil && c.Referrer.Delete {
			return nil
		}
		r, err = getReferrer(ctx, tx, guildID, userID)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// PauseReferrer stops offers to a referrer (until a time, or zero for until
// resumed) and hands their pending offers on.
func (s *Store) PauseReferrer(ctx context.Context, guildID, userID string, until time.Time) (referral.Referrer, error) {
	return s.referrerEvent(ctx, "pause referrer", guildID, userID, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.Pause(snap, until, now)
	})
}

// ResumeReferrer makes a paused referrer active and matches waiting requests.
func (s *Store) ResumeReferrer(ctx context.Context, guildID, userID string) (referral.Referrer, error) {
	return s.referrerEvent(ctx, "resume referrer", guildID, userID, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.Resume(snap, now)
	})
}

// LeaveReferrer deletes the caller's profile; their open offers and
// unsubmitted referrals go to the next referrer.
func (s *Store) LeaveReferrer(ctx context.Context, guildID, userID string) error {
	_, err := s.referrerEvent(ctx, "leave referrer", guildID, userID, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.Leave(snap, now)
	})
	return err
}

// ApproveReferrer makes a pending referrer active, or clears a reported
// one (their open reports are resolved), and matches waiting requests. An
// approved referrer is active on the admin's word: no role check.
func (s *Store) ApproveReferrer(ctx context.Context, guildID, userID, adminID string) (referral.Referrer, error) {
	return s.referrerEvent(ctx, "approve referrer", guildID, userID, func(tx *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		n, err := openReportCount(ctx, tx, guildID, userID)
		if err != nil {
			return referral.Change{}, err
		}
		return referral.Approve(snap, adminID, n, now)
	})
}

// RemoveReferrer ends a referrer's profile on an admin's word.
func (s *Store) RemoveReferrer(ctx context.Context, guildID, userID, adminID string) error {
	_, err := s.referrerEvent(ctx, "remove referrer", guildID, userID, func(_ *txn, snap referral.Snapshot, now time.Time) (referral.Change, error) {
		return referral.Remove(snap, adminID, now)
	})
	return err
}

// referrerStats counts a referrer's work in a server.
func (s *Store) referrerStats(ctx context.Context, q querier, guildID, userID string, now time.Time) (referral.ReferrerStats, error) {
	var st referral.ReferrerStats
	var last sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT
			COUNT(*),
			COALESCE(SUM(CASE WHEN state = 'accepted' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN state = 'declined' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN state = 'pending' OR (state = 'accepted' AND answered_at >= ?) THEN 1 ELSE 0 END), 0),
			MAX(COALESCE(answered_at, offered_at))
		FROM offers WHERE guild_id = ? AND referrer_user_id = ?`, ms(now.Add(-referral.CapacityWindow)), guildID, userID).
		Scan(&st.Offered, &st.Accepted, &st.Declined, &st.UsedInWindow, &last)
	if err != nil {
		return st, err
	}
	st.LastActivity = fromMS(last)
	err = q.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(CASE WHEN submitted_at IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN outcome = 'screen' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN outcome = 'interview' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN outcome = 'offer' THEN 1 ELSE 0 END), 0)
		FROM requests WHERE guild_id = ? AND referrer_id = ? AND state IN ('submitted', 'in_process', 'closed')`, guildID, userID).
		Scan(&st.Submitted, &st.Screens, &st.Interviews, &st.Offers)
	return st, err
}

// ReferrerProfile is the caller's profile with counts.
func (s *Store) ReferrerProfile(ctx context.Context, guildID, userID string) (referral.ReferrerRow, error) {
	var row referral.ReferrerRow
	r, err := getReferrer(ctx, s.read, guildID, userID)
	if err != nil {
		return row, err
	}
	st, err := s.referrerStats(ctx, s.read, guildID, userID, s.now())
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
		r, err := scanReferrer(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("referrers: %w", err)
		}
		ids = append(ids, r.ID)
		list = append(list, referral.ReferrerRow{Referrer: r})
	}
	rows.Close()
	now := s.now()
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

// companyNameQuery is Companies' name for one key, read through the
// memberships of that company only (referrer_companies_key).
const companyNameQuery = `SELECT MIN(c.company_name) FROM referrer_companies c
	JOIN referrers r ON r.id = c.referrer_id WHERE c.company_key = ? AND r.guild_id = ? AND r.status != 'pending'`

// CompanyName is the name Companies lists for the company key in a server,
// and whether it lists the key at all. The request modal recovers a
// company's name from its key twice per request; listing every company of
// the server for that read all its referrers' memberships.
func (s *Store) CompanyName(ctx context.Context, guildID, key string) (string, bool, error) {
	var name sql.NullString
	if err := s.read.QueryRowContext(ctx, companyNameQuery, key, guildID).Scan(&name); err != nil {
		return "", false, fmt.Errorf("company name: %w", err)
	}
	return name.String, name.Valid, nil
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
