package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/storage"
)

// migrated creates a database at path with every migration applied, as a
// first start of the bot does.
func migrated(t *testing.T, path string) {
	t.Helper()
	s, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// execSQL runs statements on the database file directly.
func execSQL(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func appliedVersions(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got sql.NullString
	if err := db.QueryRow(`SELECT group_concat(version, ',') FROM (SELECT version FROM schema_migrations ORDER BY version)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got.String
}

// embedded is what this binary knows, read from a database that does not exist.
func embedded(t *testing.T) []storage.Migration {
	t.Helper()
	ms, err := storage.MigrationStatus(context.Background(), filepath.Join(t.TempDir(), "none.db"))
	if err != nil || len(ms) == 0 {
		t.Fatalf("MigrationStatus(new db) = %v, %v; want the embedded migrations", ms, err)
	}
	return ms
}

func TestOpenRefusesASchemaFromANewerBinarySQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referralbot.db")
	migrated(t, path)
	ms := embedded(t)
	highest := ms[len(ms)-1].Version
	future := highest + 1
	execSQL(t, path, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'migrations/%04d_future.sql', 1)`, future, future))
	before := appliedVersions(t, path)

	s, err := storage.Open(context.Background(), path, storage.Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open on a database at schema version %d = nil error; want a refusal", future)
	}
	var tooNew *storage.SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Database != future || tooNew.Binary != highest {
		t.Fatalf("Open error = %#v; want SchemaTooNewError{Database: %d, Binary: %d}", err, future, highest)
	}
	msg := err.Error()
	for _, want := range []string{path, fmt.Sprintf("version %d", future), fmt.Sprintf("version %d", highest), "newer referralbot", "restore the backup"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Open error %q lacks %q", msg, want)
		}
	}
	if after := appliedVersions(t, path); after != before {
		t.Errorf("schema_migrations after the refused Open = %s; want unchanged %s", after, before)
	}
}

func TestMigrationStatusSQLite(t *testing.T) {
	ms := embedded(t)
	last := ms[len(ms)-1]
	start := time.Now().Add(-time.Second)

	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		// applied lists the versions expected applied; newer is a version
		// expected from a newer binary (0: none).
		applied func(version int) bool
		newer   int
	}{
		{"no file yet", func(*testing.T, string) {}, func(int) bool { return false }, 0},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(int) bool { return false }, 0},
		{"migrated", migrated, func(int) bool { return true }, 0},
		{"last one pending", func(t *testing.T, path string) {
			migrated(t, path)
			execSQL(t, path, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, last.Version))
		}, func(v int) bool { return v != last.Version }, 0},
		{"migrated by a newer binary", func(t *testing.T, path string) {
			migrated(t, path)
			execSQL(t, path, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'migrations/x.sql', %d)`, last.Version+7, time.Now().UnixMilli()))
		}, func(int) bool { return true }, last.Version + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "referralbot.db")
			tt.setup(t, path)
			_, statErr := os.Stat(path)
			var before string
			if statErr == nil {
				before = fileDigest(t, path)
			}

			got, err := storage.MigrationStatus(context.Background(), path)
			if err != nil {
				t.Fatalf("MigrationStatus: %v", err)
			}
			want := len(ms)
			if tt.newer != 0 {
				want++
			}
			if len(got) != want {
				t.Fatalf("MigrationStatus = %d migrations %v; want %d", len(got), got, want)
			}
			for i, m := range got[:len(ms)] {
				if m.Version != ms[i].Version || m.Name != ms[i].Name || !m.Known {
					t.Errorf("migration %d = %+v; want version %d %s, known", i, m, ms[i].Version, ms[i].Name)
				}
				if applied := !m.Pending(); applied != tt.applied(m.Version) {
					t.Errorf("migration %d applied = %v; want %v", m.Version, applied, !applied)
				}
				if !m.Pending() && (m.AppliedAt.Before(start) || m.AppliedAt.After(time.Now())) {
					t.Errorf("migration %d applied at %v; want during this test", m.Version, m.AppliedAt)
				}
			}
			if tt.newer != 0 {
				if m := got[len(got)-1]; m.Version != tt.newer || m.Known || m.Name != "x.sql" || m.Pending() {
					t.Errorf("last migration = %+v; want version %d x.sql applied by a newer binary", m, tt.newer)
				}
			}

			// Read-only: nothing created, nothing applied.
			if statErr != nil {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("MigrationStatus created %s (stat: %v); want no file", path, err)
				}
			} else if after := fileDigest(t, path); after != before {
				t.Errorf("MigrationStatus changed the database file")
			}
		})
	}
}

// fileDigest is the database's content as SQL sees it: its schema and the
// applied migrations, enough to show nothing was migrated.
func fileDigest(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var schema sql.NullString
	if err := db.QueryRow(`SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name)`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	var versions sql.NullString
	if schema.Valid && strings.Contains(schema.String, "schema_migrations") {
		if err := db.QueryRow(`SELECT group_concat(version || ':' || applied_at, ',') FROM schema_migrations`).Scan(&versions); err != nil {
			t.Fatal(err)
		}
	}
	return schema.String + "|" + versions.String
}
