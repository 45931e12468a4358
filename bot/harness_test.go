package bot_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	bot    *bot.Bot
	cancel context.CancelFunc
	done   chan error
}

func newWorld(t *testing.T) *discordtest.Server {
	t.Helper()
	dc, err := discordtest.New()
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
func testConfig(t *testing.T, dc *discordtest.Server) config.Config {
	cfg := config.Default()
	cfg.Discord.Token = "test-token"
	cfg.Discord.GuildIDs = []string{guildID}
	cfg.Discord.APIURL = dc.URL()
	cfg.Database.Path = filepath.Join(t.TempDir(), "referralbot.db")
	cfg.Schedule.Sweep = "@every 1s"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Log.Level = "debug"
	return cfg
}

func startBot(t *testing.T, mutate func(*config.Config)) *harness {
	t.Helper()
	dc := newWorld(t)
	cfg := testConfig(t, dc)
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, dc: dc, cfg: cfg, clock: &fakeClock{}}
	h.start()
	t.Cleanup(h.stop)
	return h
}

type testLogWriter struct {
	mu sync.Mutex
	t  *testing.T
	on bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.on {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var w io.Writer = &testLogWriter{t: h.t, on: testing.Verbose()}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bot.New(ctx, h.cfg, logger, bot.WithClock(h.clock.Now), bot.WithOutboxPoll(100*time.Millisecond))
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
	resp, err := in.Response(ctx)
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
	resp, err := in.Response(ctx)
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
