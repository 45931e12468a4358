package bot

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// idleRelease gives the Go heap's free pages back to the system once the
// bot has handled no interaction for quietFor. A bot idles most of the
// day, and after a burst the runtime would otherwise keep the burst's
// heap resident for minutes (its scavenger returns memory slowly). Under
// steady load it never runs, so it costs nothing there; once per quiet
// spell it costs one garbage collection of a small heap.
type idleRelease struct {
	quietFor time.Duration
	last     atomic.Int64 // unix ns of the latest interaction; 0 = none since the last release
	released func()       // a test's hook; nil in the bot
}

const idleReleaseQuiet = 10 * time.Second

// touch records an interaction.
func (r *idleRelease) touch(now time.Time) { r.last.Store(now.UnixNano()) }

// run checks every quietFor/2 until ctx ends.
func (r *idleRelease) run(ctx context.Context) {
	t := time.NewTicker(r.quietFor / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.check(now)
		}
	}
}

// check releases memory if the bot has been quiet long enough since its
// latest interaction, once per quiet spell.
func (r *idleRelease) check(now time.Time) {
	last := r.last.Load()
	if last == 0 || now.Sub(time.Unix(0, last)) < r.quietFor {
		return
	}
	if !r.last.CompareAndSwap(last, 0) {
		return // an interaction came in just now
	}
	debug.FreeOSMemory()
	if r.released != nil {
		r.released()
	}
}
