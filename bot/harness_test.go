package bot_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/bot"
	"github.com/referralbot/referralbot/config"
	"github.com/referralbot/referralbot/discordtest"
)

// The test community: one server with channels and roles, two referrers,
// two students and an admin.
const (
	guildID     = "100000000000000001"
	generalID   = "200000000000000001"
	digestID    = "200000000000000002"
	fallbackID  = "200000000000000003"
	refRoleID   = "300000000000000001"
	adminRoleID = "300000000000000002"
	alice       = "400000000000000001" // referrer at Amazon
	bob         = "400000000000000002" // referrer at Amazon
	carol       = "400000000000000003" // referrer at Amazon, joins later
	sam         = "500000000000000001" // student
	tia         = "500000000000000002" // student
	admin       = "600000000000000001"
)

const manageServer = 1 << 5

// fakeClock lets a test move the bot's days ahead; cron and the outbox still
// wake on real time.
type fakeClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// harness runs the real bot (bot.New + Run, as `referralbot run` does)
// against discordtest with a temporary database.
type harness struct {
	t      *testing.T
	dc     *discordtest.Server
	cfg    config.Config
	clock  *fakeClock
	log    *logSink // every run of the bot logs here
	bot    *bot.Bot
	cancel context.CancelFunc
	done   chan error

	outboxPoll time.Duration // between outbox reads besides pokes; 0 is 100 ms
}

func newWorld(t testing.TB, opts ...discordtest.ServerOption) *discordtest.Server {
	t.Helper()
	dc, err := discordtest.New(opts...)
	if err != nil {
		t.Fatalf("discordtest.New: %v", err)
	}
	t.Cleanup(dc.Close)
	dc.AddGuild(discordtest.Guild{ID: guildID, Name: "CS Alumni", OwnerID: admin,
		Channels: []discordtest.Channel{{ID: generalID, Name: "general"}, {ID: digestID, Name: "referral-digest"}, {ID: fallbackID, Name: "bot-help"}},
		Roles:    []discordtest.Role{{ID: refRoleID, Name: "Referrer"}, {ID: adminRoleID, Name: "Admin", Permissions: manageServer}},
	})
	for id, name := range map[string]string{alice: "alice", bob: "bob", carol: "carol", sam: "sam", tia: "tia", admin: "admin"} {
		dc.AddUser(discordtest.User{ID: id, Username: name})
	}
	dc.AddMember(guildID, alice, refRoleID)
	dc.AddMember(guildID, bob, refRoleID)
	dc.AddMember(guildID, carol, refRoleID)
	dc.AddMember(guildID, sam)
	dc.AddMember(guildID, tia)
	dc.AddMember(guildID, admin, adminRoleID)
	return dc
}

// testConfig has durations of seconds; tests shorten what they exercise.
func testConfig(t testing.TB, dc *discordtest.Server) config.Config {
	cfg := config.Default()
	cfg.Discord.Token = "test-token"
	cfg.Discord.GuildIDs = []string{guildID}
	cfg.Discord.APIURL = dc.URL()
	cfg.Database.Path = filepath.Join(t.TempDir(), "referralbot.db")
	cfg.Schedule.Sweep = "@every 1s"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Log.Level = "debug"
	// Scripted members act far faster than people; the limit's own tests
	// (limits_e2e_test.go) set the limit they exercise.
	cfg.Limits.Interactions = 1000
	return cfg
}

func startBot(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	dc := newWorld(t)
	cfg := testConfig(t, dc)
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, dc: dc, cfg: cfg, clock: &fakeClock{}, log: &logSink{t: t}}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// logSink keeps the lines the bot logs, so a test can check what was
// logged, and passes them to t.Log with -v.
type logSink struct {
	mu    sync.Mutex
	t     *testing.T
	lines []string
}

func (w *logSink) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	line := strings.TrimRight(string(p), "\n")
	w.lines = append(w.lines, line)
	if testing.Verbose() {
		w.t.Log(line)
	}
	return len(p), nil
}

