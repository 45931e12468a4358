package storage

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/referralbot/referralbot/referral"
)

// Tests of what only PostgreSQL has: several processes (here, Stores) on
// one database. They run when REFERRALBOT_TEST_POSTGRES is set.

// openReplicas opens n stores on one fresh schema, as n replicas of the bot
// would be, sharing a clock.
func openReplicas(t *testing.T, n int) ([]*Store, *clock, string) {
	t.Helper()
	if os.Getenv(postgresEnv) == "" {
		t.Skipf("%s is not set: no PostgreSQL server to test replicas on", postgresEnv)
	}
	url := postgresTestURL(t)
	c := &clock{t: t0}
	var stores []*Store
	for range n {
		s, err := OpenPostgres(context.Background(), url, Options{Policy: testPolicy(), Now: c.Now})
		if err != nil {
			t.Fatalf("OpenPostgres: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	return stores, c, url
}

// together runs fn once per store, all at once, and waits for them.
func together(stores []*Store, perStore int, fn func(i int, s *Store)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		for j := range perStore {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fn(i*perStore+j, s)
			}()
		}
	}
	close(start)
	wg.Wait()
}

func TestPostgresReplicasMigrateOnceWhenOpenedTogether(t *testing.T) {
	if os.Getenv(postgresEnv) == "" {
		t.Skipf("%s is not set", postgresEnv)
	}
	url := postgresTestURL(t)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(context.Background(), url, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("OpenPostgres %d of 3 at once: %v", i+1, err)
		}
	}
	s, err := OpenPostgres(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	embedded, _ := embeddedMigrations(postgresDialect)
	if n := count(t, s, `SELECT COUNT(*) FROM schema_migrations`); n != len(embedded) {
		t.Errorf("schema_migrations has %d rows; want each of the %d migrations once", n, len(embedded))
	}
}

func TestPostgresMigrationStatusAndNewerSchema(t *testing.T) {
	stores, _, url := openReplicas(t, 1)
	ctx := context.Background()
	ms, err := PostgresMigrationStatus(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Pending() || !m.Known {
			t.Errorf("after Open, migration %s pending %v known %v; want applied and known", m.Name, m.Pending(), m.Known)
		}
	}
	if _, err := stores[0].write.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'migrations_postgres/0099_future.sql', 1)`); err != nil {
		t.Fatal(err)
	}
	ms, err = PostgresMigrationStatus(ctx, url)
	if err != nil || len(ms) == 0 || ms[len(ms)-1].Known || ms[len(ms)-1].Name != "0099_future.sql" {
		t.Fatalf("status with a newer migration = %+v, %v; want 0099_future.sql last, unknown", ms, err)
	}
	var tooNew *SchemaTooNewError
	if _, err := OpenPostgres(ctx, url, Options{}); !errors.As(err, &tooNew) || tooNew.Database != 99 {
		t.Errorf("OpenPostgres on a newer schema = %v; want SchemaTooNewError at 99", err)
	}
}

func TestPostgresMigrationStatusOfAnEmptySchema(t *testing.T) {
	if os.Getenv(postgresEnv) == "" {
		t.Skipf("%s is not set", postgresEnv)
	}
	ms, err := PostgresMigrationStatus(context.Background(), postgresTestURL(t))
	if err != nil || len(ms) == 0 {
		t.Fatalf("status = %v, %v", ms, err)
	}
	for _, m := range ms {
		if !m.Pending() {
			t.Errorf("%s applied in an empty schema", m.Name)
		}
	}
}

func TestPostgresReplicasRacingAcceptChangeStateOnce(t *testing.T) {
	stores, _, _ := openReplicas(t, 2)
	s := stores[0]
	join(t, s, "u-ref", true)
	join(t, s, "u-other", true)
	sub := request(t, s, "u-stu", "https://jobs.example/1")
	offer := outbox(t, s)[0].Outgoing.Notice.OfferID
	first := sub.Request.ReferrerID
	errs := make([]error, 8)
	together(stores, 4, func(i int, s *Store) {
		_, errs[i] = s.AnswerOffer(context.Background(), offer, first, i%2 == 0)
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, referral.ErrMovedOn), errors.Is(err, referral.ErrAlreadyDone), errors.Is(err, referral.ErrWrongState):
		default:
			t.Errorf("a losing answer failed with %v; want a refusal", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d answers won; want exactly 1", won)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM events WHERE request_id = ? AND kind IN ('accepted', 'declined')`, sub.Request.ID); n != 1 {
		t.Errorf("%d answer events; want 1", n)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM offers WHERE request_id = ? AND state = 'pending'`, sub.Request.ID); n > 1 {
		t.Errorf("%d pending offers; want at most 1", n)
	}
}

func TestPostgresReplicasSweepingTogetherRunEachStepOnce(t *testing.T) {
	stores, clk, _ := openReplicas(t, 3)
	s := stores[0]
	join(t, s, "u-ref", true)
	var ids []int64
	for i := range 12 {
		ids = append(ids, request(t, s, "u-s"+string(rune('a'+i)), "https://jobs.example/"+string(rune('a'+i))).Request.ID)
	}
	clk.Add(testPolicy().RequestTTL + time.Hour)
	due := count(t, s, `SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= ?`, clk.Now().UnixMilli())
	sweepTogether(t, stores, due)
	for _, id := range ids {
		if n := count(t, s, `SELECT COUNT(*) FROM events WHERE request_id = ? AND kind = 'expired'`, id); n != 1 {
			t.Errorf("request %d has %d expired events; want 1", id, n)
		}
	}
	if n, err := s.RunDueSteps(context.Background(), 1000); n != 0 || err != nil {
		t.Errorf("a sweep after them ran %d, %v; want nothing left", n, err)
	}
}

// Replicas whose batches end after every step (no budget) still run each
// step once: a batch that claimed more than it took leaves the rest to the
// next batch, its own or another replica's.
func TestPostgresReplicasSweepingInShortBatchesRunEachStepOnce(t *testing.T) {
	stores, clk, _ := openReplicas(t, 3)
	s := stores[0]
	join(t, s, "u-ref", true)
	for i := range 12 {
		request(t, s, "u-s"+string(rune('a'+i)), "https://jobs.example/"+string(rune('a'+i)))
	}
	clk.Add(testPolicy().RequestTTL + time.Hour)
	due := count(t, s, `SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= ?`, clk.Now().UnixMilli())
	for _, r := range stores {
		r.budget = 0
	}
	sweepTogether(t, stores, due)
	if n := count(t, s, `SELECT COUNT(*) FROM requests WHERE state != 'expired'`); n != 0 {
		t.Errorf("%d requests not expired after the sweeps; want all 12", n)
	}
	if n, err := s.RunDueSteps(context.Background(), 1000); n != 0 || err != nil {
		t.Errorf("a sweep after them ran %d, %v; want nothing left", n, err)
	}
}

func TestPostgresReplicasClaimEachOutboxMessageOnce(t *testing.T) {
	stores, clk, _ := openReplicas(t, 3)
	s := stores[0]
	join(t, s, "u-ref", true)
	for i := range 20 {
		request(t, s, "u-s"+string(rune('a'+i)), "https://jobs.example/"+string(rune('a'+i)))
	}
	queued := count(t, s, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
	var mu sync.Mutex
	claimed := map[int64]int{}
	together(stores, 3, func(_ int, s *Store) {
		msgs, err := s.DueOutbox(context.Background(), clk.Now(), 4)
		if err != nil {
			t.Errorf("DueOutbox: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			claimed[m.ID]++
		}
	})
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("message %d claimed %d times; want once", id, n)
		}
	}
	if len(claimed) == 0 || len(claimed) > queued {
		t.Errorf("%d of %d messages claimed", len(claimed), queued)
	}
	// A claimed message is nobody else's until its lease ends, then
	// anyone's again: a replica died before marking it.
	rest, err := stores[1].DueOutbox(context.Background(), clk.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rest {
		if claimed[m.ID] > 0 {
			t.Errorf("message %d claimed again within its lease", m.ID)
		}
	}
	if len(claimed)+len(rest) != queued {
		t.Errorf("claimed %d then %d of %d queued; want all of them once", len(claimed), len(rest), queued)
	}
	clk.Add(postgresDialect.outboxLease() + time.Second)
	again, err := stores[2].DueOutbox(context.Background(), clk.Now(), 1000)
	if err != nil || len(again) != queued {
		t.Errorf("after the lease %d messages due, %v; want all %d again", len(again), err, queued)
	}
}

func TestPostgresReplicasPostTheWeeklyDigestOnce(t *testing.T) {
	stores, clk, _ := openReplicas(t, 3)
	s := stores[0]
	join(t, s, "u-ref", true)
	request(t, s, "u-stu", "https://jobs.example/1")
	clk.Add(7 * 24 * time.Hour)
	now := clk.Now()
	posted := make([][]string, 6)
	together(stores, 2, func(i int, s *Store) {
		var err error
		if posted[i], err = s.PostWeeklyDigests(context.Background(), now, now); err != nil {
			t.Errorf("PostWeeklyDigests: %v", err)
		}
	})
	times := 0
	for _, p := range posted {
		times += len(p)
	}
	if times != 1 {
		t.Errorf("the digest was posted %d times (%v); want once", times, posted)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM outbox WHERE kind = 'digest'`); n != 1 {
		t.Errorf("%d digests queued; want 1", n)
	}
}

