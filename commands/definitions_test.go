package commands

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/definitions.json from Definitions()")

// The registered definitions are a contract with Discord and with every
// server's members: names, options, types, limits, choices and permissions.
// testdata/definitions.json holds them; change it only on purpose (-update).
func TestDefinitionsGolden(t *testing.T) {
	got, err := json.MarshalIndent(Definitions(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		if err := os.WriteFile("testdata/definitions.json", append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Errorf("Definitions() differ from testdata/definitions.json:\n%s", got)
	}
}

// wantOption is one option of PRODUCT.md's command table.
type wantOption struct {
	name     string
	typ      discordgo.ApplicationCommandOptionType
	required bool
}

// productCommands is PRODUCT.md's contract: command, subcommand, options.
var productCommands = map[string]map[string][]wantOption{
	"referrer": {
		"join": {
			{"companies", discordgo.ApplicationCommandOptionString, true},
			{"roles", discordgo.ApplicationCommandOptionString, false},
			{"school", discordgo.ApplicationCommandOptionString, false},
			{"capacity", discordgo.ApplicationCommandOptionInteger, false},
		},
		"pause":   {{"days", discordgo.ApplicationCommandOptionInteger, false}},
		"resume":  nil,
		"leave":   nil,
		"profile": nil,
		"verify":  {{"email", discordgo.ApplicationCommandOptionString, true}},
	},
	"referral": {
		"request":  {{"company", discordgo.ApplicationCommandOptionString, true}},
		"status":   nil,
		"withdraw": {{"request", discordgo.ApplicationCommandOptionInteger, true}},
		"outcome": {
			{"request", discordgo.ApplicationCommandOptionInteger, true},
			{"result", discordgo.ApplicationCommandOptionString, true},
		},
		"forget-me": nil,
		"help":      nil,
	},
	"referral-admin": {
		"setup": {
			{"digest_channel", discordgo.ApplicationCommandOptionChannel, true},
			{"fallback_channel", discordgo.ApplicationCommandOptionChannel, false},
			{"referrer_role", discordgo.ApplicationCommandOptionRole, false},
		},
		"approve":    {{"user", discordgo.ApplicationCommandOptionUser, true}},
		"remove":     {{"user", discordgo.ApplicationCommandOptionUser, true}},
		"referrers":  nil,
		"digest-now": nil,
		"stats":      nil,
		"export":     nil,
		"dashboard":  nil,
	},
}

func TestDefinitionsMatchProduct(t *testing.T) {
	defs := Definitions()
	if len(defs) != len(productCommands) {
		t.Fatalf("Definitions() has %d commands; want %d", len(defs), len(productCommands))
	}
	for _, cmd := range defs {
		subs, ok := productCommands[cmd.Name]
		if !ok {
			t.Errorf("command %q is not in PRODUCT.md", cmd.Name)
			continue
		}
		checkDescription(t, cmd.Name, cmd.Description)
		if cmd.DMPermission == nil || *cmd.DMPermission {
			t.Errorf("/%s: dm_permission = %v; want false", cmd.Name, cmd.DMPermission)
		}
		if cmd.Contexts == nil || len(*cmd.Contexts) != 1 || (*cmd.Contexts)[0] != discordgo.InteractionContextGuild {
			t.Errorf("/%s: contexts = %v; want guild only", cmd.Name, cmd.Contexts)
		}
		if len(cmd.Options) != len(subs) {
			t.Errorf("/%s has %d subcommands; want %d", cmd.Name, len(cmd.Options), len(subs))
		}
		for _, sub := range cmd.Options {
			want, ok := subs[sub.Name]
			if !ok || sub.Type != discordgo.ApplicationCommandOptionSubCommand {
				t.Errorf("/%s %s: not a subcommand of PRODUCT.md", cmd.Name, sub.Name)
				continue
			}
			checkDescription(t, cmd.Name+" "+sub.Name, sub.Description)
			if len(sub.Options) != len(want) {
				t.Errorf("/%s %s has %d options; want %d", cmd.Name, sub.Name, len(sub.Options), len(want))
				continue
			}
			for k, w := range want {
				got := sub.Options[k]
				if got.Name != w.name || got.Type != w.typ || got.Required != w.required {
					t.Errorf("/%s %s option %d = %s %v required=%v; want %s %v required=%v",
						cmd.Name, sub.Name, k, got.Name, got.Type, got.Required, w.name, w.typ, w.required)
				}
				checkDescription(t, cmd.Name+" "+sub.Name+" "+got.Name, got.Description)
			}
		}
	}
}

func checkDescription(t *testing.T, what, d string) {
	t.Helper()
	if d == "" || len([]rune(d)) > 100 {
		t.Errorf("%s: description %q has %d characters; want 1-100", what, d, len([]rune(d)))
	}
}

// findOption digs out one option of the definitions.
func findOption(t *testing.T, cmd, sub, opt string) *discordgo.ApplicationCommandOption {
	t.Helper()
	for _, c := range Definitions() {
		for _, s := range c.Options {
			if c.Name != cmd || s.Name != sub {
				continue
			}
			for _, o := range s.Options {
				if o.Name == opt {
					return o
				}
			}
		}
	}
	t.Fatalf("no option /%s %s %s", cmd, sub, opt)
	return nil
}

func TestDefinitionDetails(t *testing.T) {
	bounds := []struct {
		cmd, sub, opt string
		min, max      float64
	}{
		{"referrer", "join", "capacity", 1, 20},
		{"referrer", "pause", "days", 1, 365},
	}
	for _, b := range bounds {
		o := findOption(t, b.cmd, b.sub, b.opt)
		if o.MinValue == nil || *o.MinValue != b.min || o.MaxValue != b.max {
			t.Errorf("/%s %s %s bounds = %v..%v; want %v..%v", b.cmd, b.sub, b.opt, o.MinValue, o.MaxValue, b.min, b.max)
		}
	}
	for _, sub := range []string{"withdraw", "outcome"} {
		if o := findOption(t, "referral", sub, "request"); o.MinValue == nil || *o.MinValue != 1 {
			t.Errorf("/referral %s request: min = %v; want 1", sub, o.MinValue)
		}
	}
	if o := findOption(t, "referral", "request", "company"); !o.Autocomplete {
		t.Error("/referral request company: autocomplete is off")
	}
	var values []string
	for _, c := range findOption(t, "referral", "outcome", "result").Choices {
		values = append(values, c.Value.(string))
		if c.Name == c.Value || c.Name == "" {
			t.Errorf("outcome choice %v has no readable name", c.Value)
		}
	}
	if got, want := strings.Join(values, ","), "screen,interview,offer,rejected,no_response"; got != want {
		t.Errorf("outcome choices = %s; want %s", got, want)
	}
	types := findOption(t, "referral-admin", "setup", "digest_channel").ChannelTypes
	if len(types) != 2 || types[0] != discordgo.ChannelTypeGuildText || types[1] != discordgo.ChannelTypeGuildNews {
		t.Errorf("digest_channel channel types = %v; want text and news", types)
	}
	for _, c := range Definitions() {
		perms := c.DefaultMemberPermissions
		if c.Name == "referral-admin" {
			if perms == nil || *perms != discordgo.PermissionManageGuild {
				t.Errorf("/referral-admin default_member_permissions = %v; want Manage Server", perms)
			}
		} else if perms != nil {
			t.Errorf("/%s default_member_permissions = %v; want everyone", c.Name, *perms)
		}
	}
}

// sampleValue fills an option the way Discord would.
func sampleValue(o *discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandInteractionDataOption {
	v := map[discordgo.ApplicationCommandOptionType]any{
		discordgo.ApplicationCommandOptionString:  "Amazon",
		discordgo.ApplicationCommandOptionInteger: float64(1),
		discordgo.ApplicationCommandOptionChannel: "900",
		discordgo.ApplicationCommandOptionRole:    "800",
		discordgo.ApplicationCommandOptionUser:    testAlumnus,
	}[o.Type]
	switch o.Name {
	case "result":
		v = "screen"
	case "email":
		v = "me@example.com"
	}
	return &discordgo.ApplicationCommandInteractionDataOption{Name: o.Name, Type: o.Type, Value: v}
}

// Every subcommand of Definitions reaches a handler and gets an answer
// other than "unknown command", with every option filled in.
func TestEveryCommandIsRouted(t *testing.T) {
	for _, cmd := range Definitions() {
		for _, sub := range cmd.Options {
			t.Run(cmd.Name+" "+sub.Name, func(t *testing.T) {
				h := newHarness(t)
				h.join(testAlumnus, true, "Amazon")
				var opts []*discordgo.ApplicationCommandInteractionDataOption
				for _, o := range sub.Options {
					opts = append(opts, sampleValue(o))
				}
				i := slash(testAlumnus, cmd.Name, sub.Name, opts...)
				i.Member.Permissions = discordgo.PermissionManageGuild
				resp := h.do(i)
				if resp.Data != nil && resp.Data.Content == unknownCommand {
					t.Fatalf("/%s %s answered %q", cmd.Name, sub.Name, unknownCommand)
				}
				if got := h.lastResult(); strings.HasSuffix(got, " error") || !strings.HasPrefix(got, cmd.Name+" "+sub.Name+" ") {
					t.Errorf("observed %q; want label %q with ok or refused", got, cmd.Name+" "+sub.Name)
				}
			})
		}
	}
}
