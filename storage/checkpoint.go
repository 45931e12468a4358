package storage

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite copies the WAL back into the database file in checkpoints. Left
// to itself, the connection whose commit takes the WAL past 1,000 pages
// checkpoints inside that commit, with fsyncs: at 1M requests 20-40 ms on
// top of the transaction, while the one writer connection serves no other
// write. So the writer connection has automatic checkpoints off
// (writerDriver), and a connection of its own checkpoints instead, soon
// after commits: a PASSIVE checkpoint runs beside the writer and the
// readers and blocks neither.

// writerDriver is the SQLite driver of the writer connection: automatic
// checkpoints off.
const writerDriver = "sqlite3-referralbot-writer"

func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(`PRAGMA wal_autocheckpoint = 0`, nil)
		return err
	}})
}

// checkpointEvery is the least time between two checkpoints: commits in
// between are checkpointed together, so a busy writer costs a checkpoint
// a few times a second, not one a commit, and the WAL stays short.
const checkpointEvery = 200 * time.Millisecond

// checkpointer checkpoints the WAL from its own connection after commits.
type checkpointer struct {
	db   *sql.DB
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
	once sync.Once
}

func startCheckpointer(db *sql.DB) *checkpointer {
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// committed asks for a checkpoint soon; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		// A checkpoint that fails (a full disk, say) leaves the frames in
		// the WAL, where readers find them; the next commit tries again.
		c.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
		select {
		case <-ctx.Done():
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// close stops checkpointing and closes its connection; the store's last
// connection to close checkpoints what is left, as SQLite always does.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		c.stop()
		<-c.done
		err = c.db.Close()
	})
	return err
}
