package discordtest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

type faultRule struct {
	method     string
	pattern    []string
	status     int
	retryAfter time.Duration // > 0 for rate limits
	global     bool          // a global rate limit (ratelimit_global.go)
	remaining  int
}

type delayRule struct {
	method  string
	pattern []string
	d       time.Duration
}

// FailNext makes the next times calls matching method and pathPattern fail
// with status and a Discord-shaped JSON error. The pattern is a path under
// /api/v9 where '*' is one segment, e.g. "/channels/*/messages"; method ""
// or "*" matches any. Note that discordgo retries 502s by itself (up to
// Session.MaxRestRetries).
func (s *Server) FailNext(method, pathPattern string, status int, times int) {
	s.addFault(&faultRule{method: method, pattern: splitPattern(pathPattern), status: status, remaining: times})
}

// RateLimitNext answers the next times matching calls with 429, the
// retry_after JSON and the X-RateLimit-* headers discordgo reads; discordgo
// sleeps retryAfter and retries by itself.
func (s *Server) RateLimitNext(method, pathPattern string, retryAfter time.Duration, times int) {
	if retryAfter <= 0 {
		retryAfter = time.Millisecond
	}
	s.addFault(&faultRule{method: method, pattern: splitPattern(pathPattern), status: http.StatusTooManyRequests,
		retryAfter: retryAfter, remaining: times})
}

func (s *Server) addFault(f *faultRule) {
	if f.remaining <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

type heldRule struct {
	method     string
	pattern    []string
	status     int
	takeEffect bool
	release    chan struct{}
}

// LoseNextAnswer lets the next call matching method and pathPattern take
// effect (a message is posted, its nonce recorded) and then answers it
// with status, as when a proxy or the network gives up after Discord did
// the work: the caller cannot tell whether it happened. The answer is held
// until release is called (or the server closes), so a test can change
// the world first, e.g. Advance the fake and the bot clocks. Use a
// status discordgo does not retry by itself (not 502), e.g. 504. An event
// "injected: holding ..." is recorded when the call arrives.
func (s *Server) LoseNextAnswer(method, pathPattern string, status int) (release func()) {
	return s.hold(method, pathPattern, status, true)
}

// FailNextHeld is LoseNextAnswer for a call that does not take effect:
// it is held until release and then fails with status, nothing done.
func (s *Server) FailNextHeld(method, pathPattern string, status int) (release func()) {
	return s.hold(method, pathPattern, status, false)
}

func (s *Server) hold(method, pathPattern string, status int, takeEffect bool) func() {
	h := &heldRule{method: method, pattern: splitPattern(pathPattern), status: status, takeEffect: takeEffect, release: make(chan struct{})}
	s.mu.Lock()
	s.held = append(s.held, h)
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(h.release) }) }
}

// takeHeld consumes the first hold rule matching the call.
func (s *Server) takeHeld(method, rel string) *heldRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.held {
		if matchRoute(h.method, h.pattern, method, rel) {
			s.held = append(s.held[:i:i], s.held[i+1:]...)
			what := "nothing done"
			if h.takeEffect {
				what = "after it took effect"
			}
			s.addEventLocked(Event{Kind: "fault", Summary: fmt.Sprintf("injected: holding %s %s until released, then %d (%s)", method, rel, h.status, what)})
			return h
		}
	}
	return nil
}

// answer waits for the release and fails the call.
func (h *heldRule) answer(r *http.Request, done <-chan struct{}) result {
	select {
	case <-h.release:
	case <-done:
	case <-r.Context().Done():
	}
	res := failure(h.status, 0, fmt.Sprintf("%d: %s", h.status, http.StatusText(h.status)), "")
	res.note = fmt.Sprintf("injected %d, held", h.status)
	if h.takeEffect {
		res.note = fmt.Sprintf("injected %d after the call took effect (answer lost)", h.status)
	}
	return res
}

// Delay holds every matching call for d before handling it (d <= 0 removes
// the rule). The interaction deadline is checked after the delay, so a
// delayed callback can arrive too late, as over a slow network.
func (s *Server) Delay(method, pathPattern string, d time.Duration) {
	p := splitPattern(pathPattern)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.delays[:0]
	for _, r := range s.delays {
		if !(strings.EqualFold(r.method, method) && strings.Join(r.pattern, "/") == strings.Join(p, "/")) {
			kept = append(kept, r)
		}
	}
	s.delays = kept
	if d > 0 {
		s.delays = append(s.delays, &delayRule{method: method, pattern: p, d: d})
	}
}

// CloseDMs makes messages to the user's DM channel fail with 403 code
// 50007, as when a user blocks the bot or turns off DMs from the server.
func (s *Server) CloseDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dmClosed[userID] = true
}

// OpenDMs undoes CloseDMs.
func (s *Server) OpenDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dmClosed, userID)
}

// DropGateway closes the bot's websocket(s) abruptly, without a close
// frame. The session stays resumable: discordgo reconnects (after about a
// second) and RESUMEs, and dispatches made meanwhile are replayed.
func (s *Server) DropGateway() {
	s.mu.Lock()
	var drop []*gwConn
	for c := range s.conns {
		if sess := c.session; sess != nil && sess.conn == c {
			sess.conn = nil
		}
		drop = append(drop, c)
	}
	s.addEventLocked(Event{Kind: "fault", UserID: s.bot.ID,
		Summary: fmt.Sprintf("injected: gateway dropped, %d connection(s) closed without a close frame", len(drop))})
	s.mu.Unlock()
	for _, c := range drop {
		_ = c.ws.Close()
	}
}

func (s *Server) delayFor(method, rel string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d time.Duration
	for _, r := range s.delays {
		if matchRoute(r.method, r.pattern, method, rel) {
			d = max(d, r.d)
		}
	}
	return d
}

// takeFault consumes the first matching injected fault.
func (s *Server) takeFault(method, rel string) (result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !matchRoute(f.method, f.pattern, method, rel) {
			continue
		}
		f.remaining--
		if f.remaining <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		if f.global {
			return globalRateLimited(f.retryAfter), true
		}
		if f.retryAfter > 0 {
			return rateLimited(f.retryAfter, rel), true
		}
		msg := fmt.Sprintf("%d: %s", f.status, http.StatusText(f.status))
		res := failure(f.status, 0, msg, "")
		res.note = fmt.Sprintf("injected %d", f.status)
		return res, true
	}
	return result{}, false
}

func rateLimited(after time.Duration, rel string) result {
	secs := after.Seconds()
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(time.Now().Add(after).UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", "fake-"+strings.ReplaceAll(strings.Trim(rel, "/"), "/", "-"))
	h.Set("X-RateLimit-Scope", "user")
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	return result{
		status:  http.StatusTooManyRequests,
		body:    map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false},
		headers: h,
		note:    fmt.Sprintf("injected 429, retry after %v", after),
	}
}

// splitPattern turns "/api/v9/channels/*/messages?x" into its segments
// below /api/v9.
func splitPattern(p string) []string {
	p, _, _ = strings.Cut(p, "?")
	if rest, ok := strings.CutPrefix(p, apiPrefix); ok && (rest == "" || rest[0] == '/') {
		p = rest
	}
	return strings.Split(strings.Trim(p, "/"), "/")
}

func matchRoute(ruleMethod string, pattern []string, method, path string) bool {
	if ruleMethod != "" && ruleMethod != "*" && !strings.EqualFold(ruleMethod, method) {
		return false
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) != len(pattern) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != segs[i] {
			return false
		}
	}
	return true
}
