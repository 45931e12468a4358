package discordtest

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestRegisterCommands(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	got := register(t, s, dg)
	if len(got) != 3 || got[0].ID == "" || got[0].ApplicationID != s.ApplicationID() || got[0].GuildID != guildID {
		t.Fatalf("bulk overwrite returned %+v; want 3 commands with ids in guild %s", got, guildID)
	}
	cmds, err := s.WaitCommands(ctxT(t), guildID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if cmds[2].Name != "referral-admin" || cmds[2].DefaultMemberPermissions == nil ||
		*cmds[2].DefaultMemberPermissions != discordgo.PermissionManageGuild {
		t.Errorf("Commands()[2] = %s perms %v; want referral-admin with Manage Server", cmds[2].Name, cmds[2].DefaultMemberPermissions)
	}
	if len(s.Commands("")) != 0 {
		t.Errorf("global commands = %d; want 0", len(s.Commands("")))
	}
	// Read back through discordgo; a second overwrite keeps IDs by name.
	listed, err := dg.ApplicationCommands(s.ApplicationID(), guildID)
	if err != nil || len(listed) != 3 {
		t.Fatalf("ApplicationCommands = %d, %v; want 3", len(listed), err)
	}
	again := register(t, s, dg)
	if again[0].ID != got[0].ID {
		t.Errorf("re-registered /referral has id %s; want %s kept", again[0].ID, got[0].ID)
	}
	if err := dg.ApplicationCommandDelete(s.ApplicationID(), guildID, got[1].ID); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Commands(guildID)); n != 2 {
		t.Errorf("after delete %d commands; want 2", n)
	}
}

func TestRegisterInvalidCommand(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	bad := []*discordgo.ApplicationCommand{{Name: "Bad Name", Description: "x", Options: []*discordgo.ApplicationCommandOption{
		{Type: discordgo.ApplicationCommandOptionString, Name: "a", Description: "a"},
		{Type: discordgo.ApplicationCommandOptionString, Name: "b", Description: "b", Required: true},
	}}}
	_, err := dg.ApplicationCommandBulkOverwrite(s.ApplicationID(), guildID, bad)
	if code := restCode(err); code != codeInvalidForm {
		t.Fatalf("invalid command: %v; want code 50035", err)
	}
	if !strings.Contains(err.Error(), `Command name \"Bad Name\" is invalid`) || !strings.Contains(err.Error(), "Required options must be placed") {
		t.Errorf("error %v; want it to name the bad name and the required-order problem", err)
	}
}

