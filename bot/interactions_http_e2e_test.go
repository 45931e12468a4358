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

// End-to-end tests of discord.interactions: http. The bot and the fake
// Discord are the real ones; the fake POSTs signed interactions to the
// bot's endpoint and reads the answers from the HTTP responses. These tests
// keep their own small world so they do not depend on the gateway harness.

const (
	hGuild    = "110000000000000001"
	hGeneral  = "210000000000000001"
	hDigest   = "210000000000000002"
	hRefRole  = "310000000000000001"
	hAdmRole  = "310000000000000002"
	hAdmin    = "610000000000000001"
	hReferrer = "410000000000000001"
	hStudent  = "510000000000000001"
	hNewcomer = "510000000000000002"
)

// shiftClock is the bot's clock, movable days ahead.
type shiftClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *shiftClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *shiftClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

type httpBot struct {
	t        *testing.T
	dc       *discordtest.Server
	bot      *bot.Bot
	clock    *shiftClock
	endpoint string
}

// startHTTPBot runs one bot process's worth (bot.New + Run) in http mode on
// SQLite, with the fake delivering to its endpoint.
func startHTTPBot(t *testing.T) *httpBot {
	t.Helper()
	dc, err := discordtest.New(discordtest.WithHTTPInteractions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	dc.AddGuild(discordtest.Guild{ID: hGuild, Name: "CS Alumni", OwnerID: hAdmin,
		Channels: []discordtest.Channel{{ID: hGeneral, Name: "general"}, {ID: hDigest, Name: "referral-digest"}},
		Roles:    []discordtest.Role{{ID: hRefRole, Name: "Referrer"}, {ID: hAdmRole, Name: "Admin", Permissions: discordgo.PermissionManageGuild}}})
	for id, name := range map[string]string{hAdmin: "admin", hReferrer: "rita", hStudent: "stan", hNewcomer: "nina"} {
		dc.AddUser(discordtest.User{ID: id, Username: name})
	}
	dc.AddMember(hGuild, hAdmin, hAdmRole)
	dc.AddMember(hGuild, hReferrer, hRefRole)
	dc.AddMember(hGuild, hStudent)
	dc.AddMember(hGuild, hNewcomer, hRefRole)

	cfg := config.Default()
	cfg.Discord.Token = "test-token"
	cfg.Discord.GuildIDs = []string{hGuild}
	cfg.Discord.APIURL = dc.URL()
	cfg.Discord.Interactions = config.InteractionsHTTP
	cfg.Discord.PublicKey = dc.PublicKey()
	cfg.Database.Path = filepath.Join(t.TempDir(), "referralbot.db")
	cfg.Schedule.Sweep = "@every 1s"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.HTTP.InteractionsPath = "/discord/interactions"

	clock := &shiftClock{}
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bot.New(ctx, cfg, slog.New(slog.DiscardHandler), bot.WithClock(clock.now), bot.WithOutboxPoll(100*time.Millisecond))
	if err != nil {
		cancel()
		t.Fatalf("bot.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bot.Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("bot did not shut down within 10s")
		}
	})
	select {
	case <-b.Ready():
	case err := <-done:
		t.Fatalf("bot stopped before ready: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatalf("bot not ready after 15s")
	}
	h := &httpBot{t: t, dc: dc, bot: b, clock: clock, endpoint: "http://" + b.HTTPAddr() + cfg.HTTP.InteractionsPath}
	dc.SetInteractionEndpoints(h.endpoint)
	return h
}

func (h *httpBot) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func (h *httpBot) answer(what string, in *discordtest.Interaction, err error) *discordtest.Response {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	resp, err := in.Answer(h.ctx())
	if err != nil {
		h.t.Fatalf("%s: no answer: %v", what, err)
	}
	return resp
}

func (h *httpBot) run(user, name, sub string, opts ...discordtest.Option) *discordtest.Response {
	h.t.Helper()
	in, err := h.dc.RunCommand(h.ctx(), discordtest.Command{GuildID: hGuild, ChannelID: hGeneral, UserID: user, Name: name, Subcommand: sub, Options: opts})
	return h.answer("/"+name+" "+sub, in, err)
}

func (h *httpBot) press(user string, m *discordtest.Message, label string) *discordtest.Response {
	h.t.Helper()
	in, err := h.dc.PressButton(h.ctx(), discordtest.Press{UserID: user, Message: m, Label: label})
	return h.answer("press "+label, in, err)
}

// waitButton waits for a DM to user with an enabled button labelled label.
func (h *httpBot) waitButton(user, label string) *discordtest.Message {
	h.t.Helper()
	m, err := h.dc.WaitDM(h.ctx(), user, func(m *discordtest.Message) bool {
		for _, b := range m.Buttons() {
			if b.Label == label && !b.Disabled {
				return true
			}
		}
		return false
	})
	if err != nil {
		h.t.Fatalf("no DM to %s with button %q: %v", user, label, err)
	}
	return m
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q; want it to contain %q", what, got, w)
		}
	}
}

