package bot_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/discordtest"
)

// The contract of PRODUCT.md: every command, subcommand and option name.
var contract = map[string]map[string][]string{
	"referrer": {
		"join": {"companies", "roles", "school", "capacity"}, "pause": {"days"}, "resume": nil, "leave": nil,
		"profile": nil, "verify": {"email"},
	},
	"referral": {
		"request": {"company"}, "status": nil, "withdraw": {"request"}, "outcome": {"request", "result"}, "forget-me": nil,
	},
	"referral-admin": {
		"setup": {"digest_channel", "fallback_channel", "referrer_role"}, "approve": {"user"}, "remove": {"user"},
		"referrers": nil, "digest-now": nil, "stats": nil, "export": nil,
	},
}

func TestRegistersEveryCommandInConfiguredGuild(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	cmds, err := h.dc.WaitCommands(h.ctx(), guildID, len(contract))
	if err != nil {
		t.Fatalf("WaitCommands: %v", err)
	}
	if global := h.dc.Commands(""); len(global) != 0 {
		t.Errorf("registered %d global commands with guild_ids set; want 0", len(global))
	}
	byName := map[string]*discordgo.ApplicationCommand{}
	for _, c := range cmds {
		byName[c.Name] = c
	}
	for name, subs := range contract {
		c := byName[name]
		if c == nil {
			t.Errorf("command /%s not registered", name)
			continue
		}
		for sub, opts := range subs {
			var so *discordgo.ApplicationCommandOption
			for _, o := range c.Options {
				if o.Name == sub && o.Type == discordgo.ApplicationCommandOptionSubCommand {
					so = o
				}
			}
			if so == nil {
				t.Errorf("/%s %s not registered", name, sub)
				continue
			}
			have := map[string]bool{}
			for _, o := range so.Options {
				have[o.Name] = true
			}
			for _, o := range opts {
				if !have[o] {
					t.Errorf("/%s %s lacks option %q", name, sub, o)
				}
			}
		}
	}
	if a := byName["referral-admin"]; a != nil {
		if a.DefaultMemberPermissions == nil || *a.DefaultMemberPermissions != manageServer {
			t.Errorf("/referral-admin default_member_permissions = %v; want Manage Server", a.DefaultMemberPermissions)
		}
	}
}

func TestSlashCommandRoundTripAndHealth(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	resp := h.run(sam, "referral", "status")
	if !resp.Ephemeral {
		t.Errorf("/referral status reply is not ephemeral")
	}
	if txt := resp.Message().Text(); !strings.Contains(strings.ToLower(txt), "no requests") && !strings.Contains(strings.ToLower(txt), "no referral requests") {
		t.Errorf("/referral status with nothing stored = %q; want it to say there are no requests", txt)
	}
	res, err := http.Get("http://" + h.bot.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d; want 200", res.StatusCode)
	}
	// The metric is recorded just after the answer: poll for it.
	var body string
	eventually(t, "the interaction in /metrics", func() bool {
		res, err := http.Get("http://" + h.bot.HTTPAddr() + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body = string(b)
		return strings.Contains(body, `referralbot_interactions_total{command="referral status",result="ok"} 1`)
	})
	for _, want := range []string{"referralbot_outbox_pending", "referralbot_steps_due"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestReconnectAfterDroppedGatewayKeepsServing(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.run(sam, "referral", "status")
	h.dc.DropGateway()
	if err := h.dc.WaitConnected(h.ctx()); err != nil {
		t.Fatalf("bot did not reconnect: %v", err)
	}
	// A drop is what the warning is for (a clean shutdown logs none).
	eventually(t, "the dropped gateway logged as a warning", func() bool {
		return len(h.log.matching("level=WARN", "gateway disconnected; reconnecting")) == 1
	})
	resp := h.run(tia, "referral", "status")
	if resp == nil || !resp.Ephemeral {
		t.Fatalf("after reconnect: %+v; want an ephemeral status reply", resp)
	}
}

// Our own shutdown (context cancelled, as SIGTERM does in `referralbot
// run`) is not a dropped connection: it logs that the gateway closed and
// no warning or error at all.
func TestCleanShutdownLogsNoWarning(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.run(sam, "referral", "status")
	h.stop()
	if got := h.log.matching("level=INFO", `msg="gateway closed"`); len(got) != 1 {
		t.Errorf("a clean shutdown logged %d lines \"gateway closed\" at INFO; want 1 (Run returns after it)", len(got))
	}
	if got := append(h.log.matching("level=WARN"), h.log.matching("level=ERROR")...); len(got) != 0 {
		t.Errorf("a clean shutdown logged warnings or errors; want none:\n%s", strings.Join(got, "\n"))
	}
	if got := h.log.matching("gateway disconnected"); len(got) != 0 {
		t.Errorf("a clean shutdown logged %q; want no reconnect message", got)
	}
}

// A press by someone the button was not sent to (a forged interaction: the
// client only shows a DM's buttons to its recipient) is refused and changes
// nothing; the referrer can still answer.
func TestWrongPresserIsRefused(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", "https://www.amazon.jobs/en/jobs/1")
	offer := h.waitDMButton(alice, "Accept")
	for _, label := range []string{"Accept", "Decline"} {
		in, err := h.dc.PressButton(h.ctx(), discordtest.Press{UserID: bob, Message: offer, Label: label, Forged: true})
		if err != nil {
			t.Fatalf("forged press: %v", err)
		}
		resp, err := in.Answer(h.ctx())
		if err != nil {
			t.Fatalf("forged press: no response: %v", err)
		}
		if !resp.Ephemeral || resp.Type == discordgo.InteractionResponseUpdateMessage {
			t.Fatalf("forged %s by bob = type %v ephemeral %v (%q); want an ephemeral refusal", label, resp.Type, resp.Ephemeral, resp.Text())
		}
	}
	resp := h.press(alice, offer, "Accept")
	if resp.Type != discordgo.InteractionResponseUpdateMessage || !strings.Contains(resp.Text(), "accepted") {
		t.Fatalf("alice's Accept after the forged presses = %q; want it accepted", resp.Text())
	}
	h.waitDM(sam, "<@"+alice+">")
	if n := h.countDMs(sam, "agreed to refer you"); n != 1 {
		t.Fatalf("student told of an accept %d times; want 1", n)
	}
}