// matching lists the lines logged so far that contain every one of wants.
func (w *logSink) matching(wants ...string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, l := range w.lines {
		ok := true
		for _, want := range wants {
			ok = ok && strings.Contains(l, want)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	poll := h.outboxPoll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	b, err := bot.New(ctx, h.cfg, logger, bot.WithClock(h.clock.Now), bot.WithOutboxPoll(poll))
	if err != nil {
		cancel()
		h.t.Fatalf("bot.New: %v", err)
	}
	h.bot, h.cancel, h.done = b, cancel, make(chan error, 1)
	go func() { h.done <- b.Run(ctx) }()
	select {
	case <-b.Ready():
	case err := <-h.done:
		h.t.Fatalf("bot stopped before ready: %v", err)
	case <-time.After(15 * time.Second):
		h.t.Fatalf("bot not ready after 15s")
	}
}

// stop shuts the bot down cleanly and checks Run returned without error.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("bot.Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Errorf("bot did not shut down within 10s")
	}
	h.cancel = nil
}

// restart stops the bot and starts a new one on the same database.
func (h *harness) restart() {
	h.stop()
	h.start()
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// run runs a slash command and returns the bot's response.
func (h *harness) run(user, name, sub string, opts ...discordtest.Option) *discordtest.Response {
	h.t.Helper()
	return h.runAs(discordtest.Command{GuildID: guildID, ChannelID: generalID, UserID: user, Name: name, Subcommand: sub, Options: opts})
}

func (h *harness) runAs(c discordtest.Command) *discordtest.Response {
	h.t.Helper()
	ctx := h.ctx()
	in, err := h.dc.RunCommand(ctx, c)
	if err != nil {
		h.t.Fatalf("/%s %s: %v", c.Name, c.Subcommand, err)
	}
	resp, err := in.Answer(ctx)
	if err != nil {
		h.t.Fatalf("/%s %s: no response: %v", c.Name, c.Subcommand, err)
	}
	return resp
}

func opt(name string, v any) discordtest.Option { return discordtest.Option{Name: name, Value: v} }

// press presses a button and returns the bot's response.
func (h *harness) press(user string, m *discordtest.Message, label string) *discordtest.Response {
	h.t.Helper()
	ctx := h.ctx()
	in, err := h.dc.PressButton(ctx, discordtest.Press{UserID: user, Message: m, Label: label})
	if err != nil {
		h.t.Fatalf("press %q: %v", label, err)
	}
	resp, err := in.Answer(ctx)
	if err != nil {
		h.t.Fatalf("press %q: no response: %v", label, err)
	}
	return resp
}

// waitDM waits for a DM to user whose text contains want.
func (h *harness) waitDM(user, want string) *discordtest.Message {
	h.t.Helper()
	m, err := h.dc.WaitDM(h.ctx(), user, func(m *discordtest.Message) bool { return strings.Contains(m.Text(), want) })
	if err != nil {
		h.t.Fatalf("no DM to %s containing %q: %v\nDMs so far:\n%s", user, want, err, dmDump(h.dc.DMs(user)))
	}
	return m
}

func dmDump(ms []*discordtest.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("---\n" + m.Text() + "\n")
	}
	return b.String()
}

