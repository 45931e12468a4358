package bot

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type fixedResponse struct {
	status int
	header http.Header
	body   string
}

func (f fixedResponse) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Header: f.header.Clone(), Body: io.NopCloser(strings.NewReader(f.body))}, nil
}

func TestRateLimitBodyBuildsDiscordsJSON(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantBody   string // exact, when the body is kept
		wantAfter  float64
		wantGlobal bool
	}{
		{"discord's own body kept", 429, http.Header{"Retry-After": {"9"}}, `{"message":"You are being rate limited.","retry_after":0.5,"global":false}`,
			`{"message":"You are being rate limited.","retry_after":0.5,"global":false}`, 0.5, false},
		{"html from a proxy, seconds", 429, http.Header{"Retry-After": {"3"}, "X-Ratelimit-Global": {"true"}}, "<html>error code: 1015</html>", "", 3, true},
		{"empty body, reset-after", 429, http.Header{"X-Ratelimit-Reset-After": {"1.25"}}, "", "", 1.25, false},
		{"no header at all", 429, http.Header{}, "slow down", "", 1, false},
		{"not a 429: untouched", 503, http.Header{}, "<html>", "<html>", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "https://discord.com/api/v9/channels/1/messages", nil)
			resp, err := rateLimitBody{next: fixedResponse{tt.status, tt.header, tt.body}}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			if tt.wantBody != "" {
				if string(raw) != tt.wantBody {
					t.Errorf("body = %q; want %q unchanged", raw, tt.wantBody)
				}
				return
			}
			var got struct {
				RetryAfter float64 `json:"retry_after"`
				Global     bool    `json:"global"`
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", raw, err)
			}
			if got.RetryAfter != tt.wantAfter || got.Global != tt.wantGlobal {
				t.Errorf("retry_after %v, global %v; want %v, %v", got.RetryAfter, got.Global, tt.wantAfter, tt.wantGlobal)
			}
		})
	}
	date := http.Header{"Retry-After": {now.Add(30 * time.Second).UTC().Format(http.TimeFormat)}}
	if s := retryAfterSeconds(date, now); s < 28 || s > 30 {
		t.Errorf("retryAfterSeconds(an HTTP date 30 s ahead) = %v; want about 30", s)
	}
}
