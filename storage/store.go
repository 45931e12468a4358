// Package storage keeps referralbot's state in SQLite (one writer
// connection with IMMEDIATE transactions, a read-only pool for queries) or
// PostgreSQL (one pool shared by any number of replicas, write
// transactions one at a time behind an advisory lock), with one
// transaction per exported method and the same queries on both
// (dialect.go). Each method that changes state
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

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "github.com/mattn/go-sqlite3"    // registers the "sqlite3" driver

	"github.com/referralbot/referralbot/referral"
)

//go:embed migrations/*.sql migrations_postgres/*.sql
var migrationFiles embed.FS

// Options are the store's settings, fixed at Open.
type Options struct {
	Policy referral.Policy
	// Now is the clock, read once per transaction; nil is time.Now.
	Now func() time.Time
	// Location is the time zone of digest weeks; nil is UTC.
	Location *time.Location
	// OnUnavailable, when set, is called with the error each time a write
	// fails because the database cannot be written (it wraps
	// referral.ErrUnavailable), before that write's method returns: the
	// caller can pause its background work at once and probe with
	// ProbeWrite until writes work again.
	OnUnavailable func(error)
	// OnEnqueue, when set, is called after each write transaction that
	// queued at least one outgoing message has committed, so the sender
	// can deliver it at once instead of at its next poll. It runs on the
	// committing goroutine and must not block.
	OnEnqueue func()
	// OnWriteHeld, when set, is called after each write transaction ends
	// (committed or rolled back) with how long it held the writer: from
	// taking SQLite's one writer connection or PostgreSQL's writer lock to
	// its end. Every other write waits that long. It runs on the
	// committing goroutine and must not block.
	OnWriteHeld func(time.Duration)
}

// Store is the store on SQLite or PostgreSQL.
type Store struct {
	d *dialect

	policy referral.Policy
	now    func() time.Time
	loc    *time.Location

	onUnavailable func(error)
	onEnqueue     func()
	onWriteHeld   func(time.Duration)

	// budget is how long background work (the sweep's step batches and
	// matching) keeps the writer before it commits and lets waiting
	// writers in: writeBudget, shorter in tests.
	budget time.Duration
	// stepRan, when set (tests), is called inside a step batch's
	// transaction after each step it ran.
	stepRan func(tx *txn)

	checkpoints *checkpointer // SQLite: checkpoints the WAL off the writer connection (checkpoint.go)

	path  string // the SQLite file, or the PostgreSQL URL without its password
	write *pool  // SQLite: the one writer connection; PostgreSQL: the pool
	read  *pool  // SQLite: read-only connections; PostgreSQL: the same pool
}

func newStore(d *dialect, path string, opts Options) *Store {
	s := &Store{d: d, path: path, policy: opts.Policy, now: opts.Now, loc: opts.Location, onUnavailable: opts.OnUnavailable, onEnqueue: opts.OnEnqueue,
		onWriteHeld: opts.OnWriteHeld, budget: writeBudget}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	return s
}