func TestClassifyPostgresUnavailable(t *testing.T) {
	for _, c := range []struct {
		code string
		want bool
	}{{"53100", true}, {"53300", true}, {"08006", true}, {"57P01", true}, {"57P03", true}, {"25006", true},
		{"23505", false}, {"40001", false}, {"42601", false}} {
		err := classify(&pgconn.PgError{Code: c.code})
		if got := errors.Is(err, referral.ErrUnavailable); got != c.want {
			t.Errorf("SQLSTATE %s unavailable = %v; want %v", c.code, got, c.want)
		}
	}
	if errors.Is(classify(context.Canceled), referral.ErrUnavailable) {
		t.Error("a cancelled context counts as the database unavailable")
	}
}

// sweepTogether runs two sweeps on each replica at once and checks that
// together they ran each of the due steps at most once, and some.
func sweepTogether(t *testing.T, stores []*Store, due int) {
	t.Helper()
	ran := make([]int, 2*len(stores))
	together(stores, 2, func(i int, s *Store) {
		n, err := s.RunDueSteps(context.Background(), 1000)
		if err != nil {
			t.Errorf("RunDueSteps: %v", err)
		}
		ran[i] = n
	})
	total := 0
	for _, n := range ran {
		total += n
	}
	if total == 0 || total > due {
		t.Errorf("the sweeps ran %d steps in all (%v); want each of the %d due at most once", total, ran, due)
	}
	if n := count(t, stores[0], `SELECT COUNT(*) FROM steps WHERE done_at IS NOT NULL AND attempts != 1`); n != 0 {
		t.Errorf("%d steps done after other than one run", n)
	}
}
