package bot

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/referralbot/referralbot/commands"
)

const (
	// maxInteractionBody bounds what the endpoint reads before checking the
	// signature: real payloads are a few KB (a modal with five full inputs
	// and the message it came from stays well under 100 KB).
	maxInteractionBody = 1 << 20
	// signatureMaxAge refuses replays of a request recorded earlier: Discord
	// signs the timestamp together with the body.
	signatureMaxAge = 5 * time.Minute
	// autocompleteTimeout leaves an autocomplete handler stuck on a busy
	// database time to still answer inside Discord's 3 s window: it is the
	// one kind of interaction that can't be deferred.
	autocompleteTimeout = 2500 * time.Millisecond
	// deferredTimeout bounds every other handler: the router defers one
	// still running after 1.5 s, and its answer (or the apology) may then
	// follow for minutes; this still frees a handler stuck on a dead
	// database.
	deferredTimeout = 30 * time.Second
	// answerWindow is how long Discord waits for the HTTP answer.
	answerWindow = 3 * time.Second
)

// interactionHandler answers one interaction through resp; the commands
// router is one.
type interactionHandler interface {
	Handle(ctx context.Context, resp commands.Responder, i *discordgo.Interaction)
}

// interactionsEndpoint serves the Interactions Endpoint URL: Discord POSTs
// each interaction signed with the application's key, and the HTTP answer
// is the interaction's response.
type interactionsEndpoint struct {
	key     ed25519.PublicKey
	handler interactionHandler
	logger  *slog.Logger
	// now is the real clock: signature timestamps are Discord's, so a
	// test clock moved days ahead must not make them look stale.
	now    func() time.Time
	window time.Duration

	inflight sync.WaitGroup // handlers still running after their answer
}

func newInteractionsEndpoint(publicKey string, h interactionHandler, logger *slog.Logger) (*interactionsEndpoint, error) {
	key, err := hex.DecodeString(publicKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("discord.public_key: %q is not an Ed25519 public key; copy Public Key from the Developer Portal (your application > General Information)", publicKey)
	}
	return &interactionsEndpoint{key: key, handler: h, logger: logger, now: time.Now, window: answerWindow}, nil
}

func (e *interactionsEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInteractionBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	if why := e.verify(r.Header, body); why != "" {
		// Discord also sends badly signed requests on purpose to check that
		// they are refused; many of these mean a wrong discord.public_key.
		e.logger.Warn("interaction request refused", "reason", why, "remote", r.RemoteAddr)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(body, &i); err != nil {
		e.logger.Warn("interaction request is not an interaction", "err", err)
		http.Error(w, "the body is not an interaction", http.StatusBadRequest)
		return
	}
	e.answer(w, r, &i)
}

// verify checks the signature over timestamp + body and the timestamp's
// age; it returns why the request is refused, or "".
func (e *interactionsEndpoint) verify(h http.Header, body []byte) string {
	sigHex, stamp := h.Get("X-Signature-Ed25519"), h.Get("X-Signature-Timestamp")
	if sigHex == "" || stamp == "" {
		return "missing X-Signature-Ed25519 or X-Signature-Timestamp"
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return "malformed X-Signature-Ed25519"
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return "malformed X-Signature-Timestamp"
	}
	if age := e.now().Sub(time.Unix(secs, 0)); age > signatureMaxAge || age < -signatureMaxAge {
		return "X-Signature-Timestamp is more than 5 minutes from now (a replay, or this machine's clock is off)"
	}
	msg := make([]byte, 0, len(stamp)+len(body))
	msg = append(append(msg, stamp...), body...)
	if !ed25519.Verify(e.key, msg, sig) {
		return "signature does not match discord.public_key"
	}
	return ""
}

// handlerTimeout is how long the handler of i may run.
func handlerTimeout(i *discordgo.Interaction) time.Duration {
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		return autocompleteTimeout
	}
	return deferredTimeout
}

