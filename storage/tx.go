package storage

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/referral"
)

// tx runs fn in one IMMEDIATE write transaction with the clock read once:
// every exported method that writes begins here, loads what the rule
// needs, asks referral, applies the change and commits. A write the
// database cannot take (disk full, I/O error) is rolled back whole and
// returned wrapping referral.ErrUnavailable.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	err := s.runTx(ctx, fn)
	if err != nil {
		err = classify(err)
		if errors.Is(err, referral.ErrUnavailable) && s.onUnavailable != nil {
			s.onUnavailable(err)
		}
	}
	return err
}

func (s *Store) runTx(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // also after SQLITE_FULL, which may have rolled back already: harmless
	err = fn(tx, s.now().UTC())
	_, queued := queuedIn.LoadAndDelete(tx)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil { // the driver rolls back a COMMIT that failed
		return err
	}
	if queued && s.onEnqueue != nil {
		s.onEnqueue()
	}
	return nil
}

// queuedIn holds the write transactions that queued a message (enqueue)
// until they end, so runTx knows to call OnEnqueue after the commit.
var queuedIn sync.Map // *sql.Tx -> struct{}

// unavailableCodes are the SQLite results that say the database cannot
// write for now, as opposed to a bug or a refused change: no space
// (SQLITE_FULL, also PRAGMA max_page_count reached), a failing disk
// (SQLITE_IOERR), and a file system remounted read-only after disk errors
// (SQLITE_READONLY, SQLITE_CANTOPEN for the journal).
var unavailableCodes = []sqlite3.ErrNo{sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrReadonly, sqlite3.ErrCantOpen}

// classify wraps err in an unavailableError when SQLite refused the write
// for want of a working disk.
func classify(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	for _, c := range unavailableCodes {
		if se.Code == c {
			return &unavailableError{err: err}
		}
	}
	return err
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
