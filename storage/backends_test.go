package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// The storage tests run against each backend: SQLite always, PostgreSQL
// when REFERRALBOT_TEST_POSTGRES names a server (a postgres:// URL). Once
// it is set, a server that does not answer fails the tests: it never
// quietly skips them.
const postgresEnv = "REFERRALBOT_TEST_POSTGRES"

// backends are the names of the backends under test, as subtest names.
func backends() []string {
	if os.Getenv(postgresEnv) == "" {
		return []string{"sqlite"}
	}
	return []string{"sqlite", "postgres"}
}

// forEachBackend runs fn as a subtest per backend; openTest and openTestIn
// inside fn open the subtest's backend.
func forEachBackend(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b, fn)
	}
}

// onPostgres reports whether t runs under forEachBackend's postgres subtest.
func onPostgres(t *testing.T) bool {
	for _, part := range strings.Split(t.Name(), "/") {
		if part == "postgres" {
			return true
		}
	}
	return false
}

// postgresTestURL makes a schema of its own for the test on the server of
// REFERRALBOT_TEST_POSTGRES, dropped when the test ends, and returns the
// server's URL with that schema as its search_path: tests in parallel
// never see each other's tables.
func postgresTestURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Fatalf("%s is not set", postgresEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "rb_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("PostgreSQL at %s does not answer (it must when %s is set): %v", RedactURL(base), postgresEnv, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openBackend opens a store with opts on the subtest's backend; path is
// the SQLite file, or "" on PostgreSQL.
func openBackend(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	if onPostgres(t) {
		s, err := OpenPostgres(ctx, postgresTestURL(t), opts)
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s, ""
	}
	path := t.TempDir() + "/test.db"
	s, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}
