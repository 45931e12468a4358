package bot_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/referralbot/referralbot/discordtest"
)

var replicaCycles = flag.Int("replica-cycles", 0, "kill-and-restart cycles of the replica tests (default 6, or $REFERRALBOT_REPLICA_CYCLES)")

// replicaKillCycles is -replica-cycles, else $REFERRALBOT_REPLICA_CYCLES,
// else the short run CI does.
func replicaKillCycles(t *testing.T, ci int) int {
	if *replicaCycles > 0 {
		return *replicaCycles
	}
	if v := os.Getenv("REFERRALBOT_REPLICA_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("REFERRALBOT_REPLICA_CYCLES=%q; want a positive number of cycles", v)
		}
		return n
	}
	return ci
}

// TestReplicasKilledAtRandom runs three replicas of the built binary in
// http mode on one PostgreSQL schema, with one fake Discord delivering
// interactions to their endpoints in turn, under the crash loop's steady
// mix of flows, and SIGKILLs one replica at a random moment, restarting it,
// cycle after cycle; the other two stay up. Timed steps (offer timeouts,
// reminders, follow-ups) fall due every few seconds, and every replica's
// cron sweeps and tries the digest every second. Then, settled:
//   - every request that got a success reply exists;
//   - every message Discord holds is recorded for exactly one outbox row,
//     with a nonce of its own in its channel, and no notice that a request
//     causes once per recipient (an offer, the accept, a reminder, each
//     follow-up: the effects of the due steps) came twice;
//   - every due step ran and none failed;
//   - each server got its digest once this week, whichever replica fired;
//   - no interaction went unanswered unless the replica it was sent to was
//     killed before it could answer: the fake, like a load balancer, sends
//     an interaction whose endpoint refuses the connection to the next one.
//
// It needs REFERRALBOT_TEST_POSTGRES (e.g.
// postgres://root@127.0.0.1:5432/test?sslmode=disable) and fails if that
// server does not answer; each run has a schema of its own. CI runs 6
// cycles; -replica-cycles 100 (or REFERRALBOT_REPLICA_CYCLES) runs more;
// REFERRALBOT_CRASH_SEED replays a logged seed.
func TestReplicasKilledAtRandom(t *testing.T) {
	t.Parallel()
	runReplicaLoop(t, postgresSchema(t), 3, replicaKillCycles(t, 6))
}

// TestHTTPReplicaKilledAtRandomOnSQLite is the same run with one replica
// on SQLite, the default store: the crash loop in http mode. While it is
// down, interactions fail (every endpoint refuses) and are not counted
// against it.
func TestHTTPReplicaKilledAtRandomOnSQLite(t *testing.T) {
	t.Parallel()
	runReplicaLoop(t, sqliteFile(t), 1, replicaKillCycles(t, 3))
}

// replicaDB is the store every replica is configured with, and the
// test's own handle on it for the checks.
type replicaDB struct {
	name   string
	config string // the keys under database:
	db     *sql.DB
}

