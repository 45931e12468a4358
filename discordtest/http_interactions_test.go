package discordtest

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// botEndpoint is a minimal interactions endpoint: it checks the signature
// with the fake's public key and answers with answer(interaction).
type botEndpoint struct {
	t      *testing.T
	key    ed25519.PublicKey
	answer func(i *discordgo.Interaction) (status int, body string)

	mu     sync.Mutex
	served int
	bodies []string
}

func newBotEndpoint(t *testing.T, s *Server, answer func(i *discordgo.Interaction) (int, string)) (*botEndpoint, string) {
	t.Helper()
	key, err := hex.DecodeString(s.PublicKey())
	if err != nil || len(key) != ed25519.PublicKeySize {
		t.Fatalf("PublicKey() = %q; want 64 hex characters", s.PublicKey())
	}
	e := &botEndpoint{t: t, key: key, answer: answer}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return e, srv.URL + "/interactions"
}

func (e *botEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig, _ := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
	stamp := r.Header.Get("X-Signature-Timestamp")
	secs, _ := strconv.ParseInt(stamp, 10, 64)
	if len(sig) != ed25519.SignatureSize || time.Since(time.Unix(secs, 0)) > 5*time.Minute ||
		!ed25519.Verify(e.key, append([]byte(stamp), body...), sig) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.served++
	e.bodies = append(e.bodies, string(body))
	e.mu.Unlock()
	status, answer := e.answer(&i)
	if i.Type == discordgo.InteractionPing {
		status, answer = http.StatusOK, `{"type":1}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (e *botEndpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.served
}

func reply(text string) func(*discordgo.Interaction) (int, string) {
	return func(*discordgo.Interaction) (int, string) {
		return http.StatusOK, fmt.Sprintf(`{"type":4,"data":{"content":%q,"flags":64}}`, text)
	}
}

// httpWorld is a fake in http mode with the test commands registered over
// REST only: no gateway connection.
func httpWorld(t *testing.T) *Server {
	t.Helper()
	s := newWorld(t, WithHTTPInteractions())
	register(t, s, newSession(t, s))
	return s
}

func TestHTTPInteractionsRoundRobin(t *testing.T) {
	s := httpWorld(t)
	a, urlA := newBotEndpoint(t, s, reply("from a"))
	b, urlB := newBotEndpoint(t, s, reply("from b"))
	s.SetInteractionEndpoints(urlA, urlB)
	var texts []string
	for range 4 {
		in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
			Options: []Option{{Name: "request", Value: 7}}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := in.Response(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Ephemeral {
			t.Errorf("answer %q is not ephemeral; want the flags of the HTTP answer kept", resp.Text())
		}
		texts = append(texts, resp.Text())
	}
	if got, want := strings.Join(texts, ","), "from a,from b,from a,from b"; got != want {
		t.Errorf("answers = %s; want %s (round robin)", got, want)
	}
	if a.count() != 2 || b.count() != 2 {
		t.Errorf("endpoints served %d and %d; want 2 each", a.count(), b.count())
	}
	a.mu.Lock()
	first := a.bodies[0]
	a.mu.Unlock()
	for _, want := range []string{`"type":2`, `"name":"withdraw"`, `"value":7`, `"token":"`, `"application_id":"` + s.ApplicationID() + `"`} {
		if !strings.Contains(first, want) {
			t.Errorf("interaction body %s lacks %s", first, want)
		}
	}
	if n := s.GatewayConnections(); n != 0 {
		t.Errorf("GatewayConnections() = %d; want 0 without a session opened", n)
	}
}