// countDMs counts DMs to user containing want.
func (h *harness) countDMs(user, want string) int {
	n := 0
	for _, m := range h.dc.DMs(user) {
		if strings.Contains(m.Text(), want) {
			n++
		}
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Helpers for the timed-step, outbox and crash tests.

// goodIntro passes the request modal's rules.
const goodIntro = "I'm a third-year CS student at State University. Last summer I interned at a logistics startup, " +
	"where I built a Go service that cut route-planning time by 40%. I'm applying for the SDE internship."

// adminSetup runs /referral-admin setup with the digest channel, the
// referrer role and, when fallback is set, the DM fallback channel.
func (h *harness) adminSetup(fallback bool) {
	h.t.Helper()
	opts := []discordtest.Option{opt("digest_channel", digestID), opt("referrer_role", refRoleID)}
	if fallback {
		opts = append(opts, opt("fallback_channel", fallbackID))
	}
	h.run(admin, "referral-admin", "setup", opts...)
}

// joinReferrer runs /referrer join for a member holding the referrer role.
func (h *harness) joinReferrer(user, companies string, opts ...discordtest.Option) {
	h.t.Helper()
	resp := h.run(user, "referrer", "join", append([]discordtest.Option{opt("companies", companies)}, opts...)...)
	if !strings.Contains(resp.Text(), "active") {
		h.t.Fatalf("/referrer join by %s = %q; want an active profile", user, resp.Text())
	}
}

// submitRequest opens the request modal for company and submits a valid
// request for the job link; it returns the bot's reply.
func (h *harness) submitRequest(student, company, jobURL string) *discordtest.Response {
	h.t.Helper()
	modal := h.run(student, "referral", "request", opt("company", company))
	if modal.Type != discordgo.InteractionResponseModal {
		h.t.Fatalf("/referral request company:%s answered %v (%q); want the modal", company, modal.Type, modal.Text())
	}
	ctx := h.ctx()
	in, err := h.dc.SubmitModal(ctx, discordtest.ModalSubmit{UserID: student, Modal: modal, Values: map[string]string{
		"job_url": jobURL, "role": "Software Development Engineer Intern", "intro": goodIntro,
		"resume_url": "https://drive.example.org/resume.pdf",
	}})
	if err != nil {
		h.t.Fatalf("submit request modal: %v", err)
	}
	resp, err := in.Answer(ctx)
	if err != nil {
		h.t.Fatalf("submit request modal: no response: %v", err)
	}
	if !strings.Contains(resp.Text(), "is in") {
		h.t.Fatalf("request reply = %q; want the request accepted", resp.Text())
	}
	return resp
}

// waitDMButton waits for a DM to user that offers an enabled button.
func (h *harness) waitDMButton(user, label string) *discordtest.Message {
	h.t.Helper()
	m, err := h.dc.WaitDM(h.ctx(), user, func(m *discordtest.Message) bool { return hasEnabledButton(m, label) })
	if err != nil {
		h.t.Fatalf("no DM to %s with button %q: %v\nDMs so far:\n%s", user, label, err, dmDump(h.dc.DMs(user)))
	}
	return m
}

func hasEnabledButton(m *discordtest.Message, label string) bool {
	for _, b := range m.Buttons() {
		if b.Label == label && !b.Disabled {
			return true
		}
	}
	return false
}

// settle runs a sweep with the bot's clock as it is now and waits until the
// outbox has delivered everything that sweep (or anything before) queued.
// After it, a step that was not due has visibly not run.
func (h *harness) settle() {
	h.t.Helper()
	h.bot.SweepNow(h.ctx())
	h.drained()
}

// drained waits until the outbox has nothing left to send.
func (h *harness) drained() {
	h.t.Helper()
	eventually(h.t, "the outbox to drain", func() bool {
		c, err := h.bot.Counts(h.ctx())
		return err == nil && c.Pending == 0
	})
}

// metric reads one sample line of /metrics, e.g. "referralbot_outbox_pending".
func (h *harness) metric(name string) string {
	h.t.Helper()
	res, err := http.Get("http://" + h.bot.HTTPAddr() + "/metrics")
	if err != nil {
		h.t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	h.t.Fatalf("/metrics has no sample %q", name)
	return ""
}

// sentDMs lists the DMs the bot sent to user as they read when sent: a
// button press that updates a DM later does not change them.
func (h *harness) sentDMs(user string) []*discordtest.Message {
	var out []*discordtest.Message
	for _, e := range h.dc.Events() {
		if e.Kind == "dm" && e.UserID == user && e.Message != nil {
			out = append(out, e.Message)
		}
	}
	return out
}

// countSentDMs counts the DMs sent to user whose text contained want.
func (h *harness) countSentDMs(user, want string) int {
	n := 0
	for _, m := range h.sentDMs(user) {
		if strings.Contains(m.Text(), want) {
			n++
		}
	}
	return n
}
