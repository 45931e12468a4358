// Package leader elects one replica among several sharing a PostgreSQL
// database: a session advisory lock (pg_try_advisory_lock), held on a
// connection of its own for as long as the replica leads. PostgreSQL drops
// the lock when that connection ends, so a replica that dies, is killed or
// loses the network gives leadership up without doing anything.
package leader

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The timings, chosen so that a replica that stops leading has stopped
// acting as leader before any other starts: a holder checks its
// connection every pingEvery and gives up when an answer takes longer than
// pingTimeout, so it knows of a lost lock within pingEvery+pingTimeout; a
// new holder waits settle, longer than that, before it reports the lock
// as held. The server drops a holder whose network vanished after about
// serverGivesUp (TCP keepalives and user timeout, set on the connection),
// well after the holder itself noticed.
const (
	pingEvery     = time.Second
	pingTimeout   = 2 * time.Second
	settle        = pingEvery + pingTimeout + time.Second
	connectWithin = 5 * time.Second

	serverGivesUp = 7 * time.Second
)

// serverParams make PostgreSQL notice a holder that is gone without
// closing its connection (power loss, network partition) within about
// serverGivesUp: keepalive probes after 4 s of silence, one a second,
// three unanswered = dead; unacknowledged data for 7 s = dead. Unix
// sockets ignore them.
var serverParams = map[string]string{
	"tcp_keepalives_idle":     "4",
	"tcp_keepalives_interval": "1",
	"tcp_keepalives_count":    "3",
	"tcp_user_timeout":        strconv.Itoa(int(serverGivesUp / time.Millisecond)),
	"application_name":        "referralbot leader lock",
}

// Key names a lock: the first 8 bytes of SHA-256 over name, so callers
// can derive it from what the lock is about without publishing it.
func Key(name string) int64 {
	sum := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Lock is one replica's side of an advisory lock. Its methods are for one
// goroutine at a time (the one deciding whether to lead).
type Lock struct {
	connString string
	key        int64

	// the timings, shortened by this package's tests
	pingEvery, pingTimeout, settle time.Duration

	conn *pgx.Conn // nil until connected; the lock lives and dies with it
	held bool

	stop     chan struct{} // closed by Release: the monitor is the conn's only user while held
	monitor  sync.WaitGroup
	lostOnce sync.Once
	lost     chan struct{}
}

// New returns a lock on key in the database at connString (a postgres://
// URL or key=value string, as pgx reads them). It connects on first use.
func New(connString string, key int64) *Lock {
	return &Lock{connString: connString, key: key, pingEvery: pingEvery, pingTimeout: pingTimeout, settle: settle}
}

// TryAcquire takes the lock if no other session holds it. It reports held
// only after settle has passed with the lock held, so that a previous
// holder whose connection was cut has noticed and stopped. With held true
// comes lost, closed when the lock is gone without Release (its
// connection failed or was terminated). A false with no error means
// another replica holds it; try again later. An error is a connection
// problem; the next call reconnects.
func (l *Lock) TryAcquire(ctx context.Context) (held bool, lost <-chan struct{}, err error) {
	if l.held {
		return false, nil, errors.New("leader lock: already held")
	}
	if l.conn == nil {
		if err := l.connect(ctx); err != nil {
			return false, nil, err
		}
	}
	qctx, cancel := context.WithTimeout(ctx, l.pingTimeout)
	defer cancel()
	var got bool
	if err := l.conn.QueryRow(qctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&got); err != nil {
		l.drop()
		return false, nil, fmt.Errorf("leader lock: %w", err)
	}
	if !got {
		return false, nil, nil
	}
	l.held = true
	l.stop = make(chan struct{})
	l.lost = make(chan struct{})
	l.lostOnce = sync.Once{}
	l.monitor.Add(1)
	go l.watch(l.conn, l.stop, l.lost)

	t := time.NewTimer(l.settle)
	defer t.Stop()
	select {
	case <-t.C:
		return true, l.lost, nil
	case <-l.lost:
		l.Release()
		return false, nil, errors.New("leader lock: connection lost right after taking the lock")
	case <-ctx.Done():
		l.Release()
		return false, nil, ctx.Err()
	}
}

func (l *Lock) connect(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(l.connString)
	if err != nil {
		return fmt.Errorf("leader lock: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectWithin {
		cfg.ConnectTimeout = connectWithin
	}
	for k, v := range serverParams {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("leader lock: connect: %w", err)
	}
	l.conn = conn
	return nil
}

// watch pings the lock's connection while it is held and closes lost at
// the first failure: from then on the lock may be someone else's.
func (l *Lock) watch(conn *pgx.Conn, stop <-chan struct{}, lost chan struct{}) {
	defer l.monitor.Done()
	t := time.NewTicker(l.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.pingTimeout)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			l.lostOnce.Do(func() { close(lost) })
			return
		}
	}
}

// Release gives the lock up by closing its connection (the server drops
// the lock with it) and stops watching it. It is also how a standby
// closes its idle connection, and is safe to call when nothing is held.
func (l *Lock) Release() {
	if l.stop != nil {
		close(l.stop)
		l.monitor.Wait()
		l.stop = nil
	}
	l.held = false
	l.drop()
}

func (l *Lock) drop() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.conn.Close(ctx)
	l.conn = nil
}
