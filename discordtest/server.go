// Package discordtest is an in-process fake Discord on 127.0.0.1: REST under
// /api/v9 and a gateway websocket, spoken to by the unmodified discordgo
// client. Tests act as users (slash commands, buttons, modals) and read back
// what the bot did (replies, DMs, channel posts, command registrations),
// with faults to inject: failures, rate limits, closed DMs, dropped
// gateways and slow responses. With WithHTTPInteractions it delivers
// interactions as signed POSTs to the bot's endpoints instead of over the
// gateway.
//
// Point a discordgo session at it with an http.Client whose transport
// rewrites https://discord.com to URL(); the gateway address comes from
// GET /api/v9/gateway:
//
//	fake, _ := discordtest.New()
//	defer fake.Close()
//	fake.AddUser(discordtest.User{ID: "2", Username: "alice"})
//	fake.AddGuild(discordtest.Guild{ID: "1", Name: "Alumni", Channels: []discordtest.Channel{{ID: "10", Name: "general"}}})
//	fake.AddMember("1", "2")
//	base, _ := url.Parse(fake.URL())
//	dg, _ := discordgo.New("Bot any-token")
//	dg.Client = &http.Client{Transport: rewriteHost{base}} // scheme and host only
//	dg.StateEnabled = false
//	dg.Open()                      // Close it before fake.Close, or it keeps reconnecting
//	fake.WaitCommands(ctx, "1", 3) // the bot registered its commands
//	it, err := fake.RunCommand(ctx, discordtest.Command{GuildID: "1", UserID: "2", Name: "referral", Subcommand: "status"})
//	resp, err := it.Response(ctx)
//
// Everything is safe for concurrent use; what tests get back are snapshots.
package discordtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// ErrClosed is returned by waits that end because the server was closed.
var ErrClosed = errors.New("discordtest: server closed")

// Default timings, as on Discord.
const (
	DefaultHeartbeatInterval   = 41250 * time.Millisecond
	DefaultInteractionDeadline = 3 * time.Second
)

// Server is a fake Discord. Create it with New and Close it when done.
//
// The exported fields are settings. Set them before calling URL (the bot
// learns the address from URL, and URL synchronizes with the server's
// goroutines); InteractionDeadline may also be changed later from the
// goroutine that runs the commands, as it is read when an interaction is
// sent.
type Server struct {
	// HeartbeatInterval is announced in the gateway Hello.
	HeartbeatInterval time.Duration
	// InteractionDeadline is how long after delivery a callback is
	// accepted; later ones get 404 code 10062 "Unknown interaction".
	InteractionDeadline time.Duration
	// Token, if set, is the only bot token accepted (without "Bot ").
	Token string
	// PrivilegedIntents are the privileged intents the app may use;
	// identifying with others closes the gateway with 4014, as Discord
	// does when they are not enabled in the developer portal.
	PrivilegedIntents discordgo.Intent

	ln       net.Listener
	srv      *http.Server
	base     string
	api      *http.ServeMux
	upgrader websocket.Upgrader
	wg       sync.WaitGroup
	done     chan struct{}

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closed  bool
	lastID  uint64
	appID   string
	bot     User

	users      map[string]*User
	guilds     map[string]*guildRec
	guildOrder []string
	channels   map[string]*channelRec
	dmChannel  map[string]string // user ID -> DM channel ID
	dmClosed   map[string]bool

	messages map[string]*storedMessage
	posts    map[string][]string // channel ID -> IDs posted through the channel endpoint
	nonces   map[nonceKey]nonceRec

	clockOffset time.Duration // Advance: message times and the nonce window

	commands   map[string][]*discordgo.ApplicationCommand // guild ID ("" global) -> commands
	registered bool

	interactions map[string]*interactionRec
	tokens       map[string]*interactionRec

	events   []Event
	requests []RequestLog
	faults   []*faultRule
	held     []*heldRule
	delays   []*delayRule

	eventsForgotten int // events dropped by ForgetBefore, for EventsSince cursors

	sessions   map[string]*gwSession
	current    *gwSession // where new dispatches go
	conns      map[*gwConn]struct{}
	gatewayErr string // last refusal, for error messages

	gatewayConns int // websocket connections ever opened
	gatewayPeak  int // most sessions live at once (gateway_sessions.go)

	// http mode (WithHTTPInteractions)
	httpMode     bool
	endpoints    []string
	nextEndpoint int
	sigFaults    []SignatureFault
	signer       ed25519.PrivateKey
	client       *http.Client
	deliveries   atomic.Uint64 // numbers each HTTP delivery's Idempotency-Key
}

