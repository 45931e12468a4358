package bot_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/referralbot/referralbot/discordtest"
)

var crashCycles = flag.Int("cycles", 0, "kill-and-restart cycles of TestCrashLoop (default 10, or $REFERRALBOT_CRASH_CYCLES)")

// crashLoopCycles is -cycles, else $REFERRALBOT_CRASH_CYCLES, else the
// short mode CI runs.
func crashLoopCycles(t *testing.T) int {
	if *crashCycles > 0 {
		return *crashCycles
	}
	if v := os.Getenv("REFERRALBOT_CRASH_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("REFERRALBOT_CRASH_CYCLES=%q; want a positive number of cycles", v)
		}
		return n
	}
	return 10
}

// trafficWorkers is how many users act at once.
const trafficWorkers = 4

// answerWindow is how long a live bot has to answer an interaction:
// Discord drops answers after 3 s.
const answerWindow = 3 * time.Second

// TestCrashLoop runs the built binary under a steady mix of flows (requests
// submitted, offers accepted and declined, referrals submitted, outcomes,
// status, profile, withdraw; offer timeouts, reminders and follow-ups
// falling due) and SIGKILLs it at random moments, restarting it on the same
// database each time. Then, with a last run settled: every cycle left a
// database that passes PRAGMA integrity_check; every request that got a
// success reply exists; every message Discord holds is the one recorded
// for exactly one outbox row (none posted twice, none lost track of), with
// a nonce of its own; no notice that is once per request came twice; every
// due step ran; and every interaction sent while the bot was up, early
// enough to be answered before it was killed, was answered.
//
// CI runs 10 cycles; `go test ./bot -run TestCrashLoop -cycles 200` (or
// REFERRALBOT_CRASH_CYCLES=200) runs more. The random seed is logged;
// REFERRALBOT_CRASH_SEED replays one.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	cycles := crashLoopCycles(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("REFERRALBOT_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("REFERRALBOT_CRASH_SEED=%q: %v", v, err)
		}
	}
	t.Logf("%d cycles, seed %d", cycles, seed)
	began := time.Now()

	bin := referralbotBinary(t)
	dir := t.TempDir()
	dc := newWorld(t)
	tr := newCrashTraffic(dc)
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
  offer_timeout: 3s
  referrer_reminder: 2s
  nudges: [2s, 4s]
  request_ttl: 20s
  max_open_per_student: 20
  referrer_capacity: 20
http:
  listen: ""
log:
  level: info
`, guildID, dc.URL(), dbPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &crashHarness{t: t, dc: dc, bin: bin, cfg: cfgPath, dir: dir, db: dbPath}
	t.Cleanup(c.kill)
	h := &harness{t: t, dc: dc}

	c.start()
	h.adminSetup(false)
	for _, r := range tr.referrers {
		h.joinReferrer(r, "Amazon")
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range trafficWorkers {
		wg.Add(1)
		go func() { defer wg.Done(); tr.run(ctx, rand.New(rand.NewPCG(seed, uint64(10+w)))) }()
	}
	stopTraffic := func() { stop(); wg.Wait() }
	t.Cleanup(stopTraffic) // before dc closes (cleanups run last first)

	// The kill moments are random: each run lives 0.2-2.5 s, and the bot
	// stays down up to 0.3 s (sleeps that pick moments, not waits for
	// something).
	rng := rand.New(rand.NewPCG(seed, 1))
	var ups []upInterval
	for cycle := 1; cycle <= cycles; cycle++ {
		if cycle > 1 {
			c.start()
		}
		up := time.Now()
		time.Sleep(200*time.Millisecond + rand.N(2300*time.Millisecond))
		c.kill()
		ups = append(ups, upInterval{up, time.Now()})
		c.checkIntegrity(fmt.Sprintf("after kill %d", cycle))
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
	}

	// A last run, left to settle: the traffic stops, and every step and
	// message due a sweep ago is done. (Steps keep falling due for a while,
	// offers timing out one referrer after another.)
	c.start()
	up := time.Now()
	stopTraffic()
	for deadline := time.Now().Add(time.Minute); c.dueSteps() > 0 || c.dueOutbox() > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute of the last run, %d steps and %d messages due more than a sweep ago are not done", c.dueSteps(), c.dueOutbox())
		}
	}
	// A clean stop: a message being sent right now is recorded, as the
	// next start would record it by its nonce after a kill.
	c.stop()
	ups = append(ups, upInterval{up, time.Now()})
	c.checkIntegrity("at the end")

	figures := tr.check(t, c, ups)
	t.Logf("crash loop: %d cycles in %v (seed %d): %s", cycles, time.Since(began).Round(time.Second), seed, figures)
}

type upInterval struct{ from, to time.Time }

// checkIntegrity runs PRAGMA integrity_check on the database.
func (c *crashHarness) checkIntegrity(when string) {
	c.t.Helper()
	var check string
	if err := c.readDB().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		c.t.Fatalf("PRAGMA integrity_check %s = %q, %v; want ok", when, check, err)
	}
}

// aSweepAgo is a moment by which the bot (sweeping every second) has
// picked up whatever was due.
func aSweepAgo() int64 { return time.Now().Add(-1500 * time.Millisecond).UnixMilli() }

// dueSteps counts steps due a sweep ago and not done.
func (c *crashHarness) dueSteps() int {
	return c.count(fmt.Sprintf(`SELECT COUNT(*) FROM steps WHERE done_at IS NULL AND due_at <= %d`, aSweepAgo()))
}

// dueOutbox counts messages due a sweep ago and not sent.
func (c *crashHarness) dueOutbox() int {
	return c.count(fmt.Sprintf(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= %d`, aSweepAgo()))
}

