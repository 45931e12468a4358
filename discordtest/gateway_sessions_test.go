package discordtest

import (
	"net/http"
	"testing"
	"time"
)

func TestLiveAndPeakGatewaySessions(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	if n := s.LiveGatewaySessions(); n != 0 {
		t.Fatalf("LiveGatewaySessions before any bot = %d; want 0", n)
	}
	a, b := newSession(t, s), newSession(t, s)
	openSession(t, s, a)
	openSession(t, s, b)
	waitLive(t, s, 2)
	if live, peak := s.LiveGatewaySessions(), s.PeakGatewaySessions(); live != 2 || peak != 2 {
		t.Errorf("two bots connected: live %d, peak %d; want 2, 2", live, peak)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	waitLive(t, s, 1)
	if peak := s.PeakGatewaySessions(); peak != 2 {
		t.Errorf("PeakGatewaySessions after one closed = %d; want 2 (it never goes down)", peak)
	}
}

// waitLive waits (at most 10 s) until want sessions are live.
func waitLive(t *testing.T, s *Server, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.LiveGatewaySessions() != want {
		if time.Now().After(deadline) {
			t.Fatalf("LiveGatewaySessions = %d; want %d", s.LiveGatewaySessions(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRateLimitGlobalNext(t *testing.T) {
	t.Parallel()
	s := newWorld(t)
	dg := newSession(t, s)
	s.RateLimitGlobalNext("POST", "/channels/*/messages", 300*time.Millisecond, 1)
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
	if len(statuses) != 2 || statuses[0] != http.StatusTooManyRequests || statuses[1] != 200 {
		t.Errorf("POST statuses = %v; want [429 200]", statuses)
	}
	res := globalRateLimited(1500 * time.Millisecond)
	if res.headers.Get("X-RateLimit-Global") != "true" || res.headers.Get("X-RateLimit-Scope") != "global" ||
		res.headers.Get("Retry-After") != "2" || res.headers.Get("X-RateLimit-Bucket") != "" {
		t.Errorf("global 429 headers = %v; want X-RateLimit-Global true, scope global, Retry-After 2, no bucket", res.headers)
	}
}