// New starts a fake Discord on 127.0.0.1 with a random port.
func New(opts ...ServerOption) (*Server, error) {
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("discordtest: signing key: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("discordtest: listen: %w", err)
	}
	s := &Server{
		HeartbeatInterval:   DefaultHeartbeatInterval,
		InteractionDeadline: DefaultInteractionDeadline,
		ln:                  ln,
		base:                "http://" + ln.Addr().String(),
		api:                 http.NewServeMux(),
		done:                make(chan struct{}),
		changed:             make(chan struct{}),
		users:               map[string]*User{},
		guilds:              map[string]*guildRec{},
		channels:            map[string]*channelRec{},
		dmChannel:           map[string]string{},
		dmClosed:            map[string]bool{},
		messages:            map[string]*storedMessage{},
		posts:               map[string][]string{},
		nonces:              map[nonceKey]nonceRec{},
		commands:            map[string][]*discordgo.ApplicationCommand{},
		interactions:        map[string]*interactionRec{},
		tokens:              map[string]*interactionRec{},
		sessions:            map[string]*gwSession{},
		conns:               map[*gwConn]struct{}{},
		signer:              signer,
		client:              &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}, // no proxy: endpoints are local
	}
	for _, o := range opts {
		o(s)
	}
	// Modern applications share their ID with their bot user.
	s.appID = "1100000000000000001"
	s.bot = User{ID: s.appID, Username: "referralbot", GlobalName: "Referral Bot", Bot: true}
	s.users[s.bot.ID] = &s.bot
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     func(*http.Request) bool { return true },
	}
	s.routes()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln) // returns on Close
	}()
	return s, nil
}

// URL is the base URL, e.g. "http://127.0.0.1:41234"; REST is under
// URL()+"/api/v9" and the gateway under ws://.../gateway.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

func (s *Server) gatewayURL() string {
	return "ws" + s.base[len("http"):] + "/gateway"
}

// ApplicationID is the bot's application ID (equal to its user ID).
func (s *Server) ApplicationID() string { return s.appID }

// BotUser is the bot's own user.
func (s *Server) BotUser() User { return s.bot }

// Close closes gateway connections and the listener and waits for the
// server's goroutines. Waits in progress return ErrClosed. Close the bot's
// discordgo session first: otherwise it keeps trying to reconnect.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.notifyLocked()
	s.mu.Unlock()

	_ = s.srv.Close()
	s.client.CloseIdleConnections()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	s.wg.Wait()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	if r.URL.Path == "/gateway" || r.URL.Path == "/gateway/" {
		s.serveGateway(w, r)
		return
	}
	s.serveREST(w, r)
}

// Events is everything that happened, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Message = e.Message.clone()
		e.Response = e.Response.clone()
		out[i] = e
	}
	return out
}

// WaitEvent returns the first event (earlier ones included) satisfying
// match, waiting until ctx ends.
func (s *Server) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	return waitFor(ctx, s, func() (Event, bool, error) {
		for _, e := range s.events {
			if match(e) {
				e.Message, e.Response = e.Message.clone(), e.Response.clone()
				return e, true, nil
			}
		}
		return Event{}, false, nil
	}, func() string { return fmt.Sprintf("wait for an event: none of %d matched", len(s.events)) })
}

// Requests lists every REST call in the order they completed.
func (s *Server) Requests() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.requests...)
}

// WaitConnected waits until a bot has identified or resumed and its
// gateway connection is up.
func (s *Server) WaitConnected(ctx context.Context) error {
	_, err := waitFor(ctx, s, func() (struct{}, bool, error) {
		return struct{}{}, s.connectedLocked(), nil
	}, func() string {
		msg := "wait for a bot to connect to the gateway"
		if s.gatewayErr != "" {
			msg += " (last gateway problem: " + s.gatewayErr + ")"
		}
		return msg
	})
	return err
}

func (s *Server) connectedLocked() bool {
	return s.current != nil && s.current.conn != nil
}

// notifyLocked wakes every waiter; they re-check their condition.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor polls check (under the lock) on every change until it reports
// done, fails, ctx ends or the server closes. describe (under the lock)
// explains a timeout.
func waitFor[T any](ctx context.Context, s *Server, check func() (T, bool, error), describe func() string) (T, error) {
	var zero T
	for {
		s.mu.Lock()
		v, ok, err := check()
		closed := s.closed
		ch := s.changed
		s.mu.Unlock()
		switch {
		case err != nil:
			return zero, err
		case ok:
			return v, nil
		case closed:
			return zero, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			what := describe()
			s.mu.Unlock()
			return zero, fmt.Errorf("discordtest: %s: %w", what, ctx.Err())
		}
	}
}

func (s *Server) addEventLocked(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	s.events = append(s.events, e)
	s.notifyLocked()
}

const discordEpochMs = 1420070400000

// newIDLocked returns a snowflake with the current time, strictly
// increasing, so bots can read creation times from IDs.
func (s *Server) newIDLocked() string {
	id := uint64(s.nowLocked().UnixMilli()-discordEpochMs) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatUint(id, 10)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
