package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// rateLimitBody gives every 429 the JSON body Discord sends with it. A
// REST proxy or Cloudflare in front may answer 429 with only a
// Retry-After header and an HTML or empty body; discordgo then fails to
// decode it and the caller would count a failure and retry on its own
// schedule, ignoring the wait asked for. With the body built from the
// headers, discordgo (and the outbox) honour it like any other 429.
type rateLimitBody struct{ next http.RoundTripper }

func (t rateLimitBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var discord struct {
		RetryAfter *float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &discord) != nil || discord.RetryAfter == nil {
		body, _ = json.Marshal(map[string]any{
			"message":     "rate limited (built from the Retry-After header)",
			"retry_after": retryAfterSeconds(resp.Header, time.Now()),
			"global":      resp.Header.Get("X-RateLimit-Global") != "",
		})
		resp.Header.Set("Content-Type", "application/json")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// retryAfterSeconds reads Retry-After (seconds, or an HTTP date), else
// X-RateLimit-Reset-After; one second when neither says.
func retryAfterSeconds(h http.Header, now time.Time) float64 {
	for _, v := range []string{h.Get("Retry-After"), h.Get("X-RateLimit-Reset-After")} {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return secs
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now).Seconds(), 0)
		}
	}
	return 1
}
