package bot_test

import (
	"net/http"
	"testing"
	"time"
)

// TestOutboxHonoursRateLimitsOnceEach has Discord answer the outbox's
// message POSTs with 429s, per route (with bucket headers) and global
// (X-RateLimit-Global, no bucket headers, which discordgo's own limiter
// does not remember): every message still arrives exactly once, each
// retry waits at least the retry_after asked for, and no 429 counts as a
// failed attempt.
func TestOutboxHonoursRateLimitsOnceEach(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	const perRoute, global = 400 * time.Millisecond, 700 * time.Millisecond
	h.dc.RateLimitNext("POST", "/channels/*/messages", perRoute, 2)
	h.dc.RateLimitGlobalNext("POST", "/channels/*/messages", global, 2)

	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", amazonJob)
	offer := h.waitDMButton(alice, "Accept")
	h.press(alice, offer, "Accept")
	h.waitDM(sam, acceptedText)
	h.drained()

	if n := h.countSentDMs(alice, offerText); n != 1 {
		t.Errorf("alice got the offer %d times; want once", n)
	}
	if n := h.countSentDMs(sam, acceptedText); n != 1 {
		t.Errorf("sam was told of the accept %d times; want once\n%s", n, dmDump(h.sentDMs(sam)))
	}

	// Every 429 is followed by the outbox's next REST call no sooner than
	// it asked; the per-route ones come first (rules are taken in order).
	var limited, honoured int
	reqs := h.dc.Requests()
	for i, r := range reqs {
		if !r.Match("POST", "/channels/*/messages") || r.Status != http.StatusTooManyRequests {
			continue
		}
		want := perRoute
		if limited >= 2 {
			want = global
		}
		limited++
		for _, next := range reqs[i+1:] {
			if next.Match("POST", "/channels/*/messages") || next.Match("POST", "/users/@me/channels") {
				if gap := next.At.Sub(r.At); gap < want-20*time.Millisecond {
					t.Errorf("429 #%d (retry after %v) at %s, next outbox call %s %s %v later; want at least %v",
						limited, want, r.At.Format("15:04:05.000"), next.Method, next.Path, gap, want)
				}
				honoured++
				break
			}
		}
	}
	if limited != 4 || honoured != 4 {
		t.Errorf("%d message POSTs answered 429, %d followed by a retry; want 4 and 4", limited, honoured)
	}
	if got := h.metric("referralbot_message_retries_total"); got != "0" {
		t.Errorf("referralbot_message_retries_total = %s; want 0 (a 429 is a wait, not a failed attempt)", got)
	}
	if got := h.metric("referralbot_messages_undeliverable_total"); got != "0" {
		t.Errorf("referralbot_messages_undeliverable_total = %s; want 0", got)
	}
}