func TestHTTPInteractionsReferralFlow(t *testing.T) {
	h := startHTTPBot(t)
	if err := h.dc.CheckInteractionsEndpoint(h.ctx(), h.endpoint); err != nil {
		t.Fatalf("the Developer Portal's endpoint check: %v", err)
	}
	res, err := http.Get("http://" + h.bot.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz in http mode = %d %q; want 200 without a gateway", res.StatusCode, body)
	}

	setup := h.run(hAdmin, "referral-admin", "setup", discordtest.Option{Name: "digest_channel", Value: hDigest},
		discordtest.Option{Name: "referrer_role", Value: hRefRole})
	mustContain(t, "/referral-admin setup", setup.Text(), "Saved")
	join := h.run(hReferrer, "referrer", "join", discordtest.Option{Name: "companies", Value: "Amazon"})
	mustContain(t, "/referrer join", join.Text(), "**active**")

	modal := h.run(hStudent, "referral", "request", discordtest.Option{Name: "company", Value: "Amazon"})
	if modal.Type != discordgo.InteractionResponseModal {
		t.Fatalf("/referral request answered type %d %q; want the modal", modal.Type, modal.Text())
	}
	in, err := h.dc.SubmitModal(h.ctx(), discordtest.ModalSubmit{Modal: modal, Values: map[string]string{
		"job_url": "https://jobs.example.com/amazon/4711", "role": "Software Development Engineer Intern",
		"intro": "I'm a third-year CS student at State University. Last summer I interned at a logistics startup, " +
			"where I built a Go service that cut route-planning time by 40%. I'm applying for the SDE internship.",
		"resume_url": "https://drive.example.org/resume.pdf",
	}})
	preview := h.answer("submit the request modal", in, err)
	mustContain(t, "the request preview", preview.Text(), "is in")
	if !preview.Ephemeral {
		t.Errorf("the request preview is not ephemeral")
	}

	offer := h.waitButton(hReferrer, "Accept")
	mustContain(t, "the offer DM", offer.Text(), "https://jobs.example.com/amazon/4711")
	acc := h.press(hReferrer, offer, "Accept")
	if acc.Type != discordgo.InteractionResponseUpdateMessage {
		t.Errorf("Accept answered type %d; want the offer updated (type %d)", acc.Type, discordgo.InteractionResponseUpdateMessage)
	}
	mustContain(t, "Accept", acc.Text(), "You accepted")
	if _, err := h.dc.WaitDM(h.ctx(), hStudent, func(m *discordtest.Message) bool { return strings.Contains(m.Text(), "agreed to refer you") }); err != nil {
		t.Fatalf("the student was not told of the accept: %v", err)
	}

	submitted := h.press(hReferrer, acc.Message(), "Referral submitted")
	if submitted.Type != discordgo.InteractionResponseUpdateMessage {
		t.Errorf("Referral submitted answered type %d %q; want the message updated", submitted.Type, submitted.Text())
	}

	// The first follow-up falls due a week later; cron sweeps every second.
	h.clock.advance(7*24*time.Hour + time.Minute)
	followUp := h.waitButton(hStudent, "Interviewing")
	outcome := h.press(hStudent, followUp, "Interviewing")
	if outcome.Type != discordgo.InteractionResponseUpdateMessage {
		t.Errorf("Interviewing answered type %d %q; want the follow-up updated", outcome.Type, outcome.Text())
	}
	status := h.run(hStudent, "referral", "status")
	mustContain(t, "/referral status after the outcome", strings.ToLower(status.Text()), "interview")

	if n := h.dc.GatewayConnections(); n != 0 {
		t.Errorf("the bot opened %d gateway connections in http mode; want none", n)
	}
	for _, r := range h.dc.Requests() {
		if strings.HasPrefix(r.Path, "/gateway") {
			t.Errorf("the bot asked for the gateway (%s %s) in http mode", r.Method, r.Path)
		}
	}
}

// A request with a bad signature gets 401 and changes nothing; the next,
// well signed one works.
func TestHTTPInteractionsRefuseBadSignatures(t *testing.T) {
	h := startHTTPBot(t)
	for _, fault := range []discordtest.SignatureFault{discordtest.SignatureTampered, discordtest.SignatureWrongKey,
		discordtest.SignatureMissing, discordtest.SignatureStale} {
		t.Run(fault.String(), func(t *testing.T) {
			h.t = t
			h.dc.SpoilNextSignature(fault)
			in, err := h.dc.RunCommand(h.ctx(), discordtest.Command{GuildID: hGuild, UserID: hNewcomer, Name: "referrer", Subcommand: "join",
				Options: []discordtest.Option{{Name: "companies", Value: "Google"}}})
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := in.Answer(h.ctx()); err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("Response() to /referrer join with a %s = %v, %v; want the interaction failed with 401", fault, resp, err)
			}
			profile := h.run(hNewcomer, "referrer", "profile")
			if strings.Contains(profile.Text(), "Google") {
				t.Errorf("/referrer profile after a refused join with a %s = %q; want no profile", fault, profile.Text())
			}
		})
	}
	h.t = t
	h.run(hNewcomer, "referrer", "join", discordtest.Option{Name: "companies", Value: "Google"})
	profile := h.run(hNewcomer, "referrer", "profile")
	mustContain(t, "/referrer profile after a join with a good signature", profile.Text(), "Google")
}
