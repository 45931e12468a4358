package bot_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/referralbot/referralbot/discordtest"
)

// The outbox sender against Discord's failures (PRODUCT.md: a DM refused
// with 50007 goes to the fallback channel pinging only that user, or is
// kept undeliverable and counted; other failures are retried with backoff).

// postsTo lists the bot's POST /channels/{id}/messages calls, in order.
func postsTo(dc *discordtest.Server, channelID string) []discordtest.RequestLog {
	var out []discordtest.RequestLog
	for _, r := range dc.Requests() {
		if r.Match("POST", "/channels/"+channelID+"/messages") {
			out = append(out, r)
		}
	}
	return out
}

// refusedDMChannel is the one channel whose message POSTs Discord refused
// with 403 (the fake answers closed DMs so); it fails the test if there
// are refusals in more than one channel.
func refusedDMChannel(t *testing.T, dc *discordtest.Server) string {
	t.Helper()
	id := ""
	for _, r := range dc.Requests() {
		if r.Match("POST", "/channels/*/messages") && r.Status == http.StatusForbidden {
			ch := strings.Split(strings.Trim(r.Path, "/"), "/")[1]
			if id != "" && ch != id {
				t.Fatalf("403s in channels %s and %s; want one closed DM channel", id, ch)
			}
			id = ch
		}
	}
	if id == "" {
		t.Fatalf("no message POST was refused with 403; requests:\n%v", dc.Requests())
	}
	return id
}

// acceptForClosedDMs has alice accept sam's request while sam's DMs are
// closed: the "accepted" notice to sam is refused with 50007.
func acceptForClosedDMs(t *testing.T, h *harness, fallback bool) {
	t.Helper()
	h.adminSetup(fallback)
	h.joinReferrer(alice, "Amazon")
	h.dc.CloseDMs(sam)
	h.submitRequest(sam, "Amazon", amazonJob)
	h.press(alice, h.waitDMButton(alice, "Accept"), "Accept")
}

func TestOutboxDMClosedPingsOnlyThatUserInFallbackChannel(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	acceptForClosedDMs(t, h, true)

	post, err := h.dc.WaitChannelMessage(h.ctx(), fallbackID, func(m *discordtest.Message) bool {
		return strings.Contains(m.Content, "<@"+sam+">")
	})
	if err != nil {
		t.Fatalf("no ping for sam in the fallback channel: %v", err)
	}
	am := post.AllowedMentions
	switch {
	case am == nil:
		t.Errorf("fallback post %q has no allowed_mentions; want it to ping only sam", post.Content)
	case len(am.Parse) != 0 || len(am.Roles) != 0 || len(am.Users) != 1 || am.Users[0] != sam:
		t.Errorf("fallback post allowed_mentions = parse %v, roles %v, users %v; want parse [], users [%s] only", am.Parse, am.Roles, am.Users, sam)
	}

	// 50007 is final: the refused DM is not tried again, and the sender
	// schedules no retry (nothing stays pending).
	h.settle()
	dmChannel := refusedDMChannel(t, h.dc)
	if calls := postsTo(h.dc, dmChannel); len(calls) != 1 {
		t.Errorf("%d POSTs to sam's closed DM channel; want 1 (no retries after 50007)", len(calls))
	}
	if n := len(h.dc.ChannelMessages(fallbackID)); n != 1 {
		t.Errorf("%d posts in the fallback channel; want 1", n)
	}
	if v := h.metric("referralbot_outbox_undeliverable"); v != "0" {
		t.Errorf("referralbot_outbox_undeliverable = %s with a fallback ping posted; want 0", v)
	}
}

func TestOutboxDMClosedWithoutFallbackCountedUndeliverable(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	acceptForClosedDMs(t, h, false)
	eventually(t, "the refused DM", func() bool {
		for _, r := range h.dc.Requests() {
			if r.Match("POST", "/channels/*/messages") && r.Status == http.StatusForbidden {
				return true
			}
		}
		return false
	})
	h.settle()

	dmChannel := refusedDMChannel(t, h.dc)
	if calls := postsTo(h.dc, dmChannel); len(calls) != 1 {
		t.Errorf("%d POSTs to sam's closed DM channel; want 1 (no retries after 50007)", len(calls))
	}
	for _, ch := range []string{generalID, digestID, fallbackID} {
		if ms := h.dc.ChannelMessages(ch); len(ms) != 0 {
			t.Errorf("%d posts in channel %s; want none without a fallback channel", len(ms), ch)
		}
	}
	if v := h.metric("referralbot_outbox_undeliverable"); v != "1" {
		t.Errorf("referralbot_outbox_undeliverable = %s; want 1", v)
	}
	stats := h.run(admin, "referral-admin", "stats")
	if !strings.Contains(stats.Text(), "Undeliverable messages: 1") {
		t.Errorf("/referral-admin stats = %q; want \"Undeliverable messages: 1\"", stats.Text())
	}
}

