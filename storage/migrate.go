package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one schema migration: embedded in this binary, applied to a
// database, or both.
type Migration struct {
	Version   int
	Name      string    // the file name, e.g. 0002_trust.sql
	AppliedAt time.Time // zero while pending
	// Known is false for a migration applied by a newer referralbot that
	// this binary does not have.
	Known bool
}

// Pending reports whether the migration has not been applied yet.
func (m Migration) Pending() bool { return m.AppliedAt.IsZero() }

// SchemaTooNewError is returned by Open for a database that a newer
// referralbot has migrated past what this binary knows: running on it could
// corrupt data the newer schema depends on.
type SchemaTooNewError struct {
	Path     string
	Database int // the highest version applied to the database
	Binary   int // the highest version embedded in this binary
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database %s has schema version %d but this referralbot knows only up to version %d "+
		"(a newer referralbot upgraded it): run that newer referralbot, or restore the backup taken before "+
		"the upgrade to use this one", e.Path, e.Database, e.Binary)
}

// migrationDir is where the dialect's migrations are embedded: each
// database has its own set, reaching the same schema.
func (d *dialect) migrationDir() string {
	if d.postgres {
		return "migrations_postgres"
	}
	return "migrations"
}

// embeddedMigrations lists the dialect's migrations in this binary in
// version order.
func embeddedMigrations(d *dialect) ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, d.migrationDir()+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, d.migrationDir()+"/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("%s: name must start with a number", base)
		}
		ms = append(ms, Migration{Version: version, Name: base, Known: true})
	}
	return ms, nil
}

func (s *Store) migrate(ctx context.Context) error {
	if s.d.postgres {
		return s.migratePostgres(ctx)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	embedded, err := embeddedMigrations(s.d)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var applied sql.NullInt64
	if err := s.write.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if highest := embedded[len(embedded)-1].Version; applied.Valid && int(applied.Int64) > highest {
		return &SchemaTooNewError{Path: s.path, Database: int(applied.Int64), Binary: highest}
	}
	for _, m := range embedded {
		if err := s.migrateOne(ctx, m.Version, "migrations/"+m.Name); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

// migratePostgres applies the pending migrations in one transaction (DDL
// is transactional on PostgreSQL) under an advisory lock on the schema, so
// replicas starting at once wait for the first and then find nothing to do.
func (s *Store) migratePostgres(ctx context.Context) error {
	embedded, err := embeddedMigrations(s.d)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := s.write.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('referralbot migrate ' || current_schema()))`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var applied sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if highest := embedded[len(embedded)-1].Version; applied.Valid && int(applied.Int64) > highest {
		return &SchemaTooNewError{Path: s.path, Database: int(applied.Int64), Binary: highest}
	}
	for _, m := range embedded {
		if applied.Valid && m.Version <= int(applied.Int64) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return fmt.Errorf("migrate %s: %w", m.Name, err)
			}
			if n > 0 {
				continue
			}
		}
		name := s.d.migrationDir() + "/" + m.Name
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func (s *Store) migrateOne(ctx context.Context, version int, name string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFiles.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, version, name, time.Now().UnixMilli()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.committed()
	return nil
}

// MigrationStatus lists the migrations of the database at path, in version
// order, without changing it: every migration in this binary, applied or
// pending, and any applied by a newer referralbot (Known false). A database
// that does not exist yet has every migration pending, and is not created.
func MigrationStatus(ctx context.Context, path string) ([]Migration, error) {
	embedded, err := embeddedMigrations(sqliteDialect)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	if path == "" {
		return nil, errors.New("migration status: empty database path")
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return embedded, nil
	} else if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}

	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_busy_timeout=5000&_query_only=1")
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables); err != nil {
		return nil, fmt.Errorf("migration status: read %s: %w", path, err)
	}
	if tables == 0 {
		return embedded, nil
	}
	return appliedMigrations(ctx, db, path, embedded)
}

// PostgresMigrationStatus is MigrationStatus for the PostgreSQL database
// at url (in the first schema of its search_path): a database without the
// bot's tables has every migration pending, and is left as it is.
func PostgresMigrationStatus(ctx context.Context, url string) ([]Migration, error) {
	embedded, err := embeddedMigrations(postgresDialect)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("migration status: read %s: %w", RedactURL(url), err)
	}
	if !exists {
		return embedded, nil
	}
	return appliedMigrations(ctx, db, RedactURL(url), embedded)
}

// appliedMigrations marks the embedded migrations the database applied
// and adds those only a newer referralbot knows.
func appliedMigrations(ctx context.Context, db *sql.DB, path string, embedded []Migration) ([]Migration, error) {
	byVersion := make(map[int]int, len(embedded))
	for i, m := range embedded {
		byVersion[m.Version] = i
	}
	var newer []Migration // applied by a newer referralbot
	rows, err := db.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("migration status: read %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var version int
		var name string
		var at int64
		if err := rows.Scan(&version, &name, &at); err != nil {
			return nil, fmt.Errorf("migration status: read %s: %w", path, err)
		}
		if i, ok := byVersion[version]; ok {
			embedded[i].AppliedAt = time.UnixMilli(at).UTC()
			continue
		}
		newer = append(newer, Migration{Version: version, Name: name[strings.LastIndex(name, "/")+1:], AppliedAt: time.UnixMilli(at).UTC()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migration status: read %s: %w", path, err)
	}
	all := append(embedded, newer...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Version < all[j].Version })
	return all, nil
}
