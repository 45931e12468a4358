package bot_test

import (
	"strings"
	"testing"
	"time"
)

// Interactions answered over the gateway leave discordgo's rate limiter as
// it was: no bucket per callback URL. A rate-limited callback is retried
// once and still lands; a file answer (the admin export) arrives whole.
func TestGatewayAnswersKeepNoBuckets(t *testing.T) {
	t.Parallel()
	h := startBot(t, nil)
	h.adminSetup(false)
	h.joinReferrer(alice, "Amazon")
	h.submitRequest(sam, "Amazon", "https://amazon.jobs/en/jobs/1")

	h.waitDMButton(alice, "Accept")
	flowSettle(h) // the DMs' routes have their buckets; interactions add none

	before := h.bot.RateLimitBuckets()
	const n = 100
	for k := range n {
		if r := h.run(sam, "referral", "status"); !strings.Contains(r.Text(), "Amazon") {
			t.Fatalf("/referral status #%d = %q; want the Amazon request", k, r.Text())
		}
	}
	h.dc.RateLimitNext("POST", "/interactions/*/*/callback", 20*time.Millisecond, 1)
	if r := h.run(sam, "referral", "status"); !strings.Contains(r.Text(), "Amazon") {
		t.Errorf("/referral status after a 429 = %q; want the Amazon request", r.Text())
	}
	r := h.run(admin, "referral-admin", "export")
	if !r.Ephemeral || len(r.Files) != 1 || !strings.HasSuffix(r.Files[0].Name, ".csv") {
		t.Fatalf("/referral-admin export = %q with %d files; want an ephemeral reply with one CSV", r.Text(), len(r.Files))
	}
	if !r.Deferred {
		t.Errorf("/referral-admin export answered at once; want it deferred first, then the file")
	}
	if rows := strings.Split(strings.TrimSpace(string(r.Files[0].Data)), "\n"); len(rows) != 2 || !strings.Contains(rows[1], "Amazon") {
		t.Errorf("export CSV = %q; want a header and the Amazon request", r.Files[0].Data)
	}
	if after := h.bot.RateLimitBuckets(); after != before {
		t.Errorf("rate-limit buckets after %d interactions = %d; want %d as before", n+2, after, before)
	}
}
