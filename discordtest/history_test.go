package discordtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// postN posts n messages "m0".."m(n-1)" in a channel and returns their ids.
func postN(t *testing.T, dg *discordgo.Session, channelID string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		m, err := dg.ChannelMessageSend(channelID, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func TestListMessages(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	ids := postN(t, dg, generalID, 60)
	postN(t, dg, digestID, 1) // another channel's messages are not listed
	// ids[i] is "m<i>"; rev lists contents newest first.
	contents := func(from, to int) []string { // newest first, to > from
		var out []string
		for i := to - 1; i >= from; i-- {
			out = append(out, fmt.Sprintf("m%d", i))
		}
		return out
	}
	tests := []struct {
		name                  string
		limit                 int
		before, after, around string
		want                  []string
	}{
		{"default limit is the newest 50", 0, "", "", "", contents(10, 60)},
		{"limit", 3, "", "", "", contents(57, 60)},
		{"before", 3, ids[10], "", "", contents(7, 10)},
		{"before the first", 3, ids[0], "", "", contents(0, 0)},
		{"after: the ones right after, newest first", 3, "", ids[10], "", contents(11, 14)},
		{"after near the end", 50, "", ids[57], "", contents(58, 60)},
		{"after an id between messages", 2, "", "1", "", contents(0, 2)},
		{"around", 4, "", "", ids[30], contents(28, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dg.ChannelMessages(generalID, tt.limit, tt.before, tt.after, tt.around)
			if err != nil {
				t.Fatalf("ChannelMessages: %v", err)
			}
			var texts []string
			for _, m := range got {
				texts = append(texts, m.Content)
			}
			if fmt.Sprint(texts) != fmt.Sprint(tt.want) {
				t.Errorf("ChannelMessages(limit %d, before %q, after %q, around %q) = %v; want %v", tt.limit, tt.before, tt.after, tt.around, texts, tt.want)
			}
		})
	}
}

func TestListMessagesRefusesBadQueries(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	base := discordgo.EndpointChannelMessages(generalID)
	tests := []struct {
		query, want string
		code        int
	}{
		{"?limit=0", "greater than or equal to 1", codeInvalidForm},
		{"?limit=101", "less than or equal to 100", codeInvalidForm},
		{"?limit=ten", "is not int", codeInvalidForm},
		{"?before=abc", "is not snowflake", codeInvalidForm},
		{"?before=1&after=2", "mutually exclusive", codeInvalidForm},
	}
	for _, tt := range tests {
		_, err := dg.RequestWithBucketID("GET", base+tt.query, nil, base)
		if code := restCode(err); code != tt.code || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("GET messages%s = %v; want code %d mentioning %q", tt.query, err, tt.code, tt.want)
		}
	}
	_, err := dg.ChannelMessages("900000000000000099", 10, "", "", "")
	if code := restCode(err); code != codeUnknownChannel {
		t.Errorf("GET messages of an unknown channel = %v; want code %d", err, codeUnknownChannel)
	}
}

// The history carries each message's nonce, and leaves out ephemeral and
// deleted messages.
func TestListMessagesNonceAndVisibility(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	postNonce(t, dg, generalID, "hello", "ob1.abc")
	gone, err := dg.ChannelMessageSend(generalID, "deleted")
	if err != nil {
		t.Fatal(err)
	}
	if err := dg.ChannelMessageDelete(generalID, gone.ID); err != nil {
		t.Fatal(err)
	}
	raw, err := dg.RequestWithBucketID("GET", discordgo.EndpointChannelMessages(generalID), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Content string `json:"content"`
		Nonce   string `json:"nonce"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Content != "hello" || got[0].Nonce != "ob1.abc" {
		t.Errorf("history = %+v; want only \"hello\" with nonce ob1.abc", got)
	}
}

func postNonce(t *testing.T, dg *discordgo.Session, channelID, content, nonce string) string {
	t.Helper()
	body := struct {
		*discordgo.MessageSend
		Nonce        string `json:"nonce"`
		EnforceNonce bool   `json:"enforce_nonce"`
	}{&discordgo.MessageSend{Content: content}, nonce, true}
	endpoint := discordgo.EndpointChannelMessages(channelID)
	resp, err := dg.RequestWithBucketID("POST", endpoint, body, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var m discordgo.Message
	if err := discordgo.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// enforce_nonce deduplicates only within the window: a resend with the
// same nonce after the clock moved past it posts again, as on Discord.
func TestNonceWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		age       time.Duration
		wantPosts int
	}{
		{0, 1},
		{nonceWindow - time.Minute, 1},
		{nonceWindow + time.Second, 2},
	}
	for _, tt := range tests {
		s := newWorld(t)
		dg := newSession(t, s)
		first := postNonce(t, dg, digestID, "digest", "ob7.xyz")
		s.Advance(tt.age)
		again := postNonce(t, dg, digestID, "digest", "ob7.xyz")
		if n := len(s.ChannelMessages(digestID)); n != tt.wantPosts || (tt.wantPosts == 1) != (again == first) {
			t.Errorf("resend %v after the first: %d posts (ids %s, %s); want %d", tt.age, n, first, again, tt.wantPosts)
		}
	}
}

// LoseNextAnswer: the call takes effect, its answer is held until
// released, and then it fails.
func TestLoseNextAnswer(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	release := s.LoseNextAnswer("POST", "/channels/*/messages", http.StatusGatewayTimeout)
	errc := make(chan error, 1)
	go func() {
		_, err := dg.ChannelMessageSend(generalID, "lost answer")
		errc <- err
	}()
	if _, err := s.WaitChannelMessage(ctxT(t), generalID, nil); err != nil {
		t.Fatalf("the call did not take effect: %v", err)
	}
	select {
	case err := <-errc:
		t.Fatalf("answer came before release: %v", err)
	default:
	}
	release()
	err := <-errc
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) || rest.Response.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("send with a lost answer = %v; want a 504", err)
	}
	// Only the next call: the one after is answered normally.
	if _, err := dg.ChannelMessageSend(generalID, "answered"); err != nil {
		t.Errorf("next send = %v; want it answered", err)
	}
	if n := len(s.ChannelMessages(generalID)); n != 2 {
		t.Errorf("%d posts; want 2", n)
	}
}

// FailNextHeld: the call is held until released, then fails, nothing done.
func TestFailNextHeld(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	release := s.FailNextHeld("POST", "/channels/*/messages", http.StatusInternalServerError)
	errc := make(chan error, 1)
	go func() {
		_, err := dg.ChannelMessageSend(generalID, "never posted")
		errc <- err
	}()
	if _, err := s.WaitEvent(ctxT(t), func(e Event) bool { return e.Kind == "fault" && strings.Contains(e.Summary, "holding POST") }); err != nil {
		t.Fatalf("no hold event: %v", err)
	}
	release()
	var rest *discordgo.RESTError
	if err := <-errc; !errors.As(err, &rest) || rest.Response.StatusCode != http.StatusInternalServerError {
		t.Fatalf("held send = %v; want a 500", err)
	}
	if n := len(s.ChannelMessages(generalID)); n != 0 {
		t.Errorf("%d posts after a held failure; want none", n)
	}
}
