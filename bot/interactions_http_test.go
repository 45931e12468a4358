package bot

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
	"github.com/referralbot/referralbot/discordtest"
)

type handlerFunc func(ctx context.Context, resp commands.Responder, i *discordgo.Interaction)

func (f handlerFunc) Handle(ctx context.Context, resp commands.Responder, i *discordgo.Interaction) {
	f(ctx, resp, i)
}

func testKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func newTestEndpoint(t *testing.T, pub ed25519.PublicKey, h interactionHandler) *interactionsEndpoint {
	t.Helper()
	e, err := newInteractionsEndpoint(hex.EncodeToString(pub), h, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.wait)
	return e
}

// signedRequest is a POST as Discord sends it, signed by key at ts.
func signedRequest(key ed25519.PrivateKey, ts time.Time, body []byte) *http.Request {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, "/interactions", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Signature-Timestamp", stamp)
	r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, append([]byte(stamp), body...))))
	return r
}

// answering answers every interaction with "hi" and counts them.
func answering(calls *atomic.Int32) handlerFunc {
	return func(_ context.Context, resp commands.Responder, i *discordgo.Interaction) {
		calls.Add(1)
		resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "hi", Flags: discordgo.MessageFlagsEphemeral}})
	}
}

const commandBody = `{"id":"1","application_id":"2","type":2,"token":"tok","version":1,"data":{"id":"3","name":"referral","type":1}}`

func TestInteractionsEndpointSignature(t *testing.T) {
	pub, priv := testKey(t)
	_, otherKey := testKey(t)
	body := []byte(commandBody)
	now := time.Now()
	tests := []struct {
		name    string
		request func() *http.Request
		status  int
	}{
		{"valid", func() *http.Request { return signedRequest(priv, now, body) }, http.StatusOK},
		{"valid, timestamp 4 minutes old", func() *http.Request { return signedRequest(priv, now.Add(-4*time.Minute), body) }, http.StatusOK},
		{"tampered body", func() *http.Request {
			r := signedRequest(priv, now, body)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(commandBody, `"referral"`, `"referral-admin"`, 1)))
			return r
		}, http.StatusUnauthorized},
		{"wrong key", func() *http.Request { return signedRequest(otherKey, now, body) }, http.StatusUnauthorized},
		{"missing signature", func() *http.Request {
			r := signedRequest(priv, now, body)
			r.Header.Del("X-Signature-Ed25519")
			return r
		}, http.StatusUnauthorized},
		{"missing timestamp", func() *http.Request {
			r := signedRequest(priv, now, body)
			r.Header.Del("X-Signature-Timestamp")
			return r
		}, http.StatusUnauthorized},
		{"signature not hex", func() *http.Request {
			r := signedRequest(priv, now, body)
			r.Header.Set("X-Signature-Ed25519", "zz"+r.Header.Get("X-Signature-Ed25519")[2:])
			return r
		}, http.StatusUnauthorized},
		{"timestamp changed after signing", func() *http.Request {
			r := signedRequest(priv, now, body)
			r.Header.Set("X-Signature-Timestamp", strconv.FormatInt(now.Unix()+1, 10))
			return r
		}, http.StatusUnauthorized},
		{"old timestamp", func() *http.Request { return signedRequest(priv, now.Add(-6*time.Minute), body) }, http.StatusUnauthorized},
		{"future timestamp", func() *http.Request { return signedRequest(priv, now.Add(6*time.Minute), body) }, http.StatusUnauthorized},
		{"body too large", func() *http.Request {
			return signedRequest(priv, now, append([]byte(commandBody), bytes.Repeat([]byte(" "), maxInteractionBody)...))
		}, http.StatusRequestEntityTooLarge},
		{"signed but not JSON", func() *http.Request { return signedRequest(priv, now, []byte("hello")) }, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			e := newTestEndpoint(t, pub, answering(&calls))
			w := httptest.NewRecorder()
			e.ServeHTTP(w, tt.request())
			e.wait()
			if w.Code != tt.status {
				t.Fatalf("POST /interactions (%s) = %d %q; want %d", tt.name, w.Code, w.Body.String(), tt.status)
			}
			wantCalls := int32(0)
			if tt.status == http.StatusOK {
				wantCalls = 1
				var got discordgo.InteractionResponse
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Type != discordgo.InteractionResponseChannelMessageWithSource || got.Data.Content != "hi" {
					t.Errorf("answer = %q (%v); want the handler's reply as JSON", w.Body.String(), err)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("answer Content-Type = %q; want application/json", ct)
				}
			}
			if n := calls.Load(); n != wantCalls {
				t.Errorf("handler ran %d times; want %d", n, wantCalls)
			}
		})
	}
}

