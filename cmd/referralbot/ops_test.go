package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/discordtest"
	"github.com/referralbot/referralbot/storage"
)

func TestVersion(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/referralbot/referralbot", Version: "v0.9.0"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "8450e806baa8cb680fe7d9dcf5e33c363bf418fb"},
			{Key: "vcs.time", Value: "2026-11-25T20:12:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name    string
		version string // -X main.version
		info    *debug.BuildInfo
		ok      bool
		want    []string // lines of the output, in order
		short   string
	}{
		{"stamped, no -X", "", stamped, true, []string{"referralbot v0.9.0", "module    v0.9.0",
			"revision  8450e806baa8cb680fe7d9dcf5e33c363bf418fb (modified: built with uncommitted changes)",
			"time      2026-11-25T20:12:05Z", "go        go1.26.8"}, "8450e806baa8+modified"},
		{"-X wins over the module version", "0.9.1", stamped, true, []string{"referralbot 0.9.1", "module    v0.9.0"}, "8450e806baa8+modified"},
		{"go run: no VCS details", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true,
			[]string{"referralbot (devel)", "module    (devel)", "revision  unknown (none recorded"}, "unknown"},
		{"no build info at all", "", nil, false, []string{"referralbot (devel)", "revision  unknown", "go        " + runtime.Version()}, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := describeBuild(tt.version, tt.info, tt.ok)
			var b bytes.Buffer
			d.write(&b)
			got := b.String()
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("version output lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if hasTime := strings.Contains(got, "\ntime "); hasTime != (d.Time != "") {
				t.Errorf("version output shows a time = %v; want %v:\n%s", hasTime, d.Time != "", got)
			}
			if s := d.shortRevision(); s != tt.short {
				t.Errorf("shortRevision() = %q; want %q", s, tt.short)
			}
		})
	}

	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"referralbot", "version"}, env(nil), &out, &errs); err != nil || !strings.HasPrefix(out.String(), "referralbot ") || !strings.Contains(out.String(), "revision ") {
		t.Errorf("referralbot version = %q, %v; want the version and the revision", out.String(), err)
	}
}

