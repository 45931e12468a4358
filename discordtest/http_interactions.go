package discordtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// ServerOption configures a Server in New.
type ServerOption func(*Server)

// WithHTTPInteractions makes the server deliver interactions the way
// Discord does for an application with an Interactions Endpoint URL: each
// one is a POST signed with the server's Ed25519 key (see PublicKey) to one
// of the endpoints given to SetInteractionEndpoints, in turn, and the HTTP
// response is the interaction's answer. No INTERACTION_CREATE goes over the
// gateway. RunCommand, PressButton, SubmitModal and Autocomplete keep their
// API and their checks of the answer; they wait while no endpoint is set.
func WithHTTPInteractions(endpoints ...string) ServerOption {
	return func(s *Server) {
		s.httpMode = true
		s.endpoints = append([]string(nil), endpoints...)
	}
}

// SetInteractionEndpoints replaces the URLs interactions are POSTed to in
// http mode (e.g. "http://127.0.0.1:8080/interactions"), one replica each;
// they take turns. An endpoint that refuses the connection (a replica that
// is down) is skipped and the next one tried, as a load balancer in front
// of replicas would: the request never reached the bot, so sending it
// elsewhere answers it once. A replica that dies after taking a request
// fails that interaction, as it would on Discord.
func (s *Server) SetInteractionEndpoints(urls ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpoints = append([]string(nil), urls...)
	s.notifyLocked()
}

// PublicKey is the hex Ed25519 public key interactions are signed with:
// the bot's discord.public_key. GET /applications/@me reports it as
// verify_key, as Discord does.
func (s *Server) PublicKey() string { return hex.EncodeToString(s.signer.Public().(ed25519.PublicKey)) }

// GatewayConnections counts the websocket connections bots opened, so a
// test can check that a bot in http mode never opened one.
func (s *Server) GatewayConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gatewayConns
}

// SignatureFault spoils the signature of an interaction request.
type SignatureFault int

const (
	// SignatureTampered signs the body, then changes it (it stays valid JSON).
	SignatureTampered SignatureFault = iota + 1
	// SignatureWrongKey signs with a key other than PublicKey.
	SignatureWrongKey
	// SignatureMissing sends no X-Signature-Ed25519 header.
	SignatureMissing
	// SignatureStale signs correctly with a timestamp ten minutes old, as a
	// replayed request would have.
	SignatureStale
)

func (f SignatureFault) String() string {
	switch f {
	case SignatureTampered:
		return "tampered body"
	case SignatureWrongKey:
		return "wrong key"
	case SignatureMissing:
		return "missing signature"
	case SignatureStale:
		return "stale timestamp"
	}
	return "signature fault " + strconv.Itoa(int(f))
}

// SpoilNextSignature makes the next interaction request carry a bad
// signature. The bot must refuse it with 401 and change nothing; the
// interaction then fails (Response returns an error), as it does on Discord.
func (s *Server) SpoilNextSignature(f SignatureFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sigFaults = append(s.sigFaults, f)
}

// CheckInteractionsEndpoint does what the Developer Portal does when the
// Interactions Endpoint URL is saved: a signed PING must be answered with
// PONG, and a PING with a bad signature must be refused with 401.
func (s *Server) CheckInteractionsEndpoint(ctx context.Context, url string) error {
	ping, err := json.Marshal(map[string]any{"id": s.nextID(), "application_id": s.appID, "type": int(discordgo.InteractionPing),
		"token": randomHex(24), "version": 1})
	if err != nil {
		return err
	}
	status, ct, body, err := s.post(ctx, url, s.signedHeader(ping, 0), ping)
	if err != nil {
		return fmt.Errorf("discordtest: endpoint check: signed PING: %w", err)
	}
	var pong struct {
		Type discordgo.InteractionResponseType `json:"type"`
	}
	if status != http.StatusOK || !strings.HasPrefix(ct, "application/json") || json.Unmarshal(body, &pong) != nil || pong.Type != discordgo.InteractionResponsePong {
		return fmt.Errorf("discordtest: endpoint check: signed PING answered %d %s %q; want 200 with {\"type\":1}", status, ct, excerpt(string(body), 200))
	}
	status, _, _, err = s.post(ctx, url, s.signedHeader(ping, SignatureWrongKey), ping)
	if err != nil {
		return fmt.Errorf("discordtest: endpoint check: badly signed PING: %w", err)
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("discordtest: endpoint check: a PING with a bad signature answered %d; want 401", status)
	}
	return nil
}

func (s *Server) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIDLocked()
}

// httpDelivery is one interaction on its way to a bot endpoint.
type httpDelivery struct {
	rec    *interactionRec // read and written under s.mu only
	url    string
	header http.Header
	body   []byte
	fault  SignatureFault
}

// nextEndpointLocked is the endpoint whose turn it is.
func (s *Server) nextEndpointLocked() string {
	url := s.endpoints[s.nextEndpoint%len(s.endpoints)]
	s.nextEndpoint++
	return url
}

// untriedEndpointLocked is the first endpoint from the current turn on
// that is not in tried (other deliveries move the turn meanwhile), or ""
// when every one was tried.
func (s *Server) untriedEndpointLocked(tried []string) string {
	for range s.endpoints {
		url := s.nextEndpointLocked()
		if !slices.Contains(tried, url) {
			return url
		}
	}
	return ""
}

