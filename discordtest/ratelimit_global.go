package discordtest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// RateLimitGlobalNext answers the next times matching calls with a global
// 429, as Discord does when the bot token's overall limit is spent: the
// body says "global": true, the headers X-RateLimit-Global and
// X-RateLimit-Scope: global and Retry-After (whole seconds), and no
// per-route bucket headers. Whatever the route, the caller must hold off
// every request for retryAfter.
func (s *Server) RateLimitGlobalNext(method, pathPattern string, retryAfter time.Duration, times int) {
	if retryAfter <= 0 {
		retryAfter = time.Millisecond
	}
	s.addFault(&faultRule{method: method, pattern: splitPattern(pathPattern), status: http.StatusTooManyRequests,
		retryAfter: retryAfter, global: true, remaining: times})
}

func globalRateLimited(after time.Duration) result {
	secs := after.Seconds()
	h := http.Header{}
	h.Set("X-RateLimit-Global", "true")
	h.Set("X-RateLimit-Scope", "global")
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	return result{
		status:  http.StatusTooManyRequests,
		body:    map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": true, "code": 0},
		headers: h,
		note:    fmt.Sprintf("injected global 429, retry after %v", after),
	}
}
