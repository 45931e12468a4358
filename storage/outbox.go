package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// enqueue writes a message to deliver in the caller's transaction; the
// notice's request, if any, is kept with it (forget-me finds it there).
func enqueue(ctx context.Context, tx *txn, now time.Time, out referral.Outgoing) error {
	payload, err := json.Marshal(out.Notice)
	if err != nil {
		return err
	}
	var req any
	if out.Notice.RequestID != 0 {
		req = out.Notice.RequestID
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (guild_id, user_id, channel_id, request_id, kind, payload, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, out.GuildID, out.UserID, out.ChannelID, req, out.Notice.Kind, string(payload), ms(now), ms(now))
	if err == nil {
		tx.queued = true
	}
	return err
}

// OutboxMessage is one queued message.
type OutboxMessage struct {
	ID        int64
	Outgoing  referral.Outgoing
	Attempts  int
	CreatedAt time.Time
}

// DueOutbox returns up to limit messages whose next attempt is due, oldest
// first. A message whose payload no longer decodes (written by another
// version, say) can never be sent: it is kept as undeliverable with the
// reason instead of stalling every message queued behind it.
//
// Where replicas share the outbox (PostgreSQL) the messages returned are
// claimed: their next attempt moves a lease ahead of the store's clock, so
// no other replica takes them while this one sends and marks them. A
// replica that dies before marking leaves them to the others once the
// lease ends; the resend carries the same nonce. Nothing due stays one
// index seek and no write.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxMessage, error) {
	out, bad, err := dueOutbox(ctx, s.read, now, limit, "")
	if err == nil && len(out)+len(bad) > 0 && s.d.outboxLease() > 0 {
		out, bad, err = s.claimOutbox(ctx, now, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("due outbox: %w", err)
	}
	for _, b := range bad {
		if err := s.MarkUndeliverable(ctx, b.id, "decode payload: "+b.err.Error()); err != nil {
			return nil, fmt.Errorf("due outbox: message %d: %w", b.id, err)
		}
	}
	return out, nil
}

// claimOutbox takes the due messages no other replica holds and leases
// them, in one short transaction.
func (s *Store) claimOutbox(ctx context.Context, now time.Time, limit int) (out []OutboxMessage, bad []badMessage, err error) {
	err = s.tx(ctx, func(tx *txn, clock time.Time) error {
		var err error
		if out, bad, err = dueOutbox(ctx, tx, now, limit, tx.d.skipLocked()); err != nil {
			return err
		}
		until := clock.Add(s.d.outboxLease()).UnixMilli()
		for _, m := range out {
			// Never earlier than it was: a caller looking ahead claims
			// what is due by then without pulling it forward.
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET next_attempt_at = CASE WHEN next_attempt_at > ?1 THEN next_attempt_at ELSE ?1 END
				WHERE id = ?2`, until, m.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, bad, err
}

type badMessage struct {
	id  int64
	err error
}

// dueOutboxQuery seeks the pending messages' partial index by due time:
// nothing due reads one index page.
const dueOutboxQuery = `SELECT id, guild_id, user_id, channel_id, payload, attempts, created_at FROM outbox
	WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`

// dueOutbox reads the due messages; lock ends the query (a claim's row lock).
func dueOutbox(ctx context.Context, q querier, now time.Time, limit int, lock string) ([]OutboxMessage, []badMessage, error) {
	rows, err := q.QueryContext(ctx, dueOutboxQuery+lock, ms(now), limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []OutboxMessage
	var bad []badMessage
	for rows.Next() {
		var m OutboxMessage
		var payload string
		var created int64
		if err := rows.Scan(&m.ID, &m.Outgoing.GuildID, &m.Outgoing.UserID, &m.Outgoing.ChannelID, &payload, &m.Attempts, &created); err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal([]byte(payload), &m.Outgoing.Notice); err != nil {
			bad = append(bad, badMessage{m.ID, err})
			continue
		}
		m.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, m)
	}
	return out, bad, rows.Err()
}

// MarkSent records a delivered message and drops its text: what was said
// lives in Discord, not in our database.
func (s *Store) MarkSent(ctx context.Context, id int64, messageID string) error {
	return s.tx(ctx, func(tx *txn, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, message_id = ?, payload = '', attempts = attempts + 1 WHERE id = ? AND sent_at IS NULL`, ms(now), messageID, id)
		return err
	})
}

// MarkRetry records a failed attempt and when to try again.
func (s *Store) MarkRetry(ctx context.Context, id int64, next time.Time, reason string) error {
	return s.tx(ctx, func(tx *txn, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ? AND sent_at IS NULL`, ms(next), reason, id)
		return err
	})
}

// MarkUndeliverable keeps a message that can never be sent, with its reason.
func (s *Store) MarkUndeliverable(ctx context.Context, id int64, reason string) error {
	return s.tx(ctx, func(tx *txn, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ? WHERE id = ? AND sent_at IS NULL`, ms(now), reason, id)
		return err
	})
}

// MarkDMClosed handles a DM that Discord refused because the user's DMs are
// closed, as referral.DMClosed decides: a ping in the server's fallback
// channel (at most once a day per user), or undeliverable without one. An
// offer that cannot reach its referrer goes to the next one at once
// instead of waiting for the offer timeout (referral.Unreachable).
func (s *Store) MarkDMClosed(ctx context.Context, id int64) (fallback bool, err error) {
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		fallback = false // a rerun after a conflict starts afresh
		var msg referral.Outgoing
		var payload string
		var requestID sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT guild_id, user_id, kind, payload, request_id FROM outbox WHERE id = ?`, id).
			Scan(&msg.GuildID, &msg.UserID, &msg.Notice.Kind, &payload, &requestID); err != nil {
			return err
		}
		msg.Notice.RequestID = requestID.Int64
		g, err := guildSettings(ctx, tx, msg.GuildID)
		if err != nil {
			return err
		}
		var last sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT closed_at FROM dm_closed WHERE user_id = ?`, msg.UserID).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		d := referral.DMClosed(msg, g.FallbackChannelID, fromMS(last), now)
		if d.Ping != nil {
			fallback = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO dm_closed (user_id, closed_at) VALUES (?, ?)
				ON CONFLICT (user_id) DO UPDATE SET closed_at = excluded.closed_at`, msg.UserID, ms(now)); err != nil {
				return err
			}
			if err := enqueue(ctx, tx, now, *d.Ping); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ?, reached_in_fallback = ? WHERE id = ?`,
			ms(now), d.Reason, d.Reached, id); err != nil {
			return err
		}
		if msg.Notice.Kind != referral.NoticeOffer {
			return nil
		}
		var n referral.Notice
		if err := json.Unmarshal([]byte(payload), &n); err != nil {
			return err
		}
		snap, err := offerSnapshot(ctx, tx, n.OfferID)
		if err != nil {
			return err
		}
		c, err := referral.Unreachable(snap, now)
		_, err = s.decide(ctx, tx, now, c, err)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark dm closed: %w", err)
	}
	return fallback, nil
}

// OutboxCounts are the gauges of /metrics.
type OutboxCounts struct {
	Pending       int
	Undeliverable int
	DueSteps      int
}

// Counts reads the outbox and step gauges.
func (s *Store) Counts(ctx context.Context, now time.Time) (OutboxCounts, error) {
	var c OutboxCounts
	err := s.read.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL),
		(SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL AND NOT reached_in_fallback),
		(SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= ?)`, ms(now)).Scan(&c.Pending, &c.Undeliverable, &c.DueSteps)
	return c, err
}