func TestHTTPInteractionsAnswerValidated(t *testing.T) {
	tests := []struct {
		name   string
		answer func(*discordgo.Interaction) (int, string)
		want   string
	}{
		{"wrong type for a command", func(*discordgo.Interaction) (int, string) { return http.StatusOK, `{"type":7,"data":{"content":"x"}}` },
			"Response type 7 is not valid for interaction type 2"},
		{"empty message", func(*discordgo.Interaction) (int, string) { return http.StatusOK, `{"type":4,"data":{}}` }, "empty message"},
		{"server error", func(*discordgo.Interaction) (int, string) { return http.StatusInternalServerError, `oops` }, "answered 500"},
		{"not JSON", func(*discordgo.Interaction) (int, string) { return http.StatusOK, `<html>` }, "not an interaction response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := httpWorld(t)
			_, u := newBotEndpoint(t, s, tt.answer)
			s.SetInteractionEndpoints(u)
			in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
				Options: []Option{{Name: "request", Value: 7}}})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := in.Response(ctxT(t))
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.want)) {
				t.Errorf("Response() = %v, %v; want the interaction failed with %q", resp, err, tt.want)
			}
		})
	}
}

func TestHTTPInteractionsSpoiledSignatures(t *testing.T) {
	s := httpWorld(t)
	e, u := newBotEndpoint(t, s, reply("ok"))
	s.SetInteractionEndpoints(u)
	for _, f := range []SignatureFault{SignatureTampered, SignatureWrongKey, SignatureMissing, SignatureStale} {
		s.SpoilNextSignature(f)
		in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
			Options: []Option{{Name: "request", Value: 7}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Response(ctxT(t)); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("Response() with a %s = %v; want the endpoint's 401", f, err)
		}
	}
	if n := e.count(); n != 0 {
		t.Errorf("a verifying endpoint accepted %d spoiled requests; want 0", n)
	}
}

func TestHTTPInteractionsAcceptingBadSignatureIsFlagged(t *testing.T) {
	s := httpWorld(t)
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i struct{ Type int }
		json.NewDecoder(r.Body).Decode(&i)
		w.Header().Set("Content-Type", "application/json")
		if i.Type == int(discordgo.InteractionPing) {
			io.WriteString(w, `{"type":1}`)
			return
		}
		io.WriteString(w, `{"type":4,"data":{"content":"anything goes"}}`)
	}))
	t.Cleanup(lax.Close)
	s.SetInteractionEndpoints(lax.URL)
	s.SpoilNextSignature(SignatureWrongKey)
	in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Response(ctxT(t)); err == nil || !strings.Contains(err.Error(), "must answer 401") {
		t.Errorf("Response() from an endpoint that ignores signatures = %v; want it flagged", err)
	}
	if err := s.CheckInteractionsEndpoint(ctxT(t), lax.URL); err == nil || !strings.Contains(err.Error(), "want 401") {
		t.Errorf("CheckInteractionsEndpoint(lax) = %v; want a complaint about the bad signature being accepted", err)
	}
	_, good := newBotEndpoint(t, s, reply("ok"))
	if err := s.CheckInteractionsEndpoint(ctxT(t), good); err != nil {
		t.Errorf("CheckInteractionsEndpoint(verifying endpoint) = %v; want nil", err)
	}
}

func TestHTTPInteractionsVerifyKeyAndGatewayCount(t *testing.T) {
	s := httpWorld(t)
	dg := newSession(t, s)
	app, err := dg.Application("@me")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != s.ApplicationID() {
		t.Errorf("GET /oauth2/applications/@me id = %q; want %q", app.ID, s.ApplicationID())
	}
	var raw map[string]any
	body, err := dg.RequestWithBucketID("GET", discordgo.EndpointApplication("@me"), nil, "app")
	if err != nil || json.Unmarshal(body, &raw) != nil {
		t.Fatalf("GET /applications/@me: %v", err)
	}
	if raw["verify_key"] != s.PublicKey() {
		t.Errorf("verify_key = %v; want PublicKey() %q", raw["verify_key"], s.PublicKey())
	}
	openSession(t, s, dg)
	if n := s.GatewayConnections(); n != 1 {
		t.Errorf("GatewayConnections() after one Open = %d; want 1", n)
	}
}

