package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/referralbot/referralbot/storage"
)

// migrateStatus shows which migrations database.path (or database.url) has and which the next
// start would apply, without applying any.
func migrateStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := configFlags("migrate-status", args, tokenOptional(getenv), stderr)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("migrate-status: unexpected argument %q; the only flag is -config FILE", rest[0])
	}
	path := databaseName(cfg)
	ms, err := migrationStatus(ctx, cfg)
	if err != nil {
		return err
	}

	schema, known, pending, newer := 0, 0, 0, 0
	for _, m := range ms {
		switch {
		case !m.Known:
			newer++
		case m.Pending():
			pending++
		}
		if !m.Pending() {
			schema = max(schema, m.Version)
		}
		if m.Known {
			known = max(known, m.Version)
		}
	}
	_, statErr := os.Stat(cfg.Database.Path)
	switch {
	case cfg.Database.URL == "" && errors.Is(statErr, fs.ErrNotExist):
		fmt.Fprintf(stdout, "database %s: does not exist yet (this referralbot has migrations up to version %d)\n", path, known)
	case schema == 0:
		fmt.Fprintf(stdout, "database %s: no migrations applied yet (this referralbot has migrations up to version %d)\n", path, known)
	default:
		fmt.Fprintf(stdout, "database %s: schema version %d (this referralbot has migrations up to version %d)\n", path, schema, known)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, m := range ms {
		switch {
		case !m.Known:
			fmt.Fprintf(tw, "  newer\t%s\tapplied %s by a newer referralbot\n", m.Name, m.AppliedAt.Format(statusTime))
		case m.Pending():
			fmt.Fprintf(tw, "  pending\t%s\n", m.Name)
		default:
			fmt.Fprintf(tw, "  applied\t%s\t%s\n", m.Name, m.AppliedAt.Format(statusTime))
		}
	}
	tw.Flush()

	switch {
	case newer > 0:
		return &storage.SchemaTooNewError{Path: path, Database: schema, Binary: known}
	case pending > 0 && schema == 0:
		fmt.Fprintf(stdout, "%d pending: the first `referralbot run` applies them\n", pending)
	case pending > 0 && cfg.Database.URL != "":
		fmt.Fprintf(stdout, "%d pending: `referralbot run` applies them when it starts (one replica does, the others wait); take a backup first: pg_dump -Fc -f before-upgrade.dump \"$DATABASE_URL\"\n", pending)
	case pending > 0:
		fmt.Fprintf(stdout, "%d pending: `referralbot run` applies them when it starts; take a backup first: referralbot backup -config FILE before-upgrade.db\n", pending)
	default:
		fmt.Fprintln(stdout, "up to date: nothing to apply")
	}
	return nil
}

const statusTime = "2006-01-02 15:04:05 UTC"
