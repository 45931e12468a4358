package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
	"github.com/referralbot/referralbot/storage"
)

// syncBuffer is a log destination safe for the gate's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) count(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Count(s.b.String(), substr)
}

// flakyProber refuses the first failures probes, then accepts.
type flakyProber struct {
	mu       sync.Mutex
	failures int
	probes   int
}

func (p *flakyProber) ProbeWrite(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.probes++
	if p.probes <= p.failures {
		return fmt.Errorf("probe: %w", referral.ErrUnavailable)
	}
	return nil
}

func TestWriteGatePausesOnceAndResumesAfterAProbe(t *testing.T) {
	logs := &syncBuffer{}
	g := newWriteGate(slog.New(slog.NewTextHandler(logs, nil)), time.Now)
	g.minProbe, g.maxProbe = time.Millisecond, 4*time.Millisecond
	resumed := make(chan struct{}, 1)
	g.resumed = func() { resumed <- struct{}{} }

	sweepCtx, done := g.whileWritable(context.Background())
	defer done()
	refused := fmt.Errorf("create request: %w", referral.ErrUnavailable)
	for range 3 {
		g.failed(refused)
	}
	if sweepCtx.Err() == nil {
		t.Errorf("a writer's context is not cancelled when the write gate pauses")
	}
	if late, cancel := g.whileWritable(context.Background()); late.Err() == nil {
		t.Errorf("whileWritable while paused gave a live context")
	} else {
		cancel()
	}
	if err := g.paused(); err != refused {
		t.Errorf("paused() = %v; want %v", err, refused)
	}
	if n := logs.count("digests paused"); n != 1 {
		t.Errorf("3 refused writes logged the pause %d times; want once", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prober := &flakyProber{failures: 3}
	stopped := make(chan struct{})
	go func() { g.run(ctx, prober); close(stopped) }()
	select {
	case <-resumed:
	case <-time.After(10 * time.Second):
		t.Fatalf("the gate did not resume within 10s after %d probes", prober.probes)
	}
	if err := g.paused(); err != nil {
		t.Errorf("paused() after a probe committed = %v; want nil", err)
	}
	prober.mu.Lock()
	if prober.probes != 4 {
		t.Errorf("%d probes; want 4 (3 refused, then one that works)", prober.probes)
	}
	prober.mu.Unlock()
	if n := logs.count("database can be written again"); n != 1 {
		t.Errorf("resuming logged %d times; want once", n)
	}
	cancel()
	<-stopped
}

// countingOutbox counts the sender's reads; it has nothing due.
type countingOutbox struct {
	outboxStore
	mu    sync.Mutex
	reads int
}

func (c *countingOutbox) DueOutbox(context.Context, time.Time, int) ([]storage.OutboxMessage, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return nil, nil
}

func TestSenderSendsNothingWhileWritesArePaused(t *testing.T) {
	g := newWriteGate(slog.New(slog.DiscardHandler), time.Now)
	store := &countingOutbox{}
	o := newSender(store, nil, time.UTC, slog.New(slog.DiscardHandler), time.Now, nil)
	o.writes = g

	o.drain(context.Background())
	if store.reads != 1 {
		t.Fatalf("drain read the outbox %d times while writable; want 1", store.reads)
	}
	g.failed(fmt.Errorf("mark sent: %w", referral.ErrUnavailable))
	o.drain(context.Background())
	if store.reads != 1 {
		t.Errorf("drain read the outbox while writes were paused (%d reads); want no read", store.reads)
	}
}
