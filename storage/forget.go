package storage

import (
	"context"

	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// ForgetUser erases a user's personal data everywhere: their referrer
// profiles (open offers go to the next referrer), the texts and links of
// their requests (open ones are withdrawn), drafts, queued messages to or
// about them, and their id in history. Counts stay, anonymous.
func (s *Store) ForgetUser(ctx context.Context, userID string) (referral.ForgetResult, error) {
	var out referral.ForgetResult
	err := s.tx(ctx, func(tx *txn, now time.Time) error {
		out = referral.ForgetResult{} // a rerun after a conflict starts afresh
		// As a referrer: hand everything on, then delete the profiles.
		rows, err := tx.QueryContext(ctx, `SELECT guild_id FROM referrers WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		var guilds []string
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err != nil {
				rows.Close()
				return err
			}
			guilds = append(guilds, g)
		}
		rows.Close()
		for _, g := range guilds {
			ref, err := getReferrer(ctx, tx, g, userID)
			if err != nil {
				return err
			}
			c, err := referral.Leave(referral.Snapshot{Referrer: &ref}, now)
			if _, err := s.decide(ctx, tx, now, c, err); err != nil {
				return err
			}
			out.Referrers++
		}

		// As a student: withdraw what is open so referrers stop being asked.
		ids, err := idList(ctx, tx, `SELECT id FROM requests WHERE student_id = ? AND state IN ('waiting', 'offered', 'accepted')`, userID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			snap, err := requestSnapshot(ctx, tx, id)
			if err != nil {
				return err
			}
			c, err := referral.Forgotten(snap, now)
			if _, err := s.decide(ctx, tx, now, c, err); err != nil {
				return err
			}
		}
		mine, err := idList(ctx, tx, `SELECT id FROM requests WHERE student_id = ?`, userID)
		if err != nil {
			return err
		}
		out.Requests = len(mine)
		for _, id := range mine {
			if _, err := tx.ExecContext(ctx, `UPDATE steps SET done_at = ? WHERE subject_id = ? AND kind IN (?, ?, ?) AND done_at IS NULL`,
				ms(now), id, referral.StepNudge, referral.StepExpire, referral.StepReminder); err != nil {
				return err
			}
			// Notices about the request that are still queued carry its texts.
			if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE request_id = ? AND sent_at IS NULL AND kind != ?`, id, referral.NoticeOfferClosed); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET payload = '' WHERE request_id = ? AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE requests SET student_id = '', job_url = '', role = '', intro = '', resume_url = '', note = '', told = '',
			erased_at = ?, updated_at = ? WHERE student_id = ?`, ms(now), ms(now), userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM drafts WHERE student_id = ?`, userID)
		if err != nil {
			return err
		}
		drafts, _ := res.RowsAffected()
		out.Drafts = int(drafts)

		// Anywhere else the id appears.
		for _, q := range []string{
			`DELETE FROM outbox WHERE user_id = ? AND sent_at IS NULL AND failed_at IS NULL`,
			`UPDATE outbox SET user_id = '', payload = '' WHERE user_id = ?`,
			`UPDATE requests SET referrer_id = '' WHERE referrer_id = ?`,
			`UPDATE offers SET referrer_user_id = '' WHERE referrer_user_id = ?`,
			`UPDATE events SET actor_id = '' WHERE actor_id = ?`,
			`UPDATE admin_actions SET target_id = '' WHERE target_id = ?`,
			`DELETE FROM dm_closed WHERE user_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return err
			}
		}
		if out.Requests+out.Drafts+out.Referrers == 0 {
			return referral.ErrNothingToForget
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("forget user: %w", err)
	}
	return out, nil
}
