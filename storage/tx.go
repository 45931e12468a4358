package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/referral"
)

// tx runs fn in one write transaction (IMMEDIATE on SQLite, behind the
// writer lock on PostgreSQL) with the clock read once: every exported method that
// writes begins here, loads what the rule needs, asks referral, applies
// the change and commits. A write the database cannot take (disk full,
// I/O error, server gone) is rolled back whole and returned wrapping
// referral.ErrUnavailable.
//
// On PostgreSQL, should the server still abort it for a conflict
// (serialization failure, deadlock), it runs again from the start, fn
// included, with the clock read again, so the outcome is that of one
// writer after the other. fn must therefore set whatever it reports from
// scratch on every run.
func (s *Store) tx(ctx context.Context, fn func(tx *txn, now time.Time) error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = s.runTx(ctx, fn)
		if err == nil || !retryable(err) || attempt >= maxTxAttempts-1 || ctx.Err() != nil {
			break
		}
		// Jittered, growing: replicas that collided do not collide again.
		wait := time.Duration(1+rand.IntN(5<<attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		err = classify(err)
		if errors.Is(err, referral.ErrUnavailable) && s.onUnavailable != nil {
			s.onUnavailable(err)
		}
	}
	return err
}

func (s *Store) runTx(ctx context.Context, fn func(tx *txn, now time.Time) error) error {
	tx, err := s.write.BeginTx(ctx, s.d.writeTx())
	if err != nil {
		return err
	}
	defer tx.Rollback() // also after SQLITE_FULL, which may have rolled back already: harmless
	if err := s.d.beginWrite(ctx, tx); err != nil {
		return err
	}
	// Held from here: SQLite's BEGIN IMMEDIATE took the write lock with
	// the connection, PostgreSQL's writer lock was just granted.
	held := time.Now()
	err = fn(tx, s.now().UTC())
	if err == nil {
		err = tx.Commit() // the driver rolls back a COMMIT that failed
	} else {
		tx.Rollback()
	}
	if s.onWriteHeld != nil {
		s.onWriteHeld(time.Since(held))
	}
	if err != nil {
		return err
	}
	s.committed()
	if tx.queued && s.onEnqueue != nil {
		s.onEnqueue()
	}
	return nil
}

// unavailableCodes are the SQLite results that say the database cannot
// write for now, as opposed to a bug or a refused change: no space
// (SQLITE_FULL, also PRAGMA max_page_count reached), a failing disk
// (SQLITE_IOERR), and a file system remounted read-only after disk errors
// (SQLITE_READONLY, SQLITE_CANTOPEN for the journal).
var unavailableCodes = []sqlite3.ErrNo{sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrReadonly, sqlite3.ErrCantOpen}

// maxTxAttempts bounds the runs of one transaction that keeps conflicting.
const maxTxAttempts = 10

// retryable reports a PostgreSQL transaction aborted only because another
// ran at the same time: serialization_failure, deadlock_detected.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// classify wraps err in an unavailableError when the database refused the
// write for want of a working disk or server.
func classify(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		for _, c := range unavailableCodes {
			if se.Code == c {
				return &unavailableError{err: err}
			}
		}
		return err
	}
	if postgresUnavailable(err) {
		return &unavailableError{err: err}
	}
	return err
}

// postgresUnavailable reports the PostgreSQL failures that say the server
// cannot take writes for now, as opposed to a bug or a refused change:
// insufficient resources (class 53: disk full, out of memory, too many
// connections), connection exceptions (class 08), the server shutting
// down or restarting (57P01-57P03), a read-only server (25006, a standby),
// and a server that cannot be reached at all.
func postgresUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "08"):
			return true
		}
		switch pe.Code {
		case "57P01", "57P02", "57P03", "25006":
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up: not the server's fault
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn)
}

// unavailableError is a write the database could not take; it is both
// referral.ErrUnavailable and the SQLite error underneath.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return "database cannot be written: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{referral.ErrUnavailable, e.err} }

type scanner interface{ Scan(dest ...any) error }

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ms stores a time as UTC milliseconds; the zero time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// fromMS reads a nullable millisecond column.
func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

// eachRow runs query and calls fn for each row.
func eachRow(ctx context.Context, q querier, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// idList reads a single column of ids.
func idList(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	var ids []int64
	err := eachRow(ctx, q, query, args, func(rows *sql.Rows) error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}
