package bot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/discordtest"
)

// Exactly once past the nonce window (issue 13): Discord matches an
// enforce_nonce resend to the first message only for a few minutes. A
// message whose first attempt may have been posted (its answer lost) and
// that is retried later than that looks for its nonce in the channel and
// records the message found instead of posting again; one that was never
// posted is posted once.
func TestOutboxExactlyOncePastTheNonceWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// lost: the held attempt is posted by Discord and its answer lost
		// (504); otherwise it fails (500) with nothing posted.
		lost bool
		// late: the retry comes 10 minutes on (both clocks move), past
		// Discord's dedupe window and the bot's 2 minutes.
		late bool
		// newer messages are posted in the channel before the retry, so
		// the one looked for is on a later page of the history.
		newer        int
		wantLookups  int // reads of the channel's messages
		wantPostsTo  int // POSTs to the held message's channel
		wantFoundLog bool
	}{
		{"answer lost, retried within the window: the nonce matches", true, false, 0, 0, 2, false},
		{"answer lost, retried past the window: found in the channel", true, true, 0, 1, 1, true},
		{"answer lost, retried past the window behind 120 newer messages: found on page 3", true, true, 120, 3, 1, true},
		{"not posted, retried past the window: looked for, then posted once", false, true, 0, 1, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := startBot(t, nil)
			h.adminSetup(false)
			h.joinReferrer(alice, "Amazon")
			h.drained()

			// The first message the request causes is held at Discord.
			var release func()
			if tt.lost {
				release = h.dc.LoseNextAnswer("POST", "/channels/*/messages", http.StatusGatewayTimeout)
			} else {
				release = h.dc.FailNextHeld("POST", "/channels/*/messages", http.StatusInternalServerError)
			}
			t.Cleanup(release)
			h.submitRequest(sam, "Amazon", amazonJob)
			hold, err := h.dc.WaitEvent(h.ctx(), func(e discordtest.Event) bool {
				return e.Kind == "fault" && strings.Contains(e.Summary, "injected: holding POST")
			})
			if err != nil {
				t.Fatalf("the first message was not held: %v", err)
			}
			heldPath := strings.Fields(strings.TrimPrefix(hold.Summary, "injected: holding POST "))[0]
			var posted *discordtest.Message
			if tt.lost {
				// Discord posted it (the sender waits for the held answer,
				// so nothing else is posted meanwhile).
				eventually(t, "the held message to be posted", func() bool {
					posted = lastPost(h.dc)
					return posted != nil && "/channels/"+posted.ChannelID+"/messages" == heldPath
				})
			}
			for i := range tt.newer {
				postAsSomeoneElse(t, h.dc, posted.ChannelID, fmt.Sprintf("newer message %d", i))
			}
			if tt.late {
				h.clock.Advance(10 * time.Minute)
				h.dc.Advance(10 * time.Minute)
			}
			release()
			h.drained()

			// The held row was retried (it has an error recorded) and sent.
			var messageID string
			if err := trustDB(t, h).QueryRow(`SELECT message_id FROM outbox WHERE last_error IS NOT NULL AND sent_at IS NOT NULL`).Scan(&messageID); err != nil {
				t.Fatalf("the retried outbox row: %v", err)
			}
			sent := postByID(h.dc, messageID)
			if sent == nil || sent.Nonce == "" {
				t.Fatalf("outbox recorded message %s; the fake has no such message with a nonce (%+v)", messageID, sent)
			}
			if posted != nil && posted.ID != messageID {
				t.Errorf("outbox recorded message %s; want %s, the one Discord posted when the answer was lost", messageID, posted.ID)
			}
			if n := postsWithNonce(h.dc, sent.Nonce); n != 1 {
				t.Errorf("%d messages with nonce %s in the fake; want exactly 1", n, sent.Nonce)
			}
			if n := len(postsToPath(h.dc, heldPath)) - tt.newer; n != tt.wantPostsTo {
				t.Errorf("the bot POSTed %d times to %s; want %d", n, heldPath, tt.wantPostsTo)
			}
			lookups := 0
			for _, r := range h.dc.Requests() {
				if r.Match("GET", "/channels/*/messages") {
					lookups++
					if !strings.Contains(r.Query, "limit=50") {
						t.Errorf("history read %s?%s; want limit=50", r.Path, r.Query)
					}
				}
			}
			if lookups != tt.wantLookups {
				t.Errorf("%d reads of channel messages; want %d", lookups, tt.wantLookups)
			}
			if got := len(h.log.matching("already posted by an earlier attempt", "message_id="+messageID)); (got > 0) != tt.wantFoundLog {
				t.Errorf("%d log lines about a message found in the channel; want them %v", got, tt.wantFoundLog)
			}
			for nonce, n := range noncesPosted(h.dc) {
				if n > 1 {
					t.Errorf("nonce %s posted %d times; want every message once", nonce, n)
				}
			}
		})
	}
}

// postAsSomeoneElse posts in a channel through the fake's REST API, as
// another client of the bot's account would (the fake knows one bot user).
func postAsSomeoneElse(t *testing.T, dc *discordtest.Server, channelID, content string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"content": content})
	req, err := http.NewRequest("POST", dc.URL()+"/api/v9/channels/"+channelID+"/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bot test-token")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("post in %s: %s", channelID, res.Status)
	}
}

// lastPost is the latest message the bot posted through the channel
// endpoint (a DM or a channel post), as it read when posted.
func lastPost(dc *discordtest.Server) *discordtest.Message {
	var last *discordtest.Message
	for _, e := range dc.Events() {
		if (e.Kind == "dm" || e.Kind == "post") && e.Message != nil {
			last = e.Message
		}
	}
	return last
}

func postByID(dc *discordtest.Server, id string) *discordtest.Message {
	for _, e := range dc.Events() {
		if (e.Kind == "dm" || e.Kind == "post") && e.Message != nil && e.Message.ID == id {
			return e.Message
		}
	}
	return nil
}

func noncesPosted(dc *discordtest.Server) map[string]int {
	out := map[string]int{}
	for _, e := range dc.Events() {
		if (e.Kind == "dm" || e.Kind == "post") && e.Message != nil && e.Message.Nonce != "" {
			out[e.Message.Nonce]++
		}
	}
	return out
}

func postsWithNonce(dc *discordtest.Server, nonce string) int { return noncesPosted(dc)[nonce] }

// postsToPath lists the bot's POSTs to a path such as /channels/1/messages.
func postsToPath(dc *discordtest.Server, path string) []discordtest.RequestLog {
	var out []discordtest.RequestLog
	for _, r := range dc.Requests() {
		if r.Method == "POST" && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