// prepareDeliveryLocked picks the next endpoint and signs rec's payload.
func (s *Server) prepareDeliveryLocked(rec *interactionRec) *httpDelivery {
	body, err := json.Marshal(rec.payload)
	if err != nil {
		panic("discordtest: marshal interaction: " + err.Error())
	}
	d := &httpDelivery{rec: rec, url: s.nextEndpointLocked()}
	rec.endpoint = d.url
	if len(s.sigFaults) > 0 {
		d.fault, s.sigFaults = s.sigFaults[0], s.sigFaults[1:]
	}
	d.header = s.signedHeader(body, d.fault)
	if d.fault == SignatureTampered {
		body = append(body, ' ')
	}
	d.body = body
	rec.httpPending = true
	s.markDeliveredLocked(rec.id)
	return d
}

// signedHeader is what Discord sends: the signature over timestamp + body.
func (s *Server) signedHeader(body []byte, fault SignatureFault) http.Header {
	ts := time.Now()
	if fault == SignatureStale {
		ts = ts.Add(-10 * time.Minute)
	}
	stamp := strconv.FormatInt(ts.Unix(), 10)
	key := s.signer
	if fault == SignatureWrongKey {
		_, key, _ = ed25519.GenerateKey(rand.Reader)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Discord-Interactions/1.0")
	h.Set("X-Signature-Timestamp", stamp)
	if fault != SignatureMissing {
		h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, append([]byte(stamp), body...))))
	}
	return h
}

// deliver POSTs the interaction and applies the HTTP response as the
// interaction's callback, with the same checks as the callback route.
func (s *Server) deliver(d *httpDelivery) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), d.rec.deadline)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	status, ct, body, err := s.post(ctx, d.url, d.header, d.body)
	for err != nil && connectionRefused(err) {
		s.mu.Lock()
		next := s.untriedEndpointLocked(append(d.rec.refusals, d.url))
		if next == "" {
			s.mu.Unlock()
			break // every endpoint refused: nobody is up to answer
		}
		d.rec.refusals = append(d.rec.refusals, d.url)
		d.url, d.rec.endpoint = next, next
		s.mu.Unlock()
		status, ct, body, err = s.post(ctx, d.url, d.header, d.body)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	it := d.rec
	it.httpPending = false
	defer s.notifyLocked()
	why := ""
	switch {
	case err != nil:
		why = fmt.Sprintf("POST %s failed: %v", d.url, err)
	case d.fault != 0 && status == http.StatusOK:
		why = fmt.Sprintf("the bot accepted a request with a %s (%s); it must answer 401", d.fault, d.url)
	case status != http.StatusOK:
		why = fmt.Sprintf("POST %s answered %d %q", d.url, status, excerpt(strings.TrimSpace(string(body)), 200))
	}
	if why == "" {
		p, perr := readBody(ct, bytes.NewReader(body))
		var answer struct {
			Type discordgo.InteractionResponseType `json:"type"`
			Data json.RawMessage                   `json:"data"`
		}
		switch {
		case perr != nil:
			why = "the HTTP answer is not JSON or multipart: " + perr.Error()
		case decodeJSON(p.json, &answer) != nil:
			why = fmt.Sprintf("the HTTP answer is not an interaction response: %q", excerpt(string(p.json), 200))
		default:
			if res := s.callbackLocked(it, answer.Type, answer.Data, p.files); res.err != nil {
				why = "the HTTP answer was refused: " + res.err.describe()
			}
		}
	}
	if why != "" {
		it.failed = why
		it.lastErr = why
		s.addEventLocked(Event{Kind: "fault", UserID: it.userID, ChannelID: it.channelID, GuildID: it.guildID,
			Summary: fmt.Sprintf("interaction %s (%s) failed: %s", it.id, it.label, why)})
	}
}

// connectionRefused reports an error from dialing an endpoint: nothing of
// the request was sent, so another replica may take it.
func connectionRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// post sends one request to a bot endpoint and reads the whole answer.
func (s *Server) post(ctx context.Context, url string, header http.Header, body []byte) (status int, contentType string, answer []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header = header.Clone()
	// An Idempotency-Key lets Go's transport resend the POST on a new
	// connection when a pooled one turns out dead before any answer (the
	// replica behind it was killed and restarted on the same port), as a
	// load balancer in front of replicas retries; had the dying process
	// already taken it, the rules refuse the repeat (an offer accepted
	// once stays accepted).
	req.Header.Set("Idempotency-Key", strconv.FormatUint(s.deliveries.Add(1), 10))
	res, err := s.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer res.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(res.Body, 26<<20))
	return res.StatusCode, res.Header.Get("Content-Type"), answer, err
}

// awaitHTTPAnswer holds a webhook call (followup, edit of @original) for an
// interaction whose HTTP answer is still being read: a bot may send it as
// soon as it has written the answer, and Discord has that answer by then.
func (s *Server) awaitHTTPAnswer(r *http.Request, rel string) {
	parts := strings.Split(rel, "/") // "", "webhooks", app, token, ...
	if len(parts) < 4 {
		return
	}
	token := parts[3]
	_, _ = waitFor(r.Context(), s, func() (struct{}, bool, error) {
		it, found := s.tokens[token]
		return struct{}{}, !found || !it.httpPending, nil
	}, func() string { return "wait for the HTTP answer" })
}
