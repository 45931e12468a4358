package discordtest

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// rewrite sends discordgo's https://discord.com requests to the fake,
// keeping paths, as the bot does with discord.api_url.
type rewrite struct {
	base *url.URL
	next http.RoundTripper
}

func (t rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	return t.next.RoundTrip(r)
}

const (
	guildID   = "900000000000000001"
	generalID = "900000000000000011"
	digestID  = "900000000000000012"
	adminRole = "900000000000000021"
	aliceID   = "800000000000000001"
	bobID     = "800000000000000002"
)

// newWorld starts a fake with one guild (#general, #digest, an Admin
// role) and two members, alice and bob.
func newWorld(t *testing.T, opts ...ServerOption) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddUser(User{ID: aliceID, Username: "alice", GlobalName: "Alice"})
	s.AddUser(User{ID: bobID, Username: "bob"})
	s.AddGuild(Guild{ID: guildID, Name: "Alumni", OwnerID: bobID,
		Channels: []Channel{{ID: generalID, Name: "general"}, {ID: digestID, Name: "digest"}},
		Roles:    []Role{{ID: adminRole, Name: "Admin", Permissions: discordgo.PermissionManageGuild}}})
	s.AddMember(guildID, aliceID)
	s.AddMember(guildID, bobID, adminRole)
	return s
}

// newSession is a real discordgo session pointed at the fake, not yet open.
func newSession(t *testing.T, s *Server) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot test-token")
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	dg.Client = &http.Client{Transport: rewrite{base, tr}, Timeout: 10 * time.Second}
	dg.StateEnabled = false
	dg.Identify.Intents = discordgo.IntentsGuilds
	dg.LogLevel = -1 // the fake's faults are expected; keep test output quiet
	t.Cleanup(func() {
		_ = dg.Close()
		tr.CloseIdleConnections()
	})
	return dg
}

// openSession opens dg and waits until the fake sees it connected.
func openSession(t *testing.T, s *Server, dg *discordgo.Session) {
	t.Helper()
	if err := dg.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.WaitConnected(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func str(v string) *string { return &v }

var testCommands = []*discordgo.ApplicationCommand{
	{
		Name: "referral", Description: "Ask for a referral",
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "request", Description: "Request one",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "company", Description: "Company", Required: true, Autocomplete: true},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "withdraw", Description: "Withdraw one",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionInteger, Name: "request", Description: "Number", Required: true},
				}},
		},
	},
	{
		Name: "referrer", Description: "Referrer settings",
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "join", Description: "Join",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "companies", Description: "Companies", Required: true},
					{Type: discordgo.ApplicationCommandOptionInteger, Name: "capacity", Description: "Per 30 days",
						MinValue: func() *float64 { v := 1.0; return &v }(), MaxValue: 20},
				}},
		},
	},
	{
		Name: "referral-admin", Description: "Admin",
		DefaultMemberPermissions: func() *int64 { v := int64(discordgo.PermissionManageGuild); return &v }(),
		Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "approve", Description: "Approve",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "Who", Required: true},
				}},
			{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "setup", Description: "Setup",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionChannel, Name: "digest_channel", Description: "Where", Required: true},
					{Type: discordgo.ApplicationCommandOptionRole, Name: "referrer_role", Description: "Role"},
				}},
		},
	},
}

// register bulk-overwrites the test commands in the guild.
func register(t *testing.T, s *Server, dg *discordgo.Session) []*discordgo.ApplicationCommand {
	t.Helper()
	got, err := dg.ApplicationCommandBulkOverwrite(s.ApplicationID(), guildID, testCommands)
	if err != nil {
		t.Fatalf("ApplicationCommandBulkOverwrite: %v", err)
	}
	return got
}

// restCode is the Discord error code of a discordgo REST error, or -1.
func restCode(err error) int {
	if re, ok := err.(*discordgo.RESTError); ok && re.Message != nil {
		return re.Message.Code
	}
	return -1
}
