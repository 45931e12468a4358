package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// Forget-me reaches every row that names the user through an index, so it
// costs what the user did, not what the server's history holds: their
// requests by student, their offers by server and referrer, and the
// events, reports and kept messages of those requests by request.

// Each %s is an id list from inIDs.
const (
	// offerGuildsQuery lists the servers that have offers, one index seek
	// each: offers are reached by (guild_id, referrer_user_id).
	offerGuildsQuery = `WITH RECURSIVE servers(id) AS (
			SELECT MIN(guild_id) FROM offers
			UNION ALL
			SELECT (SELECT MIN(guild_id) FROM offers WHERE guild_id > servers.id) FROM servers WHERE servers.id IS NOT NULL)
		SELECT id FROM servers WHERE id IS NOT NULL`
	forgetAskedQuery    = `SELECT request_id FROM offers WHERE guild_id = ? AND referrer_user_id = ?`
	forgetOffersQuery   = `UPDATE offers SET referrer_user_id = '' WHERE guild_id = ? AND referrer_user_id = ?`
	forgetStepsQuery    = `UPDATE steps SET done_at = ? WHERE kind IN (?, ?, ?) AND subject_id IN %s AND done_at IS NULL`
	forgetQueuedQuery   = `DELETE FROM outbox WHERE request_id IN %s AND sent_at IS NULL AND failed_at IS NULL AND kind != ?`
	forgetKeptQuery     = eraseKeptQuery
	forgetEventsQuery   = `UPDATE events SET actor_id = '' WHERE request_id IN %s AND actor_id = ?`
	forgetReferredQuery = `UPDATE requests SET referrer_id = '' WHERE id IN %s AND referrer_id = ?`
	forgetReportedQuery = `UPDATE reports SET referrer_id = '' WHERE request_id IN %s AND referrer_id = ?`
	forgetReporterQuery = `UPDATE reports SET reporter_id = '' WHERE request_id IN %s AND reporter_id = ?`
	// Messages kept undeliverable about these requests that name the user
	// (a notice to the student naming the referrer, a fallback ping).
	forgetNamedQuery = `UPDATE outbox SET payload = '' WHERE request_id IN %s AND failed_at IS NOT NULL AND payload != '' AND payload LIKE ? ESCAPE '\'`
	// A fallback-channel ping to the user still queued.
	forgetPingQuery     = `DELETE FROM outbox WHERE request_id IN %s AND kind = ? AND sent_at IS NULL AND failed_at IS NULL AND payload LIKE ? ESCAPE '\'`
	forgetStudentQuery  = `UPDATE requests SET student_id = '', job_url = '', role = '', intro = '', resume_url = '', note = '', told = '', erased_at = ?, updated_at = ? WHERE student_id = ?`
	forgetDraftsQuery   = `DELETE FROM drafts WHERE student_id = ?`
	forgetToThemQuery   = `DELETE FROM outbox WHERE user_id = ? AND sent_at IS NULL AND failed_at IS NULL`
	forgetSentThemQuery = `UPDATE outbox SET user_id = '', payload = '' WHERE user_id = ?`
	forgetSubjectQuery  = `UPDATE admin_actions SET target_id = '' WHERE target_id = ?`
	forgetReportsQuery  = `UPDATE admin_actions SET admin_id = '' WHERE admin_id = ? AND action = 'report'`
	forgetDMClosedQuery = `DELETE FROM dm_closed WHERE user_id = ?`
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
		for _, chunk := range chunks(mine) {
			list, args := inIDs(chunk)
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(forgetStepsQuery, list),
				append([]any{ms(now), referral.StepNudge, referral.StepExpire, referral.StepReminder}, args...)...); err != nil {
				return err
			}
			// Notices about the request that are still queued carry its
			// texts; the note telling a referrer it moved on still goes.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(forgetQueuedQuery, list), append(args, referral.NoticeOfferClosed)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(forgetKeptQuery, list), args...); err != nil {
				return err
			}
		}

		// As a referrer: the requests they were asked about, in every
		// server (also those they left long ago).
		servers, err := stringList(ctx, tx, offerGuildsQuery)
		if err != nil {
			return err
		}
		touched := append([]int64(nil), mine...)
		for _, g := range servers {
			asked, err := idList(ctx, tx, forgetAskedQuery, g, userID)
			if err != nil {
				return err
			}
			touched = append(touched, asked...)
			res, err := tx.ExecContext(ctx, forgetOffersQuery, g, userID)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			out.History += int(n)
		}
		named := "%" + likeEscaper.Replace(`"`+userID+`"`) + "%"
		for _, chunk := range chunks(touched) {
			list, args := inIDs(chunk)
			for _, q := range []string{forgetEventsQuery, forgetReferredQuery, forgetReportedQuery, forgetReporterQuery, forgetNamedQuery} {
				arg := any(userID)
				if q == forgetNamedQuery {
					arg = named
				}
				if _, err := tx.ExecContext(ctx, fmt.Sprintf(q, list), append(args, arg)...); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(forgetPingQuery, list), append(args, referral.NoticeDMClosed, named)...); err != nil {
				return err
			}
		}

		if _, err := tx.ExecContext(ctx, forgetStudentQuery, ms(now), ms(now), userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, forgetDraftsQuery, userID)
		if err != nil {
			return err
		}
		drafts, _ := res.RowsAffected()
		out.Drafts = int(drafts)

		// Anywhere else the id appears.
		for _, q := range []string{forgetToThemQuery, forgetSentThemQuery, forgetSubjectQuery, forgetReportsQuery, forgetDMClosedQuery} {
			res, err := tx.ExecContext(ctx, q, userID)
			if err != nil {
				return err
			}
			if q == forgetSubjectQuery || q == forgetReportsQuery {
				n, _ := res.RowsAffected()
				out.History += int(n)
			}
		}
		if out.Requests+out.Drafts+out.Referrers+out.History == 0 {
			return referral.ErrNothingToForget
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("forget user: %w", err)
	}
	return out, nil
}

// likeEscaper makes a string match itself in LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// maxInIDs is the most ids one statement takes: a long history is worked
// through in statements of this many.
const maxInIDs = 512

// chunks cuts ids into runs of at most maxInIDs.
func chunks(ids []int64) [][]int64 {
	var out [][]int64
	for len(ids) > maxInIDs {
		out = append(out, ids[:maxInIDs])
		ids = ids[maxInIDs:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// inIDs spells ids (at most maxInIDs, at least one) as "(?, ?, ...)" with
// their arguments, padded to a power of two by repeating the last: a few
// statement texts serve every length, so the prepared-statement and
// PostgreSQL rebind caches stay small.
func inIDs(ids []int64) (string, []any) {
	n := 1
	for n < len(ids) {
		n *= 2
	}
	args := make([]any, n)
	for i := range args {
		args[i] = ids[min(i, len(ids)-1)]
	}
	return "(?" + strings.Repeat(", ?", n-1) + ")", args
}

// stringList reads a single column of strings.
func stringList(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	var out []string
	err := eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