func (d *replicaDB) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// postgresSchema creates a fresh schema on REFERRALBOT_TEST_POSTGRES and
// returns its URL (search_path set) for the replicas; it skips the test
// when the variable is unset and fails it when the server does not answer.
func postgresSchema(t *testing.T) *replicaDB {
	t.Helper()
	base := os.Getenv("REFERRALBOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("REFERRALBOT_TEST_POSTGRES is not set (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("REFERRALBOT_TEST_POSTGRES is not a URL: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("REFERRALBOT_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("the PostgreSQL server of REFERRALBOT_TEST_POSTGRES (%s) does not answer: %v", u.Host, err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	schema := "replicas_" + hex.EncodeToString(suffix)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the schema is dropped
	return &replicaDB{name: "PostgreSQL schema " + schema, config: fmt.Sprintf("url: %q", u.String()), db: db}
}

// sqliteFile is a database file in t.TempDir, read by the test read-only.
func sqliteFile(t *testing.T) *replicaDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "referralbot.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &replicaDB{name: "SQLite " + path, config: fmt.Sprintf("path: %q", path), db: db}
}

// The servers besides the traffic's: each gets its digest once too.
var digestGuilds = []struct{ guild, channel string }{
	{guildID, digestID},
	{"100000000000000002", "200000000000000102"},
	{"100000000000000003", "200000000000000103"},
}

// replica is one bot process with its own port; its kills are recorded.
type replica struct {
	*crashHarness
	endpoint string
	ups      []upInterval // from its start to its death (after the kill's wait)
	upSince  time.Time
}

func runReplicaLoop(t *testing.T, store *replicaDB, replicas, cycles int) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("REFERRALBOT_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("REFERRALBOT_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("%d replicas on %s, %d cycles, seed %d", replicas, store.name, cycles, seed)
	began := time.Now()

	bin := referralbotBinary(t)
	dc := newWorld(t, discordtest.WithHTTPInteractions())
	for _, g := range digestGuilds[1:] {
		dc.AddGuild(discordtest.Guild{ID: g.guild, Name: "Guild " + g.guild[len(g.guild)-1:], OwnerID: admin,
			Channels: []discordtest.Channel{{ID: g.channel, Name: "referral-digest"}},
			Roles:    []discordtest.Role{{ID: "3" + g.guild[1:], Name: "Admin", Permissions: manageServer}}})
		dc.AddMember(g.guild, admin, "3"+g.guild[1:])
	}
	tr := newCrashTraffic(dc)

	var guilds []string
	for _, g := range digestGuilds {
		guilds = append(guilds, strconv.Quote(g.guild))
	}
	rs := make([]*replica, replicas)
	var endpoints []string
	for i := range rs {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("replica-%d", i+1))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		listen := freeLoopbackPort(t)
		cfgPath := filepath.Join(dir, "config.yaml")
		cfg := fmt.Sprintf(`discord:
  token: ${DISCORD_TOKEN}
  guild_ids: [%s]
  api_url: %q
  interactions: http
  public_key: %q
database:
  %s
schedule:
  sweep: "@every 1s"
  digest: "@every 1s"
referrals:
  offer_timeout: 3s
  referrer_reminder: 2s
  nudges: [2s, 4s]
  request_ttl: 20s
  max_open_per_student: 20
  referrer_capacity: 20
http:
  listen: %q
  interactions_path: /interactions
log:
  level: info
`, strings.Join(guilds, ", "), dc.URL(), dc.PublicKey(), store.config, listen)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		rs[i] = &replica{crashHarness: &crashHarness{t: t, dc: dc, bin: bin, cfg: cfgPath, dir: dir},
			endpoint: "http://" + listen + "/interactions"}
		endpoints = append(endpoints, rs[i].endpoint)
		t.Cleanup(rs[i].kill)
	}
	start := func(r *replica) {
		// Up from when it says it runs: before that its port may still
		// refuse connections (an interaction answered earlier is fine).
		r.start()
		r.upSince = time.Now()
	}
	kill := func(r *replica) {
		r.kill()
		r.ups = append(r.ups, upInterval{r.upSince, time.Now()})
	}
	// The first one alone creates the schema; the others start on it.
	start(rs[0])
	for _, r := range rs[1:] {
		start(r)
	}
	dc.SetInteractionEndpoints(endpoints...)

	h := &harness{t: t, dc: dc}
	h.adminSetup(false)
	for _, g := range digestGuilds[1:] {
		h.runAs(discordtest.Command{GuildID: g.guild, ChannelID: g.channel, UserID: admin, Name: "referral-admin", Subcommand: "setup",
			Options: []discordtest.Option{opt("digest_channel", g.channel)}})
	}
	for _, r := range tr.referrers {
		h.joinReferrer(r, "Amazon")
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range trafficWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); tr.run(ctx, mrand.New(mrand.NewPCG(seed, uint64(10+w)))) }()
	}
	stopTraffic := func() { stop(); wg.Wait() }
	t.Cleanup(stopTraffic) // before dc closes (cleanups run last first)

	// One replica at a time is killed at a random moment (0.3-2 s apart)
	// and restarted after up to 0.3 s down: sleeps that pick moments.
	rng := mrand.New(mrand.NewPCG(seed, 1))
	for range cycles {
		time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(1700*time.Millisecond))))
		r := rs[rng.IntN(len(rs))]
		kill(r)
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		start(r)
	}

	// Settle: the traffic stops, and every step due a sweep ago is done
	// and every queued message recorded as sent, whichever replica does it
	// (one whose replica was killed mid-send, however late it was queued,
	// goes again once its lease is over).
	stopTraffic()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		now := aSweepAgo()
		steps := store.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= %d`, now))
		msgs := store.count(t, fmt.Sprintf(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`))
		if steps == 0 && msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the traffic stopped, %d steps and %d messages due more than a sweep ago are not done", steps, msgs)
		}
	}
	for _, r := range rs {
		r.stop() // clean: a message being sent now is recorded
		r.ups = append(r.ups, upInterval{r.upSince, time.Now()})
	}

	figures := checkReplicaRun(t, tr, store, rs)
	t.Logf("%d replicas, %d cycles in %v (seed %d): %s", replicas, cycles, time.Since(began).Round(time.Second), seed, figures)
}

