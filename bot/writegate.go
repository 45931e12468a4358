package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// writeProber is what the write gate asks of the store.
type writeProber interface {
	// ProbeWrite reports whether the database takes writes again.
	ProbeWrite(ctx context.Context) error
}

// writeGate pauses the bot's background writers (the outbox sender, the
// sweeps, the digest) while the database cannot be written, as on a full
// disk: the store reports each refused write to failed, the first one
// logs why and pauses, and run probes with backoff until a write works
// again, then logs once more and resumes. Interactions are not held back:
// each tries, and its user is told to try again if it cannot be saved.
type writeGate struct {
	logger   *slog.Logger
	now      func() time.Time
	minProbe time.Duration
	maxProbe time.Duration
	resumed  func() // called after writes work again

	mu      sync.Mutex
	err     error // the write that paused the gate; nil = writing works
	since   time.Time
	nextID  int
	cancels map[int]context.CancelFunc
	kick    chan struct{}
}

func newWriteGate(logger *slog.Logger, now func() time.Time) *writeGate {
	return &writeGate{logger: logger, now: now, minProbe: time.Second, maxProbe: 30 * time.Second,
		cancels: map[int]context.CancelFunc{}, kick: make(chan struct{}, 1)}
}

// failed is the store's OnUnavailable: it runs inside the refused write's
// method, so the writers it cancels stop before they see the error.
func (g *writeGate) failed(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return
	}
	g.err, g.since = err, g.now()
	g.logger.Error("database cannot be written; outbox, timed steps and digests paused until it can (check free disk space)", "err", err)
	for id, cancel := range g.cancels {
		cancel()
		delete(g.cancels, id)
	}
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// paused returns why background writes are paused, or nil.
func (g *writeGate) paused() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// pausedSince returns since when and why writes are paused, or a nil error.
func (g *writeGate) pausedSince() (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.since, g.err
}

// whileWritable returns a context that is cancelled as soon as a write is
// refused (or at once while paused): a sweep stops at the first refused
// write instead of marking every step after it as failed.
func (g *writeGate) whileWritable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		cancel()
		return ctx, cancel
	}
	id := g.nextID
	g.nextID++
	g.cancels[id] = cancel
	return ctx, func() {
		g.mu.Lock()
		delete(g.cancels, id)
		g.mu.Unlock()
		cancel()
	}
}

// run probes the store while the gate is paused, with backoff from
// minProbe to maxProbe, and resumes the gate once a probe write commits.
func (g *writeGate) run(ctx context.Context, store writeProber) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.kick:
		}
		for wait := g.minProbe; g.paused() != nil; wait = min(2*wait, g.maxProbe) {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			err := store.ProbeWrite(ctx)
			switch {
			case err == nil:
				g.resume()
			case ctx.Err() != nil:
				return
			case !errors.Is(err, referral.ErrUnavailable):
				g.logger.Debug("database write probe failed", "err", err)
			}
		}
	}
}

func (g *writeGate) resume() {
	g.mu.Lock()
	down := g.now().Sub(g.since)
	g.err = nil
	g.mu.Unlock()
	g.logger.Info("database can be written again; outbox, timed steps and digests resumed", "paused_for", down.Round(time.Second).String())
	if g.resumed != nil {
		g.resumed()
	}
}