func TestInteractionsEndpointPingWithRouter(t *testing.T) {
	pub, priv := testKey(t)
	e := newTestEndpoint(t, pub, &commands.Router{}) // PING needs no store
	w := httptest.NewRecorder()
	e.ServeHTTP(w, signedRequest(priv, time.Now(), []byte(`{"id":"1","application_id":"2","type":1,"token":"t","version":1}`)))
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"type":1}` {
		t.Errorf("PING = %d %q; want 200 {\"type\":1}", w.Code, w.Body.String())
	}
}

func TestInteractionsEndpointAnswerWithFile(t *testing.T) {
	pub, priv := testKey(t)
	e := newTestEndpoint(t, pub, handlerFunc(func(_ context.Context, resp commands.Responder, i *discordgo.Interaction) {
		resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "export", Files: []*discordgo.File{
				{Name: "requests.csv", ContentType: "text/csv", Reader: strings.NewReader("id,company\n1,Amazon\n")}}}})
	}))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, signedRequest(priv, time.Now(), []byte(commandBody)))
	mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if w.Code != http.StatusOK || err != nil || mt != "multipart/form-data" {
		t.Fatalf("answer with a file = %d, Content-Type %q; want 200 multipart/form-data", w.Code, w.Header().Get("Content-Type"))
	}
	parts := map[string]string{}
	mr := multipart.NewReader(w.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		parts[p.FormName()] = string(b)
	}
	if !strings.Contains(parts["payload_json"], `"type":4`) || parts["files[0]"] != "id,company\n1,Amazon\n" {
		t.Errorf("multipart answer parts = %q; want payload_json with type 4 and files[0] with the CSV", parts)
	}
}

func TestInteractionsEndpointLateAndSecondAnswers(t *testing.T) {
	pub, priv := testKey(t)
	second := make(chan error, 1)
	release := make(chan struct{})
	late := make(chan error, 1)
	e := newTestEndpoint(t, pub, handlerFunc(func(_ context.Context, resp commands.Responder, i *discordgo.Interaction) {
		if i.ID == "late" {
			<-release
			late <- resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
			return
		}
		resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		second <- resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
	}))
	e.window = 100 * time.Millisecond

	w := httptest.NewRecorder()
	e.ServeHTTP(w, signedRequest(priv, time.Now(), []byte(commandBody)))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"type":5`) {
		t.Errorf("deferred answer = %d %q; want 200 with type 5", w.Code, w.Body.String())
	}
	if err := <-second; err != errAlreadyAnswered {
		t.Errorf("second InteractionRespond = %v; want %v", err, errAlreadyAnswered)
	}

	w = httptest.NewRecorder()
	e.ServeHTTP(w, signedRequest(priv, time.Now(), []byte(strings.Replace(commandBody, `"id":"1"`, `"id":"late"`, 1))))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("no answer within the window = %d %q; want 503", w.Code, w.Body.String())
	}
	close(release)
	if err := <-late; err != errAnswerTooLate {
		t.Errorf("InteractionRespond after the window = %v; want %v", err, errAnswerTooLate)
	}
}

// A handler that defers and then edits the original over REST: the edit
// reaches Discord after the HTTP answer, through the real discordgo client.
func TestInteractionsEndpointDeferThenEdit(t *testing.T) {
	const guild = "900000000000000001"
	dc, err := discordtest.New(discordtest.WithHTTPInteractions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	dc.AddUser(discordtest.User{ID: "800000000000000001", Username: "alice"})
	dc.AddGuild(discordtest.Guild{ID: guild, Name: "Alumni", Channels: []discordtest.Channel{{ID: "900000000000000011", Name: "general"}}})
	dc.AddMember(guild, "800000000000000001")

	session, err := newSession("test-token", dc.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.ApplicationCommandBulkOverwrite(dc.ApplicationID(), guild,
		[]*discordgo.ApplicationCommand{{Name: "slow", Description: "takes a while"}}); err != nil {
		t.Fatal(err)
	}
	edited := make(chan error, 1)
	pubHex, err := hex.DecodeString(dc.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEndpoint(t, ed25519.PublicKey(pubHex), handlerFunc(func(_ context.Context, resp commands.Responder, i *discordgo.Interaction) {
		if err := resp.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
			edited <- err
			return
		}
		content := "done after deferring"
		_, err := session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content})
		edited <- err
	}))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	dc.SetInteractionEndpoints(srv.URL + "/interactions")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := dc.RunCommand(ctx, discordtest.Command{GuildID: guild, UserID: "800000000000000001", Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := in.Response(ctx)
	if err != nil || resp.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("Response() = %v, %v; want the deferral (type 5)", resp, err)
	}
	if err := <-edited; err != nil {
		t.Fatalf("edit of @original after the HTTP answer: %v", err)
	}
	m, err := in.Original(ctx)
	if err != nil || m.Content != "done after deferring" {
		t.Fatalf("Original() = %v, %v; want the edited reply", m, err)
	}
}

// Autocomplete can't be deferred, so its handler must give up inside
// Discord's 3 s; every other handler is deferred after
// commands.DeferAfterDefault and may run on well past the window.
func TestHandlerTimeoutFollowsDeferral(t *testing.T) {
	auto := handlerTimeout(&discordgo.Interaction{Type: discordgo.InteractionApplicationCommandAutocomplete})
	if auto >= answerWindow {
		t.Errorf("autocomplete handler timeout = %v; want under Discord's %v", auto, answerWindow)
	}
	for _, typ := range []discordgo.InteractionType{discordgo.InteractionApplicationCommand, discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit} {
		if d := handlerTimeout(&discordgo.Interaction{Type: typ}); d < 5*answerWindow || d <= commands.DeferAfterDefault {
			t.Errorf("handler timeout of interaction type %d = %v; want well past the window, as it is deferred", typ, d)
		}
	}
}