func TestDMWithAllowedMentions(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	ch, err := dg.UserChannelCreate(aliceID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := dg.UserChannelCreate(aliceID)
	if err != nil || again.ID != ch.ID || ch.Type != discordgo.ChannelTypeDM || ch.Recipients[0].ID != aliceID {
		t.Fatalf("DM channel %+v then %+v (%v); want one stable type 1 channel with alice", ch, again, err)
	}
	sent, err := dg.ChannelMessageSendComplex(ch.ID, &discordgo.MessageSend{
		Content:         "Hi <@" + aliceID + ">, your request was accepted",
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: []string{aliceID}},
		Embeds:          []*discordgo.MessageEmbed{{Title: "Acme", Fields: []*discordgo.MessageEmbedField{{Name: "Role", Value: "SWE"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.WaitDM(ctxT(t), aliceID, func(m *Message) bool { return strings.Contains(m.Text(), "accepted") })
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != sent.ID || m.DMUserID != aliceID || m.AuthorID != s.BotUser().ID {
		t.Errorf("recorded DM %s to %s by %s; want %s to alice by the bot", m.ID, m.DMUserID, m.AuthorID, sent.ID)
	}
	am := m.AllowedMentions
	if am == nil || am.Parse == nil || len(am.Parse) != 0 || len(am.Users) != 1 || am.Users[0] != aliceID {
		t.Errorf("allowed_mentions = %+v; want parse [] and users [alice]", am)
	}
	if want := "Acme\nRole: SWE"; !strings.Contains(m.Text(), want) {
		t.Errorf("Text() = %q; want it to contain %q", m.Text(), want)
	}
	if got := s.DMs(bobID); len(got) != 0 {
		t.Errorf("bob has %d DMs; want 0", len(got))
	}
	// Snapshots are the test's own.
	m.Embeds[0].Title = "changed"
	if s.DMs(aliceID)[0].Embeds[0].Title != "Acme" {
		t.Error("changing a snapshot changed the server's message")
	}
}

func TestFileAttachment(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	csv := []byte("request,company\n1,Acme\n")
	_, err := dg.ChannelMessageSendComplex(digestID, &discordgo.MessageSend{
		Content: "export",
		Files:   []*discordgo.File{{Name: "requests.csv", ContentType: "text/csv", Reader: bytes.NewReader(csv)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	posts := s.ChannelMessages(digestID)
	if len(posts) != 1 || len(posts[0].Files) != 1 {
		t.Fatalf("posts = %+v; want one with one file", posts)
	}
	f := posts[0].Files[0]
	if f.Name != "requests.csv" || f.ContentType != "text/csv" || !bytes.Equal(f.Data, csv) {
		t.Errorf("file = %s %s %q; want requests.csv text/csv %q", f.Name, f.ContentType, f.Data, csv)
	}
}

// Attachments over Discord's upload limit are refused with 413 and code
// 40005, and nothing is posted.
func TestFileAttachmentOverTheLimit(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	big := bytes.Repeat([]byte("x"), MaxUploadBytes+1)
	_, err := dg.ChannelMessageSendComplex(digestID, &discordgo.MessageSend{
		Content: "export",
		Files:   []*discordgo.File{{Name: "requests.csv", ContentType: "text/csv", Reader: bytes.NewReader(big)}},
	})
	var rerr *discordgo.RESTError
	if !errors.As(err, &rerr) || rerr.Response.StatusCode != http.StatusRequestEntityTooLarge || rerr.Message == nil || rerr.Message.Code != 40005 {
		t.Fatalf("send of %d bytes = %v; want 413 with code 40005", len(big), err)
	}
	if posts := s.ChannelMessages(digestID); len(posts) != 0 {
		t.Errorf("%d posts after a refused upload; want 0", len(posts))
	}
}

func TestClosedDMs(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	s.CloseDMs(aliceID)
	ch, err := dg.UserChannelCreate(aliceID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dg.ChannelMessageSend(ch.ID, "offer")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil || re.Message.Code != codeCannotDM || re.Response.StatusCode != http.StatusForbidden {
		t.Fatalf("send to closed DMs: %v; want *RESTError 403 code 50007", err)
	}
	if re.Message.Message != "Cannot send messages to this user" {
		t.Errorf("message %q", re.Message.Message)
	}
	if len(s.DMs(aliceID)) != 0 {
		t.Error("a refused DM was recorded")
	}
	s.OpenDMs(aliceID)
	if _, err := dg.ChannelMessageSend(ch.ID, "offer"); err != nil {
		t.Errorf("after OpenDMs: %v", err)
	}
}

func TestRateLimitRetriedOnce(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	s.RateLimitNext("POST", "/channels/*/messages", 300*time.Millisecond, 1)
	start := time.Now()
	if _, err := dg.ChannelMessageSend(digestID, "digest"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("send returned after %v; discordgo should have waited retry_after (300ms)", d)
	}
	if n := len(s.ChannelMessages(digestID)); n != 1 {
		t.Errorf("%d messages recorded; want exactly 1", n)
	}
	var statuses []int
	for _, r := range s.Requests() {
		if r.Match("POST", "/channels/*/messages") {
			statuses = append(statuses, r.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != 429 || statuses[1] != 200 {
		t.Errorf("POST statuses = %v; want [429 200]", statuses)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	s.FailNext("POST", "/channels/*/messages", http.StatusInternalServerError, 1)
	_, err := dg.ChannelMessageSend(digestID, "digest")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != 500 || re.Message == nil {
		t.Fatalf("send = %v; want a *RESTError 500 with a JSON message", err)
	}
	if len(s.ChannelMessages(digestID)) != 0 {
		t.Error("failed send was recorded")
	}
	if _, err := dg.ChannelMessageSend(digestID, "digest"); err != nil {
		t.Errorf("second send: %v", err)
	}
	if _, err := s.WaitEvent(ctxT(t), func(e Event) bool { return e.Kind == "fault" && strings.Contains(e.Summary, "injected 500") }); err != nil {
		t.Error(err)
	}
}

func TestNonceDeduplicates(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	body := struct {
		*discordgo.MessageSend
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
	}{&discordgo.MessageSend{Content: "digest week 12"}, "outbox-42", true}
	endpoint := discordgo.EndpointChannelMessages(digestID)
	var ids []string
	for range 2 {
		resp, err := dg.RequestWithBucketID("POST", endpoint, body, endpoint)
		if err != nil {
			t.Fatal(err)
		}
		var m discordgo.Message
		if err := discordgo.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if ids[0] != ids[1] || len(s.ChannelMessages(digestID)) != 1 {
		t.Errorf("ids %v, %d posts; want one message returned twice", ids, len(s.ChannelMessages(digestID)))
	}
	if got := s.ChannelMessages(digestID)[0].Nonce; got != "outbox-42" {
		t.Errorf("nonce = %q", got)
	}
}

func TestEditAndValidation(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	m, err := dg.ChannelMessageSend(generalID, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.ChannelMessageEdit(generalID, m.ID, "v2"); err != nil {
		t.Fatal(err)
	}
	got := s.ChannelMessages(generalID)[0]
	if got.Content != "v2" || got.Edits != 1 || got.EditedAt.IsZero() {
		t.Errorf("after edit: %q, %d edits; want v2, 1", got.Content, got.Edits)
	}
	_, err = dg.ChannelMessageSend(generalID, strings.Repeat("x", 2001))
	if restCode(err) != codeInvalidForm || !strings.Contains(err.Error(), "content") {
		t.Errorf("2001-char message: %v; want 50035 naming content", err)
	}
	_, err = dg.ChannelMessageSendComplex(generalID, &discordgo.MessageSend{})
	if restCode(err) != codeEmptyMessage {
		t.Errorf("empty message: %v; want 50006", err)
	}
	_, err = dg.ChannelMessageSend("123", "where")
	if restCode(err) != codeUnknownChannel {
		t.Errorf("unknown channel: %v; want 10003", err)
	}
}

func TestUnknownRouteAndAuth(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	_, err := dg.Request("GET", discordgo.EndpointAPI+"nope/1", nil)
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response.StatusCode != 404 {
		t.Fatalf("unknown route: %v; want 404", err)
	}
	if _, err := s.WaitEvent(ctxT(t), func(e Event) bool { return e.Kind == "fault" && strings.Contains(e.Summary, "/nope/1") }); err != nil {
		t.Error(err)
	}
	dg.Token = "test-token" // no "Bot " prefix
	if _, err := dg.User("@me"); err == nil {
		t.Error("a token without \"Bot \" was accepted")
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Auth+r.Fault, "test-token") {
			t.Errorf("request log holds the token: %+v", r)
		}
	}
	if r := s.Requests(); r[len(r)-1].Status != 401 || r[len(r)-1].Auth != "invalid" {
		t.Errorf("last request %+v; want 401 with auth invalid", r[len(r)-1])
	}
}

func TestGuildAndMember(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	g, err := dg.Guild(guildID)
	if err != nil || g.Name != "Alumni" || g.OwnerID != bobID || len(g.Roles) != 2 {
		t.Fatalf("Guild = %+v, %v", g, err)
	}
	s.SetMemberRoles(guildID, aliceID, adminRole)
	m, err := dg.GuildMember(guildID, aliceID)
	if err != nil || len(m.Roles) != 1 || m.Roles[0] != adminRole || m.User.ID != aliceID {
		t.Fatalf("GuildMember = %+v, %v; want alice with the admin role", m, err)
	}
	if _, err := dg.GuildMember(guildID, "1"); restCode(err) != codeUnknownMember {
		t.Errorf("unknown member: %v; want 10007", err)
	}
	if s.Username(aliceID) != "alice" || s.Username("1") != "1" {
		t.Errorf("Username = %q, %q", s.Username(aliceID), s.Username("1"))
	}
}