// crashTraffic is the steady mix of users acting while the bot is killed
// and restarted. It runs on its own goroutine and never fails the test
// itself: it records what it sent and what came back, and check judges.
type crashTraffic struct {
	dc        *discordtest.Server
	students  []string
	referrers []string

	mu      sync.Mutex
	sent    []sentInteraction
	created map[int64]string // request number -> student, from success replies
	jobs    int
}

type sentInteraction struct {
	label    string
	sentAt   time.Time
	answered bool
	in       *discordtest.Interaction
}

func newCrashTraffic(dc *discordtest.Server) *crashTraffic {
	tr := &crashTraffic{dc: dc, created: map[int64]string{},
		students: []string{sam, tia}, referrers: []string{alice, bob, carol}}
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("51000000000000000%d", i)
		dc.AddUser(discordtest.User{ID: id, Username: fmt.Sprintf("student%d", i)})
		dc.AddMember(guildID, id)
		tr.students = append(tr.students, id)
	}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("41000000000000000%d", i)
		dc.AddUser(discordtest.User{ID: id, Username: fmt.Sprintf("referrer%d", i)})
		dc.AddMember(guildID, id, refRoleID)
		tr.referrers = append(tr.referrers, id)
	}
	return tr
}

// run is one worker acting until ctx ends, an action every 20-80 ms.
func (tr *crashTraffic) run(ctx context.Context, rng *rand.Rand) {
	pick := func(users []string) string { return users[rng.IntN(len(users))] }
	for ctx.Err() == nil {
		switch n := rng.IntN(100); {
		case n < 15:
			tr.submit(ctx, pick(tr.students))
		case n < 40:
			label := "Accept"
			if rng.IntN(10) < 3 {
				label = "Decline"
			}
			tr.pressOwn(ctx, pick(tr.referrers), "Accept", label)
		case n < 55:
			tr.pressOwn(ctx, pick(tr.referrers), "Referral submitted", "Referral submitted")
		case n < 70:
			outcomes := []string{"Recruiter screen", "Interviewing", "Offer", "Rejected", "No news yet"}
			tr.pressOwn(ctx, pick(tr.students), "No news yet", outcomes[rng.IntN(len(outcomes))])
		case n < 80:
			tr.command(ctx, pick(tr.students), "referral", "status")
		case n < 90:
			tr.command(ctx, pick(tr.referrers), "referrer", "profile")
		default:
			tr.withdraw(ctx, rng)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20*time.Millisecond + time.Duration(rng.IntN(60))*time.Millisecond):
		}
	}
}

// interact sends one interaction (waiting through a restart) and waits a
// little longer than Discord would for its answer. It returns nil when
// nothing was sent or nothing came back.
func (tr *crashTraffic) interact(ctx context.Context, label string, send func(context.Context) (*discordtest.Interaction, error)) *discordtest.Response {
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	in, err := send(sctx)
	cancel()
	if err != nil {
		return nil // not sent: the button went away meanwhile, or the traffic stopped
	}
	rec := sentInteraction{label: label, sentAt: time.Now(), in: in}
	rctx, cancel := context.WithTimeout(ctx, answerWindow+time.Second)
	resp, err := in.Answer(rctx)
	cancel()
	if ctx.Err() != nil {
		return nil // stopped while waiting: says nothing about the bot
	}
	rec.answered = err == nil
	tr.mu.Lock()
	tr.sent = append(tr.sent, rec)
	tr.mu.Unlock()
	return resp
}

func (tr *crashTraffic) command(ctx context.Context, user, name, sub string, opts ...discordtest.Option) *discordtest.Response {
	return tr.interact(ctx, "/"+name+" "+sub, func(ctx context.Context) (*discordtest.Interaction, error) {
		return tr.dc.RunCommand(ctx, discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: user, Name: name, Subcommand: sub, Options: opts})
	})
}

var requestIn = regexp.MustCompile(`Request #(\d+)\*\* is in`)

func (tr *crashTraffic) submit(ctx context.Context, student string) {
	modal := tr.command(ctx, student, "referral", "request", opt("company", "Amazon"))
	if modal == nil || modal.Data == nil || modal.Data.CustomID == "" {
		return
	}
	tr.mu.Lock()
	tr.jobs++
	job := fmt.Sprintf("https://www.amazon.jobs/en/jobs/%d/sde-intern", 3000000+tr.jobs)
	tr.mu.Unlock()
	resp := tr.interact(ctx, "modal request", func(ctx context.Context) (*discordtest.Interaction, error) {
		return tr.dc.SubmitModal(ctx, discordtest.ModalSubmit{UserID: student, Modal: modal, Values: map[string]string{
			"job_url": job, "role": "Software Development Engineer Intern", "intro": goodIntro,
			"resume_url": "https://drive.example.org/resume.pdf",
		}})
	})
	if resp == nil {
		return
	}
	if m := requestIn.FindStringSubmatch(resp.Text()); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		tr.mu.Lock()
		tr.created[id] = student
		tr.mu.Unlock()
	}
}

