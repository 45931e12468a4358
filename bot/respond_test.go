package bot

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
)

// callbackServer answers interaction callbacks with the statuses given in
// turn (then 204) and keeps every request it saw.
type callbackServer struct {
	mu       sync.Mutex
	statuses []int
	seen     []seenRequest
}

type seenRequest struct {
	path   string
	header http.Header
	body   []byte
}

func (c *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.seen = append(c.seen, seenRequest{path: r.URL.Path, header: r.Header.Clone(), body: body})
	status := http.StatusNoContent
	if len(c.statuses) > 0 {
		status, c.statuses = c.statuses[0], c.statuses[1:]
	}
	c.mu.Unlock()
	switch status {
	case http.StatusNoContent:
		w.WriteHeader(status)
	case http.StatusTooManyRequests:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, `{"message":"You are being rate limited.","retry_after":0.05,"global":false}`)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":"status %d","code":0}`, status)
	}
}

func (c *callbackServer) requests() []seenRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]seenRequest(nil), c.seen...)
}

func newCallbackTest(t *testing.T, statuses ...int) (*discordgo.Session, *callbackServer) {
	t.Helper()
	cs := &callbackServer{statuses: statuses}
	srv := httptest.NewServer(cs)
	t.Cleanup(srv.Close)
	s, err := newSession("test-token", srv.URL)
	if err != nil {
		t.Fatalf("newSession: %v", err)
	}
	return s, cs
}

func TestCallbackResponderRetries(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		calls    int
		status   int // 0 = answered
	}{
		{"answered", nil, 1, 0},
		{"429 then answered", []int{429}, 2, 0},
		{"500 then answered", []int{500}, 2, 0},
		{"503 twice", []int{503, 503}, 2, 503},
		{"429 twice", []int{429, 429}, 2, 429},
		{"400 not retried", []int{400}, 1, 400},
		{"404 not retried", []int{404}, 1, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, cs := newCallbackTest(t, tt.statuses...)
			resp := newCallbackResponder(s)
			resp.pause = time.Millisecond
			i := &discordgo.Interaction{ID: "900", Token: "secret-token"}
			err := resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "hi"}})
			if got := len(cs.requests()); got != tt.calls {
				t.Errorf("callbacks sent = %d; want %d", got, tt.calls)
			}
			var rest *discordgo.RESTError
			switch {
			case tt.status == 0 && err != nil:
				t.Errorf("InteractionRespond = %v; want nil", err)
			case tt.status != 0 && (!errors.As(err, &rest) || rest.Response.StatusCode != tt.status):
				t.Errorf("InteractionRespond = %v; want a RESTError with status %d", err, tt.status)
			}
			if err != nil && strings.Contains(err.Error(), "secret-token") {
				t.Errorf("InteractionRespond error %q holds the interaction token", err)
			}
		})
	}
}

// A 429 asking for longer than the 3 s window is not waited for.
func TestCallbackResponderGivesUpPastBudget(t *testing.T) {
	s, cs := newCallbackTest(t, 429)
	resp := newCallbackResponder(s)
	resp.budget = 40 * time.Millisecond // shorter than the 50 ms retry_after
	start := time.Now()
	err := resp.InteractionRespond(&discordgo.Interaction{ID: "900", Token: "t"}, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
	if err == nil || len(cs.requests()) != 1 {
		t.Errorf("InteractionRespond = %v after %d callbacks; want the 429 after 1", err, len(cs.requests()))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("InteractionRespond took %s; want it to give up at once", d)
	}
}

// The request is the one discordgo sends: the same route, headers and
// body, JSON or multipart with payload_json and files[n].
func TestCallbackResponderEncodesLikeDiscordgo(t *testing.T) {
	answer := func(files bool) *discordgo.InteractionResponse {
		r := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "Your export", Flags: discordgo.MessageFlagsEphemeral}}
		if files {
			r.Data.Files = []*discordgo.File{{Name: "export.csv", ContentType: "text/csv", Reader: strings.NewReader("id,company\n1,Slack\n")}}
		}
		return r
	}
	for _, files := range []bool{false, true} {
		t.Run(fmt.Sprintf("files=%v", files), func(t *testing.T) {
			s, cs := newCallbackTest(t)
			i := &discordgo.Interaction{ID: "900", Token: "tok"}
			if err := s.InteractionRespond(i, answer(files)); err != nil {
				t.Fatalf("discordgo InteractionRespond: %v", err)
			}
			if err := newCallbackResponder(s).InteractionRespond(i, answer(files)); err != nil {
				t.Fatalf("callbackResponder.InteractionRespond: %v", err)
			}
			seen := cs.requests()
			if len(seen) != 2 {
				t.Fatalf("callbacks sent = %d; want 2", len(seen))
			}
			want, got := seen[0], seen[1]
			if got.path != want.path || got.path != "/api/v9/interactions/900/tok/callback" {
				t.Errorf("callback path = %q; want %q as discordgo sends", got.path, want.path)
			}
			for _, h := range []string{"Authorization", "User-Agent"} {
				if got.header.Get(h) != want.header.Get(h) {
					t.Errorf("header %s = %q; want %q", h, got.header.Get(h), want.header.Get(h))
				}
			}
			if !files {
				if got.header.Get("Content-Type") != "application/json" || string(got.body) != string(want.body) {
					t.Errorf("body = %s (%s); want %s (application/json)", got.body, got.header.Get("Content-Type"), want.body)
				}
				return
			}
			if g, w := multipartParts(t, got), multipartParts(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("multipart parts = %q; want %q", g, w)
			}
		})
	}
}

// multipartParts lists each part as "name|filename|content type|body".
func multipartParts(t *testing.T, r seenRequest) []string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type = %q; want multipart/form-data", r.header.Get("Content-Type"))
	}
	mr := multipart.NewReader(strings.NewReader(string(r.body)), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, strings.Join([]string{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)}, "|"))
	}
}

// rateLimitBuckets is how many buckets discordgo's rate limiter holds; it
// has no public size, so a test reads the field.
func rateLimitBuckets(s *discordgo.Session) int {
	s.Ratelimiter.Lock()
	defer s.Ratelimiter.Unlock()
	return reflect.ValueOf(s.Ratelimiter).Elem().FieldByName("buckets").Len()
}

// Answering through the session keeps a bucket per interaction for good;
// the callback responder keeps none.
func TestCallbackResponderKeepsNoBuckets(t *testing.T) {
	const n = 200
	tests := []struct {
		name  string
		resp  func(*discordgo.Session) commands.Responder
		grows int
	}{
		{"discordgo session", func(s *discordgo.Session) commands.Responder {
			return s
		}, n},
		{"callback responder", func(s *discordgo.Session) commands.Responder {
			return newCallbackResponder(s)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newCallbackTest(t)
			resp := tt.resp(s)
			before := rateLimitBuckets(s)
			for k := range n {
				i := &discordgo.Interaction{ID: fmt.Sprint(1000 + k), Token: fmt.Sprintf("token-%d", k)}
				if err := resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong}); err != nil {
					t.Fatalf("InteractionRespond #%d: %v", k, err)
				}
			}
			if got := rateLimitBuckets(s) - before; got != tt.grows {
				t.Errorf("rate-limit buckets after %d answers grew by %d; want %d", n, got, tt.grows)
			}
		})
	}
}
