package leader

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testServer is REFERRALBOT_TEST_POSTGRES; without it the tests skip, and
// with it a server that does not answer fails them.
func testServer(t *testing.T) string {
	t.Helper()
	url := os.Getenv("REFERRALBOT_TEST_POSTGRES")
	if url == "" {
		t.Skip("REFERRALBOT_TEST_POSTGRES not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("REFERRALBOT_TEST_POSTGRES=%q does not answer: %v", url, err)
	}
	conn.Close(ctx)
	return url
}

// randomKey keeps tests that run at once on one server apart: advisory
// locks are per database, not per schema.
func randomKey(t *testing.T) int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return int64(binary.BigEndian.Uint64(b[:]))
}

func acquire(t *testing.T, l *Lock) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	held, lost, err := l.TryAcquire(ctx)
	if err != nil || !held {
		t.Fatalf("TryAcquire on a free lock = %v, %v; want held", held, err)
	}
	return lost
}

// takeOver polls b as a standby does until it holds the lock, and fails
// after deadline. It checks, each time b holds, that a's lost is closed:
// the old holder has noticed before the new one acts.
func takeOver(t *testing.T, b *Lock, aLost <-chan struct{}, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		held, _, err := b.TryAcquire(ctx)
		cancel()
		if err != nil {
			t.Fatalf("standby TryAcquire: %v", err)
		}
		if held {
			if aLost != nil {
				select {
				case <-aLost:
				default:
					t.Fatalf("the standby holds the lock while the old holder has not noticed it lost it")
				}
			}
			return time.Since(start)
		}
		if time.Since(start) > deadline {
			t.Fatalf("the standby did not get the lock within %v", deadline)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestLockOneOfTwoHolds(t *testing.T) {
	t.Parallel()
	url, key := testServer(t), randomKey(t)
	a, b := New(url, key), New(url, key)
	defer a.Release()
	defer b.Release()

	acquire(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		held, lost, err := b.TryAcquire(ctx)
		if err != nil || held || lost != nil {
			t.Fatalf("second TryAcquire while the first holds = %v, %v, %v; want false, nil, nil", held, lost, err)
		}
	}
	// Another key is another lock.
	other := New(url, key+1)
	defer other.Release()
	acquire(t, other)
}

func TestLockReleasedGoesToStandby(t *testing.T) {
	t.Parallel()
	url, key := testServer(t), randomKey(t)
	a, b := New(url, key), New(url, key)
	defer b.Release()
	acquire(t, a)
	a.Release()
	took := takeOver(t, b, nil, 15*time.Second)
	t.Logf("standby took over %v after a release", took.Round(time.Millisecond))

	// And back: a can take it once b lets go.
	b.Release()
	defer a.Release()
	acquire(t, a)
}

// TestLockTerminatedBackendGoesToStandby kills the holder's connection on
// the server, as when PostgreSQL restarts it or an admin terminates it:
// the holder's lost closes, and the standby gets the lock within 15 s.
func TestLockTerminatedBackendGoesToStandby(t *testing.T) {
	t.Parallel()
	url, key := testServer(t), randomKey(t)
	a, b := New(url, key), New(url, key)
	defer a.Release()
	defer b.Release()
	aLost := acquire(t, a)
	pid := a.conn.PgConn().PID()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var ok bool
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
	took := takeOver(t, b, aLost, 15*time.Second)
	t.Logf("standby took over %v after the holder's backend was terminated", took.Round(time.Millisecond))

	// The old holder, told it lost, stands by and tries again: refused.
	a.Release()
	held, _, err := a.TryAcquire(ctx)
	if err != nil || held {
		t.Errorf("old holder's TryAcquire after losing = %v, %v; want false, nil", held, err)
	}
}

func TestKeyIsStableAndDistinct(t *testing.T) {
	if Key("a") != Key("a") || Key("a") == Key("b") {
		t.Errorf("Key(a) = %d twice %d, Key(b) = %d; want stable and distinct", Key("a"), Key("a"), Key("b"))
	}
}