// pressOwn presses label on a DM of user that offers an enabled button
// marker (the newest such DM), if there is one.
func (tr *crashTraffic) pressOwn(ctx context.Context, user, marker, label string) {
	dms := tr.dc.DMs(user)
	for i := len(dms) - 1; i >= 0; i-- {
		if hasEnabledButton(dms[i], marker) && hasEnabledButton(dms[i], label) {
			m := dms[i]
			tr.interact(ctx, "button "+label, func(ctx context.Context) (*discordtest.Interaction, error) {
				return tr.dc.PressButton(ctx, discordtest.Press{UserID: user, Message: m, Label: label})
			})
			return
		}
	}
	tr.command(ctx, user, "referral", "status")
}

// withdraw withdraws a random request that got a success reply.
func (tr *crashTraffic) withdraw(ctx context.Context, rng *rand.Rand) {
	tr.mu.Lock()
	var ids []int64
	for id := range tr.created {
		ids = append(ids, id)
	}
	tr.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	id := ids[rng.IntN(len(ids))]
	tr.mu.Lock()
	student := tr.created[id]
	tr.mu.Unlock()
	tr.command(ctx, student, "referral", "withdraw", opt("request", id))
}

// onceNotices are the notices a request causes at most once per
// recipient: decisions and timed steps, each of which runs once.
var onceNotices = []string{offerText, acceptedText, submittedText, "A friendly reminder", "Check-in 1 of 2", "Check-in 2 of 2"}

var requestNumber = regexp.MustCompile(`(?i)request #(\d+)`)

// check judges the run and returns its figures.
func (tr *crashTraffic) check(t *testing.T, c *crashHarness, ups []upInterval) string {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()

	// Every interaction sent while the bot was up, with time to answer
	// before the kill, was answered.
	answered, unansweredUp := 0, 0
	for _, s := range tr.sent {
		if s.answered {
			answered++
			continue
		}
		for _, u := range ups {
			if !s.sentAt.Before(u.from) && s.sentAt.Add(answerWindow).Before(u.to) {
				unansweredUp++
				t.Errorf("%s sent at %s, while the bot was up (%s to %s), got no answer",
					s.label, s.sentAt.Format("15:04:05.000"), u.from.Format("15:04:05.000"), u.to.Format("15:04:05.000"))
			}
		}
	}

	// Every request that got a success reply exists, for its student.
	for id, student := range tr.created {
		var got string
		if err := c.readDB().QueryRow(`SELECT student_id FROM requests WHERE id = ?`, id).Scan(&got); err != nil || got != student {
			t.Errorf("request #%d was confirmed to %s but the database has student %q (%v)", id, student, got, err)
		}
	}

	// Every message Discord holds is the one recorded for one outbox row.
	recorded := map[string]int{}
	rows, err := c.readDB().Query(`SELECT message_id FROM outbox WHERE sent_at IS NOT NULL`)
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
	rows.Close()
	nonces := map[string]bool{}
	once := map[string]int{}
	delivered := 0
	for _, e := range c.dc.Events() {
		if (e.Kind != "dm" && e.Kind != "post") || e.Message == nil {
			continue
		}
		delivered++
		m := e.Message
		to := e.UserID
		if e.Kind == "post" {
			to = "#" + e.ChannelID
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
	if sent := c.count(`SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL`); sent != delivered {
		t.Errorf("%d outbox rows recorded as sent; Discord holds %d messages", sent, delivered)
	}
	for k, n := range once {
		if n > 1 {
			t.Errorf("%s: sent %d times; want once", k, n)
		}
	}

	// Every due step ran, none failed, nothing is undeliverable.
	if n := c.count(`SELECT COUNT(*) FROM steps WHERE attempts > 0 AND done_at IS NULL`); n > 0 {
		t.Errorf("%d steps failed and were postponed; want 0", n)
	}
	if n := c.count(`SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL`); n > 0 {
		t.Errorf("%d messages undeliverable; want 0", n)
	}
	resent := 0
	for _, r := range c.dc.Requests() {
		if r.Match("POST", "/channels/*/messages") && r.Status == 200 {
			resent++
		}
	}
	resent -= delivered
	return fmt.Sprintf("%d interactions sent, %d answered, %d unanswered while up; %d requests confirmed (%d in the database); "+
		"%d messages delivered once each, %d resends answered by nonce; %d steps run",
		len(tr.sent), answered, unansweredUp, len(tr.created), c.count(`SELECT COUNT(*) FROM requests`),
		delivered, resent, c.count(`SELECT COUNT(*) FROM steps WHERE done_at IS NOT NULL`))
}

func excerptOf(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
