package storage

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/referral"
)

// enqueueRecorder counts OnEnqueue calls and the messages readable when
// each call came, so a test sees the call follows the commit.
type enqueueRecorder struct {
	s *Store

	mu      sync.Mutex
	calls   int
	visible []int
}

func (r *enqueueRecorder) queued() {
	var n int
	if err := r.s.read.QueryRow(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		n = -1
	}
	r.mu.Lock()
	r.calls++
	r.visible = append(r.visible, n)
	r.mu.Unlock()
}

func (r *enqueueRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

func TestOnEnqueueFollowsOnlyCommitsThatQueuedAMessage(t *testing.T) {
	rec := &enqueueRecorder{}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "enqueue.db"), Options{Policy: testPolicy(), Now: (&clock{t: t0}).Now, OnEnqueue: rec.queued})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	rec.s = s
	ctx := context.Background()

	// Each step: what it does, and whether it queues a message.
	steps := []struct {
		name   string
		run    func() error
		queues bool
	}{
		{"SetupGuild", func() error {
			return s.SetupGuild(ctx, referral.GuildSettings{GuildID: "g1", DigestChannelID: "c-digest", FallbackChannelID: "c-fallback", ReferrerRoleID: "role-ref"})
		}, false},
		{"StudentRequests (a read)", func() error { _, err := s.StudentRequests(ctx, "u-stu"); return err }, false},
		{"CreateRequest with nobody to ask", func() error {
			_, err := s.CreateRequest(ctx, referral.NewRequest{GuildID: "g1", StudentID: "u-stu", Company: amazon, Fields: goodFields("https://jobs.example/1")})
			return err
		}, false},
		{"JoinReferrer (the waiting request is offered)", func() error {
			_, err := s.JoinReferrer(ctx, referral.JoinInput{GuildID: "g1", UserID: "u-ref", Companies: []referral.Company{amazon},
				Roles: "software engineering", School: "State University", MemberRoles: []string{"role-ref"}})
			return err
		}, true},
		{"StudentRequests again", func() error { _, err := s.StudentRequests(ctx, "u-stu"); return err }, false},
		{"DueOutbox", func() error { _, err := s.DueOutbox(ctx, t0, 10); return err }, false},
	}
	want := 0
	for _, st := range steps {
		before := count(t, s, `SELECT COUNT(*) FROM outbox`)
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		grew := count(t, s, `SELECT COUNT(*) FROM outbox`) > before
		if grew != st.queues {
			t.Fatalf("%s queued a message: %v; the test expects %v", st.name, grew, st.queues)
		}
		if st.queues {
			want++
		}
		if got := rec.count(); got != want {
			t.Errorf("after %s: OnEnqueue called %d times; want %d", st.name, got, want)
		}
	}
	rec.mu.Lock()
	for i, n := range rec.visible {
		if n < 1 {
			t.Errorf("OnEnqueue call %d saw %d pending messages from the read pool; want the committed one", i+1, n)
		}
	}
	rec.mu.Unlock()

	// A transaction that queued a message and then failed rolls it back:
	// nothing to deliver and no call.
	refused := errors.New("refused after queueing")
	err = s.tx(ctx, func(tx *txn, now time.Time) error {
		if err := enqueue(ctx, tx, now, referral.ToChannel("g1", "c-digest", referral.Notice{Kind: referral.NoticeOffer})); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("tx = %v; want %v", err, refused)
	}
	if got := rec.count(); got != want {
		t.Errorf("after a rolled-back enqueue: OnEnqueue called %d times; want %d", got, want)
	}
}