// freeLoopbackPort picks a port for a replica's http.listen; it keeps it
// across restarts, so its endpoint stays the same.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// checkReplicaRun judges the run and returns its figures.
func checkReplicaRun(t *testing.T, tr *crashTraffic, store *replicaDB, rs []*replica) string {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()

	// No interaction unanswered while a replica was up to take it, unless
	// the replica it went to was killed before it could answer.
	byEndpoint := map[string]*replica{}
	for _, r := range rs {
		byEndpoint[r.endpoint] = r
	}
	anyUp := func(at time.Time) bool {
		for _, r := range rs {
			for _, u := range r.ups {
				if !at.Before(u.from) && at.Before(u.to) {
					return true
				}
			}
		}
		return false
	}
	var ins []*discordtest.Interaction
	for _, s := range tr.sent {
		ins = append(ins, s.in)
	}
	timings := tr.dc.Timings(ins)
	answered, lostInKill, allDown, failedOver := 0, 0, 0, 0
	for i, s := range tr.sent {
		tm := timings[i]
		if len(tm.Refusals) > 0 && s.answered {
			failedOver++
		}
		if s.answered {
			answered++
			continue
		}
		if r := byEndpoint[tm.Endpoint]; r != nil && killedWithin(r, tm.Delivered, tm.Delivered.Add(answerWindow)) {
			lostInKill++
			continue
		}
		if !anyUp(tm.Delivered) {
			allDown++
			continue
		}
		t.Errorf("%s sent at %s to %s (after refusals by %q) got no answer while a replica was up: %s",
			s.label, tm.Delivered.Format("15:04:05.000"), tm.Endpoint, tm.Refusals, tm.Refused)
	}

	// Every request that got a success reply exists, for its student.
	for id, student := range tr.created {
		var got string
		if err := store.db.QueryRow(fmt.Sprintf(`SELECT student_id FROM requests WHERE id = %d`, id)).Scan(&got); err != nil || got != student {
			t.Errorf("request #%d was confirmed to %s but the database has student %q (%v)", id, student, got, err)
		}
	}

	// Every message Discord holds is the one recorded for one outbox row,
	// each with a nonce of its own; once-per-request notices came once.
	recorded := map[string]int{}
	rows, err := store.db.Query(`SELECT message_id FROM outbox WHERE sent_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		recorded[id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	digestChannel := map[string]string{}
	for _, g := range digestGuilds {
		digestChannel[g.channel] = g.guild
	}
	nonces := map[string]bool{}
	once := map[string]int{}
	digests := map[string]int{} // guild and ISO week -> digests posted
	delivered := 0
	for _, e := range tr.dc.Events() {
		if (e.Kind != "dm" && e.Kind != "post") || e.Message == nil {
			continue
		}
		delivered++
		m := e.Message
		to := e.UserID
		if e.Kind == "post" {
			to = "#" + e.ChannelID
			if g, ok := digestChannel[e.ChannelID]; ok {
				y, w := e.At.UTC().ISOWeek()
				digests[fmt.Sprintf("server %s, week %d-W%02d", g, y, w)]++
			}
		}
		if recorded[m.ID] != 1 {
			t.Errorf("message %s to %s (%q) is recorded for %d outbox rows; want 1", m.ID, to, excerptOf(m.Text()), recorded[m.ID])
		}
		key := m.ChannelID + "/" + m.Nonce
		switch {
		case m.Nonce == "":
			t.Errorf("message to %s (%q) was sent without a nonce", to, excerptOf(m.Text()))
		case nonces[key]:
			t.Errorf("two messages in channel %s with nonce %q", m.ChannelID, m.Nonce)
		}
		nonces[key] = true
		for _, n := range onceNotices {
			if strings.Contains(m.Text(), n) {
				if num := requestNumber.FindStringSubmatch(m.Text()); num != nil {
					once[to+" "+n+" #"+num[1]]++
				}
			}
		}
	}
	if sent := store.count(t, `SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL`); sent != delivered {
		t.Errorf("%d outbox rows recorded as sent; Discord holds %d messages", sent, delivered)
	}
	for k, n := range once {
		if n > 1 {
			t.Errorf("%s: sent %d times; want once", k, n)
		}
	}

	// The digest: once per server and week, whichever replica fired first.
	for k, n := range digests {
		if n != 1 {
			t.Errorf("digest for %s posted %d times; want once", k, n)
		}
	}
	for _, g := range digestGuilds {
		found := false
		for k := range digests {
			found = found || strings.HasPrefix(k, "server "+g.guild+",")
		}
		if !found {
			t.Errorf("server %s got no digest; want one (the schedule fires every second)", g.guild)
		}
	}

	// Every due step ran, none failed, nothing is undeliverable.
	if n := store.count(t, `SELECT COUNT(*) FROM steps WHERE attempts > 0 AND done_at IS NULL`); n > 0 {
		var why []string
		rows, err := store.db.Query(`SELECT kind, attempts, last_error FROM steps WHERE attempts > 0 AND done_at IS NULL LIMIT 5`)
		if err == nil {
			for rows.Next() {
				var kind, last string
				var attempts int
				if rows.Scan(&kind, &attempts, &last) == nil {
					why = append(why, fmt.Sprintf("%s after %d attempts: %s", kind, attempts, last))
				}
			}
			rows.Close()
		}
		t.Errorf("%d steps failed and were postponed; want 0; for example:\n%s", n, strings.Join(why, "\n"))
	}
	if n := store.count(t, `SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL`); n > 0 {
		t.Errorf("%d messages undeliverable; want 0", n)
	}
	// A message POSTed again (same nonce) is answered with the first one;
	// with no kill between, it means two replicas sent the same row.
	resent := -delivered
	for _, r := range tr.dc.Requests() {
		if r.Match("POST", "/channels/*/messages") && r.Status == 200 {
			resent++
		}
	}
	kills := 0
	for _, r := range rs {
		kills += len(r.ups) - 1
	}
	return fmt.Sprintf("%d kills; %d interactions sent, %d answered (%d after a refused endpoint), %d lost with a killed replica, %d while none was up; "+
		"%d requests confirmed (%d in the database); %d messages delivered once each (%d digests), %d resends answered by nonce; %d steps run",
		kills, len(tr.sent), answered, failedOver, lostInKill, allDown, len(tr.created), store.count(t, `SELECT COUNT(*) FROM requests`),
		delivered, len(digests), resent, store.count(t, `SELECT COUNT(*) FROM steps WHERE done_at IS NOT NULL`))
}

// killedWithin reports whether r was up at from and killed by to.
func killedWithin(r *replica, from, to time.Time) bool {
	for _, u := range r.ups {
		if !from.Before(u.from) && !u.to.Before(from) && !u.to.After(to) {
			return true
		}
	}
	return false
}
