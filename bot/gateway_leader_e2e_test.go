package bot_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/referralbot/referralbot/leader"
)

// testPostgres is REFERRALBOT_TEST_POSTGRES with a fresh schema of the
// test's own (dropped at cleanup), as a URL whose search_path names it.
// Without the variable the test skips; a server that does not answer
// fails it.
func testPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("REFERRALBOT_TEST_POSTGRES")
	if base == "" {
		t.Skip("REFERRALBOT_TEST_POSTGRES not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("REFERRALBOT_TEST_POSTGRES=%q does not answer: %v", base, err)
	}
	defer conn.Close(ctx)
	schema := "gateway_" + randomHex(t, 6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// freeAddr is a loopback address nothing listens on just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitLog waits (at most within) until the replica's current log has want.
func waitLog(t *testing.T, c *crashHarness, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, _ := os.ReadFile(c.log)
		if strings.Contains(string(out), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d's log has no %q after %v:\n%s", c.runs, want, within, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpGet answers GET path on addr: status and body.
func httpGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	res, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func leaderGauge(t *testing.T, addr string) string {
	t.Helper()
	_, body := httpGet(t, addr, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "referralbot_gateway_leader "); ok {
			return v
		}
	}
	t.Fatalf("/metrics on %s has no referralbot_gateway_leader", addr)
	return ""
}

// terminateLockHolder ends, on the server, the session holding the
// gateway lock of token, as a PostgreSQL restart or an admin would.
func terminateLockHolder(t *testing.T, pg, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	key := uint64(leader.Key("referralbot gateway\x00" + token))
	var ok bool
	err = conn.QueryRow(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&ok)
	if err != nil || !ok {
		t.Fatalf("terminate the gateway lock's session: %v, %v", ok, err)
	}
}

// TestGatewayLeaderTwoReplicasTakeover runs two replicas of the built
// binary in gateway mode on one PostgreSQL database and one fake Discord:
// only one connects to the gateway, the other stands by (healthy, gauge
// 0); SIGKILL the leader mid-flow and the standby connects within 15 s,
// and the referral goes on through it (Accept answered, the student told
// once). Then the new leader's lock session is terminated on the server:
// it closes its gateway and stands by, and the other replica takes over.
// Two gateway sessions are never live at once.
func TestGatewayLeaderTwoReplicasTakeover(t *testing.T) {
	t.Parallel()
	pg := testPostgres(t)
	bin := referralbotBinary(t)
	dc := newWorld(t)
	shared := t.TempDir()
	// A token of this test's own: the lock is named after the token, and
	// advisory locks are per database, shared by every test's schema.
	token := "gateway-test-" + randomHex(t, 8)
	replica := func(name string) *crashHarness {
		dir := filepath.Join(shared, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(dir, "config.yaml")
		cfg := fmt.Sprintf(`discord:
  token: %q
  guild_ids: [%q]
  api_url: %q
database:
  url: %q
schedule:
  sweep: "@every 1s"
http:
  listen: %q
log:
  level: debug
`, token, guildID, dc.URL(), pg, freeAddr(t))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		c := &crashHarness{t: t, dc: dc, bin: bin, cfg: cfgPath, dir: dir}
		t.Cleanup(c.kill)
		return c
	}
	addrOf := func(c *crashHarness) string {
		data, err := os.ReadFile(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(data), "listen: \"")
		addr, _, _ := strings.Cut(rest, "\"")
		return addr
	}
	a, b := replica("a"), replica("b")
	h := &harness{t: t, dc: dc}

	a.start()
	waitLog(t, a, "leading: this replica holds the gateway connection", time.Second)
	b.start()
	waitLog(t, b, "standing by: another replica holds the gateway connection", time.Second)
	if n := dc.LiveGatewaySessions(); n != 1 {
		t.Fatalf("%d live gateway sessions with two replicas up; want 1", n)
	}
	if code, body := httpGet(t, addrOf(b), "/healthz"); code != http.StatusOK {
		t.Errorf("standby /healthz = %d %q; want 200 (a standby is healthy)", code, body)
	}
	if g := leaderGauge(t, addrOf(a)); g != "1" {
		t.Errorf("leader's referralbot_gateway_leader = %s; want 1", g)
	}
	if g := leaderGauge(t, addrOf(b)); g != "0" {
		t.Errorf("standby's referralbot_gateway_leader = %s; want 0", g)
	}

	// The flow starts through the leader.
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")

	killed := time.Now()
	a.kill()
	waitLog(t, b, "leading: this replica holds the gateway connection", 15*time.Second)
	deadline := killed.Add(15 * time.Second)
	for dc.LiveGatewaySessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no gateway session 15 s after the leader was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the standby connected %v after the leader was killed", time.Since(killed).Round(time.Millisecond))
	if g := leaderGauge(t, addrOf(b)); g != "1" {
		t.Errorf("new leader's referralbot_gateway_leader = %s; want 1", g)
	}

	// The flow goes on through the new leader.
	h.press(alice, offer, "Accept")
	h.waitDM(sam, acceptedText)

	// The old leader comes back as a standby.
	a.start()
	waitLog(t, a, "standing by: another replica holds the gateway connection", time.Second)
	if n := dc.LiveGatewaySessions(); n != 1 {
		t.Errorf("%d live gateway sessions after the old leader restarted; want 1", n)
	}

	// The leader's lock connection is cut while the process lives.
	terminateLockHolder(t, pg, token)
	waitLog(t, b, "lost the gateway lock", 15*time.Second)
	waitLog(t, a, "leading: this replica holds the gateway connection", 15*time.Second)
	eventually(t, "one live gateway session again", func() bool { return dc.LiveGatewaySessions() == 1 })
	accepted := h.waitDMButton(alice, "Referral submitted")
	h.press(alice, accepted, "Referral submitted")
	h.waitDM(sam, submittedText)

	b.stop()
	a.stop()

	if n := dc.PeakGatewaySessions(); n != 1 {
		t.Errorf("at one moment %d gateway sessions were live; want never more than 1", n)
	}
	if n := h.countSentDMs(alice, offerText); n != 1 {
		t.Errorf("alice got the offer %d times; want once", n)
	}
	if n := h.countSentDMs(sam, submittedText); n != 1 {
		t.Errorf("sam was told of the submission %d times; want once", n)
	}
	if n := h.countSentDMs(sam, acceptedText); n != 1 {
		t.Errorf("sam was told of the accept %d times; want once\n%s", n, dmDump(h.sentDMs(sam)))
	}
	nonces := map[string]bool{}
	for _, m := range append(h.sentDMs(sam), h.sentDMs(alice)...) {
		if nonces[m.ChannelID+"/"+m.Nonce] {
			t.Errorf("two DMs in channel %s with nonce %q", m.ChannelID, m.Nonce)
		}
		nonces[m.ChannelID+"/"+m.Nonce] = true
	}
}
