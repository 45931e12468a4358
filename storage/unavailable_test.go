package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/referral"
)

func TestClassifyUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"disk full", sqlite3.Error{Code: sqlite3.ErrFull}, true},
		{"I/O error", sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrWrite}, true},
		{"I/O error wrapped", fmt.Errorf("create request: %w", sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrFsync}), true},
		{"read-only file system", sqlite3.Error{Code: sqlite3.ErrReadonly}, true},
		{"journal cannot be opened", sqlite3.Error{Code: sqlite3.ErrCantOpen}, true},
		{"constraint", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, false},
		{"busy", sqlite3.Error{Code: sqlite3.ErrBusy}, false},
		{"refusal", referral.ErrMovedOn, false},
		{"context", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if errors.Is(got, referral.ErrUnavailable) != tt.want {
				t.Errorf("classify(%v) = %v; want ErrUnavailable %v", tt.err, got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v; want it to still wrap the original error", tt.err, got)
			}
		})
	}
}

// unavailableRecorder collects what the store reports through OnUnavailable.
type unavailableRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *unavailableRecorder) report(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *unavailableRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func openReporting(t *testing.T, path string) (*Store, *unavailableRecorder) {
	t.Helper()
	rec := &unavailableRecorder{}
	s, err := Open(context.Background(), path, Options{Policy: testPolicy(), Now: (&clock{t: t0}).Now, OnUnavailable: rec.report})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// bigFields is a request whose row cannot fit in a page (intro and note
// of 1000 three-byte characters): writing it needs an overflow page, so
// it fails once the file cannot grow.
func bigFields(job string) referral.RequestFields {
	f := goodFields(job)
	f.Intro, f.Note = cjkText(1000, 0), cjkText(1000, 1)
	return f
}

// cjkText is n distinct-looking CJK ideographs, as a long intro in Chinese
// or Japanese would be.
func cjkText(n, seed int) string {
	var b strings.Builder
	for i := range n {
		b.WriteRune(rune(0x4E00 + (i*7919+seed*104729)%20000))
	}
	return b.String()
}

// tableCounts counts the rows of the tables a request writes.
func tableCounts(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"requests", "drafts", "offers", "events", "steps", "outbox", "schema_migrations"} {
		fmt.Fprintf(&b, "%s=%d ", table, count(t, s, `SELECT COUNT(*) FROM `+table))
	}
	return b.String()
}

func TestFullDiskRefusesWholeWritesAndRecoversSQLite(t *testing.T) {
	s, rec := openReporting(t, filepath.Join(t.TempDir(), "full.db"))
	ctx := context.Background()
	join(t, s, "u-ref", true)
	request(t, s, "u-stu", "https://jobs.example/1")
	before := tableCounts(t, s)

	if err := s.SimulateFullDisk(ctx, true); err != nil {
		t.Fatalf("SimulateFullDisk(true): %v", err)
	}
	_, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu2", Company: amazon, Fields: bigFields("https://jobs.example/2")})
	var se sqlite3.Error
	if !errors.Is(err, referral.ErrUnavailable) || !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		t.Fatalf("CreateRequest on a full disk = %v; want ErrUnavailable wrapping SQLITE_FULL", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("OnUnavailable called %d times for one refused write; want 1", n)
	}
	if after := tableCounts(t, s); after != before {
		t.Errorf("rows after the refused write: %s; want as before: %s", after, before)
	}
	if err := s.ProbeWrite(ctx); !errors.Is(err, referral.ErrUnavailable) {
		t.Errorf("ProbeWrite on a full disk = %v; want ErrUnavailable", err)
	}

	if err := s.SimulateFullDisk(ctx, false); err != nil {
		t.Fatalf("SimulateFullDisk(false): %v", err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("ProbeWrite after space returned = %v; want nil", err)
	}
	if after := tableCounts(t, s); after != before {
		t.Errorf("rows after a successful probe: %s; want as before: %s", after, before)
	}
	if _, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu2", Company: amazon, Fields: bigFields("https://jobs.example/2")}); err != nil {
		t.Fatalf("CreateRequest after space returned: %v", err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM requests`); n != 2 {
		t.Errorf("%d requests after the retry; want 2", n)
	}
	checkIntegrity(t, s)
}

func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	var check string
	if err := s.read.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", check, err)
	}
}

// TestIOErrorRefusesWholeWritesAndRecoversSQLite gets a real SQLITE_IOERR: a
// child process (this test binary again) lowers its file size limit
// (RLIMIT_FSIZE) to the size of the database's log, so appending to
// the write-ahead log fails with EFBIG, which SQLite reports as an I/O
// error; then it raises the limit again.
func TestIOErrorRefusesWholeWritesAndRecoversSQLite(t *testing.T) {
	if os.Getenv("REFERRALBOT_IOERR_CHILD") != "" {
		ioErrorChild(t, os.Getenv("REFERRALBOT_IOERR_CHILD"))
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIOErrorRefusesWholeWritesAndRecoversSQLite$", "-test.v")
	cmd.Env = append(os.Environ(), "REFERRALBOT_IOERR_CHILD="+filepath.Join(t.TempDir(), "ioerr.db"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
}

func ioErrorChild(t *testing.T, path string) {
	s, rec := openReporting(t, path)
	ctx := context.Background()
	join(t, s, "u-ref", true)
	request(t, s, "u-stu", "https://jobs.example/1")
	before := tableCounts(t, s)

	var unlimited syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &unlimited); err != nil {
		t.Fatal(err)
	}
	// Commits append to the write-ahead log: capping files at its size
	// makes the next commit fail.
	wal, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatalf("write-ahead log: %v", err)
	}
	limit := unlimited
	limit.Cur = uint64(wal.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	_, err = s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu2", Company: amazon, Fields: bigFields("https://jobs.example/2")})
	probeErr := s.ProbeWrite(ctx)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &unlimited); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}

	var se sqlite3.Error
	if !errors.Is(err, referral.ErrUnavailable) || !errors.As(err, &se) || se.Code != sqlite3.ErrIoErr {
		t.Fatalf("CreateRequest past the file size limit = %v; want ErrUnavailable wrapping SQLITE_IOERR", err)
	}
	if !errors.Is(probeErr, referral.ErrUnavailable) {
		t.Errorf("ProbeWrite past the file size limit = %v; want ErrUnavailable", probeErr)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("OnUnavailable called %d times for two refused writes; want 2", n)
	}
	if after := tableCounts(t, s); after != before {
		t.Errorf("rows after the refused write: %s; want as before: %s", after, before)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("ProbeWrite after the limit was raised = %v; want nil", err)
	}
	if _, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu2", Company: amazon, Fields: bigFields("https://jobs.example/2")}); err != nil {
		t.Fatalf("CreateRequest after the limit was raised: %v", err)
	}
	checkIntegrity(t, s)
}