// answer runs the handler and writes its first response as the HTTP
// answer. The handler runs on: after a deferred answer it may edit the
// original or send followups over REST, which work once Discord has the
// answer, so InteractionRespond returns only after it is written.
func (e *interactionsEndpoint) answer(w http.ResponseWriter, r *http.Request, i *discordgo.Interaction) {
	resp := &httpResponder{answers: make(chan *discordgo.InteractionResponse, 1), written: make(chan error, 1), done: make(chan struct{})}
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Done()
		defer close(resp.done)
		// Not the request's context: that ends with the HTTP answer.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), handlerTimeout(i))
		defer cancel()
		e.handler.Handle(ctx, resp, i)
	}()

	timer := time.NewTimer(e.window)
	defer timer.Stop()
	var answer *discordgo.InteractionResponse
	select {
	case answer = <-resp.answers:
	case <-resp.done:
		select {
		case answer = <-resp.answers:
		default:
			e.logger.Error("interaction handler gave no answer", "interaction_id", i.ID)
			http.Error(w, "no answer", http.StatusInternalServerError)
			return
		}
	case <-timer.C:
		if !resp.expire() {
			answer = <-resp.answers // it came in just now
			break
		}
		e.logger.Error("interaction not answered in time", "interaction_id", i.ID, "window", e.window)
		http.Error(w, "no answer in time", http.StatusServiceUnavailable)
		return
	}
	err := writeAnswer(w, answer)
	if err == nil {
		err = http.NewResponseController(w).Flush()
	}
	resp.written <- err
}

// wait returns once every handler has finished, so the store can close.
func (e *interactionsEndpoint) wait() { e.inflight.Wait() }

// writeAnswer writes an interaction response as Discord reads it: JSON,
// or multipart with payload_json and files[n] when it carries files.
func writeAnswer(w http.ResponseWriter, answer *discordgo.InteractionResponse) error {
	var contentType string
	var body []byte
	var err error
	if answer.Data != nil && len(answer.Data.Files) > 0 {
		contentType, body, err = discordgo.MultipartBodyWithJSON(answer, answer.Data.Files)
	} else {
		contentType = "application/json"
		body, err = json.Marshal(answer)
	}
	if err != nil {
		http.Error(w, "could not encode the answer", http.StatusInternalServerError)
		return fmt.Errorf("encode interaction answer: %w", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, err = w.Write(body)
	return err
}

var (
	errAlreadyAnswered = errors.New("interaction already answered")
	errAnswerTooLate   = errors.New("interaction answer too late: the 3 s window has passed")
)

// httpResponder hands the first response to the HTTP answer instead of
// POSTing it to the callback endpoint.
type httpResponder struct {
	mu      sync.Mutex
	used    bool // answered, or expired
	expired bool

	answers chan *discordgo.InteractionResponse // capacity 1
	written chan error                          // capacity 1: how writing the answer went
	done    chan struct{}                       // closed when the handler returns
}

func (h *httpResponder) InteractionRespond(_ *discordgo.Interaction, r *discordgo.InteractionResponse, _ ...discordgo.RequestOption) error {
	h.mu.Lock()
	switch {
	case h.expired:
		h.mu.Unlock()
		return errAnswerTooLate
	case h.used:
		h.mu.Unlock()
		return errAlreadyAnswered
	}
	h.used = true
	h.mu.Unlock()
	h.answers <- r
	return <-h.written
}

// expire ends the window; false means an answer got in first.
func (h *httpResponder) expire() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.used {
		return false
	}
	h.used, h.expired = true, true
	return true
}

// connect opens the gateway, whose first READY starts registration, or in
// http mode registers at once and opens nothing: interactions arrive as
// POSTs, and the outbox, role checks and registration are REST.
func (b *Bot) connect(registered chan<- error) error {
	if b.interactions == nil {
		if err := b.session.Open(); err != nil {
			return openError(err)
		}
		return nil
	}
	go func() { registered <- b.registerREST() }()
	return nil
}

// registerREST registers the commands without a gateway READY to learn
// the application id from: GET /oauth2/applications/@me answers it for the
// bot token.
func (b *Bot) registerREST() error {
	app, err := b.session.Application("@me")
	if err != nil {
		return openError(err)
	}
	b.appID.Store(app.ID)
	b.logger.Info("interactions over http: no gateway connection", "application_id", app.ID, "path", b.cfg.HTTP.InteractionsPath)
	return b.register(app.ID)
}
