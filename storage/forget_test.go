package storage

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// Forget-me really forgets: once the log is checkpointed, the words the
// student typed are nowhere in the database file, free pages included.
func TestForgetLeavesNoBytesInTheFileSQLite(t *testing.T) {
	s, _, path := openTest(t)
	ctx := context.Background()
	join(t, s, "u-a", true)
	sub := request(t, s, "u-stu", "https://jobs.example/forget-bytes")
	if _, err := s.ForgetUser(ctx, "u-stu"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{sub.Request.Fields.Intro, "https://jobs.example/forget-bytes", sub.Request.Fields.Note} {
		if bytes.Contains(data, []byte(typed)) {
			t.Errorf("the database file still holds %q after forget-me", typed)
		}
	}
}