// writeConfig writes a config file with the given YAML body and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedAddr is a loopback address where nothing listens any more.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHealthcheck(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer healthy.Close()
	disconnected := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gateway not connected", http.StatusServiceUnavailable)
	}))
	defer disconnected.Close()

	tests := []struct {
		name    string
		listen  string
		wantErr []string // nil: exit 0
	}{
		{"healthy", healthy.Listener.Addr().String(), nil},
		{"wildcard address checked on loopback", "0.0.0.0:" + port(t, healthy.Listener.Addr().String()), nil},
		{"unhealthy", disconnected.Listener.Addr().String(), []string{"503", "gateway not connected"}},
		{"nothing listening", closedAddr(t), []string{"nothing answers", "/healthz", "is the bot running"}},
		{"http off", `""`, []string{"http.listen is empty"}},
		{"random port", "127.0.0.1:0", []string{"http.listen", "fixed port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No token in the environment: the check never talks to Discord.
			cfg := writeConfig(t, "http:\n  listen: "+tt.listen+"\n")
			var out, errs bytes.Buffer
			err := run(context.Background(), []string{"referralbot", "healthcheck", "-config", cfg}, env(nil), &out, &errs)
			if tt.wantErr == nil {
				if err != nil || !strings.Contains(out.String(), "ok") {
					t.Errorf("healthcheck(%s) = %v, %q; want ok", tt.listen, err, out.String())
				}
				return
			}
			if err == nil {
				t.Fatalf("healthcheck(%s) = nil; want an error", tt.listen)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("healthcheck(%s) = %q; want it to mention %q", tt.listen, err, w)
				}
			}
		})
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer collects the logs of a bot running in another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunLogsItsVersionAndPassesItsHealthcheck runs `referralbot run`
// against the fake Discord: the first log line names the version, the
// database and the http address, and `referralbot healthcheck` with the same
// config passes once the bot is connected.
func TestRunLogsItsVersionAndPassesItsHealthcheck(t *testing.T) {
	dc, err := discordtest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	db := filepath.Join(t.TempDir(), "referralbot.db")
	listen := closedAddr(t)
	cfg := writeConfig(t, fmt.Sprintf("discord:\n  api_url: %s\ndatabase:\n  path: %s\nhttp:\n  listen: %s\n", dc.URL(), db, listen))
	getenv := env(map[string]string{"DISCORD_TOKEN": "test-token"})
	check := func() error {
		var out, errs bytes.Buffer
		return run(context.Background(), []string{"referralbot", "healthcheck", "-config", cfg}, getenv, &out, &errs)
	}
	if err := check(); err == nil || !strings.Contains(err.Error(), "nothing answers") {
		t.Fatalf("healthcheck before the bot runs = %v; want nothing answering", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"referralbot", "run", "-config", cfg}, getenv, &bytes.Buffer{}, &logs)
	}()

	deadline := time.Now().Add(20 * time.Second)
	for {
		err := check()
		if err == nil {
			break
		}
		select {
		case rerr := <-done:
			t.Fatalf("run stopped: %v\nlogs:\n%s", rerr, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck still failing after 20s: %v\nlogs:\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	first, _, _ := strings.Cut(logs.String(), "\n")
	for _, want := range []string{"referralbot starting", "version=", "revision=", "database=" + db, "http=" + listen} {
		if !strings.Contains(first, want) {
			t.Errorf("first log line %q lacks %q", first, want)
		}
	}
	if !strings.Contains(logs.String(), "applying database migrations") {
		t.Errorf("logs do not say the migrations of a new database are applied:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "test-token") {
		t.Errorf("logs show the token")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after cancel = %v; want a clean stop", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop within 15s of cancel")
	}
}

// migratedDB creates a database with every migration applied, as a first
// start does, and returns the embedded migrations.
func migratedDB(t *testing.T, path string) []storage.Migration {
	t.Helper()
	s, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ms, err := storage.MigrationStatus(context.Background(), path)
	if err != nil || len(ms) == 0 {
		t.Fatalf("MigrationStatus = %v, %v", ms, err)
	}
	return ms
}

func addFutureMigration(t *testing.T, path string, version int) {
	t.Helper()
	execSQL(t, path, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'migrations/%04d_future.sql', %d)`,
		version, version, time.Now().UnixMilli()))
}

func execSQL(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// hasLine reports whether one line of out holds every word.
func hasLine(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

func TestRunRefusesADatabaseFromANewerBinary(t *testing.T) {
	db := filepath.Join(t.TempDir(), "referralbot.db")
	ms := migratedDB(t, db)
	highest := ms[len(ms)-1].Version
	addFutureMigration(t, db, highest+1)
	cfg := writeConfig(t, "database:\n  path: "+db+"\nhttp:\n  listen: \"\"\n")

	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"referralbot", "run", "-config", cfg}, env(map[string]string{"DISCORD_TOKEN": "test-token"}), &out, &errs)
	var tooNew *storage.SchemaTooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("run on a newer schema = %v; want a SchemaTooNewError", err)
	}
	for _, want := range []string{fmt.Sprintf("schema version %d", highest+1), fmt.Sprintf("up to version %d", highest), "newer referralbot", "backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run error %q lacks %q", err, want)
		}
	}
}

func TestMigrateStatusCommand(t *testing.T) {
	dir := t.TempDir()
	ms := migratedDB(t, filepath.Join(dir, "migrated.db"))
	newer := filepath.Join(dir, "newer.db")
	migratedDB(t, newer)
	future := ms[len(ms)-1].Version + 1
	addFutureMigration(t, newer, future)
	// An older database: the last migration not applied yet (its tables
	// exist, which status does not look at).
	pending := filepath.Join(dir, "pending.db")
	migratedDB(t, pending)
	execSQL(t, pending, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, ms[len(ms)-1].Version))

	last := ms[len(ms)-1]
	today := time.Now().UTC().Format("2006-01-02")
	tests := []struct {
		name    string
		db      string
		lines   [][]string // each: words that one line of the output holds
		notWant string
		wantErr string
	}{
		{"new database", filepath.Join(dir, "new.db"), [][]string{{"does not exist yet"}, {"pending", ms[0].Name}, {"pending", last.Name},
			{fmt.Sprintf("%d pending", len(ms)), "first `referralbot run`"}}, "applied", ""},
		{"migrated database", filepath.Join(dir, "migrated.db"), [][]string{{fmt.Sprintf("schema version %d", last.Version)},
			{"applied", ms[0].Name, today, "UTC"}, {"applied", last.Name, today}, {"up to date"}}, "pending", ""},
		{"last migration pending", pending, [][]string{{fmt.Sprintf("schema version %d", ms[len(ms)-2].Version)},
			{"pending", last.Name}, {"1 pending", "referralbot backup"}}, "up to date", ""},
		{"migrated by a newer binary", newer, [][]string{{fmt.Sprintf("schema version %d", future)}, {"newer", fmt.Sprintf("%04d_future.sql", future), today}},
			"pending", "newer referralbot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, "database:\n  path: "+tt.db+"\n")
			var out, errs bytes.Buffer
			err := run(context.Background(), []string{"referralbot", "migrate-status", "-config", cfg}, env(nil), &out, &errs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("migrate-status = %v; want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("migrate-status = %v; want an error mentioning %q", err, tt.wantErr)
			}
			for _, words := range tt.lines {
				if !hasLine(out.String(), words...) {
					t.Errorf("migrate-status output has no line with %q:\n%s", words, out.String())
				}
			}
			if strings.Contains(out.String(), tt.notWant) {
				t.Errorf("migrate-status output shows %q:\n%s", tt.notWant, out.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("migrate-status created new.db (stat: %v); it must apply nothing", err)
	}
}
