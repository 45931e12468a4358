package bot_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/referralbot/referralbot/discordtest"
)

// TestCrashKillAtAnyPointLosesAndDoublesNothing runs the real binary
// (`referralbot run -config FILE`) against discordtest and SIGKILLs it at
// the points where a crash could lose or double something, restarting it
// on the same database each time:
//
//  1. right after an Accept was answered (its notice may be unsent);
//  2. right after Referral submitted was answered;
//  3. while a DM is on its way to Discord (sends held by dc.Delay), so
//     outbox rows are pending;
//  4. after Discord posted a DM but before the bot recorded it (the
//     database held locked by the test): the resend after the restart
//     must carry the same nonce with enforce_nonce, and Discord answers
//     it with the first message instead of posting a second.
//
// Follow-up 1 (3 s after submission) falls due while the bot is down,
// follow-up 2 (6 s) after the last restart. At the end every message
// arrived exactly once and the database passes PRAGMA integrity_check.
func TestCrashKillAtAnyPointLosesAndDoublesNothing(t *testing.T) {
	t.Parallel()
	bin := referralbotBinary(t)
	dir := t.TempDir()

	dc := newWorld(t)
	dbPath := filepath.Join(dir, "referralbot.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`discord:
  token: ${DISCORD_TOKEN}
  guild_ids: [%q]
  api_url: %q
database:
  path: %q
schedule:
  sweep: "@every 1s"
referrals:
  nudges: [3s, 6s]
http:
  listen: ""
log:
  level: debug
`, guildID, dc.URL(), dbPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &crashHarness{t: t, dc: dc, bin: bin, cfg: cfgPath, dir: dir, db: dbPath}
	h := &harness{t: t, dc: dc} // for run, press and waitDM
	t.Cleanup(c.kill)

	c.start()
	h.adminSetup(true)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")

	// 1. Killed right after Accept.
	accepted := h.press(alice, offer, "Accept").Message()
	c.kill()
	c.start()
	samDM := h.waitDM(sam, acceptedText).ChannelID
	messages := "/channels/" + samDM + "/messages"

	// 2. Killed right after Referral submitted, and kept down while
	// follow-up 1 (3 s after submission) falls due.
	h.press(alice, accepted, "Referral submitted")
	submittedAt := time.Now()
	c.kill()
	time.Sleep(time.Until(submittedAt.Add(3500 * time.Millisecond))) // downtime, not a wait for something

	// 3. Killed with a DM to sam on its way and outbox rows pending.
	dc.Delay("POST", messages, time.Minute)
	since := time.Now()
	c.start()
	c.waitInFlight(since, messages)
	if n := c.pendingOutbox(); n == 0 {
		t.Fatalf("no outbox row pending while a DM is held in flight")
	}
	c.kill() // the held POST is abandoned: Discord never posted it
	dc.Delay("POST", messages, 0)

	// 4. Killed after Discord posted a DM, before the bot recorded it.
	dc.Delay("POST", messages, 500*time.Millisecond)
	since = time.Now()
	c.start()
	c.waitInFlight(since, messages)
	unlock := c.lockDatabase()
	eventually(t, "the held DM to be posted", func() bool { return c.posted(since, messages) > 0 })
	c.kill()
	unlock()
	if c.pendingOutbox() == 0 {
		t.Fatalf("the DM Discord posted is not pending in the outbox: the crash came too late to prove anything")
	}
	dc.Delay("POST", messages, 0)
	c.start()

	for _, want := range []string{acceptedText, submittedText, "Check-in 1 of 2", "Check-in 2 of 2"} {
		h.waitDM(sam, want)
	}
	eventually(t, "every step run and every message sent", func() bool {
		return c.pendingOutbox() == 0 && c.pendingSteps() == 0
	})
	c.kill()
	// The DM posted before the crash was sent again after it, and Discord
	// answered with the first message (enforce_nonce) instead of a second.
	if posts, dms := c.posted(time.Time{}, messages), len(h.sentDMs(sam)); posts <= dms {
		t.Errorf("%d successful POSTs to sam's DM channel for %d DMs; want one more: the resend after the crash", posts, dms)
	}

	// Exactly once each: no loss, no double.
	for _, want := range []string{acceptedText, submittedText, "Check-in 1 of 2", "Check-in 2 of 2"} {
		if n := h.countSentDMs(sam, want); n != 1 {
			t.Errorf("sam got %d DMs containing %q; want 1\nDMs as sent:\n%s", n, want, dmDump(h.sentDMs(sam)))
		}
	}
	if n := h.countSentDMs(alice, offerText); n != 1 {
		t.Errorf("alice got the offer %d times; want once", n)
	}
	if n := len(h.sentDMs(sam)); n != 4 {
		t.Errorf("sam got %d DMs; want 4 (accepted, submitted, two follow-ups)\n%s", n, dmDump(h.sentDMs(sam)))
	}
	nonces := map[string]bool{}
	for _, m := range append(h.sentDMs(sam), h.sentDMs(alice)...) {
		switch {
		case m.Nonce == "":
			t.Errorf("DM %q was sent without a nonce", m.Text())
		case nonces[m.ChannelID+"/"+m.Nonce]:
			t.Errorf("two DMs in channel %s with nonce %q", m.ChannelID, m.Nonce)
		}
		nonces[m.ChannelID+"/"+m.Nonce] = true
	}
	var check string
	if err := c.readDB().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, %v; want ok", check, err)
	}
}

// crashHarness runs the referralbot binary as a child process.
type crashHarness struct {
	t        *testing.T
	dc       *discordtest.Server
	bin, cfg string
	dir, db  string
	runs     int
	cmd      *exec.Cmd
	log      string
	ro       *sql.DB
}

// start runs the binary and waits until it is connected, has registered
// its commands and has swept once.
func (c *crashHarness) start() {
	c.t.Helper()
	c.runs++
	c.log = filepath.Join(c.dir, fmt.Sprintf("run-%d.log", c.runs))
	f, err := os.Create(c.log)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	c.cmd = exec.Command(c.bin, "run", "-config", c.cfg)
	c.cmd.Env = append(os.Environ(), "DISCORD_TOKEN=crash-test-token")
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("start referralbot: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := os.ReadFile(c.log)
		if strings.Contains(string(out), "referralbot running") {
			return
		}
		if time.Now().After(deadline) {
			c.kill()
			c.t.Fatalf("run %d of referralbot not running after 15s; its log:\n%s", c.runs, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the running binary: no shutdown, no session close.
func (c *crashHarness) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	c.cmd = nil
	if c.t.Failed() || testing.Verbose() {
		out, _ := os.ReadFile(c.log)
		c.t.Logf("log of run %d:\n%s", c.runs, out)
	}
}

// stop ends the bot with SIGTERM and waits for it: a clean shutdown, which
// records whatever it was delivering.
func (c *crashHarness) stop() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.t.Errorf("the bot did not stop within 20 s of SIGTERM")
		_ = c.cmd.Process.Kill()
		<-done
	}
	c.cmd = nil
}

// waitInFlight waits until a POST to path made since then is held by the
// fake's delay: it has started (a delay event) and not finished (no log).
func (c *crashHarness) waitInFlight(since time.Time, path string) {
	c.t.Helper()
	eventually(c.t, "a DM held on its way to "+path, func() bool {
		held := 0
		for _, e := range c.dc.Events() {
			if e.Kind == "fault" && !e.At.Before(since) && strings.Contains(e.Summary, "delay") && strings.HasSuffix(e.Summary, " "+path) {
				held++
			}
		}
		done := 0
		for _, r := range c.dc.Requests() {
			if !r.At.Before(since) && r.Match("POST", path) {
				done++
			}
		}
		return held > done
	})
}

// posted counts the POSTs to path since then that Discord answered 200.
func (c *crashHarness) posted(since time.Time, path string) int {
	n := 0
	for _, r := range c.dc.Requests() {
		if !r.At.Before(since) && r.Match("POST", path) && r.Status == 200 {
			n++
		}
	}
	return n
}

// open opens the bot's database from the test.
func (c *crashHarness) open(params string) *sql.DB {
	c.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+c.db+"?_busy_timeout=5000&"+params)
	if err != nil {
		c.t.Fatal(err)
	}
	return db
}

// readDB is a read-only handle on the bot's database, closed at cleanup.
func (c *crashHarness) readDB() *sql.DB {
	if c.ro == nil {
		c.ro = c.open("mode=ro")
		c.t.Cleanup(func() { c.ro.Close() })
	}
	return c.ro
}

func (c *crashHarness) count(query string) int {
	c.t.Helper()
	var n int
	if err := c.readDB().QueryRow(query).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (c *crashHarness) pendingOutbox() int {
	return c.count(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`)
}

func (c *crashHarness) pendingSteps() int {
	return c.count(`SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND kind = 'nudge'`)
}

// lockDatabase takes SQLite's write lock, so the bot blocks on its next
// write (recording a sent message among them); the returned func releases it.
func (c *crashHarness) lockDatabase() func() {
	c.t.Helper()
	db := c.open("_txlock=immediate")
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		cancel()
		c.t.Fatalf("lock database: %v", err)
	}
	return func() {
		tx.Rollback()
		cancel()
		db.Close()
	}
}
