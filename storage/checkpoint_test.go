package storage

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// The writer connection never checkpoints inside a commit; the
// checkpointer's connection copies the commits into the database file soon
// after.
func TestCheckpointsRunOffTheWriterSQLite(t *testing.T) {
	s, _, path := openTest(t)
	ctx := context.Background()
	var auto int
	if err := s.write.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	for i := range 200 {
		if err := s.SetupGuild(ctx, referral.GuildSettings{GuildID: fmt.Sprintf("g-%d", i), DigestChannelID: fmt.Sprintf("c-%0200d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// In WAL mode the file grows only by checkpoints: once it holds every
	// page the database has, the commits were checkpointed.
	var want int64
	if err := s.read.QueryRow(`SELECT page_count * page_size FROM pragma_page_count, pragma_page_size`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10s after the writes; want the %d the database holds, checkpointed", fi.Size(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
