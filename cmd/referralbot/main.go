// Command referralbot is a Discord bot that matches students asking for job
// referrals with alumni who can refer them. See the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "referralbot:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: referralbot <command> [flags]

commands:
  run [-config FILE]              run the bot (default config.yaml); applies pending migrations first
  demo [-out DIR]                 play the whole flow against a built-in fake Discord; no token, no network
  check-config [-config FILE]     validate and print the effective config (token masked)
  backup [-config FILE] OUT.db    write a consistent copy of the live SQLite database (PostgreSQL: use pg_dump)
  migrate-status [-config FILE]   list applied and pending database migrations; applies none
  healthcheck [-config FILE]      exit 0 if the running bot's /healthz answers 200 (for Docker)
  version                         print the version, the commit and the Go version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "run":
		return runBot(ctx, rest, getenv, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "check-config":
		return checkConfig(rest, getenv, stdout, stderr)
	case "backup":
		return backup(ctx, rest, getenv, stdout, stderr)
	case "migrate-status":
		return migrateStatus(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout, stderr)
	case "version":
		currentBuild().write(stdout)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// tokenOptional lets a command that never connects to Discord (backup,
// migrate-status, healthcheck) load the config where DISCORD_TOKEN is not in
// the environment, such as a cron job on the host.
func tokenOptional(getenv func(string) string) func(string) string {
	return func(key string) string {
		if v := getenv(key); v != "" || key != "DISCORD_TOKEN" {
			return v
		}
		return "not-needed-here"
	}
}

// configFlags parses -config and returns the loaded config and the other arguments.
func configFlags(name string, args []string, getenv func(string) string, stderr io.Writer) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, err
	}
	cfg, err := config.LoadFile(*path, getenv)
	return cfg, fs.Args(), err
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runBot(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := configFlags("run", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	build := currentBuild()
	listen := cfg.HTTP.Listen
	if listen == "" {
		listen = "off"
	}
	logger.Info("referralbot starting", "version", build.Version, "revision", build.shortRevision(),
		"database", databaseName(cfg), "http", listen)
	logPendingMigrations(ctx, logger, cfg)
	b, err := bot.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return b.Run(ctx)
}

// databaseName is the configured database for messages: the PostgreSQL
// URL without its password, or the SQLite file.
func databaseName(cfg config.Config) string {
	if cfg.Database.URL != "" {
		return storage.RedactURL(cfg.Database.URL)
	}
	return cfg.Database.Path
}

// migrationStatus lists the configured database's migrations.
func migrationStatus(ctx context.Context, cfg config.Config) ([]storage.Migration, error) {
	if cfg.Database.URL != "" {
		return storage.PostgresMigrationStatus(ctx, cfg.Database.URL)
	}
	return storage.MigrationStatus(ctx, cfg.Database.Path)
}

// logPendingMigrations says which migrations opening the database is about
// to apply; opening the store applies them (and refuses a newer schema).
func logPendingMigrations(ctx context.Context, logger *slog.Logger, cfg config.Config) {
	ms, err := migrationStatus(ctx, cfg)
	if err != nil {
		return // Open reports the problem
	}
	var pending []string
	for _, m := range ms {
		if m.Known && m.Pending() {
			pending = append(pending, m.Name)
		}
	}
	if len(pending) > 0 {
		logger.Info("applying database migrations", "database", databaseName(cfg), "pending", strings.Join(pending, ","))
	}
}

func checkConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := configFlags("check-config", args, getenv, stderr)
	if err != nil {
		return err
	}
	if err := cfg.WriteEffective(stdout); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "config ok")
	return nil
}

func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := configFlags("backup", args, tokenOptional(getenv), stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("backup: give exactly one output file, e.g. referralbot backup -config config.yaml backup.db")
	}
	if cfg.Database.URL != "" {
		return fmt.Errorf("backup: database.url is a PostgreSQL database (%s): back it up with pg_dump, e.g. pg_dump -Fc -f referralbot.dump \"$DATABASE_URL\"; backup copies only a SQLite database.path",
			storage.RedactURL(cfg.Database.URL))
	}
	store, err := storage.Open(ctx, cfg.Database.Path, storage.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, rest[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", cfg.Database.Path, rest[0])
	return nil
}