func TestHTTPInteractionsWaitForEndpoint(t *testing.T) {
	s := httpWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.RunCommand(ctx, Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 7}}})
	if err == nil || !strings.Contains(err.Error(), "SetInteractionEndpoints") {
		t.Errorf("RunCommand with no endpoint = %v; want it to wait and name SetInteractionEndpoints", err)
	}
}

// deadEndpoint is the URL of a port nobody listens on any more: a
// replica that is down.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/interactions"
	srv.Close()
	return url
}

func TestHTTPInteractionsFailOverRefusedEndpoint(t *testing.T) {
	s := httpWorld(t)
	a, urlA := newBotEndpoint(t, s, reply("from a"))
	b, urlB := newBotEndpoint(t, s, reply("from b"))
	dead := deadEndpoint(t)
	s.SetInteractionEndpoints(urlA, dead, urlB)
	var ins []*Interaction
	for range 6 {
		in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
			Options: []Option{{Name: "request", Value: 7}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Response(ctxT(t)); err != nil {
			t.Fatalf("interaction with one of three endpoints down: %v; want it answered by a live one", err)
		}
		ins = append(ins, in)
	}
	// Turns: a, dead then b, a, dead then b, ...: the retry takes the next turn.
	if a.count() != 3 || b.count() != 3 {
		t.Errorf("live endpoints served %d and %d; want 3 each", a.count(), b.count())
	}
	refused := 0
	for i, tm := range s.Timings(ins) {
		if tm.Endpoint != urlA && tm.Endpoint != urlB {
			t.Errorf("Timings()[%d].Endpoint = %q; want a live endpoint", i, tm.Endpoint)
		}
		for _, r := range tm.Refusals {
			if r != dead {
				t.Errorf("Timings()[%d].Refusals has %q; want only the dead endpoint %q", i, r, dead)
			}
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d refusals recorded; want 3 (every other interaction met the dead endpoint first)", refused)
	}
}

func TestHTTPInteractionsEveryEndpointRefused(t *testing.T) {
	s := httpWorld(t)
	s.SetInteractionEndpoints(deadEndpoint(t), deadEndpoint(t))
	in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
		Options: []Option{{Name: "request", Value: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := in.Response(ctxT(t)); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Response() with every endpoint down = %v, %v; want the interaction failed, naming the refused connection", resp, err)
	}
	if tm := s.Timings([]*Interaction{in})[0]; len(tm.Refusals) != 1 {
		t.Errorf("Refusals = %q; want the first endpoint, then the second tried last", tm.Refusals)
	}
}

// Deliveries at once move the turn under each other; a failover still
// tries each endpoint once and reaches a live one.
func TestHTTPInteractionsFailOverUnderConcurrency(t *testing.T) {
	s := httpWorld(t)
	_, urlA := newBotEndpoint(t, s, reply("from a"))
	s.SetInteractionEndpoints(deadEndpoint(t), urlA, deadEndpoint(t))
	var wg sync.WaitGroup
	ins := make([]*Interaction, 30)
	errs := make([]error, len(ins))
	for i := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := s.RunCommand(ctxT(t), Command{GuildID: guildID, UserID: aliceID, Name: "referral", Subcommand: "withdraw",
				Options: []Option{{Name: "request", Value: 7}}})
			if err == nil {
				_, err = in.Response(ctxT(t))
			}
			ins[i], errs[i] = in, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("interaction %d with two of three endpoints down: %v; want it answered by the live one", i, err)
		}
	}
	for i, tm := range s.Timings(ins) {
		if tm.Endpoint != urlA || len(tm.Refusals) > 2 || (len(tm.Refusals) == 2 && tm.Refusals[0] == tm.Refusals[1]) {
			t.Errorf("Timings()[%d] = endpoint %q after refusals %q; want the live endpoint, each dead one tried at most once", i, tm.Endpoint, tm.Refusals)
		}
	}
}