func TestOutboxServerErrorsRetriedWithBackoffDeliveredOnce(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	// The offer DM to alice meets a 500 and then a 503 (discordgo itself
	// retries only 502s, so these reach the outbox sender).
	h.dc.FailNext("POST", "/channels/*/messages", http.StatusInternalServerError, 1)
	h.dc.FailNext("POST", "/channels/*/messages", http.StatusServiceUnavailable, 1)
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")
	h.settle()

	calls := postsTo(h.dc, offer.ChannelID)
	var statuses []int
	for _, c := range calls {
		statuses = append(statuses, c.Status)
	}
	if len(calls) != 3 || statuses[0] != 500 || statuses[1] != 503 || statuses[2] != 200 {
		t.Fatalf("POSTs to alice's DM channel answered %v; want [500 503 200]", statuses)
	}
	// Backoff: about 1 s after the first failure, 2 s after the second,
	// each with up to half taken off as jitter.
	if gap := calls[1].At.Sub(calls[0].At); gap < 500*time.Millisecond {
		t.Errorf("first retry %v after the 500; want at least 500ms of backoff", gap)
	}
	if gap := calls[2].At.Sub(calls[1].At); gap < time.Second {
		t.Errorf("second retry %v after the 503; want at least 1s of backoff", gap)
	}
	if n := h.countSentDMs(alice, offerText); n != 1 {
		t.Errorf("alice got the offer %d times; want once", n)
	}
	if offer.Nonce == "" {
		t.Errorf("the offer DM has no nonce; want the outbox nonce so a resend after a crash is deduplicated")
	}
	if v := h.metric("referralbot_message_retries_total"); v != "2" {
		t.Errorf("referralbot_message_retries_total = %s; want 2", v)
	}
}

func TestOutboxRateLimitHonouredDeliveredOnce(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.dc.RateLimitNext("POST", "/channels/*/messages", 700*time.Millisecond, 1)
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")
	h.settle()

	var ok, limited []discordtest.RequestLog
	for _, c := range postsTo(h.dc, offer.ChannelID) {
		switch c.Status {
		case http.StatusOK:
			ok = append(ok, c)
		case http.StatusTooManyRequests:
			limited = append(limited, c)
		default:
			t.Errorf("POST to alice's DM channel answered %d", c.Status)
		}
	}
	if len(limited) != 1 || len(ok) != 1 {
		t.Fatalf("POSTs to alice's DM channel: %d rate limited, %d delivered; want 1 and 1", len(limited), len(ok))
	}
	if gap := ok[0].At.Sub(limited[0].At); gap < 700*time.Millisecond {
		t.Errorf("resent %v after the 429; want it to wait the 700ms retry_after", gap)
	}
	if n := h.countSentDMs(alice, offerText); n != 1 {
		t.Errorf("alice got the offer %d times; want once", n)
	}
}

// A queued message that no longer decodes (say, written by another version
// of the bot) is kept as undeliverable; it must not stall the messages
// queued behind it.
func TestOutboxUndecodableMessageDoesNotBlockTheRest(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")

	db, err := sql.Open("sqlite3", "file:"+h.cfg.Database.Path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO outbox (guild_id, user_id, kind, payload, next_attempt_at, created_at)
		VALUES (?, ?, 'offer', '{"kind": "offer", "request_id": "not a number"}', 0, 0)`, guildID, sam); err != nil {
		t.Fatalf("queue an undecodable message: %v", err)
	}

	h.submitRequest(sam, "Amazon", amazonJob)
	h.waitDMButton(alice, "Accept")
	h.settle()
	if v := h.metric("referralbot_outbox_undeliverable"); v != "1" {
		t.Errorf("referralbot_outbox_undeliverable = %s; want 1, the undecodable message", v)
	}
	if n := len(h.dc.DMs(sam)); n != 0 {
		t.Errorf("sam got %d DMs from an undecodable message; want none", n)
	}
}

// A message an interaction queues goes out at once, not at the next poll:
// the store pokes the sender after the commit that queued it, and nothing
// else (a read-only command) does.
func TestQueuedMessagesGoOutWithoutWaitingForThePoll(t *testing.T) {
	t.Parallel()
	dc := newWorld(t)
	h := &harness{t: t, dc: dc, cfg: testConfig(t, dc), clock: &fakeClock{}, log: &logSink{t: t}, outboxPoll: time.Hour}
	h.start()
	t.Cleanup(h.stop)

	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept") // within the 15 s deadline; the poll would take an hour
	h.run(sam, "referral", "status")
	h.press(alice, offer, "Accept")
	h.waitDM(sam, acceptedText)
}
