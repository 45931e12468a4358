// Package storage keeps referralbot's state in SQLite: one writer
// connection with IMMEDIATE transactions, a read-only pool for queries, and
// one transaction per exported method. Each method that changes state
// loads what the rule needs, asks package referral to decide, and applies
// the returned referral.Change (apply.go); the rules live in referral.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/referralbot/referralbot/referral"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options are the store's settings, fixed at Open.
type Options struct {
	Policy referral.Policy
	// Now is the clock, read once per transaction; nil is time.Now.
	Now func() time.Time
	// Location is the time zone of digest weeks; nil is UTC.
	Location *time.Location
}

// Store is the SQLite store.
type Store struct {
	policy referral.Policy
	now    func() time.Time
	loc    *time.Location

	path  string
	write *sql.DB
	read  *sql.DB
}

// Open opens (creating with mode 0600 if needed) the database at path and
// applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	f.Close()

	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	// Each connection keeps its prepared statements (_stmt_cache_size): the
	// hot paths run the same few dozen, and preparing was a third of a step.
	w, err := sql.Open("sqlite3", base+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_stmt_cache_size=128")
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, write: w, policy: opts.Policy, now: opts.Now, loc: opts.Location}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", base+"?mode=ro&_busy_timeout=5000&_foreign_keys=on&_query_only=1&_stmt_cache_size=128")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	r.SetMaxOpenConns(4)
	s.read = r
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers, for /healthz.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// Backup writes a consistent copy of the live database to out, which must
// not exist yet.
func (s *Store) Backup(ctx context.Context, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file name", out)
	}
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return os.Chmod(out, 0o600)
}
