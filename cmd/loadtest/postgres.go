package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// freshSchema makes a schema of its own on the PostgreSQL server, so a run
// starts from an empty database and leaves nothing behind; it returns the
// database.url for the bot (search_path set) and a func that drops it.
func freshSchema(ctx context.Context, server string) (string, func(), error) {
	if err := mustLoopback(server); err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	db, err := sql.Open("pgx", server)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("-postgres: the server at %s does not answer: %w", u.Host, err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	schema := "loadtest_" + hex.EncodeToString(suffix)
	if _, err := db.ExecContext(pctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("-postgres: create schema %s: %w", schema, err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