// readConns is the size of SQLite's read-only pool.
const readConns = 4

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
	w, err := sql.Open(writerDriver, base+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_secure_delete=on&_stmt_cache_size=128")
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := newStore(sqliteDialect, path, opts)
	s.write = &pool{db: w, d: s.d}
	// The WAL is on once the writer has connected; the checkpointer's
	// connection finds it so.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	ck, err := sql.Open("sqlite3", base+"?_busy_timeout=5000")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	s.checkpoints = startCheckpointer(ck)
	if err := s.migrate(ctx); err != nil {
		s.checkpoints.close()
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite3", base+"?mode=ro&_busy_timeout=5000&_foreign_keys=on&_query_only=1&_stmt_cache_size=128")
	if err != nil {
		s.checkpoints.close()
		w.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	// As many kept idle as may be open: database/sql keeps two by default,
	// and a connection opened anew parses the whole schema (triggers
	// included) and prepares every statement again before its first
	// answer, about 1 ms of CPU where a kept one answers /referral status
	// in 10 µs. Under load, every burst of more than two reads paid it.
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s.read = &pool{db: r, d: s.d}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at url (postgres://...)
// and applies pending migrations, under a lock so that replicas starting
// at once migrate once. Tables go in the first schema of the URL's
// search_path, public by default.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("open database: empty url")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Writes take turns behind the writer lock, so more connections only
	// serve reads in parallel; a few per replica keep several replicas
	// (and parallel tests) well inside the server's max_connections.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := newStore(postgresDialect, RedactURL(dsn), opts)
	s.write = &pool{db: db, d: s.d}
	s.read = s.write
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// RedactURL is a database URL fit for messages and logs: without its
// password.
func RedactURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the postgres database"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool { return s.d.postgres }

// ErrNotSQLite is returned by what only a SQLite store can do.
var ErrNotSQLite = errors.New("only a SQLite database can do this")

// Close closes both pools (and SQLite's checkpointer).
func (s *Store) Close() error {
	if s.read == s.write {
		return s.write.Close()
	}
	return errors.Join(s.checkpoints.close(), s.read.Close(), s.write.Close())
}

// committed follows every commit of a write: on SQLite the checkpointer
// checkpoints it soon.
func (s *Store) committed() {
	if s.checkpoints != nil {
		s.checkpoints.committed()
	}
}

// Ping checks that the database answers, for /healthz.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// Backup writes a consistent copy of the live database to out, which must
// not exist yet. A PostgreSQL database is backed up with pg_dump instead
// (ErrNotSQLite).
func (s *Store) Backup(ctx context.Context, out string) error {
	if s.d.postgres {
		return fmt.Errorf("backup: %w: a PostgreSQL database is backed up with pg_dump", ErrNotSQLite)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file name", out)
	}
	if _, err := s.write.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return os.Chmod(out, 0o600)
}

// ProbeWrite reports whether the database takes writes again after one
// failed with referral.ErrUnavailable. It commits one transaction that adds
// a row needing more pages than the free list holds, so the file must grow
// as real writes may have to, and removes it again: it fails where they
// fail and leaves nothing behind. On PostgreSQL, which has no file to
// grow, it commits a trivial write the same way.
func (s *Store) ProbeWrite(ctx context.Context) error {
	if s.d.postgres {
		return s.tx(ctx, func(tx *txn, _ time.Time) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (-1, 'probe', 0)`); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = -1`)
			return err
		})
	}
	return s.tx(ctx, func(tx *txn, _ time.Time) error {
		var pageSize, free int64
		if err := tx.QueryRowContext(ctx, `SELECT page_size, freelist_count FROM pragma_page_size, pragma_freelist_count`).Scan(&pageSize, &free); err != nil {
			return err
		}
		// A large free list is room enough for real writes; a few pages
		// beyond it stand for the growth they need, without a huge probe.
		size := pageSize * (min(free, 63) + 1)
		// schema_migrations has no triggers or readers that could see
		// the row: it exists only inside this transaction.
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (-1, zeroblob(?), 0)`, size); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = -1`)
		return err
	})
}

// SimulateFullDisk makes the database behave as on a full disk, for tests:
// it compacts the file (VACUUM empties the free list) and caps it at its
// size on the writer connection (PRAGMA max_page_count), so every write
// that needs a new page fails with SQLITE_FULL. full=false lifts the cap.
func (s *Store) SimulateFullDisk(ctx context.Context, full bool) error {
	if s.d.postgres {
		return fmt.Errorf("simulate full disk: %w", ErrNotSQLite)
	}
	if !full {
		_, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = 4294967294`)
		return err
	}
	if _, err := s.write.ExecContext(ctx, `VACUUM`); err != nil {
		return err
	}
	_, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = 1`) // SQLite raises it to the current size
	return err
}
